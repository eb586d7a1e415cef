package gh

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v88/github"
)

// App is a GitHub App: it lists its installations and hands out a Client per
// installation. Installation tokens are minted on first use and renewed a
// minute before they expire. It is safe for concurrent use.
type App struct {
	id    int64
	key   *rsa.PrivateKey
	base  *url.URL
	chain *chain
	gh    *github.Client // signed with the App's JWT

	mu      sync.Mutex
	clients map[int64]*Client
}

// Installation is one account that installed the App.
type Installation struct {
	ID      int64
	Account string
}

// NewApp checks cfg and returns the App it describes.
func NewApp(cfg Config) (*App, error) {
	if cfg.AppID <= 0 {
		return nil, errors.New("github app id is missing: set the App's numeric id")
	}
	if len(cfg.PrivateKey) == 0 {
		return nil, fmt.Errorf("github app %d: private key is missing", cfg.AppID)
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github app %d: private key: %w", cfg.AppID, err)
	}
	ch, base, err := newChain(cfg)
	if err != nil {
		return nil, err
	}
	a := &App{id: cfg.AppID, key: key, base: base, chain: ch, clients: make(map[int64]*Client)}
	jwtTransport := a.appsTransport(ch.transport(appIdentity))
	if a.gh, err = newGitHub(&http.Client{Transport: jwtTransport}, base, ch.userAgent); err != nil {
		return nil, fmt.Errorf("github app %d: %w", cfg.AppID, err)
	}
	return a, nil
}

// appsTransport signs requests with the App's JWT before tr sends them.
func (a *App) appsTransport(tr http.RoundTripper) *ghinstallation.AppsTransport {
	atr := ghinstallation.NewAppsTransportFromPrivateKey(tr, a.id, a.key)
	// ghinstallation appends "/app/..." to the root without its slash.
	atr.BaseURL = strings.TrimSuffix(a.base.String(), "/")
	return atr
}

// Client returns the Client of one installation, the same one on every call.
func (a *App) Client(installationID int64) (*Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[installationID]; ok {
		return c, nil
	}
	// Each installation gets its own AppsTransport: ghinstallation writes to
	// it while renewing a token, so sharing one would race.
	itr := ghinstallation.NewFromAppsTransport(a.appsTransport(a.chain.transport(strconv.FormatInt(installationID, 10))), installationID)
	// Without options ghinstallation sends the body "null"; GitHub documents
	// an object, so send an empty one (a token for every repository and
	// permission of the installation).
	itr.InstallationTokenOptions = &github.InstallationTokenOptions{}
	gh, err := newGitHub(&http.Client{Transport: itr}, a.base, a.chain.userAgent)
	if err != nil {
		return nil, fmt.Errorf("installation %d: %w", installationID, err)
	}
	c := &Client{gh: gh, token: itr.Token}
	a.clients[installationID] = c
	return c, nil
}

// Installations lists the App's installations.
// https://docs.github.com/rest/apps/apps#list-installations-for-the-authenticated-app
func (a *App) Installations(ctx context.Context) ([]Installation, error) {
	list, err := collect("list installations", func(o github.ListOptions) ([]*github.Installation, *github.Response, error) {
		return a.gh.Apps.ListInstallations(ctx, &o)
	})
	if err != nil {
		return nil, err
	}
	return convert(list, func(i *github.Installation) Installation {
		return Installation{ID: i.GetID(), Account: i.GetAccount().GetLogin()}
	}), nil
}

// InstallationFor returns the id of the installation that covers a
// repository, or an error matching ErrNotFound.
// https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app
func (a *App) InstallationFor(ctx context.Context, owner, repo string) (int64, error) {
	inst, _, err := a.gh.Apps.GetRepositoryInstallation(ctx, owner, repo)
	if err != nil {
		return 0, mapError("find installation for "+repoPath(owner, repo), err)
	}
	return inst.GetID(), nil
}
