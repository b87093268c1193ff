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
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
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

// paidConfig is what -paid needs: the price and the registered agent to act as.
type paidConfig struct {
	price           avt.Amount
	registry        string
	credentialsFile string
	agentID         string
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9101", "listen address")
	grpcAddr := flag.String("grpc-addr", "", "also serve the gRPC binding on this address (listed first in the card)")
	delay := flag.Duration("delay", 150*time.Millisecond, "pause between two streamed words")
	writeCard := flag.String("write-card", "", "write the agent's card (for -addr) to this file and exit")
	paid := flag.String("paid", "", "charge this many AVT per story (needs a registered agent: -registry, -agent-credentials, -agent)")
	registry := flag.String("registry", envOr("SOVEREIGN_REGISTRY", "http://127.0.0.1:8420"), "with -paid, the registry and TEG (env SOVEREIGN_REGISTRY)")
	creds := flag.String("agent-credentials", os.Getenv("SOVEREIGN_CREDENTIALS"), "with -paid, the credentials file of 'sovereign agent register' (default SOVEREIGN_CREDENTIALS, then ~/.config/sovereign/credentials.json)")
	agentID := flag.String("agent", "", "with -paid, the registered agent to act as (default: the last registered)")
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
	var pc *paidConfig
	if *paid != "" {
		price, err := avt.Parse(*paid)
		if err != nil || price.IsZero() {
			log.Fatalf("-paid %q: not a positive AVT amount", *paid)
		}
		pc = &paidConfig{price: price, registry: strings.TrimRight(*registry, "/"), credentialsFile: *creds, agentID: *agentID}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *addr, *grpcAddr, streamer.Executor{Delay: *delay}, pc); err != nil {
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

func serve(ctx context.Context, addr, grpcAddr string, ex a2a.Executor, pc *paidConfig) error {
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
	base := "http://" + ln.Addr().String()
	cfg := a2a.ServerConfig{Executor: ex, Card: withGRPC(streamer.Card(base), grpcAddr)}
	var auth *a2a.Authenticator
	if pc != nil {
		if auth, err = pc.apply(&cfg); err != nil {
			_ = ln.Close()
			return err
		}
	}
	s := a2a.NewServer(cfg)
	defer s.Close()
	var mopts []a2a.MountOption
	if auth != nil {
		mopts = append(mopts, a2a.WithAuthenticator(auth))
	}
	h, err := a2a.NewHTTPHandler(s, cfg.Card, mopts...)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if gln != nil {
		gs := a2a.NewGRPCServer(s, auth, nil)
		go func() { _ = gs.Serve(gln) }()
		defer gs.Stop()
		log.Printf("streaming agent: gRPC on %s", grpcAddr)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	log.Printf("streaming agent: card at %s%s", base, a2a.WellKnownCardPath)
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// storedAgent is the part of the credentials file of 'sovereign agent register' the example
// reads; the agent's client secret is in the agentvault key store (AGENTVAULT_KEYS_FILE).
type storedAgent struct {
	SPIFFEID string `json:"spiffe_id"`
}

// apply makes cfg paid: the story skill costs pc.price, paid to the stored agent's wallet, and
// callers authenticate with a JWT-SVID. It returns the auth middleware to put before the
// bindings.
func (pc *paidConfig) apply(cfg *a2a.ServerConfig) (*a2a.Authenticator, error) {
	path := pc.credentialsFile
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("-paid: no credentials file (set -agent-credentials): %w", err)
		}
		path = filepath.Join(dir, "sovereign", "credentials.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-paid: %w", err)
	}
	var file struct {
		Registries map[string]struct {
			Agents  map[string]storedAgent `json:"agents"`
			Current string                 `json:"current"`
		} `json:"registries"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("-paid: %s: %w", path, err)
	}
	reg := file.Registries[pc.registry]
	id := pc.agentID
	if id == "" {
		id = reg.Current
	}
	a, ok := reg.Agents[id]
	if !ok {
		return nil, fmt.Errorf("-paid: no agent %q of %s in %s: register one with 'sovereign agent register'", id, pc.registry, path)
	}
	sid, err := spiffeid.FromString(a.SPIFFEID)
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
