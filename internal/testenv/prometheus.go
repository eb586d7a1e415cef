package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// PrometheusScrapeInterval is how often a test Prometheus scrapes its
// targets.
const PrometheusScrapeInterval = time.Second

// Prometheus is a prometheus server started for one test.
type Prometheus struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string

	cmd    *exec.Cmd
	exited chan error
	out    *lockedWriter
	once   sync.Once
}

// Promtool runs the promtool of the Debian package (the same package as
// prometheus) with args in dir and returns what it printed; a non-zero exit
// fails the test with that output. It fails the test, with the command that
// installs it, when promtool is missing.
func Promtool(t testing.TB, dir string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed: run `apt-get install prometheus` (%v)", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// StartPrometheus starts the prometheus binary of the Debian package on a
// free loopback port, with its storage in a temporary directory, scraping
// targets (host:port, path /metrics) every PrometheusScrapeInterval as job
// "test", and waits until it is ready. The test's cleanup stops it. It fails
// the test, with the command that installs it, when prometheus is missing.
func StartPrometheus(t testing.TB, targets ...string) *Prometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus is not installed: run `apt-get install prometheus` (%v)", err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(prometheusConfig(targets)), 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := &Prometheus{URL: "http://" + addr, out: &lockedWriter{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin,
		"--config.file="+config,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	dieWithParent(p.cmd)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	go func() { p.exited <- p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.Stop)
	if err := p.waitReady(); err != nil {
		t.Fatal(err)
	}
	return p
}

func prometheusConfig(targets []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", PrometheusScrapeInterval, PrometheusScrapeInterval)
	b.WriteString("scrape_configs:\n  - job_name: test\n    static_configs:\n      - targets:\n")
	for _, t := range targets {
		fmt.Fprintf(&b, "          - %q\n", t)
	}
	return b.String()
}

// waitReady polls /-/ready until it answers 200.
func (p *Prometheus) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		if healthy(ctx, p.URL+"/-/ready") {
			return nil
		}
		select {
		case err := <-p.exited:
			return fmt.Errorf("start prometheus: exited before it was ready (%w): %s", err, p.out.String())
		case <-ctx.Done():
			return fmt.Errorf("start prometheus: not ready on %s within %s: %s", p.URL, startTimeout, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends the server and waits for it to exit. It may be called more than
// once, and by a test that wants Prometheus gone before the test ends.
func (p *Prometheus) Stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited //nolint:errcheck // killed on purpose: the exit status says so and nothing more
	})
}
