package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

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
	Bases map[string]string `json:"bases"`
	Plan  *rollout.Plan     `json:"plan"`
	// Waves maps machine wave n (Waves[n-1]) to the plan's wave index.
	Waves []int `json:"waves"`
	// Cleanup lists the plan's clean-up waves, which the machine does not
	// hold: they change no cluster and are not opened yet.
	Cleanup   []int     `json:"cleanup,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	// Clusters holds what the gates need of each planned cluster that the
	// plan does not say: where it runs.
	Clusters map[string]clusterInfo `json:"clusters,omitempty"`
}

// clusterInfo is where a cluster runs, from its blueprint.
type clusterInfo struct {
	Region  string `json:"region,omitempty"`
	Account string `json:"account,omitempty"`
}

// planWave returns the plan's wave for machine wave n.
func (r *record) planWave(n int) (*rollout.Wave, error) {
	if n < 1 || n > len(r.Waves) {
		return nil, fmt.Errorf("campaign %s has no wave %d", r.Campaign, n)
	}
	idx := r.Waves[n-1]
	for i := range r.Plan.Waves {
		if r.Plan.Waves[i].Index == idx {
			return &r.Plan.Waves[i], nil
		}
	}
	return nil, fmt.Errorf("campaign %s: plan has no wave %d", r.Campaign, idx)
}

// machineWave returns the machine's wave number for plan wave index idx, or
// 0 when the machine does not hold it (a clean-up wave).
func (r *record) machineWave(idx int) int {
	for i, w := range r.Waves {
		if w == idx {
			return i + 1
		}
	}
	return 0
}

// pullRequest returns the plan's pull request of tenant in machine wave n.
func (r *record) pullRequest(n int, tenant string) (rollout.PullRequest, int, error) {
	w, err := r.planWave(n)
	if err != nil {
		return rollout.PullRequest{}, 0, err
	}
	for _, pr := range w.PullRequests {
		if pr.Tenant == tenant && !pr.Admin {
			return pr, w.Index, nil
		}
	}
	return rollout.PullRequest{}, 0, fmt.Errorf("campaign %s: plan wave %d has no pull request for tenant %s", r.Campaign, w.Index, tenant)
}

// campaign parses the stored campaign file again.
func (r *record) campaign() (*rollout.Campaign, error) {
	return rollout.ParseCampaign(r.Repo+"/"+r.File, []byte(r.Source))
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
	var r record
	if _, err := getJSON(ctx, b.cfg.Store, recordKey(name), &r); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		return nil, false, err
	}
	if r.Plan == nil {
		return nil, false, fmt.Errorf("record of campaign %s holds no plan", name)
	}
	return &r, true, nil
}

// State returns a campaign's state as last persisted; ok is false until the
// campaign started.
func (b *Bot) State(ctx context.Context, name string) (st rollout.State, ok bool, err error) {
	_, err = getJSON(ctx, b.cfg.Store, stateKey(name), &st)
	if errors.Is(err, store.ErrNotFound) {
		return st, false, nil
	}
	return st, err == nil, err
}
