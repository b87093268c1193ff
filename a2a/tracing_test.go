package a2a_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/tracing/provider"
)

// TestTracing_ClientAndServerShareTheTrace: a call of the A2A client, over both HTTP bindings,
// carries the caller's trace to the agent, whose server span is the child of the client's span.
func TestTracing_ClientAndServerShareTheTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	shutdown, err := provider.Install(context.Background(), provider.Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		shutdown(context.Background())
		otel.SetTracerProvider(noop.NewTracerProvider())
	}()
	s := a2a.NewServer(a2a.ServerConfig{Executor: callerExec{}})
	defer s.Close()
	mux := http.NewServeMux()
	mux.Handle("/rpc", a2a.NewJSONRPCHandler(s))
	mux.Handle("/rest/", http.StripPrefix("/rest", a2a.NewRESTHandler(s)))
	hs := httptest.NewServer(mux)
	defer hs.Close()

	for _, b := range []struct{ path, binding, span string }{{"/rpc", a2a.BindingJSONRPC, "a2a.jsonrpc"}, {"/rest", a2a.BindingHTTPJSON, "a2a.rest"}} {
		exp.Reset()
		ctx, root := otel.Tracer("test").Start(context.Background(), "caller")
		c, err := a2a.NewClient(hs.URL+b.path, b.binding)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: a2a.NewTextMessage(a2apb.Role_ROLE_USER, "hi")}); err != nil {
			t.Fatal(err)
		}
		root.End()
		// The server's span ends after its response is written: wait for it.
		for i := 0; i < 200 && len(exp.GetSpans()) < 3; i++ {
			time.Sleep(5 * time.Millisecond)
		}
		var client, server trace.SpanContext
		var serverParent trace.SpanID
		for _, sp := range exp.GetSpans() {
			switch {
			case sp.SpanKind == trace.SpanKindClient:
				client = sp.SpanContext
			case sp.SpanKind == trace.SpanKindServer && sp.Name == b.span:
				server, serverParent = sp.SpanContext, sp.Parent.SpanID()
			}
		}
		if !client.IsValid() || !server.IsValid() || client.TraceID() != root.SpanContext().TraceID() ||
			server.TraceID() != client.TraceID() || serverParent != client.SpanID() {
			t.Fatalf("%s: root %s, client %v, server %v (parent %s); spans %v", b.binding, root.SpanContext().TraceID(), client, server, serverParent, exp.GetSpans())
		}
	}
}
