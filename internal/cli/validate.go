package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/gitops"
	"github.com/fleetbot/fleetbot/rollout"
)

// validateOptions are the flags of `fleetbot validate`.
type validateOptions struct {
	repos     []string
	layout    string
	campaigns []string
}

func newValidateCmd() *cobra.Command {
	opts := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate [--repo DIR ...] [--campaign FILE ...]",
		Short: "Check layout, blueprint, member and label files",
		Long: `Check the files that describe the fleet and print every problem as
file:line: severity: message. Errors (a duplicate cluster name, a missing or
unquoted version, unreadable YAML, an unknown key in a layout file) make the
command fail; warnings (a label file no hierarchy path loads, a label that is
not a string) do not. --campaign checks campaign files: every problem is
printed as file:line: field: reason. With --repo too, each campaign gets
every check fleetbot serve runs before it starts one: its selector against
the fleet, the plan, the gates and waves the rollout needs, and that every
edit of every wave applies to the files; when the fleet has errors, each
campaign is named as not checked against it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runValidate(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.repos, "repo", nil, "repository directory (repeatable)")
	f.StringVar(&opts.layout, "layout", "", "layout file to apply to every repository instead of their .fleetbot.yaml")
	f.StringArrayVar(&opts.campaigns, "campaign", nil, "campaign file to check (repeatable)")
	cmd.MarkFlagsOneRequired("repo", "campaign")
	return cmd
}

func runValidate(cmd *cobra.Command, opts *validateOptions) error {
	out := cmd.OutOrStdout()
	bad := 0
	var campaigns []*rollout.Campaign
	var files []string
	for _, path := range opts.campaigns {
		c, err := loadCampaign(path)
		if err != nil {
			fmt.Fprintln(out, err)
			bad++
			continue
		}
		if err := rollout.CheckSchedule(c, time.Now()); err != nil {
			fmt.Fprintf(out, "%s: %v\n", placeOf(path, "spec.schedule"), err)
			bad++
			continue
		}
		campaigns, files = append(campaigns, c), append(files, path)
	}
	if len(opts.repos) == 0 {
		// Without a fleet, check what needs none: the machine's policy.
		for i, c := range campaigns {
			if err := rollout.CheckPolicy(rollout.NewPolicy(c, nil), 0); err != nil {
				fmt.Fprintf(out, "%s: the campaign cannot start: %v\n", files[i], err)
				bad++
				continue
			}
			fmt.Fprintf(out, "%s: campaign is valid (give --repo to check it against the fleet)\n", files[i])
		}
		if bad > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%s not valid", plural(bad, "campaign file"))}
		}
		return nil
	}
	inv, err := loadInventory(cmd, opts.repos, opts.layout)
	if err != nil {
		return err
	}
	for _, d := range inv.Diagnostics {
		fmt.Fprintln(out, d)
	}
	errs, warns := len(inv.Diagnostics.Errors()), len(inv.Diagnostics.Warnings())
	fmt.Fprintf(out, "%s in %s: %s, %s\n",
		plural(len(inv.Clusters), "cluster"), pluralRepos(len(inv.Repos)),
		plural(errs, "error"), plural(warns, "warning"))
	for i, c := range campaigns {
		if errs > 0 {
			// gitops.Prepare stops at the inventory's errors: each
			// campaign would only repeat them. Say so, not nothing.
			fmt.Fprintf(out, "%s: campaign not checked against the fleet: the fleet has errors (fix them and validate again)\n", files[i])
			continue
		}
		if !validateAgainstFleet(cmd, files[i], c, opts) {
			bad++
		}
	}
	switch {
	case errs > 0 && bad > 0:
		return &exitError{code: 1, err: fmt.Errorf("validation found %s and %s not valid", plural(errs, "error"), plural(bad, "campaign file"))}
	case errs > 0:
		return &exitError{code: 1, err: fmt.Errorf("validation found %s", plural(errs, "error"))}
	case bad > 0:
		return &exitError{code: 1, err: fmt.Errorf("%s not valid", plural(bad, "campaign file"))}
	}
	return nil
}

// validateAgainstFleet runs every check serve runs before it starts c
// (gitops.Prepare) and prints the outcome; it reports whether c passed.
func validateAgainstFleet(cmd *cobra.Command, file string, c *rollout.Campaign, opts *validateOptions) bool {
	out := cmd.OutOrStdout()
	var lopts []gitops.Option
	if opts.layout != "" {
		lopts = append(lopts, gitops.WithLayout(opts.layout))
	}
	prep, err := gitops.Prepare(cmd.Context(), opts.repos, c, nil, lopts...)
	if prep != nil {
		for _, d := range prep.Diagnostics {
			fmt.Fprintln(out, d)
		}
	}
	if err != nil {
		var fe rollout.ErrorList
		if errors.As(err, &fe) {
			fmt.Fprintln(out, err) // each line names the file already
		} else {
			fmt.Fprintf(out, "%s: %v\n", file, err)
		}
		return false
	}
	if err := prep.Plan.Idle(); err != nil {
		fmt.Fprintf(out, "%s: %v\n", file, err)
		return false
	}
	// As plan prints them, and serve's fleetbot/campaigns check run.
	for _, w := range rollout.SupportWarnings(prep.Plan, rollout.EKSReleases, time.Now()) {
		fmt.Fprintf(out, "%s: warning: %s\n", file, w)
	}
	clusters := 0
	for _, w := range prep.Plan.Waves {
		clusters += len(w.Clusters)
	}
	fmt.Fprintf(out, "%s: campaign is ready to start: %s, %s, %d skipped\n",
		file, plural(len(prep.Plan.Waves), "wave"), plural(clusters, "cluster step"), len(prep.Plan.Skipped))
	return true
}

func pluralRepos(n int) string {
	if n == 1 {
		return "1 repository"
	}
	return fmt.Sprintf("%d repositories", n)
}
