package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
)

// memo remembers answers that cannot change, by key: what git says of
// objects named by their content and of history between such objects. The
// sandbox asks the same of the same commits and trees for every listing,
// event and merge; each answer was a git process. It keeps at most
// memoEntries answers and memoBytes of their size (none over an eighth of
// that), and starts over when either is full. Values are shared: callers
// copy what they hand out.
type memo[V any] struct {
	size func(V) int

	mu    sync.Mutex
	m     map[string]V
	bytes int
}

const (
	memoEntries = 1 << 14
	memoBytes   = 32 << 20
)

func newMemo[V any](size func(V) int) *memo[V] {
	return &memo[V]{size: size, m: map[string]V{}}
}

func (m *memo[V]) get(key string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	return v, ok
}

func (m *memo[V]) put(key string, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.m[key]; ok {
		m.bytes -= m.size(old)
	}
	n := m.size(v)
	if n > memoBytes/8 {
		delete(m.m, key) // too large to keep: asked again each time
		return
	}
	if len(m.m) >= memoEntries || m.bytes+n > memoBytes {
		clear(m.m)
		m.bytes = 0
	}
	m.m[key] = v
	m.bytes += n
}

// memoKey is the key of parts in the repository at path.
func memoKey(path string, parts ...string) string {
	return path + "\x00" + strings.Join(parts, "\x00")
}

// objects remembers what git's cat-file answered for names whose answer
// cannot change once git found the object (fixed): objects are named by
// their content and the sandbox removes none. A name git did not find is
// not kept, since the object may arrive with the next push.
var objects = newMemo(func(e memoEntry) int { return len(e.content) })

type memoEntry struct {
	obj     object
	content []byte // nil when only the object is known
}

// fixed reports whether what git answers for name never changes once it
// found the object: a full object ID, maybe peeled with ^{commit} or
// ^{tree}.
func fixed(name string) bool {
	id, peel, peeled := strings.Cut(name, "^")
	return isSHA(id) && (!peeled || peel == "{commit}" || peel == "{tree}")
}

// refAndPeel splits a name that is a full ref, alone or peeled to a commit
// or tree, into the ref and the peel ("", "^{commit}" or "^{tree}").
func refAndPeel(name string) (ref, peel string, ok bool) {
	ref, p, peeled := strings.Cut(name, "^")
	if !strings.HasPrefix(ref, "refs/") || peeled && p != "{commit}" && p != "{tree}" {
		return "", "", false
	}
	if peeled {
		peel = "^" + p
	}
	return ref, peel, true
}

// knownObject returns the object name resolves to in r, and a copy of its
// content when withContent is set; false when the memo does not know.
func (r *Repo) knownObject(name string, withContent bool) (object, []byte, bool) {
	if !fixed(name) {
		return object{}, nil, false
	}
	e, ok := objects.get(memoKey(r.path, name))
	switch {
	case !ok || withContent && e.content == nil:
		return object{}, nil, false
	case !withContent:
		return e.obj, nil, true
	}
	return e.obj, bytes.Clone(e.content), true
}

// foundObject remembers that name resolves to obj in r, with its content
// when not nil; names that could change, and objects not found, are not
// kept.
func (r *Repo) foundObject(name string, obj object, content []byte) {
	if !fixed(name) || obj.sha == "" {
		return
	}
	key := memoKey(r.path, name)
	if content == nil {
		if old, ok := objects.get(key); ok {
			content = old.content // keep what a read brought
		}
	} else {
		content = bytes.Clone(content)
	}
	objects.put(key, memoEntry{obj: obj, content: content})
}

// answers remembers what git said, in a repository, of commits named by
// their full IDs (gitFixed).
var answers = newMemo(func(a gitAnswer) int { return len(a.out) })

type gitAnswer struct {
	out    []byte
	status int // 0, or 1: git's "no" (no merge base, not an ancestor, a conflict)
}

// gitFixed runs git with args that name commits only by their full IDs,
// whose answer therefore never changes, or returns what it answered before.
// An exit status of 1 is remembered as the error exitCode reads as 1.
func (r *Repo) gitFixed(ctx context.Context, args ...string) ([]byte, error) {
	key := memoKey(r.path, args...)
	if a, ok := answers.get(key); ok {
		return bytes.Clone(a.out), exitStatus(a.status).err()
	}
	out, err := r.git(ctx, nil, args...)
	if code := exitCode(err); err == nil || code == 1 {
		answers.put(key, gitAnswer{out: bytes.Clone(out), status: max(code, 0)})
	}
	return out, err
}

// exitStatus is a remembered exit status of git.
type exitStatus int

func (s exitStatus) Error() string {
	return fmt.Sprintf("git exited with status %d (remembered)", int(s))
}

// ExitCode is what exitCode reads.
func (s exitStatus) ExitCode() int { return int(s) }

func (s exitStatus) err() error {
	if s == 0 {
		return nil
	}
	return s
}
