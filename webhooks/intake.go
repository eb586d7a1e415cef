package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetbot/fleetbot/rollout/store"
)

// MaxBody is the largest body the intake reads: GitHub caps payloads at
// 25 MiB. A larger one answers 413 Request Entity Too Large.
const MaxBody = 25 << 20

// Defaults of Config.
const (
	DefaultWorkers       = 16
	DefaultQueueSize     = 1024
	DefaultHandleTimeout = 2 * time.Minute
	DefaultAttempts      = 3
	DefaultBackoff       = time.Second
)

const (
	// maxDeliveryID bounds X-GitHub-Delivery (a GUID) so the header cannot
	// become a huge store key.
	maxDeliveryID = 256
	// storeTimeout bounds one store write, so an answer leaves well within
	// GitHub's 10 s.
	storeTimeout = 8 * time.Second
	// maxBackoff caps the wait between two attempts of one delivery.
	maxBackoff = time.Minute
	// stopGrace is how long Shutdown waits, once its deadline passed and the
	// handlers' contexts are cancelled, for the workers to return.
	stopGrace = 5 * time.Second
)

// Config says what an Intake verifies, where it keeps deliveries and who
// acts on them. Secret, Store and Handler are required.
type Config struct {
	// Secret is the GitHub App's webhook secret.
	Secret []byte
	// Store keeps each delivery from before its answer until it is processed.
	Store store.Deliveries
	// Handler acts on each stored delivery.
	Handler Handler
	// Workers is how many deliveries are handled at once (DefaultWorkers when 0).
	Workers int
	// QueueSize is how many stored deliveries wait in memory (DefaultQueueSize
	// when 0). More stay pending in the store and are read again once the
	// queue runs dry.
	QueueSize int
	// Registerer receives the intake's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger receives the intake's logs (slog.Default() when nil).
	Logger *slog.Logger
	// Clock stamps each delivery's arrival (time.Now when nil).
	Clock func() time.Time
	// HandleTimeout bounds one call of Handler.Handle (DefaultHandleTimeout
	// when 0).
	HandleTimeout time.Duration
	// Attempts is how many times a delivery is handled before it is left
	// pending (DefaultAttempts when 0).
	Attempts int
	// Backoff is the wait after the first failed attempt; it doubles after
	// each further one, up to a minute (DefaultBackoff when 0).
	Backoff time.Duration
	// BodyTimeout is how long one request's body may take to arrive
	// (DefaultBodyTimeout when 0); a slower one answers 408 and its
	// connection is closed.
	BodyTimeout time.Duration
	// MaxReads is how many bodies are read at once (DefaultMaxReads when
	// 0); a request beyond it answers 503 at once.
	MaxReads int
	// SpoolDir holds the part of a large body past what is kept in memory
	// until its signature is checked (os.TempDir() when empty).
	SpoolDir string
}

// withDefaults checks c and fills in what it leaves out.
func (c Config) withDefaults() (Config, error) {
	switch {
	case len(c.Secret) == 0:
		return c, errors.New("webhook secret is empty")
	case c.Store == nil:
		return c, errors.New("webhook intake: store is nil")
	case c.Handler == nil:
		return c, errors.New("webhook intake: handler is nil")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"workers", int64(c.Workers)},
		{"queue size", int64(c.QueueSize)},
		{"handle timeout", int64(c.HandleTimeout)},
		{"attempts", int64(c.Attempts)},
		{"backoff", int64(c.Backoff)},
		{"body timeout", int64(c.BodyTimeout)},
		{"max reads", int64(c.MaxReads)},
	} {
		if f.v < 0 {
			return c, fmt.Errorf("webhook intake: %s %d is negative", f.name, f.v)
		}
	}
	c.Secret = append([]byte(nil), c.Secret...)
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.HandleTimeout == 0 {
		c.HandleTimeout = DefaultHandleTimeout
	}
	if c.Attempts == 0 {
		c.Attempts = DefaultAttempts
	}
	if c.Backoff == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.BodyTimeout == 0 {
		c.BodyTimeout = DefaultBodyTimeout
	}
	if c.MaxReads == 0 {
		c.MaxReads = DefaultMaxReads
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c, nil
}

// Intake states.
const (
	stateNew = iota
	stateStarted
	stateStopping
)

// Intake is the webhook endpoint of the App. ServeHTTP verifies each
// delivery and stores it before answering; a pool of workers hands the
// stored deliveries to the Handler and marks them processed. A delivery
// whose handling fails stays pending in the store, for Retry or the next
// Start. Its methods are safe for concurrent use.
type Intake struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	queue   chan store.Delivery
	reads   chan struct{} // one token per body being read
	marks   chan struct{} // one token per processed mark being written

	mu      sync.Mutex
	state   int
	active  map[string]bool // queued or being handled: never twice at once
	given   map[string]bool // left pending after the last attempt; only Retry queues them again
	spilled bool            // a pending delivery did not fit in the queue
	loads   int             // loads reading the store's pending deliveries now
	// finished holds the deliveries marked processed while a load was
	// running: its list of pending deliveries, read before, may still
	// name them, and they must not be handled again.
	finished map[string]bool
	dropped  int           // deliveries let go unprocessed because the intake stopped
	requests int           // ServeHTTP calls in progress
	idle     chan struct{} // closed when requests drops to 0 while stopping

	draining chan struct{} // closed by Shutdown: take what is queued, then stop
	cancel   context.CancelFunc
	workers  sync.WaitGroup
}

// New returns an Intake for cfg. It refuses an empty secret: an intake that
// cannot verify signatures must not start.
func New(cfg Config) (*Intake, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Intake{
		cfg:      cfg,
		log:      cfg.Logger,
		metrics:  m,
		queue:    make(chan store.Delivery, cfg.QueueSize),
		reads:    make(chan struct{}, cfg.MaxReads),
		marks:    make(chan struct{}, marksPerWorker*cfg.Workers),
		active:   map[string]bool{},
		given:    map[string]bool{},
		finished: map[string]bool{},
		draining: make(chan struct{}),
	}, nil
}

// Answers of ServeHTTP, as GitHub's delivery log shows them.
const (
	answerAccepted  = "accepted"
	answerDuplicate = "duplicate"
	answerPong      = "pong"
	answerUnhandled = "event not handled"
	answerStopping  = "shutting down"
)

// ServeHTTP takes one delivery: POST only, body at most MaxBody, a valid
// X-Hub-Signature-256 (the SHA-1 X-Hub-Signature is never read), and the
// X-GitHub-Event and X-GitHub-Delivery headers. A ping answers 200 and an
// event fleetbot does not handle 202, neither stored. A handled event is
// decoded (400 when it does not decode), stored (500 when the store fails),
// then answered 202 and queued; a delivery id stored before answers 200
// "duplicate" and is not handled again. After Shutdown it answers 503.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: webhooks are POSTed")
		return
	}
	if !in.enter() {
		reply(w, http.StatusServiceUnavailable, answerStopping)
		return
	}
	defer in.leave()

	event, id := r.Header.Get("X-GitHub-Event"), r.Header.Get("X-GitHub-Delivery")
	switch {
	case event == "":
		reply(w, http.StatusBadRequest, "header X-GitHub-Event is missing")
		return
	case id == "":
		reply(w, http.StatusBadRequest, "header X-GitHub-Delivery is missing")
		return
	case len(id) > maxDeliveryID:
		reply(w, http.StatusBadRequest, fmt.Sprintf("header X-GitHub-Delivery is longer than %d bytes", maxDeliveryID))
		return
	}
	log := in.log.With("delivery", id, "event", event)
	sig, ok := parseSignature(r.Header.Get("X-Hub-Signature-256"))
	if !ok {
		in.metrics.count(unverifiedLabel(event), ResultBadSignature)
		log.Warn("webhook refused: X-Hub-Signature-256 missing or malformed", "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, "header X-Hub-Signature-256 is missing or not sha256=<hex>")
		return
	}
	if r.ContentLength > MaxBody {
		in.tooLarge(w, log, event)
		return
	}
	select {
	case in.reads <- struct{}{}:
		defer func() { <-in.reads }()
	default:
		in.metrics.count(unverifiedLabel(event), ResultBusy)
		log.Warn("webhook refused: too many bodies being read at once", "max", in.cfg.MaxReads, "remote", r.RemoteAddr)
		w.Header().Set("Connection", "close")
		reply(w, http.StatusServiceUnavailable, "too many requests being read; redeliver it")
		return
	}
	mac := hmac.New(sha256.New, in.cfg.Secret)
	spool, err := readBody(w, r, mac, time.Now().Add(in.cfg.BodyTimeout), in.cfg.SpoolDir)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			in.tooLarge(w, log, event)
		case errors.Is(err, errBodyTimeout):
			in.metrics.count(unverifiedLabel(event), ResultTimeout)
			log.Warn("webhook refused: body not received in time", "timeout", in.cfg.BodyTimeout, "remote", r.RemoteAddr)
			w.Header().Set("Connection", "close")
			reply(w, http.StatusRequestTimeout, fmt.Sprintf("the body did not arrive within %s", in.cfg.BodyTimeout))
		default:
			reply(w, http.StatusBadRequest, "read body: "+err.Error())
		}
		return
	}
	defer spool.close()
	if !hmac.Equal(mac.Sum(nil), sig) {
		in.metrics.count(unverifiedLabel(event), ResultBadSignature)
		log.Warn("webhook refused: signature does not match the body", "remote", r.RemoteAddr)
		reply(w, http.StatusUnauthorized, "signature does not match")
		return
	}
	body, err := spool.bytes()
	if err != nil {
		log.Error("webhook body not read back", "err", err)
		reply(w, http.StatusInternalServerError, "delivery not read; redeliver it")
		return
	}

	switch {
	case event == "ping":
		in.metrics.count(event, ResultUnhandled)
		in.ack(w, start, ResultUnhandled, http.StatusOK, answerPong)
		return
	case !Handles(event):
		in.metrics.count(otherEvent, ResultUnhandled)
		log.Debug("webhook not handled")
		in.ack(w, start, ResultUnhandled, http.StatusAccepted, answerUnhandled)
		return
	}
	if _, err := Parse(event, id, body); err != nil {
		in.metrics.count(event, ResultMalformed)
		log.Warn("webhook refused: payload does not decode", "err", err)
		reply(w, http.StatusBadRequest, err.Error())
		return
	}

	received := in.cfg.Clock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
	isNew, err := in.cfg.Store.PutDelivery(ctx, id, event, body, received)
	cancel()
	if err != nil {
		in.metrics.count(event, ResultStoreError)
		log.Error("webhook not stored", "err", err)
		reply(w, http.StatusInternalServerError, "delivery not stored; redeliver it")
		return
	}
	if !isNew {
		in.metrics.count(event, ResultDuplicate)
		log.Info("webhook already received")
		in.ack(w, start, ResultDuplicate, http.StatusOK, answerDuplicate)
		return
	}
	in.metrics.count(event, ResultAccepted)
	log.Debug("webhook stored")
	in.enqueue(store.Delivery{ID: id, Event: event, Payload: body, Received: received})
	in.ack(w, start, ResultAccepted, http.StatusAccepted, answerAccepted)
}

// ack answers a delivery GitHub counts as delivered (a 2xx) and observes
// how long the answer took from the request's arrival at start.
func (in *Intake) ack(w http.ResponseWriter, start time.Time, result string, status int, msg string) {
	reply(w, status, msg)
	in.metrics.ack.WithLabelValues(result).Observe(time.Since(start).Seconds())
}

func (in *Intake) tooLarge(w http.ResponseWriter, log *slog.Logger, event string) {
	in.metrics.count(unverifiedLabel(event), ResultTooLarge)
	log.Warn("webhook refused: body too large", "limit", MaxBody)
	reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", MaxBody))
}

// unverifiedLabel returns the event label of a request whose signature was
// not verified: the event's name only when fleetbot knows it, so an unsigned
// caller cannot add series. Once verified, the name GitHub sent is used.
func unverifiedLabel(event string) string {
	if event == "ping" || Handles(event) {
		return event
	}
	return otherEvent
}

// parseSignature decodes "sha256=<hex>".
func parseSignature(h string) ([]byte, bool) {
	hexSum, ok := strings.CutPrefix(h, "sha256=")
	if !ok || len(hexSum) != 2*sha256.Size {
		return nil, false
	}
	sum, err := hex.DecodeString(hexSum)
	return sum, err == nil
}

// reply answers with a one-line text body.
func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// enter counts a request in, or refuses it once Shutdown began.
func (in *Intake) enter() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state == stateStopping {
		return false
	}
	in.requests++
	return true
}

func (in *Intake) leave() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.requests--
	if in.requests == 0 && in.idle != nil {
		close(in.idle)
		in.idle = nil
	}
}

// enqueue queues d unless it is queued or being handled already, was given
// up on (until Retry), or was marked processed while a load ran (a load's
// list may be older than that mark). A delivery that does not fit stays
// pending in the store; the workers read the store again once the queue
// runs dry.
func (in *Intake) enqueue(d store.Delivery) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.active[d.ID] || in.given[d.ID] || in.finished[d.ID] {
		return false
	}
	in.metrics.queueDepth.Inc()
	select {
	case in.queue <- d:
		in.active[d.ID] = true
		return true
	default:
		in.metrics.queueDepth.Dec()
		in.spilled = true
		return false
	}
}

// Start queues the deliveries the store holds as pending (stored but not
// processed, as after a crash) and starts the workers. ctx bounds reading
// the store and passes its values to the handlers; its cancellation does
// not stop the workers, so a signal that cancels it still lets Shutdown
// drain the queue. Start runs once.
func (in *Intake) Start(ctx context.Context) error {
	in.mu.Lock()
	state := in.state
	in.mu.Unlock()
	switch state {
	case stateStarted:
		return errors.New("start webhook intake: already started")
	case stateStopping:
		return errors.New("start webhook intake: already shut down")
	}
	n, err := in.load(ctx, false)
	if err != nil {
		return fmt.Errorf("start webhook intake: %w", err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state != stateNew {
		return errors.New("start webhook intake: started or shut down meanwhile")
	}
	in.state = stateStarted
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	in.cancel = cancel
	for range in.cfg.Workers {
		in.workers.Add(1)
		go in.work(wctx)
	}
	in.log.Info("webhook intake started", "workers", in.cfg.Workers, "pending", n)
	return nil
}

// Retry queues again every pending delivery, those the workers gave up on
// included, and returns how many it queued. A reconcile loop calls it.
func (in *Intake) Retry(ctx context.Context) (int, error) {
	n, err := in.load(ctx, true)
	if err != nil {
		return n, fmt.Errorf("retry webhook deliveries: %w", err)
	}
	return n, nil
}

// load queues the store's pending deliveries that are not queued or being
// handled already; those given up on only when retry is set.
func (in *Intake) load(ctx context.Context, retry bool) (int, error) {
	in.mu.Lock()
	in.loads++
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		if in.loads--; in.loads == 0 {
			clear(in.finished)
		}
		in.mu.Unlock()
	}()
	if retry {
		in.mu.Lock()
		clear(in.given)
		in.mu.Unlock()
	}
	// Page by page, oldest first, until the queue is full: the store may
	// hold far more pending deliveries than memory should.
	// A page need not be larger than what can be queued and handled.
	size := min(loadPage, cap(in.queue)+in.cfg.Workers)
	n := 0
	var after uint64
	for {
		page, err := in.cfg.Store.PendingDeliveries(ctx, after, size)
		if err != nil {
			return n, err
		}
		for _, d := range page {
			after = d.Seq
			if in.enqueue(d) {
				n++
			}
		}
		if len(page) < size {
			return n, nil
		}
		if len(in.queue) == cap(in.queue) {
			// More may be pending: the workers read again once the
			// queue runs dry.
			in.mu.Lock()
			in.spilled = true
			in.mu.Unlock()
			return n, nil
		}
	}
}

// loadPage is the most pending deliveries load reads from the store at a
// time.
const loadPage = 128

// Ready reports whether the intake takes and handles deliveries: nil once
// Start ran and until Shutdown begins.
func (in *Intake) Ready() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch in.state {
	case stateNew:
		return errors.New("webhook intake not started")
	case stateStopping:
		return errors.New("webhook intake shutting down")
	}
	return nil
}

// Shutdown stops taking deliveries (ServeHTTP answers 503), waits for the
// requests in progress, then lets the workers finish what is queued and
// being handled. When ctx ends first, the handlers' contexts are cancelled
// and what is left stays pending in the store for the next Start; Shutdown
// then returns an error saying how many were left.
func (in *Intake) Shutdown(ctx context.Context) error {
	in.mu.Lock()
	if in.state == stateStopping {
		in.mu.Unlock()
		return nil
	}
	started := in.state == stateStarted
	in.state = stateStopping
	idle := make(chan struct{})
	if in.requests == 0 {
		close(idle)
	} else {
		in.idle = idle
	}
	in.mu.Unlock()

	select {
	case <-idle:
	case <-ctx.Done():
	}
	if !started {
		return nil
	}
	close(in.draining)
	done := make(chan struct{})
	go func() {
		in.workers.Wait()
		close(done)
	}()
	select {
	case <-done:
		in.log.Info("webhook intake stopped: queue drained")
		return nil
	case <-ctx.Done():
	}
	in.cancel()
	select {
	case <-done:
	case <-time.After(stopGrace):
	}
	in.mu.Lock()
	left := len(in.active) + in.dropped
	in.mu.Unlock()
	in.log.Warn("webhook intake stopped before the queue drained", "pending", left)
	return fmt.Errorf("shut down webhook intake: %d deliveries left pending: %w", left, ctx.Err())
}
