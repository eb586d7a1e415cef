package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/spf13/cobra"
)

// setOptions are the inputs of `fleetbot set`.
type setOptions struct {
	file     string
	path     string
	value    string
	expect   *string
	quote    bool
	document int
}

func newSetCmd() *cobra.Command {
	opts := &setOptions{}
	var expect string
	cmd := &cobra.Command{
		Use:   "set FILE KEYPATH VALUE",
		Short: "Change one scalar in a YAML file, keeping every other byte",
		Long: `Set changes the scalar at KEYPATH in FILE to VALUE and leaves every other
byte of the file as it was: comments, indentation, quoting, key order, line
endings. KEYPATH is dot-separated; write \. for a dot inside a key and use
numbers to index sequences. The value keeps the scalar's quoting; an edit
that would change how the value is read (a plain 1.30 is the number 1.3) is
refused unless --quote asks for a quoted string. The file is replaced
atomically, or left untouched when the edit is refused.`,
		Example: `  fleetbot set tenants/tenant-a/dev.yaml services.eks.config.a-dev-cpu-1.version 1.30 --expect 1.29
  fleetbot set values.yaml 'metadata.annotations.example\.com/team' payments`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.file, opts.path, opts.value = args[0], args[1], args[2]
			if cmd.Flags().Changed("expect") {
				opts.expect = &expect
			}
			return runSet(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&expect, "expect", "", "refuse unless the file holds this value now (or VALUE already)")
	cmd.Flags().BoolVar(&opts.quote, "quote", false, "write VALUE as a string, double-quoting it when plain text would be read as another type")
	cmd.Flags().IntVar(&opts.document, "document", -1, "index of the document to edit in a multi-document file, counted from 0 (default: the only document with KEYPATH)")
	return cmd
}

func runSet(cmd *cobra.Command, opts *setOptions) error {
	path, err := yamledit.ParsePath(opts.path)
	if err != nil {
		return err
	}
	// Edit the file a symbolic link points to, so the link itself survives.
	real, err := filepath.EvalSymlinks(opts.file)
	if err != nil {
		return fmt.Errorf("set %s: %w", opts.path, err)
	}
	src, err := os.ReadFile(real)
	if err != nil {
		return fmt.Errorf("set %s: %w", opts.path, err)
	}
	res, err := yamledit.Set(opts.file, src, yamledit.Edit{
		Path: path, Value: opts.value, Expect: opts.expect, Quote: opts.quote, Document: opts.document,
	})
	if err != nil {
		return err
	}
	if !res.Changed() {
		fmt.Fprintf(cmd.OutOrStdout(), "%s: %s unchanged\n", opts.file, path)
		return nil
	}
	if err := writeAtomic(real, res.Bytes); err != nil {
		return fmt.Errorf("set %s in %s: %w", opts.path, opts.file, err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %s = %s\n", opts.file, path, opts.value)
	return nil
}

// writeAtomic replaces name with data through a temporary file in the same
// directory, keeping the file's permission bits.
func writeAtomic(name string, data []byte) (err error) {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(info.Mode().Perm()); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
