package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/decode"
)

// planOptions are the flags of `fleetbot plan`.
type planOptions struct {
	repos     []string
	layout    string
	campaign  string
	format    string
	diff      bool
	at        string
	perWave   time.Duration
	preflight bool
}

// loadCampaign reads a campaign file and parses it; rollout itself never
// reads a disk.
func loadCampaign(path string) (*rollout.Campaign, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read campaign: %w", err)
	}
	return rollout.ParseCampaign(path, src)
}

// newPlanCmd is plan, asking preflight for --preflight; fleetbot, which has
// none, hands such a command line to fleetbot-server (inServer).
func newPlanCmd(preflight PreflightFunc, inServer func() error) *cobra.Command {
	opts := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan --repo DIR [--repo DIR ...] --campaign FILE",
		Short: "Show the waves and pull requests a campaign would make",
		Long: `Plan a campaign against the fleet described by one or more repositories:
which clusters go in which wave, in which order, and the pull request of each
tenant with its edits. Clusters left out are listed with the reason.

--diff prints the unified diff each pull request would carry, computed by
applying the edits, wave after wave, to the files as they are now.
--at TIME shows when each wave could start under the campaign's schedule,
counting --per-wave (default: the bake time plus the progress deadline) for
each wave. --diff and --at print text after the plan, so they go with the
table format only, not with json or mermaid. A refused plan (a safety rule,
a selector naming what the fleet does not have, an edit the editor cannot
make) exits with status 2 and the rule it breaks; so does a plan serve would
not start (no gates, a schedule that allows no wave), after it is shown.

plan and inventory keep their memory under a soft limit: 256 MiB, or a
quarter above the heap found live when more is (a fleet of 100,000 clusters
plans in under 300 MiB); GOMEMLIMIT or GOGC in the environment replace it.

--preflight asks EKS, for an eksVersion campaign, whether each cluster is
ready for its first hop, in the tenant's account through spec.gates.eks's
role (AWS credentials and endpoints from the environment, as serve takes
them): upgrade insights, add-on versions and node groups. The clusters it
would hold back are listed after the plan with the reason; serve asks again
before each wave's pull requests (spec.gates.eks.preflight).`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{loadsFleet: "yes"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.preflight && preflight == nil {
				return inServer()
			}
			return runPlan(cmd, opts, preflight)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.repos, "repo", nil, "repository directory (repeatable)")
	f.StringVar(&opts.layout, "layout", "", "layout file to apply to every repository instead of their .fleetbot.yaml")
	f.StringVar(&opts.campaign, "campaign", "", "campaign file")
	f.StringVar(&opts.format, "format", "table", "output format: table, json or mermaid")
	f.BoolVar(&opts.diff, "diff", false, "print the unified diff of every pull request")
	f.StringVar(&opts.at, "at", "", "show when each wave could start, from this time (RFC 3339)")
	f.DurationVar(&opts.perWave, "per-wave", 0, "time a wave is expected to take, for --at (default bake + progressDeadline)")
	f.BoolVar(&opts.preflight, "preflight", false, "ask EKS whether each cluster is ready for its first hop (eksVersion campaigns)")
	_ = cmd.MarkFlagRequired("repo")
	_ = cmd.MarkFlagRequired("campaign")
	return cmd
}

func runPlan(cmd *cobra.Command, opts *planOptions, preflight PreflightFunc) error {
	if opts.format != "table" && opts.format != "json" && opts.format != "mermaid" {
		return fmt.Errorf("--format %q: want table, json or mermaid", opts.format)
	}
	// Both print text after the plan, which a json or mermaid plan's
	// reader could no longer parse.
	var textFlags []string
	if opts.diff {
		textFlags = append(textFlags, "--diff")
	}
	if opts.at != "" {
		textFlags = append(textFlags, "--at")
	}
	if opts.format != "table" && len(textFlags) > 0 {
		return fmt.Errorf("--format %s with %s: --diff and --at print text after the plan, which would no longer parse as %s; use them with --format table",
			opts.format, strings.Join(textFlags, " and "), opts.format)
	}
	var at time.Time
	if opts.at != "" {
		t, err := time.Parse(time.RFC3339, opts.at)
		if err != nil {
			return fmt.Errorf("--at %q: want an RFC 3339 time such as 2026-12-01T09:00:00Z", opts.at)
		}
		at = t
	}
	c, err := loadCampaign(opts.campaign)
	if err != nil {
		return err
	}
	if opts.preflight && (c.Spec.Change.EKSVersion == nil || c.Spec.Gates.EKS == nil) {
		return fmt.Errorf("--preflight: %s: pre-flight asks EKS about an eksVersion change through spec.gates.eks's role; this campaign has no %s",
			opts.campaign, map[bool]string{true: "eksVersion change", false: "spec.gates.eks"}[c.Spec.Change.EKSVersion == nil])
	}
	// serve refuses a campaign whose schedule never lets a wave start
	// (bot's plan checks it first); the plan is still worth showing.
	scheduleErr := rollout.CheckSchedule(c, time.Now())
	prep, startErr, err := prepareCampaign(cmd, c, opts.repos, opts.layout, opts.diff, opts.preflight)
	if err != nil {
		return err
	}
	p := prep.Plan
	// Clusters whose version is past EKS's standard support, by the
	// release calendar fleetbot ships (docs/planner.md).
	for _, w := range rollout.SupportWarnings(p, rollout.EKSReleases, time.Now()) {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %s\n", opts.campaign, w)
	}

	out := cmd.OutOrStdout()
	switch opts.format {
	case "json":
		b, err := rollout.RenderJSON(p)
		if err != nil {
			return err
		}
		if _, err := out.Write(b); err != nil {
			return err
		}
	case "mermaid":
		fmt.Fprint(out, rollout.RenderMermaid(p))
	default:
		// Written as it goes: 11 MB for 100,000 clusters.
		bw := bufio.NewWriterSize(out, 64<<10)
		if err := rollout.WriteTable(bw, p); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if !at.IsZero() {
		// A schedule that allows no wave places none; the refusal below
		// says why.
		if err := writeWaveStarts(out, c, p, at, opts.perWave); err != nil && scheduleErr == nil {
			return err
		}
	}
	if opts.diff {
		if err := writePlanDiff(out, p, prep.Files); err != nil {
			return err
		}
	}
	if opts.preflight {
		// The table is read by people; json and mermaid stay parseable.
		w := out
		if opts.format != "table" {
			w = cmd.ErrOrStderr()
		}
		if err := preflight(cmd.Context(), w, c, p, prep.Inventory.Clusters); err != nil {
			return err
		}
	}
	// The plan is sound and shown; serve would still refuse it, the
	// schedule first, as serve checks it first.
	if scheduleErr != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: fleetbot serve would not start this campaign: %w", placeOf(opts.campaign, "spec.schedule"), scheduleErr)}
	}
	if startErr != nil {
		return &exitError{code: 2, err: fmt.Errorf("%s: fleetbot serve would not start this campaign: %w", opts.campaign, startErr.Err)}
	}
	return nil
}

// placeOf returns file:line of field in the campaign file, or the file
// alone when the file cannot be read again or holds no such field.
func placeOf(file, field string) string {
	src, err := os.ReadFile(file)
	if err != nil {
		return file
	}
	if line := decode.Line(src, field); line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// prepareCampaign runs every check serve runs before it starts c
// (gitops.Prepare) on the repositories. Warnings go to stderr. A plan a
// safety rule refuses, a selector naming what the fleet does not have and an
// edit the editor cannot make exit with status 2.
// A plan the state machine cannot start (no gates) comes back with the
// *gitops.StartError, so that it can be shown before the command fails.
// Prepared.Files, what each pull request makes of its files, is kept only
// when diff asks for it.
func prepareCampaign(cmd *cobra.Command, c *rollout.Campaign, repos []string, layout string, diff, clusters bool) (*gitops.Prepared, *gitops.StartError, error) {
	// The plan reads each cluster's effective labels, not the file and
	// line each comes from, and shows the inventory's warnings, not its
	// clusters (unless clusters asks for them).
	opts := []gitops.Option{gitops.WithoutLabelSources()}
	if !clusters {
		opts = append(opts, gitops.WithoutClusters())
	}
	if layout != "" {
		opts = append(opts, gitops.WithLayout(layout))
	}
	if !diff {
		opts = append(opts, gitops.WithoutFiles())
	}
	prep, err := gitops.Prepare(cmd.Context(), repos, c, nil, opts...)
	if prep != nil {
		for _, d := range append(prep.Inventory.Diagnostics.Warnings(), prep.Diagnostics...) {
			fmt.Fprintln(cmd.ErrOrStderr(), d)
		}
	}
	var (
		refused  *rollout.RefusedError
		apply    *gitops.ApplyError
		start    *gitops.StartError
		selector rollout.ErrorList // rollout.CheckSelector's, one problem a line
	)
	switch {
	case errors.As(err, &start):
		return prep, start, nil
	case errors.As(err, &selector):
		// Each line names the campaign file, line and field already.
		return nil, nil, &exitError{code: 2, err: err}
	case errors.As(err, &refused) || errors.As(err, &apply):
		return nil, nil, &exitError{code: 2, err: fmt.Errorf("plan refused: %w", err)}
	}
	return prep, nil, err
}

// writeWaveStarts prints when each wave could start from at.
func writeWaveStarts(w io.Writer, c *rollout.Campaign, p *rollout.Plan, at time.Time, perWave time.Duration) error {
	cal, err := c.Spec.Schedule.Compile()
	if err != nil {
		return err
	}
	if perWave == 0 {
		perWave = c.Spec.Strategy.Bake.Duration + c.Spec.Strategy.ProgressDeadline.Duration
	}
	starts, err := cal.WaveStarts(at, len(p.Waves), perWave)
	fmt.Fprintf(w, "\nWave starts from %s, %s per wave (%s):\n", at.Format(time.RFC3339), perWave, cal.Location())
	for i, s := range starts {
		fmt.Fprintf(w, "  wave %d  %s\n", p.Waves[i].Index, s.In(cal.Location()).Format("Mon 2006-01-02 15:04 MST"))
	}
	return err
}

// writePlanDiff prints the diff of every pull request: the files
// gitops.Prepare produced when it checked that the plan's edits apply, wave
// after wave, so a later wave's diff starts from what the earlier waves left
// (a second EKS hop from the first hop's version, a clean-up from the
// overrides the rollout created). A file serving many clusters is preceded
// by the clusters it reaches.
func writePlanDiff(w io.Writer, p *rollout.Plan, files [][][]gitops.FileResult) error {
	for i, wave := range p.Waves {
		for j, pr := range wave.PullRequests {
			owner := "tenant " + pr.Tenant
			if pr.Admin {
				owner = "fleet admins"
			}
			fmt.Fprintf(w, "\n# wave %d, %s (%s)\n", wave.Index, owner, pr.Repo)
			for _, f := range pr.Files {
				if r := f.DescribeReachUpTo(rollout.ReachShown); r != "" {
					fmt.Fprintf(w, "# %s\n", r)
				}
			}
			d, err := gitops.UnifiedDiff(files[i][j])
			if err != nil {
				return err
			}
			fmt.Fprint(w, d)
		}
	}
	return nil
}
