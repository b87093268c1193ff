// Package provider installs the process's OpenTelemetry tracer provider: an OTLP/HTTP exporter
// (Jaeger, Tempo and the OpenTelemetry Collector take OTLP) when an endpoint is configured, and
// otherwise a provider that makes trace ids without recording or exporting anything.
package provider

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sovereign-stack/sovereign/buildinfo"
	"github.com/sovereign-stack/sovereign/tracing"
)

// Limits of the exporter.
const (
	// ExportTimeout bounds one export of a batch of spans.
	ExportTimeout = 10 * time.Second
	// MaxQueue bounds the spans waiting for export; past it new spans are dropped (and the
	// request goes on: tracing never slows or fails a request).
	MaxQueue = 8192
	// ShutdownTimeout bounds the flush of the spans still queued at shutdown.
	ShutdownTimeout = 5 * time.Second
)

// Config says where spans go.
type Config struct {
	// Endpoint is the OTLP/HTTP endpoint, as a URL ("http://jaeger:4318"; the path defaults
	// to /v1/traces). Empty: the standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
	// OTEL_EXPORTER_OTLP_ENDPOINT variables, and with neither set no exporter.
	Endpoint string
	// ServiceName names the process in the traces ("sovereign-registry"); OTEL_SERVICE_NAME
	// overrides it.
	ServiceName string
	// Exporter, when set, receives the spans instead of an OTLP endpoint, synchronously (tests
	// use tracetest.InMemoryExporter).
	Exporter sdktrace.SpanExporter
}

// Enabled reports whether c exports spans.
func (c Config) Enabled() bool {
	return c.Exporter != nil || c.Endpoint != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// Install makes the global tracer provider the one c describes and returns the function that
// flushes and stops it. With an exporter every trace is sampled (unless OTEL_TRACES_SAMPLER
// says otherwise; a caller's sampled flag is followed); without one, spans are not recorded
// unless the caller's traceparent says its trace is sampled, but each request still gets a
// trace id for the logs and its calls onwards.
func Install(ctx context.Context, c Config) (shutdown func(context.Context) error, err error) {
	name := c.ServiceName
	if name == "" {
		name = "sovereign"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", name), attribute.String("service.version", buildinfo.Version)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	if env := os.Getenv("OTEL_SERVICE_NAME"); env != "" {
		res, _ = resource.Merge(res, resource.NewSchemaless(attribute.String("service.name", env)))
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	switch {
	case c.Exporter != nil:
		opts = append(opts, sdktrace.WithSyncer(c.Exporter))
	case c.Enabled():
		var eo []otlptracehttp.Option
		if c.Endpoint != "" {
			eo = append(eo, otlptracehttp.WithEndpointURL(c.Endpoint))
		}
		eo = append(eo, otlptracehttp.WithTimeout(ExportTimeout))
		exp, err := otlptracehttp.New(ctx, eo...)
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(MaxQueue)))
	default:
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(tracing.Propagator)
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, ShutdownTimeout)
		defer cancel()
		return tp.Shutdown(ctx)
	}, nil
}
