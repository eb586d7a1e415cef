package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/internal/config"
	"github.com/fleetbot/fleetbot/rollout/store/dynamostore"
)

func newStoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Set up the store serve keeps its state in",
		Args:  cobra.NoArgs,
	}
	var configFile string
	initCmd := &cobra.Command{
		Use:   "init --config FILE",
		Short: "Create the DynamoDB table the configuration names, unless it exists",
		Long: `Create the DynamoDB table serve's configuration names (partition key pk and
sort key sk, both strings, billed per request) and wait until it is active. A
table that exists with those keys is left as it is; one with other keys is an
error that names them. The bbolt store needs nothing: serve creates its file.
docs/iam.md lists the permissions it needs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configFile)
			if err != nil {
				return &exitError{code: 2, err: err}
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
				fmt.Fprintf(out, "DynamoDB table %s exists with the right keys; nothing to do.\n", d.Table)
			}
			return nil
		},
	}
	initCmd.Flags().StringVar(&configFile, "config", "", "serve's configuration file (YAML)")
	_ = initCmd.MarkFlagRequired("config")
	cmd.AddCommand(initCmd)
	return cmd
}
