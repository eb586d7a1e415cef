package gitops

import (
	"context"
	"fmt"
	"maps"

	"github.com/fleetbot/fleetbot/rollout"
)

// Prepared is a campaign checked against the fleet exactly as `fleetbot
// serve` checks it before starting it.
type Prepared struct {
	// Inventory is the fleet the plan was made from.
	Inventory *Inventory
	// Plan is the campaign's plan. Its pull requests name repositories as
	// given to Prepare.
	Plan *rollout.Plan
	// Files holds what each pull request of the plan makes of its files,
	// by wave then pull request, in plan order: each wave's edits applied
	// on top of the earlier waves' results. It is what --diff shows.
	Files [][][]FileResult
	// State is the state machine's Pending state for the campaign.
	State rollout.State
	// Diagnostics are the warnings about the campaign (an exclusion that
	// excludes nothing); the inventory's are in Inventory.Diagnostics.
	Diagnostics Diagnostics
}

// Prepare runs every check a campaign must pass before it starts, in the
// order a person would fix them: the inventory of repos (errors refuse),
// the fleet built from it, the scalars a field change matches (or, for a
// field of a hierarchy, each cluster's chain of its files), the labels
// key the repositories agree on, the selector against the fleet
// (rollout.CheckSelector), the plan (a *rollout.RefusedError when a safety
// rule refuses it), the state machine's policy and waves
// (rollout.StartState: gates present, approvals, each cluster in one wave,
// one repository per tenant), and that every edit of every wave, clean-up
// waves included, applies to the real files in plan order. The edits are
// checked before the machine, so that a *StartError comes with the Plan and
// Files filled in: the plan is sound, only serve cannot run it. locks maps a cluster to
// the campaign holding it; opts are Load's.
//
// Prepared is nil only when the repositories could not be loaded at all;
// otherwise it holds what was found so far, with the warnings to show even
// when the error is not nil.
func Prepare(ctx context.Context, repos []string, c *rollout.Campaign, locks map[string]string, opts ...Option) (*Prepared, error) {
	inv, err := Load(ctx, repos, opts...)
	if err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	prep := &Prepared{Inventory: inv}
	if err := inv.Err(); err != nil {
		return prep, fmt.Errorf("the inventory has errors:\n%w", err)
	}
	fleet, err := inv.Fleet()
	if err != nil {
		return prep, err
	}
	fleet.Locks = maps.Clone(locks)
	var fieldKey []string
	switch fc := c.Spec.Change.Field; {
	case fc != nil && fc.Hierarchy != "":
		if fieldKey, err = inv.Chains(&fleet, fc.Hierarchy, fc.Path); err != nil {
			return prep, err
		}
	case fc != nil:
		if fleet.Fields, err = inv.FieldHits(ctx, fc.Files, fc.Path); err != nil {
			return prep, err
		}
	}
	key, err := inv.LabelsKey()
	if err != nil {
		return prep, fmt.Errorf("%w: plan them separately", err)
	}
	errs, warnings := rollout.CheckSelector(c, fleet)
	for _, w := range warnings {
		prep.Diagnostics = append(prep.Diagnostics, campaignDiagnostic(w))
	}
	if len(errs) > 0 {
		return prep, errs
	}
	p, err := rollout.PlanCampaign(c, fleet, rollout.WithLabelsKey(key...), rollout.WithFieldKey(fieldKey...))
	if err != nil {
		return prep, err
	}
	prep.Plan = p
	if prep.Files, err = ApplyPlan(p); err != nil {
		return prep, err
	}
	if prep.State, err = rollout.StartState(c, p); err != nil {
		return prep, &StartError{Err: err}
	}
	return prep, nil
}

// campaignDiagnostic turns a campaign problem into a warning diagnostic.
func campaignDiagnostic(e *rollout.FieldError) Diagnostic {
	return Diagnostic{Severity: SeverityWarning, File: e.File, Line: e.Line, Message: e.Message()}
}

// ApplyPlan applies every pull request of p to the files of its repository
// (a directory), wave after wave, each wave reading what the earlier ones
// left: a second EKS hop starts from the first hop's version, a clean-up
// from the overrides the rollout created. It returns the files of each pull
// request by wave, or the first edit the editor refuses, naming the wave,
// the repository, the file and the line.
func ApplyPlan(p *rollout.Plan) ([][][]FileResult, error) {
	type fileID struct{ repo, path string }
	overlay := map[fileID][]byte{}
	out := make([][][]FileResult, len(p.Waves))
	for i, w := range p.Waves {
		out[i] = make([][]FileResult, len(w.PullRequests))
		for j, pr := range w.PullRequests {
			dir := DirReader(pr.Repo)
			read := func(path string) ([]byte, error) {
				if b, ok := overlay[fileID{pr.Repo, path}]; ok {
					return b, nil
				}
				return dir(path)
			}
			files, err := Apply(read, pr)
			if err != nil {
				return nil, &ApplyError{Wave: w.Index, Cleanup: w.Cleanup, Repo: pr.Repo, Err: err}
			}
			for _, f := range files {
				overlay[fileID{pr.Repo, f.Path}] = f.New
			}
			out[i][j] = files
		}
	}
	return out, nil
}

// ApplyError reports a planned edit the editor cannot make. Err is the
// editor's error (a *yamledit.Error names file, line and reason).
type ApplyError struct {
	Wave    int
	Cleanup bool
	Repo    string
	Err     error
}

// Error names the wave and the repository, then the editor's reason.
func (e *ApplyError) Error() string {
	what := "wave"
	if e.Cleanup {
		what = "clean-up wave"
	}
	return fmt.Sprintf("%s %d cannot be applied in %s: %v", what, e.Wave, e.Repo, e.Err)
}

// Unwrap returns the editor's error.
func (e *ApplyError) Unwrap() error { return e.Err }

// StartError reports a plan the state machine cannot run (see
// rollout.StartState): no gates, or waves it cannot follow yet.
type StartError struct{ Err error }

// Error says the campaign cannot start, and why.
func (e *StartError) Error() string { return "the campaign cannot start: " + e.Err.Error() }

// Unwrap returns the machine's reason.
func (e *StartError) Unwrap() error { return e.Err }
