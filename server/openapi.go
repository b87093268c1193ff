package server

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/identity/identityhttp"
)

// HealthBody is the answer of GET /healthz.
type HealthBody struct {
	Status string `json:"status" enum:"ok"`
}

// ReadyBody is the answer of GET /readyz when every dependency answers.
type ReadyBody struct {
	Status string            `json:"status" enum:"ready"`
	Checks map[string]string `json:"checks" doc:"Each dependency (store, redis, discovery_index, spire, teg — those in use) and \"ok\", or its error"`
}

// describeOps adds the routes the server mounts as plain handlers (health, readiness, metrics,
// the SPIFFE bundle endpoint) to the OpenAPI document.
func describeOps(api huma.API) {
	for _, r := range []httpapi.Route{
		{ID: "healthz", Method: http.MethodGet, Path: "/healthz", Tag: "operations", Summary: "Liveness: the process serves requests",
			Body: HealthBody{}},
		{ID: "readyz", Method: http.MethodGet, Path: "/readyz", Tag: "operations", Summary: "Readiness: every dependency answers",
			Description: "503 NOT_READY (an envelope whose details.checks names the failing dependency) while one does not.",
			Body:        ReadyBody{}, Errors: map[int]string{http.StatusServiceUnavailable: "NOT_READY: details.checks says which dependency failed"}},
		{ID: "metrics", Method: http.MethodGet, Path: "/metrics", Tag: "operations", Summary: "Prometheus metrics",
			Description: "On the metrics listener (metrics.addr); on the public listener only when metrics.token is set, " +
				"with Authorization: Bearer <metrics.token> (404 otherwise).",
			ContentType: "text/plain; version=0.0.4", Errors: map[int]string{http.StatusUnauthorized: "METRICS_TOKEN_REQUIRED or INVALID_METRICS_TOKEN", http.StatusNotFound: "no metrics.token: not served on the public listener"}},
		{ID: "spiffe-bundle-endpoint", Method: http.MethodGet, Path: identityhttp.WellKnownPath, Tag: "identity",
			Summary:     "SPIFFE federation bundle endpoint: the trust domain's bundle (JWKS with X.509 and JWT authorities)",
			Description: "For SPIFFE federation; GET /api/v1/identity/bundle serves the same bundle with an ETag and refresh hint."},
	} {
		httpapi.Describe(api, r)
	}
}
