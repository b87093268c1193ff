package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// registeredAgent is an agent registered through the bootstrap protocol, with its client
// credentials.
type registeredAgent struct {
	ID, ClientID, Secret string
}

// registerAgent registers an agent of dev named name (a funded wallet needs a genesis supply).
func (s *stack) registerAgent(dev developer, name string) registeredAgent {
	s.t.Helper()
	token := s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(dev.Access)).want(s.t, 201, "").str("token")
	r := s.do("POST", "/api/v1/onboard/register", registerBody(name, token), hdr{"Bootstrap-Token", token}).want(s.t, 201, "")
	return registeredAgent{ID: r.str("agent_id"), ClientID: r.str("client_id"), Secret: r.str("client_secret")}
}

// clientToken is the agent's token from the OAuth2 client-credentials grant.
func (s *stack) clientToken(a registeredAgent) resp {
	s.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.ClientID}, "client_secret": {a.Secret}}
	return s.do("POST", "/api/v1/auth/agent/token", form.Encode(), hdr{"Content-Type", "application/x-www-form-urlencoded"})
}

// mtlsClient serves the stack's handler over TLS asking for client certificates, and returns
// a client presenting an X.509-SVID of agent minted by the stack's issuer.
func (s *stack) mtlsClient(agent string) (*http.Client, string) {
	s.t.Helper()
	ts := httptest.NewUnstartedServer(s.server.Handler())
	ts.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	ts.StartTLS()
	s.t.Cleanup(ts.Close)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	id := spiffeid.RequireFromPath(s.server.Issuer().TrustDomain(), "/agent/"+agent)
	chain, err := s.server.Issuer().MintX509SVID(context.Background(), csr, id, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	cert := tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	c := ts.Client()
	c.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
	return c, ts.URL
}

// TestAgentStatus_SuspendedAndRevokedAgentsStopSpending: the token an agent obtained before
// its suspension (and its mTLS X.509-SVID) is refused from the moment of the suspension on every
// authenticated request — transfers and holds included — not when it expires; reactivation
// lets the same token work again; revocation is final.
func TestAgentStatus_SuspendedAndRevokedAgentsStopSpending(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		payer, payee := s.registerAgent(ada, "Payer Agent"), s.registerAgent(ada, "Payee Agent")
		tok := bearer(s.clientToken(payer).want(t, 200, "").str("access_token"))
		mtls, base := s.mtlsClient(payer.ID)
		pay := map[string]any{"to": payee.ID, "amount": "1"}
		hold := map[string]any{"to": payee.ID, "amount": "1", "timeout_seconds": 60}
		status := func(who hdr, st string) resp {
			return s.do("POST", "/api/v1/agents/"+payer.ID+"/status", map[string]any{"status": st}, who)
		}

		// Active: the token (verified once, then remembered) and the mTLS SVID both pay.
		s.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 201, "")
		held := s.do("POST", "/api/v1/token/pending", hold, tok).want(t, 201, "").str("id")
		s.doVia(mtls, base, "POST", "/api/v1/token/transfer", pay).want(t, 201, "")
		payeeTok := bearer(s.clientToken(payee).want(t, 200, "").str("access_token"))
		wallet := func() string {
			return s.do("GET", "/api/v1/token/balance?account="+payer.ID, nil, bearer(s.adminKey)).want(t, 200, "").str("status")
		}

		status(bearer(ada.Access), "suspended").want(t, 200, "")
		s.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 403, "AGENT_SUSPENDED")
		s.do("POST", "/api/v1/token/pending", hold, tok).want(t, 403, "AGENT_SUSPENDED")
		s.do("POST", "/api/v1/token/transfers:batch", map[string]any{"transfers": []any{pay}}, tok).want(t, 403, "AGENT_SUSPENDED")
		s.doVia(mtls, base, "POST", "/api/v1/token/transfer", pay).want(t, 403, "AGENT_SUSPENDED")
		s.do("GET", "/api/v1/agents/me", nil, tok).want(t, 403, "AGENT_SUSPENDED")
		s.do("POST", "/api/v1/agents/me/heartbeat", nil, tok).want(t, 403, "AGENT_SUSPENDED")
		s.do("GET", "/api/v1/token/balance", nil, tok).want(t, 403, "AGENT_SUSPENDED")
		s.clientToken(payer).want(t, 403, "AGENT_SUSPENDED")
		// The ledger froze its wallet too: the payee cannot collect the hold placed before.
		if st := wallet(); st != "suspended" {
			t.Fatalf("wallet %q after the suspension", st)
		}
		s.do("POST", "/api/v1/token/pending/"+held+":post", nil, payeeTok).want(t, 403, "ACCOUNT_SUSPENDED")

		status(bearer(ada.Access), "active").want(t, 200, "")
		if st := wallet(); st != "active" {
			t.Fatalf("wallet %q after the reactivation", st)
		}
		s.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 201, "")
		s.doVia(mtls, base, "POST", "/api/v1/token/transfer", pay).want(t, 201, "")
		s.do("POST", "/api/v1/token/pending/"+held+":post", nil, payeeTok).want(t, 201, "")

		status(bearer(ada.Access), "revoked").want(t, 200, "")
		if st := wallet(); st != "revoked" {
			t.Fatalf("wallet %q after the revocation", st)
		}
		s.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 403, "AGENT_REVOKED")
		s.do("POST", "/api/v1/token/pending", hold, tok).want(t, 403, "AGENT_REVOKED")
		s.doVia(mtls, base, "POST", "/api/v1/token/transfer", pay).want(t, 403, "AGENT_REVOKED")
		s.clientToken(payer).want(t, 403, "AGENT_REVOKED")
		status(bearer(ada.Access), "active").want(t, 409, "AGENT_REVOKED")
		status(bearer(s.adminKey), "active").want(t, 409, "AGENT_REVOKED")

		// The other agent is untouched.
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": s.registerAgent(ada, "Third Agent").ID, "amount": "1"}, payeeTok).want(t, 201, "")
	}, withGenesis)
}

// TestAgentStatus_ASuspensionHoldsInEveryReplica: two replicas on one database; the agent's
// token, verified and remembered by the second, moves no money there from the moment the first
// suspends the agent (the ledger froze its wallet: ACCOUNT_SUSPENDED, or AGENT_SUSPENDED), and
// every request of it is refused AGENT_SUSPENDED there within registry.AgentStatusStaleness
// (the second replica's memory of the agent's status).
func TestAgentStatus_ASuspensionHoldsInEveryReplica(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ids := t.TempDir()
		shared := func(c *config.Config) { c.IdentityDir = ids }
		a := newStack(t, db, withGenesis, shared)
		b := newStack(t, db, withGenesis, shared)
		ada := a.register("ada@example.com", true)
		payer, payee := a.registerAgent(ada, "Payer Agent"), a.registerAgent(ada, "Payee Agent")
		tok := bearer(a.clientToken(payer).want(t, 200, "").str("access_token"))
		pay := map[string]any{"to": payee.ID, "amount": "1"}
		b.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 201, "")
		hold := map[string]any{"to": payee.ID, "amount": "1", "timeout_seconds": 60}
		b.do("GET", "/api/v1/agents/me", nil, tok).want(t, 200, "")
		a.do("POST", "/api/v1/agents/"+payer.ID+"/status", map[string]any{"status": "suspended"}, bearer(ada.Access)).want(t, 200, "")
		a.do("GET", "/api/v1/agents/me", nil, tok).want(t, 403, "AGENT_SUSPENDED") // the replica that suspended: at once
		for _, r := range []resp{b.do("POST", "/api/v1/token/transfer", pay, tok), b.do("POST", "/api/v1/token/pending", hold, tok)} {
			if code := r.code(); r.Status != 403 || (code != "AGENT_SUSPENDED" && code != "ACCOUNT_SUSPENDED") {
				t.Fatalf("money of a suspended agent on another replica: %d %s", r.Status, r.Raw)
			}
		}
		time.Sleep(registry.AgentStatusStaleness)
		b.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 403, "AGENT_SUSPENDED")
		b.do("POST", "/api/v1/token/pending", hold, tok).want(t, 403, "AGENT_SUSPENDED")
		b.do("GET", "/api/v1/agents/me", nil, tok).want(t, 403, "AGENT_SUSPENDED")
	})
}

// TestAgentStatus_OnlyTheSuspendingAuthorityLiftsIt: an owner cannot undo an admin's
// suspension (nor turn it into its own by suspending again); an admin can undo the owner's;
// a card update cannot give a suspended or revoked agent's card another status.
func TestAgentStatus_OnlyTheSuspendingAuthorityLiftsIt(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		ada := s.register("ada@example.com", true)
		agent := s.registerAgent(ada, "Held Agent")
		owner, admin := bearer(ada.Access), bearer(s.adminKey)
		status := func(who hdr, st string) resp {
			return s.do("POST", "/api/v1/agents/"+agent.ID+"/status", map[string]any{"status": st}, who)
		}

		// The owner's own suspension: the owner lifts it.
		if r := status(owner, "suspended").want(t, 200, ""); r.str("suspended_by") != "owner" {
			t.Fatalf("owner's suspension: %s", r.Raw)
		}
		status(owner, "active").want(t, 200, "")

		// An admin's suspension: the owner cannot lift it, even by suspending again first.
		if r := status(admin, "suspended").want(t, 200, ""); r.str("suspended_by") != "admin" {
			t.Fatalf("admin's suspension: %s", r.Raw)
		}
		r := status(owner, "active").want(t, 403, "AGENT_SUSPENDED_BY_ADMIN")
		if r.Body["error"].(map[string]any)["message"] != "the agent was suspended by an admin: only that authority or a higher one can reactivate it" {
			t.Fatalf("message: %s", r.Raw)
		}
		if r := status(owner, "suspended").want(t, 200, ""); r.str("suspended_by") != "admin" {
			t.Fatalf("owner's second suspension took over the admin's: %s", r.Raw)
		}
		status(owner, "active").want(t, 403, "AGENT_SUSPENDED_BY_ADMIN")
		s.clientToken(agent).want(t, 403, "AGENT_SUSPENDED")

		// The card follows the agent: no PUT publishes it again.
		path := "/api/v1/agent-cards/" + agent.ID
		body := func(st string) map[string]any {
			b := map[string]any{"card_data": card("Held Agent", "Updated while suspended", "held")}
			if st != "" {
				b["status"] = st
			}
			return b
		}
		for _, st := range []string{"active", "inactive", "revoked"} {
			if r := s.do("PUT", path, body(st), owner).want(t, 409, "AGENT_SUSPENDED"); r.details()["field"] != "status" {
				t.Fatalf("PUT status %s: %s", st, r.Raw)
			}
		}
		s.do("PUT", path, body("active"), admin).want(t, 409, "AGENT_SUSPENDED")
		if r := s.do("PUT", path, body(""), owner).want(t, 200, ""); r.str("status") != "suspended" {
			t.Fatalf("PUT without status: %s", r.Raw)
		}
		s.do("PUT", path, body("suspended"), owner).want(t, 200, "")
		if r := s.do("GET", path, nil).want(t, 200, ""); r.str("status") != "suspended" {
			t.Fatalf("card: %s", r.Raw)
		}

		// The admin lifts its own suspension; the card is active again and updates freely.
		if r := status(admin, "active").want(t, 200, ""); r.str("suspended_by") != "" {
			t.Fatalf("reactivated: %s", r.Raw)
		}
		if r := s.do("GET", path, nil).want(t, 200, ""); r.str("status") != "active" {
			t.Fatalf("card after reactivation: %s", r.Raw)
		}
		s.clientToken(agent).want(t, 200, "")

		// An admin lifts the owner's suspension too.
		status(owner, "suspended").want(t, 200, "")
		status(admin, "active").want(t, 200, "")

		// Revoked: final, and its card stays revoked.
		status(owner, "revoked").want(t, 200, "")
		s.do("PUT", path, body("active"), owner).want(t, 409, "AGENT_REVOKED")
		s.do("PUT", path, body(""), owner).want(t, 200, "")
		status(admin, "active").want(t, 409, "AGENT_REVOKED")
	}, withGenesis)
}

// TestAgentStatus_SplitModeFreezesTheWallet: in split mode the TEG knows no agent statuses, so
// the registry freezes the agent's wallet on the TEG before it suspends or revokes the agent
// (and unfreezes it after reactivating): a JWT-SVID presented to the TEG directly moves no
// money meanwhile. With the TEG out of reach nothing changes: 503 TEG_UNAVAILABLE.
func TestAgentStatus_SplitModeFreezesTheWallet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sp := newSplit(t, db, 0)
		sp.mint(t, "1000")
		regDB := secondDB(t, db)
		quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
		newRegistry := func(tegURL string) *stack {
			cfg := splitConfig(t, 0)
			cfg.TEGURL = tegURL
			cfg.Onboarding.StartingGrant = "100" // split mode grants nothing unless configured
			srv, err := server.New(context.Background(), server.Options{Config: cfg, DB: regDB, Role: server.RoleRegistry, Issuer: sp.ca,
				PasswordParams: fastPasswords, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv.Handler())
			t.Cleanup(func() { hs.Close(); srv.Close() })
			return &stack{t: t, srv: hs, server: srv, adminKey: srv.AdminKey}
		}
		reg := newRegistry(sp.tegMTLS)
		owner := developer{Access: reg.adminKey}
		payer, payee := reg.registerAgent(owner, "Split Payer"), reg.registerAgent(owner, "Split Payee")
		tegStack := &stack{t: t, srv: sp.tegHTTP, server: sp.teg, adminKey: sp.tegKey}
		tok := tegStack.agentToken(payer.ID, "")
		pay := map[string]any{"to": payee.ID, "amount": "1"}
		status := func(r *stack, st string) resp {
			return r.do("POST", "/api/v1/agents/"+payer.ID+"/status", map[string]any{"status": st}, bearer(reg.adminKey))
		}

		tegStack.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 201, "")
		status(reg, "suspended").want(t, 200, "")
		tegStack.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 403, "ACCOUNT_SUSPENDED")
		tegStack.do("POST", "/api/v1/token/pending", map[string]any{"to": payee.ID, "amount": "1", "timeout_seconds": 60}, tok).want(t, 403, "ACCOUNT_SUSPENDED")
		status(reg, "active").want(t, 200, "")
		tegStack.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 201, "")

		// A replica of the registry that cannot reach the TEG changes nothing.
		cut := newRegistry("https://127.0.0.1:1")
		status(cut, "suspended").want(t, 503, "TEG_UNAVAILABLE")
		reg.clientToken(payer).want(t, 200, "")
		if r := reg.do("GET", "/api/v1/agent-cards/"+payer.ID, nil).want(t, 200, ""); r.str("status") != "active" {
			t.Fatalf("card after the failed suspension: %s", r.Raw)
		}
		tegStack.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 201, "")
		// Reactivating without the TEG: the agent is put back as it was (suspended).
		status(reg, "suspended").want(t, 200, "")
		status(cut, "active").want(t, 503, "TEG_UNAVAILABLE")
		reg.clientToken(payer).want(t, 403, "AGENT_SUSPENDED")
		tegStack.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 403, "ACCOUNT_SUSPENDED")
		status(reg, "active").want(t, 200, "")
		tegStack.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 201, "")

		status(reg, "revoked").want(t, 200, "")
		tegStack.do("POST", "/api/v1/token/transfer", pay, tok).want(t, 403, "ACCOUNT_REVOKED")
	})
}
