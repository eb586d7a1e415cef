package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/config"
	"github.com/fleetbot/fleetbot/rollout"
)

// campaigns is what the campaign commands need: a campaign's state, and an
// operation on it answered with the state before and after. The store
// (through a bot built as serve's) and a running serve's operations API
// both provide it, answering alike.
type campaigns interface {
	State(ctx context.Context, name string) (rollout.State, bool, error)
	Operate(ctx context.Context, name string, ev rollout.Event) (before, after rollout.State, err error)
	Commands(ctx context.Context, name string) ([]bot.CommandRecord, error)
}

// storeCampaigns operates on the store directly.
type storeCampaigns struct{ b *bot.Bot }

func (s storeCampaigns) State(ctx context.Context, name string) (rollout.State, bool, error) {
	return s.b.State(ctx, name)
}

func (s storeCampaigns) Commands(ctx context.Context, name string) ([]bot.CommandRecord, error) {
	return s.b.Commands(ctx, name)
}

func (s storeCampaigns) Operate(ctx context.Context, name string, ev rollout.Event) (before, after rollout.State, err error) {
	before, _, err = s.b.State(ctx, name)
	if err != nil {
		return before, after, &notTaken{err}
	}
	after, err = s.b.Operate(ctx, name, ev)
	return before, after, err
}

// notTaken wraps an error that came before the operation was sent: the
// command reports it as it is, not as an operation taken whose actions
// failed.
type notTaken struct{ err error }

func (e *notTaken) Error() string { return e.err.Error() }
func (e *notTaken) Unwrap() error { return e.err }

// withCampaigns calls f with the campaigns of a running serve when a server
// is named (--server, or api.url in the configuration), and with those of
// the store otherwise. A server is reached with the token of --token-file,
// or of api.tokenFile; --config is then optional.
func withCampaigns(cmd *cobra.Command, opts *campaignOptions, f func(ctx context.Context, c campaigns) error) error {
	var cfg *config.Serve
	if opts.config != "" {
		var err error
		if cfg, err = config.Load(opts.config); err != nil {
			return cli.Exit(2, err)
		}
	}
	server := opts.server
	if server == "" && cfg != nil {
		server = cfg.API.URL
	}
	if server == "" {
		if cfg == nil {
			return cli.Exit(2, errors.New("set --config FILE (the serve configuration), or --server URL with --token-file FILE"))
		}
		return withBot(cmd, cfg, func(ctx context.Context, b *bot.Bot) error { return f(ctx, storeCampaigns{b}) })
	}
	var token []byte
	switch {
	case opts.tokenFile != "":
		raw, err := os.ReadFile(opts.tokenFile)
		if err != nil {
			return cli.Exit(2, fmt.Errorf("--token-file: %w", err))
		}
		if token = bytes.TrimSpace(raw); len(token) == 0 {
			return cli.Exit(2, fmt.Errorf("--token-file: %s is empty", opts.tokenFile))
		}
	case cfg != nil && len(cfg.API.Token) > 0:
		token = cfg.API.Token
	default:
		return cli.Exit(2, fmt.Errorf("server %s: no token: set --token-file FILE or api.tokenFile in the configuration", server))
	}
	client, err := bot.NewOpsClient(server, token, nil)
	if err != nil {
		return cli.Exit(2, err)
	}
	err = f(cmd.Context(), client)
	if errors.Is(err, bot.ErrAPIUnusable) {
		return cli.Exit(2, err)
	}
	return err
}
