package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const setInput = "# tenant-a dev\nservices:\n  eks:\n    version: \"1.29\"   # EKS\n    replicas: 3\n    pinned: 1.29\n"

func TestSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    string // the file afterwards; empty: unchanged
		out     string
		wantErr string
	}{
		{
			name: "changes the value in its quoting",
			args: []string{"services.eks.version", "1.30", "--expect", "1.29"},
			want: strings.Replace(setInput, `"1.29"`, `"1.30"`, 1),
			out:  "FILE: services.eks.version = 1.30\n",
		},
		{
			name: "quotes a plain number on request",
			args: []string{"services.eks.pinned", "1.30", "--quote"},
			want: strings.Replace(setInput, "pinned: 1.29", `pinned: "1.30"`, 1),
			out:  "FILE: services.eks.pinned = 1.30\n",
		},
		{
			name: "reports a value already there",
			args: []string{"services.eks.version", "1.29"},
			out:  "FILE: services.eks.version unchanged\n",
		},
		{
			name:    "refuses a plain value that would become a number",
			args:    []string{"services.eks.pinned", "1.30"},
			wantErr: `FILE:6:13: services.eks.pinned: plain value "1.30" would be read as a number; quote it (--quote)`,
		},
		{
			name:    "refuses a stale expected value",
			args:    []string{"services.eks.version", "1.31", "--expect", "1.30"},
			wantErr: `FILE:4:14: services.eks.version: value is "1.29", expected "1.30"; the file changed since it was read`,
		},
		{
			name:    "refuses a missing key",
			args:    []string{"services.eks.nodes", "3"},
			wantErr: `FILE:4:5: services.eks.nodes: key "nodes" not found`,
		},
		{
			name:    "refuses a document that does not exist",
			args:    []string{"services.eks.version", "1.30", "--document", "2"},
			wantErr: `FILE: services.eks.version: document 2 does not exist; the file has 1 (counted from 0)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "dev.yaml")
			if err := os.WriteFile(file, []byte(setInput), 0o640); err != nil {
				t.Fatal(err)
			}
			cmd := newRootCmd()
			var out, errOut bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			cmd.SetArgs(append([]string{"set", file}, tt.args...))
			cmd.SetContext(t.Context())
			err := cmd.Execute()

			got, readErr := os.ReadFile(file)
			if readErr != nil {
				t.Fatal(readErr)
			}
			want := tt.want
			if want == "" {
				want = setInput
			}
			if string(got) != want {
				t.Errorf("file afterwards:\n%q\nwant:\n%q", got, want)
			}
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("no error; want %q", tt.wantErr)
				}
				if msg := strings.ReplaceAll(err.Error(), file, "FILE"); msg != tt.wantErr {
					t.Errorf("error:\n%s\nwant:\n%s", msg, tt.wantErr)
				}
				if ExitCode(err) == 0 {
					t.Error("a refusal must exit non-zero")
				}
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if o := strings.ReplaceAll(out.String(), file, "FILE"); o != tt.out {
				t.Errorf("output %q, want %q", o, tt.out)
			}
			info, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want 0640", info.Mode().Perm())
			}
			entries, err := os.ReadDir(filepath.Dir(file))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the file (a temporary file was left behind?)", len(entries))
			}
		})
	}
}

func TestSetFollowsSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real := filepath.Join(dir, "real.yaml")
	link := filepath.Join(dir, "link.yaml")
	if err := os.WriteFile(real, []byte("a: \"1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	cmd := newRootCmd()
	cmd.SetOut(new(bytes.Buffer))
	cmd.SetArgs([]string{"set", link, "a", "2"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link was replaced: %v", err)
	}
	if got, _ := os.ReadFile(real); string(got) != "a: \"2\"\n" {
		t.Errorf("target holds %q", got)
	}
}

// TestSetHelpExample runs the first example of set's help in a copy of
// examples/fleet, as a reader there would: its file and key must exist.
func TestSetHelpExample(t *testing.T) {
	t.Parallel()
	first, _, _ := strings.Cut(strings.TrimSpace(newSetCmd().Example), "\n")
	example := strings.Fields(first)
	require.Greater(t, len(example), 3, "example %q", first)
	require.Equal(t, []string{"fleetbot", "set"}, example[:2])
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(exampleFleet)))
	file := filepath.Join(dir, example[2])
	before, err := os.ReadFile(file)
	require.NoError(t, err, "examples/fleet has no %s", example[2])

	out, _, err := execCLI(t, append([]string{"set", file}, example[3:]...)...)
	require.NoError(t, err)
	assert.Equal(t, file+": "+example[3]+" = "+example[4]+"\n", out)
	after, err := os.ReadFile(file)
	require.NoError(t, err)
	// a-dev-cpu-1 is the file's first cluster.
	assert.Equal(t, strings.Replace(string(before), `version: "1.29"`, `version: "1.30"`, 1), string(after))
}
