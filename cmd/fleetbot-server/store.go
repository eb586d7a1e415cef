package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/config"
	"github.com/fleetbot/fleetbot/rollout/store/dynamostore"
)

func newStoreCmd() *cobra.Command {
	cmd := cli.ServerCommand(&cobra.Command{
		Use:  "store",
		Args: cobra.NoArgs,
	})
	var configFile string
	initCmd := &cobra.Command{
		Use:   "init --config FILE",
		Short: "Create the DynamoDB table the configuration names, unless it exists",
		Long: `Create the DynamoDB table serve's configuration names (partition key pk and
sort key sk, both strings, billed per request), wait until it is active, and
turn its time to live on (attribute ttl), so webhook deliveries expire once
retention.deliveries passed even while no serve prunes them. A table that
exists with those keys is left as it is, but for its time to live; one with
other keys is an error that names them. The bbolt store needs nothing: serve creates its file.
docs/iam.md lists the permissions it needs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configFile)
			if err != nil {
				return cli.Exit(2, err)
			}
			out := cmd.OutOrStdout()
			if cfg.Store.Bolt != nil {
				fmt.Fprintf(out, "The bbolt store needs no set-up: serve creates %s.\n", cfg.Store.Bolt.Path)
				return nil
			}
			d := cfg.Store.DynamoDB
			client, err := dynamoClient(cmd.Context(), *d)
			if err != nil {
				return err
			}
			created, err := dynamostore.CreateTable(cmd.Context(), client, d.Table)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(out, "Created DynamoDB table %s; it is active.\n", d.Table)
			} else {
				fmt.Fprintf(out, "DynamoDB table %s exists with the right keys.\n", d.Table)
			}
			enabled, err := dynamostore.EnableTTL(cmd.Context(), client, d.Table)
			switch {
			case errors.Is(err, dynamostore.ErrNoTTL):
				fmt.Fprintf(out, "Time to live: %v; serve's retention pass deletes old deliveries itself.\n", err)
			case err != nil:
				return err
			case enabled:
				fmt.Fprintf(out, "Turned time to live on for attribute %s: deliveries expire %s after they arrive (retention.deliveries).\n", dynamostore.AttrTTL, cfg.Retention.Deliveries)
			default:
				fmt.Fprintf(out, "Time to live is on for attribute %s already.\n", dynamostore.AttrTTL)
			}
			return nil
		},
	}
	initCmd.Flags().StringVar(&configFile, "config", "", "serve's configuration file (YAML)")
	_ = initCmd.MarkFlagRequired("config")
	cmd.AddCommand(initCmd)
	return cmd
}
