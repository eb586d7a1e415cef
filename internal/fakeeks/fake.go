package fakeeks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The base credentials the fake accepts for AssumeRole.
const (
	BaseAccessKeyID     = "AKIAFLEETBOTBASE0001"
	BaseSecretAccessKey = "fleetbot-base-secret"
)

// Status values as EKS reports them.
const (
	Active       = "ACTIVE"
	Creating     = "CREATING"
	Updating     = "UPDATING"
	Deleting     = "DELETING"
	Failed       = "FAILED"
	Degraded     = "DEGRADED"
	CreateFailed = "CREATE_FAILED"
)

// Cluster is an EKS cluster: its control plane and managed node groups.
type Cluster struct {
	Name            string
	Version         string
	Status          string // default ACTIVE
	PlatformVersion string
	Nodegroups      []Nodegroup
}

// Nodegroup is a managed node group.
type Nodegroup struct {
	Name           string
	Version        string
	Status         string // default ACTIVE
	ReleaseVersion string
	// Issues are health issues, "code: message" each.
	Issues []string
}

// Request is one call the fake answered.
type Request struct {
	// Action is AssumeRole, DescribeCluster, ListNodegroups or
	// DescribeNodegroup.
	Action string
	// AccessKey signed the request.
	AccessKey string
	// Role is, for AssumeRole, the role asked for; for EKS calls, the role
	// whose assumed credentials signed the request.
	Role string
	// Account and Region are where an EKS call looked (the role's account,
	// the signature's region).
	Account string
	Region  string
	Cluster string
	// Nodegroup is the node group of DescribeNodegroup.
	Nodegroup string
	// ExternalID and SessionName are AssumeRole's parameters.
	ExternalID  string
	SessionName string
	// Status is the HTTP status the fake answered with.
	Status int
}

// Server is a fake of the EKS and STS APIs, speaking their wire protocols
// (EKS REST-JSON, STS query with XML answers) so the real AWS SDK is its
// client. Every request must carry a valid Signature Version 4: STS calls
// signed with the base credentials, EKS calls with credentials an
// AssumeRole issued; an EKS call sees only the clusters of the assumed
// role's account, in the signature's region.
type Server struct {
	clock func() time.Time

	mu       sync.Mutex
	clusters map[clusterKey]Cluster
	errors   map[clusterKey]string
	denied   map[string]bool
	issued   map[string]issued // by access key
	requests []Request
}

type clusterKey struct{ account, region, name string }

type issued struct {
	role, account        string
	secret, sessionToken string
}

// Option configures a Server.
type Option func(*Server)

// WithClock stamps issued credentials and creation times with clock.
func WithClock(clock func() time.Time) Option {
	return func(s *Server) { s.clock = clock }
}

// New returns an empty fake.
func New(opts ...Option) *Server {
	s := &Server{
		clock:    time.Now,
		clusters: map[clusterKey]Cluster{}, errors: map[clusterKey]string{},
		denied: map[string]bool{}, issued: map[string]issued{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// BaseCredentials returns the credentials the fake accepts for AssumeRole.
func BaseCredentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(BaseAccessKeyID, BaseSecretAccessKey, "")
}

// SetCluster adds c to account and region, or replaces the cluster of that
// name there.
func (s *Server) SetCluster(account, region string, c Cluster) {
	c.Nodegroups = slices.Clone(c.Nodegroups)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clusters[clusterKey{account, region, c.Name}] = c
}

// Cluster returns the cluster name of account and region.
func (s *Server) Cluster(account, region, name string) (Cluster, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clusters[clusterKey{account, region, name}]
	c.Nodegroups = slices.Clone(c.Nodegroups)
	return c, ok
}

// SetNodegroup adds ng to a cluster, or replaces its node group of that
// name. It reports whether the cluster exists.
func (s *Server) SetNodegroup(account, region, cluster string, ng Nodegroup) bool {
	return s.update(account, region, cluster, func(c *Cluster) {
		if i := slices.IndexFunc(c.Nodegroups, func(n Nodegroup) bool { return n.Name == ng.Name }); i >= 0 {
			c.Nodegroups[i] = ng
		} else {
			c.Nodegroups = append(c.Nodegroups, ng)
		}
	})
}

// Upgrade simulates Terraform finishing an upgrade: the control plane and
// every node group at version, all ACTIVE. It reports whether the cluster
// exists.
func (s *Server) Upgrade(account, region, cluster, version string) bool {
	return s.update(account, region, cluster, func(c *Cluster) {
		c.Version, c.Status = version, Active
		for i := range c.Nodegroups {
			c.Nodegroups[i].Version, c.Nodegroups[i].Status, c.Nodegroups[i].Issues = version, Active, nil
		}
	})
}

// update changes a cluster in place; false when there is none.
func (s *Server) update(account, region, cluster string, change func(*Cluster)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := clusterKey{account, region, cluster}
	c, ok := s.clusters[k]
	if !ok {
		return false
	}
	change(&c)
	s.clusters[k] = c
	return true
}

// FailCluster makes every EKS call about a cluster answer with the error
// code (ThrottlingException, AccessDeniedException, ServerException, ...);
// "" stops it.
func (s *Server) FailCluster(account, region, cluster, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.errors, clusterKey{account, region, cluster})
		return
	}
	s.errors[clusterKey{account, region, cluster}] = code
}

// DenyRole makes AssumeRole of arn answer AccessDenied.
func (s *Server) DenyRole(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[arn] = true
}

// Requests returns the calls answered so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

// ServeHTTP answers STS (POST /) and EKS (GET /clusters/...) calls.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sig, err := s.verify(r, body)
	if r.Method == http.MethodPost && r.URL.Path == "/" {
		s.sts(w, r, body, sig, err)
		return
	}
	s.eks(w, r, sig, err)
}

// signature is what a request's Authorization header says.
type signature struct {
	accessKey, region, service string
}

// authRE compiles on first use: the fake is linked into the CLI for `fleetbot
// demo`, and every other command would pay for it at start.
var authRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$`)
})

// verify checks r's Signature Version 4 by signing it again with the
// secret of its access key.
func (s *Server) verify(r *http.Request, body []byte) (signature, error) {
	m := authRE().FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return signature{}, fmt.Errorf("no AWS4-HMAC-SHA256 Authorization header")
	}
	sig := signature{accessKey: m[1], region: m[3], service: m[4]}
	var creds aws.Credentials
	if sig.accessKey == BaseAccessKeyID {
		creds = aws.Credentials{AccessKeyID: BaseAccessKeyID, SecretAccessKey: BaseSecretAccessKey}
	} else {
		s.mu.Lock()
		is, ok := s.issued[sig.accessKey]
		s.mu.Unlock()
		if !ok {
			return sig, fmt.Errorf("the access key %s was never issued", sig.accessKey)
		}
		if r.Header.Get("X-Amz-Security-Token") != is.sessionToken {
			return sig, fmt.Errorf("the session token does not belong to %s", sig.accessKey)
		}
		creds = aws.Credentials{AccessKeyID: sig.accessKey, SecretAccessKey: is.secret, SessionToken: is.sessionToken}
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return sig, fmt.Errorf("X-Amz-Date: %w", err)
	}
	again, err := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return sig, err
	}
	again.ContentLength = r.ContentLength
	for h := range strings.SplitSeq(m[5], ";") {
		if h != "host" && h != "content-length" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hash, sig.service, sig.region, at); err != nil {
		return sig, err
	}
	if got := authRE().FindStringSubmatch(again.Header.Get("Authorization")); got == nil || got[6] != m[6] {
		return sig, fmt.Errorf("the signature does not match")
	}
	return sig, nil
}

var roleARNRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws[a-z-]*:iam::([0-9]{12}):role/[\w+=,.@/-]+$`)
})

// assumeRoleResponse is STS's AssumeRole answer.
type assumeRoleResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result  struct {
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		} `xml:"Credentials"`
		AssumedRoleUser struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
	} `xml:"AssumeRoleResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type stsError struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	ID      string   `xml:"RequestId"`
}

func (s *Server) sts(w http.ResponseWriter, r *http.Request, body []byte, sig signature, sigErr error) {
	form, _ := url.ParseQuery(string(body))
	req := Request{
		Action: form.Get("Action"), AccessKey: sig.accessKey, Role: form.Get("RoleArn"),
		ExternalID: form.Get("ExternalId"), SessionName: form.Get("RoleSessionName"), Region: sig.region,
	}
	fail := func(status int, code, msg string) {
		req.Status = status
		s.record(req)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_ = xml.NewEncoder(w).Encode(stsError{Type: "Sender", Code: code, Message: msg, ID: "fake"})
	}
	switch {
	case sigErr != nil:
		fail(http.StatusForbidden, "SignatureDoesNotMatch", sigErr.Error())
		return
	case sig.service != "sts":
		fail(http.StatusForbidden, "SignatureDoesNotMatch", "the credential scope names service "+sig.service+", not sts")
		return
	case req.Action != "AssumeRole" || form.Get("Version") != "2011-06-15":
		fail(http.StatusBadRequest, "InvalidAction", fmt.Sprintf("the fake answers AssumeRole of version 2011-06-15, not %s %s", req.Action, form.Get("Version")))
		return
	case sig.accessKey != BaseAccessKeyID:
		fail(http.StatusForbidden, "AccessDenied", "only the base credentials may assume roles")
		return
	case req.SessionName == "":
		fail(http.StatusBadRequest, "ValidationError", "RoleSessionName is required")
		return
	}
	m := roleARNRE().FindStringSubmatch(req.Role)
	if m == nil {
		fail(http.StatusBadRequest, "ValidationError", fmt.Sprintf("%q is not a role ARN", req.Role))
		return
	}
	s.mu.Lock()
	denied := s.denied[req.Role]
	s.mu.Unlock()
	if denied {
		fail(http.StatusForbidden, "AccessDenied", fmt.Sprintf("User: arn:aws:iam::000000000000:user/fleetbot is not authorized to perform: sts:AssumeRole on resource: %s", req.Role))
		return
	}
	duration := 3600
	if d := form.Get("DurationSeconds"); d != "" {
		if n, err := strconv.Atoi(d); err == nil {
			duration = n
		}
	}
	s.mu.Lock()
	n := len(s.issued) + 1
	key := fmt.Sprintf("ASIAFAKE%012d", n)
	is := issued{role: req.Role, account: m[1], secret: fmt.Sprintf("secret-%d", n), sessionToken: fmt.Sprintf("session-%d", n)}
	s.issued[key] = is
	s.mu.Unlock()
	var out assumeRoleResponse
	out.Result.Credentials.AccessKeyID = key
	out.Result.Credentials.SecretAccessKey = is.secret
	out.Result.Credentials.SessionToken = is.sessionToken
	out.Result.Credentials.Expiration = s.clock().Add(time.Duration(duration) * time.Second).UTC().Format(time.RFC3339)
	out.Result.AssumedRoleUser.Arn = req.Role + "/" + req.SessionName
	out.Result.AssumedRoleUser.AssumedRoleID = fmt.Sprintf("AROAFAKE%012d:%s", n, req.SessionName)
	out.RequestID = fmt.Sprintf("fake-%d", n)
	req.Status = http.StatusOK
	s.record(req)
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(out)
}

// errorStatus is the HTTP status of each EKS error code the fake gives.
var errorStatus = map[string]int{
	"ResourceNotFoundException":   http.StatusNotFound,
	"AccessDeniedException":       http.StatusForbidden,
	"UnrecognizedClientException": http.StatusForbidden,
	"InvalidSignatureException":   http.StatusForbidden,
	"ThrottlingException":         http.StatusTooManyRequests,
	"InvalidParameterException":   http.StatusBadRequest,
	"ServerException":             http.StatusInternalServerError,
	"ServiceUnavailableException": http.StatusServiceUnavailable,
}

func (s *Server) eks(w http.ResponseWriter, r *http.Request, sig signature, sigErr error) {
	req := Request{AccessKey: sig.accessKey, Region: sig.region}
	fail := func(code, msg string) {
		status, ok := errorStatus[code]
		if !ok {
			status = http.StatusBadRequest
		}
		req.Status = status
		s.record(req)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": msg})
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "clusters":
		req.Action, req.Cluster = "DescribeCluster", parts[1]
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "clusters" && parts[2] == "node-groups":
		req.Action, req.Cluster = "ListNodegroups", parts[1]
	case r.Method == http.MethodGet && len(parts) == 4 && parts[0] == "clusters" && parts[2] == "node-groups":
		req.Action, req.Cluster, req.Nodegroup = "DescribeNodegroup", parts[1], parts[3]
	default:
		fail("UnknownOperationException", fmt.Sprintf("the fake does not answer %s %s", r.Method, r.URL.Path))
		return
	}
	switch {
	case sigErr != nil:
		fail("InvalidSignatureException", sigErr.Error())
		return
	case sig.service != "eks":
		fail("InvalidSignatureException", "the credential scope names service "+sig.service+", not eks")
		return
	case sig.accessKey == BaseAccessKeyID:
		fail("AccessDeniedException", "the base credentials have no EKS access: assume the tenant's role")
		return
	}
	s.mu.Lock()
	is := s.issued[sig.accessKey]
	req.Role, req.Account = is.role, is.account
	key := clusterKey{is.account, sig.region, req.Cluster}
	c, found := s.clusters[key]
	code := s.errors[key]
	c.Nodegroups = slices.Clone(c.Nodegroups)
	s.mu.Unlock()
	switch {
	case code != "":
		fail(code, "the fake was told to answer "+code)
		return
	case !found:
		fail("ResourceNotFoundException", fmt.Sprintf("No cluster found for name: %s.", req.Cluster))
		return
	}
	arn := fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", sig.region, is.account, c.Name)
	created := float64(s.clock().Add(-24 * time.Hour).Unix())
	var out map[string]any
	switch req.Action {
	case "DescribeCluster":
		cl := map[string]any{
			"name": c.Name, "arn": arn, "version": c.Version, "status": orActive(c.Status), "createdAt": created,
			"endpoint": fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", strings.ToUpper(c.Name), sig.region),
		}
		if c.PlatformVersion != "" {
			cl["platformVersion"] = c.PlatformVersion
		}
		out = map[string]any{"cluster": cl}
	case "ListNodegroups":
		names := make([]string, len(c.Nodegroups))
		for i, ng := range c.Nodegroups {
			names[i] = ng.Name
		}
		slices.Sort(names)
		page, next, err := paginate(names, r.URL.Query())
		if err != nil {
			fail("InvalidParameterException", err.Error())
			return
		}
		out = map[string]any{"nodegroups": page}
		if next != "" {
			out["nextToken"] = next
		}
	case "DescribeNodegroup":
		i := slices.IndexFunc(c.Nodegroups, func(n Nodegroup) bool { return n.Name == req.Nodegroup })
		if i < 0 {
			fail("ResourceNotFoundException", fmt.Sprintf("No node group found for name: %s.", req.Nodegroup))
			return
		}
		ng := c.Nodegroups[i]
		issues := []any{}
		for _, is := range ng.Issues {
			code, msg, _ := strings.Cut(is, ": ")
			issues = append(issues, map[string]any{"code": code, "message": msg, "resourceIds": []string{}})
		}
		n := map[string]any{
			"nodegroupName": ng.Name, "clusterName": c.Name, "version": ng.Version, "status": orActive(ng.Status),
			"nodegroupArn": fmt.Sprintf("arn:aws:eks:%s:%s:nodegroup/%s/%s/fake", sig.region, is.account, c.Name, ng.Name),
			"createdAt":    created, "health": map[string]any{"issues": issues},
		}
		if ng.ReleaseVersion != "" {
			n["releaseVersion"] = ng.ReleaseVersion
		}
		out = map[string]any{"nodegroup": n}
	}
	req.Status = http.StatusOK
	s.record(req)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// paginate returns the page of names that maxResults and nextToken (an
// offset) select, and the next token.
func paginate(names []string, q url.Values) ([]string, string, error) {
	size := 100
	if m := q.Get("maxResults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 100 {
			return nil, "", fmt.Errorf("maxResults %q is not 1 to 100", m)
		}
		size = n
	}
	start := 0
	if t := q.Get("nextToken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(names) {
			return nil, "", fmt.Errorf("nextToken %q is not valid", t)
		}
		start = n
	}
	end := min(start+size, len(names))
	next := ""
	if end < len(names) {
		next = strconv.Itoa(end)
	}
	return names[start:end], next, nil
}

func orActive(s string) string {
	if s == "" {
		return Active
	}
	return s
}
