package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/config"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/store/boltstore"
)

// Exit codes of the campaign commands besides 0 (done, or nothing to do)
// and 1 (refused, unknown campaign, bad input): 2 for a configuration
// problem, as serve, and 3 when the campaign took the operation but
// carrying out its actions on GitHub failed.
const exitActionsFailed = 3

// campaignOptions are the flags of `fleetbot campaign ...`.
type campaignOptions struct {
	config    string
	server    string
	tokenFile string
	by        string
	reason    string
	json      bool
	format    string
}

func newCampaignCmd() *cobra.Command {
	opts := &campaignOptions{}
	cmd := cli.ServerCommand(&cobra.Command{
		Use: "campaign",
		Long: `Show a campaign's state, or operate on it as the /fleet commands do.

With --server URL (or api.url in the configuration) the command asks the
running fleetbot serve at URL through its operations API, with the bearer
token of --token-file (or api.tokenFile); --config is then optional.
Otherwise it opens the store of the serve configuration itself and acts as
the same GitHub App, under the replica id of the configuration with "-cli"
appended. An operation waits while a replica holds the campaign's lease,
then acts and prints the new phase and what changed; the bot's log (on
stderr, or serve's) says what it did on GitHub.

Exit status: 0 done (or nothing to do), 1 refused, unknown campaign or bad
input, 2 configuration problem, 3 the operation was taken but carrying it
out on GitHub failed (run it again: it is safe to repeat).

With the bbolt store the file is locked while serve runs: go through serve
(--server, or api.url), stop serve first, or use DynamoDB.`,
	})
	cmd.PersistentFlags().StringVar(&opts.config, "config", "", "serve configuration file (YAML)")
	cmd.PersistentFlags().StringVar(&opts.server, "server", "", "URL of a running fleetbot serve to operate through (default: api.url of --config)")
	cmd.PersistentFlags().StringVar(&opts.tokenFile, "token-file", "", "file holding the bearer token of --server (default: api.tokenFile of --config)")
	cmd.PersistentFlags().StringVar(&opts.by, "by", defaultActor(), "who operates, recorded as evidence")

	status := &cobra.Command{
		Use:   "status --config FILE NAME",
		Short: "Print a campaign's phase and a table of its waves, pull requests and clusters",
		Args:  namedArgs([]string{"NAME"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCampaignStatus(cmd, opts, args[0])
		},
	}
	status.Flags().BoolVar(&opts.json, "json", false, "print the campaign's state as JSON")

	op := func(use, short string, names []string, optional int, event func(args []string) (rollout.Event, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  namedArgs(names[:len(names)-optional], names[len(names)-optional:]...),
			RunE: func(cmd *cobra.Command, args []string) error {
				ev, err := event(args)
				if err != nil {
					return err
				}
				return runCampaignOperation(cmd, opts, args[0], ev)
			},
		}
	}
	skip := op("skip --config FILE NAME CLUSTER --reason TEXT", "Leave a cluster out of the campaign, saying why",
		[]string{"NAME", "CLUSTER"}, 0, func(args []string) (rollout.Event, error) {
			if strings.TrimSpace(opts.reason) == "" {
				return nil, fmt.Errorf("skip: --reason is required: say why cluster %s is left out", args[1])
			}
			return rollout.SkipCluster{Cluster: args[1], Reason: opts.reason, By: opts.by}, nil
		})
	skip.Flags().StringVar(&opts.reason, "reason", "", "why the cluster is left out (required)")
	abort := op("abort --config FILE NAME [--reason TEXT]", "End the campaign for good, closing its unmerged pull requests",
		[]string{"NAME"}, 0, func([]string) (rollout.Event, error) {
			return rollout.Abort{Reason: opts.reason, By: opts.by}, nil
		})
	abort.Flags().StringVar(&opts.reason, "reason", "", "why the campaign is aborted")

	cmd.AddCommand(status,
		op("pause --config FILE NAME", "Stop opening pull requests and running gates; facts are still recorded",
			[]string{"NAME"}, 0, func([]string) (rollout.Event, error) { return rollout.Pause{By: opts.by}, nil }),
		op("resume --config FILE NAME", "Continue a paused campaign, or a halted one back within its failure budget",
			[]string{"NAME"}, 0, func([]string) (rollout.Event, error) { return rollout.Resume{By: opts.by}, nil }),
		op("retry --config FILE NAME [CLUSTER]", "Verify failed clusters again, or reopen pull requests closed without merge",
			[]string{"NAME", "CLUSTER"}, 1, func(args []string) (rollout.Event, error) {
				ev := rollout.Retry{By: opts.by}
				if len(args) > 1 {
					ev.Cluster = args[1]
				}
				return ev, nil
			}),
		skip,
		op("approve --config FILE NAME WAVE", "Approve a wave that waits for a fleet admin's approval",
			[]string{"NAME", "WAVE"}, 0, func(args []string) (rollout.Event, error) {
				n, err := strconv.Atoi(args[1])
				if err != nil || n < 1 {
					return nil, fmt.Errorf("approve: WAVE %q: want a wave number from 1", args[1])
				}
				return rollout.Approve{Wave: n, By: opts.by}, nil
			}),
		op("rollback --config FILE NAME", "Open revert pull requests for the merged waves, last wave first",
			[]string{"NAME"}, 0, func([]string) (rollout.Event, error) { return rollout.Rollback{By: opts.by}, nil }),
		abort,
		newCampaignExportCmd(opts),
	)
	return cmd
}

// namedArgs checks the positional arguments, naming the one missing or
// the one too many.
func namedArgs(required []string, optional ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		all := append(append([]string(nil), required...), optional...)
		switch {
		case len(args) < len(required):
			return fmt.Errorf("%s: missing %s (usage: fleetbot campaign %s)", cmd.Name(), required[len(args)], cmd.Use)
		case len(args) > len(all):
			return fmt.Errorf("%s: unexpected argument %q (usage: fleetbot campaign %s)", cmd.Name(), args[len(all)], cmd.Use)
		}
		for i, a := range args {
			if strings.TrimSpace(a) == "" {
				return fmt.Errorf("%s: %s is empty", cmd.Name(), all[i])
			}
		}
		return nil
	}
}

// defaultActor names the person running the command, for the evidence.
func defaultActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli:unknown" // not a GitHub login, which the dashboard would mention
}

// withBot opens the store and builds a bot as serve does, under its own
// replica id and a mirror directory of its own (two processes must not
// share one), and calls f with it.
func withBot(cmd *cobra.Command, cfg *config.Serve, f func(ctx context.Context, b *bot.Bot) error) error {
	ctx := cmd.Context()
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	st, err := openStore(ctx, cfg)
	if errors.Is(err, boltstore.ErrLocked) {
		return fmt.Errorf("%w; while serve holds it, send the command to serve: --server URL --token-file FILE (or api.url and api.tokenFile in the configuration)", err)
	}
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()
	mirror, err := os.MkdirTemp("", "fleetbot-cli-mirror-")
	if err != nil {
		return fmt.Errorf("mirror directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(mirror) }()
	svc, err := newService(cfg, st, log, prometheus.NewRegistry(), cliReplica(cfg.ReplicaID), mirror)
	if err != nil {
		return err
	}
	return f(ctx, svc.Bot())
}

// cliReplica is the replica id the campaign commands lease campaigns as.
func cliReplica(serve string) string {
	if serve == "" {
		host, _ := os.Hostname()
		serve = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	return serve + "-cli"
}

func runCampaignStatus(cmd *cobra.Command, opts *campaignOptions, name string) error {
	return withCampaigns(cmd, opts, func(ctx context.Context, c campaigns) error {
		st, ok, err := c.State(ctx, name)
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("no campaign %s in the store", name)
		case opts.json:
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(st)
		}
		return printStatus(cmd.OutOrStdout(), st)
	})
}

func runCampaignOperation(cmd *cobra.Command, opts *campaignOptions, name string, ev rollout.Event) error {
	return withCampaigns(cmd, opts, func(ctx context.Context, c campaigns) error {
		before, after, err := c.Operate(ctx, name, ev)
		out := cmd.OutOrStdout()
		var machine *rollout.EventError
		answered := errors.As(err, &machine)
		switch {
		case errors.Is(err, bot.ErrAPIUnusable), errors.Is(err, bot.ErrUnanswered), errors.Is(err, bot.ErrNotTaken), errors.As(err, new(*notTaken)):
			return err
		case errors.Is(err, bot.ErrNoCampaign):
			return fmt.Errorf("no campaign %s in the store", name)
		case answered && !errors.Is(err, rollout.ErrIgnored):
			return fmt.Errorf("%s refused: %s", ev.Kind(), machine.Reason)
		case answered:
			fmt.Fprintf(out, "Campaign %s: %s; nothing to do: %s\n", name, after.Phase, machine.Reason)
			if err == error(machine) { //nolint:errorlint // identity: the machine's answer alone, no failed action joined to it
				return nil
			}
			// A rollback asked again carried the reverts out again.
		default:
			printChanges(out, ev, before, after)
		}
		if err != nil {
			return cli.Exit(exitActionsFailed, fmt.Errorf("%s was taken, but carrying it out failed (safe to run again): %w", ev.Kind(), err))
		}
		return nil
	})
}

// printChanges says what an operation changed: the campaign's phase, and
// each wave, pull request and cluster that moved.
func printChanges(out io.Writer, ev rollout.Event, before, after rollout.State) {
	fmt.Fprintf(out, "Campaign %s: %s -> %s (%s)\n", after.Campaign, before.Phase, after.Phase, ev.Kind())
	for i, w := range after.Waves {
		if i >= len(before.Waves) {
			break
		}
		was := before.Waves[i]
		if w.Phase != was.Phase {
			fmt.Fprintf(out, "  wave %d: %s -> %s\n", w.Number, was.Phase, w.Phase)
		}
		if !w.RevertedAt.IsZero() && was.RevertedAt.IsZero() {
			fmt.Fprintf(out, "  wave %d: revert pull requests asked for\n", w.Number)
		}
		for j, pr := range w.PRs {
			if j < len(was.PRs) && pr.Status != was.PRs[j].Status {
				fmt.Fprintf(out, "  wave %d, %s pull request %s: %s -> %s\n", w.Number, pr.Tenant, prNumber(pr.Number), was.PRs[j].Status, pr.Status)
			}
		}
		for j, c := range w.Clusters {
			if j < len(was.Clusters) && c.Phase != was.Clusters[j].Phase {
				fmt.Fprintf(out, "  wave %d, cluster %s: %s -> %s\n", w.Number, c.Name, was.Clusters[j].Phase, c.Phase)
			}
		}
	}
}

func prNumber(n int) string {
	if n == 0 {
		return "(not open yet)"
	}
	return "#" + strconv.Itoa(n)
}

// printStatus prints a campaign's phase, why it halted, what it waits for
// (the status page and the dashboard name a maintenance window's time),
// and a table with a row per pull request and cluster of each wave.
func printStatus(out io.Writer, st rollout.State) error {
	revertible := "forward-only"
	if st.Policy.Revertible {
		revertible = "revertible"
	}
	fmt.Fprintf(out, "Campaign %s: %s\n", st.Campaign, st.Phase)
	change := st.Policy.Described
	if change == "" { // a state stored before it kept the change's words
		change = st.Policy.Change + ", " + revertible
	}
	fmt.Fprintf(out, "Change: %s; failure budget %d\n", change, st.Policy.MaxFailures)
	if st.HaltReason != "" {
		fmt.Fprintf(out, "Halted: %s\n", oneLine(st.HaltReason))
	}
	if st.Phase == rollout.CampaignPaused {
		fmt.Fprintf(out, "Paused from %s\n", st.PausedFrom)
	}
	// Who ended it, or asked for the rollback, and why.
	asked, what := rollout.CampaignRollingBack, "Rollback asked for"
	if st.Phase == rollout.CampaignAborted {
		asked, what = rollout.CampaignAborted, "Aborted"
	}
	if h, ok := st.Entered(asked); ok {
		line := fmt.Sprintf("%s on %s", what, h.At.UTC().Format(time.RFC3339))
		if h.By != "" {
			line += " by " + h.By
		}
		if h.Detail != "" {
			line += ": " + oneLine(h.Detail)
		}
		fmt.Fprintln(out, line)
	}
	if w := st.Waiting(time.Time{}); w.Kind != rollout.WaitNothing &&
		(w.Kind != rollout.WaitPerson || (st.HaltedForFailures && slices.Contains(w.Commands, "/fleet resume"))) {
		// A halt for failures since retried or skipped waits for a resume,
		// which the halt's line above does not say.
		fmt.Fprintf(out, "Waiting for %s\n", oneLine(w.Text))
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WAVE\tPHASE\tPULL REQUEST\tTENANT\tSTATUS\tCLUSTER\tPHASE\tGATE\tDETAIL")
	for _, w := range st.Waves {
		for i, row := range statusRows(w) {
			var cells [9]string
			for k := range cells {
				cells[k] = "-"
			}
			if i == 0 {
				cells[0], cells[1] = strconv.Itoa(w.Number), string(w.Phase)
				switch w.Kind {
				case rollout.WaveCleanup:
					cells[0] += " clean-up"
				case rollout.WaveRevert:
					cells[0] += fmt.Sprintf(" revert of %d", w.Reverts)
				}
				switch {
				case st.Reverted(w):
					cells[1] += " (reverted)"
				case !w.RevertedAt.IsZero():
					cells[1] += " (revert asked)"
				case w.Phase == rollout.WaveSucceeded && w.AllSkipped():
					cells[1] += " (every cluster skipped)"
				}
				if st.NotReached(w) {
					cells[1] += " (not reached)"
				}
				if w.SkipReason != "" {
					cells[8] = "skipped: " + oneLine(w.SkipReason)
				}
			} else {
				cells[0], cells[1] = "", ""
			}
			if pr := row.pr; pr != nil {
				cells[2], cells[3], cells[4] = prNumber(pr.Number), pr.Tenant, string(pr.Status)
			} else {
				cells[2], cells[3], cells[4] = "", "", ""
			}
			if c := row.c; c != nil {
				cells[5], cells[6] = c.Name, string(st.ClusterPhaseShown(w, *c))
				if c.FailedGate != "" {
					cells[7] = c.FailedGate
				}
				switch {
				case c.FailedDetail != "":
					cells[8] = oneLine(c.FailedDetail)
				case c.SkipReason != "":
					cells[8] = "skipped: " + oneLine(c.SkipReason)
				}
			} else {
				cells[5], cells[6] = "", ""
			}
			fmt.Fprintln(tw, strings.Join(cells[:], "\t"))
		}
	}
	return tw.Flush()
}

// statusRow is one line of a wave in printStatus: a pull request (on the
// first line of its tenant's clusters), a cluster, or both.
type statusRow struct {
	pr *rollout.PRState
	c  *rollout.ClusterState
}

// statusRows lays out wave w: each pull request beside its tenant's
// clusters, then the clusters of tenants without one (a wave not opened).
func statusRows(w rollout.WaveState) []statusRow {
	var rows []statusRow
	placed := make([]bool, len(w.Clusters))
	for i := range w.PRs {
		pr := &w.PRs[i]
		first := len(rows)
		for j := range w.Clusters {
			if c := &w.Clusters[j]; !placed[j] && c.Tenant == pr.Tenant {
				placed[j] = true
				rows = append(rows, statusRow{c: c})
			}
		}
		if len(rows) == first {
			rows = append(rows, statusRow{})
		}
		rows[first].pr = pr
	}
	for j := range w.Clusters {
		if !placed[j] {
			rows = append(rows, statusRow{c: &w.Clusters[j]})
		}
	}
	if len(rows) == 0 {
		rows = append(rows, statusRow{})
	}
	return rows
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
