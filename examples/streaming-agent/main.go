// Command streaming-agent is an example A2A agent built on the Sovereign SDK (package a2a): it
// streams the words of each message back as an upper-case story, one artifact chunk per word.
//
//	go run ./examples/streaming-agent -addr 127.0.0.1:9101
//	sovereign run --agent http://127.0.0.1:9101 --input "once upon a time" --stream
//
// It serves its card at /.well-known/agent-card.json, JSON-RPC at /rpc and HTTP+JSON at /rest
// (a2a.NewHTTPHandler, from the card's interfaces); with -grpc-addr it also serves the gRPC
// binding there (a2a.NewGRPCServer) and lists it first in the card, so that clients prefer it.
//
// It runs on agentvault.Agent. With -registered (implied by -paid) it acts as a registered agent —
// -agent ID (default: the last one registered) from the credentials file of 'sovereign agent
// register' — and sends heartbeats to -registry, so that discovery keeps listing it as active
// (the registry marks an agent silent for three heartbeat intervals inactive):
//
//	go run ./examples/streaming-agent -write-card card.json
//	sovereign agent register --card card.json
//	go run ./examples/streaming-agent -registered
//
// With -paid PRICE its story skill costs PRICE AVT (a2a.Payments over an a2a.TEGLedger): it acts
// as a registered agent — -agent ID (default: the last one registered) from the credentials file
// of 'sovereign agent register' (-agent-credentials, default SOVEREIGN_CREDENTIALS; its client secret from
// the agentvault key store, AGENTVAULT_KEYS_FILE) on -registry —
// advertises the price with the pricing extension, asks callers for a JWT-SVID (verified against
// the registry's trust bundle), and posts each task's hold when the story is told:
//
//	go run ./examples/streaming-agent -write-card card.json
//	sovereign agent register --card card.json
//	go run ./examples/streaming-agent -paid 1.5
//	sovereign run --agent http://127.0.0.1:9101 --input "once upon a time" --pay 1.5 --as <payer>
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/examples/streaming-agent/streamer"
)

// agentConfig names the registered agent the example acts as (with -registered or -paid).
type agentConfig struct {
	registry        string
	credentialsFile string
	agentID         string
}

// paidConfig is what -paid needs: the price, on top of the registered agent.
type paidConfig struct {
	agentConfig
	price avt.Amount
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9101", "listen address")
	grpcAddr := flag.String("grpc-addr", "", "also serve the gRPC binding on this address (listed first in the card)")
	delay := flag.Duration("delay", 150*time.Millisecond, "pause between two streamed words")
	writeCard := flag.String("write-card", "", "write the agent's card (for -addr) to this file and exit")
	registered := flag.Bool("registered", false, "act as the registered agent (-agent) and heartbeat to -registry, so that discovery keeps it active")
	paid := flag.String("paid", "", "charge this many AVT per story (implies -registered)")
	registry := flag.String("registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "with -registered or -paid, the registry and TEG (env SOVEREIGN_REGISTRY)")
	creds := flag.String("agent-credentials", os.Getenv("SOVEREIGN_CREDENTIALS"), "with -registered or -paid, the credentials file of 'sovereign agent register' (default SOVEREIGN_CREDENTIALS, then ~/.config/sovereign/credentials.json)")
	agentID := flag.String("agent", "", "with -registered or -paid, the registered agent to act as (default: the last registered)")
	flag.Parse()
	if *writeCard != "" {
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(withGRPC(streamer.Card("http://"+*addr), *grpcAddr))
		if err == nil {
			err = os.WriteFile(*writeCard, append(b, '\n'), 0o644)
		}
		if err != nil {
			log.Fatal(err)
		}
		return
	}
	var ac *agentConfig
	if *registered || *paid != "" {
		ac = &agentConfig{registry: strings.TrimRight(*registry, "/"), credentialsFile: *creds, agentID: *agentID}
	}
	var pc *paidConfig
	if *paid != "" {
		price, err := avt.Parse(*paid)
		if err != nil || price.IsZero() {
			log.Fatalf("-paid %q: not a positive AVT amount", *paid)
		}
		pc = &paidConfig{agentConfig: *ac, price: price}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *addr, *grpcAddr, streamer.Executor{Delay: *delay}, ac, pc); err != nil {
		log.Fatal(err)
	}
}

// withGRPC lists a gRPC interface at addr first in card (when addr is set).
func withGRPC(card *a2apb.AgentCard, addr string) *a2apb.AgentCard {
	if addr != "" {
		card.SupportedInterfaces = append([]*a2apb.AgentInterface{
			{Url: "grpc://" + addr, ProtocolBinding: a2a.BindingGRPC, ProtocolVersion: a2a.ProtocolVersion},
		}, card.SupportedInterfaces...)
	}
	return card
}

// serve runs the agent on agentvault.Agent until ctx ends: as the registered agent of ac
// (heartbeating to its registry) when ac is set, paid as pc says when pc is set.
func serve(ctx context.Context, addr, grpcAddr string, ex a2a.Executor, ac *agentConfig, pc *paidConfig) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var gln net.Listener
	if grpcAddr != "" {
		if gln, err = net.Listen("tcp", grpcAddr); err != nil {
			_ = ln.Close()
			return err
		}
		grpcAddr = gln.Addr().String()
	}
	closeAll := func() {
		_ = ln.Close()
		if gln != nil {
			_ = gln.Close()
		}
	}
	base := "http://" + ln.Addr().String()
	cfg := a2a.ServerConfig{Executor: ex, Card: withGRPC(streamer.Card(base), grpcAddr)}
	agent := &agentvault.Agent{Listener: ln, GRPCListener: gln, ShutdownTimeout: 5 * time.Second}
	if ac != nil {
		if err := ac.apply(agent); err != nil {
			closeAll()
			return err
		}
	}
	if pc != nil {
		if agent.Auth, err = pc.apply(&cfg, agent.Identity); err != nil {
			closeAll()
			return err
		}
	}
	agent.Executor, agent.Card, agent.Store = cfg.Executor, cfg.Card, cfg.Store
	if gln != nil {
		log.Printf("streaming agent: gRPC on %s", grpcAddr)
	}
	log.Printf("streaming agent: card at %s%s", base, a2a.WellKnownCardPath)
	return agent.Run(ctx)
}

// apply makes agent act as the registered agent of ac: its identity and client credentials from
// the agentvault key store (AGENTVAULT_KEYS_FILE), heartbeats to ac.registry.
func (ac *agentConfig) apply(agent *agentvault.Agent) error {
	id := ac.agentID
	if id == "" {
		var err error
		if id, err = ac.currentAgent(); err != nil {
			return err
		}
	}
	keys, err := agentvault.DefaultKeyStore(false)
	if err != nil {
		return fmt.Errorf("the key store: %w", err)
	}
	ident, err := agentvault.LoadIdentity(context.Background(), keys, id)
	if err != nil {
		return fmt.Errorf("agent %s: %w (register it with 'sovereign agent register')", id, err)
	}
	agent.Identity, agent.Keys, agent.RegistryURL = ident, keys, ac.registry
	log.Printf("streaming agent: acting as %s, heartbeating to %s", id, ac.registry)
	return nil
}

// currentAgent is the agent of ac.registry registered last, from the credentials file of
// 'sovereign agent register'.
func (ac *agentConfig) currentAgent() (string, error) {
	path := ac.credentialsFile
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no credentials file (set -agent-credentials or -agent): %w", err)
		}
		path = filepath.Join(dir, "sovereign", "credentials.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("the registered agent: %w (register one with 'sovereign agent register', or set -agent)", err)
	}
	var file struct {
		Registries map[string]struct {
			Current string `json:"current"`
		} `json:"registries"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	id := file.Registries[ac.registry].Current
	if id == "" {
		return "", fmt.Errorf("no agent of %s in %s: register one with 'sovereign agent register'", ac.registry, path)
	}
	return id, nil
}

// apply makes cfg paid: the story skill costs pc.price, paid to the wallet of the agent ident,
// and callers authenticate with a JWT-SVID. It returns the auth middleware to put before the
// bindings.
func (pc *paidConfig) apply(cfg *a2a.ServerConfig, ident *agentvault.Identity) (*a2a.Authenticator, error) {
	id := ident.ID
	sid, err := spiffeid.FromString(ident.SPIFFEID)
	if err != nil {
		return nil, fmt.Errorf("-paid: agent %s: %w", id, err)
	}
	keys, err := agentvault.DefaultKeyStore(false)
	if err != nil {
		return nil, fmt.Errorf("-paid: the key store: %w", err)
	}
	ts, err := agentvault.TokenSourceFromKeyStore(context.Background(), pc.registry, keys, id)
	if err != nil {
		return nil, fmt.Errorf("-paid: %w", err)
	}
	*cfg = a2a.Payments{
		Ledger: &a2a.TEGLedger{BaseURL: pc.registry, Account: id, Auth: ts.Apply},
		Payee:  id,
		Prices: map[string]avt.Amount{"story": pc.price},
	}.Wrap(*cfg)
	cfg.Card.SecuritySchemes = map[string]*a2apb.SecurityScheme{"svid": {Scheme: &a2apb.SecurityScheme_HttpAuthSecurityScheme{
		HttpAuthSecurityScheme: &a2apb.HTTPAuthSecurityScheme{Scheme: "Bearer", BearerFormat: "JWT-SVID",
			Description: "a JWT-SVID from " + pc.registry + agentvault.AgentTokenPath}}}}
	bundles := &a2a.HTTPBundleSource{URL: pc.registry + agentvault.BundlePath, TrustDomain: sid.TrustDomain()}
	log.Printf("streaming agent: paid mode, %s AVT per story to %s", pc.price, id)
	// Only tokens minted for this agent: a caller's TEG token must never work here.
	return &a2a.Authenticator{Card: cfg.Card, JWTBundles: bundles, Audiences: []string{sid.String()}}, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
