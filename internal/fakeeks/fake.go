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
	"maps"
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

// Insight categories and statuses as EKS reports them.
const (
	UpgradeReadiness = "UPGRADE_READINESS"
	Misconfiguration = "MISCONFIGURATION"

	InsightPassing = "PASSING"
	InsightWarning = "WARNING"
	InsightError   = "ERROR"
	InsightUnknown = "UNKNOWN"
)

// Cluster is an EKS cluster: its control plane and managed node groups.
type Cluster struct {
	Name            string
	Version         string
	Status          string // default ACTIVE
	PlatformVersion string
	Nodegroups      []Nodegroup
	Addons          []Addon
	Insights        []Insight
}

// Addon is an installed EKS add-on.
type Addon struct {
	Name    string
	Version string
	Status  string // default ACTIVE
	// Issues are health issues, "code: message" each.
	Issues []string
}

// Insight is one of a cluster's insights, as EKS's upgrade readiness
// checks report them.
type Insight struct {
	ID                string
	Name              string
	Category          string // default UPGRADE_READINESS
	KubernetesVersion string // the version the insight is about, "1.30"
	Status            string // InsightPassing, InsightWarning, InsightError or InsightUnknown
	Reason            string
	Description       string
	// Recommendation, AdditionalInfo, Resources and Deprecations are told
	// by DescribeInsight only.
	Recommendation string
	AdditionalInfo map[string]string
	// Resources are the Kubernetes resources the insight names, by URI,
	// each with the insight's status.
	Resources    []string
	Deprecations []Deprecation
}

// Deprecation is an API an upgrade stops serving, and who still calls it.
type Deprecation struct {
	Usage                          string // the deprecated API, a path
	ReplacedWith                   string
	StopServingVersion             string
	StartServingReplacementVersion string
	Clients                        []ClientStat
}

// ClientStat is a client that called a deprecated API.
type ClientStat struct {
	UserAgent string
	// Requests is the number of requests in the last 30 days.
	Requests    int
	LastRequest time.Time
}

// AddonVersion is one version of an add-on in the fake's catalogue.
type AddonVersion struct {
	Version string
	// Compatible are the cluster versions ("1.30") the version runs on.
	Compatible []string
	// DefaultFor are the cluster versions of which it is the default.
	DefaultFor []string
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
	// Action is AssumeRole, DescribeCluster, ListNodegroups,
	// DescribeNodegroup, ListAddons, DescribeAddon, DescribeAddonVersions,
	// ListInsights or DescribeInsight.
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
	// Addon is the add-on of DescribeAddon and DescribeAddonVersions.
	Addon string
	// Insight is the insight id of DescribeInsight.
	Insight string
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
	failing  map[string]string // error code by action
	catalog  map[string][]AddonVersion
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
		failing: map[string]string{}, catalog: map[string][]AddonVersion{},
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
	c = c.clone()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clusters[clusterKey{account, region, c.Name}] = c
}

// Cluster returns the cluster name of account and region.
func (s *Server) Cluster(account, region, name string) (Cluster, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clusters[clusterKey{account, region, name}]
	return c.clone(), ok
}

// clone copies the cluster's lists, so a caller's changes stay its own.
func (c Cluster) clone() Cluster {
	c.Nodegroups, c.Addons, c.Insights = slices.Clone(c.Nodegroups), slices.Clone(c.Addons), slices.Clone(c.Insights)
	return c
}

// SetNodegroup adds ng to a cluster, or replaces its node group of that
// name. It reports whether the cluster exists.
func (s *Server) SetNodegroup(account, region, cluster string, ng Nodegroup) bool {
	return s.update(account, region, cluster, func(c *Cluster) {
		c.Nodegroups = replace(c.Nodegroups, ng, func(n Nodegroup) bool { return n.Name == ng.Name })
	})
}

// SetAddon installs a on a cluster, or replaces its add-on of that name.
// It reports whether the cluster exists.
func (s *Server) SetAddon(account, region, cluster string, a Addon) bool {
	return s.update(account, region, cluster, func(c *Cluster) {
		c.Addons = replace(c.Addons, a, func(b Addon) bool { return b.Name == a.Name })
	})
}

// SetInsight adds in to a cluster's insights, or replaces its insight of
// that id. It reports whether the cluster exists.
func (s *Server) SetInsight(account, region, cluster string, in Insight) bool {
	return s.update(account, region, cluster, func(c *Cluster) {
		c.Insights = replace(c.Insights, in, func(o Insight) bool { return o.ID == in.ID })
	})
}

// replace puts v in place of the first element same matches, or appends
// it.
func replace[T any](list []T, v T, same func(T) bool) []T {
	if i := slices.IndexFunc(list, same); i >= 0 {
		list[i] = v
		return list
	}
	return append(list, v)
}

// SetAddonVersions sets the catalogue's versions of the add-on name, which
// DescribeAddonVersions answers for any account and region, in the order
// given (EKS lists the newest first). No versions removes the add-on.
func (s *Server) SetAddonVersions(name string, versions []AddonVersion) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(versions) == 0 {
		delete(s.catalog, name)
		return
	}
	s.catalog[name] = slices.Clone(versions)
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

// DeleteCluster simulates Terraform destroying a cluster, in two calls:
// the first puts the control plane, its managed node groups and its
// add-ons in DELETING (EKS still describes it); the next removes the
// cluster with its node groups and add-ons, so DescribeCluster answers
// ResourceNotFoundException. It reports whether the cluster is gone after
// the call, and whether there was a cluster to delete (false, false when
// there is none).
func (s *Server) DeleteCluster(account, region, name string) (gone, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := clusterKey{account, region, name}
	c, ok := s.clusters[k]
	if !ok {
		return false, false
	}
	if c.Status == Deleting {
		delete(s.clusters, k)
		return true, true
	}
	c = c.clone()
	c.Status = Deleting
	for i := range c.Nodegroups {
		c.Nodegroups[i].Status = Deleting
	}
	for i := range c.Addons {
		c.Addons[i].Status = Deleting
	}
	s.clusters[k] = c
	return false, true
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

// FailAction makes every call of the EKS action (ListInsights,
// DescribeAddonVersions, ...) answer with the error code; "" stops it.
func (s *Server) FailAction(action, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.failing, action)
		return
	}
	s.failing[action] = code
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

// ServeHTTP answers STS (POST /) and EKS (/clusters/..., /addons/...) calls.
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
	s.eks(w, r, body, sig, err)
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

// route finds the EKS operation of a request, as the SDK's models bind
// them to methods and paths.
func route(method string, parts []string) (req Request, ok bool) {
	n := len(parts)
	if n == 2 && parts[0] == "addons" && parts[1] == "supported-versions" && method == http.MethodGet {
		return Request{Action: "DescribeAddonVersions"}, true
	}
	if n < 2 || n > 4 || parts[0] != "clusters" {
		return req, false
	}
	req.Cluster = parts[1]
	sub := ""
	if n > 2 {
		sub = parts[2]
	}
	switch {
	case method == http.MethodGet && n == 2:
		req.Action = "DescribeCluster"
	case method == http.MethodGet && n == 3 && sub == "node-groups":
		req.Action = "ListNodegroups"
	case method == http.MethodGet && n == 4 && sub == "node-groups":
		req.Action, req.Nodegroup = "DescribeNodegroup", parts[3]
	case method == http.MethodGet && n == 3 && sub == "addons":
		req.Action = "ListAddons"
	case method == http.MethodGet && n == 4 && sub == "addons":
		req.Action, req.Addon = "DescribeAddon", parts[3]
	case method == http.MethodPost && n == 3 && sub == "insights":
		req.Action = "ListInsights"
	case method == http.MethodGet && n == 4 && sub == "insights":
		req.Action, req.Insight = "DescribeInsight", parts[3]
	default:
		return req, false
	}
	return req, true
}

// apiError is an EKS error answer: its code and message.
type apiError struct{ code, msg string }

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func invalid(format string, args ...any) *apiError {
	return &apiError{"InvalidParameterException", fmt.Sprintf(format, args...)}
}

func (s *Server) eks(w http.ResponseWriter, r *http.Request, body []byte, sig signature, sigErr error) {
	req, known := route(r.Method, strings.Split(strings.Trim(r.URL.Path, "/"), "/"))
	req.AccessKey, req.Region = sig.accessKey, sig.region
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
	switch {
	case !known:
		fail("UnknownOperationException", fmt.Sprintf("the fake does not answer %s %s", r.Method, r.URL.Path))
		return
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
	c = c.clone()
	code := s.errors[key]
	if req.Cluster == "" {
		code = ""
	}
	if code == "" {
		code = s.failing[req.Action]
	}
	catalog := maps.Clone(s.catalog)
	s.mu.Unlock()
	switch {
	case code != "":
		fail(code, "the fake was told to answer "+code)
		return
	case req.Cluster != "" && !found:
		fail("ResourceNotFoundException", fmt.Sprintf("No cluster found for name: %s.", req.Cluster))
		return
	}
	at := view{Cluster: c, region: sig.region, account: is.account, now: s.clock()}
	var out map[string]any
	var err *apiError
	switch req.Action {
	case "DescribeCluster":
		out = at.describeCluster()
	case "ListNodegroups":
		out, err = at.listNodegroups(r.URL.Query())
	case "DescribeNodegroup":
		out, err = at.describeNodegroup(req.Nodegroup)
	case "ListAddons":
		out, err = at.listAddons(r.URL.Query())
	case "DescribeAddon":
		out, err = at.describeAddon(req.Addon)
	case "ListInsights":
		out, err = at.listInsights(body)
	case "DescribeInsight":
		out, err = at.describeInsight(req.Insight)
	case "DescribeAddonVersions":
		req.Addon = r.URL.Query().Get("addonName")
		out, err = describeAddonVersions(catalog, r.URL.Query())
	}
	if err != nil {
		fail(err.code, err.msg)
		return
	}
	req.Status = http.StatusOK
	s.record(req)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// view is a cluster as one EKS call sees it: in the caller's account and
// region, at the fake's time.
type view struct {
	Cluster
	region, account string
	now             time.Time
}

func (v view) arn(kind, rest string) string {
	return fmt.Sprintf("arn:aws:eks:%s:%s:%s/%s", v.region, v.account, kind, rest)
}

// created is when every resource of the fake was made: a day ago.
func (v view) created() float64 { return float64(v.now.Add(-24 * time.Hour).Unix()) }

// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeCluster.html
func (v view) describeCluster() map[string]any {
	cl := map[string]any{
		"name": v.Name, "arn": v.arn("cluster", v.Name), "version": v.Version, "status": orActive(v.Status), "createdAt": v.created(),
		"endpoint": fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", strings.ToUpper(v.Name), v.region),
	}
	if v.PlatformVersion != "" {
		cl["platformVersion"] = v.PlatformVersion
	}
	return map[string]any{"cluster": cl}
}

// https://docs.aws.amazon.com/eks/latest/APIReference/API_ListNodegroups.html
func (v view) listNodegroups(q url.Values) (map[string]any, *apiError) {
	return listPage("nodegroups", sortedNames(v.Nodegroups, func(ng Nodegroup) string { return ng.Name }), q.Get("maxResults"), q.Get("nextToken"))
}

// sortedNames returns the names of list's elements, sorted.
func sortedNames[T any](list []T, name func(T) string) []string {
	names := make([]string, len(list))
	for i, e := range list {
		names[i] = name(e)
	}
	slices.Sort(names)
	return names
}

// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeNodegroup.html
func (v view) describeNodegroup(name string) (map[string]any, *apiError) {
	i := slices.IndexFunc(v.Nodegroups, func(n Nodegroup) bool { return n.Name == name })
	if i < 0 {
		return nil, &apiError{"ResourceNotFoundException", fmt.Sprintf("No node group found for name: %s.", name)}
	}
	ng := v.Nodegroups[i]
	n := map[string]any{
		"nodegroupName": ng.Name, "clusterName": v.Name, "version": ng.Version, "status": orActive(ng.Status),
		"nodegroupArn": v.arn("nodegroup", v.Name+"/"+ng.Name+"/fake"),
		"createdAt":    v.created(), "health": map[string]any{"issues": issues(ng.Issues)},
	}
	if ng.ReleaseVersion != "" {
		n["releaseVersion"] = ng.ReleaseVersion
	}
	return map[string]any{"nodegroup": n}, nil
}

// issues are health issues as EKS reports them, from "code: message".
func issues(list []string) []any {
	out := []any{}
	for _, is := range list {
		code, msg, _ := strings.Cut(is, ": ")
		out = append(out, map[string]any{"code": code, "message": msg, "resourceIds": []string{}})
	}
	return out
}

// https://docs.aws.amazon.com/eks/latest/APIReference/API_ListAddons.html
func (v view) listAddons(q url.Values) (map[string]any, *apiError) {
	return listPage("addons", sortedNames(v.Addons, func(a Addon) string { return a.Name }), q.Get("maxResults"), q.Get("nextToken"))
}

// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddon.html
func (v view) describeAddon(name string) (map[string]any, *apiError) {
	i := slices.IndexFunc(v.Addons, func(a Addon) bool { return a.Name == name })
	if i < 0 {
		return nil, &apiError{"ResourceNotFoundException", fmt.Sprintf("No addon: %s found in cluster: %s", name, v.Name)}
	}
	a := v.Addons[i]
	return map[string]any{"addon": map[string]any{
		"addonName": a.Name, "clusterName": v.Name, "addonVersion": a.Version, "status": orActive(a.Status),
		"addonArn":  v.arn("addon", v.Name+"/"+a.Name+"/fake"),
		"createdAt": v.created(), "modifiedAt": v.created(), "health": map[string]any{"issues": issues(a.Issues)},
	}}, nil
}

// insightsFilter is ListInsights' body.
type insightsFilter struct {
	Filter *struct {
		Categories         []string `json:"categories"`
		KubernetesVersions []string `json:"kubernetesVersions"`
		Statuses           []string `json:"statuses"`
	} `json:"filter"`
	MaxResults *int   `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

// https://docs.aws.amazon.com/eks/latest/APIReference/API_ListInsights.html
func (v view) listInsights(body []byte) (map[string]any, *apiError) {
	var in insightsFilter
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return nil, invalid("the ListInsights body: %v", err)
		}
	}
	var cats, versions, statuses []string
	if in.Filter != nil {
		cats, versions, statuses = in.Filter.Categories, in.Filter.KubernetesVersions, in.Filter.Statuses
	}
	for _, c := range cats {
		if c != UpgradeReadiness && c != Misconfiguration {
			return nil, invalid("category %q is not UPGRADE_READINESS or MISCONFIGURATION", c)
		}
	}
	for _, st := range statuses {
		if !slices.Contains([]string{InsightPassing, InsightWarning, InsightError, InsightUnknown}, st) {
			return nil, invalid("status %q is not PASSING, WARNING, ERROR or UNKNOWN", st)
		}
	}
	keep := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	var summaries []any
	for _, in := range v.Insights {
		if keep(cats, orUpgrade(in.Category)) && keep(versions, in.KubernetesVersion) && keep(statuses, in.Status) {
			summaries = append(summaries, v.insight(in, false))
		}
	}
	size := ""
	if in.MaxResults != nil {
		size = strconv.Itoa(*in.MaxResults)
	}
	return listPage("insights", summaries, size, in.NextToken)
}

// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeInsight.html
func (v view) describeInsight(id string) (map[string]any, *apiError) {
	i := slices.IndexFunc(v.Insights, func(in Insight) bool { return in.ID == id })
	if i < 0 {
		return nil, &apiError{"ResourceNotFoundException", fmt.Sprintf("No insight found for id: %s.", id)}
	}
	return map[string]any{"insight": v.insight(v.Insights[i], true)}, nil
}

// insight is an Insight as EKS answers it: its summary, or all of it.
func (v view) insight(in Insight, full bool) map[string]any {
	status := map[string]any{"status": in.Status}
	if in.Reason != "" {
		status["reason"] = in.Reason
	}
	out := map[string]any{
		"id": in.ID, "name": in.Name, "category": orUpgrade(in.Category), "kubernetesVersion": in.KubernetesVersion,
		"lastRefreshTime": float64(v.now.Unix()), "lastTransitionTime": float64(v.now.Add(-time.Hour).Unix()),
		"description": in.Description, "insightStatus": status,
	}
	if !full {
		return out
	}
	out["recommendation"] = in.Recommendation
	out["additionalInfo"] = map[string]string{}
	if in.AdditionalInfo != nil {
		out["additionalInfo"] = in.AdditionalInfo
	}
	resources := []any{}
	for _, uri := range in.Resources {
		resources = append(resources, map[string]any{"insightStatus": status, "kubernetesResourceUri": uri})
	}
	out["resources"] = resources
	deprecations := []any{}
	for _, d := range in.Deprecations {
		clients := []any{}
		for _, c := range d.Clients {
			clients = append(clients, map[string]any{
				"userAgent": c.UserAgent, "numberOfRequestsLast30Days": c.Requests, "lastRequestTime": float64(c.LastRequest.Unix()),
			})
		}
		deprecations = append(deprecations, map[string]any{
			"usage": d.Usage, "replacedWith": d.ReplacedWith, "stopServingVersion": d.StopServingVersion,
			"startServingReplacementVersion": d.StartServingReplacementVersion, "clientStats": clients,
		})
	}
	out["categorySpecificSummary"] = map[string]any{"deprecationDetails": deprecations}
	return out
}

// addonTypes are the types EKS gives the add-ons it publishes itself.
var addonTypes = map[string]string{
	"vpc-cni": "networking", "coredns": "networking", "kube-proxy": "networking",
	"aws-ebs-csi-driver": "storage", "aws-efs-csi-driver": "storage", "eks-pod-identity-agent": "security",
}

// https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeAddonVersions.html
// The fake filters by addonName and kubernetesVersion; with
// kubernetesVersion, only the versions compatible with it are listed, each
// with that compatibility alone, and an add-on with none is left out.
func describeAddonVersions(catalog map[string][]AddonVersion, q url.Values) (map[string]any, *apiError) {
	for _, p := range []string{"types", "publishers", "owners"} {
		if q.Has(p) {
			return nil, invalid("the fake does not filter by %s", p)
		}
	}
	name, kube := q.Get("addonName"), q.Get("kubernetesVersion")
	var addons []any
	for _, n := range slices.Sorted(maps.Keys(catalog)) {
		if name != "" && n != name {
			continue
		}
		versions := []any{}
		for _, av := range catalog[n] {
			var compat []any
			for _, cv := range av.Compatible {
				if kube != "" && cv != kube {
					continue
				}
				compat = append(compat, map[string]any{
					"clusterVersion": cv, "platformVersions": []string{"*"}, "defaultVersion": slices.Contains(av.DefaultFor, cv),
				})
			}
			if len(compat) == 0 && kube != "" {
				continue
			}
			if compat == nil {
				compat = []any{}
			}
			versions = append(versions, map[string]any{
				"addonVersion": av.Version, "architecture": []string{"amd64", "arm64"}, "computeTypes": []string{"ec2"},
				"compatibilities": compat, "requiresConfiguration": false, "requiresIamPermissions": false,
			})
		}
		if len(versions) == 0 && kube != "" {
			continue
		}
		info := map[string]any{"addonName": n, "addonVersions": versions, "publisher": "eks", "owner": "aws"}
		if t, ok := addonTypes[n]; ok {
			info["type"] = t
		}
		addons = append(addons, info)
	}
	return listPage("addons", addons, q.Get("maxResults"), q.Get("nextToken"))
}

// listPage answers one page of a list under key, with the next token when
// there is more.
func listPage[T any](key string, items []T, maxResults, nextToken string) (map[string]any, *apiError) {
	page, next, err := paginate(items, maxResults, nextToken)
	if err != nil {
		return nil, invalid("%v", err)
	}
	if page == nil {
		page = []T{}
	}
	out := map[string]any{key: page}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// paginate returns the page of items that maxResults and nextToken (an
// offset) select, and the next token.
func paginate[T any](items []T, maxResults, nextToken string) ([]T, string, error) {
	size := 100
	if maxResults != "" {
		n, err := strconv.Atoi(maxResults)
		if err != nil || n < 1 || n > 100 {
			return nil, "", fmt.Errorf("maxResults %q is not 1 to 100", maxResults)
		}
		size = n
	}
	start := 0
	if nextToken != "" {
		n, err := strconv.Atoi(nextToken)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", fmt.Errorf("nextToken %q is not valid", nextToken)
		}
		start = n
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

func orActive(s string) string {
	if s == "" {
		return Active
	}
	return s
}

func orUpgrade(category string) string {
	if category == "" {
		return UpgradeReadiness
	}
	return category
}
