package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/sovereign-stack/sovereign/tracing"
)

var sc = trace.NewSpanContext(trace.SpanContextConfig{
	TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
	SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
	TraceFlags: trace.FlagsSampled,
})

func TestTransport_SendsTheTraceparentOfTheContext(t *testing.T) {
	got := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("traceparent") }))
	defer srv.Close()
	c := tracing.Client(0)
	for _, ctx := range []context.Context{trace.ContextWithSpanContext(context.Background(), sc), context.Background()} {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if tp := <-got; !strings.HasPrefix(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-") {
		t.Fatalf("traceparent = %q", tp)
	}
	if tp := <-got; tp != "" {
		t.Fatalf("a call outside any trace sent traceparent %q", tp)
	}
}

func TestLogHandler_AddsTheIDsOfTheContextsSpan(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	log.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "traced")
	log.Info("untraced")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || first["span_id"] != "00f067aa0ba902b7" || first["component"] != "test" {
		t.Fatalf("traced line: %s", lines[0])
	}
	if _, ok := second["trace_id"]; ok {
		t.Fatalf("untraced line: %s", lines[1])
	}
	if h := tracing.LogHandler(log.Handler()); h != log.Handler() {
		t.Fatal("wrapping twice")
	}
}
