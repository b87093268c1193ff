// Command input-agent is an example A2A agent built on the Sovereign SDK (package a2a) that asks
// for input: send a distance in kilometres, it answers INPUT_REQUIRED with "which unit?", and
// the follow-up message in the same task gets the converted distance.
//
//	go run ./examples/input-agent -addr 127.0.0.1:9102
//	sovereign run --agent http://127.0.0.1:9102 --input "42 km"
//
// It serves its card at /.well-known/agent-card.json, JSON-RPC at /rpc and HTTP+JSON at /rest.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/examples/input-agent/asker"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9102", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *addr); err != nil {
		log.Fatal(err)
	}
}

func serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	card := asker.Card(base)
	s := a2a.NewServer(a2a.ServerConfig{Executor: asker.Executor{}, Card: card})
	defer s.Close()
	mux := http.NewServeMux()
	mux.Handle("/rpc", a2a.NewJSONRPCHandler(s))
	mux.Handle("/rest/", http.StripPrefix("/rest", a2a.NewRESTHandler(s)))
	mux.Handle("/.well-known/", a2a.CardHandler(card))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	log.Printf("input agent: card at %s%s", base, a2a.WellKnownCardPath)
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
