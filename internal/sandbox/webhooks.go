package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// hookID is the id of the App's one webhook.
const hookID = 1

// DeliveryRecord is one webhook delivery as the sandbox sent it.
type DeliveryRecord struct {
	// ID is the X-GitHub-Delivery UUID; a redelivery keeps it.
	ID string
	// Event is the X-GitHub-Event name, such as pull_request.
	Event string
	// Action is the payload's action, or "" for events without one.
	Action string
	// Payload is the JSON body sent.
	Payload []byte
	// StatusCode is the receiver's answer, 0 on a network error or when
	// no webhook URL is set.
	StatusCode int
	// Err describes a network error.
	Err string
	// Dropped reports that the webhook filter kept it from being sent.
	Dropped bool
	// Redelivery reports that this record resent an earlier delivery.
	Redelivery bool
	// Time is when it was sent.
	Time time.Time
}

// hookQueue sends deliveries one at a time, in the order they were queued.
type hookQueue struct {
	cfg    Config
	client *http.Client

	mu      sync.Mutex
	cond    *sync.Cond
	pending []DeliveryRecord
	busy    bool
	closed  bool
	done    chan struct{}
	records []DeliveryRecord
	filter  func(event, action string, payload []byte) bool
	inst    map[string]int64 // delivery id -> installation id
}

func newHookQueue(cfg Config) *hookQueue {
	q := &hookQueue{cfg: cfg, client: &http.Client{Timeout: 10 * time.Second},
		done: make(chan struct{}), inst: map[string]int64{}}
	q.cond = sync.NewCond(&q.mu)
	go q.run()
	return q
}

// enqueue queues one event for delivery.
func (q *hookQueue) enqueue(event string, installationID int64, payload obj) {
	data, err := json.Marshal(payload)
	if err != nil {
		panic(fmt.Sprintf("encode %s webhook: %v", event, err)) // payloads are built from plain values
	}
	action, _ := payload["action"].(string)
	d := DeliveryRecord{ID: newUUID(), Event: event, Action: action, Payload: data}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.inst[d.ID] = installationID
	q.pending = append(q.pending, d)
	q.cond.Broadcast()
}

func (q *hookQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		for len(q.pending) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.pending) == 0 {
			q.mu.Unlock()
			return
		}
		d := q.pending[0]
		q.pending = q.pending[1:]
		q.busy = true
		filter := q.filter
		inst := q.inst[d.ID]
		q.mu.Unlock()

		if filter != nil && !filter(d.Event, d.Action, d.Payload) {
			d.Dropped = true
			d.Time = q.cfg.Clock()
		} else {
			q.send(&d, inst)
		}

		q.mu.Lock()
		q.records = append(q.records, d)
		q.busy = false
		q.cond.Broadcast()
		q.mu.Unlock()
	}
}

// send posts d to the webhook URL and records the outcome in d.
func (q *hookQueue) send(d *DeliveryRecord, installationID int64) {
	d.Time = q.cfg.Clock()
	if q.cfg.WebhookURL == "" {
		return
	}
	req, err := http.NewRequest(http.MethodPost, q.cfg.WebhookURL, bytes.NewReader(d.Payload))
	if err != nil {
		d.Err = err.Error()
		return
	}
	mac := hmac.New(sha256.New, q.cfg.WebhookSecret)
	mac.Write(d.Payload)
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/sandbox")
	h.Set("X-GitHub-Event", d.Event)
	h.Set("X-GitHub-Delivery", d.ID)
	h.Set("X-GitHub-Hook-ID", strconv.Itoa(hookID))
	h.Set("X-GitHub-Hook-Installation-Target-ID", strconv.FormatInt(q.cfg.AppID, 10))
	h.Set("X-GitHub-Hook-Installation-Target-Type", "integration")
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := q.client.Do(req)
	if err != nil {
		d.Err = err.Error()
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	d.StatusCode = resp.StatusCode
}

// waitIdle blocks until nothing is queued or being sent.
func (q *hookQueue) waitIdle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.cond.Broadcast()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) > 0 || q.busy {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("wait for webhook deliveries: %w", err)
		}
		q.cond.Wait()
	}
	return nil
}

func (q *hookQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
	<-q.done
}

// Deliveries returns every delivery made so far, oldest first.
func (s *Server) Deliveries() []DeliveryRecord {
	q := s.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]DeliveryRecord(nil), q.records...)
}

// SetWebhookFilter installs a filter consulted before each delivery; when it
// returns false the delivery is recorded as dropped and not sent. Nil
// delivers everything.
func (s *Server) SetWebhookFilter(deliver func(event, action string, payload []byte) bool) {
	q := s.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	q.filter = deliver
}

// Redeliver queues a recorded delivery again under the same delivery id.
func (s *Server) Redeliver(id string) error {
	q := s.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, d := range q.records {
		if d.ID == id {
			again := DeliveryRecord{ID: d.ID, Event: d.Event, Action: d.Action, Payload: d.Payload, Redelivery: true}
			q.pending = append(q.pending, again)
			q.cond.Broadcast()
			return nil
		}
	}
	return fmt.Errorf("redeliver %s: no such delivery", id)
}

// WaitIdle blocks until every queued webhook has been delivered (or ctx
// ends).
func (s *Server) WaitIdle(ctx context.Context) error { return s.hooks.waitIdle(ctx) }

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
