package bot

import (
	"context"
	"fmt"
	"sync"

	"github.com/fleetbot/fleetbot/bot/gh"
)

// AppGitHub is the GitHub of a GitHub App: each repository is reached
// through the installation that covers it, looked up once and remembered
// until the installations change.
type AppGitHub struct {
	app *gh.App

	mu   sync.Mutex
	inst map[string]int64 // owner/repo -> installation id
}

// NewAppGitHub returns the GitHub of app.
func NewAppGitHub(app *gh.App) *AppGitHub {
	return &AppGitHub{app: app, inst: map[string]int64{}}
}

// API returns the client of the installation that covers owner/repo.
func (a *AppGitHub) API(ctx context.Context, owner, repo string) (Client, error) {
	c, err := a.client(ctx, owner, repo)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// GitAuth returns the installation token as git's HTTP password.
func (a *AppGitHub) GitAuth(ctx context.Context, owner, repo string) (string, string, error) {
	c, err := a.client(ctx, owner, repo)
	if err != nil {
		return "", "", err
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return "", "", fmt.Errorf("installation token for %s/%s: %w", owner, repo, err)
	}
	return "x-access-token", tok, nil
}

// RefreshInstallations forgets the installations looked up so far; the bot
// calls it on installation events.
func (a *AppGitHub) RefreshInstallations() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.inst)
}

func (a *AppGitHub) client(ctx context.Context, owner, repo string) (*gh.Client, error) {
	key := owner + "/" + repo
	a.mu.Lock()
	id, ok := a.inst[key]
	a.mu.Unlock()
	if !ok {
		var err error
		if id, err = a.app.InstallationFor(ctx, owner, repo); err != nil {
			return nil, fmt.Errorf("the App's installation for %s: %w", key, err)
		}
		a.mu.Lock()
		a.inst[key] = id
		a.mu.Unlock()
	}
	return a.app.Client(id)
}
