package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store"
)

// runFederationSyncBench runs the cold-sync measure of `bench federation --sync` with nCards
// cards on the origin (prof: profiles of the timed phase), printing its progress and, last,
// cards/s=… cards=… seconds=….
func runFederationSyncBench(cmd *cobra.Command, nCards int, prof benchProfiles) error {
	if nCards < 1 {
		return fmt.Errorf("bench federation --sync: need --cards ≥ 1")
	}
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	dir, err := os.MkdirTemp("", "sovereign-bench-fedsync-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dsnA := "sqlite://" + filepath.Join(dir, "a", "registry.db")
	if err := os.MkdirAll(filepath.Join(dir, "a"), 0o700); err != nil {
		return err
	}
	t0 := time.Now()
	if err := seedOrigin(ctx, dsnA, nCards); err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded the origin with %d cards in %.1fs\n", nCards, time.Since(t0).Seconds())
	a, err := startBenchRegistry(ctx, "a.bench", filepath.Join(dir, "a"), dsnA)
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := startBenchRegistry(ctx, "b.bench", filepath.Join(dir, "b"), "")
	if err != nil {
		return err
	}
	defer b.stop()
	for !a.srv.Cards().IndexReady() { // the origin's own start-up is not timed
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	idB, err := a.propose(ctx, b)
	if err != nil {
		return err
	}
	if err := a.decide(ctx, idB, "approve"); err != nil {
		return err
	}
	idA, err := b.propose(ctx, a)
	if err != nil {
		return err
	}
	stopProf, err := prof.start()
	if err != nil {
		return err
	}
	defer stopProf()
	start := time.Now()
	if err := b.decide(ctx, idA, "approve"); err != nil {
		return err
	}
	syncer := b.srv.FederationSyncer()
	for {
		h := syncer.Health("a.bench")
		if h.Applied+h.Stale+h.Rejected >= int64(nCards) {
			if h.Rejected > 0 {
				return fmt.Errorf("bench federation --sync: %d cards rejected: %s", h.Rejected, h.LastError)
			}
			break
		}
		if time.Since(start) > 10*time.Minute {
			return fmt.Errorf("bench federation --sync: %d of %d cards after 10 minutes (last error: %s)", h.Applied, nCards, h.LastError)
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
	el := time.Since(start)
	stopProf()
	fmt.Fprintf(out, "cards/s=%.0f cards=%d seconds=%.2f\n", float64(nCards)/el.Seconds(), nCards, el.Seconds())
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// seedOrigin stores n synthetic cards in the store at dsn.
func seedOrigin(ctx context.Context, dsn string, n int) error {
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	st := registrysql.NewCards(db)
	svc := registry.NewCards(registry.CardsConfig{Store: st, Authz: policy.New(), Host: "a.bench", NoIndex: true})
	return seedCards(ctx, db, st, svc, 0, n)
}

// benchRegistry is a registry of the bench on loopback: its public and federation listeners.
type benchRegistry struct {
	td, pub, fed, admin string
	srv                 *server.Server
	stop                func()
}

func startBenchRegistry(ctx context.Context, td, dir, dsn string) (*benchRegistry, error) {
	cfg := config.Default()
	cfg.Data, cfg.TrustDomain = dir, td
	if dsn != "" {
		cfg.Store = dsn
	}
	cfg.Federation.SyncInterval = time.Hour // the approval starts the pull; nothing else should
	cfg.RateLimits.DefaultPerMinute, cfg.RateLimits.DefaultBurst = 1<<30, 1<<30
	if err := cfg.Finish(); err != nil {
		return nil, err
	}
	srv, err := server.New(ctx, server.Options{Config: cfg, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	fed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pub.Close()
		srv.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { _ = srv.Serve(sctx, pub); done <- struct{}{} }()
	go func() { _ = srv.ServeFederation(sctx, fed); done <- struct{}{} }()
	key, err := os.ReadFile(filepath.Join(dir, server.AdminKeyFile))
	r := &benchRegistry{td: td, pub: "http://" + pub.Addr().String(), fed: "https://" + fed.Addr().String(), srv: srv,
		admin: string(bytes.TrimSpace(key)), stop: func() { cancel(); <-done; <-done; srv.Close() }}
	if err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

// propose proposes other as a peer of r (by r's admin) and returns the peer's id.
func (r *benchRegistry) propose(ctx context.Context, other *benchRegistry) (string, error) {
	var p struct {
		ID string `json:"id"`
	}
	err := r.post(ctx, "/api/v1/federation/peers", map[string]string{"name": other.td, "trust_domain": other.td,
		"base_url": other.fed, "bundle_endpoint": other.pub + "/.well-known/spiffe-bundle"}, &p)
	return p.ID, err
}

// decide applies an admin action to r's peer id.
func (r *benchRegistry) decide(ctx context.Context, id, action string) error {
	return r.post(ctx, "/api/v1/federation/peers/"+id+"/"+action, map[string]string{}, nil)
}

func (r *benchRegistry) post(ctx context.Context, path string, body, into any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.pub+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s on %s: %d %s", path, r.td, res.StatusCode, raw)
	}
	if into != nil {
		return json.Unmarshal(raw, into)
	}
	return nil
}
