package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// registerBody is a registration of a new agent key with token.
func registerBody(name, token string) map[string]any {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]any{"card": card(name, "Registered in split mode", "split"),
		"public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)},
		"proof":      base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(token)))}
}

// TestOnboarding_SplitMode runs the bootstrap protocol against a registry whose TEG is another
// server with its own database, reached over mTLS: the wallet and its grant (configured: split
// mode grants none by default) land on the TEG.
func TestOnboarding_SplitMode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sp := newSplit(t, db, 0, func(c *config.Config) { c.Onboarding.StartingGrant = "100" })
		reg := &stack{t: t, srv: httptest.NewServer(sp.registry.Handler()), server: sp.registry, adminKey: sp.registry.AdminKey}
		defer reg.srv.Close()
		tegStack := &stack{t: t, srv: sp.tegHTTP, server: sp.teg, adminKey: sp.tegKey}
		admin := bearer(reg.adminKey)

		// An empty treasury on the TEG: the registration fails cleanly, the token stays good.
		token := reg.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, admin).want(t, 201, "").str("token")
		body := registerBody("Split Agent", token)
		reg.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token}).want(t, 422, "INSUFFICIENT_BALANCE")
		if l := reg.do("GET", "/api/v1/onboard/bootstrap/tokens", nil, admin).want(t, 200, ""); len(l.Body["items"].([]any)) != 1 {
			t.Fatalf("token not usable after the failed registration: %s", l.Raw)
		}

		sp.mint(t, "1000")
		r := reg.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token}).want(t, 201, "")
		if r.str("grant") != "100" || r.str("grant_reason") != "" {
			t.Fatalf("grant in the registration: %s", r.Raw)
		}
		agentID := r.str("agent_id")
		b := tegStack.do("GET", "/api/v1/token/balance?account="+agentID, nil, bearer(sp.tegKey)).want(t, 200, "")
		if b.str("liquid") != "100" {
			t.Fatalf("the wallet on the TEG: %s", b.Raw)
		}
	})
}

// TestOnboarding_TEGUnreachable: a registry whose TEG does not answer registers nothing and
// keeps the token usable.
func TestOnboarding_TEGUnreachable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sp := newSplit(t, db, 0)
		cfg := splitConfig(t, 0)
		cfg.TEGURL = "https://127.0.0.1:1" // nothing listens there
		regSrv, err := server.New(context.Background(), server.Options{Config: cfg, DB: secondDB(t, db), Role: server.RoleRegistry,
			Issuer: sp.ca, PasswordParams: fastPasswords, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer regSrv.Close()
		reg := &stack{t: t, srv: httptest.NewServer(regSrv.Handler()), server: regSrv, adminKey: regSrv.AdminKey}
		defer reg.srv.Close()
		admin := bearer(reg.adminKey)
		token := reg.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, admin).want(t, 201, "").str("token")
		reg.do("POST", "/api/v1/onboard/register", registerBody("Lonely", token), hdr{"Bootstrap-Token", token}).want(t, 503, "TEG_UNAVAILABLE")
		if l := reg.do("GET", "/api/v1/onboard/bootstrap/tokens", nil, admin).want(t, 200, ""); len(l.Body["items"].([]any)) != 1 {
			t.Fatalf("token lost: %s", l.Raw)
		}
		if d := reg.do("GET", "/api/v1/agent-cards?q=lonely", nil).want(t, 200, ""); len(d.Body["items"].([]any)) != 0 {
			t.Fatalf("card left behind: %s", d.Raw)
		}
	})
}

// TestOnboarding_SplitModeDefaults: with nothing configured, a split-mode TEG mints no genesis
// supply and a split-mode registry gives no starting grant — the registration succeeds and says
// so (the embedded defaults, 100 AVT and a genesis mint, are for `up` only).
func TestOnboarding_SplitModeDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sp := newSplit(t, db, 0, func(c *config.Config) { c.Onboarding.GenesisSupply, c.Onboarding.StartingGrant = "", "" })
		reg := &stack{t: t, srv: httptest.NewServer(sp.registry.Handler()), server: sp.registry, adminKey: sp.registry.AdminKey}
		defer reg.srv.Close()
		tegStack := &stack{t: t, srv: sp.tegHTTP, server: sp.teg, adminKey: sp.tegKey}
		// The treasury is opened by its first mint: none yet.
		tegStack.do("GET", "/api/v1/token/balance?account=sys:treasury", nil, bearer(sp.tegKey)).want(t, 404, "ACCOUNT_NOT_FOUND")
		token := reg.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(reg.adminKey)).want(t, 201, "").str("token")
		r := reg.do("POST", "/api/v1/onboard/register", registerBody("Ungranted", token), hdr{"Bootstrap-Token", token}).want(t, 201, "")
		if r.str("grant") != "0" || r.str("grant_reason") != "NO_STARTING_GRANT" {
			t.Fatalf("registration: %s", r.Raw)
		}
		if b := tegStack.do("GET", "/api/v1/token/balance?account="+r.str("agent_id"), nil, bearer(sp.tegKey)).want(t, 200, ""); b.str("total") != "0" {
			t.Fatalf("the wallet on the TEG: %s", b.Raw)
		}
	})
}
