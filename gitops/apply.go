package gitops

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/fleetbot/fleetbot/rollout"
)

// FileResult is one file a planned pull request changes: its bytes before
// (nil when the pull request creates it) and after.
type FileResult struct {
	Path string
	Old  []byte
	New  []byte
}

// ReadFunc reads a repository-relative, slash-separated file. It returns an
// error matching fs.ErrNotExist when the file does not exist.
type ReadFunc func(path string) ([]byte, error)

// DirReader reads files from a repository checked out at dir.
func DirReader(dir string) ReadFunc {
	return func(path string) ([]byte, error) {
		return readFile(filepath.Join(dir, filepath.FromSlash(path)))
	}
}

// listedReader is DirReader for a repository whose files Load's walk
// listed: a file not listed, and not behind a listed entry that is no
// directory (a symbolic link), is not there, and the disk is not asked.
// With listed nil it is DirReader.
func listedReader(dir string, listed map[string]bool) ReadFunc {
	read := DirReader(dir)
	if listed == nil {
		return read
	}
	return func(path string) ([]byte, error) {
		if !listed[path] && !behindListed(path, listed) {
			return nil, &fs.PathError{Op: "open", Path: filepath.Join(dir, filepath.FromSlash(path)), Err: fs.ErrNotExist}
		}
		return read(path)
	}
}

// behindListed reports whether a directory of path is a listed file: a
// symbolic link the walk did not follow, which the disk may resolve.
func behindListed(path string, listed map[string]bool) bool {
	for i := range len(path) {
		if path[i] == '/' && listed[path[:i]] {
			return true
		}
	}
	return false
}

// Apply carries out the edits of one planned pull request on the files read
// by read, through the minimal-diff editor: every byte outside the edited
// scalars stays as it is. It checks each edit's expected old value, so a
// file that moved since planning is refused rather than overwritten.
func Apply(read ReadFunc, pr rollout.PullRequest) ([]FileResult, error) {
	out := make([]FileResult, 0, len(pr.Files))
	for _, fc := range pr.Files {
		r, _, err := applyFile(read, fc, nil)
		if err != nil {
			return nil, fmt.Errorf("pull request for %s: %w", prOwner(pr), err)
		}
		out = append(out, r)
	}
	return out, nil
}

func prOwner(pr rollout.PullRequest) string {
	if pr.Admin || pr.Tenant == "" {
		return "fleet admins"
	}
	return "tenant " + pr.Tenant
}

// applyChanges makes the changes of one file in order, each on what the
// earlier ones left, the first on the file read gives. It returns the
// result of each change up to the first the editor refuses, that one's
// index and the refusal (-1 and nil when none is refused).
//
// A run of changes made only of sets goes through the editor in one pass
// (yamledit.Doc.SetEach: the file is parsed at the start and once more at
// the end, not once per change). Should that pass fail, the run's changes
// are made one at a time, so that the refusal is the one that gives.
// known, when not nil, are the spots Load's parse of the file found: a
// first run of sets whose every scalar has one is made without parsing
// the file at all (applySpotChanges), when it still holds those bytes.
func applyChanges(read ReadFunc, fcs []rollout.FileChange, known *fileSpots) ([]FileResult, int, error) {
	if known != nil && known.data != nil {
		// The file as Load parsed it: the plan was made from these bytes.
		disk := read
		read = func(path string) ([]byte, error) {
			if path == fcs[0].Path {
				return known.data, nil
			}
			return disk(path)
		}
	}
	out := make([]FileResult, 0, len(fcs))
	var (
		cur  []byte
		doc  *yamledit.Doc // cur parsed, when known
		seen bool          // cur holds what the earlier changes left
		slow int           // changes before it are made one at a time
	)
	// The file as the earlier changes left it (gone when they removed it);
	// another file (the one a copy is made of) as read gives it.
	readCur := func(path string) ([]byte, error) {
		switch {
		case !seen || path != fcs[0].Path:
			return read(path)
		case cur == nil:
			return nil, &fs.PathError{Op: "read", Path: path, Err: fs.ErrNotExist}
		}
		return cur, nil
	}
	i := 0
	if n := setChanges(fcs); n > 0 && known != nil {
		if rs, ok := applySpotChanges(read, fcs[:n], known); ok {
			out = append(out, rs...)
			cur, seen, i = rs[n-1].New, true, n
		}
	}
	for i < len(fcs) {
		if n := setChanges(fcs[i:]); n > 1 && i >= slow {
			if rs, d, ok := applySetChanges(readCur, fcs[i:i+n], doc); ok {
				out = append(out, rs...)
				cur, doc, seen = rs[n-1].New, d, true
				i += n
				continue
			}
			slow = i + n
		}
		r, d, err := applyFile(readCur, fcs[i], doc)
		if err != nil {
			return out, i, err
		}
		out = append(out, r)
		cur, doc, seen = r.New, d, true
		i++
	}
	return out, -1, nil
}

// setChanges returns how many of the changes, from the first, edit an
// existing file with sets alone, each of different values.
func setChanges(fcs []rollout.FileChange) int {
	n := 0
	for _, fc := range fcs {
		if fc.Create || fc.Delete || len(fc.Edits) == 0 || setRun(fc.Edits) != len(fc.Edits) {
			break
		}
		n++
	}
	return n
}

// applySetChanges makes changes of sets alone in one pass of the editor
// on the file read gives (doc, when not nil, is that file parsed). It
// reports false when the file cannot be read or parsed or the editor
// refuses: the caller then makes them one at a time.
func applySetChanges(read ReadFunc, fcs []rollout.FileChange, doc *yamledit.Doc) ([]FileResult, *yamledit.Doc, bool) {
	path := fcs[0].Path
	old, err := read(path)
	if err != nil {
		return nil, nil, false
	}
	if doc == nil {
		if doc, err = yamledit.Parse(path, old); err != nil {
			return nil, nil, false
		}
	}
	after, last, err := doc.SetEach(setSteps(fcs))
	if err != nil {
		return nil, nil, false
	}
	return setResults(path, old, after), last, true
}

// setSteps are the editor's edits of changes of sets alone, a step each.
func setSteps(fcs []rollout.FileChange) [][]yamledit.Edit {
	steps := make([][]yamledit.Edit, len(fcs))
	for i, fc := range fcs {
		steps[i] = make([]yamledit.Edit, len(fc.Edits))
		for j, e := range fc.Edits {
			steps[i][j] = setEdit(e)
		}
	}
	return steps
}

// setResults are the results of the changes of file path that made after
// of old, one after the other.
func setResults(path string, old []byte, after [][]byte) []FileResult {
	out := make([]FileResult, len(after))
	for i := range after {
		out[i] = FileResult{Path: path, Old: old, New: after[i]}
		old = after[i]
	}
	return out
}

// applyFile carries out fc on the file read gives. doc, when not nil, is
// that file already parsed; the returned Doc is the result parsed, when the
// last edits were sets (nil otherwise), for the file's next change. A file
// created as a copy (CopyOf) starts from the bytes read gives for the file
// it copies, and gets fc's edits made on them.
func applyFile(read ReadFunc, fc rollout.FileChange, doc *yamledit.Doc) (FileResult, *yamledit.Doc, error) {
	old, err := read(fc.Path)
	var cur []byte
	switch {
	case fc.CopyOf != "" && (!fc.Create || fc.Content != ""):
		return FileResult{}, nil, fmt.Errorf("%s: planned as a copy of %s, which only a new file without content of its own can be", fc.Path, fc.CopyOf)
	case fc.Create && err == nil:
		return FileResult{}, nil, &yamledit.Error{File: fc.Path, Kind: yamledit.KindStale, Reason: "planned as a new file, but it exists now: plan again"}
	case fc.Create && errors.Is(err, fs.ErrNotExist) && fc.CopyOf == "":
		return FileResult{Path: fc.Path, New: []byte(fc.Content)}, nil, nil
	case fc.Create && errors.Is(err, fs.ErrNotExist):
		if cur, err = copied(read, fc); err != nil {
			return FileResult{}, nil, err
		}
		old, doc = nil, nil
	case fc.Delete && errors.Is(err, fs.ErrNotExist):
		return FileResult{}, nil, &yamledit.Error{File: fc.Path, Kind: yamledit.KindStale, Reason: "planned for removal, but it no longer exists: plan again"}
	case err != nil:
		return FileResult{}, nil, fmt.Errorf("read %s: %w", fc.Path, err)
	case fc.Delete && fc.Content != "" && string(old) != fc.Content:
		return FileResult{}, nil, &yamledit.Error{File: fc.Path, Kind: yamledit.KindStale, Reason: "planned for removal as the campaign wrote it, but it changed since: plan again"}
	case fc.Delete:
		return FileResult{Path: fc.Path, Old: old}, nil, nil
	default:
		cur = old
	}
	for i := 0; i < len(fc.Edits); {
		n := setRun(fc.Edits[i:])
		if n == 0 {
			if cur, err = applyEdit(fc.Path, cur, doc, fc.Edits[i]); err != nil {
				return FileResult{}, nil, err
			}
			doc = nil
			i++
			continue
		}
		if cur, doc, err = applySets(fc.Path, cur, doc, fc.Edits[i:i+n]); err != nil {
			return FileResult{}, nil, err
		}
		i += n
	}
	return FileResult{Path: fc.Path, Old: old, New: cur}, doc, nil
}

// copied returns the bytes of the file fc copies, as read gives them,
// never nil: a FileResult whose New is nil removes its file.
func copied(read ReadFunc, fc rollout.FileChange) ([]byte, error) {
	b, err := read(fc.CopyOf)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &yamledit.Error{File: fc.Path, Kind: yamledit.KindStale,
			Reason: fmt.Sprintf("planned as a copy of %s, which no longer exists: plan again", fc.CopyOf)}
	case err != nil:
		return nil, fmt.Errorf("read %s, which %s copies: %w", fc.CopyOf, fc.Path, err)
	}
	return append(make([]byte, 0, len(b)), b...), nil
}

// setRun returns how many of the edits, from the first, are sets of
// different key paths or documents: they are made together, in one pass
// of the editor.
func setRun(edits []rollout.Edit) int {
	type target struct {
		path string
		doc  int
	}
	seen := map[target]bool{}
	n := 0
	for _, e := range edits {
		t := target{yamledit.Path(e.Path).String(), e.Document}
		if e.Op != rollout.OpSet || seen[t] {
			break
		}
		seen[t] = true
		n++
	}
	return n
}

// applySets makes the set edits on src, which doc holds parsed when it is
// not nil, in one pass of the editor. Should the editor refuse them
// together, they are made one at a time, so that the refusal is the one
// making them in turn gives.
func applySets(file string, src []byte, doc *yamledit.Doc, edits []rollout.Edit) ([]byte, *yamledit.Doc, error) {
	if doc == nil {
		d, err := yamledit.Parse(file, src)
		if err != nil {
			return nil, nil, err
		}
		doc = d
	}
	sets := make([]yamledit.Edit, len(edits))
	for i, e := range edits {
		sets[i] = setEdit(e)
	}
	if res, d, err := doc.Set(sets...); err == nil {
		return res.Bytes, d, nil
	}
	for _, e := range edits {
		var err error
		if src, err = applyEdit(file, src, nil, e); err != nil {
			return nil, nil, err
		}
	}
	return src, nil, nil
}

// setEdit is the editor's edit for a set.
func setEdit(e rollout.Edit) yamledit.Edit {
	from := e.From
	return yamledit.Edit{Path: yamledit.Path(e.Path), Value: e.To, Expect: &from, Quote: e.Quote, Document: e.Document}
}

// applyEdit makes one edit of src, the bytes of file; doc, when not nil,
// is src parsed (what the edit before left), which a delete starts from.
func applyEdit(file string, src []byte, doc *yamledit.Doc, e rollout.Edit) ([]byte, error) {
	p := yamledit.Path(e.Path)
	switch e.Op {
	case rollout.OpSet:
		res, err := yamledit.Set(file, src, setEdit(e))
		if err != nil {
			return nil, err
		}
		return res.Bytes, nil
	case rollout.OpInsert:
		if len(p) == 0 {
			return nil, fmt.Errorf("%s: insert with an empty key path", file)
		}
		out, err := yamledit.InsertBefore(file, src, p[:len(p)-1], p[len(p)-1], e.To, e.Before)
		var ye *yamledit.Error
		if e.Before != "" && errors.As(err, &ye) && (ye.Kind == yamledit.KindNotFound || ye.Kind == yamledit.KindLayout || ye.Kind == yamledit.KindVerify) {
			// Where the key stood is a courtesy (a revert's): the entry
			// goes at the end of its mapping when it cannot go there.
			return yamledit.Insert(file, src, p[:len(p)-1], p[len(p)-1], e.To)
		}
		return out, err
	case rollout.OpDelete:
		d := doc
		if d == nil || !bytes.Equal(d.Bytes(), src) {
			var err error
			if d, err = yamledit.Parse(file, src); err != nil {
				return nil, err
			}
		}
		v, err := d.Lookup(p, e.Document)
		if err != nil {
			return nil, err
		}
		if v.Text != e.From {
			return nil, &yamledit.Error{File: file, Line: v.Line, Column: v.Column, Path: p.String(), Kind: yamledit.KindStale,
				Reason: fmt.Sprintf("expected %q to delete, found %q: plan again", e.From, v.Text)}
		}
		return d.Prune(p)
	case rollout.OpCopy:
		if len(p) == 0 {
			return nil, fmt.Errorf("%s: copy with an empty key path", file)
		}
		out, err := yamledit.CopyEntry(file, src, p[:len(p)-1], e.From, p[len(p)-1], e.Keys)
		return out, moved(err, "planned as a copy of "+e.From)
	case rollout.OpRemove:
		out, err := yamledit.RemoveEntry(file, src, p)
		return out, moved(err, "planned for removal")
	case rollout.OpCreate:
		return src, nil // written with the file's content
	default:
		return nil, fmt.Errorf("%s: unknown edit operation %q", file, e.Op)
	}
}

// moved makes the editor's refusal of an entry's copy or removal stale when
// it says the file moved since the plan was made (the entry to add is there
// already, one to copy or remove is gone), so that a pull request leaves
// the file as a person left it and names it. what is what the plan meant.
func moved(err error, what string) error {
	var e *yamledit.Error
	if errors.As(err, &e) && (e.Kind == yamledit.KindExists || e.Kind == yamledit.KindNotFound) {
		e.Kind = yamledit.KindStale
		e.Reason = what + ", but " + e.Reason + ": plan again"
	}
	return err
}

// UnifiedDiff renders the changes of a pull request as a unified diff, the
// way `git diff` shows them (a/ and b/ prefixes, /dev/null for new files).
func UnifiedDiff(files []FileResult) (string, error) {
	var b strings.Builder
	for _, f := range files {
		from := "a/" + f.Path
		if f.Old == nil {
			from = "/dev/null"
		}
		d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: diffLines(f.Old), B: diffLines(f.New),
			FromFile: from, ToFile: "b/" + f.Path, Context: 3,
		})
		if err != nil {
			return "", fmt.Errorf("diff %s: %w", f.Path, err)
		}
		b.WriteString(d)
	}
	return b.String(), nil
}

// diffLines splits b into lines that keep their line break; a last line
// without one gets one, so that it prints as a line of its own.
func diffLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}
