package a2a_test

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// completeEcho completes each task at once, echoing the message in the status.
type completeEcho struct{}

func (completeEcho) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, &a2apb.Message{Role: a2apb.Role_ROLE_AGENT, Parts: rc.Message.GetParts()})
}

func (completeEcho) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

// serveLoopback serves a Server over both bindings on a real loopback listener (not httptest)
// and returns its base URL.
func serveLoopback(b *testing.B, ex a2a.Executor) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	s := a2a.NewServer(a2a.ServerConfig{Executor: ex, Logger: quiet})
	mux := http.NewServeMux()
	mux.Handle("/rpc", a2a.NewJSONRPCHandler(s, a2a.WithLogger(quiet)))
	mux.Handle("/rest/", http.StripPrefix("/rest", a2a.NewRESTHandler(s, a2a.WithLogger(quiet))))
	hs := &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = hs.Serve(ln) }()
	b.Cleanup(func() { _ = hs.Close(); _ = s.Close() })
	return "http://" + ln.Addr().String()
}

// BenchmarkSendMessage is one SendMessage round trip through a2a.Client, the binding and the
// Server with an executor that completes at once, over loopback HTTP/1.1 with keep-alive.
// Profile with: go test -run '^$' -bench SendMessage -cpuprofile cpu.out ./a2a/
func BenchmarkSendMessage(b *testing.B) {
	for _, bc := range []struct{ name, path, binding string }{
		{"jsonrpc", "/rpc", a2a.BindingJSONRPC},
		{"rest", "/rest", a2a.BindingHTTPJSON},
	} {
		b.Run(bc.name, func(b *testing.B) {
			base := serveLoopback(b, completeEcho{})
			tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
			b.Cleanup(tr.CloseIdleConnections)
			c, err := a2a.NewClient(base+bc.path, bc.binding, a2a.WithHTTPClient(&http.Client{Transport: tr}))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(4) // 4 × GOMAXPROCS clients
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := &a2apb.SendMessageRequest{Message: a2a.NewTextMessage(a2apb.Role_ROLE_USER, "ping")}
					res, err := c.SendMessage(ctx, req)
					if err != nil {
						b.Error(err)
						return
					}
					if res.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED {
						b.Errorf("task = %v", res.GetTask())
						return
					}
				}
			})
		})
	}
}
