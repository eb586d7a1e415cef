package rollout

import (
	"fmt"
	"slices"
)

// Inverse returns the change that undoes fc on the file fc produced: each
// value set goes back from To to From, a key inserted is deleted, a key
// deleted is inserted again with its old value, in reverse order. A file fc
// created is deleted as a whole (Delete), and a file fc deleted is created
// again with the content it had (Content). The inverse of a file serving
// many clusters reaches the same clusters (Reach).
func Inverse(fc FileChange) (FileChange, error) {
	switch {
	case fc.Create:
		return FileChange{Path: fc.Path, Delete: true, Content: fc.Content, Reach: fc.Reach}, nil
	case fc.Delete:
		return FileChange{Path: fc.Path, Create: true, Content: fc.Content, Reach: fc.Reach}, nil
	}
	back := FileChange{Path: fc.Path, Reach: fc.Reach}
	for _, e := range slices.Backward(fc.Edits) {
		switch e.Op {
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
