// Package loadtest drives `fleetbot serve`, built as it ships and run as its
// own process on the bbolt store, with signed webhook deliveries at a fixed
// rate from a load generator on loopback, and reports what GitHub would see:
// how fast each delivery was acknowledged, how many were not within GitHub's
// ten seconds, and the server's peak resident memory. It checks that every
// delivery was stored and handled exactly once.
//
// CI runs it at a small scale; `make loadtest` runs the table of
// BENCHMARKS.md.
package loadtest

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetbot/fleetbot/internal/testenv"
	"github.com/fleetbot/fleetbot/rollout/store/boltstore"
)

var (
	rates      = flag.String("loadtest.rates", "200", "deliveries per second, comma-separated: one run each")
	duration   = flag.Duration("loadtest.duration", 3*time.Second, "how long each run sends")
	report     = flag.String("loadtest.report", "", "file to write the Markdown table to")
	backlog    = flag.Int("loadtest.backlog", 2000, "deliveries left in the store for TestBacklogDrain")
	serveExtra = flag.String("loadtest.config", "", "lines added to serve's configuration, such as \"workers: 16\"")
)

// githubTimeout is how long GitHub waits for an answer before it counts a
// delivery as failed (and does not send it again).
const githubTimeout = 10 * time.Second

// events are the deliveries sent, in turn: events serve stores and hands to
// the bot, which finds no campaign they concern.
var events = []string{"issue_comment", "check_run"}

func TestLoad(t *testing.T) {
	payloads := examplePayloads(t)
	bin := testenv.BuildFleetbot(t)
	var rows []string
	for _, field := range strings.Split(*rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || rate <= 0 {
			t.Fatalf("-loadtest.rates: %q is not a positive number", field)
		}
		t.Run(fmt.Sprintf("%d/s", rate), func(t *testing.T) {
			r := run(t, bin, payloads, rate, *duration)
			rows = append(rows, r.row())
			t.Log(r.row())
		})
	}
	table := "| load | deliveries | ack p50 / p99 (`issue_comment`) | ack p50 / p99 (`check_run`) | not acknowledged within 10 s | serve peak RSS |\n| --- | --- | --- | --- | --- | --- |\n" + strings.Join(rows, "\n") + "\n"
	t.Log("\n" + table)
	if *report != "" {
		if err := os.WriteFile(*report, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBacklogDrain starts serve on a store holding a backlog of deliveries
// that concern no campaign (as after an outage, or a burst the workers
// have not caught up with) and measures how fast it handles them: each once.
func TestBacklogDrain(t *testing.T) {
	payloads := examplePayloads(t)
	bin := testenv.BuildFleetbot(t)
	n := *backlog
	s := testenv.StartServeWith(t, bin, *serveExtra, func(dir string) {
		st, err := boltstore.Open(filepath.Join(dir, "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		fill(t, st, n, payloads)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	})
	took := handledOnce(t, s, n, 5*time.Minute, "deliveries in the backlog")
	t.Logf("backlog of %d deliveries concerning no campaign handled in %s: %.0f a second; serve peak RSS %d MiB",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), testenv.ProcStatus(t, s.PID, "VmHWM")>>10)
}

// fill stores n deliveries of the events in turn, ids backlog-0 to
// backlog-(n-1), from many writers at once as the intake does: their
// writes share synced transactions.
func fill(t *testing.T, st *boltstore.Store, n int, payloads map[string][]byte) {
	t.Helper()
	at := time.Now()
	errs := make(chan error, fillWriters)
	for w := range fillWriters {
		go func() {
			for i := w; i < n; i += fillWriters {
				event := events[i%len(events)]
				if _, err := st.PutDelivery(t.Context(), fmt.Sprintf("backlog-%d", i), event, payloads[event], at); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range fillWriters {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// fillWriters is how many writers fill a backlog at once.
const fillWriters = 32

// result is what one run measured.
type result struct {
	rate, sent int
	acks       map[string][]time.Duration // by event, of the acknowledged ones
	late       int                        // not acknowledged within githubTimeout
	peakRSS    int64                      // KiB
}

func (r result) row() string {
	cell := func(event string) string {
		d := r.acks[event]
		if len(d) == 0 {
			return "none"
		}
		slices.Sort(d)
		return fmt.Sprintf("%s / %s", quantile(d, 0.50), quantile(d, 0.99))
	}
	return fmt.Sprintf("| %d/s | %d | %s | %s | %d (%.1f%%) | %d MiB |", r.rate, r.sent, cell("issue_comment"), cell("check_run"),
		r.late, 100*float64(r.late)/float64(max(r.sent, 1)), r.peakRSS>>10)
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	i := min(int(q*float64(len(sorted))), len(sorted)-1)
	return sorted[i].Round(100 * time.Microsecond)
}

// run starts serve, sends rate deliveries a second for d, waits until each
// is handled, and checks none was lost or handled twice.
func run(t *testing.T, bin string, payloads map[string][]byte, rate int, d time.Duration) result {
	srv := testenv.StartServe(t, bin, "")
	url := "http://" + srv.Addr
	client := &http.Client{
		Timeout:   githubTimeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: 4096, MaxConnsPerHost: 0},
	}
	total := int(float64(rate) * d.Seconds())
	res := result{rate: rate, sent: total, acks: map[string][]time.Duration{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	statuses := map[int]int{}
	start := time.Now()
	for i := range total {
		// Open loop: each delivery leaves at its time, whatever the
		// answers to the earlier ones.
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
			time.Sleep(wait)
		}
		event := events[i%len(events)]
		wg.Go(func() {
			took, status, err := deliver(t.Context(), client, url, event, fmt.Sprintf("load-%d-%d", rate, i), srv.Secret, payloads[event])
			mu.Lock()
			defer mu.Unlock()
			statuses[status]++
			if err != nil || took > githubTimeout || status/100 != 2 {
				res.late++
				return
			}
			res.acks[event] = append(res.acks[event], took)
		})
	}
	wg.Wait()
	accepted := statuses[http.StatusAccepted]
	if accepted != total {
		t.Errorf("%d of %d deliveries accepted; answers by status: %v", accepted, total, statuses)
	}
	handledOnce(t, srv, accepted, 2*time.Minute, "deliveries accepted")
	res.peakRSS = testenv.ProcStatus(t, srv.PID, "VmHWM")
	return res
}

// deliver sends one signed delivery and returns how long its answer took.
func deliver(ctx context.Context, client *http.Client, url, event, id string, secret, body []byte) (time.Duration, int, error) {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/webhook", strings.NewReader(string(body)))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return time.Since(start), 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return time.Since(start), resp.StatusCode, nil
}

// handledOnce waits (at most wait) until serve reports n deliveries handled,
// and returns how long that took from the call; then it checks, a moment
// later, that each was handled once and none failed (what says n).
func handledOnce(t *testing.T, s testenv.Served, n int, wait time.Duration, what string) time.Duration {
	t.Helper()
	start := time.Now()
	var processed, failed int
	for {
		processed, failed = handled(t, s)
		if processed+failed >= n || time.Since(start) > wait {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	time.Sleep(500 * time.Millisecond) // a delivery handled twice would show by now
	if processed, failed = handled(t, s); processed != n || failed != 0 {
		t.Errorf("%d %s, %d handled (processed) and %d failed: each must be handled once", n, what, processed, failed)
	}
	return took
}

// handled reads from serve's /metrics how many deliveries were handled and
// marked processed, and how many failed for good.
func handled(t *testing.T, s testenv.Served) (processed, failed int) {
	t.Helper()
	resp, err := http.Get("http://" + s.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	series := regexp.MustCompile(`^fleetbot_webhook_deliveries_total\{event="[^"]+",result="(processed|failed)"\} (\d+)$`)
	for sc.Scan() {
		if m := series.FindStringSubmatch(sc.Text()); m != nil {
			n, _ := strconv.Atoi(m[2])
			if m[1] == "processed" {
				processed += n
			} else {
				failed += n
			}
		}
	}
	return processed, failed
}

// examplePayloads returns, for each event sent, the largest example payload
// GitHub's Octokit project publishes for it.
func examplePayloads(t *testing.T) map[string][]byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.NodeModule(t, "@octokit/webhooks-examples"), "api.github.com", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all []struct {
		Name     string            `json:"name"`
		Examples []json.RawMessage `json:"examples"`
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, group := range all {
		if !slices.Contains(events, group.Name) {
			continue
		}
		for _, e := range group.Examples {
			if len(e) > len(out[group.Name]) {
				out[group.Name] = e
			}
		}
	}
	for _, e := range events {
		if out[e] == nil {
			t.Fatalf("no example payload of %s", e)
		}
		t.Logf("%s: %d bytes", e, len(out[e]))
	}
	return out
}
