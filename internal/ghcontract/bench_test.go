package ghcontract

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkLoad parses GitHub's whole description.
func BenchmarkLoad(b *testing.B) {
	path := descriptionPath(b)
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstCheckResponse is the cost of the first check of pulls/get
// on a fresh Spec: compiling its schema and every component it reaches.
func BenchmarkFirstCheckResponse(b *testing.B) {
	path := descriptionPath(b)
	body := pullBody(b)
	r := httptest.NewRequest(http.MethodGet, "/repos/o/r/pulls/1", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	for b.Loop() {
		b.StopTimer()
		s, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.CheckResponse(r, http.StatusOK, h, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckResponse is the cost of every later check of pulls/get.
func BenchmarkCheckResponse(b *testing.B) {
	s := Default(b)
	body := pullBody(b)
	r := httptest.NewRequest(http.MethodGet, "/repos/o/r/pulls/1", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	if err := s.CheckResponse(r, http.StatusOK, h, body); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.CheckResponse(r, http.StatusOK, h, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch routes one multi-segment path.
func BenchmarkMatch(b *testing.B) {
	s := Default(b)
	for b.Loop() {
		if _, _, err := s.Match(http.MethodGet, "/repos/o/r/commits/fleetbot/wave-1/status"); err != nil {
			b.Fatal(err)
		}
	}
}

func pullBody(b *testing.B) []byte {
	b.Helper()
	return edit(b, validPull(b, Default(b)), "", nil)
}
