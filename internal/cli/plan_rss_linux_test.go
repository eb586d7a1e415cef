package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fleetbot/fleetbot/internal/benchfleet"
	"github.com/fleetbot/fleetbot/internal/testenv"
)

// planBenchCampaigns are the campaigns BenchmarkPlanCommand100k plans on
// the generated fleet (environments dev and prod): an EKS upgrade of every
// cluster, and a label every cluster carries moved to a new value.
var planBenchCampaigns = []struct{ name, change string }{
	{"eks", "eksVersion:\n      to: \"1.30\""},
	{"label", "label:\n      key: addonsRelease\n      to: release3"},
}

const planBenchCampaign = `apiVersion: fleetbot.io/v1alpha1
kind: Campaign
metadata:
  name: bench
spec:
  change:
    CHANGE
  selector: {}
  strategy:
    order: [dev, prod]
    canary: true
    maxConcurrency: 10%
    maxPerTenant: 2
    maxFailures: 0
    bake: 30m
    progressDeadline: 45m
  gates:
    terraform:
      checks: ["terraform-apply ({{ .Cluster }})"]
`

// BenchmarkPlanCommand100k runs `fleetbot plan`, built as it ships, as its
// own process on the generated fleet of 100,000 clusters (benchfleet, 5,000
// tenants; generated once and kept in the temporary directory) and reports
// the child's peak resident memory (getrusage's maxrss, the kernel's
// VmHWM) and its CPU time beside the wall time. The table it prints is
// thrown away.
func BenchmarkPlanCommand100k(b *testing.B) {
	bin := testenv.BuildFleetbot(b)
	dir, err := benchfleet.Cached("", benchfleet.Options{Tenants: 5000})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range planBenchCampaigns {
		campaign := filepath.Join(b.TempDir(), bc.name+".yaml")
		content := bytes.Replace([]byte(planBenchCampaign), []byte("CHANGE"), []byte(bc.change), 1)
		if err := os.WriteFile(campaign, content, 0o600); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			var peak int64
			var cpu time.Duration
			for b.Loop() {
				var stderr bytes.Buffer
				cmd := exec.CommandContext(b.Context(), bin, "plan", "--repo", dir, "--campaign", campaign)
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					b.Fatalf("fleetbot plan: %v\n%s", err, stderr.Bytes())
				}
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				peak = max(peak, ru.Maxrss) // KiB on Linux
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
			b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}
