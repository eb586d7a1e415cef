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

	var wall, cpu []time.Duration
	for b.Loop() {
		cmd := exec.CommandContext(b.Context(), bin, "set", file, "services.eks.version", versions[len(wall)%2])
		var stderr bytes.Buffer
		cmd.Stderr = &stderr // stdout goes to the null device
		start := time.Now()
		err := cmd.Run()
		wall = append(wall, time.Since(start))
		require.NoError(b, err, "%s", stderr.String())
		cpu = append(cpu, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
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
