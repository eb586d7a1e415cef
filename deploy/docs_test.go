package deploy

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fleetbot/fleetbot/internal/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// installDoc is the page that walks from registering the App to the first
// campaign.
const installDoc = "../docs/install.md"

// TestInstallDocListsTheManifest holds the permission and event tables of
// docs/install.md to the manifest, so the page never asks a person for a
// permission the App does not have, or leaves one out.
func TestInstallDocListsTheManifest(t *testing.T) {
	t.Parallel()
	m, err := AppManifest()
	require.NoError(t, err)
	doc, err := os.ReadFile(installDoc)
	require.NoError(t, err)

	perms := map[string]string{}
	for _, row := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| (read|write) \\|").FindAllStringSubmatch(string(doc), -1) {
		perms[row[1]] = row[2]
	}
	assert.Equal(t, m.DefaultPermissions, perms, "the permission table of %s", installDoc)

	var events []string
	for _, row := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| `([a-z_]+)` \\|$").FindAllStringSubmatch(string(doc), -1) {
		events = append(events, row[1])
		assert.Equal(t, eventNeeds[row[1]], row[2]+":read", "%s: the permission the %s event needs", installDoc, row[1])
	}
	assert.Equal(t, m.DefaultEvents, events, "the event table of %s", installDoc)
}

// TestInstallDocConfigurationLoads reads the serve configuration of
// docs/install.md as serve would, with its key and secret files made for the
// test: the page's example starts.
func TestInstallDocConfigurationLoads(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(installDoc)
	require.NoError(t, err)
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(string(doc))
	require.NotNil(t, block, "%s has a yaml block", installDoc)

	dir := t.TempDir()
	yaml := block[1]
	files := map[string][]byte{
		// serve reads the key as PEM; the App's key itself is gh.NewApp's business.
		"/etc/fleetbot/app.pem":        pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("key")}),
		"/etc/fleetbot/webhook-secret": []byte("0123456789abcdef0123456789abcdef\n"),
	}
	for file, content := range files {
		require.Contains(t, yaml, file)
		local := filepath.Join(dir, filepath.Base(file))
		require.NoError(t, os.WriteFile(local, content, 0o600))
		yaml = strings.ReplaceAll(yaml, file, local)
	}
	yaml = strings.ReplaceAll(yaml, "/var/lib/fleetbot", filepath.Join(dir, "state"))
	path := filepath.Join(dir, "serve.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	cfg, err := config.Load(path)
	require.NoError(t, err)
	assert.Equal(t, int64(123456), cfg.AppID)
}
