package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
)

// split is a TEG and a registry, each a server with its own database, the registry reaching
// the TEG over mTLS on loopback. Both have their SVIDs from one CA.
type split struct {
	ca       *identity.Builtin
	teg      *server.Server
	tegHTTP  *httptest.Server // the TEG's plain listener (admin key, JWT-SVIDs)
	tegMTLS  string           // https://127.0.0.1:port of its mTLS listener
	tegKey   string           // the TEG's admin API key
	registry *server.Server
}

var splitTD = spiffeid.RequireTrustDomainFromString("sovereign.test")

func splitConfig(t *testing.T, ttl time.Duration) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Onboarding.GenesisSupply = "0" // the tests fund the treasury themselves
	cfg.Data = t.TempDir()
	cfg.PublicURL = "http://registry.test"
	if ttl > 0 {
		cfg.SVIDTTL = ttl
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// secondDB is another fresh database of db's kind.
func secondDB(t *testing.T, db *store.DB) *store.DB {
	if db.Dialect() == store.Postgres {
		return storetest.Postgres(t)
	}
	return storetest.SQLite(t)
}

// newSplit starts a TEG and a registry; opts change both configurations.
func newSplit(t *testing.T, db *store.DB, ttl time.Duration, opts ...stackOption) *split {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ca, err := identity.NewBuiltin(filepath.Join(t.TempDir(), "ca"), splitTD)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	tegCfg := splitConfig(t, ttl)
	for _, o := range opts {
		o(&tegCfg)
	}
	tegSrv, err := server.New(ctx, server.Options{Config: tegCfg, DB: db, Role: server.RoleTEG, Issuer: ca, PasswordParams: fastPasswords, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- tegSrv.ServeMTLS(ctx, ln) }()
	sp := &split{ca: ca, teg: tegSrv, tegHTTP: httptest.NewServer(tegSrv.Handler()), tegMTLS: "https://" + ln.Addr().String(), tegKey: tegSrv.AdminKey}

	regCfg := splitConfig(t, ttl)
	regCfg.TEGURL = sp.tegMTLS
	for _, o := range opts {
		o(&regCfg)
	}
	sp.registry, err = server.New(ctx, server.Options{Config: regCfg, DB: secondDB(t, db), Role: server.RoleRegistry, Issuer: ca, PasswordParams: fastPasswords, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sp.registry.Close()
		sp.tegHTTP.Close()
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeMTLS: %v", err)
		}
		tegSrv.Close()
	})
	return sp
}

// mint puts amount into the TEG's treasury with its admin key.
func (sp *split) mint(t *testing.T, amount string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"amount": amount})
	req, _ := http.NewRequest("POST", sp.tegHTTP.URL+"/api/v1/token/mint", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+sp.tegKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("mint: %d", res.StatusCode)
	}
}

func mustAVT(t *testing.T, s string) avt.Amount {
	t.Helper()
	a, err := avt.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSplit_RegistryCallsTEGOverMTLS(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sp := newSplit(t, db, 0)
		sp.mint(t, "1000")
		w := sp.registry.Wallets()
		ctx := context.Background()

		acct, err := w.OpenWallet(ctx, "agt_split", "open-agt_split")
		if err != nil {
			t.Fatal(err)
		}
		if acct.ID != "agt_split" || !acct.Liquid.IsZero() {
			t.Fatalf("opened %+v", acct)
		}
		// a retry with the same key is the same answer; a second open without one is a conflict
		if _, err := w.OpenWallet(ctx, "agt_split", "open-agt_split"); err != nil {
			t.Fatalf("idempotent retry: %v", err)
		}
		if _, err := w.OpenWallet(ctx, "agt_split", ""); apperr.CodeOf(err) != "ACCOUNT_EXISTS" || apperr.KindOf(err) != apperr.Conflict {
			t.Fatalf("second open: %v", err)
		}

		tr, replayed, err := w.Grant(ctx, "agt_split", mustAVT(t, "12.5"), "welcome", "grant-1")
		if err != nil || replayed {
			t.Fatalf("grant: %v (replayed %v)", err, replayed)
		}
		if tr.Kind != teg.KindGrant || tr.To != "agt_split" || tr.Amount.String() != "12.5" || !tr.Fee.IsZero() || tr.Message != "welcome" {
			t.Fatalf("grant = %+v", tr)
		}
		if _, replayed, err := w.Grant(ctx, "agt_split", mustAVT(t, "12.5"), "welcome", "grant-1"); err != nil || !replayed {
			t.Fatalf("grant retry: %v (replayed %v)", err, replayed)
		}
		bal, err := w.Balance(ctx, "agt_split")
		if err != nil || bal.Liquid.String() != "12.5" {
			t.Fatalf("balance: %+v %v", bal, err)
		}

		// the TEG's rules hold across the wire: errors come back with their codes and kinds
		if _, _, err := w.Grant(ctx, "agt_split", mustAVT(t, "100000"), "", ""); apperr.KindOf(err) == apperr.Internal || apperr.CodeOf(err) == "" {
			t.Fatalf("overdraft of the treasury: %v", err)
		}
		if _, err := w.Balance(ctx, "agt_nobody"); apperr.KindOf(err) != apperr.NotFound {
			t.Fatalf("balance of a missing wallet: %v", err)
		}
		if _, err := w.OpenWallet(ctx, "sys:treasury", ""); apperr.KindOf(err) != apperr.Invalid {
			t.Fatalf("open a system account: %v", err)
		}

		// the registry's readiness includes the TEG
		rr := httptest.NewRecorder()
		sp.registry.Handler().ServeHTTP(rr, httptest.NewRequest("GET", "/readyz", nil))
		if rr.Code != 200 || !strings.Contains(rr.Body.String(), `"teg":"ok"`) {
			t.Fatalf("registry /readyz: %d %s", rr.Code, rr.Body)
		}
		// the TEG serves no registry routes, the registry no token routes
		for srv, path := range map[*server.Server]string{sp.teg: "/api/v1/agents", sp.registry: "/api/v1/teg/params"} {
			rr := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rr, httptest.NewRequest("GET", path, nil))
			if rr.Code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, rr.Code)
			}
		}
	})
}

// clientAs is an HTTP client presenting an SVID for id from ca, expecting the TEG.
func clientAs(t *testing.T, ca identity.Issuer, id string) *http.Client {
	t.Helper()
	src, err := identity.NewIssuerSource(context.Background(), ca, spiffeid.RequireFromString(id), identity.WithSourceLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	tegID := spiffeid.RequireFromPath(splitTD, "/teg")
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: identity.MTLSClientConfig(src, tlsconfig.AuthorizeID(tegID))}}
}

func TestSplit_TLSRefusesClientsWithoutAnAcceptedSVID(t *testing.T) {
	sp := newSplit(t, storetest.SQLite(t), 0)
	url := sp.tegMTLS + "/api/v1/teg/params"

	// control: a registry SVID is accepted
	res, err := clientAs(t, sp.ca, "spiffe://sovereign.test/registry/other").Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("registry client: %d", res.StatusCode)
	}

	// no client certificate at all (the client trusts the TEG's CA)
	bundle, err := sp.ca.Bundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pool := bundle.X509Bundle()
	noCert := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsconfig.TLSClientConfig(pool, tlsconfig.AuthorizeAny())}}
	for name, c := range map[string]*http.Client{
		"no client SVID":           noCert,
		"the portal's SVID":        clientAs(t, sp.ca, "spiffe://sovereign.test/portal"),
		"the TEG's own SVID":       clientAs(t, sp.ca, "spiffe://sovereign.test/teg"),
		"an SVID from another CA":  strangerClient(t, sp.ca),
		"a plain TLS client":       {Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}},
		"an unregistered ID shape": clientAs(t, sp.ca, "spiffe://sovereign.test/registry/a/b"),
	} {
		res, err := c.Get(url)
		if err == nil {
			res.Body.Close()
			t.Errorf("%s: got %d, want a refused handshake", name, res.StatusCode)
			continue
		}
		if !strings.Contains(err.Error(), "tls") && !strings.Contains(err.Error(), "certificate") && !strings.Contains(err.Error(), "x509svid") {
			t.Errorf("%s: %v, want a TLS error", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// stranger presents a registry SVID from another CA of the same trust domain name, and trusts
// the TEG's CA: the TEG must refuse it.
type stranger struct {
	svid   x509svid.Source
	bundle *x509bundle.Bundle
}

func (s stranger) GetX509SVID() (*x509svid.SVID, error) { return s.svid.GetX509SVID() }
func (s stranger) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	return s.bundle.GetX509BundleForTrustDomain(td)
}

func strangerClient(t *testing.T, trusted *identity.Builtin) *http.Client {
	t.Helper()
	other, err := identity.NewBuiltin(filepath.Join(t.TempDir(), "other"), splitTD)
	if err != nil {
		t.Fatal(err)
	}
	src, err := identity.NewIssuerSource(context.Background(), other, spiffeid.RequireFromPath(splitTD, "/registry/main"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	b, err := trusted.Bundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mixed := stranger{svid: src, bundle: b.X509Bundle()}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: identity.MTLSClientConfig(mixed, tlsconfig.AuthorizeID(spiffeid.RequireFromPath(splitTD, "/teg")))}}
}

func TestSplit_MTLSSubjectsAndPolicyDenials(t *testing.T) {
	sp := newSplit(t, storetest.SQLite(t), 0)
	sp.mint(t, "100")
	if _, err := sp.registry.Wallets().OpenWallet(context.Background(), "agt_7", ""); err != nil {
		t.Fatal(err)
	}
	agent := clientAs(t, sp.ca, "spiffe://sovereign.test/agent/agt_7")

	// an agent's X.509-SVID is the agent: it reads its own balance without a token
	res, err := agent.Get(sp.tegMTLS + "/api/v1/token/balance")
	if err != nil {
		t.Fatal(err)
	}
	var bal map[string]any
	_ = json.NewDecoder(res.Body).Decode(&bal)
	res.Body.Close()
	if res.StatusCode != 200 || bal["account"] != "agt_7" {
		t.Fatalf("agent balance over mTLS: %d %v", res.StatusCode, bal)
	}

	// but it may not grant: 403 with the decision's id in X-Decision-Id
	res, err = agent.Post(sp.tegMTLS+"/api/v1/token/grant", "application/json", strings.NewReader(`{"to":"agt_7","amount":"1"}`))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Error struct {
			Code    string         `json:"code"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&env)
	res.Body.Close()
	id := res.Header.Get("X-Decision-Id")
	if res.StatusCode != http.StatusForbidden || env.Error.Code != "FORBIDDEN" || id == "" || env.Error.Details["decision_id"] != id {
		t.Fatalf("agent grant: %d %+v, X-Decision-Id %q", res.StatusCode, env, id)
	}

	// a bearer credential on an mTLS connection decides who the caller is
	req, _ := http.NewRequest("GET", sp.tegMTLS+"/api/v1/token/balance?account=agt_7", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	res, err = agent.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad bearer over mTLS: %d, want 401", res.StatusCode)
	}

	// on the plain listener the same call is anonymous
	res, err = http.Get(sp.tegHTTP.URL + "/api/v1/token/balance?account=agt_7")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous balance: %d, want 401", res.StatusCode)
	}
}

// TestSplit_RotationUnderLoadDropsNoRequest runs continuous calls from the registry to the TEG
// while both rotate their SVIDs every second (TTL 2 s), over at least three rotations each,
// some callers on kept-alive connections and some forcing a new handshake every few calls.
func TestSplit_RotationUnderLoadDropsNoRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("rotation test takes seconds")
	}
	sp := newSplit(t, storetest.SQLite(t), 2*time.Second)
	sp.mint(t, "1000")
	w := sp.registry.Wallets()
	ctx := context.Background()
	if _, err := w.OpenWallet(ctx, "agt_rot", ""); err != nil {
		t.Fatal(err)
	}
	type closer interface{ CloseIdleConnections() }

	var calls, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if i%10 == 0 {
					_, _, err = w.Grant(ctx, "agt_rot", mustAVT(t, "0.001"), "", "")
				} else {
					_, err = w.Balance(ctx, "agt_rot")
				}
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				if g == 0 && i%5 == 0 {
					w.(closer).CloseIdleConnections() // new handshakes, with whatever SVID is current
				}
			}
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && (rotations(sp.teg) < 3 || rotations(sp.registry) < 3) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	tr, rr := rotations(sp.teg), rotations(sp.registry)
	t.Logf("%d calls, %d failures, TEG rotations %d, registry rotations %d", calls.Load(), failures.Load(), tr, rr)
	if tr < 3 || rr < 3 {
		t.Fatalf("rotations: TEG %d, registry %d, want ≥ 3 each", tr, rr)
	}
	if failures.Load() != 0 {
		t.Fatalf("%d of %d calls failed across rotations; first: %v", failures.Load(), calls.Load(), firstErr.Load())
	}
	// Enough calls that every rotation fell among them (under -race on a busy machine a call
	// takes tens of milliseconds: about a hundred in the ≥ 3 s the rotations take).
	if calls.Load() < 40 {
		t.Fatalf("only %d calls", calls.Load())
	}
}

// rotations is how many SVIDs a builtin-mode split service minted after its first.
func rotations(s *server.Server) int {
	return s.SVIDSource().(*identity.IssuerSource).Rotations()
}

// TestWallets_InProcessActsAsTheRegistry: under `up` the registry reaches the ledger in process,
// as the same service subject it is over mTLS, so the same policy decisions apply.
func TestWallets_InProcessActsAsTheRegistry(t *testing.T) {
	s := newStack(t, storetest.SQLite(t))
	s.do("POST", "/api/v1/token/mint", map[string]string{"amount": "50"}, bearer(s.adminKey)).want(t, 201, "")
	w := s.server.Wallets()
	ctx := context.Background()
	if _, err := w.OpenWallet(ctx, "agt_local", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Grant(ctx, "agt_local", mustAVT(t, "5"), "", ""); err != nil {
		t.Fatal(err)
	}
	if a, err := w.Balance(ctx, "agt_local"); err != nil || a.Liquid.String() != "5" {
		t.Fatalf("balance %+v %v", a, err)
	}
	if _, _, err := w.Grant(ctx, "agt_local", mustAVT(t, "500"), "", ""); apperr.CodeOf(err) != "INSUFFICIENT_BALANCE" {
		t.Fatalf("grant beyond the treasury: %v", err)
	}
	if s.server.SVIDSource() != nil || !s.server.ServiceID().IsZero() {
		t.Error("up runs no service SVID")
	}
}
