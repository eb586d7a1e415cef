package rollout

import "flag"

// UpdateGolden is the -update flag of the package's tests: rewrite golden
// files instead of comparing with them. It is exported so that the external
// test package shares it.
var UpdateGolden = flag.Bool("update", false, "rewrite golden files")
