package main

import (
	"fmt"

	"github.com/spf13/cobra"
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
printed as file:line: field: reason.`,
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
	bad := 0
	for _, path := range opts.campaigns {
		if _, err := loadCampaign(path); err != nil {
			fmt.Fprintln(cmd.OutOrStdout(), err)
			bad++
			continue
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: campaign is valid\n", path)
	}
	if len(opts.repos) == 0 {
		if bad > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%s not valid", plural(bad, "campaign file"))}
		}
		return nil
	}
	inv, err := loadInventory(cmd, opts.repos, opts.layout)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	for _, d := range inv.Diagnostics {
		fmt.Fprintln(out, d)
	}
	errs, warns := len(inv.Diagnostics.Errors()), len(inv.Diagnostics.Warnings())
	fmt.Fprintf(out, "%s in %s: %s, %s\n",
		plural(len(inv.Clusters), "cluster"), pluralRepos(len(inv.Repos)),
		plural(errs, "error"), plural(warns, "warning"))
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

func pluralRepos(n int) string {
	if n == 1 {
		return "1 repository"
	}
	return fmt.Sprintf("%d repositories", n)
}
