package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/examples/streaming-agent/streamer"
	"github.com/sovereign-stack/sovereign/server"
)

// TestServe_RegisteredAgentHeartbeats runs the example as a registered agent (-registered -agent
// ID) against a real embedded registry and sees its heartbeats there.
func TestServe_RegisteredAgentHeartbeats(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys.json")
	t.Setenv("AGENTVAULT_KEYS_FILE", keys)
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.PublicURL = "http://registry.test"
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Config: cfg, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		PasswordParams: credential.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); _ = srv.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	card, err := protojson.Marshal(streamer.Card("http://127.0.0.1:9101"))
	if err != nil {
		t.Fatal(err)
	}
	admin := agentvault.NewRegistry(hs.URL, agentvault.BearerToken(srv.AdminKey))
	reg, err := admin.Register(ctx, card, agentvault.RegisterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Save(ctx, agentvault.NewFileStore(keys)); err != nil {
		t.Fatal(err)
	}
	id := reg.Identity.ID
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, "127.0.0.1:0", "", streamer.Executor{}, &agentConfig{registry: hs.URL, agentID: id}, nil)
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := admin.GetCard(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.LastHeartbeatAt != nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no heartbeat from the example (serve: %v)", <-done)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// An agent the key store does not hold is refused with the next step.
	if err := serve(context.Background(), "127.0.0.1:0", "", streamer.Executor{}, &agentConfig{registry: hs.URL, agentID: "agt_unknown"}, nil); err == nil {
		t.Fatal("served as an unknown agent")
	}
}
