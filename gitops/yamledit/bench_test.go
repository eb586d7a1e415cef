package yamledit

import (
	"fmt"
	"strings"
	"testing"
)

// blueprint returns a tenant blueprint of at least size bytes with one
// cluster entry per 200 bytes or so, and the path of a version in its middle.
func blueprint(size int) ([]byte, Path) {
	var b strings.Builder
	b.WriteString("tenant: tenant-a\nenv: dev\nregion: ap-south-1\nservices:\n  eks:\n    enabled: true\n    config:\n")
	n := 0
	for ; b.Len() < size; n++ {
		fmt.Fprintf(&b, "      dev-cpu-%d:\n        fleet: cpu          # class of clusters\n        is_canary: false\n        version: \"1.29\"     # EKS control plane\n        vpc_name: shared\n", n)
	}
	return []byte(b.String()), Path{"services", "eks", "config", fmt.Sprintf("dev-cpu-%d", n/2), "version"}
}

func benchmarkSet(b *testing.B, size int) {
	src, path := blueprint(size)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Set("bench.yaml", src, Edit{Path: path, Value: "1.30", Document: -1})
		if err != nil || !res.Changed() {
			b.Fatalf("edit did not apply: %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "edits/s")
}

// BenchmarkSet2KiB measures one edit of a typical blueprint.
func BenchmarkSet2KiB(b *testing.B) { benchmarkSet(b, 2<<10) }

// BenchmarkSet1MiB measures one edit of a very large file.
func BenchmarkSet1MiB(b *testing.B) { benchmarkSet(b, 1<<20) }
