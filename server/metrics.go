package server

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/registry"
)

// The answers of /metrics to a caller without the configured token.
var (
	errMetricsTokenRequired = apperr.New(apperr.Unauthenticated, "METRICS_TOKEN_REQUIRED", "/metrics needs the bearer token configured as metrics.token")
	errMetricsTokenInvalid  = apperr.New(apperr.Unauthenticated, "INVALID_METRICS_TOKEN", "the metrics token is wrong")
)

// metricsHandler serves the Prometheus handler h, to callers presenting token as a bearer token
// when token is set.
func metricsHandler(h http.Handler, token string) http.Handler {
	if token == "" {
		return h
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || got == "" {
			httpapi.WriteError(w, r, errMetricsTokenRequired)
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			httpapi.WriteError(w, r, errMetricsTokenInvalid)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// registerPasswordMetrics exports the load of the password hasher.
func registerPasswordMetrics(reg prometheus.Registerer, a *registry.Accounts) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_password_hashes_in_flight",
			Help: "argon2id hashes and verifications running."}, func() float64 { return float64(a.PasswordStats().InFlight) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sovereign_password_hashes_waiting",
			Help: "Password hashes and verifications waiting for argon2id memory."}, func() float64 { return float64(a.PasswordStats().Waiting) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sovereign_password_hashes_rejected_total",
			Help: "Password hashes and verifications refused with SERVER_BUSY (the argon2id budget stayed full)."},
			func() float64 { return float64(a.PasswordStats().Rejected) }),
	)
}

// MetricsHandler is the handler of the metrics listener (Config.Metrics.Addr): GET /metrics
// (behind metrics.token when one is set) and nothing else.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics)
	return httpapi.Handler(mux, s.log, s.metricsHTTP)
}

// ServeMetrics serves MetricsHandler on ln until ctx is cancelled (as Serve).
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, s.MetricsHandler())
}
