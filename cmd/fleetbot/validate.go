package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// validateOptions are the flags of `fleetbot validate`.
type validateOptions struct {
	repos  []string
	layout string
}

func newValidateCmd() *cobra.Command {
	opts := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate --repo DIR [--repo DIR ...]",
		Short: "Check layout, blueprint, member and label files",
		Long: `Check the files that describe the fleet and print every problem as
file:line: severity: message. Errors (a duplicate cluster name, a missing or
unquoted version, unreadable YAML, an unknown key in a layout file) make the
command fail; warnings (a label file no hierarchy path loads, a label that is
not a string) do not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runValidate(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.repos, "repo", nil, "repository directory (repeatable)")
	f.StringVar(&opts.layout, "layout", "", "layout file to apply to every repository instead of their .fleetbot.yaml")
	_ = cmd.MarkFlagRequired("repo")
	return cmd
}

func runValidate(cmd *cobra.Command, opts *validateOptions) error {
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
	if errs > 0 {
		return &exitError{code: 1, err: fmt.Errorf("validation found %s", plural(errs, "error"))}
	}
	return nil
}

func pluralRepos(n int) string {
	if n == 1 {
		return "1 repository"
	}
	return fmt.Sprintf("%d repositories", n)
}
