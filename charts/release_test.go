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

// TestBinaryVersion builds fleetbot as `make build` does and asks it its
// version: the VERSION file's, the chart's appVersion.
func TestBinaryVersion(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "fleetbot")
	build := exec.CommandContext(t.Context(), "make", "-s", "-C", "..", "build", "BIN="+bin)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.CommandContext(t.Context(), bin, args...).Output()
		if err != nil {
			t.Fatalf("fleetbot %s: %v", args[0], err)
		}
		first, _, _ := strings.Cut(string(out), "\n")
		if want := "fleetbot " + appVersion; first != want {
			t.Errorf("fleetbot %s: %q, want %q", args[0], first, want)
		}
		if !strings.Contains(string(out), "\ncommit: ") || !regexp.MustCompile(`\nbuilt: +\d{4}-\d\d-\d\dT`).Match(out) {
			t.Errorf("fleetbot %s: no commit, or no build date:\n%s", args[0], out)
		}
	}
}
