package gitops

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"sync"
)

// listFiles returns every file under root as a slash-separated relative
// path, skipping .git directories. Directories are read concurrently: on a
// repository with thousands of cluster directories, opening them is most of
// the cost of a walk.
func listFiles(ctx context.Context, root string, workers int) (map[string]bool, error) {
	w := &walker{ctx: ctx, root: root, sem: make(chan struct{}, max(1, workers)*2), files: map[string]bool{}}
	w.wg.Add(1)
	w.dir("")
	w.wg.Wait()
	if w.err != nil {
		return nil, w.err
	}
	return w.files, nil
}

// dirEntry is one entry of a directory: a name and whether it is a
// directory (a symbolic link is not, whatever it points to).
type dirEntry struct {
	name string
	dir  bool
}

type walker struct {
	ctx  context.Context
	root string
	sem  chan struct{}
	wg   sync.WaitGroup

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

// dir reads one directory (rel is slash-separated, "" for the root), records
// its files and hands its subdirectories to other goroutines while there is
// room, reading them itself otherwise.
func (w *walker) dir(rel string) {
	defer w.wg.Done()
	if err := w.ctx.Err(); err != nil {
		w.fail(err)
		return
	}
	entries, err := readDir(filepath.Join(w.root, filepath.FromSlash(rel)))
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
		w.wg.Add(1)
		select {
		case w.sem <- struct{}{}:
			go func() {
				defer func() { <-w.sem }()
				w.dir(p)
			}()
		default:
			w.dir(p)
		}
	}
	w.mu.Lock()
	for _, p := range files {
		w.files[p] = true
	}
	w.mu.Unlock()
}
