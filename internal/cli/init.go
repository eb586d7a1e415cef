package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/gitops"
)

// initOptions are the flags of `fleetbot init`.
type initOptions struct {
	repo  string
	write bool
}

func newInitCmd() *cobra.Command {
	opts := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init [--repo DIR] [--write]",
		Short: "Write the layout file of a fleet repository from the files it holds",
		Long: `Look at the YAML files of a fleet repository and write the layout file
(.fleetbot.yaml, docs/layout.md) that describes them: tenant blueprints,
fleet-member files (one cluster per file, keys at the root or under labels
and annotations, as in Argo CD cluster secrets and their values files) and
the label hierarchy. Files are told apart by the keys they hold.

The layout goes to standard output; --write writes it at the root of the
repository, and never over an existing one. What was found and what could
not be placed (files that look like fleet files but fit no section, keys
that could not be mapped) go to standard error. A repository in which no
fleet file is recognised makes the command fail.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.repo, "repo", ".", "repository directory")
	f.BoolVar(&opts.write, "write", false, "write .fleetbot.yaml at the root of the repository")
	return cmd
}

func runInit(cmd *cobra.Command, opts *initOptions) error {
	target := filepath.Join(opts.repo, gitops.LayoutFile)
	if opts.write {
		if _, err := os.Stat(target); err == nil {
			return fmt.Errorf("%s exists: fleetbot init does not overwrite it (move it away, or edit it)", target)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	rec, err := gitops.Recognise(cmd.Context(), opts.repo)
	stderr := cmd.ErrOrStderr()
	var nr *gitops.NotRecognisedError
	if errors.As(err, &nr) {
		writeUnplaced(cmd, nr.Unplaced)
		return fmt.Errorf("%w; see docs/adopting.md for a fleet that lives only in Terraform", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "looked at %s (%d YAML) in %s\n", plural(rec.Files, "file"), rec.YAML, opts.repo)
	for _, f := range rec.Found {
		fmt.Fprintln(stderr, "found:", f)
	}
	writeUnplaced(cmd, rec.Unplaced)
	if !opts.write {
		_, err := cmd.OutOrStdout().Write(rec.Layout)
		return err
	}
	if err := writeNew(target, rec.Layout); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: check it, fill in the owners, then run fleetbot validate --repo %s\n", target, opts.repo)
	return nil
}

func writeUnplaced(cmd *cobra.Command, us []gitops.Unplaced) {
	if len(us) == 0 {
		return
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "could not place %s:\n", plural(len(us), "item"))
	for _, u := range us {
		fmt.Fprintln(cmd.ErrOrStderr(), "  "+u.String())
	}
}
