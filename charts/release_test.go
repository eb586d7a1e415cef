package charts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// mustAppVersion reads the chart's appVersion; the tests cannot run
// without it.
func mustAppVersion() string {
	b, err := os.ReadFile(filepath.Join(chart, "Chart.yaml"))
	if err != nil {
		panic(err)
	}
	var c struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("%s/Chart.yaml: %v", chart, err))
	}
	return c.AppVersion
}

// semver is a version as Helm and the VERSION file write it: 1.2.3, with
// an optional pre-release.
var semver = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)

// TestVersionsAgree holds the chart's appVersion to the VERSION file, which
// `make build` and the Dockerfile build into the binary, and to the newest
// entry of CHANGELOG.md.
func TestVersionsAgree(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(b))
	if !semver.MatchString(version) {
		t.Fatalf("VERSION %q is not a version such as 1.2.3", version)
	}
	if appVersion != version {
		t.Errorf("%s/Chart.yaml: appVersion %q, VERSION %q: the chart would run another version than the one built", chart, appVersion, version)
	}
	changelog, err := os.ReadFile(filepath.Join("..", "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## \[?([^\]\s]+)\]?`).FindSubmatch(changelog)
	if m == nil || string(m[1]) != version {
		t.Errorf("CHANGELOG.md: the newest entry is %q, want one for VERSION %s", m, version)
	}
}

// TestBinaryVersion builds fleetbot and fleetbot-server as `make build`
// does and asks each its version: the VERSION file's, the chart's
// appVersion.
func TestBinaryVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	build := exec.CommandContext(t.Context(), "make", "-s", "-C", "..", "build", "BINDIR="+dir)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	for _, name := range []string{"fleetbot", "fleetbot-server"} {
		for _, args := range [][]string{{"version"}, {"--version"}} {
			out, err := exec.CommandContext(t.Context(), filepath.Join(dir, name), args...).Output()
			if err != nil {
				t.Fatalf("%s %s: %v", name, args[0], err)
			}
			first, _, _ := strings.Cut(string(out), "\n")
			if want := "fleetbot " + appVersion; first != want {
				t.Errorf("%s %s: %q, want %q", name, args[0], first, want)
			}
			if !strings.Contains(string(out), "\ncommit: ") || !regexp.MustCompile(`\nbuilt: +\d{4}-\d\d-\d\dT`).Match(out) {
				t.Errorf("%s %s: no commit, or no build date:\n%s", name, args[0], out)
			}
		}
	}
}

// TestDockerfileBuildsTheVersion runs the build step of the Dockerfile (its
// RUN line with go build, as the image's build stage runs it in a copy of
// the repository, with the commit and date `make image` passes) and asks
// the binary its version: the VERSION file's, with that commit and date.
// The image itself needs a container engine; this holds the step that
// stamps the version.
func TestDockerfileBuildsTheVersion(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Instructions, with their continuation lines joined.
	joined := regexp.MustCompile(`\\\n\s*`).ReplaceAllString(string(b), "")
	var run string
	for line := range strings.SplitSeq(joined, "\n") {
		if cmd, ok := strings.CutPrefix(line, "RUN "); ok && strings.Contains(cmd, "go build") {
			run = cmd
		}
	}
	if run == "" || !strings.Contains(run, "-o /out/ ./cmd/fleetbot ./cmd/fleetbot-server") {
		t.Fatalf("the Dockerfile has no RUN step building fleetbot and fleetbot-server into /out/:\n%s", b)
	}
	dir := t.TempDir()
	run = strings.Replace(run, "-o /out/", "-o "+dir+"/", 1)
	build := exec.CommandContext(t.Context(), "sh", "-c", run)
	build.Dir = ".." // the build stage's WORKDIR holds the repository
	build.Env = append(os.Environ(), "COMMIT=0123abc", "BUILD_DATE=2026-12-04T10:00:00Z")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", run, err, out)
	}
	for _, name := range []string{"fleetbot", "fleetbot-server"} {
		out, err := exec.CommandContext(t.Context(), filepath.Join(dir, name), "version").Output()
		if err != nil {
			t.Fatalf("%s version: %v", name, err)
		}
		// The commit line may add what Go stamped from git: when it was
		// committed, whether the tree was modified.
		lines := strings.Split(string(out), "\n")
		if len(lines) < 3 || lines[0] != "fleetbot "+appVersion || !strings.HasPrefix(lines[1], "commit: 0123abc") || lines[2] != "built:  2026-12-04T10:00:00Z" {
			t.Errorf("the image's %s says:\n%s\nwant: fleetbot %s, commit 0123abc, built 2026-12-04T10:00:00Z", name, out, appVersion)
		}
	}
}
