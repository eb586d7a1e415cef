package deploy

import (
	"bytes"
	"encoding/json"
	"html"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestManifestFileIsCanonical keeps github-app.json in the form JSON
// writes, so the file, `fleetbot app manifest` and the manifest flow carry
// the same bytes.
func TestManifestFileIsCanonical(t *testing.T) {
	t.Parallel()
	m, err := AppManifest()
	require.NoError(t, err)
	out, err := m.JSON()
	require.NoError(t, err)
	assert.Equal(t, string(manifestJSON), string(out), "%s is not in canonical form: write it as Manifest.JSON does", ManifestFile)
}

func TestParseManifestErrors(t *testing.T) {
	t.Parallel()
	valid := `{"name":"n","url":"https://u","hook_attributes":{"url":"https://h/webhook","active":true},
	 "redirect_url":"https://h/","default_permissions":{"contents":"read"},"default_events":["push"]}`
	_, err := parseManifest("m.json", []byte(valid))
	require.NoError(t, err)
	cases := map[string]struct{ json, want string }{
		"unknown field": {
			`{"name":"n","hook_attrs":{}}`,
			`m.json: json: unknown field "hook_attrs"`,
		},
		"bad level": {
			`{"name":"n","url":"https://u","hook_attributes":{"url":"https://h"},"redirect_url":"https://h/",
			 "default_permissions":{"contents":"admin","checks":"Write"},"default_events":["push"]}`,
			`m.json: field default_permissions.checks is "Write", want read or write; field default_permissions.contents is "admin", want read or write`,
		},
		"empty fields": {
			`{}`,
			`m.json: field default_events is empty; field default_permissions is empty; field hook_attributes.url is empty; field name is empty; field redirect_url is empty; field url is empty`,
		},
		"two values": {
			valid + valid,
			`m.json: more than one JSON value`,
		},
		"not JSON": {
			`{"name":`,
			`m.json: unexpected EOF`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := parseManifest("m.json", []byte(tc.json))
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestFor(t *testing.T) {
	t.Parallel()
	m, err := AppManifest()
	require.NoError(t, err)
	cases := []struct {
		base, name         string
		hook, redirect, as string
	}{
		{"https://fleetbot.acme.example", "", "https://fleetbot.acme.example/webhook", "https://fleetbot.acme.example/", m.Name},
		{"https://fleetbot.acme.example/", "acme-fleetbot", "https://fleetbot.acme.example/webhook", "https://fleetbot.acme.example/", "acme-fleetbot"},
		{"https://acme.example/tools/fleetbot//", "", "https://acme.example/tools/fleetbot/webhook", "https://acme.example/tools/fleetbot/", m.Name},
		{"http://127.0.0.1:8080", "", "http://127.0.0.1:8080/webhook", "http://127.0.0.1:8080/", m.Name},
		{"", "", m.HookAttributes.URL, m.RedirectURL, m.Name},
	}
	for _, tc := range cases {
		got, err := m.For(tc.base, tc.name)
		require.NoError(t, err, tc.base)
		assert.Equal(t, tc.hook, got.HookAttributes.URL, tc.base)
		assert.Equal(t, tc.redirect, got.RedirectURL, tc.base)
		assert.Equal(t, tc.as, got.Name, tc.base)
		assert.Equal(t, m.DefaultPermissions, got.DefaultPermissions)
		assert.Equal(t, m.DefaultEvents, got.DefaultEvents)
	}
	again, err := AppManifest()
	require.NoError(t, err)
	assert.Equal(t, again, m, "For leaves the manifest it was called on as it was")

	bad := map[string]string{
		"ftp://acme.example":        `serve URL "ftp://acme.example": want an https:// (or http://) URL`,
		"fleetbot.acme.example":     `serve URL "fleetbot.acme.example": want an https:// (or http://) URL`,
		"https://":                  `serve URL "https://": no host`,
		"https://u:p@acme.example":  `serve URL "https://u:p@acme.example": user information does not belong in a webhook URL`,
		"https://acme.example/?x=1": `serve URL "https://acme.example/?x=1": no query or fragment, the webhook path is added to it`,
		"https://acme.example/#top": `serve URL "https://acme.example/#top": no query or fragment, the webhook path is added to it`,
		"https://acme.example/\x7f": `serve URL "https://acme.example/\x7f": parse "https://acme.example/\x7f": net/url: invalid control character in URL`,
		"https://acme.example/?":    `serve URL "https://acme.example/?": no query or fragment, the webhook path is added to it`,
	}
	for base, want := range bad {
		_, err := m.For(base, "")
		assert.EqualError(t, err, want, base)
	}
	_, err = m.For("", "fleetbot-for-the-acme-platform-team-eu")
	assert.EqualError(t, err, `app name "fleetbot-for-the-acme-platform-team-eu": 38 characters, GitHub takes at most 34`)
	_, err = m.For("", " fleetbot")
	assert.EqualError(t, err, `app name " fleetbot": leading or trailing white space`)
}

func TestRegisterURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ web, org, state, want string }{
		{"https://github.com", "", "s1", "https://github.com/settings/apps/new?state=s1"},
		{"https://github.com/", "acme", "s 2", "https://github.com/organizations/acme/settings/apps/new?state=s+2"},
		{"https://github.acme.example", "platform", "s3", "https://github.acme.example/organizations/platform/settings/apps/new?state=s3"},
	}
	for _, tc := range cases {
		got, err := RegisterURL(tc.web, tc.org, tc.state)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
	_, err := RegisterURL("github.com", "", "s")
	assert.EqualError(t, err, `GitHub web URL "github.com": want such as https://github.com`)
	_, err = RegisterURL("https://github.com", "acme/x", "s")
	assert.EqualError(t, err, `organization "acme/x": not an organization login`)
	_, err = RegisterURL("https://github.com", "acme", "")
	assert.EqualError(t, err, "manifest flow: state is empty")
}

// TestFormCarriesTheManifest reads the form back as a browser would: the
// hidden field holds the manifest's JSON, whatever its text holds.
func TestFormCarriesTheManifest(t *testing.T) {
	t.Parallel()
	m, err := AppManifest()
	require.NoError(t, err)
	m, err = m.For("https://fleetbot.acme.example", `fleetbot "<acme>" & co`)
	require.NoError(t, err)
	var page bytes.Buffer
	require.NoError(t, m.WriteForm(&page, "https://github.com/organizations/acme/settings/apps/new?state=abc"))

	action := regexp.MustCompile(`<form action="([^"]*)" method="post">`).FindStringSubmatch(page.String())
	require.NotNil(t, action, page.String())
	assert.Equal(t, "https://github.com/organizations/acme/settings/apps/new?state=abc", html.UnescapeString(action[1]))
	value := regexp.MustCompile(`<input type="hidden" name="manifest" value="([^"]*)">`).FindStringSubmatch(page.String())
	require.NotNil(t, value, page.String())
	var back Manifest
	require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(value[1])), &back))
	assert.Equal(t, m, back)
	assert.NotContains(t, page.String(), "<acme>", "the name is escaped in the page text")
}
