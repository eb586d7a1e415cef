package cli

import (
	"bytes"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

func TestAppManifestCommand(t *testing.T) {
	t.Parallel()
	file, err := os.ReadFile("../../deploy/github-app.json")
	require.NoError(t, err)
	out, errOut, code := runCLI(t, "app", "manifest")
	require.Zero(t, code, errOut)
	assert.Equal(t, string(file), out, "without flags: deploy/github-app.json as it is")

	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"for a serve URL and a name", []string{"app", "manifest", "--url", "https://fleetbot.acme.example/", "--name", "acme-fleetbot"}, "app/manifest.json"},
		{"form for an organisation", []string{"app", "manifest", "--url", "https://fleetbot.acme.example", "--form", "--org", "acme", "--state", "0f1e2d"}, "app/form-acme.html"},
		{"form on GitHub Enterprise Server", []string{"app", "manifest", "--url", "https://fleetbot.acme.example", "--form", "--github-url", "https://github.acme.example", "--state", "0f1e2d"}, "app/form-ghes.html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runCLI(t, tt.args...)
			require.Zero(t, code, errOut)
			assert.Empty(t, errOut)
			testenv.CheckGolden(t, tt.golden, out)
		})
	}
}

func TestAppManifestFormState(t *testing.T) {
	t.Parallel()
	out, errOut, code := runCLI(t, "app", "manifest", "--url", "https://fleetbot.acme.example", "--form")
	require.Zero(t, code, errOut)
	m := regexp.MustCompile(`^state: ([0-9a-f]{32}) \(GitHub hands it back with the code\)\n$`).FindStringSubmatch(errOut)
	require.NotNil(t, m, errOut)
	assert.Contains(t, out, `action="https://github.com/settings/apps/new?state=`+m[1]+`"`)
}

func TestAppManifestErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		args []string
		want string
		code int
	}{
		"bad url":          {[]string{"--url", "fleetbot.acme.example"}, `serve URL "fleetbot.acme.example": want an https:// (or http://) URL`, 2},
		"long name":        {[]string{"--name", "fleetbot-for-the-acme-platform-team-eu"}, `app name "fleetbot-for-the-acme-platform-team-eu": 38 characters, GitHub takes at most 34`, 2},
		"org without form": {[]string{"--org", "acme"}, "--org, --state and --github-url go with --form", 2},
		"form without url": {[]string{"--form"}, "--form needs --url: the App would send its webhooks to fleetbot.example.com", 2},
		"bad organisation": {[]string{"--url", "https://f.example", "--form", "--org", "acme/infra", "--state", "s"}, `organization "acme/infra": not an organization login`, 2},
		"bad GitHub URL":   {[]string{"--url", "https://f.example", "--form", "--github-url", "github.com", "--state", "s"}, `GitHub web URL "github.com": want such as https://github.com`, 2},
		"an argument":      {[]string{"acme"}, `unknown command "acme" for "fleetbot app manifest"`, 1},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root := newRootCmd()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.SetArgs(append([]string{"app", "manifest"}, tt.args...))
			err := root.ExecuteContext(t.Context())
			require.EqualError(t, err, tt.want)
			assert.Equal(t, tt.code, ExitCode(err))
			assert.Empty(t, out.String(), "nothing printed on a refusal")
		})
	}
}
