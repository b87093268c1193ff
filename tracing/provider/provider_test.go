package provider_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sovereign-stack/sovereign/tracing"
	"github.com/sovereign-stack/sovereign/tracing/provider"
)

func TestInstall_WithoutAnEndpointMakesIDsButRecordsOnlyTracesSampledUpstream(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	if (provider.Config{}).Enabled() {
		t.Fatal("enabled without an endpoint")
	}
	shutdown, err := provider.Install(context.Background(), provider.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		shutdown(context.Background())
		otel.SetTracerProvider(noop.NewTracerProvider())
	}()
	tr := otel.Tracer("test")
	_, s := tr.Start(context.Background(), "root")
	if !s.SpanContext().IsValid() || s.IsRecording() {
		t.Fatalf("root span: valid %v, recording %v; want a trace id and no recording", s.SpanContext().IsValid(), s.IsRecording())
	}
	s.End()
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true})
	_, s = tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), parent), "child")
	if s.SpanContext().TraceID() != parent.TraceID() || !s.IsRecording() {
		t.Fatal("a caller's sampled trace is not followed")
	}
	s.End()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	if !(provider.Config{}).Enabled() || !(provider.Config{Endpoint: "http://jaeger:4318"}).Enabled() {
		t.Fatal("an endpoint does not enable export")
	}
}

// BenchmarkServerSpan is the tracing cost of one request's server span: with no provider
// installed, with the provider installed without an endpoint (what `up` runs by default), and
// exporting every span (to an exporter that drops them, synchronously).
func BenchmarkServerSpan(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  *provider.Config
	}{{"none", nil}, {"no_endpoint", &provider.Config{}}, {"exporting", &provider.Config{Exporter: tracetest.NewNoopExporter()}}} {
		b.Run(c.name, func(b *testing.B) {
			if c.cfg != nil {
				b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
				shutdown, err := provider.Install(context.Background(), *c.cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer shutdown(context.Background())
			}
			defer otel.SetTracerProvider(noop.NewTracerProvider())
			r := httptest.NewRequest("GET", "/api/v1/agents/agt_1", nil)
			b.ReportAllocs()
			for b.Loop() {
				_, span := tracing.StartServer(r, "/api/v1/agents/{id}")
				tracing.EndServer(span, 200, "req_1")
			}
		})
	}
}
