package agentvault

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/sovereign-stack/sovereign/identity"
)

func TestIdentity_SaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	ks := NewFileStore(filepath.Join(t.TempDir(), "keys.json"))
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id.DID, "did:key:z6Mk") {
		t.Fatalf("DID = %s", id.DID)
	}
	if pub, err := identity.ParseDIDKey(id.DID); err != nil || !pub.Equal(id.PublicKey()) {
		t.Fatalf("the DID does not name the key: %v", err)
	}
	if err := id.Save(ctx, ks); err == nil {
		t.Fatal("saved an identity without an id")
	}
	id.ID, id.SPIFFEID = "agt_1", "spiffe://sovereign.test/agent/agt_1"
	if err := id.Save(ctx, ks); err != nil {
		t.Fatal(err)
	}
	got, err := LoadIdentity(ctx, ks, "agt_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id.ID || got.DID != id.DID || got.SPIFFEID != id.SPIFFEID || !got.Key.Equal(id.Key) {
		t.Fatalf("loaded %+v, saved %+v", got, id)
	}
	msg := []byte("bst_token")
	if !ed25519.Verify(got.PublicKey(), msg, id.Sign(msg)) {
		t.Fatal("signature does not verify")
	}
	jwk := got.PublicJWK()
	if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" || jwk["x"] != base64.RawURLEncoding.EncodeToString(id.PublicKey()) {
		t.Fatalf("JWK = %v", jwk)
	}
}

func TestLoadIdentity_RejectsBadKeys(t *testing.T) {
	ctx := context.Background()
	other, _ := NewIdentity()
	mine, _ := NewIdentity()
	mixed := append(append([]byte{}, mine.Key.Seed()...), other.PublicKey()...)
	for name, v := range map[string]string{
		"not base64": "!!!",
		"too short":  base64.RawURLEncoding.EncodeToString([]byte("short")),
		"mixed":      base64.RawURLEncoding.EncodeToString(mixed),
	} {
		ks := EnvStore{Environ: func() []string { return []string{"AGENTVAULT_AGENT_KEY_A=" + v} }}
		if _, err := LoadIdentity(ctx, ks, "a"); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if _, err := LoadIdentity(ctx, EnvStore{Environ: func() []string { return nil }}, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key = %v", err)
	}
}

// tokenServer is a fake token endpoint counting its requests.
type tokenServer struct {
	calls atomic.Int32
	fail  atomic.Bool
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != AgentTokenPath || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	n := s.calls.Add(1)
	var in map[string]string
	_ = json.NewDecoder(r.Body).Decode(&in)
	if s.fail.Load() {
		http.Error(w, `{"error":{"code":"UNAVAILABLE","message":"down"}}`, http.StatusServiceUnavailable)
		return
	}
	if in["grant_type"] != "client_credentials" || in["client_id"] != "cid" || in["client_secret"] != "sec" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"INVALID_CLIENT","message":"no","request_id":"req_1"}}`))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok%d", n), "token_type": "Bearer", "expires_in": 300})
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestTokenSource_CachesAndRefreshesBeforeExpiry(t *testing.T) {
	ctx := context.Background()
	srv := &tokenServer{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	ts := NewTokenSource(hs.URL, "cid", "sec", WithClock(clk.now))

	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok, err := ts.Token(ctx); err != nil || tok != "tok1" {
				t.Errorf("token = %q, %v", tok, err)
			}
		}()
	}
	wg.Wait()
	if n := srv.calls.Load(); n != 1 {
		t.Fatalf("%d token requests for concurrent callers, want 1", n)
	}
	clk.add(239 * time.Second) // a 300 s token is replaced with 60 s left
	if tok, _ := ts.Token(ctx); tok != "tok1" {
		t.Fatalf("refreshed too early: %s", tok)
	}
	clk.add(2 * time.Second)
	if tok, _ := ts.Token(ctx); tok != "tok2" {
		t.Fatalf("not refreshed with less than a fifth of its life left: %s", tok)
	}
	// While the registry is down, a token still valid is served.
	srv.fail.Store(true)
	clk.add(250 * time.Second)
	if tok, err := ts.Token(ctx); err != nil || tok != "tok2" {
		t.Fatalf("token while the registry is down = %q, %v", tok, err)
	}
	clk.add(60 * time.Second)
	if _, err := ts.Token(ctx); err == nil {
		t.Fatal("an expired token was served")
	}
	srv.fail.Store(false)
	h := http.Header{}
	if err := ts.Apply(ctx, h); err != nil || !strings.HasPrefix(h.Get("Authorization"), "Bearer tok") {
		t.Fatalf("Apply: %q, %v", h.Get("Authorization"), err)
	}
	before := srv.calls.Load()
	ts.Invalidate()
	_, _ = ts.Token(ctx)
	if srv.calls.Load() != before+1 {
		t.Fatal("Invalidate did not force a new token")
	}
	ts.SetSecret("wrong")
	_, err := ts.Token(ctx)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || apiErr.Code != "INVALID_CLIENT" || apiErr.RequestID != "req_1" {
		t.Fatalf("bad secret = %v", err)
	}
}

func TestTokenSourceFromKeyStore(t *testing.T) {
	ctx := context.Background()
	ks := EnvStore{Environ: func() []string {
		return []string{"AGENTVAULT_OAUTH_AGT_1_CLIENT_ID=cid", "AGENTVAULT_OAUTH_AGT_1_CLIENT_SECRET=sec"}
	}}
	hs := httptest.NewServer(&tokenServer{})
	defer hs.Close()
	ts, err := TokenSourceFromKeyStore(ctx, hs.URL, ks, "agt_1")
	if err != nil {
		t.Fatal(err)
	}
	if ts.ClientID() != "cid" {
		t.Fatalf("client id %q", ts.ClientID())
	}
	if _, err := ts.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := TokenSourceFromKeyStore(ctx, hs.URL, ks, "agt_2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown agent = %v", err)
	}
}

// svidServer mints X.509-SVIDs with a builtin CA for bearer "agent-token".
func svidServer(t *testing.T, ca *identity.Builtin, id spiffeid.ID) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != SVIDPath || r.Header.Get("Authorization") != "Bearer agent-token" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"AUTHENTICATION_REQUIRED","message":"no"}}`))
			return
		}
		var in struct {
			CSR string `json:"csr"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		blk, _ := pem.Decode([]byte(in.CSR))
		if blk == nil {
			http.Error(w, "no csr", http.StatusBadRequest)
			return
		}
		chain, err := ca.MintX509SVID(r.Context(), blk.Bytes, id, 0)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		var b strings.Builder
		for _, c := range chain {
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"spiffe_id": id.String(), "cert_chain_pem": b.String(), "expires_at": chain[0].NotAfter})
	}))
	t.Cleanup(hs.Close)
	return hs
}

func TestSVIDRenewer_RenewsAtHalfLife(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("sovereign.test")
	ca, err := identity.NewBuiltin(t.TempDir(), td, identity.WithDefaultTTLs(2*time.Second, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	id := spiffeid.RequireFromString("spiffe://sovereign.test/agent/agt_1")
	hs := svidServer(t, ca, id)

	// A wrong credential fails, and Run keeps retrying without an SVID.
	bad := NewSVIDRenewer(hs.URL, id, BearerToken("nope"), nil)
	if _, err := bad.Renew(context.Background()); !IsCode(err, "AUTHENTICATION_REQUIRED") {
		t.Fatalf("renew with a bad credential = %v", err)
	}
	if _, err := bad.GetX509SVID(); err == nil {
		t.Fatal("an SVID without a renewal")
	}

	r := NewSVIDRenewer(hs.URL, id, BearerToken("agent-token"), nil)
	var seen atomic.Int32
	r.OnRenew(func(*x509svid.SVID) { seen.Add(1) })
	start := time.Now()
	first, err := r.Renew(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != id || len(first.Certificates) < 2 {
		t.Fatalf("svid %v with %d certificates", first.ID, len(first.Certificates))
	}
	half := first.Certificates[0].NotAfter.Sub(start) / 2
	if d := r.RenewAt().Sub(start); d < half-200*time.Millisecond || d > half+200*time.Millisecond {
		t.Fatalf("renewal due in %v, want about half the life (%v)", d, half)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	// Not renewed before half-life…
	time.Sleep(half / 2)
	if r.Renewals() != 1 {
		t.Fatalf("renewed before half-life: %d renewals", r.Renewals())
	}
	// …and renewed after it, again and again.
	deadline := time.Now().Add(6 * time.Second)
	for r.Renewals() < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if r.Renewals() < 3 || seen.Load() < 3 {
		t.Fatalf("%d renewals (%d seen) in 6 s of a 2 s SVID", r.Renewals(), seen.Load())
	}
	cur, _ := r.GetX509SVID()
	if cur.Certificates[0].SerialNumber.Cmp(first.Certificates[0].SerialNumber) == 0 {
		t.Fatal("the current SVID is still the first")
	}
	if !time.Now().Before(cur.Certificates[0].NotAfter) {
		t.Fatal("the current SVID has expired")
	}
}
