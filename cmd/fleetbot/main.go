package main

import (
	"os"

	"github.com/fleetbot/fleetbot/internal/cli"
)

func main() { (&cli.Program{}).Main(os.Args[1:]) }
