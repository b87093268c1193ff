package registrysql_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
)

// fakeWallets records wallet creations (the TEG has its own tests; onboarding's contract is
// that it asks for exactly one wallet per agent, inside the registration).
type fakeWallets struct {
	mu      sync.Mutex
	created map[string]avt.Amount
	fail    atomic.Bool
	// statusOf, when set, has SetWalletStatus record each call with the agent's status then.
	statusOf func(ctx context.Context, agentID string) (string, error)
	calls    []walletCall
}

func (w *fakeWallets) CreateWallet(_ context.Context, agentID string, grant avt.Amount) error {
	if w.fail.Load() {
		return errors.New("dial tcp: connection refused")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.created[agentID]; !ok {
		w.created[agentID] = grant
	}
	return nil
}

func (w *fakeWallets) SetWalletStatus(ctx context.Context, agentID, status string, at time.Time) error {
	if w.fail.Load() {
		return errors.New("dial tcp: connection refused")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.statusOf != nil {
		agent, _ := w.statusOf(ctx, agentID)
		w.calls = append(w.calls, walletCall{status: status, at: at, agentWas: agent})
	}
	return nil
}

func (w *fakeWallets) WalletHistory(context.Context, string, uint64, int) ([]teg.Transfer, error) {
	return nil, nil
}

func (w *fakeWallets) WalletBalance(_ context.Context, agentID string) (registry.WalletBalance, error) {
	if w.fail.Load() {
		return registry.WalletBalance{}, errors.New("dial tcp: connection refused")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return registry.WalletBalance{Liquid: w.created[agentID], Total: w.created[agentID]}, nil
}

// walletCall is a SetWalletStatus call and the agent's status when it came.
type walletCall struct {
	status, agentWas string
	at               time.Time
}

type onboardingEnv struct {
	svc     *registry.Onboarding
	cards   *registry.Cards
	issuer  *identity.Builtin
	wallets *fakeWallets
	clock   *clock
	dev     policy.Subject
	teg     spiffeid.ID
}

func newOnboardingEnv(t *testing.T, db *store.DB, opts ...func(*registry.OnboardingConfig)) *onboardingEnv {
	td := spiffeid.RequireTrustDomainFromString("sovereign.test")
	issuer, err := identity.NewBuiltin(t.TempDir(), td)
	if err != nil {
		t.Fatal(err)
	}
	ck := &clock{t: time.Now().UTC()}
	authz := policy.New()
	cards := registry.NewCards(registry.CardsConfig{Store: registrysql.NewCards(db), Authz: authz, Host: "reg.test", Now: ck.Now})
	if _, err := cards.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := &fakeWallets{created: map[string]avt.Amount{}}
	teg, _ := identity.TEGID(td)
	oc := registry.OnboardingConfig{Store: registrysql.NewOnboarding(db), Cards: cards, Authz: authz,
		Issuer: issuer, Wallets: w, StartingGrant: avt.MustParse("100"), Audience: []string{teg.String()}, Now: ck.Now}
	for _, o := range opts {
		o(&oc)
	}
	svc := registry.NewOnboarding(oc)
	return &onboardingEnv{svc: svc, cards: cards, issuer: issuer, wallets: w, clock: ck, dev: newDeveloper(t, db, "dev_ada", true), teg: teg}
}

type agentKey struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newAgentKey() agentKey {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	return agentKey{pub, priv}
}

func (k agentKey) jwk() map[string]any {
	return map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(k.pub)}
}

func (k agentKey) input(token, name string) registry.AgentRegistration {
	return registry.AgentRegistration{Card: testCard(name, "An onboarded agent", map[string][]string{"work": {"onboarding"}}, false),
		PublicKey: k.jwk(), Proof: base64.RawURLEncoding.EncodeToString(ed25519.Sign(k.priv, []byte(token)))}
}

func TestOnboarding_TheWholeFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOnboardingEnv(t, db)
		ctx := context.Background()
		bt, token, err := e.svc.RequestBootstrapToken(ctx, e.dev)
		if err != nil || !strings.HasPrefix(token, "bst_") || bt.ExpiresAt.Sub(bt.CreatedAt) != 5*time.Minute {
			t.Fatalf("token %+v %q %v", bt, token, err)
		}
		if out, err := e.svc.BootstrapTokens(ctx, e.dev); err != nil || len(out) != 1 || out[0].Hash == token {
			t.Fatalf("outstanding %+v %v", out, err)
		}
		k := newAgentKey()
		in := k.input(token, "Onboarded Agent")
		tlsKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, tlsKey)
		in.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
		reg, err := e.svc.Register(ctx, token, in)
		if err != nil {
			t.Fatal(err)
		}
		a := reg.Agent
		if a.DID != identity.DIDKey(k.pub) || a.SPIFFEID != "spiffe://sovereign.test/agent/"+a.ID || !strings.HasPrefix(reg.ClientSecret, "avcs_") ||
			a.SecretHash == reg.ClientSecret || !strings.Contains(reg.SVID, "BEGIN CERTIFICATE") {
			t.Fatalf("registration %+v", reg)
		}
		if e.wallets.created[a.ID].String() != "100" {
			t.Fatalf("wallets %v", e.wallets.created)
		}
		c, err := e.cards.Get(ctx, a.ID)
		if err != nil || c.OwnerID != e.dev.ID || c.AgentDID != a.DID || c.SPIFFEID != a.SPIFFEID {
			t.Fatalf("card %+v %v", c, err)
		}
		if res, err := e.cards.Search(ctx, policy.Subject{}, discovery.Query{Text: "onboarded"}, false); err != nil || len(res.Cards) != 1 {
			t.Fatalf("discover %+v %v", res, err)
		}
		// The token is spent.
		_, err = e.svc.Register(ctx, token, k.input(token, "Again"))
		wantCode(t, err, "INVALID_BOOTSTRAP_TOKEN")
		if out, _ := e.svc.BootstrapTokens(ctx, e.dev); len(out) != 0 {
			t.Fatalf("spent token still outstanding: %+v", out)
		}

		// Client credentials → a JWT-SVID for the agent.
		jwt, exp, err := e.svc.AgentToken(ctx, a.ClientID, reg.ClientSecret)
		if err != nil || exp.Sub(e.clock.Now()) != 5*time.Minute {
			t.Fatalf("agent token %v %v", exp, err)
		}
		id, _, err := identity.VerifyJWTSVID(ctx, e.issuer, jwt, e.teg)
		if err != nil || id.String() != a.SPIFFEID {
			t.Fatalf("JWT-SVID %v %v", id, err)
		}
		_, _, err = e.svc.AgentToken(ctx, a.ClientID, "avcs_"+strings.Repeat("A", 43))
		wantCode(t, err, "INVALID_CLIENT")
		// A token for one agent: valid for it, not for the TEG.
		other := "agt_" + strings.Repeat("0", 25) + "1"
		scoped, _, err := e.svc.AgentToken(ctx, a.ClientID, reg.ClientSecret, other)
		if err != nil {
			t.Fatal(err)
		}
		otherID, _ := identity.AgentID(e.issuer.TrustDomain(), other)
		if _, _, err := identity.VerifyJWTSVID(ctx, e.issuer, scoped, otherID); err != nil {
			t.Fatalf("scoped token for %s: %v", other, err)
		}
		if _, _, err := identity.VerifyJWTSVID(ctx, e.issuer, scoped, e.teg); err == nil {
			t.Fatal("a token scoped to an agent verified for the TEG")
		}
		for _, bad := range [][]string{{"bob"}, {"spiffe://elsewhere.test/agent/x"}, {"a", "b", "c", "d", "e"}} {
			_, _, err = e.svc.AgentToken(ctx, a.ClientID, reg.ClientSecret, bad...)
			wantCode(t, err, "INVALID_AUDIENCE")
		}
		_, _, err = e.svc.AgentToken(ctx, "agc_nope", reg.ClientSecret)
		wantCode(t, err, "INVALID_CLIENT")

		// Heartbeats; silence marks the card inactive in discovery, a heartbeat brings it back.
		agent := policy.Subject{Kind: policy.KindAgent, ID: a.ID, SPIFFEID: a.SPIFFEID}
		if _, err := e.svc.Heartbeat(ctx, agent); err != nil {
			t.Fatal(err)
		}
		if n, err := e.svc.MarkStale(ctx, 30*time.Second); err != nil || n != 0 {
			t.Fatalf("fresh agent marked stale: %d %v", n, err)
		}
		e.clock.Advance(2 * time.Minute)
		if n, err := e.svc.MarkStale(ctx, 30*time.Second); err != nil || n != 1 {
			t.Fatalf("stale: %d %v", n, err)
		}
		if _, err := e.cards.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if res, _ := e.cards.Search(ctx, policy.Subject{}, discovery.Query{Text: "onboarded"}, false); len(res.Cards) != 0 {
			t.Fatalf("stale agent still discovered as active")
		}
		if res, _ := e.cards.Search(ctx, policy.Subject{}, discovery.Query{Text: "onboarded", Statuses: []string{"inactive"}}, false); len(res.Cards) != 1 {
			t.Fatalf("stale agent not found as inactive")
		}
		if _, err := e.svc.Heartbeat(ctx, agent); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cards.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if res, _ := e.cards.Search(ctx, policy.Subject{}, discovery.Query{Text: "onboarded"}, false); len(res.Cards) != 1 {
			t.Fatalf("agent back from silence not active")
		}
		_, err = e.svc.Heartbeat(ctx, e.dev)
		wantCode(t, err, "AGENT_ONLY")

		// Secret rotation: the old secret stops working.
		secret, err := e.svc.RotateSecret(ctx, agent)
		if err != nil || secret == reg.ClientSecret {
			t.Fatalf("rotate %q %v", secret, err)
		}
		_, _, err = e.svc.AgentToken(ctx, a.ClientID, reg.ClientSecret)
		wantCode(t, err, "INVALID_CLIENT")
		if _, _, err := e.svc.AgentToken(ctx, a.ClientID, secret); err != nil {
			t.Fatal(err)
		}

		// Suspension: no tokens, out of discovery; reactivation; revocation is final.
		bob := newDeveloper(t, db, "dev_bob", true)
		_, err = e.svc.SetAgentStatus(ctx, bob, a.ID, registry.AgentSuspended)
		wantCode(t, err, "FORBIDDEN")
		if _, err := e.svc.SetAgentStatus(ctx, e.dev, a.ID, registry.AgentSuspended); err != nil {
			t.Fatal(err)
		}
		_, _, err = e.svc.AgentToken(ctx, a.ClientID, secret)
		wantCode(t, err, "AGENT_SUSPENDED")
		_, err = e.svc.Heartbeat(ctx, agent)
		wantCode(t, err, "AGENT_SUSPENDED")
		wantCode(t, e.svc.AgentActive(ctx, a.ID), "AGENT_SUSPENDED")
		if _, err := e.cards.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if res, _ := e.cards.Search(ctx, policy.Subject{}, discovery.Query{Text: "onboarded"}, false); len(res.Cards) != 0 {
			t.Fatalf("suspended agent still discovered")
		}
		if _, err := e.svc.SetAgentStatus(ctx, e.dev, a.ID, registry.AgentActive); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.AgentToken(ctx, a.ClientID, secret); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.SetAgentStatus(ctx, e.dev, a.ID, "sleeping")
		wantCode(t, err, "INVALID_FIELD")
		if _, err := e.svc.SetAgentStatus(ctx, e.dev, a.ID, registry.AgentRevoked); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.SetAgentStatus(ctx, e.dev, a.ID, registry.AgentActive)
		wantCode(t, err, "AGENT_REVOKED")
		wantCode(t, e.svc.AgentActive(ctx, a.ID), "AGENT_REVOKED")
		if err := e.svc.AgentActive(ctx, "agt_opened_by_hand"); err != nil {
			t.Fatalf("an agent the registry does not know: %v", err)
		}
		_, err = e.svc.SetAgentStatus(ctx, e.dev, "agt_nope", registry.AgentActive)
		wantCode(t, err, "AGENT_NOT_FOUND")
	})
}

// countAgentsAndCards counts the rows of agents and agent_cards.
func countAgentsAndCards(db *store.DB) (agents, cards int) {
	_ = db.Reader().QueryRow(`SELECT count(*) FROM agents`).Scan(&agents)
	_ = db.Reader().QueryRow(`SELECT count(*) FROM agent_cards`).Scan(&cards)
	return agents, cards
}

func TestOnboarding_OneTokenManyRegistrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOnboardingEnv(t, db)
		ctx := context.Background()
		_, token, err := e.svc.RequestBootstrapToken(ctx, e.dev)
		if err != nil {
			t.Fatal(err)
		}
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := newAgentKey()
				_, err := e.svc.Register(ctx, token, k.input(token, "Racer"))
				switch {
				case err == nil:
					ok.Add(1)
				case strings.Contains(err.Error(), "INVALID_BOOTSTRAP_TOKEN"):
					refused.Add(1)
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || refused.Load() != 99 || len(e.wallets.created) != 1 {
			t.Fatalf("ok %d refused %d wallets %d", ok.Load(), refused.Load(), len(e.wallets.created))
		}
		agents, cards := countAgentsAndCards(db)
		if agents != 1 || cards != 1 {
			t.Fatalf("agents %d cards %d", agents, cards)
		}
	})
}

func TestOnboarding_FailuresLeaveNothingBehind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOnboardingEnv(t, db)
		ctx := context.Background()
		_, token, err := e.svc.RequestBootstrapToken(ctx, e.dev)
		if err != nil {
			t.Fatal(err)
		}
		k := newAgentKey()
		// The TEG is down: nothing registered, the token still good.
		e.wallets.fail.Store(true)
		_, err = e.svc.Register(ctx, token, k.input(token, "Unlucky"))
		wantCode(t, err, "TEG_UNAVAILABLE")
		agents, cards := countAgentsAndCards(db)
		if agents != 0 || cards != 0 {
			t.Fatalf("left behind: agents %d cards %d", agents, cards)
		}
		e.wallets.fail.Store(false)

		bad := k.input(token, "Bad")
		bad.Proof = base64.RawURLEncoding.EncodeToString(ed25519.Sign(newAgentKey().priv, []byte(token)))
		_, err = e.svc.Register(ctx, token, bad)
		wantCode(t, err, "INVALID_PROOF")
		bad = k.input(token, "Bad")
		bad.PublicKey = map[string]any{"kty": "EC", "crv": "P-256", "x": "AA"}
		_, err = e.svc.Register(ctx, token, bad)
		wantCode(t, err, "INVALID_PUBLIC_KEY")
		bad = k.input(token, "Bad")
		bad.CSR = "not a csr"
		_, err = e.svc.Register(ctx, token, bad)
		wantCode(t, err, "INVALID_CSR")
		bad = k.input(token, "Bad")
		bad.Card = []byte(`{"name":"x"}`)
		_, err = e.svc.Register(ctx, token, bad)
		wantCode(t, err, "MISSING_FIELD")
		_, err = e.svc.Register(ctx, "bst_garbage", k.input(token, "Bad"))
		wantCode(t, err, "INVALID_BOOTSTRAP_TOKEN")

		// After all that, the token still registers the agent.
		if _, err := e.svc.Register(ctx, token, k.input(token, "Lucky")); err != nil {
			t.Fatal(err)
		}
		// The same key again (another token): its DID is taken.
		_, token2, _ := e.svc.RequestBootstrapToken(ctx, e.dev)
		_, err = e.svc.Register(ctx, token2, k.input(token2, "Twin"))
		wantCode(t, err, "KEY_IN_USE")

		// Expiry and revocation.
		_, token3, _ := e.svc.RequestBootstrapToken(ctx, e.dev)
		e.clock.Advance(6 * time.Minute)
		_, err = e.svc.Register(ctx, token3, newAgentKey().input(token3, "Late"))
		wantCode(t, err, "INVALID_BOOTSTRAP_TOKEN")
		bt4, token4, _ := e.svc.RequestBootstrapToken(ctx, e.dev)
		if err := e.svc.RevokeBootstrapToken(ctx, e.dev, bt4.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.RevokeBootstrapToken(ctx, e.dev, bt4.ID), "BOOTSTRAP_TOKEN_NOT_FOUND")
		_, err = e.svc.Register(ctx, token4, newAgentKey().input(token4, "Revoked"))
		wantCode(t, err, "INVALID_BOOTSTRAP_TOKEN")

		// Only verified developers get tokens.
		eve := newDeveloper(t, db, "dev_eve", false)
		_, _, err = e.svc.RequestBootstrapToken(ctx, eve)
		wantCode(t, err, "FORBIDDEN")
	})
}

// Two agents registered with the same card name get different URN names, on both dialects (a
// clash inside the registration's transaction must not abort it).
func TestOnboarding_SameNameTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOnboardingEnv(t, db)
		ctx := context.Background()
		var slugs []string
		for range 2 {
			_, token, err := e.svc.RequestBootstrapToken(ctx, e.dev)
			if err != nil {
				t.Fatal(err)
			}
			reg, err := e.svc.Register(ctx, token, newAgentKey().input(token, "Twin Agent"))
			if err != nil {
				t.Fatal(err)
			}
			slugs = append(slugs, reg.Card.Slug)
		}
		if slugs[0] != "twin-agent" || slugs[1] == slugs[0] {
			t.Fatalf("slugs %v", slugs)
		}
	})
}

// TestOnboarding_StatusChangesAreCompareAndSet: a status change applies only to the state it was
// decided on, so an owner's reactivation decided before an admin's suspension landed cannot
// undo it; who suspended is stored with the status.
func TestOnboarding_StatusChangesAreCompareAndSet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOnboardingEnv(t, db)
		ctx := context.Background()
		_, token, err := e.svc.RequestBootstrapToken(ctx, e.dev)
		if err != nil {
			t.Fatal(err)
		}
		reg, err := e.svc.Register(ctx, token, newAgentKey().input(token, "Held Agent"))
		if err != nil {
			t.Fatal(err)
		}
		st := registrysql.NewOnboarding(db)
		active := registry.AgentState{Status: registry.AgentActive}
		byAdmin := registry.AgentState{Status: registry.AgentSuspended, SuspendedBy: policy.AuthorityAdmin}
		if err := st.SetAgentStatus(ctx, reg.Agent.ID, active, byAdmin, time.Now()); err != nil {
			t.Fatal(err)
		}
		byOwner := registry.AgentState{Status: registry.AgentSuspended, SuspendedBy: policy.AuthorityOwner}
		wantCode(t, st.SetAgentStatus(ctx, reg.Agent.ID, byOwner, active, time.Now()), "AGENT_STATUS_CHANGED")
		wantCode(t, st.SetAgentStatus(ctx, reg.Agent.ID, active, byOwner, time.Now()), "AGENT_STATUS_CHANGED")
		a, err := st.Agent(ctx, reg.Agent.ID)
		if err != nil || a.Status != registry.AgentSuspended || a.SuspendedBy != policy.AuthorityAdmin {
			t.Fatalf("agent %+v %v", a, err)
		}
		if s, err := st.AgentStatus(ctx, reg.Agent.ID); err != nil || s != registry.AgentSuspended {
			t.Fatalf("AgentStatus %q %v", s, err)
		}
		_, err = st.AgentStatus(ctx, "agt_nope")
		wantCode(t, err, "AGENT_NOT_FOUND")
	})
}

// TestOnboarding_WalletFollowsTheAgent: a suspension freezes the wallet before the agent is
// suspended (and once more after, with another change id); a reactivation unfreezes it after
// the agent is active; a TEG that fails leaves the agent as it was.
func TestOnboarding_WalletFollowsTheAgent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOnboardingEnv(t, db)
		ctx := context.Background()
		_, token, err := e.svc.RequestBootstrapToken(ctx, e.dev)
		if err != nil {
			t.Fatal(err)
		}
		reg, err := e.svc.Register(ctx, token, newAgentKey().input(token, "Frozen Agent"))
		if err != nil {
			t.Fatal(err)
		}
		id := reg.Agent.ID
		e.wallets.statusOf = registrysql.NewOnboarding(db).AgentStatus
		calls := func() []walletCall {
			e.wallets.mu.Lock()
			defer e.wallets.mu.Unlock()
			c := e.wallets.calls
			e.wallets.calls = nil
			return c
		}

		if _, err := e.svc.SetAgentStatus(ctx, e.dev, id, registry.AgentSuspended); err != nil {
			t.Fatal(err)
		}
		c := calls()
		if len(c) != 2 || c[0].status != "suspended" || c[0].agentWas != "active" || c[1].status != "suspended" ||
			c[1].agentWas != "suspended" || !c[1].at.After(c[0].at) {
			t.Fatalf("suspension: %+v", c)
		}
		if _, err := e.svc.SetAgentStatus(ctx, e.dev, id, registry.AgentActive); err != nil {
			t.Fatal(err)
		}
		if c := calls(); len(c) != 1 || c[0].status != "active" || c[0].agentWas != "active" {
			t.Fatalf("reactivation: %+v", c)
		}
		if _, err := e.svc.SetAgentStatus(ctx, e.dev, id, registry.AgentActive); err != nil || len(calls()) != 0 {
			t.Fatalf("active again: the wallet is not touched (%v)", err)
		}

		e.wallets.fail.Store(true)
		_, err = e.svc.SetAgentStatus(ctx, e.dev, id, registry.AgentSuspended)
		wantCode(t, err, "TEG_UNAVAILABLE")
		wantCode(t, e.svc.AgentActive(ctx, id), "")
		e.wallets.fail.Store(false)
		if _, err := e.svc.SetAgentStatus(ctx, e.dev, id, registry.AgentSuspended); err != nil {
			t.Fatal(err)
		}
		e.wallets.fail.Store(true)
		_, err = e.svc.SetAgentStatus(ctx, e.dev, id, registry.AgentActive)
		wantCode(t, err, "TEG_UNAVAILABLE")
		wantCode(t, e.svc.AgentActive(ctx, id), "AGENT_SUSPENDED")
		if a, _ := registrysql.NewOnboarding(db).Agent(ctx, id); a.SuspendedBy != policy.AuthorityOwner {
			t.Fatalf("the undone reactivation lost who suspended: %+v", a)
		}
	})
}

// TestOnboarding_GrantCapRollingWindow: a developer's starting grants are capped over a rolling
// GrantWindow, counted from the store; a registration released after a failure does not count;
// past the cap an agent registers without a grant and the result says why.
func TestOnboarding_GrantCapRollingWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		limit := avt.MustParse("250")
		e := newOnboardingEnv(t, db, func(c *registry.OnboardingConfig) { c.GrantDailyCap = &limit })
		ctx := context.Background()
		register := func(wantGrant, wantReason string) {
			t.Helper()
			_, token, err := e.svc.RequestBootstrapToken(ctx, e.dev)
			if err != nil {
				t.Fatal(err)
			}
			reg, err := e.svc.Register(ctx, token, newAgentKey().input(token, "Capped"))
			if err != nil {
				t.Fatal(err)
			}
			if reg.Grant.String() != wantGrant || reg.GrantReason != wantReason || e.wallets.created[reg.Agent.ID].String() != wantGrant {
				t.Fatalf("grant %s (%q), wallet %s; want %s (%q)", reg.Grant, reg.GrantReason, e.wallets.created[reg.Agent.ID], wantGrant, wantReason)
			}
		}
		// A registration the TEG fails is released: its grant is not counted.
		_, token, _ := e.svc.RequestBootstrapToken(ctx, e.dev)
		e.wallets.fail.Store(true)
		_, err := e.svc.Register(ctx, token, newAgentKey().input(token, "Unlucky"))
		wantCode(t, err, "TEG_UNAVAILABLE")
		e.wallets.fail.Store(false)

		register("100", "")
		register("100", "")
		register("0", registry.GrantDailyCapReached) // 300 > 250
		e.clock.Advance(registry.GrantWindow - time.Minute)
		register("0", registry.GrantDailyCapReached) // the first two are still in the window
		e.clock.Advance(2 * time.Minute)
		register("100", "") // they are out of it
		register("100", "") // 200
		register("0", registry.GrantDailyCapReached)
	})
}

// TestOnboarding_NoStartingGrant: a registry without a starting grant says so.
func TestOnboarding_NoStartingGrant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOnboardingEnv(t, db, func(c *registry.OnboardingConfig) { c.StartingGrant = avt.Amount{} })
		ctx := context.Background()
		_, token, _ := e.svc.RequestBootstrapToken(ctx, e.dev)
		reg, err := e.svc.Register(ctx, token, newAgentKey().input(token, "Ungranted"))
		if err != nil || !reg.Grant.IsZero() || reg.GrantReason != registry.GrantNoneConfigured {
			t.Fatalf("registration %+v, %v", reg, err)
		}
	})
}

func TestOnboarding_DevelopersReadTheirAgents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOnboardingEnv(t, db)
		ctx := context.Background()
		var ids []string
		for _, name := range []string{"Listed One", "Listed Two", "Listed Three"} {
			_, token, err := e.svc.RequestBootstrapToken(ctx, e.dev)
			if err != nil {
				t.Fatal(err)
			}
			reg, err := e.svc.Register(ctx, token, newAgentKey().input(token, name))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, reg.Agent.ID)
		}
		// A registration in progress is nobody's agent yet.
		_, pendingToken, _ := e.svc.RequestBootstrapToken(ctx, e.dev)
		pending := &registry.Agent{ID: "agt_" + strings.Repeat("9", 26), DeveloperID: e.dev.ID, PublicKey: newAgentKey().pub, DID: "did:key:zpending", SPIFFEID: "spiffe://sovereign.test/agent/pending",
			ClientID: "agc_pending", SecretHash: "x", Status: registry.AgentPending, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
		if err := registrysql.NewOnboarding(db).ReserveAgent(ctx, credential.HashSecret(pendingToken), e.clock.Now(), pending, func(g avt.Amount) avt.Amount { return g }); err != nil {
			t.Fatal(err)
		}

		all, err := e.svc.Agents(ctx, e.dev, "", 10)
		if err != nil || len(all) != 3 || all[0].ID != ids[0] || all[2].ID != ids[2] {
			t.Fatalf("agents %+v %v", all, err)
		}
		if page, err := e.svc.Agents(ctx, e.dev, ids[0], 1); err != nil || len(page) != 1 || page[0].ID != ids[1] {
			t.Fatalf("page after %s: %+v %v", ids[0], page, err)
		}
		a, err := e.svc.Agent(ctx, e.dev, ids[1])
		if err != nil || a.ID != ids[1] || a.DeveloperID != e.dev.ID {
			t.Fatalf("agent %+v %v", a, err)
		}
		_, b, err := e.svc.AgentBalance(ctx, e.dev, ids[1])
		if err != nil || b.Liquid.String() != "100" {
			t.Fatalf("balance %+v %v", b, err)
		}

		// Another developer sees none of them, and reads none; an admin reads any.
		bob := newDeveloper(t, db, "dev_bob", true)
		if mine, err := e.svc.Agents(ctx, bob, "", 10); err != nil || len(mine) != 0 {
			t.Fatalf("bob's agents %+v %v", mine, err)
		}
		_, err = e.svc.Agent(ctx, bob, ids[1])
		wantCode(t, err, "FORBIDDEN")
		_, _, err = e.svc.AgentBalance(ctx, bob, ids[1])
		wantCode(t, err, "FORBIDDEN")
		admin := policy.Subject{Kind: policy.KindDeveloper, ID: "dev_root", Roles: []string{"admin"}, AuthMethod: policy.AuthSession, Verified: true}
		if _, b, err := e.svc.AgentBalance(ctx, admin, ids[1]); err != nil || b.Liquid.String() != "100" {
			t.Fatalf("admin balance %+v %v", b, err)
		}
		// An agent lists no agents; it reads its balance at the TEG, not here.
		agent := policy.Subject{Kind: policy.KindAgent, ID: ids[1]}
		_, err = e.svc.Agents(ctx, agent, "", 10)
		wantCode(t, err, "FORBIDDEN")
		_, _, err = e.svc.AgentBalance(ctx, agent, ids[1])
		wantCode(t, err, "FORBIDDEN")
		_, err = e.svc.Agent(ctx, policy.Subject{Kind: policy.KindAnonymous}, ids[1])
		wantCode(t, err, "AUTHENTICATION_REQUIRED")
		for _, id := range []string{pending.ID, "agt_" + strings.Repeat("1", 26)} {
			_, err = e.svc.Agent(ctx, e.dev, id)
			wantCode(t, err, "AGENT_NOT_FOUND")
		}
		// A TEG out of reach is said so.
		e.wallets.fail.Store(true)
		_, _, err = e.svc.AgentBalance(ctx, e.dev, ids[1])
		wantCode(t, err, "TEG_UNAVAILABLE")
	})
}

// TestOnboarding_AgentStatusInMemory: AgentActive answers from memory; the replica that changes
// an agent's status answers with the change at once, another replica within
// registry.AgentStatusStaleness, and so does a change made by SQL by hand (the agents table's
// triggers move the status generation whoever writes).
func TestOnboarding_AgentStatusInMemory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOnboardingEnv(t, db)
		ctx := context.Background()
		st := registrysql.NewOnboarding(db)
		other := registry.NewOnboarding(registry.OnboardingConfig{Store: st, Cards: e.cards, Authz: policy.New(),
			Issuer: e.issuer, Wallets: e.wallets, Now: e.clock.Now})
		gen := func() int64 {
			g, err := st.AgentStatusGeneration(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		g0 := gen()
		_, token, err := e.svc.RequestBootstrapToken(ctx, e.dev)
		if err != nil {
			t.Fatal(err)
		}
		reg, err := e.svc.Register(ctx, token, newAgentKey().input(token, "Cached Agent"))
		if err != nil {
			t.Fatal(err)
		}
		id := reg.Agent.ID
		if g := gen(); g <= g0 {
			t.Fatalf("a registration did not move the generation: %d → %d", g0, g)
		}
		wantCode(t, e.svc.AgentActive(ctx, id), "")
		wantCode(t, other.AgentActive(ctx, id), "")
		wantCode(t, other.AgentActive(ctx, "agt_unknown"), "") // not the registry's: let through

		g1 := gen()
		if _, err := e.svc.SetAgentStatus(ctx, e.dev, id, registry.AgentSuspended); err != nil {
			t.Fatal(err)
		}
		if g := gen(); g <= g1 {
			t.Fatalf("a suspension did not move the generation: %d → %d", g1, g)
		}
		wantCode(t, e.svc.AgentActive(ctx, id), "AGENT_SUSPENDED") // this replica: at once
		time.Sleep(registry.AgentStatusStaleness)
		wantCode(t, other.AgentActive(ctx, id), "AGENT_SUSPENDED") // another: within the bound

		// SQL by hand, the heartbeat's update (not the status) moves nothing.
		g2 := gen()
		if err := st.Heartbeat(ctx, id, time.Now()); err != nil {
			t.Fatal(err)
		}
		if g := gen(); g != g2 {
			t.Fatalf("a heartbeat moved the generation: %d → %d", g2, g)
		}
		if _, err := db.Write().ExecContext(ctx, `UPDATE agents SET status = 'revoked', suspended_by = '' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		time.Sleep(registry.AgentStatusStaleness)
		wantCode(t, e.svc.AgentActive(ctx, id), "AGENT_REVOKED")
		wantCode(t, other.AgentActive(ctx, id), "AGENT_REVOKED")
	})
}

// TestOnboarding_AgentStatusUnderLoad: requests asking for the status while the agent is
// suspended and reactivated never keep a status older than the last change this replica made:
// once the last change is stored, the replica answers with it.
func TestOnboarding_AgentStatusUnderLoad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOnboardingEnv(t, db)
		ctx := context.Background()
		_, token, err := e.svc.RequestBootstrapToken(ctx, e.dev)
		if err != nil {
			t.Fatal(err)
		}
		reg, err := e.svc.Register(ctx, token, newAgentKey().input(token, "Busy Agent"))
		if err != nil {
			t.Fatal(err)
		}
		id := reg.Agent.ID
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := e.svc.AgentActive(ctx, id); err != nil && apperr.CodeOf(err) != "AGENT_SUSPENDED" {
						t.Error(err)
						return
					}
				}
			}()
		}
		for i := 0; i < 6; i++ {
			status, want := registry.AgentSuspended, "AGENT_SUSPENDED"
			if i%2 == 1 {
				status, want = registry.AgentActive, ""
			}
			if _, err := e.svc.SetAgentStatus(ctx, e.dev, id, status); err != nil {
				t.Fatal(err)
			}
			wantCode(t, e.svc.AgentActive(ctx, id), want)
		}
		close(stop)
		wg.Wait()
	})
}
