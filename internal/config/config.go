// Package config reads the configuration file of `fleetbot serve`: strictly
// (an unknown key is an error naming its line), with every problem reported
// at once, each naming the file, the line and the field. It reads the files
// the configuration points at (the App's key, the webhook secret) so a bad
// path fails before anything starts; it connects to nothing.
package config

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout/decode"
)

// Defaults Load fills in for what a file leaves out.
const (
	DefaultAPIBaseURL        = "https://api.github.com/"
	DefaultListen            = ":8080"
	DefaultReconcileInterval = time.Minute
	DefaultWorkers           = 16
	// DefaultOpenConcurrency is how many pull requests of a wave go to
	// GitHub at once.
	DefaultOpenConcurrency = 4
	// DefaultLeaseDuration is how long a replica holds a campaign's lease
	// without renewing it; MinLeaseDuration the shortest allowed, so that
	// a store's round trips and clock skew between replicas stay well
	// within it.
	DefaultLeaseDuration = 2 * time.Minute
	MinLeaseDuration     = 5 * time.Second
	// DefaultDeliveryRetention keeps deliveries longer than GitHub lets
	// anyone redeliver one (three days), so a redelivery is still known.
	DefaultDeliveryRetention = 7 * 24 * time.Hour
	DefaultCampaignRetention = 90 * 24 * time.Hour
)

// Serve is the configuration of `fleetbot serve`. docs/serve.md describes
// each field.
type Serve struct {
	AppID             int64
	PrivateKeyFile    string
	WebhookSecretFile string
	APIBaseURL        string
	Listen            string
	// MetricsListen, when set, is where /metrics is served instead of
	// Listen, so it need not share the public webhook port.
	MetricsListen     string
	Store             Store
	MirrorDir         string
	Campaigns         Campaigns
	Repositories      []string
	ReconcileInterval time.Duration
	Workers           int
	// OpenConcurrency is how many pull requests of a wave go to GitHub at
	// once.
	OpenConcurrency int
	// LeaseDuration is how long a campaign's lease lasts without renewal:
	// how long a replica that froze holds its campaigns back.
	LeaseDuration time.Duration
	// LogLevel is the least severe log record written (info unless
	// logLevel says otherwise).
	LogLevel  slog.Level
	ReplicaID string
	API       API
	Retention Retention
	Status    Status

	// PrivateKey and WebhookSecret are the contents of the files named
	// above; the secret without surrounding white space.
	PrivateKey    []byte
	WebhookSecret []byte
}

// Retention says how long the store keeps webhook deliveries and the
// records of ended campaigns whose file is gone; zero keeps them for ever.
type Retention struct{ Deliveries, Campaigns time.Duration }

// Store says where state lives: exactly one of Bolt and DynamoDB is set.
type Store struct {
	Bolt     *Bolt
	DynamoDB *DynamoDB
}

// Bolt is a bbolt file, for one replica.
type Bolt struct{ Path string }

// DynamoDB is a DynamoDB table, for several replicas. Region and Endpoint
// are optional: the AWS SDK's usual sources fill the region in, and Endpoint
// points at a local stand-in.
type DynamoDB struct{ Table, Region, Endpoint string }

// MinAPITokenLength is the shortest bearer token the operations API
// accepts: a token short enough to guess would let anyone abort a campaign.
const MinAPITokenLength = 16

// API configures the operations API of serve (/api/v1/campaigns/...), and
// tells the campaign commands where a running serve answers it. TokenFile
// names the file holding the bearer token; without it the API is off. URL,
// when set, makes the campaign commands talk to that serve instead of
// opening the store; serve itself does not read it.
type API struct {
	TokenFile string
	URL       string
	// Token is the content of TokenFile without surrounding white space.
	Token []byte
}

// DefaultStatusRefresh is how often the status page reloads itself unless
// status.refresh says otherwise.
const DefaultStatusRefresh = 30 * time.Second

// Status configures the status page of serve (GET /) and its read-only
// API (GET /api/v1/campaigns and GET /api/v1/campaigns/NAME). Enabled
// (default true) turns both on; Refresh is how often the page reloads
// itself.
type Status struct {
	Enabled bool
	Refresh time.Duration
}

// Campaigns says where campaign files live: Path/*.yaml in Repository.
type Campaigns struct{ Repository, Path string }

// Problem is one thing wrong with a configuration file.
type Problem struct {
	Line   int // 0 when the problem is a missing field
	Field  string
	Reason string
}

// Error lists every problem of one configuration file.
type Error struct {
	File     string
	Problems []Problem
}

// Error writes one problem a line: "file:line: field: reason".
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		if p.Field != "" {
			b.WriteString(": " + p.Field)
		}
		b.WriteString(": " + p.Reason)
	}
	return b.String()
}

// loader collects the problems of one file.
type loader struct {
	d   *decode.Decoder
	dir string
}

func (l *loader) add(line int, field, format string, args ...any) {
	l.d.Failf(line, field, format, args...)
}

// Load reads and checks the configuration file at path. Relative file and
// directory paths in it are read from the file's directory. Any problem
// gives an *Error listing them all.
func Load(path string) (*Serve, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Problems: []Problem{{Reason: fmt.Sprintf("cannot read the configuration file: %v", unwrapPath(err))}}}
	}
	l := &loader{d: decode.New(path), dir: filepath.Dir(path)}
	cfg := l.parse(src)
	if errs := l.d.Errors(); len(errs) > 0 {
		e := &Error{File: path}
		for _, p := range errs {
			e.Problems = append(e.Problems, Problem{Line: p.Line, Field: p.Field, Reason: p.Reason})
		}
		return nil, e
	}
	return cfg, nil
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// lines keep the line of each field that was set, for later checks.
type lines map[string]int

// fields reads mapping n with the fields names, recording the line of each
// field it holds.
func (l *loader) fields(n *yaml.Node, path string, line int, at lines, names ...string) *decode.Map {
	m := l.d.Fields(n, path, line, names...)
	if m != nil {
		for _, k := range m.Keys() {
			at[m.Field(k)] = m.LineOf(k)
		}
	}
	return m
}

// object reads the mapping under key of m, as fields does; nil when absent.
func (l *loader) object(m *decode.Map, key string, at lines, names ...string) *decode.Map {
	if m == nil || m.Optional(key) == nil {
		return nil
	}
	return l.fields(m.Value(key), m.Field(key), m.LineOf(key), at, names...)
}

func (l *loader) parse(src []byte) *Serve {
	cfg := &Serve{}
	root, ok := l.d.Document(src, "configuration file")
	if !ok {
		return cfg
	}
	if root == nil || root.Kind != yaml.MappingNode {
		line := 0
		if root != nil {
			line = root.Line
		}
		l.add(line, "", "want a mapping of settings")
		return cfg
	}
	at := lines{}
	m := l.fields(root, "", root.Line, at, "appID", "privateKeyFile", "webhookSecretFile", "apiBaseURL", "listen", "metricsListen",
		"store", "mirrorDir", "campaigns", "repositories", "reconcileInterval", "leaseDuration", "workers", "openConcurrency", "logLevel", "replicaID", "api", "retention", "status")
	if v, ok := m.Int("appID", math.MinInt); ok {
		cfg.AppID = int64(v)
	}
	cfg.PrivateKeyFile, _ = m.OptionalString("privateKeyFile")
	cfg.WebhookSecretFile, _ = m.OptionalString("webhookSecretFile")
	cfg.APIBaseURL, _ = m.OptionalString("apiBaseURL")
	cfg.Listen, _ = m.OptionalString("listen")
	cfg.MetricsListen, _ = m.OptionalString("metricsListen")
	cfg.MirrorDir, _ = m.OptionalString("mirrorDir")
	cfg.ReplicaID, _ = m.OptionalString("replicaID")
	cfg.Workers, _ = m.Int("workers", math.MinInt)
	cfg.OpenConcurrency, _ = m.Int("openConcurrency", math.MinInt)
	cfg.LogLevel, _ = decode.Text(m, "logLevel", false, logLevel)
	for i, n := range m.List("repositories") {
		if s, ok := l.d.String(n, decode.Index(m.Field("repositories"), i)); ok {
			cfg.Repositories = append(cfg.Repositories, s)
		}
	}
	cfg.ReconcileInterval, _ = decode.Text(m, "reconcileInterval", false, duration(false))
	cfg.LeaseDuration, _ = decode.Text(m, "leaseDuration", false, duration(false))
	cfg.Retention = Retention{Deliveries: DefaultDeliveryRetention, Campaigns: DefaultCampaignRetention}
	if r := l.object(m, "retention", at, "deliveries", "campaigns"); r != nil {
		if d, n := decode.Text(r, "deliveries", false, duration(true)); n != nil {
			cfg.Retention.Deliveries = d
		}
		if d, n := decode.Text(r, "campaigns", false, duration(true)); n != nil {
			cfg.Retention.Campaigns = d
		}
	}
	if store := l.object(m, "store", at, "bolt", "dynamodb"); store != nil {
		if b := l.object(store, "bolt", at, "path"); b != nil {
			cfg.Store.Bolt = &Bolt{}
			cfg.Store.Bolt.Path, _ = b.OptionalString("path")
		}
		if db := l.object(store, "dynamodb", at, "table", "region", "endpoint"); db != nil {
			d := &DynamoDB{}
			d.Table, _ = db.OptionalString("table")
			d.Region, _ = db.OptionalString("region")
			d.Endpoint, _ = db.OptionalString("endpoint")
			cfg.Store.DynamoDB = d
		}
	}
	if c := l.object(m, "campaigns", at, "repository", "path"); c != nil {
		cfg.Campaigns.Repository, _ = c.OptionalString("repository")
		cfg.Campaigns.Path, _ = c.OptionalString("path")
	}
	if a := l.object(m, "api", at, "tokenFile", "url"); a != nil {
		cfg.API.TokenFile, _ = a.OptionalString("tokenFile")
		cfg.API.URL, _ = a.OptionalString("url")
	}
	cfg.Status = Status{Enabled: true, Refresh: DefaultStatusRefresh}
	if st := l.object(m, "status", at, "enabled", "refresh"); st != nil {
		cfg.Status.Enabled = st.Bool("enabled", true)
		if d, n := decode.Text(st, "refresh", false, duration(false)); n != nil {
			cfg.Status.Refresh = d
		}
	}
	l.check(cfg, at)
	return cfg
}

// logLevel parses a log level: debug, info, warn or error.
func logLevel(s string) (slog.Level, error) {
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
}

// duration parses a Go duration such as 30s, 1m or 168h: more than zero,
// or zero too when zero is allowed.
func duration(zero bool) func(string) (time.Duration, error) {
	return func(s string) (time.Duration, error) {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			return 0, fmt.Errorf("%q is not a duration such as 30s, 1m or 168h", s)
		case d < 0 || (d == 0 && !zero):
			if zero {
				return 0, errors.New("must not be negative (0s keeps everything)")
			}
			return 0, errors.New("must be more than 0s")
		}
		return d, nil
	}
}

// has reports whether a problem was found with field already.
func (l *loader) has(field string) bool {
	return slices.ContainsFunc(l.d.Errors(), func(p *decode.Error) bool { return p.Field == field })
}

// check fills in defaults, checks every field and reads the files.
func (l *loader) check(cfg *Serve, at lines) {
	line := func(f string) int { return at[f] }
	if _, set := at["appID"]; !set {
		l.add(0, "appID", "missing: set the GitHub App's numeric id")
	} else if cfg.AppID <= 0 && !l.has("appID") {
		l.add(line("appID"), "appID", "must be a positive number, the GitHub App's id")
	}
	cfg.PrivateKey = l.readFile(cfg.PrivateKeyFile, "privateKeyFile", line, "the GitHub App's private key (PEM)")
	if cfg.PrivateKey != nil {
		if b, _ := pem.Decode(cfg.PrivateKey); b == nil {
			l.add(line("privateKeyFile"), "privateKeyFile", "%s holds no PEM block: want the App's private key as GitHub gave it", cfg.PrivateKeyFile)
		}
	}
	secret := l.readFile(cfg.WebhookSecretFile, "webhookSecretFile", line, "the webhook secret")
	if secret != nil {
		cfg.WebhookSecret = bytes.TrimSpace(secret)
		if len(cfg.WebhookSecret) == 0 {
			l.add(line("webhookSecretFile"), "webhookSecretFile", "%s is empty: fleetbot does not start without a webhook secret, since it could not tell GitHub's deliveries from forged ones", cfg.WebhookSecretFile)
		}
	}
	if cfg.APIBaseURL == "" {
		cfg.APIBaseURL = DefaultAPIBaseURL
	} else if u, err := url.Parse(cfg.APIBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		l.add(line("apiBaseURL"), "apiBaseURL", "%q is not an http(s) URL such as https://api.github.com/", cfg.APIBaseURL)
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	} else if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		l.add(line("listen"), "listen", "%q is not host:port such as :8080", cfg.Listen)
	}
	if cfg.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(cfg.MetricsListen); err != nil {
			l.add(line("metricsListen"), "metricsListen", "%q is not host:port such as :9090", cfg.MetricsListen)
		} else if cfg.MetricsListen == cfg.Listen {
			l.add(line("metricsListen"), "metricsListen", "%q is listen's address too: give /metrics another port, or leave metricsListen out to serve it on listen", cfg.MetricsListen)
		}
	}
	l.checkStore(cfg, line)
	l.checkAPI(cfg, line)
	if cfg.MirrorDir == "" {
		l.add(line("mirrorDir"), "mirrorDir", "missing: set the directory where git mirrors of the repositories are kept")
	} else {
		cfg.MirrorDir = l.path(cfg.MirrorDir)
	}
	switch {
	case cfg.Campaigns.Repository == "":
		l.add(line("campaigns"), "campaigns.repository", "missing: set the repository (owner/name) holding the campaign files")
	case !isRepo(cfg.Campaigns.Repository):
		l.add(line("campaigns.repository"), "campaigns.repository", "%q: want owner/name", cfg.Campaigns.Repository)
	}
	switch p := cfg.Campaigns.Path; {
	case p == "":
		l.add(line("campaigns"), "campaigns.path", "missing: set the directory of the campaign files in the repository, such as campaigns")
	case strings.HasPrefix(p, "/") || slices.Contains(strings.Split(p, "/"), ".."):
		l.add(line("campaigns.path"), "campaigns.path", "%q: want a directory inside the repository, such as campaigns", p)
	}
	if len(cfg.Repositories) == 0 {
		l.add(line("repositories"), "repositories", "missing: list the repositories (owner/name) holding the blueprints and label files")
	}
	seen := map[string]bool{}
	for i, r := range cfg.Repositories {
		f := fmt.Sprintf("repositories[%d]", i)
		switch {
		case !isRepo(r):
			l.add(line("repositories"), f, "%q: want owner/name", r)
		case seen[r]:
			l.add(line("repositories"), f, "%s is listed twice", r)
		}
		seen[r] = true
	}
	if cfg.ReconcileInterval == 0 {
		if _, set := at["reconcileInterval"]; !set {
			cfg.ReconcileInterval = DefaultReconcileInterval
		}
	}
	if _, set := at["leaseDuration"]; !set {
		cfg.LeaseDuration = DefaultLeaseDuration
	} else if cfg.LeaseDuration > 0 && cfg.LeaseDuration < MinLeaseDuration {
		l.add(line("leaseDuration"), "leaseDuration", "%s is shorter than %s: a lease must outlast the store's round trips and the replicas' clock skew", cfg.LeaseDuration, MinLeaseDuration)
	}
	if _, set := at["workers"]; !set {
		cfg.Workers = DefaultWorkers
	} else if cfg.Workers < 1 && !l.has("workers") {
		l.add(line("workers"), "workers", "must be at least 1")
	}
	if _, set := at["openConcurrency"]; !set {
		cfg.OpenConcurrency = DefaultOpenConcurrency
	} else if cfg.OpenConcurrency < 1 && !l.has("openConcurrency") {
		l.add(line("openConcurrency"), "openConcurrency", "must be at least 1")
	}
}

func (l *loader) checkStore(cfg *Serve, line func(string) int) {
	s := cfg.Store
	switch {
	case s.Bolt == nil && s.DynamoDB == nil:
		l.add(line("store"), "store", "missing: set store.bolt.path (one replica) or store.dynamodb.table (several replicas)")
	case s.Bolt != nil && s.DynamoDB != nil:
		l.add(line("store.dynamodb"), "store", "set one of bolt and dynamodb, not both")
	case s.Bolt != nil && s.Bolt.Path == "":
		l.add(line("store.bolt"), "store.bolt.path", "missing: set the bbolt file's path")
	case s.Bolt != nil:
		s.Bolt.Path = l.path(s.Bolt.Path)
	default:
		if s.DynamoDB.Table == "" {
			l.add(line("store.dynamodb"), "store.dynamodb.table", "missing: set the DynamoDB table's name")
		}
		if e := s.DynamoDB.Endpoint; e != "" {
			if u, err := url.Parse(e); err != nil || u.Scheme == "" || u.Host == "" {
				l.add(line("store.dynamodb.endpoint"), "store.dynamodb.endpoint", "%q is not a URL such as http://127.0.0.1:8000", e)
			}
		}
	}
}

func (l *loader) checkAPI(cfg *Serve, line func(string) int) {
	a := &cfg.API
	if a.URL != "" {
		if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			l.add(line("api.url"), "api.url", "%q is not an http(s) URL such as https://fleetbot.example.com/", a.URL)
		}
	}
	if a.TokenFile == "" {
		if a.URL != "" {
			l.add(line("api"), "api.tokenFile", "missing: api.url needs the file holding the API's bearer token")
		}
		return
	}
	token := l.readFile(a.TokenFile, "api.tokenFile", line, "the operations API's bearer token")
	if token == nil {
		return
	}
	// The file's content is never quoted in a problem: it is a secret.
	a.Token = bytes.TrimSpace(token)
	if len(a.Token) < MinAPITokenLength {
		l.add(line("api.tokenFile"), "api.tokenFile", "%s holds fewer than %d characters: use a long random token, such as the output of openssl rand -hex 32", a.TokenFile, MinAPITokenLength)
		a.Token = nil
	}
}

// readFile reads a file the configuration names; nil when it could not.
func (l *loader) readFile(name, field string, line func(string) int, what string) []byte {
	if name == "" {
		l.add(line(field), field, "missing: set the file holding %s", what)
		return nil
	}
	b, err := os.ReadFile(l.path(name))
	if err != nil {
		l.add(line(field), field, "cannot read %s: %v", name, unwrapPath(err))
		return nil
	}
	return b
}

// path resolves a path of the file against the file's directory.
func (l *loader) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.dir, p)
}

func isRepo(s string) bool {
	owner, name, ok := strings.Cut(s, "/")
	return ok && owner != "" && name != "" && !strings.ContainsAny(name, "/ ") && !strings.Contains(owner, " ")
}
