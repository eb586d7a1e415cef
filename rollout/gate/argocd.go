package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fleetbot/fleetbot/rollout"
)

// Ancestry tells whether revision of repo ("owner/name") contains commit,
// that is whether commit is revision or one of its ancestors.
type Ancestry interface {
	Contains(ctx context.Context, repo, revision, commit string) (bool, error)
}

// Comparer compares two commits of a repository: the bot adapts its GitHub
// client to it.
type Comparer interface {
	// Compare tells how head relates to base (GET .../compare/base...head).
	Compare(ctx context.Context, owner, repo, base, head string) (Comparison, error)
}

// Comparison is what the argocd gate reads of a GitHub commit comparison:
// Status is "ahead", "behind", "identical" or "diverged".
type Comparison struct {
	Status string
}

// CompareAncestry is the Ancestry of GitHub's compare API: revision
// contains commit when compare(commit...revision) is "ahead" (revision is
// commit plus more commits) or "identical"; "behind" and "diverged" mean it
// does not.
type CompareAncestry struct {
	API Comparer
}

// Contains compares commit...revision in repo.
func (c CompareAncestry) Contains(ctx context.Context, repo, revision, commit string) (bool, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return false, err
	}
	// https://docs.github.com/en/rest/commits/commits#compare-two-commits
	cmp, err := c.API.Compare(ctx, owner, name, commit, revision)
	if err != nil {
		return false, fmt.Errorf("compare %s...%s in %s: %w", short(commit), short(revision), repo, err)
	}
	switch cmp.Status {
	case "ahead", "identical":
		return true, nil
	case "behind", "diverged":
		return false, nil
	}
	return false, fmt.Errorf("compare %s...%s in %s: unknown status %q", short(commit), short(revision), repo, cmp.Status)
}

func splitRepo(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("repository %q is not owner/name", repo)
	}
	return owner, name, nil
}

// ArgoCD is the argocd gate. It lists the applications of the Argo CD API
// at cfg.Server (narrowed by cfg.Selector and cfg.Project) and keeps those
// bound for the cluster: spec.destination.name is the cluster's name, or
// spec.destination.server is the server URL of the Argo CD cluster of that
// name. Each application is judged in this order:
//
//  1. A sync operation Running or Terminating waits.
//  2. Health Degraded fails the cluster, at whatever revision: a rollout
//     does not continue over an unhealthy cluster.
//  3. Sync status other than Synced (OutOfSync, Unknown) waits.
//  4. A last sync operation Failed or Error waits (Argo CD may retry; the
//     progress deadline times the cluster out).
//  5. For each source taken from the merge's repository (repoURL naming
//     owner/name on any host), the synced revision must contain the merge
//     commit, as Ancestry says: a newer revision that contains it is fine,
//     an older one never is. A revision that does not contain it waits,
//     whether or not a sync operation to it finished: Argo CD has not yet
//     seen the merge and may poll later. Sources from other repositories
//     (Helm charts, other Git repositories) cannot contain the commit and
//     are not compared.
//  6. Health other than Healthy (Progressing, Suspended, Missing, Unknown)
//     waits.
//
// The cluster fails when any application fails; waits when any waits, when
// it has no application at all, or, for a label change, while the Argo CD
// cluster of its name lacks any wanted label value; and passes otherwise.
//
// A change that removes the cluster (Target.Gone) passes once Argo CD has
// no cluster of its name and no application (among those the selector and
// project let it see) is bound for it, and waits while either is left,
// naming what is. An application bound by server URL is recognised after
// the cluster secret went only when this gate saw the secret before, since
// the secret is what maps the name to the URL; the gate remembers the
// server URL of every cluster it read.
//
// An answer Argo CD or GitHub cannot give (401, 5xx, network) is a provider
// error, never a pass or a failure.
type ArgoCD struct {
	base     *url.URL
	token    string
	selector string
	project  string
	ancestry Ancestry
	client   *http.Client

	mu       sync.Mutex
	contains map[ancestryKey]bool // answers about full commit SHAs never change
	servers  map[string]string    // the server URL of each cluster seen, by name
}

type ancestryKey struct{ repo, revision, commit string }

// ArgoCDOption configures an ArgoCD gate.
type ArgoCDOption func(*ArgoCD)

// WithArgoCDClient sends the API requests through c (for TLS settings or
// proxies) instead of http.DefaultClient.
func WithArgoCDClient(c *http.Client) ArgoCDOption {
	return func(g *ArgoCD) { g.client = c }
}

// NewArgoCD returns the argocd gate for cfg, authenticating with the
// bearer token and asking ancestry whether revisions contain the merge. It
// errs when cfg.Server is not an http(s) URL, the token is empty or
// ancestry is nil.
func NewArgoCD(cfg rollout.ArgoCDGate, token string, ancestry Ancestry, opts ...ArgoCDOption) (*ArgoCD, error) {
	u, err := url.Parse(cfg.Server)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return nil, fmt.Errorf("argocd gate: server %q is not an http or https URL", cfg.Server)
	case token == "":
		return nil, fmt.Errorf("argocd gate: the token is empty (is %s set?)", cfg.TokenEnv)
	case ancestry == nil:
		return nil, errors.New("argocd gate: no ancestry to compare revisions with")
	}
	g := &ArgoCD{
		base: u, token: token, selector: cfg.Selector, project: cfg.Project,
		ancestry: ancestry, client: http.DefaultClient, contains: map[ancestryKey]bool{}, servers: map[string]string{},
	}
	for _, o := range opts {
		o(g)
	}
	return g, nil
}

// Name returns rollout.GateArgoCD.
func (*ArgoCD) Name() string { return rollout.GateArgoCD }

// argoApp is the part of v1alpha1Application the gate reads.
type argoApp struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Destination struct {
			Name   string `json:"name"`
			Server string `json:"server"`
		} `json:"destination"`
		Source  *argoSource  `json:"source"`
		Sources []argoSource `json:"sources"`
	} `json:"spec"`
	Status struct {
		Sync struct {
			Status    string   `json:"status"`
			Revision  string   `json:"revision"`
			Revisions []string `json:"revisions"`
		} `json:"sync"`
		Health struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"health"`
		OperationState *struct {
			Phase   string `json:"phase"`
			Message string `json:"message"`
		} `json:"operationState"`
		ReconciledAt *time.Time `json:"reconciledAt"`
	} `json:"status"`
}

type argoSource struct {
	RepoURL string `json:"repoURL"`
}

// argoCluster is the part of v1alpha1Cluster the gate reads.
type argoCluster struct {
	Name   string            `json:"name"`
	Server string            `json:"server"`
	Labels map[string]string `json:"labels"`
}

// appVerdict is the judgement of one application.
type appVerdict struct {
	outcome  rollout.Outcome
	reason   string
	evidence Evidence
	tracked  bool // a source comes from the merge's repository
}

// Check reads the cluster's applications and, for a label change, its
// Argo CD cluster secret's labels; for a change that removes the cluster,
// what is left of it.
func (g *ArgoCD) Check(ctx context.Context, t Target) Result {
	if t.Gone {
		return g.checkGone(ctx, t)
	}
	if _, _, err := splitRepo(t.Repo); err != nil {
		return Result{Err: fmt.Errorf("argocd gate: %w", err)}
	}
	if t.MergeSHA == "" {
		return Result{Err: fmt.Errorf("argocd gate: cluster %s has no merge commit", t.Cluster)}
	}
	cluster, apps, err := g.read(ctx, t.Cluster)
	if err != nil {
		return Result{Err: err}
	}
	var verdicts []appVerdict
	for _, a := range apps {
		v, err := g.judge(ctx, t, a)
		if err != nil {
			return Result{Err: err}
		}
		verdicts = append(verdicts, v)
	}
	slices.SortStableFunc(verdicts, func(a, b appVerdict) int { return strings.Compare(a.evidence.Check, b.evidence.Check) })

	res := Result{}
	var failed, waiting []string
	for _, v := range verdicts {
		res.Evidence = append(res.Evidence, v.evidence)
		switch v.outcome {
		case rollout.GateFailed:
			failed = append(failed, v.reason)
		case rollout.GateWaiting:
			waiting = append(waiting, v.reason)
		}
	}
	labelEvidence, missing := g.labels(t, cluster)
	res.Evidence = append(res.Evidence, labelEvidence...)
	waiting = append(waiting, missing...)
	switch {
	case len(failed) > 0:
		res.Outcome = rollout.GateFailed
		res.Detail = summarise(failed)
	case len(verdicts) == 0:
		res.Outcome = rollout.GateWaiting
		res.Detail = fmt.Sprintf("Argo CD has no application bound for cluster %s%s", t.Cluster, g.narrowing())
		if len(missing) > 0 {
			res.Detail += "; " + summarise(missing)
		}
	case len(waiting) > 0:
		res.Outcome = rollout.GateWaiting
		res.Detail = summarise(waiting)
	default:
		tracked := 0
		for _, v := range verdicts {
			if v.tracked {
				tracked++
			}
		}
		res.Outcome = rollout.GatePassed
		res.Detail = fmt.Sprintf("%d application%s Synced and Healthy", len(verdicts), plural(len(verdicts)))
		switch {
		case tracked == 0:
			res.Detail += fmt.Sprintf(" (none takes a source from %s, so none was compared with %s)", t.Repo, short(t.MergeSHA))
		case tracked == len(verdicts):
			res.Detail += fmt.Sprintf(" at %s containing %s", revisions(tracked), short(t.MergeSHA))
		default:
			res.Detail += fmt.Sprintf(", the %d from %s at %s containing %s", tracked, t.Repo, revisions(tracked), short(t.MergeSHA))
		}
		if len(t.Labels) > 0 {
			res.Detail += fmt.Sprintf("; cluster %s carries %s", t.Cluster, labelList(t.Labels))
		}
	}
	return res
}

// read returns the Argo CD cluster named name (nil when there is none) and
// the applications bound for it: spec.destination.name is name, or
// spec.destination.server is the cluster's server URL (the one remembered
// from an earlier read when the cluster is no longer registered).
func (g *ArgoCD) read(ctx context.Context, name string) (*argoCluster, []argoApp, error) {
	// https://argo-cd.readthedocs.io/en/stable/developer-guide/api-docs/ (ClusterService_List)
	var clusters struct {
		Items []argoCluster `json:"items"`
	}
	if err := g.get(ctx, "/api/v1/clusters", url.Values{"name": {name}}, &clusters); err != nil {
		return nil, nil, err
	}
	var cluster *argoCluster
	for i, c := range clusters.Items {
		if c.Name == name {
			cluster = &clusters.Items[i]
			break
		}
	}
	g.mu.Lock()
	if cluster != nil && cluster.Server != "" {
		g.servers[name] = cluster.Server
	}
	server := g.servers[name]
	g.mu.Unlock()
	// https://argo-cd.readthedocs.io/en/stable/developer-guide/api-docs/ (ApplicationService_List)
	q := url.Values{}
	if g.selector != "" {
		q.Set("selector", g.selector)
	}
	if g.project != "" {
		q.Set("projects", g.project)
	}
	var apps struct {
		Items []argoApp `json:"items"`
	}
	if err := g.get(ctx, "/api/v1/applications", q, &apps); err != nil {
		return nil, nil, err
	}
	var bound []argoApp
	for _, a := range apps.Items {
		if d := a.Spec.Destination; d.Name == name || server != "" && d.Server == server {
			bound = append(bound, a)
		}
	}
	return cluster, bound, nil
}

// checkGone judges a cluster the change removes: it passes once Argo CD
// has neither its cluster secret nor an application bound for it.
func (g *ArgoCD) checkGone(ctx context.Context, t Target) Result {
	cluster, apps, err := g.read(ctx, t.Cluster)
	if err != nil {
		return Result{Err: err}
	}
	res := Result{}
	var left []string
	if cluster != nil {
		res.Evidence = append(res.Evidence, Evidence{Check: "cluster " + t.Cluster, Value: "registered at " + cluster.Server,
			Source: g.clusterURL(cluster.Server)})
		left = append(left, fmt.Sprintf("Argo CD still has cluster %s (%s)", t.Cluster, cluster.Server))
	} else {
		res.Evidence = append(res.Evidence, Evidence{Check: "cluster " + t.Cluster, Value: "not registered in Argo CD"})
	}
	slices.SortFunc(apps, func(a, b argoApp) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	for _, a := range apps {
		ev, _ := g.appEvidence(a)
		ev.Value = "still bound for " + t.Cluster + ": " + ev.Value
		res.Evidence = append(res.Evidence, ev)
		left = append(left, fmt.Sprintf("application %s still targets %s", a.Metadata.Name, t.Cluster))
	}
	if len(left) > 0 {
		return res.with(rollout.GateWaiting, "%s", summarise(left))
	}
	return res.with(rollout.GatePassed, "Argo CD has no cluster %s and no application bound for it%s", t.Cluster, g.narrowing())
}

// narrowing says how the listing was narrowed, for details.
func (g *ArgoCD) narrowing() string {
	var parts []string
	if g.selector != "" {
		parts = append(parts, fmt.Sprintf("selector %q", g.selector))
	}
	if g.project != "" {
		parts = append(parts, fmt.Sprintf("project %q", g.project))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// appEvidence records an application's sync, health and operation, and
// returns its operation's phase ("" when it has none).
func (g *ArgoCD) appEvidence(a argoApp) (Evidence, string) {
	st := a.Status
	rev := st.Sync.Revision
	if len(a.Spec.Sources) > 0 {
		rev = strings.Join(st.Sync.Revisions, ",")
	}
	value := fmt.Sprintf("sync %s, health %s", orUnknown(st.Sync.Status), orUnknown(st.Health.Status))
	phase := ""
	if op := st.OperationState; op != nil && op.Phase != "" {
		phase = op.Phase
		value += ", operation " + op.Phase
		if op.Message != "" {
			value += ": " + op.Message
		}
	}
	if st.Health.Message != "" {
		value += "; " + st.Health.Message
	}
	ev := Evidence{Check: "application " + a.Metadata.Name, Revision: rev, Value: value, Source: g.appURL(a)}
	if st.ReconciledAt != nil {
		ev.At = st.ReconciledAt.UTC()
	}
	return ev, phase
}

// judge applies the rules to one application.
func (g *ArgoCD) judge(ctx context.Context, t Target, a argoApp) (appVerdict, error) {
	name := a.Metadata.Name
	st := a.Status
	ev, phase := g.appEvidence(a)
	rev := ev.Revision
	v := appVerdict{evidence: ev}
	wait := func(format string, args ...any) (appVerdict, error) {
		v.outcome, v.reason = rollout.GateWaiting, fmt.Sprintf("application %s ", name)+fmt.Sprintf(format, args...)
		return v, nil
	}
	switch {
	case phase == "Running" || phase == "Terminating":
		return wait("has a sync operation %s", phase)
	case st.Health.Status == "Degraded":
		v.outcome = rollout.GateFailed
		v.reason = fmt.Sprintf("application %s is Degraded at %s", name, shortRevisions(rev))
		if st.Health.Message != "" {
			v.reason += ": " + st.Health.Message
		}
		return v, nil
	case st.Sync.Status != "Synced":
		return wait("is %s at %s", orUnknown(st.Sync.Status), shortRevisions(rev))
	case phase == "Failed" || phase == "Error":
		msg := ""
		if st.OperationState.Message != "" {
			msg = ": " + st.OperationState.Message
		}
		return wait("last sync operation ended %s%s", phase, msg)
	}
	revs := g.trackedRevisions(t.Repo, a)
	v.tracked = len(revs) > 0
	for i, r := range revs {
		if r == "" {
			return wait("has no synced revision for source %d yet", i)
		}
		ok, err := g.revisionContains(ctx, t.Repo, r, t.MergeSHA)
		if err != nil {
			return appVerdict{}, fmt.Errorf("argocd gate: application %s: %w", name, err)
		}
		if !ok {
			if phase == "Succeeded" {
				return wait("is Synced to %s, which does not contain %s: Argo CD has not seen the merge yet", short(r), short(t.MergeSHA))
			}
			return wait("is at %s, which does not contain %s yet", short(r), short(t.MergeSHA))
		}
	}
	if st.Health.Status != "Healthy" {
		return wait("is %s", orUnknown(st.Health.Status))
	}
	v.outcome = rollout.GatePassed
	return v, nil
}

// trackedRevisions returns the synced revision of every source taken from
// repo, "" where Argo CD reports none.
func (g *ArgoCD) trackedRevisions(repo string, a argoApp) []string {
	var out []string
	if len(a.Spec.Sources) > 0 {
		for i, src := range a.Spec.Sources {
			if sameRepo(src.RepoURL, repo) {
				r := ""
				if i < len(a.Status.Sync.Revisions) {
					r = a.Status.Sync.Revisions[i]
				}
				out = append(out, r)
			}
		}
		return out
	}
	if a.Spec.Source != nil && sameRepo(a.Spec.Source.RepoURL, repo) {
		out = append(out, a.Status.Sync.Revision)
	}
	return out
}

// repoPathRE takes owner/name from the end of a Git URL, in any of its
// forms: https://host/owner/name(.git), ssh://git@host/owner/name.git,
// git@host:owner/name.git.
var repoPathRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[:/]([^/:]+)/([^/]+?)(\.git)?/?$`) })

// sameRepo reports whether the Git URL names repo ("owner/name"). GitHub
// compares names without regard to case.
func sameRepo(repoURL, repo string) bool {
	m := repoPathRE().FindStringSubmatch(repoURL)
	return m != nil && strings.EqualFold(m[1]+"/"+m[2], repo)
}

var fullSHARE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{40}$`) })

// revisionContains asks ancestry, remembering the answers about full commit
// SHAs, which cannot change.
func (g *ArgoCD) revisionContains(ctx context.Context, repo, revision, commit string) (bool, error) {
	if revision == commit {
		return true, nil
	}
	key := ancestryKey{strings.ToLower(repo), revision, commit}
	g.mu.Lock()
	ok, known := g.contains[key]
	g.mu.Unlock()
	if known {
		return ok, nil
	}
	ok, err := g.ancestry.Contains(ctx, repo, revision, commit)
	if err != nil {
		return false, err
	}
	if fullSHARE().MatchString(revision) && fullSHARE().MatchString(commit) {
		g.mu.Lock()
		g.contains[key] = ok
		g.mu.Unlock()
	}
	return ok, nil
}

// labels checks the wanted label values on the Argo CD cluster and returns
// the evidence and a reason per missing value.
func (g *ArgoCD) labels(t Target, c *argoCluster) ([]Evidence, []string) {
	if len(t.Labels) == 0 {
		return nil, nil
	}
	if c == nil {
		return []Evidence{{Check: "cluster " + t.Cluster, Value: "not registered in Argo CD"}},
			[]string{fmt.Sprintf("Argo CD has no cluster named %s to carry %s", t.Cluster, labelList(t.Labels))}
	}
	var ev []Evidence
	var missing []string
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		want := t.Labels[k]
		got, has := c.Labels[k]
		value := fmt.Sprintf("%s (want %s)", got, want)
		switch {
		case !has:
			value = fmt.Sprintf("absent (want %s)", want)
			missing = append(missing, fmt.Sprintf("cluster %s has no label %s yet (want %s)", t.Cluster, k, want))
		case got != want:
			missing = append(missing, fmt.Sprintf("cluster %s has label %s=%s, not %s yet", t.Cluster, k, got, want))
		}
		ev = append(ev, Evidence{Check: "cluster label " + k, Value: value, Source: g.clusterURL(c.Server)})
	}
	return ev, missing
}

func labelList(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ", ")
}

// summarise joins reasons, naming at most three and counting the rest.
func summarise(reasons []string) string {
	const most = 3
	if len(reasons) <= most {
		return strings.Join(reasons, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(reasons[:most], "; "), len(reasons)-most)
}

func revisions(n int) string {
	if n == 1 {
		return "a revision"
	}
	return "revisions"
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

func shortRevisions(rev string) string {
	if rev == "" {
		return "no revision"
	}
	parts := strings.Split(rev, ",")
	for i, p := range parts {
		parts[i] = short(p)
	}
	return strings.Join(parts, ",")
}

// clusterURL is the page of the cluster registered at server in the Argo
// CD UI.
func (g *ArgoCD) clusterURL(server string) string {
	return g.base.JoinPath("/settings/clusters", url.PathEscape(server)).String()
}

// appURL is the application's page in the Argo CD UI.
func (g *ArgoCD) appURL(a argoApp) string {
	ns := a.Metadata.Namespace
	if ns == "" {
		ns = "argocd"
	}
	return g.base.JoinPath("/applications", ns, a.Metadata.Name).String()
}

// maxBody bounds how much of an answer the gate reads.
const maxBody = 64 << 20

// get reads path from the API into out.
func (g *ArgoCD) get(ctx context.Context, path string, q url.Values, out any) error {
	u := g.base.JoinPath(path)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("argo cd GET %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	req.Header.Set("Accept", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("argo cd GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("argo cd GET %s: read the answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && (e.Message != "" || e.Error != "") {
			msg = e.Message
			if msg == "" {
				msg = e.Error
			}
		}
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		return fmt.Errorf("argo cd GET %s: %s: %s", path, resp.Status, msg)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("argo cd GET %s: the answer is not the documented JSON: %w", path, err)
	}
	return nil
}
