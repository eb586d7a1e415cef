package ghcontract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Middleware checks every request that reaches next, and the response next
// writes, calling report once for each that does not match (a *Mismatch) or
// cannot be checked. The response is buffered and then passed through
// unchanged; requests skipped by WithSkip are not touched at all.
func (s *Spec) Middleware(next http.Handler, report func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.skipped(r) {
			next.ServeHTTP(w, r)
			return
		}
		method, u := r.Method, *r.URL
		body, err := io.ReadAll(r.Body)
		_ = r.Body.Close() //nolint:errcheck // the server owns the connection; the body is fully read
		if err != nil {
			report(fmt.Errorf("%s %s: read request body: %w", method, u.EscapedPath(), err))
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		routed := s.report(s.checkRequest(method, &u, r.Header, body), report)

		rec := &recorder{header: w.Header()}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if routed {
			s.report(s.checkResponse(method, &u, body, rec.status, rec.header, rec.body.Bytes()), report)
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes()) //nolint:errcheck // a client gone away is the handler's business, not the check's
	})
}

// report passes err on and tells whether the request matched an operation,
// so that an unknown route is reported once and not again for its response.
func (s *Spec) report(err error, report func(error)) bool {
	if err == nil {
		return true
	}
	report(err)
	var mm *Mismatch
	return !errors.As(err, &mm) || mm.OperationID != ""
}

// recorder buffers a handler's response; the headers go straight to the
// real writer's map.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

// Transport checks every request a client sends through next, and the
// response it gets, calling report for each mismatch. Requests and
// responses reach their reader unchanged. A nil next means
// http.DefaultTransport.
func (s *Spec) Transport(next http.RoundTripper, report func(error)) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{spec: s, next: next, report: report}
}

type transport struct {
	spec   *Spec
	next   http.RoundTripper
	report func(error)
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.spec.skipped(req) {
		return t.next.RoundTrip(req)
	}
	body, out, err := requestBody(req)
	if err != nil {
		return nil, err
	}
	u := *req.URL
	routed := t.spec.report(t.spec.checkRequest(req.Method, &u, req.Header, body), t.report)
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close() //nolint:errcheck // fully read; a close error adds nothing
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response body: %w", req.Method, u.EscapedPath(), err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if routed {
		t.spec.report(t.spec.checkResponse(req.Method, &u, body, resp.StatusCode, resp.Header, data), t.report)
	}
	return resp, nil
}

// requestBody reads the body of req without taking it from next: through
// GetBody when the request has one, or else by reading it into a copy of
// the request, since a RoundTripper must not change the caller's request.
func requestBody(req *http.Request) ([]byte, *http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, req, nil
	}
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: copy request body: %w", req.Method, req.URL.EscapedPath(), err)
		}
		defer rc.Close() //nolint:errcheck // an in-memory copy
		body, err := io.ReadAll(rc)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: copy request body: %w", req.Method, req.URL.EscapedPath(), err)
		}
		return body, req, nil
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close() //nolint:errcheck // fully read
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read request body: %w", req.Method, req.URL.EscapedPath(), err)
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return body, out, nil
}
