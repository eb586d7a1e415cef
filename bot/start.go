package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
)

// isCampaignFile reports whether a repository path is a campaign file: a
// .yaml file directly in the campaign directory.
func (b *Bot) isCampaignFile(p string) bool {
	return path.Dir(p) == b.cfg.CampaignPath && path.Ext(p) == ".yaml"
}

// scanCampaigns reads every campaign file at the head of the campaign
// repository's default branch and starts the new ones. It does nothing when
// the head did not move since the last full scan, so the reconcile loop can
// call it every pass; a push lost on the way is found on the next pass.
func (b *Bot) scanCampaigns(ctx context.Context) error {
	head, err := b.head(ctx, b.camps)
	if err != nil {
		return fmt.Errorf("scan campaigns: %w", err)
	}
	b.mu.Lock()
	done := b.scanned == head.sha
	b.mu.Unlock()
	if done {
		return nil
	}
	files, err := b.campaignFiles(ctx, head)
	if err != nil {
		return fmt.Errorf("scan campaigns: %w", err)
	}
	var errs []error
	var verdicts []fileVerdict
	for _, f := range slices.Sorted(maps.Keys(files)) {
		v, err := b.considerCampaign(ctx, f, head.sha, files[f])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		verdicts = append(verdicts, v)
	}
	// A file no push reported (a push lost on the way, a file refused
	// before that starts now) is reported on the head.
	errs = append(errs, b.reportUnreported(ctx, head.sha, verdicts))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b.mu.Lock()
	b.scanned = head.sha
	b.mu.Unlock()
	return nil
}

// campaignFiles reads every campaign file of the campaign repository at
// head, by path.
func (b *Bot) campaignFiles(ctx context.Context, head headRef) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := b.withCheckout(ctx, []headRef{head}, func(dirs []string) error {
		matches, err := filepath.Glob(filepath.Join(dirs[0], filepath.FromSlash(b.cfg.CampaignPath), "*.yaml"))
		if err != nil {
			return err
		}
		for _, m := range matches {
			src, err := os.ReadFile(m)
			if err != nil {
				return fmt.Errorf("read campaign file: %w", err)
			}
			files[b.cfg.CampaignPath+"/"+filepath.Base(m)] = src
		}
		return nil
	})
	return files, err
}

// Results of a campaign file, as the check run on its commit reports them;
// fleetbot_campaign_files_total counts those of the default branch's files
// by the same names.
const (
	fileStarted = "started"   // the campaign started from it
	fileRunning = "running"   // its campaign started from it before
	fileChanged = "changed"   // changed after its campaign started; not applied
	fileRemoved = "removed"   // removed while its campaign runs, which goes on
	fileEnded   = "ended"     // its campaign ended: the file starts nothing
	fileInvalid = "invalid"   // it does not parse
	fileRefused = "refused"   // the planner, the machine's policy or the gates refused it
	fileCanRun  = "can start" // a pull request's file, vetted: it would start once merged
)

// fileVerdict is what serve makes of one campaign file at a commit.
type fileVerdict struct {
	File     string // repository-relative
	Digest   string // SHA-256 of the file as written
	Campaign string // metadata.name, once it parses
	Result   string
	// From is where a running or changed campaign started from: file@sha.
	From string
	// Ended is the phase its campaign ended in, for fileEnded.
	Ended rollout.CampaignPhase
	// Problems say why an invalid or refused file cannot start, each with
	// file, line and field.
	Problems rollout.ErrorList
	// Warnings are what the checks warn of in a file that starts or can:
	// an exclusion with no effect, an approval never asked for.
	Warnings []gitops.Diagnostic
	// Dashboard is the number of its campaign's dashboard issue in the
	// campaign repository, once it started (0: none).
	Dashboard int
}

// failed reports whether the file cannot start.
func (v fileVerdict) failed() bool { return v.Result == fileInvalid || v.Result == fileRefused }

// unapplied reports whether the file changes no campaign: a change or a
// removal of a running campaign's file, or the file of one that ended.
func (v fileVerdict) unapplied() bool {
	return v.Result == fileChanged || v.Result == fileRemoved || v.Result == fileEnded
}

// considerCampaign starts the campaign in src, read from file at commit sha,
// unless it started before, and says what became of the file. An invalid
// file or one that is refused is logged and counted, and its problems
// returned in the verdict, not as an error: retrying would not fix it, a new
// commit does. The error is for what a retry may fix (GitHub, git, the
// store); a verdict without a result is a file another replica is starting.
func (b *Bot) considerCampaign(ctx context.Context, file, sha string, src []byte) (fileVerdict, error) {
	v, err := b.readCampaign(ctx, file, src, func(c *rollout.Campaign, v fileVerdict) (fileVerdict, error) {
		rec := &record{Campaign: c.Metadata.Name, Repo: b.camps.String(), File: file, SHA: sha, Digest: v.Digest, Source: string(src)}
		err := b.start(ctx, c, rec)
		var r *refusal
		switch {
		case errors.As(err, &r):
			b.metrics.campaignFiles.WithLabelValues(fileRefused).Inc()
			b.log.Error("campaign cannot start", "campaign", c.Metadata.Name, "file", file, "sha", sha, "err", r.err)
			v.Result, v.Problems = fileRefused, b.problems(file, src, r.err)
		case errors.Is(err, store.ErrHeld):
			// Another replica is starting it, and reports it.
		case err == nil:
			v.Result, v.Warnings = fileStarted, b.warnings(file, rec)
		default:
			return v, err
		}
		return v, nil
	})
	switch v.Result {
	case fileInvalid:
		b.metrics.campaignFiles.WithLabelValues(fileInvalid).Inc()
		b.log.Error("invalid campaign file", "repo", b.camps.String(), "file", file, "sha", sha, "err", v.Problems)
	case fileChanged:
		b.metrics.campaignFiles.WithLabelValues(fileChanged).Inc()
		b.warnOnce("changed/"+v.Campaign+"/"+file+"/"+v.Digest, "campaign file changed after the campaign started; the change is not applied: start a new campaign under a new name",
			"campaign", v.Campaign, "file", file, "sha", sha, "started_from", v.From)
	}
	return v, err
}

// removedCampaigns says what becomes of the campaign files among removed,
// repository-relative paths a commit removes: each one a campaign that has
// not ended started from goes on (fileRemoved). A file no running campaign
// started from is left out.
func (b *Bot) removedCampaigns(ctx context.Context, removed []string) ([]fileVerdict, error) {
	removed = slices.DeleteFunc(slices.Clone(removed), func(f string) bool { return !b.isCampaignFile(f) })
	if len(removed) == 0 {
		return nil, nil
	}
	names, err := b.campaignNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []fileVerdict
	for _, name := range names {
		rec, ok, err := b.loadRecord(ctx, name)
		if err != nil {
			return out, err
		}
		if !ok || !slices.Contains(removed, rec.File) {
			continue
		}
		st, _, err := b.State(ctx, name)
		if err != nil {
			return out, fmt.Errorf("state of campaign %s: %w", name, err)
		}
		if st.Phase.Final() {
			continue
		}
		out = append(out, fileVerdict{File: rec.File, Digest: rec.Digest, Campaign: name, Result: fileRemoved, From: rec.File + "@" + shortSHA(rec.SHA)})
	}
	return out, nil
}

// readCampaign parses a campaign file and, when it parses and its campaign
// has not started, hands it to next; it says what became of a file that
// does not parse, or whose campaign started before.
func (b *Bot) readCampaign(ctx context.Context, file string, src []byte, next func(*rollout.Campaign, fileVerdict) (fileVerdict, error)) (fileVerdict, error) {
	sum := sha256.Sum256(src)
	v := fileVerdict{File: file, Digest: hex.EncodeToString(sum[:])}
	c, err := rollout.ParseCampaign(b.camps.String()+"/"+file, src)
	if err != nil {
		v.Result, v.Problems = fileInvalid, b.problems(file, src, err)
		return v, nil
	}
	v.Campaign = c.Metadata.Name
	rec, ok, err := b.loadRecord(ctx, c.Metadata.Name)
	switch {
	case err != nil:
		return v, err
	case !ok:
		return next(c, v)
	}
	v.Result, v.From = fileRunning, rec.File+"@"+shortSHA(rec.SHA)
	st, _, err := b.State(ctx, c.Metadata.Name)
	if err != nil {
		return v, fmt.Errorf("state of campaign %s: %w", c.Metadata.Name, err)
	}
	if st.Phase.Final() {
		v.Result, v.Ended = fileEnded, st.Phase
		return v, nil
	}
	if rec.Digest != v.Digest || rec.File != file {
		v.Result = fileChanged
	}
	return v, nil
}

// problems places each problem err reports about campaign file file
// (repository-relative) at a file, line and field.
func (b *Bot) problems(file string, src []byte, err error) rollout.ErrorList {
	return rollout.CampaignProblems(b.camps.String()+"/"+file, src, err)
}

// refusal is a campaign that cannot start until its file or the fleet
// changes.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

// start plans a new campaign from the blueprint repositories' current heads,
// records it and schedules it, under the campaign's lease. Its gates are
// built first (unless Config.Gates replaces them): a campaign whose gates
// cannot reach their providers (an Argo CD token not set) does not start.
// A campaign that cannot start returns a *refusal; one another replica
// holds the lease of, an error matching store.ErrHeld.
func (b *Bot) start(ctx context.Context, c *rollout.Campaign, rec *record) error {
	name := c.Metadata.Name
	err := b.withLease(ctx, name, func(ctx context.Context, l store.Lease) error {
		if _, ok, err := b.loadRecord(ctx, name); err != nil || ok {
			return err // started meanwhile by another replica
		}
		if _, err := b.gatesFor(name, c); err != nil {
			return &refusal{err}
		}
		st, err := b.plan(ctx, c, rec)
		if err != nil {
			return err
		}
		if err := b.lockClusters(ctx, name, st); err != nil {
			return err
		}
		rec.StartedAt = b.now()
		if _, err := putJSON(ctx, b.cfg.Store, recordKey(name), rec, 0, l.Fence()); err != nil {
			return err
		}
		if _, err := b.createState(ctx, name, st, l.Fence()); err != nil {
			return err
		}
		b.metrics.campaignFiles.WithLabelValues(fileStarted).Inc()
		b.log.Info("campaign started", "campaign", name, "file", rec.File, "sha", rec.SHA, "waves", len(st.Waves))
		return nil
	})
	if err != nil {
		// Not started: gates kept now would outlive a corrected file.
		b.forgetGates(name)
	} else {
		// Its dashboard issue opens now; a step carries nothing else out
		// for a campaign just scheduled. The loop's next pass, brought
		// forward, opens its first wave when the schedule allows.
		_, err = b.step(ctx, name, nil)
		b.passNow()
	}
	return err
}

// plan plans c into rec and builds the machine's first state from it: the
// checks a campaign passes before it starts, but its gates and its locks.
func (b *Bot) plan(ctx context.Context, c *rollout.Campaign, rec *record) (rollout.State, error) {
	if err := rollout.CheckSchedule(c, b.now()); err != nil {
		return rollout.State{}, &refusal{err}
	}
	if err := b.planRecord(ctx, c, rec); err != nil {
		return rollout.State{}, err
	}
	if err := rec.Plan.Idle(); err != nil {
		return rollout.State{}, &refusal{err}
	}
	st, err := newState(c, rec)
	if err != nil {
		return rollout.State{}, &refusal{err}
	}
	return st, nil
}

// vet runs the checks start runs on a campaign that has not started,
// starting nothing: its gates are built and dropped, it is planned on the
// blueprint repositories' heads with the clusters other campaigns hold left
// out. It returns what the checks warn of in file, c's; a campaign start
// would refuse returns a *refusal.
func (b *Bot) vet(ctx context.Context, file string, c *rollout.Campaign) ([]gitops.Diagnostic, error) {
	if b.cfg.Gates == nil {
		if _, err := buildGates(c.Spec.Gates, gateInstallations(b.cfg.GitHub), b.now, b.cfg.GateOptions, b.metrics.gateDuration); err != nil {
			return nil, &refusal{err}
		}
	}
	rec := &record{Campaign: c.Metadata.Name}
	if _, err := b.plan(ctx, c, rec); err != nil {
		return nil, err
	}
	return b.warnings(file, rec), nil
}

// warnings are what the checks warned of when the campaign of file was
// planned into rec, and, as fleetbot plan prints them, the clusters it
// changes from an EKS version past standard support.
func (b *Bot) warnings(file string, rec *record) []gitops.Diagnostic {
	out := slices.Clip(rec.warnings)
	if rec.Plan == nil {
		return out
	}
	for _, w := range rollout.SupportWarnings(rec.Plan, rollout.EKSReleases, b.now()) {
		out = append(out, gitops.Diagnostic{Severity: gitops.SeverityWarning, File: b.camps.String() + "/" + file, Message: w.String()})
	}
	return out
}

// createState schedules the campaign's first state and stores it.
func (b *Bot) createState(ctx context.Context, name string, st rollout.State, fence store.Fence) (int64, error) {
	st, _, err := rollout.Transition(st, rollout.ScheduleCampaign{By: "fleetbot"}, b.now())
	if err != nil {
		return 0, fmt.Errorf("schedule campaign %s: %w", name, err)
	}
	return putJSON(ctx, b.cfg.Store, stateKey(name), st, 0, fence)
}

// lockClusters takes the store's lock on every cluster of the campaign, so
// a later campaign's plan leaves them out.
func (b *Bot) lockClusters(ctx context.Context, name string, st rollout.State) error {
	for _, w := range st.Waves {
		for _, c := range w.Clusters {
			err := b.cfg.Store.Lock(ctx, c.Name, name)
			var le *store.LockedError
			if errors.As(err, &le) {
				return &refusal{&rollout.FieldError{Field: "spec.selector", Reason: fmt.Sprintf("cluster %s is held by campaign %s", le.Cluster, le.Owner)}}
			}
			if err != nil {
				return fmt.Errorf("lock cluster %s: %w", c.Name, err)
			}
		}
	}
	return nil
}

// unlockClusters frees the clusters of a campaign that ended.
func (b *Bot) unlockClusters(ctx context.Context, st rollout.State) error {
	var errs []error
	for _, w := range st.Waves {
		for _, c := range w.Clusters {
			if err := b.cfg.Store.Unlock(ctx, c.Name, st.Campaign); err != nil && !errors.Is(err, store.ErrLocked) {
				errs = append(errs, fmt.Errorf("unlock cluster %s: %w", c.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// planRecord plans c on the blueprint repositories at the heads GitHub
// reports now (never from what the mirror happened to hold) and fills in the
// plan, the bases and the wave mapping of rec.
func (b *Bot) planRecord(ctx context.Context, c *rollout.Campaign, rec *record) error {
	heads := make([]headRef, len(b.repos))
	for i, r := range b.repos {
		h, err := b.head(ctx, r)
		if err != nil {
			return err
		}
		heads[i] = h
	}
	return b.withCheckout(ctx, heads, func(dirs []string) error {
		locks, err := b.cfg.Store.Locks(ctx)
		if err != nil {
			return fmt.Errorf("read cluster locks: %w", err)
		}
		byDir := map[string]string{}
		rec.Bases = map[string]string{}
		for i, h := range heads {
			byDir[dirs[i]] = h.repo.String()
			rec.Bases[h.repo.String()] = h.sha
		}
		// The same checks as fleetbot plan and validate: what passes there
		// starts here.
		prep, err := gitops.Prepare(ctx, dirs, c, locks)
		if prep == nil {
			return err // the checkout could not be read: a retry may fix it
		}
		if err != nil {
			return &refusal{inRepos(err, byDir)}
		}
		p := prep.Plan
		for i := range p.Waves {
			w := &p.Waves[i]
			for j := range w.PullRequests {
				w.PullRequests[j].Repo = byDir[w.PullRequests[j].Repo]
			}
		}
		rec.Plan, rec.warnings = p, prep.Diagnostics
		replaced := map[string]bool{}
		for _, w := range p.Waves {
			for _, c := range w.Clusters {
				replaced[c.Name] = replaced[c.Name] || w.Step == rollout.StepGreen
			}
		}
		rec.Clusters = map[string]clusterInfo{}
		for _, cl := range prep.Inventory.Clusters {
			info := clusterInfo{Region: cl.Region, Account: cl.Account}
			if replaced[cl.Name] {
				info.Labels = cl.Labels
			}
			rec.Clusters[cl.Name] = info
		}
		return nil
	})
}

// newState builds the machine's Pending state from a campaign and its
// record, with the checks gitops.Prepare ran when the campaign started.
func newState(c *rollout.Campaign, rec *record) (rollout.State, error) {
	return rollout.StartState(c, rec.Plan)
}

// inRepos names the files err's problems are in after their repositories
// (owner/name/path), not the checkouts in byDir they were read from: each
// error of an inventory's diagnostics becomes a problem of its file, and a
// plan that cannot be applied names its repository.
func inRepos(err error, byDir map[string]string) error {
	repoPath := func(file string) string {
		for dir, repo := range byDir {
			if rel, ok := strings.CutPrefix(file, dir+string(filepath.Separator)); ok {
				return repo + "/" + filepath.ToSlash(rel)
			}
		}
		return file
	}
	var ds gitops.Diagnostics
	if errors.As(err, &ds) {
		var out rollout.ErrorList
		for _, d := range ds.Errors() {
			out = append(out, &rollout.FieldError{File: repoPath(d.File), Line: d.Line, Field: d.Field, Reason: d.Message})
		}
		if len(out) > 0 {
			return fmt.Errorf("the inventory has errors:\n%w", out)
		}
	}
	var ae *gitops.ApplyError
	if errors.As(err, &ae) {
		if repo, ok := byDir[ae.Repo]; ok {
			ae.Repo = repo
		}
	}
	return err
}
