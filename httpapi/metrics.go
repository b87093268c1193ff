package httpapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the per-route HTTP metrics: request counts by status, latency histograms, requests
// in flight, authentication failures and rate-limit hits.
type Metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	authFails   *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
}

// NewMetrics creates the HTTP metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_http_requests_total", Help: "HTTP requests by method, route and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sovereign_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sovereign_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
		authFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_auth_failures_total", Help: "Rejected credentials by error code.",
		}, []string{"code"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sovereign_rate_limit_hits_total", Help: "Requests refused by a rate limit, by limit class.",
		}, []string{"class"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.authFails, m.rateLimited)
	return m
}

func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

// DeclareRateLimitClasses starts sovereign_rate_limit_hits_total at 0 for each class, so that
// the series exist (and rates are 0, not absent) before the first refusal.
func (m *Metrics) DeclareRateLimitClasses(classes ...string) {
	for _, c := range classes {
		m.rateLimited.WithLabelValues(c)
	}
}
