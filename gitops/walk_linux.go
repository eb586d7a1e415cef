package gitops

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// A directory is read until getdents64 returns nothing, one read more than
// its entries need: on a repository of 140,000 directories, 140,000 reads.
// The file systems below fill the buffer they are given until the
// directory ends (their iterators stop only when an entry does not fit),
// so a read that leaves room for the longest entry there can be was the
// last. Others need not: FUSE answers one request's worth at a time.
var fillingFileSystems = map[int64]string{
	0xEF53:     "ext4", // and ext2, ext3
	0x01021994: "tmpfs",
	0x58465342: "xfs",
	0x9123683E: "btrfs",
}

// maxDirent is the longest linux_dirent64: 19 bytes and a name of 255 and
// its terminating zero, aligned to 8.
const maxDirent = 280

// shortReadEnds says whether every directory under root is on a file system
// that fills directory reads: root's own, and that of every mount point
// below it (a mount is rare inside a repository, but a file system that
// answered in parts there would lose entries without a word). When it
// cannot tell, it says no, and directories are read to their empty read.
func shortReadEnds(root string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil {
		return false
	}
	if _, ok := fillingFileSystems[int64(st.Type)]; !ok {
		return false
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return false
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return false
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	return mountsBelowFill(info, abs)
}

// mountsBelowFill says whether every mount point strictly below dir in a
// /proc/self/mountinfo listing is of a file system that fills directory
// reads; a line it cannot read counts as one that does not.
func mountsBelowFill(mountinfo []byte, dir string) bool {
	names := map[string]bool{"ext2": true, "ext3": true}
	for _, name := range fillingFileSystems {
		names[name] = true
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for line := range bytes.Lines(mountinfo) {
		// ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [FIELDS...] - TYPE SOURCE OPTIONS
		fields := strings.Fields(string(line))
		if len(fields) < 5 {
			if len(fields) == 0 {
				continue
			}
			return false
		}
		point := unescapeMountPoint(fields[4])
		if !strings.HasPrefix(point, prefix) {
			continue
		}
		// the optional fields end at "-", after the first six
		dash := -1
		if len(fields) > 6 {
			if i := slices.Index(fields[6:], "-"); i >= 0 {
				dash = 6 + i
			}
		}
		if dash < 0 || dash+1 >= len(fields) || !names[fields[dash+1]] {
			return false
		}
	}
	return true
}

// unescapeMountPoint undoes mountinfo's octal escapes (\040 for a space,
// \011, \012, \134).
func unescapeMountPoint(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readDir returns the entries of the directory at path, without sorting.
// shortIsEnd says that a read leaving room for the longest entry was the
// directory's last (shortReadEnds).
func readDir(path string, shortIsEnd bool) ([]dirEntry, error) {
	fd, err := openRetry(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer func() { _ = syscall.Close(fd) }() // read only: nothing to flush
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
			case syscall.DT_UNKNOWN: // a file system that does not say
				info, err := os.Lstat(path + "/" + e.name)
				if err != nil {
					if errors.Is(err, fs.ErrNotExist) {
						continue // gone since it was listed, as os.ReadDir does
					}
					return nil, err
				}
				e.dir = info.IsDir()
			}
			out = append(out, e)
		}
		if shortIsEnd && len(buf)-n >= maxDirent {
			return out, nil
		}
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
