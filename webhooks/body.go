package webhooks

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"time"
)

// Body reading limits. A body is read under a deadline, hashed as it
// arrives, and kept in memory only up to spillAt: past that it goes to a
// temporary file, so a client that announces and sends a large body with a
// forged signature costs disk, not memory, until the signature is checked.
const (
	// DefaultBodyTimeout is how long the intake waits for a whole body;
	// GitHub sends a delivery within its own 10 s.
	DefaultBodyTimeout = 10 * time.Second
	// DefaultMaxReads is how many bodies are read at once; more answer 503.
	DefaultMaxReads = 256
	// spillAt is the most of one body kept in memory before it is
	// verified.
	spillAt = 256 << 10
)

// errBodyTimeout reports a body that did not arrive within the deadline.
var errBodyTimeout = errors.New("the body did not arrive in time")

// spooled is a body read in full: in memory, or in a temporary file past
// spillAt.
type spooled struct {
	mem  bytes.Buffer
	file *os.File
	size int64
}

// Write keeps p in memory until spillAt, then in a temporary file in dir.
func (s *spooled) write(p []byte, dir string) error {
	s.size += int64(len(p))
	if s.file == nil && s.mem.Len()+len(p) <= spillAt {
		s.mem.Write(p)
		return nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(dir, "fleetbot-webhook-*")
		if err != nil {
			return fmt.Errorf("spool the body: %w", err)
		}
		s.file = f
		if _, err := s.file.Write(s.mem.Bytes()); err != nil {
			return fmt.Errorf("spool the body: %w", err)
		}
		s.mem = bytes.Buffer{}
	}
	if _, err := s.file.Write(p); err != nil {
		return fmt.Errorf("spool the body: %w", err)
	}
	return nil
}

// bytes returns the whole body; read it only once the signature matched.
func (s *spooled) bytes() ([]byte, error) {
	if s.file == nil {
		return s.mem.Bytes(), nil
	}
	out := make([]byte, s.size)
	if _, err := s.file.ReadAt(out, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read the spooled body: %w", err)
	}
	return out, nil
}

// close removes the temporary file, if any.
func (s *spooled) close() {
	if s.file != nil {
		name := s.file.Name()
		_ = s.file.Close()
		_ = os.Remove(name)
	}
}

// readBody reads at most MaxBody bytes of r's body before deadline,
// writing them to mac as they arrive, into memory or, past spillAt, a
// temporary file in dir. A longer body returns an *http.MaxBytesError as
// soon as the limit is passed; one too slow returns errBodyTimeout.
func readBody(w http.ResponseWriter, r *http.Request, mac hash.Hash, deadline time.Time, dir string) (*spooled, error) {
	rc := http.NewResponseController(w)
	// A ResponseWriter that cannot set deadlines (a test recorder) reads
	// without one; the server's own timeouts still apply.
	_ = rc.SetReadDeadline(deadline)
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	s := &spooled{}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			mac.Write(buf[:n])
			if werr := s.write(buf[:n], dir); werr != nil {
				s.close()
				return nil, werr
			}
		}
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		if err != nil {
			s.close()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, errBodyTimeout
			}
			return nil, err
		}
	}
}
