package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// BenchmarkSetProcess runs `fleetbot set` as its own process, built as
// `make build` builds it (static, CGO_ENABLED=0), on a small YAML file: what a script pays for each call, most of it
// the start of the program. Besides the mean (ns/op) it reports the median
// wall time (median-ms), the median CPU time of the process (cpu-ms), and
// the median time of its package initialisation (init-ms: the clock of
// every init line of GODEBUG=inittrace=1, summed, over 15 more runs).
//
// Starting a process costs very different times on different days of a
// shared machine, so after each `set` it runs, in turn and untimed by ns/op,
// three programs of testdata/start built the same way: one that does
// nothing (nothing-ms, its median wall time; above-nothing-ms, set's median
// less that one), one that links what `fleetbot` links apart from the
// command-line library and does nothing (packages-ms), and one that links
// the YAML parser alone and does nothing (yaml-ms).
func BenchmarkSetProcess(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "fleetbot")
	build := exec.CommandContext(b.Context(), "make", "-s", "-C", testenv.ModuleRoot(b), "build", "BINDIR="+dir)
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("make build: %v\n%s", err, out)
	}
	file := filepath.Join(b.TempDir(), "dev.yaml")
	require.NoError(b, os.WriteFile(file, []byte(setInput), 0o600))
	versions := []string{"1.30", "1.31"}
	floor := startFloor(b, dir)

	var wall, cpu []time.Duration
	floorWall := make([][]time.Duration, len(floor))
	for b.Loop() {
		cmd := exec.CommandContext(b.Context(), bin, "set", file, "services.eks.version", versions[len(wall)%2])
		var stderr bytes.Buffer
		cmd.Stderr = &stderr // stdout goes to the null device
		start := time.Now()
		err := cmd.Run()
		wall = append(wall, time.Since(start))
		require.NoError(b, err, "%s", stderr.String())
		cpu = append(cpu, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())

		b.StopTimer()
		for i, prog := range floor {
			start := time.Now()
			out, err := exec.CommandContext(b.Context(), prog).CombinedOutput()
			floorWall[i] = append(floorWall[i], time.Since(start))
			require.NoError(b, err, "%s: %s", prog, out)
		}
		b.StartTimer()
	}
	got, err := os.ReadFile(file)
	require.NoError(b, err)
	require.Equal(b, strings.Replace(setInput, `"1.29"`, strconv.Quote(versions[(len(wall)-1)%2]), 1), string(got))

	var inits []time.Duration
	for range 15 {
		cmd := exec.CommandContext(b.Context(), bin, "set", file, "services.eks.version", "1.30")
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(b, cmd.Run(), "%s", stderr.String())
		inits = append(inits, initClock(b, stderr.String()))
	}

	b.ReportMetric(medianMS(wall), "median-ms")
	b.ReportMetric(medianMS(cpu), "cpu-ms")
	b.ReportMetric(medianMS(inits), "init-ms")
	b.ReportMetric(medianMS(floorWall[0]), "nothing-ms")
	b.ReportMetric(medianMS(wall)-medianMS(floorWall[0]), "above-nothing-ms")
	b.ReportMetric(medianMS(floorWall[1]), "packages-ms")
	b.ReportMetric(medianMS(floorWall[2]), "yaml-ms")
}

// startFloor builds the programs of testdata/start into dir as `make
// build` builds fleetbot and returns their paths: the one that does
// nothing, the one that links fleetbot's packages without the command-line
// library, after checking that it links just that, and the one that links
// the YAML parser alone. fleetbot's packages are every
// package outside the standard library that cmd/fleetbot links, but cobra,
// pflag and internal/cli.
func startFloor(b *testing.B, dir string) []string {
	b.Helper()
	root := testenv.ModuleRoot(b)
	outside := func(deps []string) []string {
		var pkgs []string
		for _, p := range deps {
			first, _, _ := strings.Cut(p, "/")
			if strings.Contains(first, ".") && !strings.HasPrefix(p, "github.com/fleetbot/fleetbot/cmd/") &&
				!strings.HasPrefix(p, "github.com/fleetbot/fleetbot/internal/") {
				pkgs = append(pkgs, p)
			}
		}
		return pkgs
	}
	want := slices.DeleteFunc(outside(testenv.Deps(b, "cmd/fleetbot")), func(p string) bool {
		return strings.HasPrefix(p, "github.com/spf13/")
	})
	require.ElementsMatch(b, want, outside(testenv.Deps(b, "internal/cli/testdata/start/packages")),
		"testdata/start/packages must link what fleetbot links but the command-line library")

	var progs []string
	for _, name := range []string{"nothing", "packages", "yaml"} {
		out := filepath.Join(dir, "start-"+name)
		build := exec.CommandContext(b.Context(), "go", "build", "-trimpath", "-o", out, "./internal/cli/testdata/start/"+name)
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := build.CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", name, err, msg)
		}
		progs = append(progs, out)
	}
	return progs
}

// initClock sums the clock of the init lines GODEBUG=inittrace=1 prints:
// "init PACKAGE @T ms, C ms clock, B bytes, A allocs".
func initClock(b *testing.B, trace string) time.Duration {
	b.Helper()
	var sum time.Duration
	for line := range strings.Lines(trace) {
		if !strings.HasPrefix(line, "init ") {
			continue
		}
		_, rest, ok := strings.Cut(line, ", ")
		clock, _, ok2 := strings.Cut(rest, " ms clock")
		require.True(b, ok && ok2, "not an inittrace line: %q", line)
		ms, err := strconv.ParseFloat(clock, 64)
		require.NoError(b, err, "the clock of %q", line)
		sum += time.Duration(ms * float64(time.Millisecond))
	}
	require.NotZero(b, sum, "no init lines in:\n%s", trace)
	return sum
}

func medianMS(d []time.Duration) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}
