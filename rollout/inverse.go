package rollout

import (
	"fmt"
	"slices"
	"strings"
)

// Inverse returns the change that undoes fc on the file fc produced: each
// value set goes back from To to From, a key inserted is deleted, a key
// deleted is inserted again with its old value, in reverse order. A file fc
// created is deleted as a whole (Delete), and a file fc deleted is created
// again with the content it had (Content). An entry copied (a green
// cluster's) is removed with the values set in it; a file copied is
// deleted whatever it holds, as it was a copy. What a retired blue
// cluster lost (an entry removed, a file deleted whatever it held) cannot
// be written back. The inverse of a file serving many clusters reaches the
// same clusters (Reach).
func Inverse(fc FileChange) (FileChange, error) {
	switch {
	case fc.Create:
		return FileChange{Path: fc.Path, Delete: true, Content: fc.Content, Reach: fc.Reach}, nil
	case fc.Delete && fc.Content == "":
		return FileChange{}, fmt.Errorf("%s: removed as a whole with its cluster, which cannot be written back", fc.Path)
	case fc.Delete:
		return FileChange{Path: fc.Path, Create: true, Content: fc.Content, Reach: fc.Reach}, nil
	}
	back := FileChange{Path: fc.Path, Reach: fc.Reach}
	var copied [][]string
	for _, e := range fc.Edits {
		if e.Op == OpCopy {
			copied = append(copied, e.Path)
		}
	}
	for _, e := range slices.Backward(fc.Edits) {
		if e.Op != OpCopy && slices.ContainsFunc(copied, func(p []string) bool { return len(e.Path) > len(p) && slices.Equal(e.Path[:len(p)], p) }) {
			continue // goes with the copied entry
		}
		switch e.Op {
		case OpCopy:
			back.Edits = append(back.Edits, Edit{Path: e.Path, Op: OpRemove, From: e.Path[len(e.Path)-1], Document: e.Document})
		case OpRemove:
			return FileChange{}, fmt.Errorf("%s: entry %s was removed with its cluster, which cannot be written back", fc.Path, strings.Join(e.Path, "."))
		case OpSet:
			back.Edits = append(back.Edits, Edit{Path: e.Path, Op: OpSet, From: e.To, To: e.From, Quote: e.Quote, Document: e.Document})
		case OpInsert:
			back.Edits = append(back.Edits, Edit{Path: e.Path, Op: OpDelete, From: e.To, Document: e.Document})
		case OpDelete:
			back.Edits = append(back.Edits, Edit{Path: e.Path, Op: OpInsert, To: e.From, Quote: e.Quote, Document: e.Document})
		case OpCreate:
			// Written with a created file, which is deleted as a whole.
		default:
			return FileChange{}, fmt.Errorf("%s: unknown edit operation %q", fc.Path, e.Op)
		}
	}
	return back, nil
}
