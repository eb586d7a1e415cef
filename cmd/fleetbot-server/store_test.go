package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/testenv"
)

// storeConfig writes a serve configuration whose store section is store,
// next to the key and the secret it names, and returns its path.
func storeConfig(t *testing.T, store string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"key.pem", "secret.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", "serve", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600))
	}
	cfg := "appID: 12345\nprivateKeyFile: key.pem\nwebhookSecretFile: secret.txt\nstore:\n" + store +
		"mirrorDir: mirror\ncampaigns: {repository: acme/fleet, path: campaigns}\nrepositories: [acme/fleet]\n"
	path := filepath.Join(dir, "serve.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	return path
}

func runStore(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"store"}, args...))
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

// TestStoreInit creates the configured DynamoDB table in dynalite, then
// finds it there the second time; with the bbolt store there is nothing to
// create; a bad configuration exits 2 naming the field.
func TestStoreInit(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "fleetbot-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fleetbot-test")
	endpoint := testenv.Dynalite(t)
	cfg := storeConfig(t, "  dynamodb:\n    table: fleetbot-init\n    region: us-east-1\n    endpoint: "+endpoint+"\n")

	out, err := runStore(t, "init", "--config", cfg)
	require.NoError(t, err, out)
	// dynalite has no UpdateTimeToLive (dynamostore's tests turn time
	// to live on against a server that has): init says so and succeeds.
	noTTL := "Time to live: table fleetbot-init: the endpoint does not implement time to live; serve's retention pass deletes old deliveries itself.\n"
	assert.Equal(t, "Created DynamoDB table fleetbot-init; it is active.\n"+noTTL, out)
	out, err = runStore(t, "init", "--config", cfg)
	require.NoError(t, err, out)
	assert.Equal(t, "DynamoDB table fleetbot-init exists with the right keys.\n"+noTTL, out)

	bolt := storeConfig(t, "  bolt:\n    path: /var/lib/fleetbot/state.db\n")
	out, err = runStore(t, "init", "--config", bolt)
	require.NoError(t, err, out)
	assert.Equal(t, "The bbolt store needs no set-up: serve creates /var/lib/fleetbot/state.db.\n", out)

	bad := storeConfig(t, "  dynamodb:\n    region: us-east-1\n")
	_, err = runStore(t, "init", "--config", bad)
	require.Error(t, err)
	assert.Equal(t, 2, cli.ExitCode(err))
	assert.True(t, strings.Contains(err.Error(), "table"), err.Error())
}
