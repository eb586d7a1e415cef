// Command yaml links the YAML parser `fleetbot set` reads files with, and
// nothing else of fleetbot's, and does nothing: BenchmarkSetProcess times it
// beside `fleetbot set`, for the least any program that parses YAML with it
// pays to start on the machine.
package main

import _ "go.yaml.in/yaml/v3"

func main() {}
