package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/server"
)

// fedBenchFlags are the flags of `bench federation`, gathered so that another mode adds its
// own beside them.
type fedBenchFlags struct {
	peers, hung, queries, cards, concurrency int
	deadline                                 time.Duration
	cache                                    bool
	prof                                     benchProfiles
	// sync measures a cold sync of --cards cards between two registries instead of queries.
	sync bool
}

func newBenchFederation() *cobra.Command {
	f := &fedBenchFlags{}
	c := &cobra.Command{
		Use:   "federation",
		Short: "Start registries on loopback, peer them, and measure federated queries",
		Long: `bench federation starts, in this process and on loopback, one registry that is asked and
--peers registries it federates with (each its own trust domain, builtin CA, SQLite database,
public listener and mutual-TLS federation listener; peering approved on both sides, bundles
fetched), publishes --cards cards on each peer, then runs --queries federated searches
(GET /api/v1/agent-cards?…&include_federated=true, with --concurrency at once) against the
first. --hung of the peers hang: their federation listener accepts connections and never
answers, so each query waits for them until the per-peer --deadline, until their circuit
breakers open (after 3 failures) and they are skipped. The cache of federated answers is off
unless --cache (the bench measures the live fan-out).

It prints the first queries (those before every hung peer's breaker opened) and the steady
state (after) on their own lines, then, last:
p50_ms=… p99_ms=… partial=… queries/s=…
(partial: answers in which some peer timed out, failed or was skipped).

bench federation --sync --cards N (default 20000) measures a cold sync instead: two
registries on loopback, the origin seeded with N synthetic cards before it starts; the clock
runs from the moment the second registry approves the origin until it holds a copy of every card
(the whole change feed, page by page, over mutual TLS, each card validated and indexed). It
prints, last: cards/s=… cards=… seconds=…`,
		Example: `  sovereign bench federation --peers 10 --hung 1 --queries 500
  sovereign bench federation --peers 10 --queries 500
  sovereign bench federation --sync --cards 20000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.sync {
				if !cmd.Flags().Changed("cards") {
					f.cards = 20000
				}
				return runFederationSyncBench(cmd, f.cards, f.prof)
			}
			if f.peers < 1 || f.hung < 0 || f.hung > f.peers || f.queries < 1 || f.cards < 1 || f.concurrency < 1 || f.deadline <= 0 {
				return fmt.Errorf("bench federation: need --peers ≥ 1, 0 ≤ --hung ≤ --peers, --queries ≥ 1, --cards ≥ 1, --concurrency ≥ 1, --deadline > 0")
			}
			return benchFederation(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	fl := c.Flags()
	fl.IntVar(&f.peers, "peers", 10, "peer registries to start")
	fl.IntVar(&f.hung, "hung", 0, "how many of the peers hang (accept, never answer)")
	fl.IntVar(&f.queries, "queries", 300, "federated searches to run")
	fl.IntVar(&f.cards, "cards", 20, "cards published on each peer (--sync: on the origin, default 20000)")
	fl.BoolVar(&f.sync, "sync", false, "measure a cold sync of --cards cards between two registries instead of queries")
	fl.IntVar(&f.concurrency, "concurrency", 1, "searches at once")
	fl.DurationVar(&f.deadline, "deadline", federation.DefaultDeadline, "per-peer deadline of the live query")
	fl.BoolVar(&f.cache, "cache", false, "turn the cache of federated answers on")
	fl.StringVar(&f.prof.cpu, "cpuprofile", "", "write a CPU profile of the query phase to this file")
	fl.StringVar(&f.prof.trace, "trace", "", "write an execution trace of the query phase to this file")
	return c
}

// fedRegistry is a registry started in this process on loopback, with its federation listener.
type fedRegistry struct {
	td     string
	srv    *server.Server
	url    string // the public listener
	fedURL string // the federation listener (mutual TLS)
	admin  string // the admin API key
	stop   func()
}

// startFedRegistry starts a registry of trust domain td with its data in dir. With hang, its
// federation listener accepts connections and never answers.
func startFedRegistry(ctx context.Context, td, dir string, hang bool, mut func(*config.Config)) (*fedRegistry, error) {
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	fedLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pub.Close()
		return nil, err
	}
	cfg := config.Default()
	cfg.Data, cfg.TrustDomain, cfg.PublicURL = dir, td, "http://"+pub.Addr().String()
	cfg.LogLevel = "error"
	cfg.RateLimits.DefaultPerMinute, cfg.RateLimits.DefaultBurst = 1_000_000, 1_000_000
	if mut != nil {
		mut(&cfg)
	}
	if err := cfg.Finish(); err != nil {
		pub.Close()
		fedLn.Close()
		return nil, err
	}
	srv, err := server.New(ctx, server.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler),
		PasswordParams: credential.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		pub.Close()
		fedLn.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = srv.Serve(sctx, pub) }()
	if hang {
		go func() { defer wg.Done(); hangListener(sctx, fedLn) }()
	} else {
		go func() { defer wg.Done(); _ = srv.ServeFederation(sctx, fedLn) }()
	}
	r := &fedRegistry{td: td, srv: srv, url: cfg.PublicURL, fedURL: "https://" + fedLn.Addr().String(), admin: srv.AdminKey}
	r.stop = func() { cancel(); wg.Wait(); srv.Close() }
	return r, nil
}

// hangListener accepts connections on ln and never answers, until ctx ends.
func hangListener(ctx context.Context, ln net.Listener) {
	var mu sync.Mutex
	var conns []net.Conn
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// call makes an API call to r as its admin; out, when set, receives the JSON answer.
func (r *fedRegistry) call(method, path string, body, out any) error {
	return newRegistryClient(r.url, r.admin).do(method, path, nil, body, out)
}

// peerWith has r's admin propose other as a peer and approve it.
func (r *fedRegistry) peerWith(other *fedRegistry) error {
	var p struct {
		ID string `json:"id"`
	}
	if err := r.call("POST", "/api/v1/federation/peers", map[string]string{"name": other.td, "trust_domain": other.td,
		"base_url": other.fedURL, "bundle_endpoint": other.url + "/.well-known/spiffe-bundle"}, &p); err != nil {
		return fmt.Errorf("%s proposes %s: %w", r.td, other.td, err)
	}
	if err := r.call("POST", "/api/v1/federation/peers/"+p.ID+"/approve", map[string]string{"reason": "bench"}, nil); err != nil {
		return fmt.Errorf("%s approves %s: %w", r.td, other.td, err)
	}
	return nil
}

// waitBundles waits until r fetched the bundle of each of tds.
func (r *fedRegistry) waitBundles(ctx context.Context, tds ...string) error {
	deadline := time.Now().Add(20 * time.Second)
	for _, td := range tds {
		d, err := spiffeid.TrustDomainFromString(td)
		if err != nil {
			return err
		}
		for {
			if st, ok := r.srv.FederationBundles().Status(d); ok && st.RefreshedAt != nil {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s never fetched the bundle of %s", r.td, td)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// benchFedWords are the subjects of the bench's cards and queries.
var benchFedWords = []string{"weather", "translate", "invoice", "calendar", "review", "search", "travel", "music", "recipe", "stock"}

// publishBenchCards publishes n cards on r and waits until its index has them all.
func (r *fedRegistry) publishBenchCards(ctx context.Context, n int) error {
	for i := 0; i < n; i++ {
		w := benchFedWords[i%len(benchFedWords)]
		card := map[string]any{"name": fmt.Sprintf("%s agent %d of %s", w, i, r.td), "description": fmt.Sprintf("Does %s work, number %d", w, i),
			"version": "1.0.0", "capabilities": map[string]any{}, "defaultInputModes": []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
			"supportedInterfaces": []map[string]string{{"url": "https://agents.example.com/" + w, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
			"skills":              []map[string]any{{"id": w, "name": w, "description": "Does " + w, "tags": []string{w}}}}
		if err := r.call("POST", "/api/v1/agent-cards", map[string]any{"card_data": card}, nil); err != nil {
			return fmt.Errorf("publish on %s: %w", r.td, err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var page struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := r.call("GET", fmt.Sprintf("/api/v1/agent-cards?limit=%d", n), nil, &page); err != nil {
			return err
		}
		if len(page.Items) >= n {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s indexed %d of %d cards", r.td, len(page.Items), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fedBenchNet is the registries of a bench: first the one asked, then its peers.
type fedBenchNet struct {
	origin *fedRegistry
	peers  []*fedRegistry
	dir    string
}

func (n *fedBenchNet) close() {
	var wg sync.WaitGroup
	for _, r := range append([]*fedRegistry{n.origin}, n.peers...) {
		if r != nil {
			wg.Add(1)
			go func() { defer wg.Done(); r.stop() }()
		}
	}
	wg.Wait()
	if n.dir != "" {
		os.RemoveAll(n.dir)
	}
}

// startFedBenchNet starts the registry asked (origin.bench) and peers peer registries
// (p1.bench …), the last hung of them hanging, peered both ways with the first, bundles
// fetched, cards published on the ones that answer.
func startFedBenchNet(ctx context.Context, peers, hung, cards int, mut func(*config.Config)) (_ *fedBenchNet, err error) {
	dir, err := os.MkdirTemp("", "sovereign-bench-federation-")
	if err != nil {
		return nil, err
	}
	n := &fedBenchNet{dir: dir, peers: make([]*fedRegistry, peers)}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	if n.origin, err = startFedRegistry(ctx, "origin.bench", filepath.Join(dir, "origin"), false, mut); err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	errs := make([]error, peers)
	for i := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			td := fmt.Sprintf("p%d.bench", i+1)
			r, err := startFedRegistry(ctx, td, filepath.Join(dir, td), i >= peers-hung, nil)
			if err == nil {
				n.peers[i] = r
				if i < peers-hung {
					if err = r.peerWith(n.origin); err == nil {
						err = r.publishBenchCards(ctx, cards)
					}
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	tds := make([]string, 0, peers)
	for _, p := range n.peers {
		if err := n.origin.peerWith(p); err != nil {
			return nil, err
		}
		tds = append(tds, p.td)
	}
	if err := n.origin.waitBundles(ctx, tds...); err != nil {
		return nil, err
	}
	for _, p := range n.peers[:peers-hung] {
		if err := p.waitBundles(ctx, n.origin.td); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// fedBenchAnswer is what the bench reads of a federated search.
type fedBenchAnswer struct {
	Items []json.RawMessage        `json:"items"`
	Peers []federation.PeerOutcome `json:"peers"`
}

func benchFederation(ctx context.Context, out io.Writer, f *fedBenchFlags) error {
	start := time.Now()
	n, err := startFedBenchNet(ctx, f.peers, f.hung, f.cards, func(c *config.Config) {
		c.Federation.PeerTimeout = f.deadline
		if !f.cache {
			c.Federation.CacheTTL = -1
		}
	})
	if err != nil {
		return err
	}
	defer n.close()
	hungTDs := map[string]bool{}
	for _, p := range n.peers[f.peers-f.hung:] {
		hungTDs[p.td] = true
	}
	fmt.Fprintf(out, "registries: 1 asked + %d peers (%d hung), %d cards each, ready in %s\n", f.peers, f.hung, f.cards, time.Since(start).Round(time.Millisecond))

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: f.concurrency}}
	type sample struct {
		lat              time.Duration
		partial, allSkip bool // partial: some peer did not answer; allSkip: every hung peer was skipped
		at               time.Time
	}
	samples := make([]sample, f.queries)
	stop, err := f.prof.start()
	if err != nil {
		return err
	}
	var (
		wg     sync.WaitGroup
		next   = make(chan int)
		mu     sync.Mutex
		qerr   error
		qstart = time.Now()
		cpu0   = processCPU()
	)
	for range f.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				w := benchFedWords[i%len(benchFedWords)]
				u := n.origin.url + "/api/v1/agent-cards?" + url.Values{"q": {w + " agent"}, "include_federated": {"true"}, "limit": {"20"}}.Encode()
				t0 := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				var res *http.Response
				if err == nil {
					res, err = hc.Do(req)
				}
				var a fedBenchAnswer
				if err == nil {
					err = json.NewDecoder(res.Body).Decode(&a)
					res.Body.Close()
					if err == nil && res.StatusCode != 200 {
						err = fmt.Errorf("search answered %d", res.StatusCode)
					}
				}
				lat := time.Since(t0)
				if err != nil {
					mu.Lock()
					qerr = errors.Join(qerr, err)
					mu.Unlock()
					continue
				}
				s := sample{lat: lat, at: t0}
				skipped := 0
				for _, o := range a.Peers {
					if o.Status != federation.PeerAnswered && o.Reason != "in_origins" {
						s.partial = true
					}
					if hungTDs[o.TrustDomain] && o.Via == "" && o.Status == federation.PeerSkipped {
						skipped++
					}
				}
				s.allSkip = f.hung > 0 && skipped == f.hung
				samples[i] = s
			}
		}()
	}
	for i := range f.queries {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(qstart)
	cpu := processCPU() - cpu0
	stop()
	if qerr != nil {
		return qerr
	}

	// The first queries: up to the first answer in which every hung peer was skipped.
	slices.SortFunc(samples, func(a, b sample) int { return a.at.Compare(b.at) })
	split := 0
	if f.hung > 0 {
		split = len(samples)
		for i, s := range samples {
			if s.allSkip {
				split = i
				break
			}
		}
	}
	type summary struct {
		n, partial     int
		p50, p99, maxL float64
	}
	sum := func(ss []sample) summary {
		lats := make([]time.Duration, len(ss))
		r := summary{n: len(ss)}
		for i, s := range ss {
			lats[i] = s.lat
			if s.partial {
				r.partial++
			}
		}
		slices.Sort(lats)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		r.p50, r.p99, r.maxL = ms(quantile(lats, 0.5)), ms(quantile(lats, 0.99)), ms(quantile(lats, 1))
		return r
	}
	line := func(ss []sample) string {
		r := sum(ss)
		return fmt.Sprintf("queries=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f partial=%d", r.n, r.p50, r.p99, r.maxL, r.partial)
	}
	if f.hung > 0 {
		fmt.Fprintf(out, "first queries (before the hung peers' breakers opened): %s (target p99 ≤ %s)\n", line(samples[:split]), f.deadline+50*time.Millisecond)
		skippedAll := 0
		for _, s := range samples[split:] {
			if s.allSkip {
				skippedAll++
			}
		}
		fmt.Fprintf(out, "steady state (breakers open): %s hung_skipped=%d/%d (target p99 ≤ 30ms)\n", line(samples[split:]), skippedAll, len(samples)-split)
	} else {
		fmt.Fprintf(out, "all peers healthy: %s (target p99 ≤ 30ms)\n", line(samples))
	}
	// The CPU every registry spent per query (all run in this process): what a quiet machine's
	// latency comes down to, whatever the load of a shared one.
	fmt.Fprintf(out, "cpu: %.2f ms per query (all registries), %d CPUs, load average %s\n", float64(cpu.Microseconds())/1000/float64(len(samples)), runtime.NumCPU(), loadAverage())
	if c := n.origin.srv.FederationCache(); c != nil {
		hits, misses := c.Stats()
		fmt.Fprintf(out, "cache: %d hits, %d misses\n", hits, misses)
	}
	r := sum(samples)
	fmt.Fprintf(out, "p50_ms=%.1f p99_ms=%.1f partial=%d queries/s=%.0f\n", r.p50, r.p99, r.partial, float64(len(samples))/elapsed.Seconds())
	return nil
}

// loadAverage is the one-minute load average ("?" where /proc/loadavg is not).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
