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
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/server"
)

// benchLedgerHTTP drives single transfers through the HTTP API of an in-process server on a
// real loopback listener: agents authenticate with JWT-SVIDs, each request is one transfer.
func benchLedgerHTTP(ctx context.Context, out io.Writer, dsn string, o benchLedgerOptions) error {
	accounts, transfers, clients, hot := o.accounts, o.transfers, o.clients, o.hot
	dir, err := os.MkdirTemp("", "sovereign-bench-http-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Data = dir
	cfg.Store = dsn
	cfg.RateLimits.DefaultPerMinute, cfg.RateLimits.DefaultBurst = 1<<30, 1<<30
	if err := cfg.Finish(); err != nil {
		return err
	}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	// Tracing as `up` sets it up: exporting when OTEL_EXPORTER_OTLP_ENDPOINT is set, otherwise
	// trace ids only.
	stopTracing, err := installTracing(ctx, cfg, "sovereign-bench", quiet)
	if err != nil {
		return err
	}
	defer stopTracing()
	srv, err := server.New(ctx, server.Options{Config: cfg, Logger: quiet})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go srv.Serve(sctx, ln)
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2}}
	key, err := os.ReadFile(filepath.Join(dir, server.AdminKeyFile))
	if err != nil {
		return err
	}
	admin := "Bearer " + string(bytes.TrimSpace(key))
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	post := func(path, auth string, body any, idemKey string) (int, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, "POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		if idemKey != "" {
			req.Header.Set("Idempotency-Key", idemKey)
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, nil
	}
	if code, err := post("/api/v1/token/mint", admin, map[string]string{"amount": fmt.Sprint(accounts * 1_000_000)}, ""); err != nil || code != 201 {
		return fmt.Errorf("mint: %d %v", code, err)
	}
	iss := srv.Issuer()
	aud, _ := identity.TEGID(iss.TrustDomain())
	tokens := make([]string, accounts)
	names := make([]string, accounts)
	for i := range names {
		names[i] = fmt.Sprintf("agt_http_%d", i)
		if code, err := post("/api/v1/admin/teg/accounts", admin, map[string]string{"agent_id": names[i]}, ""); err != nil || code != 201 {
			return fmt.Errorf("open account: %d %v", code, err)
		}
		if code, err := post("/api/v1/token/grant", admin, map[string]string{"to": names[i], "amount": "1000000"}, ""); err != nil || code != 201 {
			return fmt.Errorf("grant: %d %v", code, err)
		}
		id, _ := identity.AgentID(iss.TrustDomain(), names[i])
		tok, err := iss.MintJWTSVID(ctx, id, []string{aud.String()}, time.Hour)
		if err != nil {
			return err
		}
		tokens[i] = "Bearer " + tok
	}
	n := len(names)
	if hot > 0 && hot < n {
		n = hot
	}
	fmt.Fprintf(out, "HTTP %s, %d accounts (%d in play), %d single transfers, %d clients\n", base, accounts, n, transfers, clients)
	var next, failed atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := next.Add(1) - 1
				if k >= int64(transfers) {
					return
				}
				from := int(k*7919) % n
				to := int(k*104729+1) % n
				if to == from {
					to = (to + 1) % n
				}
				t0 := time.Now()
				// Without --random-ids the server names each transfer (ids in time order); with
				// it, each request carries a random Idempotency-Key, as clients that retry do.
				key := ""
				if o.randomIDs {
					key = benchTransferID(run, k, true)
				}
				code, err := post("/api/v1/token/transfer", tokens[from], map[string]string{"to": names[to], "amount": "1.5"}, key)
				d := time.Since(t0)
				if err != nil || code != 201 {
					failed.Add(1)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProfile()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(quantile(lat, p).Microseconds()) / 1000 }
	rep, verr := srv.Ledger().Verify(ctx)
	if verr == nil {
		fmt.Fprintf(out, "verified %d events, supply %s\n", rep.Events, rep.Supply)
	}
	fmt.Fprintf(out, "transfers/s=%.0f p50_ms=%.2f p99_ms=%.2f failed=%d verified=%v\n",
		float64(int64(transfers)-failed.Load())/elapsed.Seconds(), pct(0.5), pct(0.99), failed.Load(), verr == nil)
	if verr != nil {
		return fmt.Errorf("bench ledger --http: verify: %w", verr)
	}
	if failed.Load() > 0 {
		return fmt.Errorf("bench ledger --http: %d transfers failed", failed.Load())
	}
	return nil
}
