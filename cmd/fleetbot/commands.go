package main

import "github.com/spf13/cobra"

// commands lists the sub-commands of fleetbot; each lives in a file of its own.
func commands() []*cobra.Command {
	return []*cobra.Command{
		newInventoryCmd(),
		newInitCmd(),
		newAdoptCmd(),
		newValidateCmd(),
		newSetCmd(),
		newPlanCmd(),
		newServeCmd(),
		newStoreCmd(),
		newCampaignCmd(),
		newSandboxCmd(),
		newDemoCmd(),
		newAppCmd(),
	}
}
