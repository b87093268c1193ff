package server_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// fedStack is a registry of its own trust domain (its own builtin CA and database) with its
// federation listener (mutual TLS) running on loopback.
type fedStack struct {
	*stack
	td     string
	fedURL string
}

func newFedStack(t *testing.T, td string, opts ...stackOption) *fedStack {
	t.Helper()
	opts = append([]stackOption{func(c *config.Config) {
		c.TrustDomain = td
		c.Federation.PeerTimeout = 500 * time.Millisecond
		c.Federation.CacheTTL = -1 // the tests of the cache turn it on
	}}, opts...)
	s := newStack(t, storetest.SQLite(t), opts...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.server.ServeFederation(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	s.waitIndexed()
	return &fedStack{stack: s, td: td, fedURL: "https://" + ln.Addr().String()}
}

// propose proposes peer as a peer of s (by a verified developer) and has s's admin approve it.
func (s *fedStack) peerWith(t *testing.T, dev developer, name, td, baseURL, bundleURL string) string {
	t.Helper()
	r := s.do("POST", "/api/v1/federation/peers", map[string]any{"name": name, "base_url": baseURL, "trust_domain": td, "bundle_endpoint": bundleURL},
		bearer(dev.Access)).want(t, 201, "")
	if r.str("state") != "PENDING_APPROVAL" {
		t.Fatalf("proposal state %q", r.str("state"))
	}
	id := r.str("id")
	s.do("POST", "/api/v1/federation/peers/"+id+"/approve", map[string]any{"reason": "known operator"}, bearer(s.adminKey)).want(t, 200, "")
	return id
}

func (s *fedStack) peer(t *testing.T, other *fedStack, dev developer) string {
	t.Helper()
	return s.peerWith(t, dev, other.td, other.td, other.fedURL, other.srv.URL+"/.well-known/spiffe-bundle")
}

// waitBundle waits until s fetched td's bundle.
func (s *fedStack) waitBundle(t *testing.T, td string) {
	t.Helper()
	d := spiffeid.RequireTrustDomainFromString(td)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st, ok := s.server.FederationBundles().Status(d); ok && st.RefreshedAt != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never fetched the bundle of %s", s.td, td)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *fedStack) publish(t *testing.T, dev developer, name, desc string) string {
	t.Helper()
	r := s.do("POST", "/api/v1/agent-cards", map[string]any{"card_data": card(name, desc, "weather")}, bearer(dev.Access)).want(t, 201, "")
	id := r.str("id")
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := s.do("GET", "/api/v1/agent-cards?q="+strings.Fields(desc)[0], nil).want(t, 200, "")
		if strings.Contains(string(res.Raw), id) {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("card %s never indexed", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outcomes maps each direct peer's trust domain to its status (and reason).
func outcomes(r resp) map[string]string {
	out := map[string]string{}
	peers, _ := r.Body["peers"].([]any)
	for _, p := range peers {
		m := p.(map[string]any)
		if m["via"] != nil {
			continue
		}
		out[m["trust_domain"].(string)] = m["status"].(string) + ":" + asString(m["reason"])
	}
	return out
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// items maps "origin/id" of each result to its name.
func items(r resp) map[string]string {
	out := map[string]string{}
	for _, it := range r.Body["items"].([]any) {
		m := it.(map[string]any)
		out[asString(m["origin_registry"])+"/"+m["id"].(string)] = asString(m["name"])
	}
	return out
}

// mtlsClient presents an X.509-SVID for id minted by issuer and trusts servers of trust
// domain serverTD (bundle from serverIssuer).
func mtlsClient(t *testing.T, issuer identity.Issuer, id spiffeid.ID, serverIssuer identity.Issuer) *http.Client {
	t.Helper()
	src, err := identity.NewIssuerSource(context.Background(), issuer, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	b, err := serverIssuer.Bundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := tlsconfig.MTLSClientConfig(src, x509bundle.NewSet(b.X509Bundle()), tlsconfig.AuthorizeAny())
	c.MinVersion = tls.VersionTLS13
	return &http.Client{Transport: &http.Transport{TLSClientConfig: c}, Timeout: 5 * time.Second}
}

// TestFederation_ThreeRegistries: three registries in three trust domains peer with each
// other; a federated search on A finds the cards of B and C, each once, tagged with its origin,
// with a peers section; a dead peer and a hung one are reported and their breakers open.
func TestFederation_ThreeRegistries(t *testing.T) {
	a, b, c := newFedStack(t, "a.test"), newFedStack(t, "b.test"), newFedStack(t, "c.test")
	devA, devB, devC := a.register("ada@a.test", true), b.register("bob@b.test", true), c.register("cyd@c.test", true)
	a.peer(t, b, devA)
	a.peer(t, c, devA)
	b.peer(t, a, devB)
	b.peer(t, c, devB)
	c.peer(t, a, devC)
	c.peer(t, b, devC)
	for _, s := range []*fedStack{a, b, c} {
		for _, o := range []*fedStack{a, b, c} {
			if o != s {
				s.waitBundle(t, o.td)
			}
		}
	}
	local := a.publish(t, devA, "Weather Local", "weather forecasts for A")
	onB := b.publish(t, devB, "Weather Bee", "weather forecasts from B")
	onC := c.publish(t, devC, "Weather Sea", "weather forecasts at sea")

	r := a.do("GET", "/api/v1/agent-cards?q=weather&include_federated=true", nil).want(t, 200, "")
	got := items(r)
	want := map[string]string{"a.test/" + local: "Weather Local", "b.test/" + onB: "Weather Bee", "c.test/" + onC: "Weather Sea"}
	if len(got) != len(want) || len(r.Body["items"].([]any)) != 3 {
		t.Fatalf("federated results %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("federated results %v, want %v", got, want)
		}
	}
	if o := outcomes(r); o["b.test"] != "answered:" || o["c.test"] != "answered:" {
		t.Fatalf("peers %v", o)
	}
	if r.Header.Get("ETag") == "" || r.Body["next_cursor"] != nil {
		t.Fatalf("federated page: ETag %q, next_cursor %v", r.Header.Get("ETag"), r.Body["next_cursor"])
	}
	// Without include_federated: this registry's own card, and the copies sync made of its
	// peers' cards (each tagged with its origin), never a peer asked live.
	got = items(a.do("GET", "/api/v1/agent-cards?q=weather", nil).want(t, 200, ""))
	if got["/"+local] != "Weather Local" {
		t.Fatalf("local search found %v", got)
	}
	for k := range got {
		if k != "/"+local && k != "b.test/"+onB && k != "c.test/"+onC {
			t.Fatalf("local search found %v", got)
		}
	}
	// Health shows on the peer list.
	lst := a.do("GET", "/api/v1/federation/peers", nil, bearer(devA.Access)).want(t, 200, "")
	for _, p := range lst.Body["items"].([]any) {
		m := p.(map[string]any)
		h := m["health"].(map[string]any)
		if m["state"] != "ACTIVE" || h["last_success_at"] == nil || h["breaker"] != "closed" || m["bundle"].(map[string]any)["refreshed_at"] == nil {
			t.Fatalf("peer view %v", m)
		}
	}

	// A dead peer (nothing listens) and a hung one (accepts, never answers).
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "https://" + dead.Addr().String()
	dead.Close()
	hung, _ := net.Listen("tcp", "127.0.0.1:0")
	defer hung.Close()
	go func() {
		for {
			conn, err := hung.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	a.peerWith(t, devA, "dead", "dead.test", deadURL, deadURL+"/.well-known/spiffe-bundle")
	a.peerWith(t, devA, "hung", "hung.test", "https://"+hung.Addr().String(), deadURL+"/.well-known/spiffe-bundle")
	for i := 0; i < 3; i++ {
		r := a.do("GET", "/api/v1/agent-cards?q=weather&include_federated=true", nil).want(t, 200, "")
		if o := outcomes(r); o["dead.test"] != "error:unreachable" || !strings.HasPrefix(o["hung.test"], "timed_out") || o["b.test"] != "answered:" || len(items(r)) != 3 {
			t.Fatalf("query %d: peers %v, items %v", i, o, items(r))
		}
	}
	r = a.do("GET", "/api/v1/agent-cards?q=weather&include_federated=true", nil).want(t, 200, "")
	if o := outcomes(r); o["dead.test"] != "skipped:circuit_open" || o["hung.test"] != "skipped:circuit_open" || len(items(r)) != 3 {
		t.Fatalf("after 3 failures: peers %v", o)
	}
	if h := a.server.FederationFanout().Health("hung.test"); h.Breaker != "open" || h.ConsecutiveErrors != 3 {
		t.Fatalf("hung peer health %+v", h)
	}
}

// TestFederation_PeerIdentity: the live query is for peer registries only: a registry SVID of
// an ACTIVE peer's trust domain is answered, another ID of that domain is refused by the
// policy, a client of an unknown trust domain fails the handshake, plain HTTP is asked to
// authenticate, and a peer whose server presents another trust domain's SVID is an error.
func TestFederation_PeerIdentity(t *testing.T) {
	decisions := filepath.Join(t.TempDir(), "decisions.log")
	a := newFedStack(t, "a.test", func(c *config.Config) { c.DecisionLog = decisions })
	b := newFedStack(t, "b.test")
	devA, devB := a.register("ada@a.test", true), b.register("bob@b.test", true)
	a.peer(t, b, devA)
	b.peer(t, a, devB)
	a.waitBundle(t, "b.test")
	b.publish(t, devB, "Weather Bee", "weather forecasts from B")

	bTD := spiffeid.RequireTrustDomainFromString("b.test")
	regB, _ := identity.RegistryID(bTD, "other")
	agentB, _ := identity.AgentID(bTD, "agt_1")
	q := a.fedURL + "/federation/v1/query?q=weather&limit=5"
	get := func(c *http.Client) resp { return a.doVia(c, a.fedURL, "GET", strings.TrimPrefix(q, a.fedURL), nil) }

	r := get(mtlsClient(t, b.server.Issuer(), regB, a.server.Issuer())).want(t, 200, "")
	if r.str("registry") != "a.test" {
		t.Fatalf("answer %s", r.Raw)
	}
	get(mtlsClient(t, b.server.Issuer(), agentB, a.server.Issuer())).want(t, 403, "PEER_NOT_A_REGISTRY")
	// The refusal is in the decision log: the action, the subject, the denial.
	logged := false
	raw, _ := os.ReadFile(decisions)
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, `"federation.query"`) && strings.Contains(line, "spiffe://b.test/agent/agt_1") && strings.Contains(line, "PEER_NOT_A_REGISTRY") {
			logged = true
		}
	}
	if !logged {
		t.Fatalf("the refusal is not in the decision log:\n%s", raw)
	}
	a.do("GET", "/federation/v1/query?q=weather", nil).want(t, 401, "AUTHENTICATION_REQUIRED")

	// A stranger: its own CA, a trust domain A does not federate with.
	stranger := newFedStack(t, "x.test")
	regX, _ := identity.RegistryID(spiffeid.RequireTrustDomainFromString("x.test"), "main")
	if _, err := mtlsClient(t, stranger.server.Issuer(), regX, a.server.Issuer()).Get(q); err == nil {
		t.Fatal("a registry of an unknown trust domain got through the handshake")
	}
	// The refused handshake is in the decision log too, with the ID the certificate claimed.
	logged = false
	for end := time.Now().Add(2 * time.Second); !logged && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		raw, _ = os.ReadFile(decisions)
		for _, line := range strings.Split(string(raw), "\n") {
			if strings.Contains(line, `"federation.query"`) && strings.Contains(line, `"spiffe_id":"spiffe://x.test/registry/main"`) &&
				strings.Contains(line, `"x509_svid_unverified"`) && strings.Contains(line, `"allow":false`) {
				logged = true
			}
		}
	}
	if !logged {
		t.Fatalf("the refused handshake is not in the decision log:\n%s", raw)
	}

	// A peer entry for e.test whose endpoint is B: B's server SVID is of b.test, refused.
	a.peerWith(t, devA, "impostor", "e.test", b.fedURL, b.srv.URL+"/.well-known/spiffe-bundle")
	a.waitBundle(t, "e.test")
	r = a.do("GET", "/api/v1/agent-cards?q=weather&include_federated=true", nil).want(t, 200, "")
	if o := outcomes(r); o["e.test"] != "error:tls_refused" || o["b.test"] != "answered:" {
		t.Fatalf("peers %v", o)
	}
	if n := len(items(r)); n != 1 {
		t.Fatalf("items %v", items(r))
	}

	// Deactivated: B is no longer asked, and B's registry is refused by A.
	id := ""
	for _, p := range a.do("GET", "/api/v1/federation/peers", nil, bearer(devA.Access)).want(t, 200, "").Body["items"].([]any) {
		if m := p.(map[string]any); m["trust_domain"] == "b.test" {
			id = m["id"].(string)
		}
	}
	a.do("POST", "/api/v1/federation/peers/"+id+"/deactivate", nil, bearer(a.adminKey)).want(t, 200, "")
	if o := outcomes(a.do("GET", "/api/v1/agent-cards?q=weather&include_federated=true", nil).want(t, 200, "")); o["b.test"] != "" {
		t.Fatalf("a deactivated peer was asked: %v", o)
	}
	if _, err := mtlsClient(t, b.server.Issuer(), regB, a.server.Issuer()).Get(q); err == nil {
		t.Fatal("a deactivated peer got through the handshake")
	}
}

// TestFederation_PeerRoutes: each refusal of the peer routes.
func TestFederation_PeerRoutes(t *testing.T) {
	a := newFedStack(t, "a.test")
	dev, unverified := a.register("ada@a.test", true), a.register("eve@a.test", false)
	good := map[string]any{"name": "B", "base_url": "https://b.example:8443", "trust_domain": "b.example", "bundle_endpoint": "https://b.example/.well-known/spiffe-bundle"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	a.do("POST", "/api/v1/federation/peers", good).want(t, 401, "AUTHENTICATION_REQUIRED")
	a.do("POST", "/api/v1/federation/peers", good, bearer(unverified.Access)).want(t, 403, "FORBIDDEN")
	a.do("POST", "/api/v1/federation/peers", with("base_url", "http://b.example:8443"), bearer(dev.Access)).want(t, 422, "INVALID_PEER_URL")
	a.do("POST", "/api/v1/federation/peers", with("bundle_endpoint", "ftp://b.example/x"), bearer(dev.Access)).want(t, 422, "INVALID_PEER_URL")
	a.do("POST", "/api/v1/federation/peers", with("base_url", "https://u:p@b.example"), bearer(dev.Access)).want(t, 422, "INVALID_PEER_URL")
	a.do("POST", "/api/v1/federation/peers", with("trust_domain", "Not A Domain"), bearer(dev.Access)).want(t, 422, "INVALID_TRUST_DOMAIN")
	a.do("POST", "/api/v1/federation/peers", with("trust_domain", "a.test"), bearer(dev.Access)).want(t, 422, "OWN_TRUST_DOMAIN")
	a.do("POST", "/api/v1/federation/peers", with("name", " "), bearer(dev.Access)).want(t, 422, "INVALID_PEER_NAME")
	r := a.do("POST", "/api/v1/federation/peers", good, bearer(dev.Access)).want(t, 201, "")
	id := r.str("id")
	a.do("POST", "/api/v1/federation/peers", good, bearer(dev.Access)).want(t, 409, "PEER_EXISTS")

	a.do("GET", "/api/v1/federation/peers/"+id, nil).want(t, 401, "AUTHENTICATION_REQUIRED")
	a.do("GET", "/api/v1/federation/peers/fpr_nope", nil, bearer(dev.Access)).want(t, 404, "PEER_NOT_FOUND")
	if g := a.do("GET", "/api/v1/federation/peers/"+id, nil, bearer(dev.Access)).want(t, 200, ""); g.str("proposed_by") != dev.ID || g.Body["health"] != nil {
		t.Fatalf("pending peer %s", g.Raw)
	}
	a.do("POST", "/api/v1/federation/peers/"+id+"/approve", nil, bearer(dev.Access)).want(t, 403, "ADMIN_REQUIRED")
	a.do("POST", "/api/v1/federation/peers/"+id+"/destroy", nil, bearer(a.adminKey)).want(t, 400, "UNKNOWN_PEER_ACTION")
	a.do("POST", "/api/v1/federation/peers/fpr_nope/approve", nil, bearer(a.adminKey)).want(t, 404, "PEER_NOT_FOUND")
	a.do("POST", "/api/v1/federation/peers/"+id+"/reactivate", nil, bearer(a.adminKey)).want(t, 409, "INVALID_PEER_TRANSITION")
	for _, step := range []struct{ action, state string }{{"approve", "ACTIVE"}, {"deactivate", "INACTIVE"}, {"reactivate", "ACTIVE"}, {"deactivate", "INACTIVE"}} {
		if s := a.do("POST", "/api/v1/federation/peers/"+id+"/"+step.action, nil, bearer(a.adminKey)).want(t, 200, "").str("state"); s != step.state {
			t.Fatalf("%s: state %s", step.action, s)
		}
	}
	a.do("POST", "/api/v1/federation/peers/"+id+"/reject", nil, bearer(a.adminKey)).want(t, 409, "INVALID_PEER_TRANSITION")
	r = a.do("POST", "/api/v1/federation/peers", with("trust_domain", "c.example"), bearer(dev.Access)).want(t, 201, "")
	if s := a.do("POST", "/api/v1/federation/peers/"+r.str("id")+"/reject", map[string]any{"reason": "unknown"}, bearer(a.adminKey)).want(t, 200, ""); s.str("state") != "REJECTED" || s.str("reason") != "unknown" {
		t.Fatalf("reject: %s", s.Raw)
	}

	// include_federated refusals.
	a.do("GET", "/api/v1/agent-cards?include_federated=true&sort=reputation", nil).want(t, 400, "FEDERATED_LOCAL_ONLY")
	a.do("GET", "/api/v1/agent-cards?include_federated=true&owned_only=true", nil, bearer(dev.Access)).want(t, 400, "FEDERATED_LOCAL_ONLY")
	if r := a.do("GET", "/api/v1/agent-cards?include_federated=true", nil).want(t, 200, ""); r.Body["peers"] == nil {
		t.Fatalf("no peers section: %s", r.Raw)
	}
}

// TestFederation_RingOfFive: five registries in a ring, each peered (both ways) with the next;
// a query allowed to travel further than the ring is long ends, within the deadline, and
// returns each registry's card once.
func TestFederation_RingOfFive(t *testing.T) {
	tds := []string{"r1.test", "r2.test", "r3.test", "r4.test", "r5.test"}
	ring := make([]*fedStack, len(tds))
	devs := make([]developer, len(tds))
	for i, td := range tds {
		ring[i] = newFedStack(t, td, func(c *config.Config) { c.Federation.MaxHops = 8 })
		devs[i] = ring[i].register("dev@"+td, true)
	}
	for i := range ring {
		next := ring[(i+1)%len(ring)]
		ring[i].peer(t, next, devs[i])
		next.peer(t, ring[i], devs[(i+1)%len(ring)])
	}
	want := map[string]string{}
	for i, s := range ring {
		s.waitBundle(t, tds[(i+1)%len(tds)])
		s.waitBundle(t, tds[(i+len(tds)-1)%len(tds)])
		want[s.td+"/"+s.publish(t, devs[i], "Ring "+s.td, "ringed forecasts of "+s.td)] = "Ring " + s.td
	}
	start := time.Now()
	r := ring[0].do("GET", "/api/v1/agent-cards?q=ringed&include_federated=true&limit=50", nil).want(t, 200, "")
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the ring query took %s", took)
	}
	got := items(r)
	if n := len(r.Body["items"].([]any)); n != len(want) || len(got) != len(want) {
		t.Fatalf("%d items %v, want each of %v once", n, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("items %v, want %v", got, want)
		}
	}
	// Every registry was reached, none asked on behalf of the one it was asked by, and the
	// ones the query had passed were skipped (in_origins), so it ended.
	answered, skipped := map[string]bool{}, 0
	for _, p := range r.Body["peers"].([]any) {
		m := p.(map[string]any)
		switch m["status"] {
		case "answered":
			answered[m["trust_domain"].(string)] = true
		case "skipped":
			if m["reason"] != "in_origins" {
				t.Fatalf("peer %v", m)
			}
			skipped++
		default:
			t.Fatalf("peer %v", m)
		}
	}
	if len(answered) != 4 || answered["r1.test"] || skipped == 0 {
		t.Fatalf("answered %v, %d skipped", answered, skipped)
	}
}

// TestFederation_DeniedNetworks: with federation.denied_networks, a peer URL on a denied
// address (literally, or a host resolving to one) is refused when proposed, naming the field.
func TestFederation_DeniedNetworks(t *testing.T) {
	a := newFedStack(t, "a.test", func(c *config.Config) { c.Federation.DeniedNetworks = "loopback,private" })
	dev := a.register("ada@a.test", true)
	good := map[string]any{"name": "B", "trust_domain": "b.example", "base_url": "https://203.0.113.7:8443", "bundle_endpoint": "https://203.0.113.7/.well-known/spiffe-bundle"}
	with := func(k, v string) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct{ field, url string }{
		{"base_url", "https://127.0.0.1:8443"}, {"base_url", "https://10.0.0.8:8443"}, {"bundle_endpoint", "http://localhost:8420/.well-known/spiffe-bundle"},
	} {
		r := a.do("POST", "/api/v1/federation/peers", with(tc.field, tc.url), bearer(dev.Access)).want(t, 422, "PEER_ADDRESS_FORBIDDEN")
		if !strings.Contains(string(r.Raw), `"field":"`+tc.field+`"`) {
			t.Fatalf("%s: %s", tc.url, r.Raw)
		}
	}
	a.do("POST", "/api/v1/federation/peers", good, bearer(dev.Access)).want(t, 201, "")
}

// TestFederation_DeniedNetworksMustParse: a registry does not start with a denied network it
// cannot read.
func TestFederation_DeniedNetworksMustParse(t *testing.T) {
	cfg := config.Default()
	cfg.Data, cfg.PublicURL = t.TempDir(), "http://registry.test"
	cfg.Federation.DeniedNetworks = "private,intranet"
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Config: cfg, DB: storetest.SQLite(t), PasswordParams: fastPasswords,
		Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		srv.Close()
		t.Fatal("a registry started with an unreadable federation.denied_networks")
	}
	if !strings.Contains(err.Error(), "federation.denied_networks") || !strings.Contains(err.Error(), `"intranet"`) {
		t.Fatalf("error %v", err)
	}
}
