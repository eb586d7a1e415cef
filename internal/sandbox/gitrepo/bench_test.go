package gitrepo

import (
	"context"
	"fmt"
	"testing"
)

// benchRepo commits 200 files in 20 directories on main.
func benchRepo(b *testing.B) (*Repo, string) {
	b.Helper()
	r := newRepo(b)
	files := map[string]string{}
	for i := range 200 {
		files[fmt.Sprintf("tenants/t%02d/cluster-%03d.yaml", i%20, i)] = fmt.Sprintf("cluster: c%03d\nversion: \"1.30\"\n", i)
	}
	head := commitFiles(b, r, "", 0, "fleet", files)
	setRef(b, r, "refs/heads/main", head)
	return r, head
}

// BenchmarkCommitFile is the REST write path for one file: blob, tree,
// commit and branch update.
func BenchmarkCommitFile(b *testing.B) {
	r, head := benchRepo(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		c, err := r.Commit(ctx, head)
		if err != nil {
			b.Fatal(err)
		}
		blob, err := r.WriteBlob(ctx, fmt.Appendf(nil, "cluster: c007\nversion: \"1.%d\"\n", 31+i))
		if err != nil {
			b.Fatal(err)
		}
		tree, err := r.WriteTree(ctx, c.Tree, []TreeChange{{Path: "tenants/t07/cluster-007.yaml", SHA: blob}})
		if err != nil {
			b.Fatal(err)
		}
		next, err := r.WriteCommit(ctx, CommitInfo{Tree: tree, Parents: []string{head}, Author: sig(int64(i)), Message: "bump"})
		if err != nil {
			b.Fatal(err)
		}
		if err := r.UpdateRef(ctx, "refs/heads/main", next, head); err != nil {
			b.Fatal(err)
		}
		head = next
	}
}

func BenchmarkResolveRef(b *testing.B) {
	r, _ := benchRepo(b)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := r.ResolveRef(ctx, "main"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChangedFiles diffs 20 edited files, as a pull request's file list.
func BenchmarkChangedFiles(b *testing.B) {
	r, head := benchRepo(b)
	edits := map[string]string{}
	for i := 0; i < 200; i += 10 {
		edits[fmt.Sprintf("tenants/t%02d/cluster-%03d.yaml", i%20, i)] = fmt.Sprintf("cluster: c%03d\nversion: \"1.31\"\n", i)
	}
	next := commitFiles(b, r, head, 1, "wave", edits)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		files, err := r.ChangedFiles(ctx, head, next)
		if err != nil {
			b.Fatal(err)
		}
		if len(files) != len(edits) {
			b.Fatalf("%d files changed, want %d", len(files), len(edits))
		}
	}
}
