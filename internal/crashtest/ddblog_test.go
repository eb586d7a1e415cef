package crashtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// write is one write a replica sent to DynamoDB, as the recorder saw it.
type write struct {
	Replica string
	Op      string // PutItem, UpdateItem, DeleteItem
	PK, SK  string
	// Item is PutItem's item; Values the condition's and update's
	// values (":name" to the attribute value), as sent.
	Item   map[string]map[string]any
	Values map[string]map[string]any
	OK     bool // answered 200
	Sent   time.Time
	Done   time.Time
}

// recorder stands between replicas and DynamoDB and keeps every write and
// whether it succeeded, with when it was sent and when it was answered,
// so a test can check what each replica changed and when.
type recorder struct {
	upstream string

	mu     sync.Mutex
	writes []write
}

// endpoint returns the recorder's address for replica: requests there are
// passed on upstream and the writes are recorded under its name.
func (rec *recorder) endpoint(t *testing.T, replica string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.pass(w, r, replica)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (rec *recorder) pass(w http.ResponseWriter, r *http.Request, replica string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndex(op, ".")+1:]
	sent := time.Now()
	r.Body = io.NopCloser(bytes.NewReader(body))
	answer := httptest.NewRecorder()
	status := testenv.Forward(answer, r, rec.upstream)
	// Recorded before the replica reads the answer: a write it sends
	// after it is sent after the recorded time.
	if op == "PutItem" || op == "UpdateItem" || op == "DeleteItem" {
		rec.record(replica, op, body, status == http.StatusOK, sent)
	}
	for k, v := range answer.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(answer.Code)
	_, _ = w.Write(answer.Body.Bytes())
}

// record keeps one write; a body it cannot read is kept without its keys,
// and the check that reads it fails on it.
func (rec *recorder) record(replica, op string, body []byte, ok bool, sent time.Time) {
	var in struct {
		Item                      map[string]map[string]any
		Key                       map[string]map[string]any
		ExpressionAttributeValues map[string]map[string]any
	}
	_ = json.Unmarshal(body, &in)
	keys := in.Key
	if keys == nil {
		keys = in.Item
	}
	wr := write{Replica: replica, Op: op, Item: in.Item, Values: in.ExpressionAttributeValues, OK: ok, Sent: sent, Done: time.Now()}
	wr.PK, _ = keys["pk"]["S"].(string)
	wr.SK, _ = keys["sk"]["S"].(string)
	rec.mu.Lock()
	rec.writes = append(rec.writes, wr)
	rec.mu.Unlock()
}

// all returns the writes recorded so far, in the order they were answered.
func (rec *recorder) all() []write {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]write(nil), rec.writes...)
}

// number returns the number attribute name of a PutItem's item, or the
// number value name (":token") of a condition or update; ok is false when
// it has none.
func (w write) number(name string) (uint64, bool) {
	v, ok := w.Item[name]
	if !ok {
		v, ok = w.Values[name]
	}
	if !ok {
		return 0, false
	}
	s, _ := v["N"].(string)
	var n uint64
	if _, err := fmt.Sscan(s, &n); err != nil {
		return 0, false
	}
	return n, true
}

// fenceReport is what checkFences found.
type fenceReport struct {
	fenced int // successful fenced writes of records
	// late are the successful fenced writes made with a token older than
	// one already granted for their lease (the writer had lost it and did
	// not know yet), accepted because the newer holder had not yet written
	// that record.
	late int
}

// checkFences checks, over every write recorded, that the fencing held:
// once a record was written with a token, no write with an older token
// succeeded afterwards (sent after the newer one was answered).
func checkFences(t *testing.T, writes []write) fenceReport {
	t.Helper()
	var rep fenceReport
	granted := map[string][]write{} // lease name -> successful grants
	for _, w := range writes {
		if w.OK && w.PK == "lease" && w.Op == "PutItem" {
			granted[w.SK] = append(granted[w.SK], w)
		}
	}
	for _, w := range writes {
		if !w.OK || w.PK != "record" {
			continue
		}
		tok, ok := w.number(":token") // the fence of the record write
		if !ok {
			continue
		}
		rep.fenced++
		// Every write answered before this one was sent, with a higher
		// token, must not exist.
		for _, o := range writes {
			if !o.OK || o.PK != "record" || o.SK != w.SK || !o.Done.Before(w.Sent) {
				continue
			}
			if ot, ok := o.number(":token"); ok && ot > tok {
				t.Errorf("%s wrote %s with token %d at %s, after %s had written it with token %d at %s",
					w.Replica, w.SK, tok, w.Sent.Format(time.StampMicro), o.Replica, ot, o.Done.Format(time.StampMicro))
			}
		}
		lease, _ := w.Values[":lease"]["S"].(string)
		for _, g := range granted[lease] {
			if gt, ok := g.number("token"); ok && gt > tok && g.Done.Before(w.Sent) {
				rep.late++
				break
			}
		}
	}
	return rep
}
