package yamledit

import (
	"errors"
	"strings"
	"testing"
)

// TestParserColumns pins how the YAML parser counts positions, which the
// byte mapping depends on: columns count characters (not bytes), a leading
// byte-order mark is not counted, and CR, NEL, LS and PS end lines as LF does.
func TestParserColumns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		src        string
		path       string
		line, col  int
		start, end int
	}{
		{name: "ascii", src: "a: x\nb: \"y\"\n", path: "b", line: 2, col: 4, start: 8, end: 11},
		{name: "bom", src: "\ufeffa: x\n", path: "a", line: 1, col: 4, start: 6, end: 7},
		{name: "bom and multi-byte on the line", src: "\ufeff東京: {zone: Zürich, v: '1'}\n", path: "東京.v", line: 1, col: 23, start: 30, end: 33},
		{name: "multi-byte on an earlier line", src: "city: Zürich\nv: 1\n", path: "v", line: 2, col: 4, start: 17, end: 18},
		{name: "crlf", src: "a: x\r\nb: y\r\n", path: "b", line: 2, col: 4, start: 9, end: 10},
		{name: "lone cr", src: "a: x\rb: y\r", path: "b", line: 2, col: 4, start: 8, end: 9},
		{name: "line separator", src: "a: x\u2028b: y\n", path: "b", line: 2, col: 4, start: 10, end: 11},
		{name: "next line", src: "a: x\u0085b: y\n", path: "b", line: 2, col: 4, start: 9, end: 10},
		{name: "tab before value", src: "a:\t\"x\"\n", path: "a", line: 1, col: 4, start: 3, end: 6},
		{name: "anchor and tag skipped", src: "a: &x !!str 1\n", path: "a", line: 1, col: 13, start: 12, end: 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := Lookup("f.yaml", []byte(tt.src), mustPath(t, tt.path), -1)
			if err != nil {
				t.Fatal(err)
			}
			if v.Line != tt.line || v.Column != tt.col || v.Start != tt.start || v.End != tt.end {
				t.Fatalf("got %d:%d bytes [%d,%d); want %d:%d bytes [%d,%d)", v.Line, v.Column, v.Start, v.End, tt.line, tt.col, tt.start, tt.end)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	src := []byte("x: &x 1\na:\n  version: \"1.29\"\n  plain: 1.29\n  text: |\n    two\n    lines\n  empty:\n  alias: *x\n")
	tests := []struct {
		path     string
		want     Value
		wantKind Kind
	}{
		{path: "a.version", want: Value{Text: "1.29", Tag: "!!str", Style: DoubleQuoted, Line: 3, Column: 12, Start: 22, End: 28}},
		{path: "a.plain", want: Value{Text: "1.29", Tag: "!!float", Style: Plain, Line: 4, Column: 10, Start: 38, End: 42}},
		{path: "a.text", want: Value{Text: "two\nlines\n", Tag: "!!str", Style: Literal, Line: 5, Column: 9, Start: -1, End: -1}},
		{path: "a.empty", want: Value{Text: "", Tag: "!!null", Style: Plain, Line: 8, Column: 9, Start: -1, End: -1}},
		{path: "a.alias", wantKind: KindAlias},
		{path: "a", wantKind: KindNotScalar},
		{path: "a.missing", wantKind: KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			got, err := Lookup("f.yaml", src, mustPath(t, tt.path), 0)
			if tt.wantKind != 0 {
				var e *Error
				if !errors.As(err, &e) || e.Kind != tt.wantKind {
					t.Fatalf("error %v; want kind %v", err, tt.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	src := []byte("a: 1\nlabels:\n  z: x\n  b: y\n  # c\n  c: [1]\nlist: [1]\n")
	d, err := Parse("f.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path    Path
		want    string
		wantErr string
	}{
		{path: nil, want: "a labels list"},
		{path: Path{"labels"}, want: "z b c"}, // in the file's order
		{path: Path{"list"}, wantErr: "f.yaml:7:7: list: not a mapping"},
		{path: Path{"missing"}, wantErr: "not found"},
	} {
		keys, err := d.Keys(tc.path, -1)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Keys(%s): error %v, want one containing %q", tc.path, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("Keys(%s): %v", tc.path, err)
		case tc.wantErr == "" && strings.Join(keys, " ") != tc.want:
			t.Errorf("Keys(%s) = %q, want %q", tc.path, keys, tc.want)
		}
	}
}
