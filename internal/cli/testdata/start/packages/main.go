// Command packages links the packages `fleetbot` links apart from the
// command-line library (cobra, pflag) and internal/cli itself, and does
// nothing: BenchmarkSetProcess times it beside `fleetbot set`, for what those
// packages' start costs. The benchmark checks that the list below is that
// set.
package main

import (
	_ "github.com/pmezard/go-difflib/difflib"
	_ "go.yaml.in/yaml/v3"

	_ "github.com/fleetbot/fleetbot/deploy"
	_ "github.com/fleetbot/fleetbot/gitops"
	_ "github.com/fleetbot/fleetbot/gitops/yamledit"
	_ "github.com/fleetbot/fleetbot/rollout"
	_ "github.com/fleetbot/fleetbot/rollout/decode"
)

func main() {}
