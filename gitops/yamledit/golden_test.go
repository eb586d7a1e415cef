package yamledit

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenOp is the operation a golden case runs, read from its op.json.
type goldenOp struct {
	Set []struct {
		Path     string  `json:"path"`
		Value    string  `json:"value"`
		Expect   *string `json:"expect"`
		Quote    bool    `json:"quote"`
		Document *int    `json:"document"`
	} `json:"set"`
	Insert *struct {
		Mapping string `json:"mapping"`
		Key     string `json:"key"`
		Value   string `json:"value"`
		Before  string `json:"before"`
	} `json:"insert"`
	Delete string `json:"delete"`
	Copy   *struct {
		Mapping string   `json:"mapping"`
		From    string   `json:"from"`
		To      string   `json:"to"`
		Keys    []string `json:"keys"`
	} `json:"copy"`
	Remove string `json:"remove"`
}

// runGolden applies the case's operation to input and returns the new bytes
// and the text a person reads about it.
func runGolden(t *testing.T, input []byte, op goldenOp) ([]byte, string, error) {
	t.Helper()
	const file = "input.yaml"
	switch {
	case op.Insert != nil:
		var mp Path
		if op.Insert.Mapping != "" {
			mp = mustPath(t, op.Insert.Mapping)
		}
		if op.Insert.Before != "" {
			out, err := InsertBefore(file, input, mp, op.Insert.Key, op.Insert.Value, op.Insert.Before)
			return out, "inserted before " + op.Insert.Before + "\n", err
		}
		out, err := Insert(file, input, mp, op.Insert.Key, op.Insert.Value)
		return out, "inserted\n", err
	case op.Copy != nil:
		out, err := CopyEntry(file, input, mustPath(t, op.Copy.Mapping), op.Copy.From, op.Copy.To, op.Copy.Keys)
		return out, "copied\n", err
	case op.Remove != "":
		out, err := RemoveEntry(file, input, mustPath(t, op.Remove))
		return out, "removed\n", err
	case op.Delete != "":
		out, err := Delete(file, input, mustPath(t, op.Delete))
		return out, "deleted\n", err
	}
	edits := make([]Edit, 0, len(op.Set))
	for _, e := range op.Set {
		doc := -1
		if e.Document != nil {
			doc = *e.Document
		}
		edits = append(edits, Edit{Path: mustPath(t, e.Path), Value: e.Value, Expect: e.Expect, Quote: e.Quote, Document: doc})
	}
	res, err := Set(file, input, edits...)
	var b strings.Builder
	for _, o := range res.Outcomes {
		state := "unchanged"
		if o.Changed {
			state = "changed"
		}
		fmt.Fprintf(&b, "%s:%d:%d: %s (document %d): %q -> %q: %s\n", file, o.Line, o.Column, o.Path, o.Document, o.Old, o.New, state)
	}
	return res.Bytes, b.String(), err
}

func mustPath(t testing.TB, s string) Path {
	t.Helper()
	p, err := ParsePath(s)
	if err != nil {
		t.Fatalf("bad path in op.json: %v", err)
	}
	return p
}

// TestGolden runs every case under testdata/golden: input.yaml and op.json
// in, want.txt (the outcome or the refusal) and want.yaml (the edited file,
// only when the operation succeeds) out.
func TestGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases found: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			input, op := readCase(t, dir)
			before := bytes.Clone(input)
			out, text, err := runGolden(t, input, op)
			if !bytes.Equal(input, before) {
				t.Fatal("the operation modified its input slice")
			}
			wantYAML := filepath.Join(dir, "want.yaml")
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("refusal is %T, want *Error: %v", err, err)
				}
				if e.File != "input.yaml" || e.Line < 1 || e.Reason == "" {
					t.Errorf("refusal must name file, line and reason; got file %q line %d reason %q", e.File, e.Line, e.Reason)
				}
				if out != nil {
					t.Errorf("refusal returned %d bytes; want none", len(out))
				}
				text = "error (" + e.Kind.String() + "): " + err.Error() + "\n"
			}
			if *update {
				writeGolden(t, filepath.Join(dir, "want.txt"), []byte(text))
				if err == nil {
					writeGolden(t, wantYAML, out)
				} else {
					_ = os.Remove(wantYAML)
				}
				return
			}
			compareGolden(t, filepath.Join(dir, "want.txt"), []byte(text))
			if err != nil {
				if _, statErr := os.Stat(wantYAML); statErr == nil {
					t.Errorf("operation was refused but %s exists", wantYAML)
				}
				return
			}
			compareGolden(t, wantYAML, out)
			if strings.Contains(text, "unchanged") && !strings.Contains(text, ": changed") && &out[0] != &input[0] {
				t.Error("a no-op must hand back the input itself")
			}
		})
	}
}

// readCase reads a golden case's input and operation.
func readCase(tb testing.TB, dir string) ([]byte, goldenOp) {
	tb.Helper()
	input, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "op.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var op goldenOp
	if err := json.Unmarshal(raw, &op); err != nil {
		tb.Fatalf("%s/op.json: %v", dir, err)
	}
	return input, op
}

func writeGolden(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%q\n--- want\n%q", path, got, want)
	}
}
