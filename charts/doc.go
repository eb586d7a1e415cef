// Package charts tests the Helm chart of `fleetbot serve` (charts/fleetbot)
// with Helm itself, pinned in this module's go.mod as a tool: helm lint and
// helm template over several value sets, every rendered object decoded
// strictly into its Kubernetes API type, the rendered configuration loaded by
// serve's own loader (internal/config), the values schema refusing bad values,
// and the chart's appVersion held to the version the binary is built with.
//
// It is a module of its own so that Helm and the Kubernetes API types, which
// only these tests use, stay out of fleetbot's module; `make test` runs it.
// It holds no code of its own.
package charts
