package gh

import (
	"bytes"
	"container/list"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// maxEntryBytes is the largest body the ETag cache keeps.
const maxEntryBytes = 1 << 20

// etagEntry is one cached GET answer.
type etagEntry struct {
	key    string
	etag   string
	header http.Header
	body   []byte
}

// etagCache is a least-recently-used map of GET answers, bounded in entries.
type etagCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *etagEntry, most recent first
	items map[string]*list.Element
}

func newETagCache(maxEntries int) *etagCache {
	return &etagCache{max: maxEntries, order: list.New(), items: make(map[string]*list.Element)}
}

func (c *etagCache) get(key string) *etagEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*etagEntry)
}

func (c *etagCache) put(e *etagEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[e.key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.items[e.key] = c.order.PushFront(e)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*etagEntry).key)
	}
}

func (c *etagCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// cacheTransport makes GETs conditional on the ETag of the last answer.
type cacheTransport struct {
	c     *chain
	label string
	next  http.RoundTripper
}

func (t *cacheTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.c.cache == nil || req.Method != http.MethodGet ||
		req.Header.Get("If-None-Match") != "" || req.Header.Get("Range") != "" {
		return t.next.RoundTrip(req)
	}
	id := t.c.identity(t.label, t.c.endpoint(req.URL))
	key := id + "\n" + req.Header.Get("Accept") + "\n" + req.URL.String()
	entry := t.c.cache.get(key)
	sent := req
	if entry != nil {
		sent = req.Clone(req.Context())
		sent.Header.Set("If-None-Match", entry.etag)
	}
	resp, err := t.next.RoundTrip(sent)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode == http.StatusNotModified && entry != nil {
		discard(resp)
		return entry.response(req, resp), nil
	}
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" || resp.ContentLength > maxEntryBytes {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxEntryBytes+1))
	if err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	if len(body) > maxEntryBytes {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	t.c.cache.put(&etagEntry{key: key, etag: etag, header: resp.Header.Clone(), body: body})
	return resp, nil
}

// response answers req from the entry, with the rate-limit headers of the
// 304 that confirmed it.
func (e *etagEntry) response(req *http.Request, notModified *http.Response) *http.Response {
	h := e.header.Clone()
	for k, v := range notModified.Header {
		if strings.HasPrefix(k, "X-Ratelimit-") || k == "Date" {
			h[k] = v
		}
	}
	h.Set("X-From-Cache", "1")
	h.Set("Content-Length", strconv.Itoa(len(e.body)))
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         notModified.Proto,
		ProtoMajor:    notModified.ProtoMajor,
		ProtoMinor:    notModified.ProtoMinor,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(e.body)),
		ContentLength: int64(len(e.body)),
		Request:       req,
	}
}
