package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/sandbox"
)

// sandboxOptions are the flags of `fleetbot sandbox`.
type sandboxOptions struct {
	dir               string
	addr              string
	token             string
	webhookURL        string
	webhookSecretFile string
	appID             int64
	appKeyFile        string
}

func newSandboxCmd() *cobra.Command {
	opts := &sandboxOptions{}
	cmd := cli.ServerCommand(&cobra.Command{
		Use: "sandbox",
		Long: `Serve, on loopback only, the part of GitHub's REST API that fleetbot uses,
over real git repositories kept in DIR (state.json and repos/OWNER/REPO.git).
Restarting on the same DIR continues where it stopped; one sandbox at a time
may run on a DIR. A sandbox killed while git wrote a branch leaves git's lock
file behind; the next start removes it and logs its name.

Authenticate with "Authorization: Bearer TOKEN" (the --token, a site admin;
a random one is printed when none is given), with the App's JWT on /app
routes (--app-id and --app-key-file, a PEM private or public key), or with an
installation token minted by POST /app/installations/ID/access_tokens. Git
clients use http://x:TOKEN@ADDR/OWNER/REPO.git.

Sandbox only: the header "X-Sandbox-As: LOGIN" with the static token acts as
that user, so scripts can open, review and approve as tenant owners.

Every change is sent as a signed webhook to --webhook-url. The first line
printed is the address to use, so --addr 127.0.0.1:0 suits scripts. SIGINT
or SIGTERM stops the server after the webhooks in flight are delivered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runSandbox(ctx, cmd, opts)
		},
	})
	f := cmd.Flags()
	f.StringVar(&opts.dir, "dir", "", "directory holding the sandbox's state and repositories")
	f.StringVar(&opts.addr, "addr", "127.0.0.1:8080", "loopback address to listen on (port 0 picks a free one)")
	f.StringVar(&opts.token, "token", "", "static token acting as the site admin (default: random, printed)")
	f.StringVar(&opts.webhookURL, "webhook-url", "", "URL that receives the webhooks")
	f.StringVar(&opts.webhookSecretFile, "webhook-secret-file", "", "file holding the webhook secret")
	f.Int64Var(&opts.appID, "app-id", 1, "the App's id, the iss claim of its JWTs")
	f.StringVar(&opts.appKeyFile, "app-key-file", "", "PEM file of the App's RSA key (private or public)")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

func runSandbox(ctx context.Context, cmd *cobra.Command, opts *sandboxOptions) error {
	if err := checkLoopback(opts.addr); err != nil {
		return err
	}
	cfg := sandbox.Config{Dir: opts.dir, Token: opts.token, WebhookURL: opts.webhookURL, AppID: opts.appID}
	generated := false
	if cfg.Token == "" {
		b := make([]byte, 20)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("make a token: %w", err)
		}
		cfg.Token, generated = "sandbox_"+hex.EncodeToString(b), true
	}
	if opts.webhookSecretFile != "" {
		secret, err := os.ReadFile(opts.webhookSecretFile)
		if err != nil {
			return fmt.Errorf("--webhook-secret-file: %w", err)
		}
		cfg.WebhookSecret = []byte(strings.TrimSpace(string(secret)))
	}
	if opts.appKeyFile != "" {
		key, err := readAppKey(opts.appKeyFile)
		if err != nil {
			return err
		}
		cfg.AppKey = key
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.addr, err)
	}
	cfg.BaseURL = "http://" + ln.Addr().String()
	srv, err := sandbox.New(cfg)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer srv.Close()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "sandbox listening on %s\n", cfg.BaseURL)
	if generated {
		fmt.Fprintf(out, "token: %s\n", cfg.Token)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", cfg.BaseURL, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return fmt.Errorf("stop sandbox: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", cfg.BaseURL, err)
	}
	fmt.Fprintln(out, "sandbox stopped")
	return nil
}

// checkLoopback refuses any address that is not a loopback IP or
// localhost: the sandbox trusts whoever holds its token and must not be
// reachable from elsewhere.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--addr %q: the sandbox listens on loopback only (127.0.0.1, ::1 or localhost)", addr)
}

// readAppKey reads the App's key from a PEM file holding a public key or a
// private one (whose public half is used).
func readAppKey(path string) (*rsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--app-key-file: %w", err)
	}
	if pub, err := jwt.ParseRSAPublicKeyFromPEM(data); err == nil {
		return pub, nil
	}
	priv, err := jwt.ParseRSAPrivateKeyFromPEM(data)
	if err != nil {
		return nil, fmt.Errorf("--app-key-file %s: not a PEM RSA public or private key: %w", path, err)
	}
	return &priv.PublicKey, nil
}
