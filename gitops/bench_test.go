package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fleetbot/fleetbot/rollout"
)

const (
	benchTenants           = 500
	benchEnvs              = 2
	benchClustersPerEnv    = 10 // 500 tenants x 20 clusters = 10,000
	benchOverrideEveryNth  = 5  // one cluster in five has a cluster-level label file
	benchClustersPerTenant = benchEnvs * benchClustersPerEnv
)

// benchRepo is a generated repository, made once per test binary.
type benchRepo struct {
	once sync.Once
	dir  string
	err  error
}

var (
	benchPlain       benchRepo // the label hierarchy only
	benchHierarchies benchRepo // and two hierarchies of add-on values
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, r := range []*benchRepo{&benchPlain, &benchHierarchies} {
		if r.dir != "" {
			_ = os.RemoveAll(r.dir)
		}
	}
	os.Exit(code)
}

func (r *benchRepo) get(b *testing.B, hierarchies bool) string {
	b.Helper()
	r.once.Do(func() {
		r.dir, r.err = os.MkdirTemp("", "fleetbot-bench-")
		if r.err == nil {
			r.err = generateFleet(r.dir, hierarchies)
		}
	})
	if r.err != nil {
		b.Fatal(r.err)
	}
	return r.dir
}

// benchFleet generates, once per test binary, a seed-format repository of
// 10,000 clusters with the full label hierarchy.
func benchFleet(b *testing.B) string { return benchPlain.get(b, false) }

// benchHierarchyFleet is benchFleet with two hierarchies of add-on values
// in the layout: a five-level one (defaults, Kubernetes version,
// environment, tenant, one cluster in five) and an environment-wide one
// (environment, environment and fleet).
func benchHierarchyFleet(b *testing.B) string { return benchHierarchies.get(b, true) }

const benchHierarchiesLayout = `hierarchies:
  addons:
    key: addons
    paths:
      - addons/defaults/values.yaml
      - addons/versions/{record.version}/values.yaml
      - addons/environments/{env}/values.yaml
      - addons/tenants/{tenant}/values.yaml
      - addons/tenants/{tenant}/clusters/{cluster}/values.yaml
  addons-config:
    paths:
      - environments/{env}/addons/addons-config.yaml
      - environments/{env}/addons/{fleet}/addons-config.yaml
`

func generateFleet(dir string, hierarchies bool) error {
	write := func(rel, content string) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(content), 0o644)
	}
	files := map[string]string{
		LayoutFile: "apiVersion: fleetbot.io/v1alpha1\nkind: Layout\nblueprints:\n  paths: [tenants/*/*.yaml]\n" +
			"labels:\n  files: [addons/tenants/**/fleet/fleet-secret/values.yaml]\n  hierarchy:\n" +
			"    - " + strings.Join(seedHierarchy, "\n    - ") + "\n",
		"addons/tenants/defaults/fleet/fleet-secret/values.yaml": "externalSecret:\n  labels:\n    fleetRelease: default\n    addonsRelease: release1\n    monitoringRelease: default\n    enable_metrics_server: \"true\"\n",
	}
	envs := []string{"dev", "prod"}
	if hierarchies {
		files[LayoutFile] += benchHierarchiesLayout
		files["addons/defaults/values.yaml"] = "addons:\n  metricsServer:\n    version: \"3.12.0\"\n"
		files["addons/versions/1.29/values.yaml"] = "addons:\n  metricsServer:\n    version: \"3.12.1\"\n"
		for _, env := range envs {
			files["addons/environments/"+env+"/values.yaml"] = "addons:\n  karpenter:\n    version: \"1.0.0\"\n"
			files["environments/"+env+"/addons/addons-config.yaml"] = "externalDns:\n  version: \"1.14.0\"\n"
			files["environments/"+env+"/addons/gpu/addons-config.yaml"] = "nvidia:\n  version: \"0.15.0\"\n"
		}
	}
	n := 0
	for t := range benchTenants {
		tenant := fmt.Sprintf("tenant-%03d", t)
		files["addons/tenants/"+tenant+"/defaults/fleet/fleet-secret/values.yaml"] = "externalSecret:\n  labels:\n    monitoringRelease: " + tenant + "\n"
		if hierarchies {
			files["addons/tenants/"+tenant+"/values.yaml"] = "addons:\n  karpenter:\n    version: \"1.0.1\"\n"
		}
		for _, env := range envs {
			var bp strings.Builder
			fmt.Fprintf(&bp, "# %s %s\ntenant: %s\nenv: %s\nregion: eu-west-1\nservices:\n  eks:\n    enabled: true\n    config:\n", tenant, env, tenant, env)
			for c := range benchClustersPerEnv {
				name := fmt.Sprintf("t%03d-%s-%02d", t, env, c)
				fleet := "cpu"
				if c%4 == 3 {
					fleet = "gpu"
				}
				fmt.Fprintf(&bp, "      %s:\n        fleet: %s\n        is_canary: %t\n        version: \"1.29\"\n        vpc_name: shared\n"+
					"        nodegroups:\n          system:\n            instance_types: [m6i.large]\n            min_size: 2\n            max_size: 4\n            ami_release_version: \"1.29.3-20240531\"\n",
					name, fleet, c == 0)
				if n%benchOverrideEveryNth == 0 {
					files["addons/tenants/"+tenant+"/environments/"+env+"/clusters/"+name+"/fleet/fleet-secret/values.yaml"] =
						"externalSecret:\n  labels:\n    addonsRelease: release2\n"
					if hierarchies {
						files["addons/tenants/"+tenant+"/clusters/"+name+"/values.yaml"] = "addons:\n  metricsServer:\n    version: \"3.13.0\"\n"
					}
				}
				n++
			}
			files["tenants/"+tenant+"/"+env+".yaml"] = bp.String()
			files["addons/tenants/"+tenant+"/environments/"+env+"/defaults/fleet/fleet-secret/values.yaml"] = "externalSecret:\n  labels:\n    fleetRelease: " + env + "\n"
		}
	}
	for rel, content := range files {
		if err := write(rel, content); err != nil {
			return err
		}
	}
	return nil
}

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

func BenchmarkInventory10k(b *testing.B) { benchmarkInventory(b, benchFleet(b)) }

// BenchmarkInventoryHierarchies10k loads the fleet whose layout also has two
// hierarchies of add-on values: Load renders and checks every level of them.
func BenchmarkInventoryHierarchies10k(b *testing.B) {
	benchmarkInventory(b, benchHierarchyFleet(b))
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

func benchmarkInventory(b *testing.B, dir string) {
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
	if len(inv.Clusters) != benchTenants*benchClustersPerTenant {
		b.Fatalf("got %d clusters, want %d", len(inv.Clusters), benchTenants*benchClustersPerTenant)
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
// library and nothing else: the floor Load is measured against.
func BenchmarkParseOnly10k(b *testing.B) {
	dir := benchFleet(b)
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
			dec := yaml.NewDecoder(bytes.NewReader(data))
			for {
				var n yaml.Node
				if err := dec.Decode(&n); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	cpu.report(b)
	b.ReportMetric(float64(len(paths)), "files")
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
