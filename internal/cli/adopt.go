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

// adoptOptions are the flags of `fleetbot adopt`.
type adoptOptions struct {
	from   string
	repo   string
	layout string
	dir    string
	write  bool
}

func newAdoptCmd() *cobra.Command {
	opts := &adoptOptions{}
	cmd := &cobra.Command{
		Use:   "adopt --from FILE [--repo DIR] [--layout FILE] [--dir PATH-TEMPLATE] [--write]",
		Short: "Write one fleet-member file per cluster listed by AWS or Terraform",
		Long: `Give a fleet that lives only in Terraform one file per cluster, in the
format of the layout's members section, so that fleetbot can read and change
it. --from is JSON: the output of aws eks describe-cluster (one, or an array
of them; tenant, env, fleet and canary from the tags, region and account from
the ARN) or of terraform output -json (every output, or one output's value: a
list of objects, or a map of cluster name to object, with name, tenant, env,
region, account, version, fleet and canary).

Each file goes where the members glob puts it (its one wildcard is the
cluster name), or where --dir says: a file or directory template with
{tenant}, {env} and {cluster}. The layout is the repository's .fleetbot.yaml
or --layout. A cluster without a tenant or env, or without the version the
layout requires, is an error naming the cluster and the field. Clusters the
repository already declares and files that exist are reported and left as
they are. Without --write the files are printed, not written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAdopt(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.from, "from", "", "JSON file: aws eks describe-cluster or terraform output -json")
	f.StringVar(&opts.repo, "repo", ".", "repository directory")
	f.StringVar(&opts.layout, "layout", "", "layout file instead of the repository's .fleetbot.yaml")
	f.StringVar(&opts.dir, "dir", "", "where each file goes: a template with {tenant}, {env} and {cluster}")
	f.BoolVar(&opts.write, "write", false, "write the files")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

func runAdopt(cmd *cobra.Command, opts *adoptOptions) error {
	layoutPath := opts.layout
	if layoutPath == "" {
		layoutPath = filepath.Join(opts.repo, gitops.LayoutFile)
	}
	layout, err := gitops.ReadLayout(layoutPath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s does not exist: fleetbot adopt writes files in the format of the layout's members section; run fleetbot init, copy one of examples/layouts, or pass --layout", layoutPath)
	}
	if err != nil {
		return err
	}
	data, err := os.ReadFile(opts.from)
	if err != nil {
		return fmt.Errorf("read clusters: %w", err)
	}
	recs, err := gitops.ReadRecords(opts.from, data)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	for _, n := range recs.Notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	declared, err := declaredClusters(cmd, opts.repo, opts.layout)
	if err != nil {
		return err
	}
	var todo []gitops.Record
	for _, r := range recs.Clusters {
		if src, ok := declared[r.Name]; ok {
			fmt.Fprintf(stderr, "skip %s: already declared at %s\n", r.Name, src)
			continue
		}
		todo = append(todo, r)
	}
	files, notes, err := gitops.MemberFiles(layout, todo, opts.dir, opts.from)
	for _, n := range notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	written := 0
	for _, f := range files {
		target := filepath.Join(opts.repo, filepath.FromSlash(f.Path))
		if _, err := os.Stat(target); err == nil {
			fmt.Fprintf(stderr, "skip %s: %s exists\n", f.Cluster, target)
			continue
		}
		if !opts.write {
			fmt.Fprintf(out, "--- %s\n%s", target, f.Data)
			written++
			continue
		}
		if err := writeNew(target, f.Data); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %s\n", target)
		written++
	}
	if !opts.write {
		fmt.Fprintf(stderr, "would write %s; run again with --write\n", plural(written, "file"))
	}
	return nil
}

// declaredClusters returns where the repository declares each cluster it
// already has. A repository without any cluster yet is what adopt is for.
func declaredClusters(cmd *cobra.Command, repo, layout string) (map[string]string, error) {
	inv, err := loadInventory(cmd, []string{repo}, layout)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range inv.Clusters {
		out[c.Name] = c.Sources.Get("name").String()
	}
	return out, nil
}

// writeNew writes a file that must not exist yet, with its directories.
func writeNew(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
