package rollout

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// writeAligned writes the rows that each gives row, one line a row, every
// cell but a row's last padded with spaces to its column's widest cell and
// two more, as text/tabwriter lays out one block. each is called twice, to
// measure and to write, and must give the same rows each time, all of the
// same number of cells; nothing but a row's line is held.
func writeAligned(w io.Writer, each func(row func(cells ...string))) {
	var widths []int
	each(func(cells ...string) {
		for j, c := range cells[:max(len(cells)-1, 0)] {
			if j == len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], utf8.RuneCountInString(c))
		}
	})
	var line []byte
	each(func(cells ...string) {
		line = line[:0]
		for j, c := range cells {
			line = append(line, c...)
			if j < len(cells)-1 {
				line = appendSpaces(line, widths[j]+2-utf8.RuneCountInString(c))
			}
		}
		_, _ = w.Write(append(line, '\n'))
	})
}

func appendSpaces(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, ' ')
	}
	return b
}

// trimWriter passes text on to w without the spaces that end its lines; the
// first error of w is kept in err and ends the writing.
type trimWriter struct {
	w      io.Writer
	spaces int // spaces held back: they end the text so far
	err    error
}

func (t *trimWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && t.err == nil {
		seg, rest, ended := bytes.Cut(p, newline)
		if body := bytes.TrimRight(seg, " "); len(body) > 0 {
			for t.spaces > 0 {
				k := min(t.spaces, len(blanks))
				t.emit(blanks[:k])
				t.spaces -= k
			}
			t.emit(body)
			t.spaces = len(seg) - len(body)
		} else {
			t.spaces += len(seg)
		}
		if ended {
			t.spaces = 0
			t.emit(newline)
		}
		p = rest
	}
	if t.err != nil {
		return 0, t.err
	}
	return n, nil
}

var (
	blanks  = []byte("                                ")
	newline = []byte{'\n'}
)

func (t *trimWriter) emit(b []byte) {
	if len(b) > 0 && t.err == nil {
		_, t.err = t.w.Write(b)
	}
}
