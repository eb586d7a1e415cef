package boltstore_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/boltstore"
	"github.com/fleetbot/fleetbot/rollout/store/storetest"
)

func open(t *testing.T, path string, now func() time.Time) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, boltstore.WithClock(now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, now func() time.Time) store.Store {
			return open(t, filepath.Join(t.TempDir(), "state.db"), now)
		},
		Share: func(_ *testing.T, s store.Store, _ func() time.Time) store.Store { return s },
		Reopen: func(t *testing.T, s store.Store, now func() time.Time) store.Store {
			bs := s.(*boltstore.Store)
			require.NoError(t, bs.Close())
			return open(t, bs.Path(), now)
		},
	})
}

func TestOpenRefusesAFileInUse(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	first := open(t, path, time.Now)

	_, err := boltstore.Open(path, boltstore.WithLockTimeout(50*time.Millisecond))
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "another process holds it")

	require.NoError(t, first.Close())
	second, err := boltstore.Open(path, boltstore.WithLockTimeout(50*time.Millisecond))
	require.NoError(t, err, "open after the holder closed")
	require.NoError(t, second.Close())
}

func TestOpenRefusesBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not-a-db")
	require.NoError(t, os.WriteFile(notDB, []byte(strings.Repeat("not a bbolt file\n", 512)), 0o600))
	tests := []struct {
		name string
		path string
		opts []boltstore.Option
	}{
		{"not a bbolt file", notDB, nil},
		{"directory missing", filepath.Join(dir, "missing", "state.db"), nil},
		{"zero lock timeout", filepath.Join(dir, "state.db"), []boltstore.Option{boltstore.WithLockTimeout(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := boltstore.Open(tt.path, tt.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.path)
		})
	}
}

// crashEnv makes the test binary, run again, be the process that crashes.
const crashEnv = "FLEETBOT_BOLTSTORE_CRASH_FILE"

// TestCrash has a child process write state and then be killed without
// closing the file; a new Open must find everything the child saw succeed.
func TestCrash(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashingWriter(t, path)
		return
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(stdout)
	ready := false
	for lines.Scan() {
		if lines.Text() == "written" {
			ready = true
			break
		}
	}
	require.True(t, ready, "child never reported its writes")
	require.NoError(t, cmd.Process.Kill())
	err = cmd.Wait()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "child exited by itself: %v", err)

	s := open(t, path, time.Now)
	ctx := t.Context()
	got, err := s.Get(ctx, "campaigns/crash")
	require.NoError(t, err)
	assert.Equal(t, store.Record{Value: []byte(`{"wave":3}`), Version: 3}, got)
	locks, err := s.Locks(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"dev-cpu-1": "crash"}, locks)
	_, err = s.Acquire(ctx, "campaign/crash", "replica-b", time.Minute)
	require.ErrorIs(t, err, store.ErrHeld)
	pending, err := s.PendingDeliveries(ctx, 0, 0)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, "crash-1", pending[0].ID)
	assert.Equal(t, `{}`, string(pending[0].Payload), "the payload was synced before PutDelivery returned")
}

// crashingWriter is the child of TestCrash: it writes, says so, and waits
// to be killed with the file still open.
func crashingWriter(t *testing.T, path string) {
	s, err := boltstore.Open(path)
	require.NoError(t, err)
	ctx := t.Context()
	var v int64
	for _, value := range []string{`{"wave":1}`, `{"wave":2}`, `{"wave":3}`} {
		v, err = s.Put(ctx, "campaigns/crash", []byte(value), v, store.Fence{})
		require.NoError(t, err)
	}
	require.NoError(t, s.Lock(ctx, "dev-cpu-1", "crash"))
	_, err = s.Acquire(ctx, "campaign/crash", "replica-a", time.Hour)
	require.NoError(t, err)
	_, err = s.PutDelivery(ctx, "crash-1", "push", []byte(`{}`), time.Now())
	require.NoError(t, err)
	_, _ = os.Stdout.WriteString("written\n")
	time.Sleep(time.Minute)
	t.Fatal("not killed")
}

// TestConcurrentDeliveryWrites writes deliveries from many goroutines at
// once, so that they share transactions, with marks of unknown deliveries
// among them: each failing mark fails alone, every delivery is stored once
// and the marks of the known ones take.
func TestConcurrentDeliveryWrites(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "state.db"), time.Now)
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	const n = 200
	var wg sync.WaitGroup
	news := make([]bool, 2*n)
	errs := make([]error, 2*n)
	for i := range n {
		wg.Go(func() {
			news[i], errs[i] = s.PutDelivery(t.Context(), fmt.Sprintf("d-%03d", i), "push", []byte(`{}`), at)
		})
		wg.Go(func() {
			// A redelivery of the same id, racing the first.
			news[n+i], errs[n+i] = s.PutDelivery(t.Context(), fmt.Sprintf("d-%03d", i), "push", []byte(`{}`), at)
		})
	}
	var unknown sync.WaitGroup
	marks := make([]error, 20)
	for i := range marks {
		unknown.Go(func() { marks[i] = s.MarkProcessed(t.Context(), fmt.Sprintf("nowhere-%d", i)) })
	}
	wg.Wait()
	unknown.Wait()
	for i, err := range errs {
		require.NoError(t, err, "put %d", i)
	}
	for _, err := range marks {
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	for i := range n {
		assert.True(t, news[i] != news[n+i], "d-%03d: exactly one of its two puts is new", i)
	}
	pending, err := s.PendingDeliveries(t.Context(), 0, 0)
	require.NoError(t, err)
	assert.Len(t, pending, n, "each delivery stored once")

	for i := range n / 2 {
		wg.Go(func() { errs[i] = s.MarkProcessed(t.Context(), fmt.Sprintf("d-%03d", i)) })
	}
	wg.Wait()
	for i := range n / 2 {
		require.NoError(t, errs[i])
	}
	pending, err = s.PendingDeliveries(t.Context(), 0, 0)
	require.NoError(t, err)
	var left []string
	for _, d := range pending {
		left = append(left, d.ID)
	}
	slices.Sort(left)
	var want []string
	for i := n / 2; i < n; i++ {
		want = append(want, fmt.Sprintf("d-%03d", i))
	}
	assert.Equal(t, want, left, "the unmarked ones stay pending")
}

// TestProcessedPayloadsFreeTheirPages: a processed delivery's payload is
// dropped and its pages reused: 2,000 deliveries of 16 KiB each, each
// processed before the next arrives, leave the file a fraction of their
// 31 MiB; their ids are still recognised.
func TestProcessedPayloadsFreeTheirPages(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path, time.Now)
	payload := []byte(strings.Repeat("x", 16<<10))
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for i := range 2000 {
		id := fmt.Sprintf("d-%d", i)
		_, err := s.PutDelivery(t.Context(), id, "check_run", payload, at)
		require.NoError(t, err)
		require.NoError(t, s.MarkProcessed(t.Context(), id))
	}
	info, err := os.Stat(path)
	require.NoError(t, err)
	t.Logf("state file after 2,000 processed deliveries of 16 KiB: %d KiB", info.Size()>>10)
	assert.Less(t, info.Size(), int64(4<<20), "the payloads' pages are reused")
	isNew, err := s.PutDelivery(t.Context(), "d-7", "check_run", payload, at)
	require.NoError(t, err)
	assert.False(t, isNew, "a processed delivery is still recognised")
}

// TestDeliveriesOfEarlierFiles: a file written before payloads had a bucket
// of their own keeps them in the delivery's record; they are read from there.
func TestDeliveriesOfEarlierFiles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path, time.Now)
	require.NoError(t, s.Close())
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		seq := binary.BigEndian.AppendUint64(nil, 1)
		if err := tx.Bucket([]byte("deliveries")).Put([]byte("old-1"), []byte(`{"event":"push","payload":"eyJyZWYiOiJtYWluIn0=","received":"2026-12-01T10:00:00Z","seq":1}`)); err != nil {
			return err
		}
		if err := tx.Bucket([]byte("deliveries")).Put([]byte("old-0"), []byte(`{"event":"push","payload":"e30=","received":"2026-12-01T09:00:00Z","seq":0,"processed":true}`)); err != nil {
			return err
		}
		return tx.Bucket([]byte("pending")).Put(seq, []byte("old-1"))
	}))
	require.NoError(t, db.Close())
	s = open(t, path, time.Now)
	pending, err := s.PendingDeliveries(t.Context(), 0, 0)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, "old-1", pending[0].ID)
	assert.JSONEq(t, `{"ref":"main"}`, string(pending[0].Payload))
	require.NoError(t, s.MarkProcessed(t.Context(), "old-1"))
	pending, err = s.PendingDeliveries(t.Context(), 0, 0)
	require.NoError(t, err)
	assert.Empty(t, pending)
	n, err := s.PruneDeliveries(t.Context(), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

// segments lists the payload segments beside the state file at path.
func segments(t *testing.T, path string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(boltstore.PayloadDir(path), "*.seg"))
	require.NoError(t, err)
	return names
}

// TestPayloadsOutsideTheFile: payloads are kept beside the state file, not
// in it, in segments that go once every delivery they hold is processed
// (the one being written to excepted), after a reopen too, or once they are
// pruned; the pending ones read back whole.
func TestPayloadsOutsideTheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := boltstore.Open(path, boltstore.WithSegmentSize(64<<10))
	require.NoError(t, err)
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	payload := func(i int) []byte { return []byte(fmt.Sprintf("%05d%s", i, strings.Repeat("x", 16<<10))) }
	const n = 100
	for i := range n {
		_, err := s.PutDelivery(t.Context(), fmt.Sprintf("d-%03d", i), "check_run", payload(i), at)
		require.NoError(t, err)
	}
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Less(t, info.Size(), int64(512<<10), "1.6 MiB of payloads are not in the state file")
	all := len(segments(t, path))
	assert.Equal(t, 25, all, "four payloads of 16 KiB to a segment of 64 KiB")

	for i := range n / 2 {
		require.NoError(t, s.MarkProcessed(t.Context(), fmt.Sprintf("d-%03d", i)))
	}
	assert.Len(t, segments(t, path), all-n/2/4, "the segments of the processed half are gone")
	require.NoError(t, s.Close())

	s = open(t, path, time.Now)
	pending, err := s.PendingDeliveries(t.Context(), 0, 0)
	require.NoError(t, err)
	require.Len(t, pending, n/2)
	for j, d := range pending {
		i := n/2 + j
		assert.Equal(t, fmt.Sprintf("d-%03d", i), d.ID)
		assert.Equal(t, payload(i), d.Payload, d.ID)
	}
	for _, d := range pending[:n/4] {
		require.NoError(t, s.MarkProcessed(t.Context(), d.ID))
	}
	require.NoError(t, s.Close())
	s = open(t, path, time.Now)
	assert.Len(t, segments(t, path), all-3*n/4/4, "the segments of the processed three quarters are gone")

	// Pruned, pending or not: the payloads go with the deliveries.
	pruned, err := s.PruneDeliveries(t.Context(), at.Add(time.Second))
	require.NoError(t, err)
	assert.Equal(t, n, pruned)
	assert.Empty(t, segments(t, path), "nothing pending: every segment goes")

	// A segment left behind, as by a crash between a commit and the
	// removal it allowed, goes when the store opens.
	require.NoError(t, s.Close())
	stray := filepath.Join(boltstore.PayloadDir(path), "00000000000000ff.seg")
	require.NoError(t, os.WriteFile(stray, []byte("left"), 0o600))
	open(t, path, time.Now)
	assert.NoFileExists(t, stray)
}

// TestDamagedPayload: a payload whose bytes changed on disk, or whose
// segment is gone, is an error naming the segment, not a payload handed on.
func TestDamagedPayload(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path, time.Now)
	_, err := s.PutDelivery(t.Context(), "d-1", "push", []byte(`{"ref":"refs/heads/main"}`), time.Now())
	require.NoError(t, err)
	segs := segments(t, path)
	require.Len(t, segs, 1)
	raw, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	raw[3] ^= 0xff
	require.NoError(t, os.WriteFile(segs[0], raw, 0o600))
	_, err = s.PendingDeliveries(t.Context(), 0, 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), segs[0])
	assert.Contains(t, err.Error(), "do not match their checksum")

	require.NoError(t, s.Close())
	require.NoError(t, os.Remove(segs[0]))
	s = open(t, path, time.Now)
	_, err = s.PendingDeliveries(t.Context(), 0, 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), segs[0]+" is missing")
}

// TestEmptyPayload: a delivery stored without a payload reads back with an
// empty one, after the segments before it went too.
func TestEmptyPayload(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := boltstore.Open(path, boltstore.WithSegmentSize(1))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	for _, id := range []string{"d-1", "d-2"} {
		_, err := s.PutDelivery(t.Context(), id, "push", []byte(`{"ref":"main"}`), time.Now())
		require.NoError(t, err)
	}
	require.NoError(t, s.MarkProcessed(t.Context(), "d-1"))
	_, err = s.PutDelivery(t.Context(), "empty", "push", nil, time.Now())
	require.NoError(t, err)
	require.NoError(t, s.MarkProcessed(t.Context(), "d-2"))
	pending, err := s.PendingDeliveries(t.Context(), 0, 0)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, "empty", pending[0].ID)
	assert.Empty(t, pending[0].Payload)
}
