package webhooks

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
)

// examplePayload returns the largest example payload of event.
func examplePayload(b *testing.B, event string) []byte {
	b.Helper()
	var largest []byte
	for _, group := range loadExamples(b) {
		if group.Name != event {
			continue
		}
		for _, p := range group.Examples {
			if len(p) > len(largest) {
				largest = p
			}
		}
	}
	if largest == nil {
		b.Fatalf("no example of %s", event)
	}
	return largest
}

// benchConfig is a test config that logs nothing: the logs would be what
// the benchmark measures.
func benchConfig(b *testing.B) Config {
	cfg := testConfig(b, tempStore(b), newFakeHandler())
	cfg.Logger = slog.New(slog.DiscardHandler)
	return cfg
}

// BenchmarkServeHTTP measures one delivery from request to answer: read,
// verify, decode and store in a bbolt file (synced to disk) before the 202.
func BenchmarkServeHTTP(b *testing.B) {
	payload := examplePayload(b, "pull_request")
	in := newIntake(b, benchConfig(b))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if w := serve(in, request("pull_request", fmt.Sprintf("bench-%d", i), payload)); w.Code != http.StatusAccepted {
			b.Fatalf("answer = %d %q", w.Code, w.Body)
		}
	}
}

// BenchmarkServeHTTPParallel is BenchmarkServeHTTP with concurrent
// deliveries, as when GitHub sends a burst: 32 at once on this machine's
// two cores, so that writes share a sync to disk.
func BenchmarkServeHTTPParallel(b *testing.B) {
	payload := examplePayload(b, "pull_request")
	b.SetParallelism(16)
	in := newIntake(b, benchConfig(b))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("bench-%d", n.Add(1))
			if w := serve(in, request("pull_request", id, payload)); w.Code != http.StatusAccepted {
				b.Errorf("answer = %d %q", w.Code, w.Body)
				return
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, event := range []string{"pull_request", "push", "issue_comment"} {
		b.Run(event, func(b *testing.B) {
			payload := examplePayload(b, event)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(event, "d", payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseCommands(b *testing.B) {
	body := "Thanks!\r\n\r\n```\r\n/fleet abort\r\n```\r\n/fleet skip dev-gpu-1 --reason \"node group stuck\"\r\n/fleet status\r\n"
	b.ReportAllocs()
	for b.Loop() {
		ParseCommands(body)
	}
}

// BenchmarkServeHTTPMaxBody measures the worst delivery GitHub can send: a
// push payload just under MaxBody, read, verified, decoded and stored before
// the answer, which must leave well within GitHub's 10 s.
func BenchmarkServeHTTPMaxBody(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"ref":"refs/heads/main","repository":{"name":"fleet","owner":{"login":"acme"}},"commits":[{"added":[`)
	for i := 0; buf.Len() < MaxBody-100; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `"addons/tenants/tenant-%07d/defaults/fleet/fleet-secret/values.yaml"`, i)
	}
	buf.WriteString(`]}]}`)
	payload := buf.Bytes()
	in := newIntake(b, benchConfig(b))
	b.SetBytes(int64(len(payload)))
	i := 0
	for b.Loop() {
		i++
		if w := serve(in, request("push", fmt.Sprintf("big-%d", i), payload)); w.Code != http.StatusAccepted {
			b.Fatalf("answer = %d %q", w.Code, w.Body)
		}
	}
}
