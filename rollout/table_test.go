package rollout

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"text/tabwriter"
)

// tabwriterText is what the plan's table was before it was written as it
// goes: the rows through text/tabwriter into one string, then every line's
// closing spaces dropped.
func tabwriterText(rows [][]string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func TestWriteAlignedAgreesWithTabwriter(t *testing.T) {
	t.Parallel()
	words := []string{"", "", "a", "wave", "t000-dev-00 *", "tenant-ü", "1.29 -> 1.30", "naïve café", "x ", "  ", "(unset) -> release3", "日本語"}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		cols := 1 + r.IntN(9)
		rows := make([][]string, r.IntN(12))
		for i := range rows {
			rows[i] = make([]string, cols)
			for j := range rows[i] {
				rows[i][j] = words[r.IntN(len(words))]
			}
		}
		want := tabwriterText(rows)
		var b strings.Builder
		tw := &trimWriter{w: &b}
		writeAligned(tw, func(row func(cells ...string)) {
			for _, cells := range rows {
				row(cells...)
			}
		})
		if b.String() != want {
			t.Fatalf("table %d %q:\ngot:\n%q\nwant:\n%q", n, rows, b.String(), want)
		}
	}
}

func TestTrimWriter(t *testing.T) {
	t.Parallel()
	long := strings.Repeat(" ", 100)
	for _, text := range []string{
		"", "a", "a \n", "a  b  \nc\n", "   \n  x", "x" + long + "y" + long + "\n" + long, "\n\n \n", "a\t \n",
	} {
		want := strings.Join(func() []string {
			lines := strings.Split(text, "\n")
			for i, l := range lines {
				lines[i] = strings.TrimRight(l, " ")
			}
			return lines
		}(), "\n")
		// Written whole and in every split into two writes.
		for cut := range len(text) + 1 {
			var b strings.Builder
			tw := &trimWriter{w: &b}
			for _, part := range []string{text[:cut], text[cut:]} {
				if n, err := tw.Write([]byte(part)); n != len(part) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", part, n, err)
				}
			}
			if b.String() != want {
				t.Errorf("%q cut at %d: got %q, want %q", text, cut, b.String(), want)
			}
		}
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, fmt.Errorf("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWriteTableSaysWhyItStopped(t *testing.T) {
	t.Parallel()
	p := goldenEKS(t)
	if err := WriteTable(&failingWriter{after: 3}, p); err == nil || err.Error() != "disk full" {
		t.Fatalf("WriteTable to a failing writer: %v, want disk full", err)
	}
	var b strings.Builder
	if err := WriteTable(&b, p); err != nil || b.String() != RenderTable(p) {
		t.Fatalf("WriteTable: %v, or its text differs from RenderTable's", err)
	}
}
