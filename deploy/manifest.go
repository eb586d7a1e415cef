package deploy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// ManifestFile names the manifest in errors; it is the file embedded below.
const ManifestFile = "deploy/github-app.json"

//go:embed github-app.json
var manifestJSON []byte

// maxNameLength is the longest name GitHub accepts for an App.
const maxNameLength = 34

// Manifest is a GitHub App manifest: what GitHub's manifest flow registers.
// https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest
type Manifest struct {
	Name               string            `json:"name"`
	URL                string            `json:"url"`
	Description        string            `json:"description"`
	HookAttributes     HookAttributes    `json:"hook_attributes"`
	RedirectURL        string            `json:"redirect_url"`
	Public             bool              `json:"public"`
	DefaultPermissions map[string]string `json:"default_permissions"`
	DefaultEvents      []string          `json:"default_events"`
}

// HookAttributes is where GitHub delivers the App's webhooks.
type HookAttributes struct {
	URL    string `json:"url"`
	Active bool   `json:"active"`
}

// AppManifest returns the manifest of github-app.json. Unknown fields, a
// permission level other than read or write, and an empty name, URL,
// webhook URL, permission or event list are errors naming the file.
func AppManifest() (Manifest, error) {
	return parseManifest(ManifestFile, manifestJSON)
}

func parseManifest(name string, data []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		return Manifest{}, fmt.Errorf("%s: more than one JSON value", name)
	}
	var problems []string
	for field, v := range map[string]string{"name": m.Name, "url": m.URL, "hook_attributes.url": m.HookAttributes.URL, "redirect_url": m.RedirectURL} {
		if v == "" {
			problems = append(problems, "field "+field+" is empty")
		}
	}
	if len(m.DefaultPermissions) == 0 {
		problems = append(problems, "field default_permissions is empty")
	}
	for perm, level := range m.DefaultPermissions {
		if level != "read" && level != "write" {
			problems = append(problems, fmt.Sprintf("field default_permissions.%s is %q, want read or write", perm, level))
		}
	}
	if len(m.DefaultEvents) == 0 {
		problems = append(problems, "field default_events is empty")
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return Manifest{}, fmt.Errorf("%s: %s", name, strings.Join(problems, "; "))
	}
	return m, nil
}

// JSON is the manifest as github-app.json writes it: two-space indents, a
// final newline.
func (m Manifest) JSON() ([]byte, error) {
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode app manifest: %w", err)
	}
	return append(out, '\n'), nil
}

// For returns the manifest for an App whose `fleetbot serve` answers at
// base (such as https://fleetbot.example.com): webhooks go to base/webhook,
// and GitHub's manifest flow sends the browser back to base/ with the code
// to exchange. A non-empty name replaces the App's name; GitHub wants it
// unique and at most 34 characters long.
func (m Manifest) For(base, name string) (Manifest, error) {
	if base != "" {
		u, err := serveURL(base)
		if err != nil {
			return Manifest{}, err
		}
		m.HookAttributes.URL = u + "/webhook"
		m.RedirectURL = u + "/"
	}
	if name != "" {
		if strings.TrimSpace(name) != name {
			return Manifest{}, fmt.Errorf("app name %q: leading or trailing white space", name)
		}
		if n := utf8.RuneCountInString(name); n > maxNameLength {
			return Manifest{}, fmt.Errorf("app name %q: %d characters, GitHub takes at most %d", name, n, maxNameLength)
		}
		m.Name = name
	}
	return m, nil
}

// serveURL checks the public URL of serve and drops its final slashes.
func serveURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("serve URL %q: %w", base, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("serve URL %q: want an https:// (or http://) URL", base)
	case u.Host == "":
		return "", fmt.Errorf("serve URL %q: no host", base)
	case u.User != nil:
		return "", fmt.Errorf("serve URL %q: user information does not belong in a webhook URL", base)
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(base, "?#"):
		return "", fmt.Errorf("serve URL %q: no query or fragment, the webhook path is added to it", base)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// RegisterURL is the page of GitHub's manifest flow that registers an App
// from a manifest POSTed to it: under the organisation org, or under the
// signed-in user's account when org is empty. web is GitHub's web root
// (https://github.com, or https://HOST for GitHub Enterprise Server). GitHub
// hands state back unchanged on the redirect, so the code that comes with it
// can be told from a forged one.
func RegisterURL(web, org, state string) (string, error) {
	u, err := url.Parse(web)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("GitHub web URL %q: want such as https://github.com", web)
	}
	if state == "" {
		return "", errors.New("manifest flow: state is empty")
	}
	path := "/settings/apps/new"
	if org != "" {
		if strings.ContainsAny(org, "/?#% ") {
			return "", fmt.Errorf("organization %q: not an organization login", org)
		}
		path = "/organizations/" + org + path
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = url.Values{"state": {state}}.Encode()
	return u.String(), nil
}

// form is the page that starts the manifest flow: GitHub takes the manifest
// only as the "manifest" field of a form POSTed from the browser. Its verbs
// take the name, the webhook URL, the form's action and the manifest's JSON,
// each escaped for HTML (html.EscapeString, which quotes both kinds of
// quote: every value sits in text or a double-quoted attribute). The page is
// written without html/template, whose package start every run of fleetbot,
// set included, would pay (BENCHMARKS.md, CLI start).
const form = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Register %[1]s</title></head>
<body>
<form action="%[3]s" method="post">
<p>Registers the GitHub App <b>%[1]s</b> with webhooks to <code>%[2]s</code>.</p>
<input type="hidden" name="manifest" value="%[4]s">
<button type="submit">Register %[1]s on GitHub</button>
</form>
</body>
</html>
`

// WriteForm writes an HTML page whose button POSTs the manifest to action
// (a RegisterURL).
func (m Manifest) WriteForm(w io.Writer, action string) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode app manifest: %w", err)
	}
	_, err = fmt.Fprintf(w, form, html.EscapeString(m.Name), html.EscapeString(m.HookAttributes.URL),
		html.EscapeString(action), html.EscapeString(string(data)))
	return err
}
