// Command input-agent is an example A2A agent built on the Sovereign SDK (package a2a) that asks
// for input: send a distance in kilometres, it answers INPUT_REQUIRED with "which unit?", and
// the follow-up message in the same task gets the converted distance.
//
//	go run ./examples/input-agent -addr 127.0.0.1:9102
//	sovereign run --agent http://127.0.0.1:9102 --input "42 km"
//
// It serves its card at /.well-known/agent-card.json, JSON-RPC at /rpc and HTTP+JSON at /rest,
// on agentvault.Agent. With -agent ID (an agent registered with 'sovereign agent register', its
// keys in the agentvault key store, AGENTVAULT_KEYS_FILE) it heartbeats to -registry as that
// agent, so that discovery keeps listing it as active.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/examples/input-agent/asker"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9102", "listen address")
	agentID := flag.String("agent", "", "act as this registered agent: heartbeat to -registry (keys from the agentvault key store)")
	registry := flag.String("registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "with -agent, the registry (env SOVEREIGN_REGISTRY)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if err := serve(ctx, ln, *registry, *agentID); err != nil {
		log.Fatal(err)
	}
}

// serve runs the agent on ln until ctx ends (agentvault.Agent: the card and its bindings
// through a2a.NewHTTPHandler); with agentID, as that registered agent, heartbeating to
// registry.
func serve(ctx context.Context, ln net.Listener, registry, agentID string) error {
	agent := &agentvault.Agent{Executor: asker.Executor{}, ShutdownTimeout: 5 * time.Second}
	if agentID != "" {
		keys, err := agentvault.DefaultKeyStore(false)
		if err != nil {
			return fmt.Errorf("the key store: %w", err)
		}
		ident, err := agentvault.LoadIdentity(ctx, keys, agentID)
		if err != nil {
			return fmt.Errorf("agent %s: %w (register it with 'sovereign agent register')", agentID, err)
		}
		agent.Identity, agent.Keys, agent.RegistryURL = ident, keys, registry
	}
	base := "http://" + ln.Addr().String()
	agent.Listener, agent.Card = ln, asker.Card(base)
	log.Printf("input agent: card at %s%s", base, a2a.WellKnownCardPath)
	return agent.Run(ctx)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
