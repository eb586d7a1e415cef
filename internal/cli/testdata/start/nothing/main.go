// Command nothing does nothing: BenchmarkSetProcess times it beside
// `fleetbot set`, for what starting any Go program costs on the machine.
package main

func main() {}
