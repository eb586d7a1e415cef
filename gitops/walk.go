package gitops

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// listFiles returns every file under root as a slash-separated relative
// path, skipping .git directories. Directories are read concurrently: on a
// repository with thousands of cluster directories, opening them is most of
// the cost of a walk.
func listFiles(ctx context.Context, root string, workers int) (map[string]bool, error) {
	files, _, err := walkFiles(ctx, root, workers, nil)
	return files, err
}

// aheadBudget bounds the bytes walkFiles reads ahead in all, and
// aheadFileMax those of one file: a fleet of large files is read by the
// parse, one file at a time, as before.
const (
	aheadBudget  = 16 << 20
	aheadFileMax = 64 << 10
)

// errTooLarge refuses a file larger than dirHandle.readFile's limit.
var errTooLarge = errors.New("file too large to read ahead")

// walkFiles is listFiles that also reads the regular files for which ahead
// is true while it has their directory open: opening a file relative to
// its directory spares the kernel resolving its whole path again, which on
// a fleet's deep label files costs more than the read. It returns their
// bytes by path. A file it could not read is not among them, and the
// caller reads it by its path as it would have, meeting the error then.
func walkFiles(ctx context.Context, root string, workers int, ahead func(rel string) bool) (map[string]bool, map[string][]byte, error) {
	w := &walker{ctx: ctx, sem: make(chan struct{}, max(1, workers)*2), files: map[string]bool{}, ahead: ahead}
	if ahead != nil {
		w.read = map[string][]byte{}
	}
	top, err := openDirHandle(root)
	if err != nil {
		return nil, nil, err
	}
	w.wg.Add(1)
	w.dir("", top)
	w.wg.Wait()
	if w.err != nil {
		return nil, nil, w.err
	}
	return w.files, w.read, nil
}

// readDir returns the entries of the directory at path, without sorting.
func readDir(path string) ([]dirEntry, error) {
	d, err := openDirHandle(path)
	if err != nil {
		return nil, err
	}
	defer d.close()
	return d.read()
}

// dirEntry is one entry of a directory: a name and whether it is a
// directory (a symbolic link is not, whatever it points to), and whether
// it is a regular file.
type dirEntry struct {
	name         string
	dir, regular bool
}

type walker struct {
	ctx context.Context
	sem chan struct{}
	wg  sync.WaitGroup

	ahead      func(rel string) bool
	aheadBytes atomic.Int64

	mu    sync.Mutex
	files map[string]bool
	read  map[string][]byte // the files read ahead
	err   error
}

func (w *walker) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// dir reads one directory, d, which it closes (rel is slash-separated, ""
// for the root), records its files and hands its subdirectories to other
// goroutines while there is room, reading them itself otherwise.
func (w *walker) dir(rel string, d dirHandle) {
	defer w.wg.Done()
	defer d.close()
	if err := w.ctx.Err(); err != nil {
		w.fail(err)
		return
	}
	entries, err := d.read()
	if err != nil && !errors.Is(err, io.EOF) {
		w.fail(err)
		return
	}
	prefix := rel
	if prefix != "" {
		prefix += "/"
	}
	var (
		files []string
		read  []readAhead
	)
	for _, e := range entries {
		p := prefix + e.name
		if !e.dir {
			files = append(files, p)
			if w.ahead != nil && e.regular && w.aheadBytes.Load() < aheadBudget && w.ahead(p) {
				// Not read here, for whatever reason: read by its path later.
				if data, err := d.readFile(e.name, aheadFileMax); err == nil {
					w.aheadBytes.Add(int64(len(data)))
					read = append(read, readAhead{p, data})
				}
			}
			continue
		}
		if e.name == ".git" {
			continue
		}
		sub, err := d.sub(e.name)
		if err != nil {
			w.fail(err)
			return
		}
		w.wg.Add(1)
		select {
		case w.sem <- struct{}{}:
			go func() {
				defer func() { <-w.sem }()
				w.dir(p, sub)
			}()
		default:
			w.dir(p, sub)
		}
	}
	w.mu.Lock()
	for _, p := range files {
		w.files[p] = true
	}
	for _, r := range read {
		w.read[r.path] = r.data
	}
	w.mu.Unlock()
}

// readAhead is a file walkFiles read.
type readAhead struct {
	path string
	data []byte
}
