package provider_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

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
