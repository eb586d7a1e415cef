package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fleetbot/fleetbot/rollout/store/dynamostore"
)

// DynaliteURLEnv names the environment variable that points the tests at a
// DynamoDB-compatible endpoint already running, instead of starting dynalite.
const DynaliteURLEnv = "FLEETBOT_DYNALITE_URL"

// startTimeout bounds how long dynalite may take to answer after it starts.
const startTimeout = 30 * time.Second

var dyn struct {
	once     sync.Once
	endpoint string
	err      error
	proc     *os.Process
	exited   chan error
	// up is set once dynalite answered, stopping once Stop kills it: an
	// exit between the two is reported, with dynalite's output, since
	// every test using it fails afterwards.
	up, stopping atomic.Bool
}

// Dynalite returns the endpoint of a local DynamoDB for the test binary: one
// dynalite process, started on first use (or the endpoint in
// FLEETBOT_DYNALITE_URL). The store uses only DynamoDB's single-item
// operations, which dynalite implements. Packages that call it stop it from
// TestMain with Stop.
func Dynalite(t testing.TB) string {
	t.Helper()
	dyn.once.Do(func() { dyn.endpoint, dyn.err = startDynalite() })
	if dyn.err != nil {
		t.Fatal(dyn.err)
	}
	return dyn.endpoint
}

// DynamoDB returns a client for Dynalite's endpoint with static dummy
// credentials in us-east-1.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	endpoint := Dynalite(t)
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("fleetbot-test", "fleetbot-test", ""),
	})
}

// Stop ends what Dynalite started. Call it from TestMain after m.Run.
func Stop() {
	if dyn.proc != nil {
		dyn.stopping.Store(true)
		_ = dyn.proc.Kill()
		<-dyn.exited //nolint:errcheck // killed on purpose: the exit status says so and nothing more
	}
}

func startDynalite() (string, error) {
	if url := os.Getenv(DynaliteURLEnv); url != "" {
		return url, nil
	}
	return runDynalite()
}

// dynaliteMain runs dynalite (its module's directory and the port are its
// arguments) in memory on 127.0.0.1, its tables created and deleted at
// once. dynalite throws from a request's error event, so a client that
// drops a request before its body arrived (an SDK giving up on a loaded
// machine) stopped the server, and every test after it failed: such a
// request is dropped instead, saying so.
const dynaliteMain = `
const [dir, port] = process.argv.slice(1);
process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) {
    console.error('dropped a request its client abandoned: ' + err.message);
    return;
  }
  console.error(err);
  process.exit(1);
});
const server = require(dir)({createTableMs: 0, deleteTableMs: 0, updateTableMs: 0});
server.listen(Number(port), '127.0.0.1', () => console.log('Dynalite listening at: http://127.0.0.1:' + port));
`

// runDynalite starts dynalite in memory on a free loopback port and waits
// until it answers.
func runDynalite() (string, error) {
	root, err := findModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := nodeModule(root, "dynalite")
	if err != nil {
		return "", err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("start dynalite: node is not on PATH: run `make deps`")
	}
	port, err := freePort()
	if err != nil {
		return "", fmt.Errorf("start dynalite: %w", err)
	}
	out := &lockedWriter{}
	cmd := exec.Command(node, "-e", dynaliteMain, dir, strconv.Itoa(port))
	cmd.Stdout = out
	cmd.Stderr = out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start dynalite: %w", err)
	}
	exited := make(chan error, 1)
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	go func() {
		err := cmd.Wait()
		if dyn.up.Load() && !dyn.stopping.Load() {
			fmt.Fprintf(os.Stderr, "testenv: dynalite on %s (pid %d) exited while the tests ran: %v; its output:\n%s\n",
				url, cmd.Process.Pid, err, out.String())
		}
		exited <- err
		close(exited)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		if healthy(ctx, url) {
			dyn.up.Store(true)
			dyn.proc, dyn.exited = cmd.Process, exited
			return url, nil
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("start dynalite: exited before answering (%w): %s", err, out.String())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return "", fmt.Errorf("start dynalite: no answer on %s within %s: %s", url, startTimeout, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// healthy reports whether dynalite answers its health check at url.
func healthy(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedWriter keeps a process's output so a failed start can show it while
// the process may still be writing.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.buf.String())
}

// DynamoDBTable creates a table of the DynamoDB store's shape, named
// prefix and random characters, on the local DynamoDB, and deletes it when
// the test ends.
func DynamoDBTable(t testing.TB, prefix string) string {
	t.Helper()
	client := DynamoDB(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	table := prefix + "-" + hex.EncodeToString(b)
	if _, err := dynamostore.CreateTable(context.Background(), client, table); err != nil {
		t.Fatalf("create table %s: %v", table, err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Errorf("delete table %s: %v", table, err)
		}
	})
	return table
}
