package fakeeks

import (
	"bytes"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// BaseConfig is the AWS configuration of a client of the fake: the base
// credentials, each call tried once (a test sees the first failure as it
// is), and HTTPClient. Callers set the region and the endpoints.
func BaseConfig() aws.Config {
	return aws.Config{Credentials: BaseCredentials(), RetryMaxAttempts: 1, HTTPClient: HTTPClient()}
}

// HTTPClient is the HTTP client of an AWS client of the fake. The SDK
// closes a request's body once the answer's headers are in; when the fake
// answers before the transport has read that body to its end (it reads the
// whole request first, so it often does), the transport fails the write and
// closes the connection, and reading the answer's body fails with "use of
// closed network connection". AWS is slower, and the SDK's default retryer
// tries such a call again; a client tried once would fail now and then.
// Here the transport sends a copy of each request's body, which nothing
// closes early.
func HTTPClient() *http.Client {
	return &http.Client{Transport: copiedBody{http.DefaultTransport.(*http.Transport).Clone()}}
}

// copiedBody sends each request with a copy of its body.
type copiedBody struct{ next http.RoundTripper }

func (c copiedBody) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return c.next.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if cerr := r.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	return c.next.RoundTrip(r)
}
