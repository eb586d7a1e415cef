package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/gitops"
)

// inventoryOptions are the flags of `fleetbot inventory`.
type inventoryOptions struct {
	repos     []string
	layout    string
	format    string
	hierarchy string
	key       string
}

func newInventoryCmd() *cobra.Command {
	opts := &inventoryOptions{}
	cmd := &cobra.Command{
		Use:   "inventory --repo DIR [--repo DIR ...] [--hierarchy NAME --key KEYPATH]",
		Short: "List every cluster of the fleet with its version, labels and owners",
		Long: `List every cluster the repositories describe: name, tenant, environment,
region, fleet, canary flag, whether it is disabled (enabled: false, with the
file and line; campaigns skip it), EKS version, owners and effective labels.
Each repository is read with its own .fleetbot.yaml, or with --layout.

The table's OVERRIDES column lists the labels whose value differs from the
fleet-wide defaults; --format json shows every label and the file and line
each value comes from. Problems found go to standard error; errors make the
command fail.

With --hierarchy and --key, it lists instead, for each cluster, the value
the key path takes in that hierarchy of the layout (labels, or one of its
hierarchies): the most specific file that sets it wins, as Helm merges
valueFiles; the file and line it comes from are shown.`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{loadsFleet: "yes"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInventory(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.repos, "repo", nil, "repository directory (repeatable)")
	f.StringVar(&opts.layout, "layout", "", "layout file to apply to every repository instead of their .fleetbot.yaml")
	f.StringVar(&opts.format, "format", "table", "output format: table or json")
	f.StringVar(&opts.hierarchy, "hierarchy", "", "hierarchy of the layout whose effective values to show (labels, or a name under hierarchies); needs --key")
	f.StringVar(&opts.key, "key", "", "key path, under the hierarchy's key, of the value to show (dotted; a dot inside a key is written \\.)")
	_ = cmd.MarkFlagRequired("repo")
	return cmd
}

func runInventory(cmd *cobra.Command, opts *inventoryOptions) error {
	if opts.format != "table" && opts.format != "json" {
		return &exitError{code: 2, err: fmt.Errorf("unknown --format %q: use table or json", opts.format)}
	}
	if (opts.hierarchy == "") != (opts.key == "") {
		return &exitError{code: 2, err: errors.New("--hierarchy and --key go together: name the hierarchy and the key path of the value")}
	}
	inv, err := loadInventory(cmd, opts.repos, opts.layout)
	if err != nil {
		return err
	}
	for _, d := range inv.Diagnostics {
		fmt.Fprintln(cmd.ErrOrStderr(), d)
	}
	out := cmd.OutOrStdout()
	switch {
	case opts.hierarchy != "":
		vs, verr := inv.Effective(opts.hierarchy, opts.key)
		if verr != nil {
			return verr
		}
		if opts.format == "json" {
			err = writeJSON(out, vs)
		} else {
			err = writeEffectiveTable(out, vs)
		}
	case opts.format == "json":
		err = writeInventoryJSON(out, inv.Clusters)
	default:
		err = writeInventoryTable(out, inv.Clusters)
	}
	if err != nil {
		return err
	}
	if errs := inv.Diagnostics.Errors(); len(errs) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%s in the inventory", plural(len(errs), "error"))}
	}
	return nil
}

// loadInventory loads the repositories with the optional shared layout.
func loadInventory(cmd *cobra.Command, repos []string, layout string) (*gitops.Inventory, error) {
	var opts []gitops.Option
	if layout != "" {
		opts = append(opts, gitops.WithLayout(layout))
	}
	inv, err := gitops.Load(cmd.Context(), repos, opts...)
	if err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	return inv, nil
}

func writeInventoryTable(w io.Writer, cs []gitops.Cluster) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTENANT\tENV\tREGION\tFLEET\tCANARY\tDISABLED\tVERSION\tOWNERS\tOVERRIDES")
	for _, c := range cs {
		canary, disabled := "-", "-"
		if c.Canary {
			canary = "yes"
		}
		if c.Disabled {
			// Where it is switched off: the planner skips it as "disabled".
			disabled = fmt.Sprintf("yes (%s:%d)", c.Sources.Get("disabled").File, c.Sources.Get("disabled").Line)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			c.Name, c.Tenant, c.Env, dash(c.Region), dash(c.Fleet), canary, disabled, dash(c.Version),
			dash(strings.Join(c.Owners, ",")), dash(formatLabels(overrides(c))))
	}
	return tw.Flush()
}

// writeEffectiveTable lists each cluster's effective value with the file and
// line it comes from.
func writeEffectiveTable(w io.Writer, vs []gitops.EffectiveValue) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTENANT\tENV\tVALUE\tFROM")
	for _, v := range vs {
		value, from := "-", "-"
		switch {
		case v.Null:
			value = "null (removed)"
		case v.Set:
			value = v.Value
		}
		if v.Source != nil {
			from = fmt.Sprintf("%s:%d", v.Source.File, v.Source.Line)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Cluster, v.Tenant, v.Env, value, from)
	}
	return tw.Flush()
}

// overrides returns the effective labels whose value differs from what the
// shared levels of the hierarchy (the fleet-wide defaults) say, which is what
// sets a cluster apart in a table of hundreds.
func overrides(c gitops.Cluster) map[string]string {
	shared := map[string]string{}
	for _, lvl := range c.LabelChain {
		if !lvl.Shared {
			continue
		}
		for _, l := range lvl.Labels {
			if l.Null {
				delete(shared, l.Key)
				continue
			}
			shared[l.Key] = l.Value
		}
	}
	out := map[string]string{}
	for k, v := range c.Labels {
		if sv, ok := shared[k]; !ok || sv != v {
			out[k] = v
		}
	}
	return out
}

// formatLabels writes labels as kubectl's --show-labels does: k=v, sorted,
// comma-separated.
func formatLabels(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// writeInventoryJSON writes the clusters as a JSON array, with their sources
// but without the label chain, which only the planner needs.
func writeInventoryJSON(w io.Writer, cs []gitops.Cluster) error {
	out := slices.Clone(cs)
	for i := range out {
		out[i].LabelChain = nil
	}
	return writeJSON(w, out)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
