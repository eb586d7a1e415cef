package yamledit

import (
	"slices"
	"testing"
)

func TestParsePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Path
		wantErr bool
	}{
		{in: "services.eks.config.dev-cpu-1.version", want: Path{"services", "eks", "config", "dev-cpu-1", "version"}},
		{in: `annotations.example\.com/team`, want: Path{"annotations", "example.com/team"}},
		{in: `a\\b.c`, want: Path{`a\b`, "c"}},
		{in: `a\\.b`, want: Path{`a\`, "b"}},
		{in: "items.0.name", want: Path{"items", "0", "name"}},
		{in: "東京.version", want: Path{"東京", "version"}},
		{in: "", wantErr: true},
		{in: "a..b", wantErr: true},
		{in: ".a", wantErr: true},
		{in: "a.", wantErr: true},
		{in: `a\b`, wantErr: true},
		{in: `a\`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePath(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParsePath(%q) = %q; want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tt.in, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ParsePath(%q) = %q; want %q", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q; want %q", s, tt.in)
			}
		})
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"a.b", `a\.b`, `a\\b`, "0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		back, err := ParsePath(p.String())
		if err != nil || !slices.Equal(back, p) {
			t.Fatalf("%q -> %q -> %q (%v)", s, p, back, err)
		}
	})
}
