package yamledit

import (
	"errors"
	"testing"
)

func TestPrune(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, path, want, err string
	}{
		{
			name: "entry with siblings is deleted alone",
			in:   "a:\n  b:\n    c: x # note\n    d: y\n",
			path: "a.b.c",
			want: "a:\n  b:\n    d: y\n",
		},
		{
			name: "empty parents are removed up to a mapping with other entries",
			in:   "a:\n  keep: 1\n  b:\n    # about c\n    c: x\nz: 2\n",
			path: "a.b.c",
			want: "a:\n  keep: 1\nz: 2\n",
		},
		{
			name: "whole document leaves the comments before it",
			in:   "# tenant-a dev\nexternalSecret:\n  labels:\n    addonsRelease: release2\n",
			path: "externalSecret.labels.addonsRelease",
			want: "# tenant-a dev\n",
		},
		{
			name: "CRLF and no final newline",
			in:   "keep: 1\r\na:\r\n  b: x",
			path: "a.b",
			want: "keep: 1",
		},
		{
			name: "flow mapping on the way is refused",
			in:   "a: {b: x}\nz: 1\n",
			path: "a.b",
			err:  "f.yaml:1:4: a.b: a is not a block mapping; delete the entry by hand",
		},
		{
			name: "block scalar is refused",
			in:   "a:\n  b: |\n    x\n",
			path: "a.b",
			err:  "f.yaml:2:3: a.b: entry is not a `key: scalar` on one line; delete it by hand",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParsePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			in := []byte(tt.in)
			got, err := Prune("f.yaml", in, p)
			if string(in) != tt.in {
				t.Fatalf("Prune changed its input")
			}
			if tt.err != "" {
				var e *Error
				if !errors.As(err, &e) || err.Error() != tt.err {
					t.Fatalf("Prune error = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Prune: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Prune =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
