package gitops

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/internal/benchfleet"
	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/decode"
)

const (
	benchTenants           = 500 // 500 tenants x 20 clusters = 10,000
	benchTenants100k       = 5000
	benchClustersPerTenant = benchfleet.ClustersPerTenant
	benchOverrideEveryNth  = benchfleet.OverrideEveryNth
)

// benchDir returns the generated fleet of tenants tenants, with two
// hierarchies of add-on values in its layout when hierarchies is true,
// generating it on first use; generated fleets are kept in the temporary
// directory across runs (see benchfleet.Cached).
func benchDir(b *testing.B, tenants int, hierarchies bool) string {
	b.Helper()
	dir, err := benchfleet.Cached("", benchfleet.Options{Tenants: tenants, Hierarchies: hierarchies})
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchFleet is a seed-format repository of 10,000 clusters with the full
// label hierarchy.
func benchFleet(b *testing.B) string { return benchDir(b, benchTenants, false) }

// benchHierarchyFleet is benchFleet with two hierarchies of add-on values
// in the layout: a five-level one (defaults, Kubernetes version,
// environment, tenant, one cluster in five) and an environment-wide one
// (environment, environment and fleet).
func benchHierarchyFleet(b *testing.B) string { return benchDir(b, benchTenants, true) }

// heapSampler records the largest heap seen while it runs, through
// runtime/metrics, which does not stop the world.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(h.done)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			h.peak = max(h.peak, sample[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak
}

func BenchmarkInventory10k(b *testing.B) { benchmarkInventory(b, benchFleet(b), benchTenants) }

// BenchmarkInventory100k loads the same fleet ten times larger: 5,000
// tenants, 100,000 clusters, 45,001 YAML files.
func BenchmarkInventory100k(b *testing.B) {
	benchmarkInventory(b, benchDir(b, benchTenants100k, false), benchTenants100k)
}

// BenchmarkInventoryHierarchies10k loads the fleet whose layout also has two
// hierarchies of add-on values: Load renders and checks every level of them.
func BenchmarkInventoryHierarchies10k(b *testing.B) {
	benchmarkInventory(b, benchHierarchyFleet(b), benchTenants)
}

// BenchmarkFieldHitsHierarchies10k finds a field in the five-level add-on
// hierarchy of the same fleet and attributes every hit to the clusters its
// file serves.
func BenchmarkFieldHitsHierarchies10k(b *testing.B) {
	dir := benchHierarchyFleet(b)
	inv, err := Load(b.Context(), []string{dir})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	var hits int
	for b.Loop() {
		hs, err := inv.FieldHits(b.Context(), "addons/**/values.yaml", "addons.metricsServer.version")
		if err != nil {
			b.Fatal(err)
		}
		hits = len(hs)
	}
	cpu.report(b)
	b.StopTimer()
	// defaults, one version file and one file in five clusters
	if want := 2 + benchTenants*benchClustersPerTenant/benchOverrideEveryNth; hits != want {
		b.Fatalf("got %d hits, want %d", hits, want)
	}
}

// BenchmarkHierarchyFieldPlan10k plans a field of the five-level add-on
// hierarchy on the 10,000 clusters at the cluster level, as Prepare does
// once the inventory is loaded: the planner's fleet, every cluster's chain
// of add-on files with its value (Chains), and the plan with its fold-up.
func BenchmarkHierarchyFieldPlan10k(b *testing.B) {
	dir := benchHierarchyFleet(b)
	inv, err := Load(b.Context(), []string{dir})
	if err != nil {
		b.Fatal(err)
	}
	c := &rollout.Campaign{
		Metadata: rollout.Metadata{Name: "metrics-server"},
		Spec: rollout.Spec{
			Change: rollout.Change{Field: &rollout.FieldChange{Hierarchy: "addons", Path: "metricsServer.version", To: "3.14.0", Revertible: true}},
			Strategy: rollout.Strategy{
				Order: []string{"dev", "prod"}, Canary: true, MaxPerTenant: 2,
				MaxConcurrency: rollout.Quantity{Percent: 10, IsSet: true},
			},
		},
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	h := startHeapSampler()
	cpu := startCPU()
	var p *rollout.Plan
	for b.Loop() {
		f, err := inv.Fleet()
		if err != nil {
			b.Fatal(err)
		}
		key, err := inv.Chains(&f, "addons", "metricsServer.version")
		if err != nil {
			b.Fatal(err)
		}
		if p, err = rollout.PlanCampaign(c, f, rollout.WithFieldKey(key...)); err != nil {
			b.Fatal(err)
		}
	}
	peak := h.Stop()
	cpu.report(b)
	b.StopTimer()
	steps := 0
	for _, w := range p.Waves {
		steps += len(w.Clusters)
	}
	if steps != benchTenants*benchClustersPerTenant {
		b.Fatalf("got %d cluster steps, want %d", steps, benchTenants*benchClustersPerTenant)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(len(p.Waves)), "waves")
}

func benchmarkInventory(b *testing.B, dir string, tenants int) {
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	h := startHeapSampler()
	cpu := startCPU()
	var inv *Inventory
	for b.Loop() {
		var err error
		inv, err = Load(b.Context(), []string{dir})
		if err != nil {
			b.Fatal(err)
		}
	}
	peak := h.Stop()
	cpu.report(b)
	b.StopTimer()
	if len(inv.Clusters) != tenants*benchClustersPerTenant {
		b.Fatalf("got %d clusters, want %d", len(inv.Clusters), tenants*benchClustersPerTenant)
	}
	if len(inv.Diagnostics) > 0 {
		b.Fatalf("unexpected diagnostics: %v", inv.Diagnostics[0])
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MiB")
	runtime.KeepAlive(inv)
}

// BenchmarkParseOnly10k reads and parses the same files with the YAML
// library and nothing else, on one goroutine: the floor Load is measured
// against.
func BenchmarkParseOnly10k(b *testing.B) { benchmarkParseOnly(b, benchFleet(b)) }

// BenchmarkParseOnly100k is the floor of BenchmarkInventory100k.
func BenchmarkParseOnly100k(b *testing.B) {
	benchmarkParseOnly(b, benchDir(b, benchTenants100k, false))
}

// benchmarkParseOnly reads and parses every YAML file under dir, one after
// the other: with the YAML parser ("parser", the floor the issue set), and
// as the inventory reads them ("nodes": decode.Nodes, which reads a file of
// block mappings of words without the parser).
func benchmarkParseOnly(b *testing.B, dir string) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && filepath.Base(p) != LayoutFile {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	parser := func(data []byte) error {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
		}
	}
	nodes := func(data []byte) error {
		_, err := decode.Nodes(data)
		return err
	}
	for _, bc := range []struct {
		name  string
		parse func([]byte) error
	}{{"parser", parser}, {"nodes", nodes}} {
		b.Run(bc.name, func(b *testing.B) {
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			for b.Loop() {
				for _, p := range paths {
					data, err := os.ReadFile(p)
					if err != nil {
						b.Fatal(err)
					}
					if err := bc.parse(data); err != nil {
						b.Fatal(err)
					}
				}
			}
			cpu.report(b)
			b.ReportMetric(float64(len(paths)), "files")
		})
	}
}

// cpuClock measures the CPU time (user and system) of the process, which,
// unlike wall time, does not grow when other processes share the machine.
type cpuClock struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuClock { return cpuClock{start: processCPU()} }

func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(processCPU()-c.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkPrepare100k runs every check `fleetbot plan` runs (Prepare:
// inventory, fleet, plan, every edit applied in plan order, the state
// machine's start), keeping no files as plan without --diff does, on the
// 100,000 clusters: an EKS upgrade of every cluster, and a label every
// cluster carries moved to a new value.
func BenchmarkPrepare100k(b *testing.B) {
	dir := benchDir(b, benchTenants100k, false)
	for _, bc := range []struct {
		name   string
		change rollout.Change
	}{
		{"eks", rollout.Change{EKSVersion: &rollout.EKSVersionChange{To: "1.30"}}},
		{"label", rollout.Change{Label: &rollout.LabelChange{Key: "addonsRelease", To: "release3"}}},
	} {
		c := &rollout.Campaign{
			Metadata: rollout.Metadata{Name: bc.name},
			Spec: rollout.Spec{
				Change: bc.change,
				Strategy: rollout.Strategy{
					Order: []string{"dev", "prod"}, Canary: true, MaxPerTenant: 2,
					MaxConcurrency: rollout.Quantity{Percent: 10, IsSet: true},
				},
			},
		}
		b.Run(bc.name, func(b *testing.B) {
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			h := startHeapSampler()
			cpu := startCPU()
			for b.Loop() {
				if _, err := Prepare(b.Context(), []string{dir}, c, nil, WithoutFiles()); err != nil {
					var start *StartError
					if !errors.As(err, &start) {
						b.Fatal(err)
					}
				}
			}
			peak := h.Stop()
			cpu.report(b)
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
