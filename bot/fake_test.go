package bot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/boltstore"
)

// headSHA is the commit the fake repository's default branch points at.
const headSHA = "1111111111111111111111111111111111111111"

// fakeAPI is one repository on an in-memory GitHub: the calls the bot makes
// itself. Any other call panics through the nil embedded interface, so a
// test fails loudly when the bot starts calling something new.
type fakeAPI struct {
	Client

	mu       sync.Mutex
	files    map[string][]byte // path at headSHA
	prs      []gh.PullRequest
	comments map[int][]gh.Comment
	nextID   int64
	// reviews, by pull request: when a pull request has none listed, its
	// tenant's owners (alice, bruno) and the fleet admin (pat) approved it.
	reviews   map[int][]gh.Review
	statuses  map[string][]gh.Status // by commit, newest first
	reactions map[int64][]string     // by comment
	// checks are the check runs written, in order of creation; checkWrites
	// counts the creations and updates.
	checks      []*fakeCheck
	checkWrites int
	lookedAt    []string // the commits CheckRuns was asked about
	// prFiles are the files each pull request changes; atRef the files of
	// commits other than headSHA (a pull request's head).
	prFiles map[int][]gh.ChangedFile
	atRef   map[string]map[string][]byte
	// issues are the repository's plain issues (dashboard_test.go).
	issues fakeIssues
	// updated is GitHub's clock of pull request updates: each change of
	// one moves it a second on. listed holds the filters of the listings.
	updated time.Time
	listed  []gh.PullRequestFilter
	// refReads counts the reads of a branch's head.
	refReads int
	// commentFails fails the next writes of comments whose body holds the
	// key, as many as its value.
	commentFails map[string]int
}

// failComment fails the next n writes of a comment whose body holds sub;
// f.mu held.
func (f *fakeAPI) failComment(body string) error {
	for sub, n := range f.commentFails {
		if n > 0 && strings.Contains(body, sub) {
			f.commentFails[sub] = n - 1
			return errors.New("github is down")
		}
	}
	return nil
}

// touch stamps pull request i as updated now, by GitHub's clock.
func (f *fakeAPI) touch(i int) {
	if f.updated.IsZero() {
		f.updated = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	}
	f.updated = f.updated.Add(time.Second)
	f.prs[i].UpdatedAt = f.updated
}

// fakeCheck is one check run on the fake GitHub: as last written, and the
// annotations every write added.
type fakeCheck struct {
	ID          int64
	Run         gh.NewCheckRun
	Annotations []gh.Annotation
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{files: map[string][]byte{}, comments: map[int][]gh.Comment{}, reviews: map[int][]gh.Review{}, statuses: map[string][]gh.Status{}, reactions: map[int64][]string{}, commentFails: map[string]int{}}
}

func (f *fakeAPI) Repository(_ context.Context, owner, repo string) (gh.Repository, error) {
	return gh.Repository{Owner: owner, Name: repo, DefaultBranch: "main", CloneURL: "https://github.test/" + owner + "/" + repo + ".git", HTMLURL: "https://github.test/" + owner + "/" + repo}, nil
}

func (f *fakeAPI) Ref(_ context.Context, _, _, branch string) (string, error) {
	f.mu.Lock()
	f.refReads++
	f.mu.Unlock()
	if branch != "main" {
		return "", fmt.Errorf("branch %s: %w", branch, gh.ErrNotFound)
	}
	return headSHA, nil
}

func (f *fakeAPI) Contents(_ context.Context, _, _, path, ref string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if files, ok := f.atRef[ref]; ok {
		if b, ok := files[path]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("%s at %s: %w", path, ref, gh.ErrNotFound)
	}
	b, ok := f.files[path]
	if !ok || ref != headSHA {
		return nil, fmt.Errorf("%s at %s: %w", path, ref, gh.ErrNotFound)
	}
	return b, nil
}

func (f *fakeAPI) PullRequests(_ context.Context, owner, _ string, flt gh.PullRequestFilter) ([]gh.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []gh.PullRequest
	for _, p := range f.prs {
		state := flt.State
		if state == "" {
			state = "open"
		}
		if (state != "all" && p.State != state) || (flt.Head != "" && flt.Head != owner+":"+p.HeadRef) || p.UpdatedAt.Before(flt.UpdatedSince) {
			continue
		}
		out = append(out, p)
	}
	f.listed = append(f.listed, flt)
	return out, nil
}

func (f *fakeAPI) PullRequest(_ context.Context, _, _ string, number int) (gh.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.prs {
		if p.Number == number {
			return p, nil
		}
	}
	return gh.PullRequest{}, fmt.Errorf("pull request #%d: %w", number, gh.ErrNotFound)
}

func (f *fakeAPI) EditPullRequest(_ context.Context, _, _ string, number int, e gh.PullRequestEdit) (gh.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.prs {
		if f.prs[i].Number == number {
			if e.State != nil {
				f.prs[i].State = *e.State
				f.touch(i)
			}
			return f.prs[i], nil
		}
	}
	return gh.PullRequest{}, fmt.Errorf("pull request #%d: %w", number, gh.ErrNotFound)
}

func (f *fakeAPI) Comments(_ context.Context, _, _ string, number int) ([]gh.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.comments[number]), nil
}

// RepoComments lists the comments written at or after since (those the
// bot writes carry no time: never), by number.
func (f *fakeAPI) RepoComments(_ context.Context, _, _ string, since time.Time) ([]gh.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []gh.Comment
	for _, n := range slices.Sorted(maps.Keys(f.comments)) {
		for _, c := range f.comments[n] {
			if !c.Created.IsZero() && !c.Created.Before(since) {
				c.Number = n
				out = append(out, c)
			}
		}
	}
	return out, nil
}

func (f *fakeAPI) CreateComment(_ context.Context, _, _ string, number int, body string) (gh.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failComment(body); err != nil {
		return gh.Comment{}, err
	}
	f.nextID++
	c := gh.Comment{ID: f.nextID, User: "fleetbot[bot]", Body: body}
	f.comments[number] = append(f.comments[number], c)
	return c, nil
}

func (f *fakeAPI) EditComment(_ context.Context, _, _ string, id int64, body string) (gh.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failComment(body); err != nil {
		return gh.Comment{}, err
	}
	for n, cs := range f.comments {
		for i := range cs {
			if cs[i].ID == id {
				cs[i].Body = body
				f.comments[n] = cs
				return cs[i], nil
			}
		}
	}
	return gh.Comment{}, fmt.Errorf("comment %d: %w", id, gh.ErrNotFound)
}

func (f *fakeAPI) AddReaction(_ context.Context, _, _ string, id int64, content string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("AddReaction"); err != nil {
		return err
	}
	f.reactions[id] = append(f.reactions[id], content)
	return nil
}

// open adds an open pull request on branch and returns its number.
func (f *fakeAPI) Reviews(_ context.Context, _, _ string, number int) ([]gh.Review, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rs, ok := f.reviews[number]; ok {
		return slices.Clone(rs), nil
	}
	head := ""
	for _, p := range f.prs {
		if p.Number == number {
			head = p.HeadSHA
		}
	}
	var out []gh.Review
	for _, u := range []string{"alice", "bruno", "pat"} {
		out = append(out, gh.Review{User: u, State: "APPROVED", CommitID: head})
	}
	return out, nil
}

func (f *fakeAPI) Statuses(_ context.Context, _, _, ref string) ([]gh.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.statuses[ref]), nil
}

func (f *fakeAPI) CreateStatus(_ context.Context, _, _, sha string, s gh.Status) (gh.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses[sha] = append([]gh.Status{s}, f.statuses[sha]...)
	return s, nil
}

func (f *fakeAPI) CheckRuns(_ context.Context, _, _, ref string) ([]gh.CheckRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookedAt = append(f.lookedAt, ref)
	var out []gh.CheckRun
	for _, c := range f.checks {
		if c.Run.HeadSHA == ref {
			out = append(out, gh.CheckRun{ID: c.ID, Name: c.Run.Name, HeadSHA: ref, Status: c.Run.Status, Conclusion: c.Run.Conclusion, Title: c.Run.Title, Summary: c.Run.Summary})
		}
	}
	return out, nil
}

func (f *fakeAPI) CreateCheckRun(_ context.Context, _, _ string, c gh.NewCheckRun) (gh.CheckRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.checkWrites++
	f.checks = append(f.checks, &fakeCheck{ID: f.nextID, Run: c, Annotations: c.Annotations})
	return gh.CheckRun{ID: f.nextID, Name: c.Name, HeadSHA: c.HeadSHA, Status: c.Status, Conclusion: c.Conclusion}, nil
}

func (f *fakeAPI) UpdateCheckRun(_ context.Context, _, _ string, id int64, c gh.NewCheckRun) (gh.CheckRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fc := range f.checks {
		if fc.ID == id {
			f.checkWrites++
			head := fc.Run.HeadSHA
			fc.Run, fc.Run.HeadSHA = c, head
			fc.Annotations = append(fc.Annotations, c.Annotations...)
			return gh.CheckRun{ID: id, Name: c.Name, HeadSHA: head, Status: c.Status, Conclusion: c.Conclusion}, nil
		}
	}
	return gh.CheckRun{}, fmt.Errorf("check run %d: %w", id, gh.ErrNotFound)
}

func (f *fakeAPI) CommitPullRequests(_ context.Context, _, _, sha string) ([]gh.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []gh.PullRequest
	for _, p := range f.prs {
		if p.MergeCommitSHA == sha || (p.State == "open" && p.HeadSHA == sha) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeAPI) PullRequestFiles(_ context.Context, _, _ string, number int) ([]gh.ChangedFile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.prFiles[number]), nil
}

// checkRunsOn returns the check runs named name on head, oldest first.
func (f *fakeAPI) checkRunsOn(head, name string) []fakeCheck {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCheck
	for _, c := range f.checks {
		if c.Run.HeadSHA == head && c.Run.Name == name {
			out = append(out, *c)
		}
	}
	return out
}

// writes counts the check runs created and updated so far.
func (f *fakeAPI) writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checkWrites
}

func (f *fakeAPI) TeamMember(context.Context, string, string, string) (bool, error) {
	return false, nil
}

func (f *fakeAPI) open(branch string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.prs) + 1
	f.prs = append(f.prs, gh.PullRequest{Number: n, State: "open", HeadRef: branch, HeadRepo: "acme/fleet", BaseRef: "main", HeadSHA: fmt.Sprintf("head-%d", n), User: "fleetbot[bot]"})
	f.touch(len(f.prs) - 1)
	return n
}

// merge merges pull request number as sha, as a person would on GitHub.
func (f *fakeAPI) merge(t *testing.T, number int, sha string) gh.PullRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.prs {
		if f.prs[i].Number == number {
			f.prs[i].State, f.prs[i].Merged, f.prs[i].MergeCommitSHA = "closed", true, sha
			f.touch(i)
			return f.prs[i]
		}
	}
	t.Fatalf("no pull request #%d", number)
	return gh.PullRequest{}
}

func (f *fakeAPI) close(t *testing.T, number int) gh.PullRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.prs {
		if f.prs[i].Number == number {
			f.prs[i].State = "closed"
			f.touch(i)
			return f.prs[i]
		}
	}
	t.Fatalf("no pull request #%d", number)
	return gh.PullRequest{}
}

func (f *fakeAPI) byBranch(branch string) (gh.PullRequest, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.prs) - 1; i >= 0; i-- {
		if f.prs[i].HeadRef == branch {
			return f.prs[i], true
		}
	}
	return gh.PullRequest{}, false
}

// fakeHub is a GitHub with one installation covering every repository.
type fakeHub struct{ api *fakeAPI }

func (h fakeHub) API(context.Context, string, string) (Client, error) { return h.api, nil }

// fakeMirror checks every repository out at one directory, and refuses any
// commit but headSHA, so a test fails if the bot plans from a commit it did
// not read from GitHub.
type fakeMirror struct {
	dir     string
	mu      sync.Mutex
	fetches int
	// checkouts counts the checkouts; those whose number panicOn holds
	// panic (1 is the first).
	checkouts int
	panicOn   map[int]bool
}

func (m *fakeMirror) Fetch(context.Context, string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fetches++
	return nil
}

func (m *fakeMirror) Checkout(_ context.Context, _, branch, sha string) (string, error) {
	if branch != "main" || sha != headSHA {
		return "", fmt.Errorf("checkout %s at %s: not the head GitHub reported", branch, sha)
	}
	m.mu.Lock()
	m.checkouts++
	panics := m.panicOn[m.checkouts]
	m.mu.Unlock()
	if panics {
		panic("checkout went wrong")
	}
	return m.dir, nil
}

// fakeEnsure stands in for wave.Ensure: it records each request and keeps
// one pull request per branch on the fake API, answering as wave.Ensure
// does for an open, merged or closed one.
type fakeEnsure struct {
	api *fakeAPI

	mu   sync.Mutex
	reqs []wave.Request
	// kept are the calls that found their pull request open and left it
	// as it is: the reconcile loop's checks for a moved base.
	kept  []wave.Request
	fail  map[string]error // tenant -> error of the next call
	panic map[string]any   // tenant -> what the next call panics with
	block chan struct{}    // when set, each call waits for it to close
	enter chan struct{}    // when set, each call signals it started
}

func (e *fakeEnsure) ensure(ctx context.Context, _ wave.EnsureClient, req wave.Request) (wave.Result, error) {
	if e.enter != nil {
		e.enter <- struct{}{}
	}
	if e.block != nil {
		select {
		case <-e.block:
		case <-ctx.Done():
			return wave.Result{}, ctx.Err()
		}
	}
	if req.InTurn == nil {
		return e.ensureNow(req)
	}
	// As wave.Ensure does, in the caller's order.
	var res wave.Result
	err := req.InTurn(func() error {
		var err error
		res, err = e.ensureNow(req)
		return err
	})
	return res, err
}

func (e *fakeEnsure) ensureNow(req wave.Request) (wave.Result, error) {
	e.mu.Lock()
	e.reqs = append(e.reqs, req)
	err := e.fail[req.PR.Tenant]
	delete(e.fail, req.PR.Tenant)
	p, panics := e.panic[req.PR.Tenant]
	delete(e.panic, req.PR.Tenant)
	e.mu.Unlock()
	if panics {
		panic(p)
	}
	if err != nil {
		return wave.Result{}, err
	}
	branch := wave.BranchOf(req.Campaign.Metadata.Name, req.Wave, req.PR)
	if p, ok := e.api.byBranch(branch); ok {
		switch {
		case p.Merged:
			return wave.Result{Number: p.Number, Branch: branch, Merged: true, Reused: true}, nil
		case p.State == "closed":
			return wave.Result{Number: p.Number, Branch: branch}, wave.ErrClosed
		}
		e.mu.Lock()
		e.reqs = e.reqs[:len(e.reqs)-1]
		e.kept = append(e.kept, req)
		e.mu.Unlock()
		return wave.Result{Number: p.Number, Branch: branch, Reused: true}, nil
	}
	n := e.api.open(branch)
	return wave.Result{Number: n, Branch: branch, HeadSHA: fmt.Sprintf("head-%d", n), Opened: true}, nil
}

// calls lists the calls that opened a pull request or found it merged or
// closed; kept lists those that found it open.
func (e *fakeEnsure) calls() []wave.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.reqs)
}

// passGates passes the terraform gate of every cluster asked about.
type passGates struct{}

func (passGates) Run(_ context.Context, targets []gate.Target) []gate.Result {
	var out []gate.Result
	for _, t := range targets {
		out = append(out, gate.Result{Gate: "terraform", Cluster: t.Cluster, Outcome: rollout.GatePassed, Detail: "checks succeeded on " + t.MergeSHA})
	}
	return out
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// world is everything a test bot runs against.
type world struct {
	api    *fakeAPI
	mirror *fakeMirror
	ensure *fakeEnsure
	clock  *clock
	store  store.Store
	path   string // the bbolt file
}

// newWorld copies the test fleet into a checkout directory that also holds
// campaign files, and opens a bbolt store in a temporary directory.
func newWorld(t *testing.T, campaigns ...string) *world {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "checkout")
	require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/fleet")))
	api := newFakeAPI()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "campaigns"), 0o755))
	for _, c := range campaigns {
		b, err := fs.ReadFile(os.DirFS("testdata/campaigns"), c)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "campaigns", c), b, 0o644))
		api.files["campaigns/"+c] = b
	}
	w := &world{
		api:    api,
		mirror: &fakeMirror{dir: dir},
		ensure: &fakeEnsure{api: api, fail: map[string]error{}, panic: map[string]any{}},
		clock:  &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)},
		path:   filepath.Join(t.TempDir(), "state.db"),
	}
	w.open(t)
	return w
}

// open (re)opens the bbolt store, as a restarted process would.
func (w *world) open(t *testing.T) {
	t.Helper()
	s, err := boltstore.Open(w.path)
	require.NoError(t, err)
	w.store = s
	t.Cleanup(func() { _ = s.Close() })
}

// bot builds a Bot on the world; each gets its own metrics registry.
func (w *world) bot(t *testing.T, replica string, reg *prometheus.Registry) *Bot {
	t.Helper()
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	b, err := New(Config{
		Store:        w.store,
		GitHub:       fakeHub{w.api},
		Mirror:       w.mirror,
		Ensure:       w.ensure.ensure,
		Gates:        passGates{},
		CampaignRepo: "acme/fleet",
		CampaignPath: "campaigns",
		Repositories: []string{"acme/fleet"},
		ReplicaID:    replica,
		Registerer:   reg,
		Now:          w.clock.now,
	})
	require.NoError(t, err)
	return b
}

// state reads a campaign's state and its version from the store.
func (w *world) state(t *testing.T, name string) (rollout.State, int64) {
	t.Helper()
	var st rollout.State
	v, err := getJSON(t.Context(), w.store, stateKey(name), &st)
	require.NoError(t, err)
	return st, v
}

// tenants lists the tenants of the Ensure calls made so far, by plan wave.
func tenants(reqs []wave.Request) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = fmt.Sprintf("%d/%s", r.Wave, r.PR.Tenant)
	}
	slices.Sort(out)
	return out
}

func prStatuses(w rollout.WaveState) string {
	parts := make([]string, len(w.PRs))
	for i, p := range w.PRs {
		parts[i] = fmt.Sprintf("%s:%s#%d", p.Tenant, p.Status, p.Number)
	}
	return strings.Join(parts, " ")
}
