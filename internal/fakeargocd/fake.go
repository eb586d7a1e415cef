package fakeargocd

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Health and sync values as Argo CD reports them.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
	Suspended   = "Suspended"
	Missing     = "Missing"
	Unknown     = "Unknown"

	Synced    = "Synced"
	OutOfSync = "OutOfSync"

	PhaseRunning   = "Running"
	PhaseSucceeded = "Succeeded"
	PhaseFailed    = "Failed"
	PhaseError     = "Error"
)

// Application is an Argo CD application, flattened to what the gate reads.
type Application struct {
	Name      string
	Namespace string // default "argocd"
	Project   string // default "default"
	Labels    map[string]string

	// DestName or DestServer names the cluster, as spec.destination does.
	DestName   string
	DestServer string

	// RepoURL, Path and TargetRevision are spec.source; Sources, when set,
	// are spec.sources instead (a multi-source application).
	RepoURL        string
	Path           string
	TargetRevision string
	Sources        []Source

	// SyncStatus is status.sync.status; Revision is status.sync.revision
	// (Revisions status.sync.revisions, one per source).
	SyncStatus string
	Revision   string
	Revisions  []string

	// Health and HealthMessage are status.health.
	Health        string
	HealthMessage string

	// Phase, when set, is status.operationState.phase (Running, Succeeded,
	// Failed, Error, Terminating); OperationMessage its message;
	// OperationRevision the revision of its sync result.
	Phase             string
	OperationMessage  string
	OperationRevision string

	// ReconciledAt is status.reconciledAt (the fake's clock when zero).
	ReconciledAt time.Time
}

// Source is one source of a multi-source application.
type Source struct {
	RepoURL        string
	Path           string
	Chart          string
	TargetRevision string
}

// Cluster is a cluster registered in Argo CD: its secret's name, server
// URL and labels.
type Cluster struct {
	Name   string
	Server string
	Labels map[string]string
}

// Server is the fake Argo CD API. Its zero value is not usable; call New.
type Server struct {
	token string
	clock func() time.Time
	mux   *http.ServeMux

	mu       sync.Mutex
	apps     map[string]Application // by namespace/name
	clusters map[string]Cluster     // by name
	requests int
}

// Option configures a Server.
type Option func(*Server)

// WithClock stamps times (reconciledAt, operation times) with clock instead
// of time.Now.
func WithClock(clock func() time.Time) Option {
	return func(s *Server) { s.clock = clock }
}

// New returns a fake Argo CD that accepts only the bearer token token.
func New(token string, opts ...Option) *Server {
	s := &Server{token: token, clock: time.Now, apps: map[string]Application{}, clusters: map[string]Cluster{}}
	for _, o := range opts {
		o(s)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /api/v1/applications", s.listApplications)
	s.mux.HandleFunc("GET /api/v1/applications/{name}", s.getApplication)
	s.mux.HandleFunc("GET /api/v1/clusters", s.listClusters)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "Not Found")
	})
	return s
}

// SetApplication adds app or replaces the application of the same
// namespace and name.
func (s *Server) SetApplication(app Application) {
	app.Namespace = cmp.Or(app.Namespace, "argocd")
	app.Project = cmp.Or(app.Project, "default")
	app.Labels = maps.Clone(app.Labels)
	app.Sources = slices.Clone(app.Sources)
	app.Revisions = slices.Clone(app.Revisions)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[app.Namespace+"/"+app.Name] = app
}

// Application returns the application name in namespace ("" is argocd).
func (s *Server) Application(namespace, name string) (Application, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[cmp.Or(namespace, "argocd")+"/"+name]
	return a, ok
}

// SetCluster registers c or replaces the cluster of the same name.
func (s *Server) SetCluster(c Cluster) {
	c.Labels = maps.Clone(c.Labels)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clusters[c.Name] = c
}

// Cluster returns the cluster registered as name.
func (s *Server) Cluster(name string) (Cluster, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clusters[name]
	c.Labels = maps.Clone(c.Labels)
	return c, ok
}

// RemoveCluster simulates a cluster taken out of the fleet: its cluster
// secret goes, and with it every application bound for it (by destination
// name, or by the server URL it was registered with), as an
// ApplicationSet's cluster generator prunes them. It returns the number of
// applications removed, and whether the cluster was registered.
func (s *Server) RemoveCluster(name string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clusters[name]
	delete(s.clusters, name)
	n := 0
	for key, a := range s.apps {
		if a.boundFor(name, c.Server) {
			delete(s.apps, key)
			n++
		}
	}
	return n, ok
}

// boundFor reports whether a's destination is the cluster name, or server
// when not empty.
func (a Application) boundFor(name, server string) bool {
	return a.DestName == name || server != "" && a.DestServer == server
}

// Sync simulates Argo CD syncing every application bound for cluster (by
// destination name, or by the server URL the cluster is registered with)
// to revision, ending with health: sync status Synced, the sync operation
// Succeeded. It returns the number of applications it changed.
func (s *Server) Sync(cluster, revision, health string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	server := s.clusters[cluster].Server
	n := 0
	for key, a := range s.apps {
		if !a.boundFor(cluster, server) {
			continue
		}
		a.SyncStatus, a.Health, a.HealthMessage = Synced, health, ""
		a.Phase, a.OperationMessage, a.OperationRevision = PhaseSucceeded, "successfully synced (all tasks run)", revision
		a.ReconciledAt = time.Time{}
		if len(a.Sources) == 0 {
			a.Revision = revision
		} else {
			a.Revisions = make([]string, len(a.Sources))
			for i, src := range a.Sources {
				if src.Chart == "" {
					a.Revisions[i] = revision
				} else {
					a.Revisions[i] = src.TargetRevision
				}
			}
		}
		s.apps[key] = a
		n++
	}
	return n
}

// Requests returns the number of requests served, authorised or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case !ok || tok == "":
		writeError(w, http.StatusUnauthorized, codeUnauthenticated, "no session information")
		return
	case tok != s.token:
		writeError(w, http.StatusUnauthorized, codeUnauthenticated, "invalid session: token signature is invalid")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// gRPC status codes, which Argo CD's API puts in runtimeError.code.
const (
	codeInvalidArgument = 3
	codeNotFound        = 5
	codeUnauthenticated = 16
)

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg, "code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sel, err := ParseSelector(q.Get("selector"))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidArgument, err.Error())
		return
	}
	projects := append(q["projects"], q["project"]...)
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []any
	for _, key := range slices.Sorted(maps.Keys(s.apps)) {
		a := s.apps[key]
		switch {
		case !sel.Matches(a.Labels):
		case len(projects) > 0 && !slices.Contains(projects, a.Project):
		case q.Get("name") != "" && q.Get("name") != a.Name:
		case q.Get("appNamespace") != "" && q.Get("appNamespace") != a.Namespace:
		case q.Get("repo") != "" && !slices.Contains(a.repos(), q.Get("repo")):
		default:
			items = append(items, s.render(a))
		}
	}
	if items == nil {
		items = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"metadata": map[string]any{"resourceVersion": "1"}, "items": items})
}

func (s *Server) getApplication(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[cmp.Or(q.Get("appNamespace"), "argocd")+"/"+name]
	projects := append(q["projects"], q["project"]...)
	if !ok || len(projects) > 0 && !slices.Contains(projects, a.Project) {
		writeError(w, http.StatusNotFound, codeNotFound, `applications.argoproj.io "`+name+`" not found`)
		return
	}
	writeJSON(w, http.StatusOK, s.render(a))
}

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	items := []any{}
	now := s.stamp(time.Time{})
	for _, name := range slices.Sorted(maps.Keys(s.clusters)) {
		c := s.clusters[name]
		if q.Get("name") != "" && q.Get("name") != c.Name || q.Get("server") != "" && q.Get("server") != c.Server {
			continue
		}
		item := map[string]any{
			"name":            c.Name,
			"server":          c.Server,
			"connectionState": map[string]any{"status": "Successful", "attemptedAt": now},
		}
		if len(c.Labels) > 0 {
			item["labels"] = c.Labels
		}
		items = append(items, item)
	}
	writeJSON(w, http.StatusOK, map[string]any{"metadata": map[string]any{}, "items": items})
}

// repos lists the repositories an application takes sources from.
func (a Application) repos() []string {
	if len(a.Sources) == 0 {
		return []string{a.RepoURL}
	}
	out := make([]string, len(a.Sources))
	for i, src := range a.Sources {
		out[i] = src.RepoURL
	}
	return out
}

// stamp formats t (the clock's time when zero) as Kubernetes does.
func (s *Server) stamp(t time.Time) string {
	if t.IsZero() {
		t = s.clock()
	}
	return t.UTC().Format(time.RFC3339)
}

// render writes a as the v1alpha1Application JSON Argo CD returns.
func (s *Server) render(a Application) map[string]any {
	meta := map[string]any{"name": a.Name, "namespace": a.Namespace}
	if len(a.Labels) > 0 {
		meta["labels"] = a.Labels
	}
	dest := map[string]any{}
	if a.DestName != "" {
		dest["name"] = a.DestName
	}
	if a.DestServer != "" {
		dest["server"] = a.DestServer
	}
	spec := map[string]any{"project": a.Project, "destination": dest}
	sync := map[string]any{"status": cmp.Or(a.SyncStatus, Unknown)}
	if len(a.Sources) == 0 {
		spec["source"] = source(Source{RepoURL: a.RepoURL, Path: a.Path, TargetRevision: a.TargetRevision})
		if a.Revision != "" {
			sync["revision"] = a.Revision
		}
	} else {
		srcs := make([]any, len(a.Sources))
		for i, src := range a.Sources {
			srcs[i] = source(src)
		}
		spec["sources"] = srcs
		if len(a.Revisions) > 0 {
			sync["revisions"] = a.Revisions
		}
	}
	health := map[string]any{"status": cmp.Or(a.Health, Unknown)}
	if a.HealthMessage != "" {
		health["message"] = a.HealthMessage
	}
	status := map[string]any{"sync": sync, "health": health, "reconciledAt": s.stamp(a.ReconciledAt)}
	if a.Phase != "" {
		op := map[string]any{"phase": a.Phase, "startedAt": s.stamp(a.ReconciledAt)}
		if a.OperationMessage != "" {
			op["message"] = a.OperationMessage
		}
		if a.Phase != PhaseRunning && a.Phase != "Terminating" {
			op["finishedAt"] = s.stamp(a.ReconciledAt)
		}
		if a.OperationRevision != "" {
			op["syncResult"] = map[string]any{"revision": a.OperationRevision}
		}
		status["operationState"] = op
	}
	return map[string]any{"metadata": meta, "spec": spec, "status": status}
}

func source(src Source) map[string]any {
	m := map[string]any{"repoURL": src.RepoURL}
	if src.Path != "" {
		m["path"] = src.Path
	}
	if src.Chart != "" {
		m["chart"] = src.Chart
	}
	if src.TargetRevision != "" {
		m["targetRevision"] = src.TargetRevision
	}
	return m
}
