package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
)

// TestFederationStatusAndQuery: a registry with a healthy peer and a hung one; query prints
// the results with their origin and every peer's outcome, status each peer's state, bundle,
// health and breaker; each refusal is an error.
func TestFederationStatusAndQuery(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	ctx := context.Background()
	n, err := startFedBenchNet(ctx, 2, 1, 3, func(c *config.Config) {
		c.Federation.PeerTimeout = 200 * time.Millisecond
		c.Federation.CacheTTL = -1
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.close)
	reg := []string{"--registry", n.origin.url}
	admin := append(reg, "--credential", n.origin.admin)

	out, err := run(t, ctx, append([]string{"federation", "query", "weather agent", "--limit", "5"}, reg...)...)
	if err != nil {
		t.Fatalf("query: %v\n%s", err, out)
	}
	for _, re := range []string{`(?m)^NAME\s+ID\s+ORIGIN\s+SCORE`, `(?m)^weather agent 0 of p1\.bench\s+agt_\S+\s+p1\.bench\s+\d+`,
		`(?m)^PEER\s+STATUS\s+RESULTS\s+LATENCY\s+REASON\s+VIA`, `(?m)^p1\.bench\s+answered\s+1\s+\d+ms`, `(?m)^p2\.bench\s+timed_out\s+0\s+\d+ms\s+no answer within 200ms`,
		`(?m)^origin\.bench\s+skipped\s+0\s+0ms\s+in_origins\s+p1\.bench`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("query output lacks %s:\n%s", re, out)
		}
	}
	out, err = run(t, ctx, append([]string{"federation", "query", "weather", "--tag", "weather", "--json"}, reg...)...)
	if err != nil || !strings.Contains(out, `"origin_registry": "p1.bench"`) || !strings.Contains(out, `"status": "timed_out"`) {
		t.Fatalf("query --json = %q, %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"federation", "query", "nothing-matches-this"}, reg...)...); err != nil || !strings.Contains(out, "no agent cards match") {
		t.Fatalf("query without results = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"federation", "query", "weather", "--limit", "0"}, reg...)...); err == nil {
		t.Fatal("query --limit 0 accepted")
	}
	if _, err := run(t, ctx, "federation", "query", "weather", "--registry", "http://127.0.0.1:1"); err == nil {
		t.Fatal("query of an unreachable registry succeeded")
	}

	// Two more queries: the hung peer failed three times, its breaker is open.
	for range 2 {
		if _, err := run(t, ctx, append([]string{"federation", "query", "weather"}, reg...)...); err != nil {
			t.Fatal(err)
		}
	}
	out, err = run(t, ctx, append([]string{"federation", "status"}, admin...)...)
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, re := range []string{`(?m)^TRUST DOMAIN\s+STATE\s+BREAKER\s+LAST SUCCESS\s+LATENCY\s+ERRORS\s+BUNDLE`,
		`(?m)^p1\.bench\s+ACTIVE\s+closed\s+\d+s ago\s+\d+ms\s+0 \(0 total\)\s+fresh, fetched \d+s ago, next in`,
		`(?m)^p2\.bench\s+ACTIVE\s+open\s+-\s+\d+ms\s+3 \(3 total\)\s+fresh, fetched`,
		`(?m)^p2\.bench: last error \d+s ago: context deadline exceeded`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("status output lacks %s:\n%s", re, out)
		}
	}
	if out, err := run(t, ctx, append([]string{"federation", "status", "--json"}, admin...)...); err != nil || !strings.Contains(out, `"breaker": "open"`) {
		t.Fatalf("status --json = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"federation", "status"}, reg...)...); err == nil || !strings.Contains(err.Error(), "no credential") {
		t.Fatalf("status without a credential: %v", err)
	}
	if _, err := run(t, ctx, append([]string{"federation", "status", "--credential", "avreg_not_a_key"}, reg...)...); err == nil {
		t.Fatal("status with a bad key succeeded")
	}
	// A registry without peers.
	p1 := n.peers[1]
	if out, err := run(t, ctx, "federation", "status", "--registry", p1.url, "--credential", p1.admin); err != nil || !strings.Contains(out, "(no peers)") {
		t.Fatalf("status without peers = %q, %v", out, err)
	}
	if out, err := run(t, ctx, "federation", "query", "weather", "--registry", p1.url); err != nil || !strings.Contains(out, "peers: none") {
		t.Fatalf("query without peers = %q, %v", out, err)
	}
}

func TestBenchFederation_PrintsTheFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three registries")
	}
	out, err := run(t, context.Background(), "bench", "federation", "--peers", "2", "--hung", "1", "--queries", "8", "--cards", "2", "--deadline", "150ms")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, re := range []string{`first queries \(before the hung peers' breakers opened\): queries=3 p50_ms=\d+\.\d p99_ms=\d+\.\d max_ms=\S+ partial=3`,
		`steady state \(breakers open\): queries=5 .* partial=5 hung_skipped=5/5`, `(?m)^p50_ms=\d+\.\d p99_ms=\d+\.\d partial=8 queries/s=\d+$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("bench output lacks %s:\n%s", re, out)
		}
	}
	if _, err := run(t, context.Background(), "bench", "federation", "--peers", "1", "--hung", "2"); err == nil {
		t.Fatal("--hung > --peers accepted")
	}
}
