package config

import (
	"cmp"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestLoadDefaultsAndPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "key.pem", "-----BEGIN PLACEHOLDER-----\nAA==\n-----END PLACEHOLDER-----\n")
	write(t, dir, "secret", "  s3cret \n")
	path := write(t, dir, "fleetbot.yaml", `appID: 7
privateKeyFile: key.pem
webhookSecretFile: secret
store: {bolt: {path: state.db}}
mirrorDir: /var/lib/fleetbot/mirror
campaigns: {repository: acme/control, path: campaigns/}
repositories: [acme/fleet, acme/fleet-eu]
`)
	cfg, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, int64(7), cfg.AppID)
	assert.Equal(t, []byte("s3cret"), cfg.WebhookSecret, "white space around the secret is dropped")
	assert.Equal(t, DefaultAPIBaseURL, cfg.APIBaseURL)
	assert.Equal(t, DefaultListen, cfg.Listen)
	assert.Equal(t, time.Minute, cfg.ReconcileInterval)
	assert.Equal(t, DefaultWorkers, cfg.Workers)
	assert.Equal(t, slog.LevelInfo, cfg.LogLevel)
	assert.Equal(t, filepath.Join(dir, "state.db"), cfg.Store.Bolt.Path, "relative paths are read from the file's directory")
	assert.Equal(t, "/var/lib/fleetbot/mirror", cfg.MirrorDir)
	assert.Nil(t, cfg.Store.DynamoDB)
	assert.Equal(t, []string{"acme/fleet", "acme/fleet-eu"}, cfg.Repositories)
	assert.Equal(t, Retention{Deliveries: 7 * 24 * time.Hour, Campaigns: 90 * 24 * time.Hour}, cfg.Retention)
}

func TestLoadRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "key.pem", "-----BEGIN PLACEHOLDER-----\nAA==\n-----END PLACEHOLDER-----\n")
	write(t, dir, "secret", "s3cret")
	path := write(t, dir, "fleetbot.yaml", `appID: 7
privateKeyFile: key.pem
webhookSecretFile: secret
store: {bolt: {path: state.db}}
mirrorDir: mirror
campaigns: {repository: acme/control, path: campaigns}
repositories: [acme/fleet]
retention: {deliveries: 72h, campaigns: 0s}
`)
	cfg, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, Retention{Deliveries: 72 * time.Hour}, cfg.Retention, "0s keeps ended campaigns for ever")
}

func TestLoadDynamoDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "key.pem", "-----BEGIN PLACEHOLDER-----\nAA==\n-----END PLACEHOLDER-----\n")
	write(t, dir, "secret", "s3cret")
	path := write(t, dir, "fleetbot.yaml", `appID: 7
privateKeyFile: key.pem
webhookSecretFile: secret
apiBaseURL: https://ghe.example.com/api/v3/
listen: 127.0.0.1:9000
store:
  dynamodb: {table: fleetbot, region: eu-west-1, endpoint: "http://127.0.0.1:8000"}
mirrorDir: mirror
campaigns: {repository: acme/fleet, path: campaigns}
repositories: [acme/fleet]
reconcileInterval: 30s
workers: 8
logLevel: debug
replicaID: pod-1
`)
	cfg, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, &DynamoDB{Table: "fleetbot", Region: "eu-west-1", Endpoint: "http://127.0.0.1:8000"}, cfg.Store.DynamoDB)
	assert.Equal(t, 30*time.Second, cfg.ReconcileInterval)
	assert.Equal(t, 8, cfg.Workers)
	assert.Equal(t, slog.LevelDebug, cfg.LogLevel)
	assert.Equal(t, "pod-1", cfg.ReplicaID)
	assert.Equal(t, "127.0.0.1:9000", cfg.Listen)
}

func TestLoadLogLevel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "key.pem", "-----BEGIN PLACEHOLDER-----\nAA==\n-----END PLACEHOLDER-----\n")
	write(t, dir, "secret", "s3cret")
	_, err := Load(write(t, dir, "fleetbot.yaml", `appID: 7
privateKeyFile: key.pem
webhookSecretFile: secret
store: {bolt: {path: state.db}}
mirrorDir: mirror
campaigns: {repository: acme/fleet, path: campaigns}
repositories: [acme/fleet]
logLevel: verbose
`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `fleetbot.yaml:8: logLevel: "verbose" is not one of debug, info, warn, error`)
}

func TestLoadAPI(t *testing.T) {
	t.Parallel()
	base := `appID: 7
privateKeyFile: key.pem
webhookSecretFile: secret
store: {bolt: {path: state.db}}
mirrorDir: mirror
campaigns: {repository: acme/fleet, path: campaigns}
repositories: [acme/fleet]
`
	tests := []struct {
		name      string
		api       string
		token     string
		wantToken string
		wantURL   string
		wantErr   string
	}{
		{name: "off", api: ""},
		{name: "token", api: "api: {tokenFile: token}\n", token: " 0123456789abcdef0123 \n", wantToken: "0123456789abcdef0123"},
		{name: "token and url", api: "api: {tokenFile: token, url: \"http://127.0.0.1:8080\"}\n", token: "0123456789abcdef0123", wantToken: "0123456789abcdef0123", wantURL: "http://127.0.0.1:8080"},
		{name: "short token", api: "api: {tokenFile: token}\n", token: "hunter2", wantErr: "fleetbot.yaml:8: api.tokenFile: token holds fewer than 16 characters"},
		{name: "missing token file", api: "api: {tokenFile: nope}\n", wantErr: "fleetbot.yaml:8: api.tokenFile: cannot read nope"},
		{name: "url without token", api: "api: {url: \"http://127.0.0.1:8080\"}\n", wantErr: "fleetbot.yaml:8: api.tokenFile: missing: api.url needs"},
		{name: "bad url", api: "api: {tokenFile: token, url: \"127.0.0.1:8080\"}\n", token: "0123456789abcdef0123", wantErr: `fleetbot.yaml:8: api.url: "127.0.0.1:8080" is not an http(s) URL`},
		{name: "unknown key", api: "api: {token: x}\n", wantErr: "fleetbot.yaml:8: api.token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			write(t, dir, "key.pem", "-----BEGIN PLACEHOLDER-----\nAA==\n-----END PLACEHOLDER-----\n")
			write(t, dir, "secret", "s3cret")
			if tt.token != "" {
				write(t, dir, "token", tt.token)
			}
			cfg, err := Load(write(t, dir, "fleetbot.yaml", base+tt.api))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "hunter2", "the token is never quoted")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantToken, string(cfg.API.Token))
			assert.Equal(t, tt.wantURL, cfg.API.URL)
		})
	}
}

func TestLoadStatus(t *testing.T) {
	t.Parallel()
	base := `appID: 7
privateKeyFile: key.pem
webhookSecretFile: secret
store: {bolt: {path: state.db}}
mirrorDir: mirror
campaigns: {repository: acme/fleet, path: campaigns}
repositories: [acme/fleet]
`
	tests := []struct {
		name    string
		status  string
		want    Status
		wantErr string
	}{
		{name: "default: on", want: Status{Enabled: true, Refresh: DefaultStatusRefresh}},
		{name: "off", status: "status: {enabled: false}\n", want: Status{Refresh: DefaultStatusRefresh}},
		{name: "refresh", status: "status: {refresh: 1m}\n", want: Status{Enabled: true, Refresh: time.Minute}},
		{name: "not a bool", status: "status: {enabled: maybe}\n", wantErr: "fleetbot.yaml:8: status.enabled: must be true or false"},
		{name: "not a duration", status: "status: {refresh: soon}\n", wantErr: `fleetbot.yaml:8: status.refresh: "soon" is not a duration`},
		{name: "zero refresh", status: "status: {refresh: 0s}\n", wantErr: "fleetbot.yaml:8: status.refresh: must be more than 0s"},
		{name: "unknown key", status: "status:\n  public: true\n", wantErr: "fleetbot.yaml:9: status.public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			write(t, dir, "key.pem", "-----BEGIN PLACEHOLDER-----\nAA==\n-----END PLACEHOLDER-----\n")
			write(t, dir, "secret", "s3cret")
			cfg, err := Load(write(t, dir, "fleetbot.yaml", base+tt.status))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.Status)
		})
	}
}

// TestLoadServeSettings: metricsListen and openConcurrency, each with its
// default, a value and the errors that name the line.
func TestLoadServeSettings(t *testing.T) {
	t.Parallel()
	base := `appID: 7
privateKeyFile: key.pem
webhookSecretFile: secret
store: {bolt: {path: state.db}}
mirrorDir: mirror
campaigns: {repository: acme/fleet, path: campaigns}
repositories: [acme/fleet]
`
	tests := []struct {
		name    string
		extra   string
		want    string        // metricsListen
		open    int           // openConcurrency; 0 for the default
		lease   time.Duration // leaseDuration; 0 for the default
		wantErr string
	}{
		{name: "a lease of 20 seconds", extra: "leaseDuration: 20s\n", lease: 20 * time.Second},
		{name: "a lease too short", extra: "leaseDuration: 2s\n", wantErr: "fleetbot.yaml:8: leaseDuration: 2s is shorter than 5s"},
		{name: "a lease of nothing", extra: "leaseDuration: 0s\n", wantErr: "fleetbot.yaml:8: leaseDuration: must be more than 0s"},
		{name: "a lease not a duration", extra: "leaseDuration: long\n", wantErr: `fleetbot.yaml:8: leaseDuration: "long" is not a duration`},
		{name: "default: on listen", want: ""},
		{name: "its own port", extra: "metricsListen: :9090\n", want: ":9090"},
		{name: "one pull request at a time", extra: "openConcurrency: 1\n", open: 1},
		{name: "no pull request at once", extra: "openConcurrency: 0\n", wantErr: "fleetbot.yaml:8: openConcurrency: must be at least 1"},
		{name: "openConcurrency not a number", extra: "openConcurrency: many\n", wantErr: "fleetbot.yaml:8: openConcurrency"},
		{name: "not host:port", extra: "metricsListen: \"9090\"\n", wantErr: `fleetbot.yaml:8: metricsListen: "9090" is not host:port such as :9090`},
		{name: "listen's address", extra: "listen: :9000\nmetricsListen: :9000\n", wantErr: `fleetbot.yaml:9: metricsListen: ":9000" is listen's address too`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			write(t, dir, "key.pem", "-----BEGIN PLACEHOLDER-----\nAA==\n-----END PLACEHOLDER-----\n")
			write(t, dir, "secret", "s3cret")
			cfg, err := Load(write(t, dir, "fleetbot.yaml", base+tt.extra))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.MetricsListen)
			assert.Equal(t, cmp.Or(tt.open, DefaultOpenConcurrency), cfg.OpenConcurrency)
			assert.Equal(t, cmp.Or(tt.lease, DefaultLeaseDuration), cfg.LeaseDuration)
		})
	}
}
