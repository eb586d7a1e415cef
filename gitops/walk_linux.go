package gitops

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"sync"
	"syscall"
	"unsafe"
)

// On Linux the inventory opens directories and files with plain system
// calls: os.Open also tries to register each descriptor with the network
// poller, four fcntl and one epoll_ctl calls that fail for a directory or
// a regular file, and on a repository of 100,000 clusters those are more
// system calls than the reads themselves.

// direntBufs holds the buffers directories are read into.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 8192); return &b }}

// dirHandle is a directory open for reading. Its subdirectories open
// relative to it (openat), so that the kernel resolves one name instead of
// the whole path: about a fifth of the cost of opening each of a fleet's
// many directories.
type dirHandle struct {
	fd   int
	path string // for messages
}

// openDirHandle opens the directory at path.
func openDirHandle(path string) (dirHandle, error) {
	fd, err := openRetry(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC)
	if err != nil {
		return dirHandle{}, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return dirHandle{fd: fd, path: path}, nil
}

// sub opens the subdirectory name of d.
func (d dirHandle) sub(name string) (dirHandle, error) {
	path := d.path + string(os.PathSeparator) + name
	for {
		fd, err := syscall.Openat(d.fd, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return dirHandle{}, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return dirHandle{fd: fd, path: path}, nil
	}
}

func (d dirHandle) close() { _ = syscall.Close(d.fd) } // read only: nothing to flush

// read returns the entries of d, without sorting.
func (d dirHandle) read() ([]dirEntry, error) {
	fd, path := d.fd, d.path
	bufp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bufp)
	buf := *bufp
	var out []dirEntry
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdirent", Path: path, Err: err}
		}
		if n <= 0 {
			return out, nil
		}
		for b := buf[:n]; len(b) > 0; {
			// struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name.
			if len(b) < 19 {
				return out, nil
			}
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen < 19 || reclen > len(b) {
				return out, nil
			}
			typ, name := b[18], b[19:reclen]
			b = b[reclen:]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			if string(name) == "." || string(name) == ".." {
				continue
			}
			e := dirEntry{name: string(name)}
			switch typ {
			case syscall.DT_DIR:
				e.dir = true
			case syscall.DT_REG:
				e.regular = true
			case syscall.DT_UNKNOWN: // a file system that does not say
				info, err := os.Lstat(path + "/" + e.name)
				if err != nil {
					if errors.Is(err, fs.ErrNotExist) {
						continue // gone since it was listed, as os.ReadDir does
					}
					return nil, err
				}
				e.dir, e.regular = info.IsDir(), info.Mode().IsRegular()
			}
			out = append(out, e)
		}
	}
}

// aheadBufs holds the buffers dirHandle.readFile reads into.
var aheadBufs = sync.Pool{New: func() any { return new([]byte) }}

// readFile returns the bytes of the regular file name of d, at most limit:
// four system calls, against five for readFile by path. A symbolic link
// (O_NOFOLLOW) or a FIFO (O_NONBLOCK) that took the file's place since it
// was listed is refused, not followed or waited on.
func (d dirHandle) readFile(name string, limit int) ([]byte, error) {
	var fd int
	for {
		var err error
		fd, err = syscall.Openat(d.fd, name, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	defer func() { _ = syscall.Close(fd) }() // read only: nothing to flush
	bufp := aheadBufs.Get().(*[]byte)
	defer aheadBufs.Put(bufp)
	if cap(*bufp) < limit+1 {
		*bufp = make([]byte, limit+1)
	}
	buf := (*bufp)[:limit+1] // one byte more: a file of limit bytes fits
	n := 0
	for {
		if n == len(buf) {
			return nil, errTooLarge
		}
		m, err := syscall.Read(fd, buf[n:])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return slices.Clone(buf[:n:n]), nil
		}
		n += m
	}
}

// readFile is os.ReadFile.
func readFile(path string) ([]byte, error) {
	fd, err := openRetry(path, syscall.O_RDONLY|syscall.O_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer func() { _ = syscall.Close(fd) }() // read only: nothing to flush
	var st syscall.Stat_t
	size := 0
	if err := syscall.Fstat(fd, &st); err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG {
		size = int(st.Size)
	}
	data := make([]byte, 0, size+1) // one byte more, to see the end in one read
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := syscall.Read(fd, data[len(data):cap(data)])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return data, nil
		}
		data = data[:len(data)+n]
	}
}

func openRetry(path string, mode int) (int, error) {
	for {
		fd, err := syscall.Open(path, mode, 0)
		if !errors.Is(err, syscall.EINTR) {
			return fd, err
		}
	}
}
