package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/internal/cli"
)

func main() { program().Main(os.Args[1:]) }

// program is fleetbot-server: fleetbot's commands and those that talk to
// GitHub, AWS, Prometheus or a store, each in a file of its own.
func program() *cli.Program {
	return &cli.Program{
		Server:    []*cobra.Command{newServeCmd(), newStoreCmd(), newCampaignCmd(), newSandboxCmd(), newDemoCmd()},
		Preflight: writePreflight,
	}
}
