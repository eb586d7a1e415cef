package cli

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

func TestReadBuildInfo(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	stamped := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/fleetbot/fleetbot", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "59719ec9cb45f64c32b22ebb80d1bc84debfda7e"},
			{Key: "vcs.time", Value: "2026-11-30T09:12:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/fleetbot/fleetbot", Version: "v0.2.0"}}
	for _, tc := range []struct {
		name                  string
		version, commit, date string // as the linker set them
		info                  *debug.BuildInfo
		want                  buildInfo
	}{{
		name:    "make build: the linker's values win",
		version: "0.1.0", commit: "abc123", date: "2026-12-01T10:00:00Z",
		info: stamped,
		want: buildInfo{Version: "0.1.0", Commit: "abc123", CommitTime: "2026-11-30T09:12:00Z", Modified: true, Built: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8", Platform: platform},
	}, {
		name: "go build in a work tree: what Go stamped from git",
		info: stamped,
		want: buildInfo{Version: "devel", Commit: "59719ec9cb45f64c32b22ebb80d1bc84debfda7e", CommitTime: "2026-11-30T09:12:00Z", Modified: true, GoVersion: "go1.26.8", Platform: platform},
	}, {
		name: "go install ...@v0.2.0: the module's version",
		info: installed,
		want: buildInfo{Version: "0.2.0", GoVersion: "go1.26.8", Platform: platform},
	}, {
		name: "no build information",
		want: buildInfo{Version: "devel", GoVersion: runtime.Version(), Platform: platform},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			version, commit, date = tc.version, tc.commit, tc.date
			t.Cleanup(func() { version, commit, date = "", "", "" })
			got := readBuildInfo(func() (*debug.BuildInfo, bool) { return tc.info, tc.info != nil })
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestVersionCommand(t *testing.T) {
	version, commit, date = "0.1.0", "59719ec9cb45f64c32b22ebb80d1bc84debfda7e", "2026-12-01T10:00:00Z"
	t.Cleanup(func() { version, commit, date = "", "", "" })
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		stdout, stderr, code := runCLI(t, args...)
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if assert.Len(t, lines, 4, "fleetbot %s:\n%s", args[0], stdout) {
			assert.Equal(t, "fleetbot 0.1.0", lines[0])
			// Go may have stamped the commit's time beside it.
			assert.True(t, strings.HasPrefix(lines[1], "commit: 59719ec9cb45f64c32b22ebb80d1bc84debfda7e"), lines[1])
			assert.Equal(t, "built:  2026-12-01T10:00:00Z", lines[2])
			assert.Equal(t, "go:     "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH, lines[3])
		}
		assert.Empty(t, stderr)
		assert.Zero(t, code)
	}
	_, _, code := runCLI(t, "version", "extra")
	assert.Equal(t, 1, code, "fleetbot version takes no argument")
}

func TestBuildInfoString(t *testing.T) {
	b := buildInfo{Version: "devel", Commit: "59719ec", CommitTime: "2026-11-30T09:12:00Z", Modified: true, GoVersion: "go1.26.8", Platform: "linux/amd64"}
	testenv.CheckGolden(t, "version/devel.txt", b.String())
}
