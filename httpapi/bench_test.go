package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/ratelimit"
)

// benchAuth accepts every access token as the developer it names.
type benchAuth struct{}

func (benchAuth) AuthenticateAccessToken(_ context.Context, token string) (policy.Subject, error) {
	return policy.Subject{Kind: policy.KindDeveloper, ID: token, AuthMethod: policy.AuthSession}, nil
}

func (benchAuth) AuthenticateAPIKey(_ context.Context, key string) (policy.Subject, error) {
	return policy.Subject{Kind: policy.KindDeveloper, ID: key, AuthMethod: policy.AuthAPIKey}, nil
}

type pingOutput struct {
	Body struct {
		Status  string `json:"status"`
		Subject string `json:"subject"`
	}
}

// BenchmarkRequestPath measures the full middleware chain of an authenticated GET: request id,
// recovery, access log (JSON, discarded), metrics, authentication, the in-memory rate limit, and
// a small huma operation.
func BenchmarkRequestPath(b *testing.B) {
	reg := prometheus.NewRegistry()
	metrics := httpapi.NewMetrics(reg)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	limits := &httpapi.RateLimits{Limiter: ratelimit.NewMemory(), Metrics: metrics, Log: log,
		Classes: map[string]ratelimit.Limit{httpapi.RateDefault: {Rate: 1 << 30, Period: time.Second, Burst: 1 << 30}}}
	mux := http.NewServeMux()
	api := httpapi.NewAPI(mux, "bench", "1")
	api.UseMiddleware(httpapi.Authenticate(benchAuth{}, metrics), limits.Middleware)
	httpapi.Register(api, huma.Operation{OperationID: "ping", Method: http.MethodGet, Path: "/ping/{id}"},
		func(ctx context.Context, in *getItemInput) (*pingOutput, error) {
			out := &pingOutput{}
			out.Body.Status, out.Body.Subject = in.ID, httpapi.Subject(ctx).ID
			return out, nil
		})
	h := httpapi.Handler(mux, log, metrics)

	var worker atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine is its own caller, so rate-limit keys spread over shards as in production.
		token := "Bearer dev_bench" + strconv.FormatInt(worker.Add(1), 10)
		r := httptest.NewRequest(http.MethodGet, "/ping/abc", nil)
		r.Header.Set("Authorization", token)
		w := &discardWriter{header: http.Header{}}
		for pb.Next() {
			w.reset()
			h.ServeHTTP(w, r)
			if w.status != http.StatusOK {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
}

// discardWriter is a reusable ResponseWriter that keeps only the status, so the benchmark
// measures the server side alone.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

func (w *discardWriter) reset() {
	clear(w.header)
	w.status = 0
}
