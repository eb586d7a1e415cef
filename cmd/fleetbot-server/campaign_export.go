package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/internal/audit"
	"github.com/fleetbot/fleetbot/rollout"
)

// Formats of `fleetbot campaign export`.
const (
	exportJSON     = "json"
	exportMarkdown = "markdown"
)

func newCampaignExportCmd(opts *campaignOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export --config FILE NAME [--format json|markdown]",
		Short: "Print a campaign's audit report: waves, pull requests, every cluster's evidence, the history",
		Args:  namedArgs([]string{"NAME"}),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCampaignExport(cmd, opts, args[0])
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", exportMarkdown, "json (the fleetbot.audit/v1 shape) or markdown")
	return cmd
}

func runCampaignExport(cmd *cobra.Command, opts *campaignOptions, name string) error {
	if opts.format != exportJSON && opts.format != exportMarkdown {
		return fmt.Errorf("export: --format %q: want json or markdown", opts.format)
	}
	return withCampaigns(cmd, opts, func(ctx context.Context, c campaigns) error {
		st, ok, err := c.State(ctx, name)
		switch {
		case err != nil:
			return err
		case !ok:
			return fmt.Errorf("no campaign %s in the store", name)
		}
		cmds, err := c.Commands(ctx, name)
		if err != nil {
			return err
		}
		return writeExport(cmd.OutOrStdout(), st, cmds, opts.format)
	})
}

// writeExport writes the audit report of st and its commands in format.
func writeExport(out io.Writer, st rollout.State, cmds []bot.CommandRecord, format string) error {
	report := audit.New(st, cmds)
	if format == exportMarkdown {
		return audit.Markdown(out, report)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}
