package main

import (
	"regexp"
	"testing"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// Every command of fleetbot-server, `fleetbot campaign status` included,
// initialises each package the binary links. Since v1.69 of the DynamoDB
// client and v1.100 of the EKS client, the AWS SDK builds every shape's
// serialisation schema at start (1.17 MB in 6,500 allocations, as much as
// the rest of fleetbot-server's start allocates): go.mod holds both
// clients below those versions. This test says so when an upgrade brings
// the tables back, so that the upgrade is weighed against the start it
// costs (BENCHMARKS.md, CLI start).
func TestStartBuildsNoSDKSchemaTables(t *testing.T) {
	t.Parallel()
	heavy := regexp.MustCompile(`^github\.com/aws/aws-sdk-go-v2/service/(dynamodb|eks)/schemas$`)
	for _, pkg := range testenv.Deps(t, "cmd/fleetbot-server") {
		if heavy.MatchString(pkg) {
			t.Errorf("fleetbot-server links %s, whose tables every command builds at start: keep the client below the version that brought them (go.mod)", pkg)
		}
	}
}
