//go:build !linux

package gitops

import (
	"io"
	"os"
	"path/filepath"
)

// dirHandle names a directory; it is opened when read.
type dirHandle struct{ path string }

func openDirHandle(path string) (dirHandle, error) { return dirHandle{path: path}, nil }

func (d dirHandle) sub(name string) (dirHandle, error) {
	return dirHandle{path: filepath.Join(d.path, name)}, nil
}

func (d dirHandle) close() {}

// read returns the entries of d.
func (d dirHandle) read() ([]dirEntry, error) {
	f, err := os.Open(d.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	out := make([]dirEntry, len(entries))
	for i, e := range entries {
		out[i] = dirEntry{name: e.Name(), dir: e.IsDir(), regular: e.Type().IsRegular()}
	}
	return out, err
}

// readFile returns the bytes of the file name of d, at most limit.
func (d dirHandle) readFile(name string, limit int) ([]byte, error) {
	f, err := os.Open(filepath.Join(d.path, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err == nil && len(data) > limit {
		return nil, errTooLarge
	}
	return data, err
}

// readFile is os.ReadFile.
func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
