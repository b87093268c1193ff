package server_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/tracing/provider"
)

// A caller's trace context: trace 4bf92f35…, its span 00f067aa…, sampled.
const (
	callerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID  = "00f067aa0ba902b7"
	traceparent   = "00-" + callerTraceID + "-" + callerSpanID + "-01"
)

// recordSpans makes every span of the process go to an in-memory exporter until the test ends.
func recordSpans(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	shutdown, err := provider.Install(context.Background(), provider.Config{Exporter: exp, ServiceName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		shutdown(context.Background())
		otel.SetTracerProvider(noop.NewTracerProvider())
	})
	return exp
}

// TestTracing_RegistryCallingTheTEGIsOneTrace: a registration on a split registry, which opens
// the wallet and grants on the TEG over mTLS, is one trace — the caller's, from its
// traceparent — in which the registry's server span is the parent of its client spans and each
// client span the parent of the TEG's server span for that call.
func TestTracing_RegistryCallingTheTEGIsOneTrace(t *testing.T) {
	exp := recordSpans(t)
	sp := newSplit(t, storetest.SQLite(t), 0, func(c *config.Config) { c.Onboarding.StartingGrant = "100" })
	sp.mint(t, "1000")
	reg := &stack{t: t, srv: httptest.NewServer(sp.registry.Handler()), server: sp.registry, adminKey: sp.registry.AdminKey}
	defer reg.srv.Close()
	token := reg.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(reg.adminKey)).want(t, 201, "").str("token")
	exp.Reset()
	reg.do("POST", "/api/v1/onboard/register", registerBody("Traced Agent", token), hdr{"Bootstrap-Token", token}, hdr{"traceparent", traceparent}).want(t, 201, "")

	spans := exp.GetSpans().Snapshots()
	byID := map[trace.SpanID]int{}
	for i, s := range spans {
		byID[s.SpanContext().SpanID()] = i
	}
	var root, clients, tegSide int
	for _, s := range spans {
		if s.SpanContext().TraceID().String() != callerTraceID {
			t.Errorf("span %q is in trace %s, not the caller's", s.Name(), s.SpanContext().TraceID())
			continue
		}
		switch s.SpanKind() {
		case trace.SpanKindServer:
			if s.Name() == "POST /api/v1/onboard/register" {
				root++
				if s.Parent().SpanID().String() != callerSpanID || !s.Parent().IsRemote() {
					t.Errorf("the registry's span has parent %s, want the caller's %s", s.Parent().SpanID(), callerSpanID)
				}
				continue
			}
			// The TEG's server span: child of a registry client span.
			p, ok := byID[s.Parent().SpanID()]
			if !ok || spans[p].SpanKind() != trace.SpanKindClient {
				t.Errorf("TEG span %q has no client span as parent", s.Name())
			}
			tegSide++
		case trace.SpanKindClient:
			p, ok := byID[s.Parent().SpanID()]
			if !ok || spans[p].Name() != "POST /api/v1/onboard/register" {
				t.Errorf("client span %q is not a child of the registry's request span", s.Name())
			}
			clients++
		}
	}
	if root != 1 || clients == 0 || tegSide != clients {
		t.Fatalf("spans: %d registry request span(s), %d client spans, %d TEG spans; want 1, ≥1, one per client span\n%s", root, clients, tegSide, spanNames(spans))
	}
}

func spanNames(spans []sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.SpanKind().String() + " " + s.Name() + " parent=" + s.Parent().SpanID().String() + " id=" + s.SpanContext().SpanID().String() + "\n")
	}
	return b.String()
}

// TestTracing_LogLinesCarryTheTraceID: the access log line of a request carries the trace id of
// its span — the caller's trace when it sent a traceparent — and the response's own id.
func TestTracing_LogLinesCarryTheTraceID(t *testing.T) {
	recordSpans(t)
	s := newStack(t, storetest.SQLite(t))
	r := s.do("GET", "/api/v1/developers/me", nil, hdr{"traceparent", traceparent}).want(t, 401, "AUTHENTICATION_REQUIRED")
	rid := r.Header.Get("X-Request-Id")
	var line map[string]any
	for _, l := range strings.Split(s.logText(), "\n") {
		if strings.Contains(l, rid) && strings.Contains(l, `"msg":"request"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line == nil {
		t.Fatalf("no access log line for %s in\n%s", rid, s.logText())
	}
	if line["trace_id"] != callerTraceID || line["span_id"] == "" || line["span_id"] == callerSpanID {
		t.Fatalf("log line trace_id=%v span_id=%v, want the caller's trace and the request's own span", line["trace_id"], line["span_id"])
	}
}
