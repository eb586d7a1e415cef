package testenv

import (
	"io"
	"net/http"
)

// Forward sends r, body included, to the server at base (scheme and host)
// under the same path and query, copies the answer to w and returns its
// status; 502 when base does not answer. Tests put it behind handlers that
// watch, delay or refuse what passes between a client and a server.
func Forward(w http.ResponseWriter, r *http.Request, base string) int {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return http.StatusBadGateway
	}
	req.Header = r.Header.Clone()
	req.ContentLength = r.ContentLength
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return http.StatusBadGateway
	}
	defer res.Body.Close()
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
	return res.StatusCode
}
