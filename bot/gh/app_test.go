package gh

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testAppID = 12345

// appServer is a fake GitHub that mints installation tokens for App
// testAppID, checking each JWT, and serves GET /repos/{owner}/{repo} to
// installation tokens.
type appServer struct {
	t      *testing.T
	srv    *httptest.Server
	prefix string // "/api/v3" for GitHub Enterprise Server

	mu      sync.Mutex
	minted  map[int64]int       // tokens minted per installation
	used    map[string][]string // tokens seen per installation, in order
	claims  []jwt.RegisteredClaims
	signed  []time.Time // when each JWT was received
	expires func(installation int64, n int) time.Time
	mintErr func(installation int64, n int) int // status to answer instead, 0 for none
	repo    func(w http.ResponseWriter, r *http.Request, installation string)
}

func newAppServer(t *testing.T, prefix string) *appServer {
	t.Helper()
	s := &appServer{
		t: t, prefix: prefix,
		minted:  map[int64]int{},
		used:    map[string][]string{},
		expires: func(int64, int) time.Time { return time.Now().Add(time.Hour) },
		mintErr: func(int64, int) int { return 0 },
		repo: func(w http.ResponseWriter, r *http.Request, _ string) {
			reply(w, 200, `{"name":"fleet","owner":{"login":"acme"}}`)
		},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *appServer) baseURL() string { return s.srv.URL + s.prefix + "/" }

// verifyJWT checks the App's JWT and returns false, having answered 401, when
// it is not right.
func (s *appServer) verifyJWT(w http.ResponseWriter, r *http.Request) bool {
	key, _ := appKey(s.t)
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var claims jwt.RegisteredClaims
	if ok {
		_, err := jwt.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
			if tok.Method != jwt.SigningMethodRS256 {
				return nil, fmt.Errorf("alg %v", tok.Header["alg"])
			}
			return &key.PublicKey, nil
		})
		ok = err == nil
	}
	if !ok {
		reply(w, 401, `{"message":"A JSON web token could not be decoded"}`)
		return false
	}
	w.Header().Set("X-RateLimit-Remaining", "4990")
	s.mu.Lock()
	s.claims = append(s.claims, claims)
	s.signed = append(s.signed, time.Now())
	s.mu.Unlock()
	return true
}

func (s *appServer) serve(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, s.prefix)
	if !ok {
		reply(w, 404, `{"message":"Not Found"}`)
		return
	}
	var id int64
	switch {
	case r.Method == "POST" && sscan(path, "/app/installations/%d/access_tokens", &id):
		if !s.verifyJWT(w, r) {
			return
		}
		s.mu.Lock()
		s.minted[id]++
		n := s.minted[id]
		s.mu.Unlock()
		if status := s.mintErr(id, n); status != 0 {
			reply(w, status, `{"message":"error"}`)
			return
		}
		body, _ := json.Marshal(map[string]any{"token": fmt.Sprintf("ghs_%d_%d", id, n), "expires_at": s.expires(id, n).UTC().Format(time.RFC3339)})
		reply(w, 201, string(body))
	case r.Method == "GET" && path == "/app/installations":
		if !s.verifyJWT(w, r) {
			return
		}
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", fmt.Sprintf(`<%s/app/installations?page=2&per_page=100>; rel="next"`, s.srv.URL+s.prefix))
			reply(w, 200, `[{"id":1,"account":{"login":"acme"}},{"id":2,"account":{"login":"globex"}}]`)
			return
		}
		reply(w, 200, `[{"id":3,"account":{"login":"initech"}}]`)
	case r.Method == "GET" && strings.HasSuffix(path, "/installation"):
		if !s.verifyJWT(w, r) {
			return
		}
		if path == "/repos/acme/fleet/installation" {
			reply(w, 200, `{"id":1,"account":{"login":"acme"}}`)
			return
		}
		reply(w, 404, `{"message":"Not Found"}`)
	case strings.HasPrefix(path, "/repos/"):
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "token ")
		if !ok {
			reply(w, 401, `{"message":"Bad credentials"}`)
			return
		}
		installation := strings.Split(tok, "_")[1]
		s.mu.Lock()
		s.used[installation] = append(s.used[installation], tok)
		s.mu.Unlock()
		s.repo(w, r, installation)
	default:
		reply(w, 404, `{"message":"Not Found"}`)
	}
}

func sscan(s, format string, id *int64) bool {
	n, err := fmt.Sscanf(s, format, id)
	return err == nil && n == 1 && fmt.Sprintf(format, *id) == s
}

func (s *appServer) snapshot() (map[int64]int, map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	minted := map[int64]int{}
	for k, v := range s.minted {
		minted[k] = v
	}
	used := map[string][]string{}
	for k, v := range s.used {
		used[k] = append([]string(nil), v...)
	}
	return minted, used
}

func newTestApp(t *testing.T, s *appServer, edit ...func(*Config)) (*App, *Metrics, *fakeClock) {
	t.Helper()
	_, key := appKey(t)
	clock := newFakeClock()
	m := NewMetrics(nil)
	cfg := Config{BaseURL: s.baseURL(), AppID: testAppID, PrivateKey: key, Metrics: m, Clock: clock}
	for _, e := range edit {
		e(&cfg)
	}
	app, err := NewApp(cfg)
	require.NoError(t, err)
	return app, m, clock
}

func TestInstallationTokensAreCachedPerInstallation(t *testing.T) {
	t.Parallel()
	s := newAppServer(t, "")
	app, m, _ := newTestApp(t, s)
	require.Same(t, installation(t, app, 1), installation(t, app, 1))
	var wg sync.WaitGroup
	for range 5 {
		for _, id := range []int64{1, 2} {
			wg.Go(func() {
				c, err := app.Client(id)
				if assert.NoError(t, err) {
					assert.NoError(t, getRepo(t.Context(), c))
				}
			})
		}
	}
	wg.Wait()
	minted, used := s.snapshot()
	assert.Equal(t, map[int64]int{1: 1, 2: 1}, minted, "one token per installation")
	assert.Equal(t, []string{"ghs_1_1", "ghs_1_1", "ghs_1_1", "ghs_1_1", "ghs_1_1"}, used["1"])
	assert.Equal(t, []string{"ghs_2_1", "ghs_2_1", "ghs_2_1", "ghs_2_1", "ghs_2_1"}, used["2"])
	tok, err := installation(t, app, 2).Token(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "ghs_2_1", tok)
	assert.Contains(t, m.Calls(), Call{Endpoint: tokenEndpoint, Method: "POST", Status: "201", Count: 2})
	assert.Contains(t, m.Calls(), Call{Endpoint: "/repos/{owner}/{repo}", Method: "GET", Status: "200", Count: 10})
}

func TestInstallationTokenRenewedNearExpiry(t *testing.T) {
	t.Parallel()
	s := newAppServer(t, "")
	// The first token expires within ghinstallation's one-minute margin, so
	// the next call must mint another; the second lasts an hour.
	s.expires = func(_ int64, n int) time.Time {
		if n == 1 {
			return time.Now().Add(30 * time.Second)
		}
		return time.Now().Add(time.Hour)
	}
	app, _, _ := newTestApp(t, s)
	c := installation(t, app, 7)
	for range 3 {
		require.NoError(t, getRepo(t.Context(), c))
	}
	minted, used := s.snapshot()
	assert.Equal(t, map[int64]int{7: 2}, minted)
	assert.Equal(t, []string{"ghs_7_1", "ghs_7_2", "ghs_7_2"}, used["7"])
}

func TestAppJWTClaims(t *testing.T) {
	t.Parallel()
	s := newAppServer(t, "")
	app, _, _ := newTestApp(t, s)
	_, err := app.Installations(t.Context())
	require.NoError(t, err)
	require.NoError(t, getRepo(t.Context(), installation(t, app, 1)))
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Len(t, s.claims, 3, "two pages of installations and one token")
	for i, c := range s.claims {
		assert.Equal(t, strconv.Itoa(testAppID), c.Issuer, "iss")
		require.NotNil(t, c.IssuedAt)
		require.NotNil(t, c.ExpiresAt)
		assert.True(t, c.IssuedAt.Before(s.signed[i]), "iat %v is backdated from %v", c.IssuedAt, s.signed[i])
		assert.True(t, c.ExpiresAt.After(s.signed[i]), "exp %v is after %v", c.ExpiresAt, s.signed[i])
		assert.LessOrEqual(t, c.ExpiresAt.Sub(c.IssuedAt.Time), 10*time.Minute, "GitHub refuses a JWT living over 10 minutes")
	}
}

func TestInstallations(t *testing.T) {
	t.Parallel()
	s := newAppServer(t, "")
	app, m, _ := newTestApp(t, s)
	got, err := app.Installations(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []Installation{{ID: 1, Account: "acme"}, {ID: 2, Account: "globex"}, {ID: 3, Account: "initech"}}, got)

	id, err := app.InstallationFor(t.Context(), "acme", "fleet")
	require.NoError(t, err)
	assert.Equal(t, int64(1), id)
	_, err = app.InstallationFor(t.Context(), "acme", "other")
	require.ErrorIs(t, err, ErrNotFound)
	require.EqualError(t, err, "find installation for acme/other: not found")
	assert.Equal(t, map[string]int{"app": 4990}, m.RateLimitRemaining(), "JWT calls keep their own gauge")
}

func TestEnterpriseBaseURL(t *testing.T) {
	t.Parallel()
	s := newAppServer(t, "/api/v3")
	app, m, _ := newTestApp(t, s)
	require.NoError(t, getRepo(t.Context(), installation(t, app, 4)))
	_, err := app.Installations(t.Context())
	require.NoError(t, err)
	minted, _ := s.snapshot()
	assert.Equal(t, map[int64]int{4: 1}, minted)
	for _, c := range m.Calls() {
		assert.NotEqual(t, otherEndpoint, c.Endpoint, "the /api/v3 prefix is stripped before naming routes")
	}
}

func TestTokenMintFailure(t *testing.T) {
	t.Parallel()
	s := newAppServer(t, "")
	s.mintErr = func(id int64, n int) int {
		if id == 9 {
			return 404 // the installation was removed
		}
		if n == 1 {
			return 502
		}
		return 0
	}
	app, _, clock := newTestApp(t, s)
	err := getRepo(t.Context(), installation(t, app, 9))
	require.ErrorIs(t, err, ErrNotFound)
	require.EqualError(t, err, "get repository acme/fleet: not found: installation 9 token: 404 Not Found")
	_, err = installation(t, app, 9).Token(t.Context())
	require.EqualError(t, err, "get installation token: not found: installation 9 token: 404 Not Found")

	// Minting is a POST, but a second token harms nothing: a 502 is retried.
	require.NoError(t, getRepo(t.Context(), installation(t, app, 1)))
	minted, _ := s.snapshot()
	assert.Equal(t, 2, minted[1])
	assert.Len(t, clock.sleeps(), 1)
}

func TestInstallationsHaveTheirOwnLimitsAndCache(t *testing.T) {
	t.Parallel()
	s := newAppServer(t, "")
	var clock *fakeClock
	s.repo = func(w http.ResponseWriter, r *http.Request, installation string) {
		w.Header().Set("ETag", `"e"`)
		if r.Header.Get("If-None-Match") == `"e"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		remaining := "100"
		if installation == "1" {
			remaining = "0"
		}
		w.Header().Set("X-RateLimit-Remaining", remaining)
		w.Header().Set("X-RateLimit-Reset", resetIn(clock, 90*time.Second))
		reply(w, 200, `{"name":"fleet"}`)
	}
	app, m, clk := newTestApp(t, s)
	clock = clk
	require.NoError(t, getRepo(t.Context(), installation(t, app, 1))) // spends installation 1's limit
	require.NoError(t, getRepo(t.Context(), installation(t, app, 2)))
	assert.Empty(t, clock.sleeps(), "installation 2 does not wait for installation 1")
	assert.Equal(t, map[string]int{"1": 0, "2": 100, "app": 4990}, m.RateLimitRemaining(),
		"token mints count against the App, not the installation")

	require.NoError(t, getRepo(t.Context(), installation(t, app, 1)))
	assert.Equal(t, []time.Duration{90 * time.Second}, clock.sleeps())

	calls := m.Calls()
	assert.Contains(t, calls, Call{Endpoint: "/repos/{owner}/{repo}", Method: "GET", Status: "200", Count: 2},
		"each installation's first GET is unconditional")
	assert.Contains(t, calls, Call{Endpoint: "/repos/{owner}/{repo}", Method: "GET", Status: "304", Count: 1})
}

func TestNewAppErrors(t *testing.T) {
	t.Parallel()
	_, key := appKey(t)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no app id", cfg: Config{PrivateKey: key}, want: "github app id is missing: set the App's numeric id"},
		{name: "no key", cfg: Config{AppID: 1}, want: "github app 1: private key is missing"},
		{name: "not PEM", cfg: Config{AppID: 1, PrivateKey: []byte("hello")},
			want: "github app 1: private key: invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key"},
		{name: "bad base url", cfg: Config{AppID: 1, PrivateKey: key, BaseURL: "api.github.com"},
			want: `github base url "api.github.com": scheme must be http or https`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewApp(tc.cfg)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestNewAppAcceptsPKCS8(t *testing.T) {
	t.Parallel()
	key, _ := appKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	s := newAppServer(t, "")
	app, err := NewApp(Config{BaseURL: s.baseURL(), AppID: testAppID, PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})})
	require.NoError(t, err)
	require.NoError(t, getRepo(t.Context(), installation(t, app, 1)))
}

// installation is app's Client of one installation.
func installation(t *testing.T, app *App, id int64) *Client {
	t.Helper()
	c, err := app.Client(id)
	require.NoError(t, err)
	return c
}
