package webhooks

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewMux returns the HTTP routes of `fleetbot serve`: the intake at
// /webhook and at POST / (GET / is the bot's status page), /healthz (200
// while the process runs), /readyz (200 once in started and until its
// Shutdown, while ready, when not nil, returns nil; 503 with the reason
// otherwise) and, when reg is not nil, /metrics (what reg gathers). serve
// leaves reg nil when /metrics has a listen address of its own
// (MetricsMux).
func NewMux(in *Intake, ready func(context.Context) error, reg prometheus.Gatherer) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/webhook", in)
	mux.Handle("POST /{$}", in)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		err := in.Ready()
		if err == nil && ready != nil {
			err = ready(r.Context())
		}
		if err != nil {
			reply(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
		reply(w, http.StatusOK, "ready")
	})
	if reg != nil {
		mux.Handle("GET /metrics", metricsHandler(reg))
	}
	return mux
}

// MetricsMux serves only /metrics, what reg gathers: the routes of serve's
// metrics listen address, apart from the public webhook port.
func MetricsMux(reg prometheus.Gatherer) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(reg))
	return mux
}

func metricsHandler(reg prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
