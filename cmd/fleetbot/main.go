package main

import (
	"fmt"
	"os"
)

func main() {
	root := newRootCmd()
	if cmd, _, err := root.Find(os.Args[1:]); err == nil && cmd.Annotations[loadsFleet] != "" {
		_, _ = limitMemory()
	}
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "fleetbot:", err)
		os.Exit(exitCode(err))
	}
}
