package fleetsim

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fleetbot/fleetbot/gitops"
)

// failingErrorRatio is the share of requests a cluster whose last apply
// failed answers with an error.
const failingErrorRatio = 0.2

// metrics is what the simulated fleet's services report, per cluster.
type metrics struct {
	reg     *prometheus.Registry
	traffic *prometheus.GaugeVec
	errors  *prometheus.GaugeVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		traffic: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fleetsim_traffic_share",
			Help: "The cluster's share of its service's traffic, as Terraform last applied it (the blueprint's traffic scalar).",
		}, []string{"cluster"}),
		errors: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fleetsim_error_ratio",
			Help: "The share of the cluster's requests answered with an error: 0 while healthy, 0.2 while its last apply failed.",
		}, []string{"cluster"}),
	}
	m.reg.MustRegister(m.traffic, m.errors)
	return m
}

// Metrics serves, in the Prometheus text format, what the simulated
// fleet's services report for each cluster that runs: its share of
// traffic as Terraform last applied it (fleetsim_traffic_share, the
// blueprint's traffic scalar; 0 without one) and the share of its requests
// that fail (fleetsim_error_ratio: 0, or 0.2 while its last apply failed).
// A destroyed cluster reports nothing. A Prometheus scraping it gives the
// prometheus gate something real to judge a traffic shift by.
func (s *Sim) Metrics() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// running records that c runs with its applied traffic share, failing or
// not.
func (m *metrics) running(c gitops.Cluster, failed bool) {
	share, _ := strconv.ParseFloat(c.Traffic, 64) // the inventory checked it is a whole number
	m.traffic.WithLabelValues(c.Name).Set(share)
	ratio := 0.0
	if failed {
		ratio = failingErrorRatio
	}
	m.errors.WithLabelValues(c.Name).Set(ratio)
}

// gone records that c no longer runs.
func (m *metrics) gone(name string) {
	m.traffic.DeleteLabelValues(name)
	m.errors.DeleteLabelValues(name)
}
