package webhooks

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of a delivery, the result label of fleetbot_webhook_deliveries_total.
const (
	ResultAccepted     = "accepted"      // stored and queued
	ResultDuplicate    = "duplicate"     // its delivery id was stored before
	ResultUnhandled    = "unhandled"     // an event fleetbot does not act on (ping included)
	ResultBadSignature = "bad_signature" // X-Hub-Signature-256 missing or wrong
	ResultTooLarge     = "too_large"     // body over MaxBody
	ResultTimeout      = "timeout"       // body not received within the body timeout
	ResultBusy         = "busy"          // too many bodies being read at once
	ResultMalformed    = "malformed"     // signed, but the payload does not decode
	ResultStoreError   = "store_error"   // the store refused it; answered 500, GitHub may redeliver
	ResultProcessed    = "processed"     // Handle succeeded and the delivery was marked processed
	ResultFailed       = "failed"        // left pending after its last attempt
)

// otherEvent labels an unverified request whose event name is not one
// fleetbot knows, so an unsigned caller cannot create label values.
const otherEvent = "other"

// metrics are the intake's Prometheus collectors.
type metrics struct {
	deliveries *prometheus.CounterVec
	queueDepth prometheus.Gauge
	processing *prometheus.HistogramVec
	ack        *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fleetbot_webhook_deliveries_total",
			Help: "Webhook deliveries by event and result: accepted, duplicate, unhandled, bad_signature, too_large, timeout, busy, malformed, store_error, processed, failed.",
		}, []string{"event", "result"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fleetbot_webhook_queue_depth",
			Help: "Stored deliveries waiting in the queue for a worker.",
		}),
		processing: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fleetbot_webhook_processing_seconds",
			Help:    "Time one call of the event handler took, by event.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"event"}),
		ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fleetbot_webhook_ack_seconds",
			Help: "Time from a delivery's arrival to its 2xx answer written, by result (accepted, duplicate, unhandled); GitHub gives up after 10 s.",
			// GitHub times a delivery out after 10 s.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.deliveries, err = register(reg, m.deliveries); err != nil {
		return nil, err
	}
	if m.queueDepth, err = register(reg, m.queueDepth); err != nil {
		return nil, err
	}
	if m.processing, err = register(reg, m.processing); err != nil {
		return nil, err
	}
	if m.ack, err = register(reg, m.ack); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or returns the collector registered before under
// the same name, so a second Intake in one process shares the series.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("register webhook metrics: %w", err)
}

func (m *metrics) count(event, result string) {
	m.deliveries.WithLabelValues(event, result).Inc()
}
