package sandbox

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// AsHeader names the sandbox-only header that, sent with the static
// token, makes a request act as another user.
const AsHeader = "X-Sandbox-As"

// jwtSkew is the clock skew allowed on a JWT's iat and exp.
const jwtSkew = 60 * time.Second

// tokenLifetime is how long an installation token lives.
const tokenLifetime = time.Hour

// principal is who a request acts as.
type principal struct {
	login string
	admin bool          // the static token without X-Sandbox-As
	inst  *installation // installation token
	app   bool          // the App's JWT
}

// canSee reports whether the principal may use repositories of owner.
func (p *principal) canSee(owner string) bool {
	return p.inst == nil || p.inst.Account == owner
}

var (
	errNoAuth     = errorf(http.StatusUnauthorized, "Requires authentication")
	errBadCreds   = errorf(http.StatusUnauthorized, "Bad credentials")
	errJWTDecode  = errorf(http.StatusUnauthorized, "A JSON web token could not be decoded")
	errNotAllowed = errorf(http.StatusForbidden, "Resource not accessible by integration")
)

// authenticate reads the Authorization header. Routes of the App accept only
// its JWT; the others accept the static token and installation tokens.
func (s *Server) authenticate(r *http.Request, acc access) (*principal, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, errNoAuth
	}
	scheme, cred, ok := strings.Cut(auth, " ")
	if !ok || (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) {
		return nil, errBadCreds
	}
	cred = strings.TrimSpace(cred)
	if strings.Count(cred, ".") == 2 && strings.HasPrefix(cred, "eyJ") {
		if acc == accessUser {
			return nil, errNotAllowed // the App's JWT only reaches /app routes
		}
		if err := s.verifyJWT(cred); err != nil {
			return nil, err
		}
		return &principal{login: s.cfg.AppSlug, app: true}, nil
	}
	if acc == accessApp {
		return nil, errJWTDecode
	}
	if subtle.ConstantTimeCompare([]byte(cred), []byte(s.cfg.Token)) == 1 {
		as := r.Header.Get(AsHeader)
		if as == "" || as == AdminLogin {
			return &principal{login: AdminLogin, admin: true}, nil
		}
		if !validLogin(as) {
			return nil, errorf(http.StatusBadRequest, "%s: invalid login %q", AsHeader, as)
		}
		return &principal{login: as}, nil
	}
	if inst := s.installationForToken(cred); inst != nil {
		return &principal{login: s.botLogin(), inst: inst}, nil
	}
	return nil, errBadCreds
}

// installationForToken returns the installation of an unexpired token.
func (s *Server) installationForToken(token string) *installation {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.Tokens[token]
	if t == nil || !s.cfg.Clock().Before(t.ExpiresAt) {
		return nil
	}
	for _, inst := range s.st.Installations {
		if inst.ID == t.Installation {
			return inst
		}
	}
	return nil
}

func (s *Server) botLogin() string { return s.cfg.AppSlug + "[bot]" }

// verifyJWT checks an App JWT: RS256 signed by AppKey, iss the App id, iat
// and exp within the skew, and exp at most ten minutes after iat.
func (s *Server) verifyJWT(raw string) error {
	if s.cfg.AppKey == nil {
		return errJWTDecode
	}
	claims := jwt.MapClaims{}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if _, err := parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return s.cfg.AppKey, nil }); err != nil {
		return errJWTDecode
	}
	iss, ok := claimInt(claims["iss"])
	if !ok || iss != s.cfg.AppID {
		return errorf(http.StatusUnauthorized, "'Issuer' claim ('iss') must be an Integer")
	}
	iat, okIat := claimInt(claims["iat"])
	exp, okExp := claimInt(claims["exp"])
	if !okIat || !okExp {
		return errJWTDecode
	}
	now := s.cfg.Clock()
	issued, expires := time.Unix(iat, 0), time.Unix(exp, 0)
	switch {
	case issued.After(now.Add(jwtSkew)):
		return errorf(http.StatusUnauthorized, "'Issued at' claim ('iat') must be an Integer representing a time in the past")
	case !expires.After(now.Add(-jwtSkew)):
		return errorf(http.StatusUnauthorized, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case expires.Sub(issued) > 10*time.Minute:
		return errorf(http.StatusUnauthorized, "'Expiration time' claim ('exp') is too far in the future")
	}
	return nil
}

// claimInt reads a numeric claim given as a JSON number or a string.
func claimInt(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// authorizeGit checks the basic-auth password of git smart HTTP: the static
// token or an installation token of the repository's owner.
func (s *Server) authorizeGit(r *http.Request) (string, error) {
	_, pass, ok := r.BasicAuth()
	if !ok {
		return "", errors.New("git over http: basic authentication required")
	}
	if subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.Token)) == 1 {
		return AdminLogin, nil
	}
	inst := s.installationForToken(pass)
	if inst == nil {
		return "", errors.New("git over http: bad credentials")
	}
	owner, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if owner != inst.Account {
		return "", fmt.Errorf("git over http: installation %d cannot use repositories of %s", inst.ID, owner)
	}
	return s.botLogin(), nil
}

// newToken returns a random installation token in GitHub's format.
func newToken() (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 36)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("mint installation token: %w", err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return "ghs_" + string(b), nil
}

// validLogin reports whether s is a GitHub login: letters, digits and single
// hyphens, at most 39 characters; "[bot]" logins are the App's.
func validLogin(s string) bool {
	if s == "" || len(s) > 39 || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
