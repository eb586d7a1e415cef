package gitrepo

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// refFromFiles reads the full ref name the way git's files ref storage keeps
// it, without a git process: the loose file under the repository, else its
// line in packed-refs. sha is "" when the ref does not exist. ok is false
// when only git can tell: a symbolic ref, a ref storage other than files
// (reftable), a name git would not store, anything unexpected. Git writes
// both files whole and renames them into place, so a read sees a value the
// ref held; and the sandbox reads and writes a repository under its lock.
func (r *Repo) refFromFiles(name string) (sha string, ok bool) {
	if checkRefName(name) != nil || !r.refFiles() {
		return "", false
	}
	data, err := os.ReadFile(filepath.Join(r.path, filepath.FromSlash(name)))
	switch {
	case err == nil:
		return looseValue(data)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENOTDIR):
		// No loose file (a directory of that name holds other refs).
	default:
		return "", false
	}
	ok = r.packedRefs(func(ref, value string) bool {
		if ref == name {
			sha = value
			return false
		}
		return true
	})
	return sha, ok
}

// refFiles reports whether the repository keeps its refs in files, not in
// a reftable.
func (r *Repo) refFiles() bool {
	_, err := os.Lstat(filepath.Join(r.path, "reftable"))
	return errors.Is(err, fs.ErrNotExist)
}

// looseValue reads a loose ref file's content; false for a symbolic ref or
// anything git would not write as a ref's value.
func looseValue(data []byte) (sha string, ok bool) {
	value := strings.TrimSuffix(string(data), "\n")
	if !isSHA(value) {
		return "", false
	}
	return strings.ToLower(value), true
}

// packedRefs calls each with the refs of packed-refs, in its order, until
// each returns false; false when the file cannot be read as git writes it.
func (r *Repo) packedRefs(each func(name, sha string) bool) bool {
	packed, err := os.ReadFile(filepath.Join(r.path, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	lines := bufio.NewScanner(bytes.NewReader(packed))
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		line := lines.Text()
		if line == "" || line[0] == '#' || line[0] == '^' {
			continue // the header, or the peeled value of the tag above
		}
		value, ref, cut := strings.Cut(line, " ")
		if !cut || !isSHA(value) {
			return false
		}
		if !each(ref, strings.ToLower(value)) {
			return true
		}
	}
	return lines.Err() == nil
}

// refsFromFiles lists every ref from git's files, sorted by name, as
// for-each-ref would; ok is false when only git can tell (see
// refFromFiles).
func (r *Repo) refsFromFiles() (refs []Ref, ok bool) {
	if !r.refFiles() {
		return nil, false
	}
	loose := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(r.path, "refs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(r.path, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if checkRefName(name) != nil {
			return nil // a lock, or a file git does not take for a ref
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while listed
		}
		if err != nil {
			return err
		}
		sha, ok := looseValue(data)
		if !ok {
			return errNotFiles
		}
		loose[name] = true
		refs = append(refs, Ref{Name: name, SHA: sha})
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if !r.packedRefs(func(name, sha string) bool {
		if !loose[name] {
			refs = append(refs, Ref{Name: name, SHA: sha})
		}
		return true
	}) {
		return nil, false
	}
	slices.SortFunc(refs, func(a, b Ref) int { return strings.Compare(a.Name, b.Name) })
	return refs, true
}

// errNotFiles stops a walk of the refs that only git can read.
var errNotFiles = errors.New("a ref only git can read")
