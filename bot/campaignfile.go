package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/webhooks"
)

// CampaignCheckName is the check run on a commit that adds or changes
// campaign files: whether serve can start each one, and, for one that
// cannot, every problem with file, line and field, each also an annotation
// on its line.
const CampaignCheckName = "fleetbot/campaigns"

// campaignsMarker marks the bot's comment about campaign files on a pull
// request, so the bot edits it instead of adding another.
const campaignsMarker = "<!-- fleetbot:campaign-files -->"

// campaignCheckKey is where the bot keeps what it last wrote in the
// campaign-file check run on commit sha.
func campaignCheckKey(sha string) string { return "campaign-checks/" + sha }

// campaignChecksLease is the lease a replica holds while it reports on the
// campaign files of a commit, whichever commit: one lease for them all, so
// the store keeps one, not one per commit for ever (a lease stays to keep
// its tokens growing). Reports are few, and brief.
const campaignChecksLease = "campaign-checks"

// campaignFileKey is where the bot keeps what it last reported of a
// campaign file of the default branch, so a file is reported once per
// content and result.
func campaignFileKey(file string) string { return "campaign-files/" + file }

// fileReport is what the bot last reported of a campaign file.
type fileReport struct {
	Digest string `json:"digest"`
	Result string `json:"result"`
	SHA    string `json:"sha"`
}

// unreported returns the verdicts of the default branch's campaign files
// that no check run reported yet: a file that cannot start, unless reported
// as it is; a file reported as one that could not start and that started
// now.
func (b *Bot) unreported(ctx context.Context, vs []fileVerdict) ([]fileVerdict, error) {
	var out []fileVerdict
	for _, v := range vs {
		var last fileReport
		_, err := getJSON(ctx, b.cfg.Store, campaignFileKey(v.File), &last)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return out, err
		}
		lastFailed := last.Result == fileInvalid || last.Result == fileRefused
		if (v.failed() && (last.Digest != v.Digest || last.Result != v.Result)) || (v.Result == fileStarted && lastFailed) {
			out = append(out, v)
		}
	}
	return out, nil
}

// reportCampaignFiles puts what became of campaign files at commit sha in
// the CampaignCheckName check run on the commit, unless it says so already,
// and, when one cannot start, in a comment on the pull request that brought
// the commit: pr, or, when nil, the pull requests GitHub associates with
// the commit. A pull request's comment that said a file could not start is
// edited once they all can. Files of the default branch (pr nil) are
// remembered as reported.
func (b *Bot) reportCampaignFiles(ctx context.Context, sha string, vs []fileVerdict, pr *prTarget) error {
	return b.reportingOn(ctx, sha, func(fence store.Fence) error { return b.report(ctx, sha, vs, pr, fence) })
}

// reportUnreported reports, as reportCampaignFiles does, the verdicts of
// default branch files at sha that no check run reported yet.
func (b *Bot) reportUnreported(ctx context.Context, sha string, vs []fileVerdict) error {
	return b.reportingOn(ctx, sha, func(fence store.Fence) error {
		news, err := b.unreported(ctx, vs)
		if err != nil || len(news) == 0 {
			return err
		}
		return b.report(ctx, sha, news, nil, fence)
	})
}

// reportingOn runs f while no other report on campaign files runs: in this
// process (a push and the reconcile loop's scan of the same commit) and in
// another replica (campaignChecksLease, whose fence f's writes carry).
func (b *Bot) reportingOn(ctx context.Context, sha string, f func(store.Fence) error) error {
	b.reporting.Lock()
	defer b.reporting.Unlock()
	l, err := b.cfg.Store.Acquire(ctx, campaignChecksLease, b.cfg.ReplicaID, b.cfg.LeaseTTL)
	if err != nil {
		return fmt.Errorf("lease the report on %s: %w", sha, err)
	}
	defer func() {
		if err := b.cfg.Store.Release(context.WithoutCancel(ctx), l); err != nil {
			b.log.Warn("release the report's lease", "sha", sha, "err", err)
		}
	}()
	return f(l.Fence())
}

// report is reportCampaignFiles under the commit's lease.
func (b *Bot) report(ctx context.Context, sha string, vs []fileVerdict, pr *prTarget, fence store.Fence) error {
	api, err := b.cfg.GitHub.API(ctx, b.camps.Owner, b.camps.Name)
	if err != nil {
		return err
	}
	if vs, err = b.withDashboards(ctx, vs); err != nil {
		return err
	}
	out := b.campaignCheck(vs)
	out.Name, out.HeadSHA, out.Status = CampaignCheckName, sha, "completed"
	digest := checkDigest(out)
	var have checkRecord
	version, err := getJSON(ctx, b.cfg.Store, campaignCheckKey(sha), &have)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if have.ID != 0 && have.Digest == digest {
		return nil
	}
	id, err := putCheck(ctx, api, b.camps, have.ID, true, out)
	if err != nil {
		return fmt.Errorf("check run %s on %s: %w", CampaignCheckName, sha, err)
	}
	rec := checkRecord{Repo: b.camps.String(), Head: sha, ID: id, Digest: digest, At: b.now()}
	if _, err := putJSON(ctx, b.cfg.Store, campaignCheckKey(sha), rec, version, fence); err != nil {
		return err
	}
	b.log.Info("campaign files check run", "sha", sha, "conclusion", out.Conclusion, "title", out.Title)

	var errs []error
	failed, noted := false, false
	for _, v := range vs {
		failed = failed || v.failed()
		noted = noted || v.unapplied() || len(v.Warnings) > 0
	}
	targets := []prTarget{}
	switch {
	case pr != nil:
		targets = append(targets, *pr)
	case failed:
		// GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls
		// https://docs.github.com/rest/commits/commits#list-pull-requests-associated-with-a-commit
		prs, err := api.CommitPullRequests(ctx, b.camps.Owner, b.camps.Name, sha)
		if err != nil {
			errs = append(errs, fmt.Errorf("find the pull request of %s: %w", sha, err))
		}
		for _, p := range prs {
			targets = append(targets, prTarget{api: api, repo: b.camps, number: p.Number})
		}
	}
	body := b.campaignsComment(sha, vs)
	for _, t := range targets {
		// A pull request is told what it would not do too: a change to a
		// running campaign's file, or its removal.
		errs = append(errs, upsertMarked(ctx, t, campaignsMarker, body, failed || (pr != nil && noted)))
	}
	if pr == nil {
		for _, v := range vs {
			_, err := b.putFileReport(ctx, v, sha, fence)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// withDashboards fills in the dashboard issue of each verdict's campaign
// that started, for the check run and the comment to link: where it is
// followed, and where its commands go.
func (b *Bot) withDashboards(ctx context.Context, vs []fileVerdict) ([]fileVerdict, error) {
	out := slices.Clone(vs)
	for i, v := range out {
		switch v.Result {
		case fileStarted, fileRunning, fileChanged, fileRemoved, fileEnded:
		default:
			continue
		}
		d, _, ok, err := b.loadDashboard(ctx, v.Campaign)
		if err != nil {
			return vs, fmt.Errorf("dashboard of campaign %s: %w", v.Campaign, err)
		}
		if ok && d.Repo == b.camps.String() {
			out[i].Dashboard = d.Number
		}
	}
	return out, nil
}

// putFileReport remembers what was reported of a default branch's file.
func (b *Bot) putFileReport(ctx context.Context, v fileVerdict, sha string, fence store.Fence) (int64, error) {
	key := campaignFileKey(v.File)
	var last fileReport
	version, err := getJSON(ctx, b.cfg.Store, key, &last)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	return putJSON(ctx, b.cfg.Store, key, fileReport{Digest: v.Digest, Result: v.Result, SHA: sha}, version, fence)
}

// campaignCheck renders what became of campaign files as a check run:
// a failure when one cannot start, neutral when a change is not applied,
// success otherwise; each problem in the summary and, when it is in the
// campaign file itself, as an annotation on its line.
func (b *Bot) campaignCheck(vs []fileVerdict) gh.NewCheckRun {
	var out gh.NewCheckRun
	failed, changed, removed, ended := 0, 0, 0, 0
	for _, v := range vs {
		switch {
		case v.failed():
			failed++
		case v.Result == fileChanged:
			changed++
		case v.Result == fileRemoved:
			removed++
		case v.Result == fileEnded:
			ended++
		}
	}
	switch {
	case failed > 0:
		out.Conclusion = rollout.CheckFailure
		out.Title = fmt.Sprintf("%d campaign files cannot start", failed)
		if failed == 1 {
			for _, v := range vs {
				if v.failed() {
					out.Title = fmt.Sprintf("%s cannot start: %s", v.File, count(len(v.Problems), "problem"))
				}
			}
		}
	case ended > 0 && changed+removed == 0:
		out.Conclusion, out.Title = rollout.CheckNeutral, fmt.Sprintf("%d campaign files of campaigns that ended: they start nothing", ended)
		if len(vs) == 1 {
			out.Title = vs[0].File + ": " + fileSentence(vs[0])
		}
	case changed > 0 && removed > 0:
		out.Conclusion, out.Title = rollout.CheckNeutral, fmt.Sprintf("%d campaign files changed and %d removed after their campaign started: not applied", changed, removed)
	case changed > 0:
		out.Conclusion, out.Title = rollout.CheckNeutral, fmt.Sprintf("%d campaign files changed after their campaign started: not applied", changed)
		if len(vs) == 1 {
			out.Title = vs[0].File + " changed after its campaign started: not applied"
		}
	case removed > 0:
		out.Conclusion, out.Title = rollout.CheckNeutral, fmt.Sprintf("%d campaign files removed while their campaign runs: the campaigns go on", removed)
		if len(vs) == 1 {
			out.Title = fmt.Sprintf("%s removed while campaign %s runs: the campaign goes on", vs[0].File, vs[0].Campaign)
		}
	default:
		out.Conclusion, out.Title = rollout.CheckSuccess, "Every campaign file can start or runs"
		if len(vs) == 1 {
			out.Title = vs[0].File + ": " + fileSentence(vs[0])
		}
	}
	var s strings.Builder
	n := 0
	for _, v := range vs {
		b.writeFileVerdict(&s, v)
		for _, p := range v.Problems {
			if p.File != b.camps.String()+"/"+v.File {
				continue // a blueprint's: its line is not this commit's
			}
			n++
			if len(out.Annotations) == gh.MaxAnnotations {
				continue
			}
			title := p.Field
			if title == "" {
				title = v.File
			}
			out.Annotations = append(out.Annotations, gh.Annotation{Path: v.File, StartLine: max(p.Line, 1), Level: "failure", Title: title, Message: p.Reason})
		}
		for _, w := range v.Warnings {
			if w.File != b.camps.String()+"/"+v.File || w.Line == 0 || len(out.Annotations) == gh.MaxAnnotations {
				continue // a warning about the fleet, not a line
			}
			title := w.Field
			if title == "" {
				title = v.File
			}
			out.Annotations = append(out.Annotations, gh.Annotation{Path: v.File, StartLine: max(w.Line, 1), Level: "warning", Title: title, Message: w.Message})
		}
	}
	if n > gh.MaxAnnotations {
		fmt.Fprintf(&s, "\nThe first %d of %d problems are annotated on their lines; the list above has every one.\n", gh.MaxAnnotations, n)
	}
	out.Summary = clipAt(s.String(), maxOutput)
	return out
}

// fileSentence says in a few words what became of a campaign file.
func fileSentence(v fileVerdict) string {
	switch v.Result {
	case fileStarted:
		return fmt.Sprintf("campaign %s started", v.Campaign)
	case fileRunning:
		return fmt.Sprintf("campaign %s runs from it", v.Campaign)
	case fileChanged:
		return fmt.Sprintf("campaign %s started from %s; this change is not applied", v.Campaign, v.From)
	case fileRemoved:
		return fmt.Sprintf("campaign %s started from %s and goes on; removing the file does not stop it", v.Campaign, v.From)
	case fileEnded:
		return fmt.Sprintf("campaign %s, started from %s, ended (%s); this file starts nothing", v.Campaign, v.From, v.Ended)
	case fileCanRun:
		return fmt.Sprintf("campaign %s can start once this is merged", v.Campaign)
	case fileInvalid:
		return "invalid: it cannot start"
	}
	return "refused: it cannot start"
}

// writeFileVerdict writes one file's verdict and its problems, one a line,
// each naming file, line and field.
func (b *Bot) writeFileVerdict(s *strings.Builder, v fileVerdict) {
	fmt.Fprintf(s, "#### `%s`: %s\n\n", v.File, fileSentence(v))
	dashboard := "its dashboard issue"
	if v.Dashboard > 0 {
		dashboard = fmt.Sprintf("its dashboard issue #%d", v.Dashboard)
	}
	switch v.Result {
	case fileStarted:
		fmt.Fprintf(s, "Its first wave opens at once, or when its schedule allows. %s follows it, and each wave pull request carries the `fleetbot` check run.\n", upperFirst(dashboard))
	case fileRunning:
		if v.Dashboard > 0 {
			fmt.Fprintf(s, "%s follows it.\n", upperFirst(dashboard))
		}
	case fileChanged:
		fmt.Fprintf(s, "A campaign's file is read once, when it starts. To change course, abort it with `/fleet abort` in a comment on %s (or on one of its pull requests) and start a new campaign under a new name.\n", dashboard)
	case fileRemoved:
		fmt.Fprintf(s, "A campaign's file is read once, when it starts. To stop it, abort it with `/fleet abort` in a comment on %s (or on one of its pull requests); merged changes stay.\n", dashboard)
	case fileEnded:
		fmt.Fprintln(s, "A campaign runs once. To run a change again, give the campaign a new `metadata.name`.")
		if v.Dashboard > 0 {
			fmt.Fprintf(s, "%s has how it ended.\n", upperFirst(dashboard))
		}
	case fileInvalid, fileRefused:
		for _, p := range v.Problems {
			fmt.Fprintf(s, "- %s\n", b.problemLine(p))
		}
		fmt.Fprintln(s, "\n`fleetbot validate` and `fleetbot plan` run the same checks before a push.")
	}
	if len(v.Warnings) > 0 {
		if !strings.HasSuffix(s.String(), "\n\n") {
			s.WriteString("\n")
		}
		fmt.Fprintf(s, "%s:\n\n", count(len(v.Warnings), "warning"))
		for _, w := range v.Warnings {
			fmt.Fprintf(s, "- %s\n", b.problemLine(&rollout.FieldError{File: w.File, Line: w.Line, Field: w.Field, Reason: w.Message}))
		}
	}
	fmt.Fprintln(s)
}

// problemLine writes one problem as "`file:line` `field`: reason", the file
// repository-relative when it is in the campaign repository.
func (b *Bot) problemLine(p *rollout.FieldError) string {
	where := strings.TrimPrefix(p.File, b.camps.String()+"/")
	if p.Line > 0 {
		where += fmt.Sprintf(":%d", p.Line)
	}
	line := "`" + where + "`"
	if p.Field != "" {
		line += " `" + p.Field + "`"
	}
	return line + ": " + p.Reason
}

// campaignsComment tells a pull request what became of its campaign files.
func (b *Bot) campaignsComment(sha string, vs []fileVerdict) string {
	var s strings.Builder
	fmt.Fprintln(&s, campaignsMarker)
	failed, noted := 0, 0
	for _, v := range vs {
		switch {
		case v.failed():
			failed++
		case v.unapplied():
			noted++
		}
	}
	switch {
	case failed > 0:
		fmt.Fprintf(&s, "### fleetbot: %s of %s cannot start\n\n", count(failed, "campaign file"), shortSHA(sha))
	case noted > 0:
		verb := "change"
		if noted == 1 {
			verb = "changes"
		}
		fmt.Fprintf(&s, "### fleetbot: %s of %s %s no campaign\n\n", count(noted, "campaign file"), shortSHA(sha), verb)
	default:
		fmt.Fprintf(&s, "### fleetbot: the campaign files of %s can start\n\n", shortSHA(sha))
	}
	for _, v := range vs {
		b.writeFileVerdict(&s, v)
	}
	if failed > 0 {
		fmt.Fprintf(&s, "The `%s` check run on %s points at each line.\n", CampaignCheckName, shortSHA(sha))
	} else {
		fmt.Fprintf(&s, "The `%s` check run on %s says the same.\n", CampaignCheckName, shortSHA(sha))
	}
	return s.String()
}

// count words a number of things: "1 problem", "2 problems".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// onCampaignPR vets the campaign files a pull request into the campaign
// repository's default branch adds or changes, on its head, as serve will
// once it merges: the CampaignCheckName check run on the head says whether
// each can start, and a comment lists the problems of those that cannot.
func (b *Bot) onCampaignPR(ctx context.Context, e *webhooks.PullRequest) (bool, error) {
	if (repoName{e.Owner, e.Repo}) != b.camps || (e.Action != "opened" && e.Action != "reopened" && e.Action != "synchronize") {
		return false, nil
	}
	api, err := b.cfg.GitHub.API(ctx, e.Owner, e.Repo)
	if err != nil {
		return false, err
	}
	// GET /repos/{owner}/{repo}/pulls/{pull_number}/files
	// https://docs.github.com/rest/pulls/pulls#list-pull-requests-files
	changed, err := api.PullRequestFiles(ctx, e.Owner, e.Repo, e.Number)
	if err != nil {
		return false, fmt.Errorf("list the files of #%d: %w", e.Number, err)
	}
	var files, removed []string
	for _, f := range changed {
		switch {
		case !b.isCampaignFile(f.Filename):
		case f.Status == "removed":
			removed = append(removed, f.Filename)
		default:
			files = append(files, f.Filename)
		}
	}
	if len(files) == 0 && len(removed) == 0 {
		return false, nil
	}
	// GET /repos/{owner}/{repo}
	// https://docs.github.com/rest/repos/repos#get-a-repository
	meta, err := api.Repository(ctx, e.Owner, e.Repo)
	if err != nil {
		return false, fmt.Errorf("read repository %s: %w", b.camps, err)
	}
	if e.BaseRef != meta.DefaultBranch {
		return false, nil // serve reads campaign files from the default branch only
	}
	var vs []fileVerdict
	for _, f := range files {
		// GET /repos/{owner}/{repo}/contents/{path}?ref={sha}
		// https://docs.github.com/rest/repos/contents#get-repository-content
		src, err := api.Contents(ctx, e.Owner, e.Repo, f, e.HeadSHA)
		if err != nil {
			return true, fmt.Errorf("read %s at %s: %w", f, e.HeadSHA, err)
		}
		v, err := b.readCampaign(ctx, f, src, func(c *rollout.Campaign, v fileVerdict) (fileVerdict, error) {
			warnings, err := b.vet(ctx, f, c)
			var r *refusal
			switch {
			case errors.As(err, &r):
				v.Result, v.Problems = fileRefused, b.problems(f, src, r.err)
			case err != nil:
				return v, err
			default:
				v.Result, v.Warnings = fileCanRun, warnings
			}
			return v, nil
		})
		if err != nil {
			return true, fmt.Errorf("vet %s: %w", f, err)
		}
		vs = append(vs, v)
	}
	gone, err := b.removedCampaigns(ctx, removed)
	if err != nil {
		return true, fmt.Errorf("the campaigns of the files #%d removes: %w", e.Number, err)
	}
	if vs = append(vs, gone...); len(vs) == 0 {
		return true, nil // it removes files no running campaign started from
	}
	return true, b.reportCampaignFiles(ctx, e.HeadSHA, vs, &prTarget{api: api, repo: b.camps, number: e.Number})
}
