package rollout_test

import (
	"errors"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/fleetbot/fleetbot/"

// above are the folders rollout/ sits under: imports run one way, cmd →
// internal → bot → {gitops, webhooks} → rollout.
var above = []string{"bot", "webhooks", "gitops", "internal", "cmd"}

// TestImportsRunOneWay reads the imports of every package under rollout/
// (go/build, as the go command selects files) and fails when one imports a
// package of the module from a folder above: its code may import only
// rollout/ and packages outside the module. Its tests may also use the test
// helpers of internal/ (testenv, the fake Argo CD and EKS), provided those
// do not themselves reach bot/, webhooks/, gitops/ or cmd/.
func TestImportsRunOneWay(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "the module root is rollout's parent")

	l := &loader{root: root, pkgs: map[string]*build.Package{}}
	pkgs, err := l.under("rollout")
	require.NoError(t, err)
	require.NotEmpty(t, pkgs)

	var problems []string
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			if folder := topFolder(imp); folder != "" && folder != "rollout" {
				problems = append(problems, p.ImportPath+" imports "+imp)
			}
		}
		for _, imp := range slices.Concat(p.TestImports, p.XTestImports) {
			switch folder := topFolder(imp); {
			case folder == "" || folder == "rollout":
			case folder != "internal":
				problems = append(problems, p.ImportPath+"'s tests import "+imp)
			default:
				chain, err := l.reaches(imp, []string{"bot", "webhooks", "gitops", "cmd"})
				require.NoError(t, err)
				if chain != nil {
					problems = append(problems, p.ImportPath+"'s tests import "+strings.Join(chain, ", which imports "))
				}
			}
		}
	}
	for _, p := range problems {
		t.Errorf("%s: nothing under rollout/ may import %s", p, strings.Join(above, "/, ")+"/")
	}
}

// topFolder is the module's top-level folder an import path is in, or ""
// for a package outside the module.
func topFolder(imp string) string {
	rest, ok := strings.CutPrefix(imp, module)
	if !ok {
		return ""
	}
	folder, _, _ := strings.Cut(rest, "/")
	return folder
}

// loader reads the packages of the module's directories with go/build.
type loader struct {
	root string
	pkgs map[string]*build.Package // by import path
}

// load reads the package of the module with import path imp.
func (l *loader) load(imp string) (*build.Package, error) {
	if p, ok := l.pkgs[imp]; ok {
		return p, nil
	}
	rel := strings.TrimPrefix(imp, module)
	p, err := build.Default.ImportDir(filepath.Join(l.root, filepath.FromSlash(rel)), 0)
	if err != nil {
		return nil, err
	}
	p.ImportPath = imp
	l.pkgs[imp] = p
	return p, nil
}

// under reads every package in dir (relative to the module root) and below,
// skipping testdata and directories without Go files.
func (l *loader) under(dir string) ([]*build.Package, error) {
	var out []*build.Package
	err := filepath.WalkDir(filepath.Join(l.root, dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(l.root, path)
		if err != nil {
			return err
		}
		p, err := l.load(module + filepath.ToSlash(rel))
		if _, none := errors.AsType[*build.NoGoError](err); none {
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// reaches returns the chain of imports (non-test) by which the module's
// package imp reaches a package in one of folders, or nil if it does not.
func (l *loader) reaches(imp string, folders []string) ([]string, error) {
	seen := map[string]bool{}
	var walk func(imp string) ([]string, error)
	walk = func(imp string) ([]string, error) {
		if slices.Contains(folders, topFolder(imp)) {
			return []string{imp}, nil
		}
		if seen[imp] {
			return nil, nil
		}
		seen[imp] = true
		p, err := l.load(imp)
		if err != nil {
			return nil, err
		}
		for _, next := range p.Imports {
			if topFolder(next) == "" {
				continue
			}
			chain, err := walk(next)
			if err != nil || chain != nil {
				return append([]string{imp}, chain...), err
			}
		}
		return nil, nil
	}
	return walk(imp)
}
