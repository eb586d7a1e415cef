package bot

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fleetbot/fleetbot/bot/wave"
	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// Store keys. A campaign's record is written once, when it starts; its state
// with every step.
func stateKey(name string) string  { return "campaigns/" + name + "/state" }
func recordKey(name string) string { return "campaigns/" + name + "/plan" }
func leaseName(name string) string { return "campaign/" + name }

// record is what a campaign started from: the campaign file as written, the
// plan and the commits it was made from, and how the machine's waves map to
// the plan's. Stored as JSON under campaigns/<name>/plan.
type record struct {
	Campaign string `json:"campaign"`
	// Repo, File and SHA say where the campaign file was read: the
	// repository, the path and the commit. Source is the file as written
	// and Digest its SHA-256, to tell a later change of the file.
	Repo   string `json:"repo"`
	File   string `json:"file"`
	SHA    string `json:"sha"`
	Digest string `json:"digest"`
	Source string `json:"source"`
	// Bases maps each blueprint repository to the commit planned from.
	Bases     map[string]string `json:"bases"`
	Plan      *rollout.Plan     `json:"plan"`
	StartedAt time.Time         `json:"startedAt"`
	// Clusters holds what the gates need of each planned cluster that the
	// plan does not say: where it runs.
	Clusters map[string]clusterInfo `json:"clusters,omitempty"`
	// warnings are what the checks before the start warned of, for the
	// campaign file's check run; not kept.
	warnings []gitops.Diagnostic
}

// clusterInfo is where a cluster runs, from its blueprint.
type clusterInfo struct {
	Region  string `json:"region,omitempty"`
	Account string `json:"account,omitempty"`
	// Labels, kept only for a cluster the plan replaces blue-green, are
	// its effective fleet-secret labels: its green cluster must carry
	// them on Argo CD.
	Labels map[string]string `json:"labels,omitempty"`
}

// planWave returns the plan's wave behind machine wave n of st: wave n
// itself, or for a revert wave the wave it reverts (revert is then true).
func (r *record) planWave(st rollout.State, n int) (w *rollout.Wave, revert bool, err error) {
	if n < 1 || n > len(st.Waves) {
		return nil, false, fmt.Errorf("campaign %s has no wave %d", r.Campaign, n)
	}
	if sw := st.Waves[n-1]; sw.Kind == rollout.WaveRevert {
		n, revert = sw.Reverts, true
	}
	if n < 1 || n > len(r.Plan.Waves) || r.Plan.Waves[n-1].Index != n {
		return nil, false, fmt.Errorf("campaign %s: plan has no wave %d", r.Campaign, n)
	}
	return &r.Plan.Waves[n-1], revert, nil
}

// machineWave returns the machine's wave for plan wave idx: the wave
// itself, or with revert the revert wave that reverts it; 0 when there is
// none.
func (r *record) machineWave(st rollout.State, idx int, revert bool) int {
	for _, w := range st.Waves {
		switch {
		case revert && w.Kind == rollout.WaveRevert && w.Reverts == idx:
			return w.Number
		case !revert && w.Kind != rollout.WaveRevert && w.Number == idx:
			return w.Number
		}
	}
	return 0
}

// pullRequest returns the plan's pull request of tenant (rollout.SharedTenant
// for the one of shared files) behind machine wave n, the plan's wave index,
// and whether wave n reverts it.
func (r *record) pullRequest(st rollout.State, n int, tenant string) (rollout.PullRequest, int, bool, error) {
	w, revert, err := r.planWave(st, n)
	if err != nil {
		return rollout.PullRequest{}, 0, false, err
	}
	for _, pr := range w.PullRequests {
		if (tenant == rollout.SharedTenant && pr.Admin) || (pr.Tenant == tenant && !pr.Admin) {
			return pr, w.Index, revert, nil
		}
	}
	return rollout.PullRequest{}, 0, false, fmt.Errorf("campaign %s: plan wave %d has no pull request for tenant %s", r.Campaign, w.Index, tenant)
}

// branch is the branch of tenant's pull request in machine wave n.
func (r *record) branch(st rollout.State, n int, tenant string) (string, error) {
	_, idx, revert, err := r.pullRequest(st, n, tenant)
	switch {
	case err != nil:
		return "", err
	case revert:
		return wave.RevertBranch(r.Campaign, idx, tenant), nil
	}
	return wave.Branch(r.Campaign, idx, tenant), nil
}

// branchWave reads a branch the bot names for one of the campaign's pull
// requests in repo and returns its machine wave and tenant; ok is false for
// a branch of another campaign or repository, or one st does not hold.
func (r *record) branchWave(st rollout.State, ref, repo string) (n int, tenant string, ok bool) {
	camp, idx, tenant, revert, found := wave.ParseAnyBranch(ref)
	if !found || camp != r.Campaign {
		return 0, "", false
	}
	n = r.machineWave(st, idx, revert)
	if n == 0 {
		return 0, "", false
	}
	if pr, _, _, err := r.pullRequest(st, n, tenant); err != nil || pr.Repo != repo {
		return 0, "", false // a branch of the same name elsewhere
	}
	return n, tenant, true
}

// campaign parses the stored campaign file again.
func (r *record) campaign() (*rollout.Campaign, error) {
	return rollout.ParseCampaign(r.Repo+"/"+r.File, []byte(r.Source))
}

// calendar compiles the stored campaign file's schedule.
func (r *record) calendar() (*rollout.Calendar, error) {
	c, err := r.campaign()
	if err != nil {
		return nil, fmt.Errorf("stored campaign file: %w", err)
	}
	return calendarOf(c)
}

// calendarOf compiles campaign c's schedule.
func calendarOf(c *rollout.Campaign) (*rollout.Calendar, error) {
	cal, err := c.Spec.Schedule.Compile()
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	return cal, nil
}

// repos lists the repositories the plan's pull requests go to.
func (r *record) repos() []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range r.Plan.Waves {
		for _, pr := range w.PullRequests {
			if !seen[pr.Repo] {
				seen[pr.Repo] = true
				out = append(out, pr.Repo)
			}
		}
	}
	return out
}

func getJSON(ctx context.Context, s store.Records, key string, v any) (int64, error) {
	rec, err := s.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(rec.Value, v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return rec.Version, nil
}

func putJSON(ctx context.Context, s store.Records, key string, v any, version int64, fence store.Fence) (int64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", key, err)
	}
	n, err := s.Put(ctx, key, b, version, fence)
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	return n, nil
}

// campaignNames lists the campaigns the store holds a record of, in order.
func (b *Bot) campaignNames(ctx context.Context) ([]string, error) {
	entries, err := b.cfg.Store.List(ctx, "campaigns/")
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	var names []string
	for _, e := range entries {
		rest := strings.TrimPrefix(e.Key, "campaigns/")
		if name, ok := strings.CutSuffix(rest, "/plan"); ok && !strings.Contains(name, "/") {
			names = append(names, name)
		}
	}
	return names, nil
}

// loadRecord reads a campaign's record; ok is false when there is none.
func (b *Bot) loadRecord(ctx context.Context, name string) (*record, bool, error) {
	key := recordKey(name)
	stored, err := b.cfg.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	// A record is written once, when its campaign starts, and never
	// changed; its plan may hold every cluster of the fleet.
	r, err := decodeShared(&b.mu, b.records, key, stored.Value)
	if err != nil {
		return nil, false, err
	}
	if r.Plan == nil {
		return nil, false, fmt.Errorf("record of campaign %s holds no plan", name)
	}
	return r, true, nil
}

// storedState decodes a campaign's stored state (its key's value) for a
// look-up that only reads it: which campaigns an event concerns, which
// are running. Every check run, status and pull request event asks, and
// the state of a campaign of 1,000 clusters is megabytes of JSON; it is
// decoded again only when its bytes changed. The state is shared: read
// it, never change it.
func (b *Bot) storedState(key string, value []byte) (rollout.State, error) {
	st, err := decodeShared(&b.mu, b.states, key, value)
	if err != nil {
		return rollout.State{}, err
	}
	return *st, nil
}

// maxDecoded bounds the decoded values kept of each kind.
const maxDecoded = 64

// decoded is a value as decoded, with the digest of the stored bytes it
// came from. Callers only read it.
type decoded[T any] struct {
	sum [sha256.Size]byte
	v   *T
}

// decodeShared decodes value, stored under key, as JSON, or returns what
// it gave the last time the key held the same bytes (a campaign of the
// same name started again has other bytes). cache is guarded by mu.
func decodeShared[T any](mu *sync.Mutex, cache map[string]decoded[T], key string, value []byte) (*T, error) {
	sum := sha256.Sum256(value)
	mu.Lock()
	c, ok := cache[key]
	mu.Unlock()
	if ok && c.sum == sum {
		return c.v, nil
	}
	v := new(T)
	if err := json.Unmarshal(value, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	mu.Lock()
	if len(cache) >= maxDecoded {
		clear(cache) // campaigns ended and pruned leave theirs; the next decodes refill it
	}
	cache[key] = decoded[T]{sum: sum, v: v}
	mu.Unlock()
	return v, nil
}

// State returns a campaign's state as last persisted; ok is false until the
// campaign started. The state is decoded only when its bytes changed since
// the last read (see storedState) and may be shared with other readers:
// read it, never change it (the state machine's functions never do).
func (b *Bot) State(ctx context.Context, name string) (rollout.State, bool, error) {
	key := stateKey(name)
	rec, err := b.cfg.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return rollout.State{}, false, nil
	}
	if err != nil {
		return rollout.State{}, false, err
	}
	st, err := b.storedState(key, rec.Value)
	return st, err == nil, err
}
