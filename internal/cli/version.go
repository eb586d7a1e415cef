package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set by the linker, as `make build` and the Dockerfile do:
//
//	go build -ldflags "-X main.version=$(cat VERSION) -X main.commit=SHA -X main.date=TIME"
//
// What is left empty comes from the build information Go records, where it
// has it.
var (
	version string
	commit  string
	date    string
)

// buildInfo says which fleetbot this is.
type buildInfo struct {
	Version    string
	Commit     string
	CommitTime string // when Go stamped the build from git
	Modified   bool   // built from a work tree with uncommitted changes
	Built      string // the build's date, when the build gave it
	GoVersion  string
	Platform   string
}

// readBuildInfo fills in what the linker did not set from read (the build
// information Go records): the module's version for a `go install ...@v1.2.3`,
// the commit and its time when Go stamped them from git.
func readBuildInfo(read func() (*debug.BuildInfo, bool)) buildInfo {
	b := buildInfo{Version: version, Commit: commit, Built: date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := read()
	if ok {
		b.GoVersion = bi.GoVersion
		if b.Version == "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				b.CommitTime = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	b.Version = strings.TrimPrefix(b.Version, "v")
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

// String is what `fleetbot version` prints.
func (b buildInfo) String() string {
	unknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	c := unknown(b.Commit)
	var notes []string
	if b.CommitTime != "" {
		notes = append(notes, "committed "+b.CommitTime)
	}
	if b.Modified {
		notes = append(notes, "modified")
	}
	if len(notes) > 0 {
		c += " (" + strings.Join(notes, ", ") + ")"
	}
	return fmt.Sprintf("fleetbot %s\ncommit: %s\nbuilt:  %s\ngo:     %s %s\n", b.Version, c, unknown(b.Built), b.GoVersion, b.Platform)
}

// build names the build for the check that fleetbot and fleetbot-server
// are of one: its version, commit and whether the tree was modified.
func (b buildInfo) build() string {
	c := b.Commit
	if c == "" {
		c = "unknown"
	}
	s := b.Version + ", commit " + c
	if b.Modified {
		s += ", modified"
	}
	return s
}

func newVersionCmd(info buildInfo) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print fleetbot's version, commit, build date and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(cmd, info)
		},
	}
}

func runVersion(cmd *cobra.Command, info buildInfo) error {
	_, err := fmt.Fprint(cmd.OutOrStdout(), info)
	return err
}
