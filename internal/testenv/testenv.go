package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	rootOnce sync.Once
	root     string
	rootErr  error
)

// ModuleRoot returns the directory holding the module's go.mod, found by
// walking up from the test's working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() { root, rootErr = findModuleRoot() })
	if rootErr != nil {
		t.Fatal(rootErr)
	}
	return root
}

func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("find module root: no go.mod above %s", dir)
		}
	}
}

// NodeModule returns the directory of an npm package installed under
// tools/npm/node_modules, such as "dynalite" or "@octokit/openapi". It fails
// the test, saying to run `make deps`, when the package is not installed.
func NodeModule(t testing.TB, name string) string {
	t.Helper()
	dir, err := nodeModule(ModuleRoot(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func nodeModule(root, name string) (string, error) {
	dir := filepath.Join(root, "tools", "npm", "node_modules", filepath.FromSlash(name))
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		return "", fmt.Errorf("npm package %s is not installed in %s: run `make deps` (npm ci in tools/npm)", name, filepath.Dir(dir))
	}
	return dir, nil
}

// Deps lists the packages the main package in dir (a path under the module
// root, such as cmd/fleetbot) links, as `go list -deps` prints them.
func Deps(t testing.TB, dir string) []string {
	t.Helper()
	list := exec.CommandContext(context.Background(), "go", "list", "-deps", ".")
	list.Dir = filepath.Join(ModuleRoot(t), dir)
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	return strings.Fields(string(out))
}
