package gitops

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/fleetbot/fleetbot/rollout"
)

// Prepared is a campaign checked against the fleet exactly as `fleetbot
// serve` checks it before starting it.
type Prepared struct {
	// Inventory is the fleet the plan was made from; its Clusters are nil
	// with WithoutClusters.
	Inventory *Inventory
	// Plan is the campaign's plan. Its pull requests name repositories as
	// given to Prepare.
	Plan *rollout.Plan
	// Files holds what each pull request of the plan makes of its files,
	// by wave then pull request, in plan order: each wave's edits applied
	// on top of the earlier waves' results. It is what --diff shows; nil
	// with WithoutFiles.
	Files [][][]FileResult
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
// (rollout.CheckStart: gates present, approvals, each cluster in one wave,
// one repository per tenant), and that every edit of every wave, clean-up
// waves included, applies to the real files in plan order (for a label
// change, the label files as Load read them and the files its walk found:
// the plan was made from them, and the disk is not asked again). The edits are
// checked before the machine, so that a *StartError comes with the Plan and
// Files filled in: the plan is sound, only serve cannot run it. locks maps a cluster to
// the campaign holding it; opts are Load's.
//
// Prepared is nil only when the repositories could not be loaded at all;
// otherwise it holds what was found so far, with the warnings to show even
// when the error is not nil.
func Prepare(ctx context.Context, repos []string, c *rollout.Campaign, locks map[string]string, opts ...Option) (*Prepared, error) {
	var o loadOptions
	for _, opt := range opts {
		opt(&o)
	}
	opts = slices.Clip(opts)
	if c.Spec.Change.EKSVersion != nil {
		// Checking the edits of the clusters' versions starts from where
		// Load's parse found them.
		opts = append(opts, func(o *loadOptions) { o.spots = true })
	}
	if lc := c.Spec.Change.Label; lc != nil {
		// And the edits of the label's values, from where Load's parse
		// found them in the label files.
		opts = append(opts, func(o *loadOptions) { o.spotLabel = lc.Key })
	}
	if o.dropClusters {
		// No one reads the inventory's clusters after the fleet: Load
		// keeps the label files along each chain, shared, and a label
		// change's fleet makes each chain from them.
		opts = append(opts, func(o *loadOptions) { o.noChains = true })
	}
	inv, err := Load(ctx, repos, opts...)
	if err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	prep := &Prepared{Inventory: inv}
	if err := inv.Err(); err != nil {
		return prep, fmt.Errorf("the inventory has errors:\n%w", err)
	}
	// A field change reads the inventory's clusters after the fleet is
	// made; otherwise, without clusters, they go as the fleet is made. Only
	// a label change reads the clusters' label chains.
	var only string
	if lc := c.Spec.Change.Label; lc != nil {
		only = lc.Key // the planner reads no other label of the files
	}
	fleet, err := inv.fleet(o.dropClusters && c.Spec.Change.Field == nil, c.Spec.Change.Label != nil, only)
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
	if o.dropClusters {
		inv.Clusters = nil
	}
	errs, warnings := rollout.CheckSelector(c, fleet)
	for _, w := range warnings {
		prep.Diagnostics = append(prep.Diagnostics, campaignDiagnostic(w))
	}
	if len(errs) > 0 {
		return prep, errs
	}
	// The fleet is not read after the plan is made.
	p, err := rollout.PlanCampaign(c, fleet, rollout.WithLabelsKey(key...), rollout.WithFieldKey(fieldKey...), rollout.WithChainsReleased())
	if err != nil {
		return prep, err
	}
	prep.Plan = p
	for _, w := range rollout.CheckApprovals(c, p) {
		prep.Diagnostics = append(prep.Diagnostics, campaignDiagnostic(w))
	}
	// What the machine would start from is checked while the edits are:
	// both only read the plan, and at 100,000 clusters each takes about a
	// third of a second, the check on one core.
	var (
		startErr error
		checked  = make(chan struct{})
	)
	go func() {
		defer close(checked)
		startErr = rollout.CheckStart(c, p)
	}()
	prep.Files, err = applyPlan(p, !o.dropFiles, inv.spots, inv.listed)
	<-checked
	switch {
	case err != nil:
		return prep, err
	case startErr != nil:
		return prep, &StartError{Err: startErr}
	}
	return prep, nil
}

// campaignDiagnostic turns a campaign problem into a warning diagnostic.
func campaignDiagnostic(e *rollout.FieldError) Diagnostic {
	return Diagnostic{Severity: SeverityWarning, File: e.File, Line: e.Line, Field: e.Field, Message: e.Reason}
}

// ApplyPlan applies every pull request of p to the files of its repository
// (a directory), wave after wave, each wave reading what the earlier ones
// left: a second EKS hop starts from the first hop's version, a clean-up
// from the overrides the rollout created. It returns the files of each pull
// request by wave, or the first edit the editor refuses, naming the wave,
// the repository, the file and the line.
func ApplyPlan(p *rollout.Plan) ([][][]FileResult, error) {
	return applyPlan(p, true, nil, nil)
}

// applyPlan is ApplyPlan; with keep false it only checks that every edit
// applies and returns no files. A file's edits depend only on the edits
// made to it by earlier pull requests (a plan that creates a file as a copy
// of one it changes is applied in turn instead), so each file goes through
// its pull requests in plan order on a goroutine of its own, carrying its
// parsed YAML from one edit to the next; the first refusal in plan order
// is the one returned, as if the pull requests had been applied one after
// the other. spots are Load's, by file: where it found the scalars the
// plan may edit (and a label file's bytes); listed, by repository, the
// files Load's walk found: a file not listed is not there.
func applyPlan(p *rollout.Plan, keep bool, spots map[repoFile]*fileSpots, listed map[string]map[string]bool) ([][][]FileResult, error) {
	var (
		out    = planResults(p, keep)
		files  []repoFile
		steps  = map[repoFile][]planStep{}
		copies []repoFile
	)
	for i, w := range p.Waves {
		for j, pr := range w.PullRequests {
			for k, fc := range pr.Files {
				if fc.CopyOf != "" {
					copies = append(copies, repoFile{pr.Repo, fc.CopyOf})
				}
				id := repoFile{pr.Repo, fc.Path}
				prev := steps[id]
				if len(prev) == 0 {
					files = append(files, id)
				} else if last := prev[len(prev)-1]; last.wave == i && last.pr == j {
					// Two changes of one file in one pull request both
					// start from the file before it.
					return applyPlanInTurn(p, keep)
				}
				steps[id] = append(prev, planStep{wave: i, pr: j, file: k})
			}
		}
	}
	for _, c := range copies {
		if len(steps[c]) > 0 {
			// A file copied from one the plan changes is a copy of it as
			// the earlier pull requests leave it.
			return applyPlanInTurn(p, keep)
		}
	}
	fails := make([]*planFailure, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for {
				n := int(next.Add(1) - 1)
				if n >= len(files) {
					return
				}
				id := files[n]
				fcs := make([]rollout.FileChange, len(steps[id]))
				for k, st := range steps[id] {
					fcs[k] = p.Waves[st.wave].PullRequests[st.pr].Files[st.file]
				}
				rs, at, err := applyChanges(listedReader(id.repo, listed[id.repo]), fcs, spots[id])
				if err != nil {
					fails[n] = &planFailure{at: steps[id][at], err: err}
				}
				if keep {
					for k, r := range rs {
						st := steps[id][k]
						out[st.wave][st.pr][st.file] = r
					}
				}
			}
		})
	}
	wg.Wait()
	var first *planFailure
	for _, f := range fails {
		if f != nil && (first == nil || f.at.before(first.at)) {
			first = f
		}
	}
	if first != nil {
		w := p.Waves[first.at.wave]
		pr := w.PullRequests[first.at.pr]
		return nil, &ApplyError{Wave: w.Index, Cleanup: w.Cleanup, Repo: pr.Repo, Err: fmt.Errorf("pull request for %s: %w", prOwner(pr), first.err)}
	}
	return out, nil
}

// planResults makes room for the file results of every pull request of p,
// by wave, pull request and file; nil without keep.
func planResults(p *rollout.Plan, keep bool) [][][]FileResult {
	if !keep {
		return nil
	}
	out := make([][][]FileResult, len(p.Waves))
	for i, w := range p.Waves {
		out[i] = make([][]FileResult, len(w.PullRequests))
		for j, pr := range w.PullRequests {
			out[i][j] = make([]FileResult, len(pr.Files))
		}
	}
	return out
}

// applyPlanInTurn is applyPlan one pull request after the other, each
// reading the files as the earlier ones left them.
func applyPlanInTurn(p *rollout.Plan, keep bool) ([][][]FileResult, error) {
	overlay := map[repoFile][]byte{}
	out := planResults(p, keep)
	for i, w := range p.Waves {
		for j, pr := range w.PullRequests {
			dir := DirReader(pr.Repo)
			read := func(path string) ([]byte, error) {
				b, ok := overlay[repoFile{pr.Repo, path}]
				switch {
				case !ok:
					return dir(path)
				case b == nil: // removed by an earlier pull request
					return nil, &fs.PathError{Op: "read", Path: path, Err: fs.ErrNotExist}
				}
				return b, nil
			}
			files, err := Apply(read, pr)
			if err != nil {
				return nil, &ApplyError{Wave: w.Index, Cleanup: w.Cleanup, Repo: pr.Repo, Err: err}
			}
			for _, f := range files {
				overlay[repoFile{pr.Repo, f.Path}] = f.New
			}
			if keep {
				copy(out[i][j], files)
			}
		}
	}
	return out, nil
}

// planStep is one file change of a plan: wave, pull request and file, by
// index.
type planStep struct{ wave, pr, file int }

// before reports whether s comes before o in plan order.
func (s planStep) before(o planStep) bool {
	return cmp.Or(cmp.Compare(s.wave, o.wave), cmp.Compare(s.pr, o.pr), cmp.Compare(s.file, o.file)) < 0
}

// planFailure is the edit that refused a file's change.
type planFailure struct {
	at  planStep
	err error
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
