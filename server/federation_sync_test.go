package server_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/identity"
)

// syncNode is a registry of its own trust domain whose data (database, builtin CA) lives in a
// directory of the test, so that it can be stopped and started again on the same federation
// address.
type syncNode struct {
	*fedStack
	data, fedAddr string
	opts          []stackOption
	stop          func()
}

func startSyncNode(t *testing.T, td, data, fedAddr string, opts ...stackOption) *syncNode {
	t.Helper()
	n := &syncNode{data: data, fedAddr: fedAddr, opts: opts}
	n.start(t, td)
	return n
}

func (n *syncNode) start(t *testing.T, td string) {
	t.Helper()
	opts := append([]stackOption{func(c *config.Config) {
		c.TrustDomain, c.Data, c.Store = td, n.data, "sqlite://"+filepath.Join(n.data, "registry.db")
		c.Federation.PeerTimeout = 500 * time.Millisecond
		c.Federation.SyncInterval = time.Hour // hints and catch-up at start only
	}}, n.opts...)
	s := newStack(t, nil, opts...)
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the address of a stopped node may take a moment to free
		if ln, err = net.Listen("tcp", n.fedAddr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	n.fedAddr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.server.ServeFederation(ctx, ln) }()
	n.stop = func() { cancel(); <-done; s.srv.Close(); s.server.Close() }
	s.waitIndexed()
	n.fedStack = &fedStack{stack: s, td: td, fedURL: "https://" + n.fedAddr}
}

// eventually polls cond every 50 ms for up to 15 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// localFind is the local search (no include_federated) of q on s: "origin/id" → name.
func (s *fedStack) localFind(t *testing.T, q string) map[string]string {
	t.Helper()
	return items(s.do("GET", "/api/v1/agent-cards?q="+q, nil).want(t, 200, ""))
}

// TestFederation_Sync: three registries in three trust domains peer with each other; a card
// published on A is found on B and C by the live query and, once synced, by their local
// search (and ARD search) as a read-only copy tagged with its origin; A's update and delete
// reach them; with C stopped, A's federated search still answers within the deadline with C
// marked; C, started again, catches up from its cursors.
func TestFederation_Sync(t *testing.T) {
	a := startSyncNode(t, "a.test", t.TempDir(), "127.0.0.1:0")
	b := startSyncNode(t, "b.test", t.TempDir(), "127.0.0.1:0")
	c := startSyncNode(t, "c.test", t.TempDir(), "127.0.0.1:0")
	t.Cleanup(func() { c.stop() })
	t.Cleanup(func() { b.stop() })
	t.Cleanup(func() { a.stop() })
	applied := make(chan string, 100)
	b.server.FederationSyncer().SetOnApplied(func(origin string) {
		select {
		case applied <- origin:
		default:
		}
	})
	devA, devB, devC := a.register("ada@a.test", true), b.register("bob@b.test", true), c.register("cyd@c.test", true)
	nodes := []*syncNode{a, b, c}
	devs := []developer{devA, devB, devC}
	for i, s := range nodes {
		for _, o := range nodes {
			if o != s {
				s.peer(t, o.fedStack, devs[i])
			}
		}
	}
	for _, s := range nodes {
		for _, o := range nodes {
			if o != s {
				s.waitBundle(t, o.td)
			}
		}
	}

	id := a.publish(t, devA, "Tide Oracle", "tide tables for every harbour")
	for _, s := range []*syncNode{b, c} {
		r := s.do("GET", "/api/v1/agent-cards?q=tide&include_federated=true", nil).want(t, 200, "")
		if got := items(r); got["a.test/"+id] != "Tide Oracle" {
			t.Fatalf("%s: live query found %v", s.td, got)
		}
	}
	for _, s := range []*syncNode{b, c} {
		eventually(t, s.td+" finds A's card by local search", func() bool { return s.localFind(t, "tide")["a.test/"+id] == "Tide Oracle" })
	}
	select {
	case o := <-applied:
		if o != "a.test" {
			t.Fatalf("OnApplied(%q)", o)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnApplied was not called")
	}
	// The copy: read-only, its origin and URN shown, in ARD search too.
	cp := b.do("GET", "/api/v1/agent-cards/"+id, nil).want(t, 200, "")
	if cp.str("origin_registry") != "a.test" || !strings.HasPrefix(cp.str("urn"), "urn:air:registry.test:agent:tide-oracle") {
		t.Fatalf("copy on B: %s", cp.Raw)
	}
	b.do("PUT", "/api/v1/agent-cards/"+id, map[string]any{"card_data": card("Tide Oracle", "hijacked", "tide")}, bearer(devB.Access)).want(t, 403, "CARD_REPLICATED")
	b.do("PUT", "/api/v1/agent-cards/"+id, map[string]any{"card_data": card("Tide Oracle", "hijacked", "tide")}, bearer(b.adminKey)).want(t, 403, "CARD_REPLICATED")
	b.do("DELETE", "/api/v1/agent-cards/"+id, nil, bearer(b.adminKey)).want(t, 403, "CARD_REPLICATED")
	b.do("DELETE", "/api/v1/agent-cards/"+id, nil).want(t, 401, "AUTHENTICATION_REQUIRED")
	ardRes := b.do("POST", "/ard/v1/search", map[string]any{"query": map[string]any{"text": "tide"}}).want(t, 200, "")
	if res := ardRes.Body["results"].([]any); len(res) != 1 || res[0].(map[string]any)["metadata"].(map[string]any)["originRegistry"] != "a.test" {
		t.Fatalf("ARD search on B: %s", ardRes.Raw)
	}
	// B's own feed does not re-export A's card: C has it once, from A.
	if got := c.localFind(t, "tide"); len(got) != 1 {
		t.Fatalf("C holds %v", got)
	}
	// A federated search on B merges its copy with A's live answer: one result.
	if got := items(b.do("GET", "/api/v1/agent-cards?q=tide&include_federated=true", nil).want(t, 200, "")); len(got) != 1 {
		t.Fatalf("federated search on B: %v", got)
	}

	// An update on A reaches B (the origin's version wins).
	a.do("PUT", "/api/v1/agent-cards/"+id, map[string]any{"card_data": card("Tide Oracle", "tide tables and currents for every harbour", "tide")}, bearer(devA.Access)).want(t, 200, "")
	eventually(t, "B has A's update", func() bool {
		r := b.do("GET", "/api/v1/agent-cards/"+id, nil)
		return r.Status == 200 && strings.Contains(r.str("description"), "currents") && r.Body["version"] == float64(2)
	})

	// Delete on A: the tombstone reaches B and C.
	a.do("DELETE", "/api/v1/agent-cards/"+id, nil, bearer(devA.Access)).want(t, 204, "")
	for _, s := range []*syncNode{b, c} {
		eventually(t, s.td+" drops the deleted card", func() bool {
			return len(s.localFind(t, "tide")) == 0 && s.do("GET", "/api/v1/agent-cards/"+id, nil).Status == 404
		})
	}

	// C stops: A's federated search still answers in time, C marked; B's card still found.
	onB := b.publish(t, devB, "Harbour Pilot", "harbour pilotage and berths")
	c.stop()
	start := time.Now()
	r := a.do("GET", "/api/v1/agent-cards?q=harbour&include_federated=true", nil).want(t, 200, "")
	if el := time.Since(start); el > 500*time.Millisecond+400*time.Millisecond {
		t.Fatalf("federated search with C down took %v", el)
	}
	if o := outcomes(r); o["c.test"] != "error:unreachable" || o["b.test"] != "answered:" {
		t.Fatalf("peers with C down: %v", o)
	}
	if got := items(r); got["b.test/"+onB] != "Harbour Pilot" {
		t.Fatalf("results with C down: %v", got)
	}
	// Meanwhile A publishes and B deletes.
	whileDown := a.publish(t, devA, "Harbour Master", "harbour master berth bookings")
	eventually(t, "B has C-less updates from A", func() bool { return b.localFind(t, "harbour")["a.test/"+whileDown] != "" })
	b.do("DELETE", "/api/v1/agent-cards/"+onB, nil, bearer(devB.Access)).want(t, 204, "")

	// C starts again on its data and catches up from its cursors.
	c.start(t, "c.test")
	eventually(t, "C catches up", func() bool {
		got := c.localFind(t, "harbour")
		return got["a.test/"+whileDown] == "Harbour Master" && got["b.test/"+onB] == ""
	})
	// B deactivates A: A's copies leave B's discovery; reactivated, A syncs again from the start.
	peerID := ""
	for _, p := range b.do("GET", "/api/v1/federation/peers", nil, bearer(devB.Access)).want(t, 200, "").Body["items"].([]any) {
		if m := p.(map[string]any); m["trust_domain"] == "a.test" {
			peerID = m["id"].(string)
		}
	}
	b.do("POST", "/api/v1/federation/peers/"+peerID+"/deactivate", nil, bearer(b.adminKey)).want(t, 200, "")
	eventually(t, "B drops A's copies", func() bool { return b.localFind(t, "harbour")["a.test/"+whileDown] == "" })
	b.do("POST", "/api/v1/federation/peers/"+peerID+"/reactivate", nil, bearer(b.adminKey)).want(t, 200, "")
	eventually(t, "B copies A's cards again", func() bool { return b.localFind(t, "harbour")["a.test/"+whileDown] == "Harbour Master" })

	h := a.do("GET", "/api/v1/federation/peers", nil, bearer(devA.Access)).want(t, 200, "")
	for _, p := range h.Body["items"].([]any) {
		m := p.(map[string]any)
		sy, _ := m["sync"].(map[string]any)
		if sy == nil || sy["cursor"] == nil {
			t.Fatalf("peer view without sync health: %v", m)
		}
	}
}

// TestFederation_SyncRoutes: the change feed and the hint answer peer registries only, page
// the origin's own cards with tombstones, and refuse malformed and future cursors and
// out-of-range limits.
func TestFederation_SyncRoutes(t *testing.T) {
	a, b := newFedStack(t, "a.test"), newFedStack(t, "b.test")
	devA, devB := a.register("ada@a.test", true), b.register("bob@b.test", true)
	a.peer(t, b, devA)
	b.peer(t, a, devB)
	a.waitBundle(t, "b.test")
	b.waitBundle(t, "a.test")
	one := a.publish(t, devA, "Reef Watch", "reef watch alerts")
	two := a.publish(t, devA, "Reef Guide", "reef guide tours")
	a.do("DELETE", "/api/v1/agent-cards/"+one, nil, bearer(devA.Access)).want(t, 204, "")
	eventually(t, "B copies A's card", func() bool { return b.localFind(t, "reef")["a.test/"+two] != "" })

	bTD := spiffeid.RequireTrustDomainFromString("b.test")
	regB, _ := identity.RegistryID(bTD, "main")
	agentB, _ := identity.AgentID(bTD, "agt_1")
	peerB := mtlsClient(t, b.server.Issuer(), regB, a.server.Issuer())
	get := func(c *http.Client, q string) resp {
		return a.doVia(c, a.fedURL, "GET", "/federation/v1/changes"+q, nil)
	}

	r := get(peerB, "?limit=1").want(t, 200, "")
	ch := r.Body["changes"].([]any)
	if r.str("registry") != "a.test" || len(ch) != 1 || r.Body["has_more"] != true {
		t.Fatalf("first page %s", r.Raw)
	}
	r = get(peerB, "?limit=1000&since="+r.str("next_cursor")).want(t, 200, "")
	ch = r.Body["changes"].([]any)
	if len(ch) != 1 || r.Body["has_more"] != false {
		t.Fatalf("second page %s", r.Raw)
	}
	// One card withdrawn (a tombstone without its card), one live with its document.
	got := map[string]map[string]any{}
	for _, p := range []resp{get(peerB, "").want(t, 200, "")} {
		for _, c := range p.Body["changes"].([]any) {
			m := c.(map[string]any)
			got[m["id"].(string)] = m
		}
	}
	if got[one]["deleted"] != true || got[one]["card_data"] != nil || got[two]["card_data"] == nil || got[two]["urn"] == nil || got[two]["seq"] == nil {
		t.Fatalf("feed %v", got)
	}
	head := r.str("next_cursor")
	if r := get(peerB, "?since="+head).want(t, 200, ""); len(r.Body["changes"].([]any)) != 0 || r.str("next_cursor") != head {
		t.Fatalf("caught up: %s", r.Raw)
	}
	// B's feed holds B's own cards only, not its copy of A's.
	peerA := mtlsClient(t, a.server.Issuer(), spiffeid.RequireFromPath(spiffeid.RequireTrustDomainFromString("a.test"), "/registry/main"), b.server.Issuer())
	if r := b.doVia(peerA, b.fedURL, "GET", "/federation/v1/changes", nil).want(t, 200, ""); len(r.Body["changes"].([]any)) != 0 {
		t.Fatalf("B re-exports: %s", r.Raw)
	}

	get(peerB, "?since=garbage").want(t, 400, "INVALID_CURSOR")
	get(peerB, "?since="+federation.EncodeCursor(1<<40)).want(t, 400, "CURSOR_AHEAD")
	for _, q := range []string{"?limit=0", "?limit=1001"} {
		get(peerB, q).want(t, 422, "INVALID_FIELD")
	}
	get(mtlsClient(t, b.server.Issuer(), agentB, a.server.Issuer()), "").want(t, 403, "PEER_NOT_A_REGISTRY")
	a.do("GET", "/federation/v1/changes", nil).want(t, 401, "AUTHENTICATION_REQUIRED")

	// The hint: a peer's registry gets its feed pulled; others are refused.
	if r := a.doVia(peerB, a.fedURL, "POST", "/federation/v1/hint", nil).want(t, 202, ""); r.Body["pulling"] != true {
		t.Fatalf("hint: %s", r.Raw)
	}
	a.doVia(mtlsClient(t, b.server.Issuer(), agentB, a.server.Issuer()), a.fedURL, "POST", "/federation/v1/hint", nil).want(t, 403, "PEER_NOT_A_REGISTRY")
	a.do("POST", "/federation/v1/hint", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
}
