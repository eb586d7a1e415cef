package bot

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetbot/fleetbot/rollout"
	"github.com/fleetbot/fleetbot/rollout/gate"
)

// GateOptions tune how gates reach their providers.
type GateOptions struct {
	// Getenv reads the environment variables gates name (the Argo CD
	// token's tokenEnv); nil means os.Getenv.
	Getenv func(string) string
	// ArgoCD, EKS and Prometheus are passed to the gates' constructors.
	ArgoCD     []gate.ArgoCDOption
	EKS        []gate.EKSOption
	Prometheus []gate.PrometheusOption
}

// gatesKey names what gates were built for: a campaign's gates, or its
// pre-flight check.
type gatesKey struct {
	campaign  string
	preflight bool
}

// gatesFor returns the gates of a campaign: Config.Gates when set (tests,
// the demo), else the gates its spec.gates configures. Those are built once
// per campaign and kept for the life of the process, since some count
// measurements over time: asking again returns the same gates.
func (b *Bot) gatesFor(name string, c *rollout.Campaign) (Gates, error) {
	if b.cfg.Gates != nil {
		return b.cfg.Gates, nil
	}
	return b.builtGates(gatesKey{campaign: name}, func() (Gates, error) {
		return buildGates(c.Spec.Gates, gateInstallations(b.cfg.GitHub), b.now, b.cfg.GateOptions, b.metrics.gateDuration)
	})
}

// preflightFor returns the pre-flight check of a campaign whose eks gate
// asks for one (spec.gates.eks.preflight), built once per campaign, in the
// eks gate's role and with its options.
func (b *Bot) preflightFor(name string, c *rollout.Campaign) (Gates, error) {
	e := c.Spec.Gates.EKS
	if e == nil || !e.Preflight {
		return nil, fmt.Errorf("campaign %s asks for no pre-flight check (spec.gates.eks.preflight)", name)
	}
	return b.builtGates(gatesKey{campaign: name, preflight: true}, func() (Gates, error) {
		p, err := gate.NewPreflight(*e, b.cfg.GateOptions.EKS...)
		if err != nil {
			return nil, gateError("spec.gates.eks", err)
		}
		return gate.NewRunner([]gate.Gate{timedGate{Gate: p, took: b.metrics.gateDuration.WithLabelValues(p.Name())}}, b.now), nil
	})
}

// builtGates returns the gates built for key, building them on first use.
func (b *Bot) builtGates(key gatesKey, build func() (Gates, error)) (Gates, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if g, ok := b.gates[key]; ok {
		return g, nil
	}
	g, err := build()
	if err != nil {
		return nil, err
	}
	if b.gates == nil {
		b.gates = map[gatesKey]Gates{}
	}
	b.gates[key] = g
	return g, nil
}

// forgetGates drops the gates built for a campaign that did not start, so a
// later file of the same name gets its own.
func (b *Bot) forgetGates(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.gates, gatesKey{campaign: name})
	delete(b.gates, gatesKey{campaign: name, preflight: true})
}

// buildGates builds the runner of the gates spec.gates configures, each
// check timed into took by gate. Its clock stamps the results; the
// prometheus gate times its measurements with it too, unless
// opts.Prometheus sets another clock.
func buildGates(cfg rollout.Gates, api installationAPI, clock func() time.Time, opts GateOptions, took *prometheus.HistogramVec) (Gates, error) {
	gs, err := newGates(cfg, api, clock, opts)
	if err != nil {
		return nil, err
	}
	for i, g := range gs {
		gs[i] = timedGate{Gate: g, took: took.WithLabelValues(g.Name())}
	}
	return gate.NewRunner(gs, clock), nil
}

// timedGate observes how long each check of its gate takes, on the wall
// clock: the time a provider took to answer, whatever clock the campaign
// runs on.
type timedGate struct {
	gate.Gate
	took prometheus.Observer
}

// Check checks t with the gate, timing it; a check that panics is timed
// too (the runner turns the panic into an error).
func (g timedGate) Check(ctx context.Context, t gate.Target) gate.Result {
	start := time.Now()
	defer func() { g.took.Observe(time.Since(start).Seconds()) }()
	return g.Gate.Check(ctx, t)
}

// Reset passes on to a gate that keeps state per cluster.
func (g timedGate) Reset(cluster string) {
	if r, ok := g.Gate.(gate.Resetter); ok {
		r.Reset(cluster)
	}
}

// newGates builds the providers of the configured gates, in the order of
// Gates.Names. An error is a *rollout.FieldError naming the field of the
// campaign file at fault.
func newGates(cfg rollout.Gates, api installationAPI, clock func() time.Time, opts GateOptions) ([]gate.Gate, error) {
	var gs []gate.Gate
	if a := cfg.ArgoCD; a != nil {
		g, err := newArgoCD(*a, api, opts)
		if err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	if e := cfg.EKS; e != nil {
		g, err := gate.NewEKS(*e, opts.EKS...)
		if err != nil {
			return nil, gateError("spec.gates.eks", err)
		}
		gs = append(gs, g)
	}
	if p := cfg.Prometheus; p != nil {
		popts := append([]gate.PrometheusOption{gate.WithClock(clock)}, opts.Prometheus...)
		g, err := gate.NewPrometheus(*p, popts...)
		if err != nil {
			return nil, gateError("spec.gates.prometheus", err)
		}
		gs = append(gs, g)
	}
	if t := cfg.Terraform; t != nil {
		gs = append(gs, gate.NewTerraform(*t, api))
	}
	return gs, nil
}

// newArgoCD builds the argocd gate with the token its tokenEnv names,
// comparing revisions through GitHub.
func newArgoCD(cfg rollout.ArgoCDGate, api installationAPI, opts GateOptions) (gate.Gate, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	// A token read from a mounted secret often ends in a newline; no bearer
	// token holds white space.
	token := strings.TrimSpace(getenv(cfg.TokenEnv))
	if token == "" {
		return nil, &rollout.FieldError{Field: "spec.gates.argocd.tokenEnv", Reason: fmt.Sprintf("environment variable %s is not set or empty", cfg.TokenEnv)}
	}
	g, err := gate.NewArgoCD(cfg, token, gate.CompareAncestry{API: api}, opts.ArgoCD...)
	if err != nil {
		return nil, gateError("spec.gates.argocd", err)
	}
	return g, nil
}

// gateError names the field of the gate a provider could not be built for.
func gateError(field string, err error) error {
	return &rollout.FieldError{Field: field, Reason: err.Error()}
}
