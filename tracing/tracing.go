// Package tracing carries OpenTelemetry traces through the stack: the middleware that starts a
// server span for each request (honouring an incoming W3C traceparent), the client transport that
// starts a client span and sends traceparent on every outgoing call, and the slog handler that
// writes the trace and span ids into each log line made in a traced context.
//
// It uses the OpenTelemetry API only: which spans are recorded and where they go is the tracer
// provider's business (tracing/provider installs one; without it nothing is recorded and trace
// context still passes through). The propagation format is fixed to W3C Trace Context and
// Baggage, whatever the global propagator is.
package tracing

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Propagator is the trace-context format on the wire: W3C traceparent/tracestate and baggage.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Handler wraps h with a server span per request, named by the method until the router names
// the route (Annotate), child of the caller's span when the request carries a traceparent.
// Requests skip(r) reports (health checks, scrapes) get no span of their own; nil skips none.
func Handler(h http.Handler, skip func(*http.Request) bool) http.Handler {
	opts := []otelhttp.Option{otelhttp.WithPropagators(Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method })}
	if skip != nil {
		opts = append(opts, otelhttp.WithFilter(func(r *http.Request) bool { return !skip(r) }))
	}
	return otelhttp.NewHandler(h, "http.server", opts...)
}

// NamedHandler wraps h with a server span per request named name (an A2A binding, say),
// child of the caller's span when the request carries a traceparent.
func NamedHandler(h http.Handler, name string) http.Handler {
	return otelhttp.NewHandler(h, name, otelhttp.WithPropagators(Propagator))
}

// Annotate names the server span of ctx "METHOD route" once the router knows the route, and
// records the request id on it.
func Annotate(ctx context.Context, method, route, requestID string) {
	if s := trace.SpanFromContext(ctx); s.IsRecording() {
		s.SetName(method + " " + route)
		s.SetAttributes(attribute.String("http.route", route), attribute.String("request.id", requestID))
	}
}

// Transport wraps rt (http.DefaultTransport when nil) so that each request is a client span,
// child of the span in the request's context, and carries its traceparent.
func Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return otelhttp.NewTransport(rt, otelhttp.WithPropagators(Propagator))
}

// Client is a new http.Client over Transport(nil) with timeout (0: none).
func Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: Transport(nil), Timeout: timeout}
}

// IDs returns the trace and span ids of the span in ctx, or "" and "" when ctx holds none.
func IDs(ctx context.Context) (traceID, spanID string) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return "", ""
	}
	return sc.TraceID().String(), sc.SpanID().String()
}

// LogHandler wraps h so that each record logged with a context holding a span carries its ids
// as trace_id and span_id. Wrapping a LogHandler again returns it as it is.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(logHandler); ok {
		return h
	}
	return logHandler{h}
}

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
