package wave

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// BenchmarkWriteTree writes a tree of 4,000 files (a blueprint file and
// a values file per cluster of 2,000 clusters) as a Checkout does, made
// durable (one syncfs) before it is renamed into place, and, to show what
// that costs, without. Each tree is removed after it is written, its
// removal not timed.
func BenchmarkWriteTree(b *testing.B) {
	o := newOrigin(b)
	files := map[string]string{}
	for i := range 2000 {
		t := fmt.Sprintf("tenant-%03d", i/10)
		files[fmt.Sprintf("tenants/%s/clusters/c-%04d.yaml", t, i)] = fmt.Sprintf("name: c-%04d\nversion: \"1.29\"\n", i)
		files[fmt.Sprintf("addons/tenants/%s/clusters/c-%04d/fleet/fleet-secret/values.yaml", t, i)] = "addonsRelease: release1\n"
	}
	sha := o.commit("main", files)
	repo, err := git.PlainOpen(o.bare)
	if err != nil {
		b.Fatal(err)
	}
	commit, err := repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		durable func(string) error
	}{
		{"durable", durableTree},
		{"not-durable", func(string) error { return nil }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			root := b.TempDir()
			dst := filepath.Join(root, "trees", sha)
			b.ResetTimer()
			for range b.N {
				if err := writeTree(commit, root, dst, bc.durable); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := os.RemoveAll(dst); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
