// Package tracing carries OpenTelemetry traces through the stack: the server span of each
// request (StartServer and EndServer, which httpapi's middleware calls; NamedHandler for other
// handlers), child of the caller's when it sent a W3C traceparent; the client transport that
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
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Propagator is the trace-context format on the wire: W3C traceparent/tracestate and baggage.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// tracer makes the spans of this package: the global provider's, looked up again only when the
// global provider changes.
func tracer() trace.Tracer {
	p := otel.GetTracerProvider()
	if c := current.Load(); c != nil && c.provider == p {
		return c.tracer
	}
	t := p.Tracer(ScopeName)
	current.Store(&providerTracer{provider: p, tracer: t})
	return t
}

type providerTracer struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
}

var current atomic.Pointer[providerTracer]

// ScopeName is the instrumentation scope of the stack's own spans.
const ScopeName = "github.com/sovereign-stack/sovereign/tracing"

// StartServer starts the server span of r, named "METHOD route", child of the caller's span
// when r carries a traceparent, and returns the request's context holding it. The caller ends
// it with EndServer once the response is written. Without a tracer provider that records, it
// costs a header look-up and a context.
func StartServer(r *http.Request, route string) (context.Context, trace.Span) {
	ctx := r.Context()
	if len(r.Header["Traceparent"]) > 0 || len(r.Header["Baggage"]) > 0 {
		ctx = Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	ctx, span := tracer().Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
	if span.IsRecording() {
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("http.route", route),
			attribute.String("url.path", r.URL.Path))
	}
	return ctx, span
}

// EndServer ends a span StartServer started, with the response's status (5xx marks it an error)
// and the request id.
func EndServer(span trace.Span, status int, requestID string) {
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("http.response.status_code", status), attribute.String("request.id", requestID))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
	span.End()
}

// NamedHandler wraps h with a server span per request named name (an A2A binding, say),
// child of the caller's span when the request carries a traceparent.
func NamedHandler(h http.Handler, name string) http.Handler {
	return otelhttp.NewHandler(h, name, otelhttp.WithPropagators(Propagator),
		otelhttp.WithSpanNameFormatter(func(string, *http.Request) string { return name }))
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
