package gitops

import (
	"context"
	"errors"
	"io"
	"sync"
)

// listFiles returns every file under root as a slash-separated relative
// path, skipping .git directories. Directories are read concurrently: on a
// repository with thousands of cluster directories, opening them is most of
// the cost of a walk.
func listFiles(ctx context.Context, root string, workers int) (map[string]bool, error) {
	w := &walker{ctx: ctx, sem: make(chan struct{}, max(1, workers)*2), files: map[string]bool{}}
	top, err := openDirHandle(root)
	if err != nil {
		return nil, err
	}
	w.wg.Add(1)
	w.dir("", top)
	w.wg.Wait()
	if w.err != nil {
		return nil, w.err
	}
	return w.files, nil
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
// directory (a symbolic link is not, whatever it points to).
type dirEntry struct {
	name string
	dir  bool
}

type walker struct {
	ctx context.Context
	sem chan struct{}
	wg  sync.WaitGroup

	mu    sync.Mutex
	files map[string]bool
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
	var files []string
	for _, e := range entries {
		p := prefix + e.name
		if !e.dir {
			files = append(files, p)
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
	w.mu.Unlock()
}
