package crashtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
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
	req, err := http.NewRequestWithContext(r.Context(), r.Method, rec.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if op == "PutItem" || op == "UpdateItem" || op == "DeleteItem" {
		rec.record(replica, op, body, res.StatusCode == http.StatusOK, sent)
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(answer)
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
