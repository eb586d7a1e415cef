package boltstore

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// spool keeps the payloads of pending deliveries in segment files beside the
// bbolt file, outside its memory map: a backlog of payloads read once and
// dropped would otherwise stay resident with the map, as large as the
// backlog. A segment is appended to by the group commit (one writer), each
// group's payloads synced before the transaction that names them commits,
// so a stored delivery's payload is on disk. A segment is removed once no
// pending delivery names it: segments are filled in the order deliveries
// are stored, so every segment older than the one of the oldest pending
// delivery goes.
type spool struct {
	dir     string
	maxSize int64 // the length past which a new segment is started

	mu     sync.RWMutex
	files  map[uint64]*os.File // every segment on disk, open for reading
	oldest uint64              // segments before it were removed, as no pending delivery named them
	next   uint64              // the number of the next segment created

	// Of the commit goroutine only.
	cur  *os.File // the segment appended to; nil until the first payload
	num  uint64   // cur's number
	size int64    // cur's length
}

// segmentSize is the length past which a new segment is started, unless
// the store was opened with another.
const segmentSize = 64 << 20

// payloadRef says where a payload is in the spool. CRC is its CRC-32C, so a
// damaged segment is noticed rather than handed to the handler.
type payloadRef struct {
	Seg uint64 `json:"seg"`
	Off int64  `json:"off"`
	Len int    `json:"len"`
	CRC uint32 `json:"crc"`
}

// castagnoli is the CRC table of the spool's checksums, made on first use:
// every command links this package, only serve writes a spool.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// errPayloadGone reports that a payload's segment was removed: its delivery
// was processed or pruned since the caller read its reference.
var errPayloadGone = errors.New("payload removed: the delivery is no longer pending")

// openSpool opens the segments in dir, which need not exist yet.
func openSpool(dir string, maxSize int64) (*spool, error) {
	sp := &spool{dir: dir, maxSize: maxSize, files: map[uint64]*os.File{}}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return sp, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read payload directory: %w", err)
	}
	var nums []uint64
	for _, e := range entries {
		n, ok := segmentNumber(e.Name())
		if !ok {
			continue // not a segment: not the spool's to touch
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for _, n := range nums {
		f, err := os.Open(sp.segmentPath(n))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("open payload segment: %w", err), sp.close())
		}
		sp.files[n] = f
	}
	if len(nums) > 0 {
		// oldest stays 0: a segment missing now was not removed by
		// this spool, and a delivery naming it is an error.
		sp.next = nums[len(nums)-1] + 1
	}
	return sp, nil
}

// segmentNumber parses a segment's file name, 16 hex digits and ".seg".
func segmentNumber(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, ".seg")
	if !ok || len(hex) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(hex, 16, 64)
	return n, err == nil
}

func (sp *spool) segmentPath(n uint64) string {
	return filepath.Join(sp.dir, fmt.Sprintf("%016x.seg", n))
}

// append writes payloads at the end of the current segment, starting a new
// one first when it is full or none is open yet (a new process never
// appends to a segment of an earlier one, whose end a crash may have left
// half written), and syncs them. It returns where each went.
func (sp *spool) append(payloads [][]byte) ([]payloadRef, error) {
	if sp.cur == nil || sp.size >= sp.maxSize {
		if err := sp.rotate(); err != nil {
			return nil, err
		}
	}
	refs := make([]payloadRef, len(payloads))
	buf := make([]byte, 0, sumLen(payloads))
	for i, p := range payloads {
		refs[i] = payloadRef{Seg: sp.num, Off: sp.size + int64(len(buf)), Len: len(p), CRC: crc32.Checksum(p, castagnoli())}
		buf = append(buf, p...)
	}
	if _, err := sp.cur.WriteAt(buf, sp.size); err != nil {
		return nil, fmt.Errorf("write payload segment %s: %w", sp.cur.Name(), err)
	}
	sp.size += int64(len(buf))
	if err := sp.cur.Sync(); err != nil {
		return nil, fmt.Errorf("sync payload segment %s: %w", sp.cur.Name(), err)
	}
	return refs, nil
}

func sumLen(payloads [][]byte) int {
	n := 0
	for _, p := range payloads {
		n += len(p)
	}
	return n
}

// rotate starts a new segment, its name synced into the directory before
// any transaction names it.
func (sp *spool) rotate() error {
	if err := os.MkdirAll(sp.dir, 0o700); err != nil {
		return fmt.Errorf("create payload directory: %w", err)
	}
	sp.mu.Lock()
	n := sp.next
	sp.next++
	sp.mu.Unlock()
	f, err := os.OpenFile(sp.segmentPath(n), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create payload segment: %w", err)
	}
	if err := syncDir(sp.dir); err != nil {
		return errors.Join(err, f.Close())
	}
	sp.mu.Lock()
	sp.files[n] = f
	sp.mu.Unlock()
	sp.cur, sp.num, sp.size = f, n, 0
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync payload directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync payload directory %s: %w", dir, err)
	}
	return nil
}

// read returns a copy of the payload ref names; errPayloadGone when its
// segment was removed.
func (sp *spool) read(ref payloadRef) ([]byte, error) {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	f := sp.files[ref.Seg]
	switch {
	case f == nil && ref.Seg < sp.oldest:
		return nil, errPayloadGone
	case f == nil:
		return nil, fmt.Errorf("payload segment %s is missing", sp.segmentPath(ref.Seg))
	}
	p := make([]byte, ref.Len)
	if _, err := f.ReadAt(p, ref.Off); err != nil {
		return nil, fmt.Errorf("read payload segment %s at byte %d: %w", f.Name(), ref.Off, err)
	}
	if crc32.Checksum(p, castagnoli()) != ref.CRC {
		return nil, fmt.Errorf("payload segment %s at byte %d: %d bytes do not match their checksum", f.Name(), ref.Off, ref.Len)
	}
	return p, nil
}

// removeBefore removes the segments numbered below floor, the current one
// excepted.
func (sp *spool) removeBefore(floor uint64) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var errs []error
	for n, f := range sp.files {
		if n >= floor || f == sp.cur {
			continue
		}
		errs = append(errs, f.Close())
		if err := os.Remove(f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove payload segment: %w", err))
		}
		delete(sp.files, n)
	}
	sp.oldest = max(sp.oldest, floor)
	return errors.Join(errs...)
}

// removable reports whether a segment other than the current one is on
// disk: only then can removeBefore have work.
func (sp *spool) removable() bool {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	return len(sp.files) > 1 || (len(sp.files) == 1 && sp.cur == nil)
}

// floor is the number below which no segment can be named by a pending
// delivery when none is: every segment made so far.
func (sp *spool) floor() uint64 {
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	return sp.next
}

func (sp *spool) close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var errs []error
	for n, f := range sp.files {
		errs = append(errs, f.Close())
		delete(sp.files, n)
	}
	sp.cur = nil
	return errors.Join(errs...)
}
