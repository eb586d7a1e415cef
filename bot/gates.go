package bot

import (
	"context"
	"fmt"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

// gatesFor returns the gates of a campaign: Config.Gates when set (tests,
// the demo), else the gates its spec.gates configures, built once per
// campaign and kept, since some count measurements over time.
func (b *Bot) gatesFor(name string, c *rollout.Campaign) (Gates, error) {
	if b.cfg.Gates != nil {
		return b.cfg.Gates, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if g, ok := b.gates[name]; ok {
		return g, nil
	}
	g, err := buildGates(c.Spec.Gates, installationChecks{b.cfg.GitHub})
	if err != nil {
		return nil, fmt.Errorf("campaign %s: gates: %w", name, err)
	}
	if b.gates == nil {
		b.gates = map[string]Gates{}
	}
	b.gates[name] = g
	return g, nil
}

// buildGates builds the providers spec.gates names, in the order of
// Gates.Names.
func buildGates(cfg rollout.Gates, checks gate.Checks) (Gates, error) {
	var gs []gate.Gate
	if t := cfg.Terraform; t != nil {
		gs = append(gs, gate.NewTerraform(*t, checks))
	}
	if p := cfg.Prometheus; p != nil {
		g, err := gate.NewPrometheus(*p)
		if err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	if len(gs) != len(cfg.Names()) {
		return nil, fmt.Errorf("this build runs only the terraform and prometheus gates, not all of %v", cfg.Names())
	}
	return gate.NewRunner(gs, nil), nil
}

// installationChecks reads check runs and statuses through the installation
// that covers each repository.
type installationChecks struct{ github GitHub }

func (c installationChecks) CheckRuns(ctx context.Context, owner, repo, ref string) ([]gh.CheckRun, error) {
	api, err := c.github.API(ctx, owner, repo)
	if err != nil {
		return nil, err
	}
	return api.CheckRuns(ctx, owner, repo, ref)
}

func (c installationChecks) Statuses(ctx context.Context, owner, repo, ref string) ([]gh.Status, error) {
	api, err := c.github.API(ctx, owner, repo)
	if err != nil {
		return nil, err
	}
	return api.Statuses(ctx, owner, repo, ref)
}
