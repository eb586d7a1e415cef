package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/fleetbot/fleetbot/bot"
	"github.com/fleetbot/fleetbot/bot/gh"
	"github.com/fleetbot/fleetbot/internal/cli"
	"github.com/fleetbot/fleetbot/internal/config"
	"github.com/fleetbot/fleetbot/rollout/store"
	"github.com/fleetbot/fleetbot/rollout/store/boltstore"
	"github.com/fleetbot/fleetbot/rollout/store/dynamostore"
)

// shutdownTimeout bounds how long serve waits for in-flight requests and
// deliveries when it stops.
const shutdownTimeout = 30 * time.Second

// serveOptions are the flags of `fleetbot serve`.
type serveOptions struct {
	config string
}

func newServeCmd() *cobra.Command {
	opts := &serveOptions{}
	cmd := cli.ServerCommand(&cobra.Command{
		Use: "serve",
		Long: `Run fleetbot as a GitHub App: verify and store each webhook delivery, act on
it, and reconcile every campaign on an interval so a lost webhook only
delays progress. SIGINT or SIGTERM stops it gracefully: it stops accepting
deliveries, finishes those in hand, stops the loop and closes the store.

A configuration problem exits with status 2 and names the file, the line and
the field. docs/serve.md describes the configuration file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runServe(ctx, cmd, opts)
		},
	})
	// Not cobra's required flag, whose error exits 1: a missing
	// configuration is a configuration problem, which the help says exits 2.
	cmd.Flags().StringVar(&opts.config, "config", "", "configuration file (YAML, required)")
	return cmd
}

func runServe(ctx context.Context, cmd *cobra.Command, opts *serveOptions) error {
	if opts.config == "" {
		return cli.Exit(2, errors.New("--config FILE is required: serve's configuration file (docs/serve.md describes it)"))
	}
	cfg, err := config.Load(opts.config)
	if err != nil {
		return cli.Exit(2, err)
	}
	log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: cfg.LogLevel}))
	return serve(ctx, cfg, log, cmd.ErrOrStderr())
}

// serve wires the parts together and runs them until ctx ends.
func serve(ctx context.Context, cfg *config.Serve, log *slog.Logger, out io.Writer) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()

	svc, err := newService(cfg, st, log, reg, cfg.ReplicaID, cfg.MirrorDir)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	servers := []*http.Server{newHTTPServer(svc.Handler())}
	listeners := []net.Listener{ln}
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("metricsListen on %s: %w", cfg.MetricsListen, err)
		}
		servers = append(servers, newHTTPServer(svc.MetricsHandler()))
		listeners = append(listeners, mln)
	}
	if err := svc.Start(ctx); err != nil {
		for _, l := range listeners {
			_ = l.Close()
		}
		return err
	}
	served := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { served <- srv.Serve(listeners[i]) }()
	}
	fmt.Fprintf(out, "fleetbot serve: listening on %s\n", ln.Addr())
	if len(listeners) > 1 {
		fmt.Fprintf(out, "fleetbot serve: /metrics on %s\n", listeners[1].Addr())
	}
	log.Info("serving", "listen", ln.Addr().String(), "metrics", listeners[len(listeners)-1].Addr().String(), "replica", svc.Bot().ReplicaID(), "campaigns", cfg.Campaigns.Repository+"/"+cfg.Campaigns.Path)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	log.Info("stopping")
	down, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	errs := []error{}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve http: %w", serveErr))
	}
	for _, srv := range servers {
		if err := srv.Shutdown(down); err != nil {
			errs = append(errs, fmt.Errorf("stop http server: %w", err))
		}
	}
	if err := svc.Shutdown(down); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// newHTTPServer serves h with serve's limits: the headers within 10 s and
// at most 64 KiB of them (the webhook intake bounds the body: its size, its
// time, how many at once); an idle keep-alive connection is closed after
// two minutes.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		IdleTimeout:       2 * time.Minute,
	}
}

// newService builds the GitHub App and the bot's Service from the
// configuration, as serve runs them; the campaign commands build theirs the
// same way, under a replica id and a mirror directory of their own.
func newService(cfg *config.Serve, st store.Store, log *slog.Logger, reg *prometheus.Registry, replicaID, mirrorDir string) (*bot.Service, error) {
	app, err := gh.NewApp(gh.Config{
		BaseURL:    cfg.APIBaseURL,
		AppID:      cfg.AppID,
		PrivateKey: cfg.PrivateKey,
		Metrics:    gh.NewMetrics(reg),
		Logger:     log,
	})
	if err != nil {
		return nil, cli.Exit(2, fmt.Errorf("github app: %w", err))
	}
	svc, err := bot.NewService(bot.ServiceConfig{
		Bot: bot.Config{
			Store:             st,
			CampaignRepo:      cfg.Campaigns.Repository,
			CampaignPath:      cfg.Campaigns.Path,
			Repositories:      cfg.Repositories,
			ReplicaID:         replicaID,
			ReconcileInterval: cfg.ReconcileInterval,
			OpenConcurrency:   cfg.OpenConcurrency,
			LeaseTTL:          cfg.LeaseDuration,
			Retention:         bot.Retention{Deliveries: cfg.Retention.Deliveries, Campaigns: cfg.Retention.Campaigns},
			Logger:            log,
		},
		App:           app,
		MirrorDir:     mirrorDir,
		WebhookSecret: cfg.WebhookSecret,
		Workers:       cfg.Workers,
		Registry:      reg,
		MetricsApart:  cfg.MetricsListen != "",
		APIToken:      cfg.API.Token,
		Status:        bot.StatusConfig{Off: !cfg.Status.Enabled, Refresh: cfg.Status.Refresh},
	})
	if err != nil {
		return nil, cli.Exit(2, err)
	}
	return svc, nil
}

// openStore opens the store the configuration names. On DynamoDB each
// delivery is stamped with when its retention ends, for the table's time
// to live (`fleetbot store init` turns it on).
func openStore(ctx context.Context, cfg *config.Serve) (store.Store, error) {
	s := cfg.Store
	if s.Bolt != nil {
		st, err := boltstore.Open(s.Bolt.Path)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return st, nil
	}
	client, err := dynamoClient(ctx, *s.DynamoDB)
	if err != nil {
		return nil, err
	}
	return dynamostore.New(client, s.DynamoDB.Table, dynamostore.WithDeliveryTTL(cfg.Retention.Deliveries)), nil
}

// dynamoClient is the DynamoDB client for the configured table: the AWS
// SDK's default chain (Pod Identity, IRSA, the environment), in the
// configured region and at the configured endpoint when set.
func dynamoClient(ctx context.Context, d config.DynamoDB) (*dynamodb.Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if d.Region != "" {
		opts = append(opts, awsconfig.WithRegion(d.Region))
	}
	aws, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	return dynamodb.NewFromConfig(aws, func(o *dynamodb.Options) {
		if d.Endpoint != "" {
			o.BaseEndpoint = &d.Endpoint
		}
	}), nil
}
