package server_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// pay makes a transfer from an agent and returns its id.
func (s *stack) pay(from hdr, to, amount string) string {
	s.t.Helper()
	return s.do("POST", "/api/v1/token/transfer", map[string]any{"to": to, "amount": amount}, from).want(s.t, 201, "").str("id")
}

func rate(interaction string, stars int, comment string) map[string]any {
	b := map[string]any{"interaction_id": interaction, "stars": stars}
	if comment != "" {
		b["comment"] = comment
	}
	return b
}

func TestReputation_RateOncePerCompletedTransferByItsPayer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var offset atomic.Int64
		s := newStackAt(t, db, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
		s.wallets("1000", "agt_alice", "agt_bob", "agt_carol")
		alice, bob, carol := s.agentToken("agt_alice", ""), s.agentToken("agt_bob", ""), s.agentToken("agt_carol", "")
		tx := s.pay(alice, "agt_bob", "10")

		r := s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(tx, 5, "fast and correct"), alice).want(t, 201, "")
		if r.str("interaction_id") != tx || r.str("rater") != "agt_alice" || r.str("ratee") != "agt_bob" || r.Body["stars"] != float64(5) || r.str("comment") != "fast and correct" {
			t.Fatalf("rating = %s", r.Raw)
		}
		s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(tx, 4, ""), alice).want(t, 409, "ALREADY_RATED")
		s.do("POST", "/api/v1/reputation/agt_alice/ratings", rate(tx, 1, ""), bob).want(t, 403, "NOT_THE_PAYER")
		s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(tx, 1, ""), carol).want(t, 404, "INTERACTION_NOT_FOUND")
		s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate("tx_nope", 5, ""), alice).want(t, 404, "INTERACTION_NOT_FOUND")
		s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate("", 5, ""), alice).want(t, 422, "INVALID_INTERACTION_ID")
		s.do("POST", "/api/v1/reputation/sys:treasury/ratings", rate(tx, 5, ""), alice).want(t, 422, "INVALID_AGENT")

		tx2 := s.pay(alice, "agt_bob", "10")
		s.do("POST", "/api/v1/reputation/agt_carol/ratings", rate(tx2, 5, ""), alice).want(t, 422, "RATEE_MISMATCH")
		for _, stars := range []int{0, 6, -1} {
			s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(tx2, stars, ""), alice).want(t, 422, "INVALID_STARS")
		}
		s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(tx2, 3, strings.Repeat("é", 141)), alice).want(t, 422, "COMMENT_TOO_LONG")
		// Not agents: a developer, an admin, nobody.
		dev := s.register("dev@example.com", true)
		s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(tx2, 5, ""), bearer(dev.Access)).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(tx2, 5, ""), bearer(s.adminKey)).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(tx2, 5, "")).want(t, 401, "AUTHENTICATION_REQUIRED")
		// A grant from the treasury is no interaction between agents.
		grant := s.do("POST", "/api/v1/token/grant", map[string]any{"to": "agt_alice", "amount": "1"}, bearer(s.adminKey)).want(t, 201, "").str("id")
		s.do("POST", "/api/v1/reputation/agt_alice/ratings", rate(grant, 5, ""), alice).want(t, 404, "INTERACTION_NOT_FOUND")

		// A paid task: the hold is not rated, the post that completes it is.
		hold := s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_carol", "amount": "20"}, alice).want(t, 201, "").str("id")
		s.do("POST", "/api/v1/reputation/agt_carol/ratings", rate(hold, 4, ""), alice).want(t, 409, "INTERACTION_NOT_COMPLETED")
		post := s.do("POST", "/api/v1/token/pending/"+hold+":post", nil, alice).want(t, 201, "").str("id")
		s.do("POST", "/api/v1/reputation/agt_carol/ratings", rate(post, 4, "ok"), alice).want(t, 201, "")

		// Seven days later, tx2 can no longer be rated.
		offset.Store(int64(7*24*time.Hour + time.Minute))
		r = s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(tx2, 5, ""), alice).want(t, 409, "RATING_WINDOW_CLOSED")
		if r.details()["transfer_at"] == nil {
			t.Fatalf("window refusal details: %s", r.Raw)
		}
		// Nothing refused was stored.
		l := s.do("GET", "/api/v1/reputation/agt_bob/ratings", nil).want(t, 200, "")
		if items := l.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["interaction_id"] != tx {
			t.Fatalf("bob's ratings = %s", l.Raw)
		}
	})
}

func TestReputation_ListRatingsWithACursor(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("1000", "agt_alice", "agt_bob")
		alice := s.agentToken("agt_alice", "")
		var ids []string
		for i := range 5 {
			tx := s.pay(alice, "agt_bob", "1")
			s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(tx, 1+i, ""), alice).want(t, 201, "")
			ids = append(ids, tx)
		}
		var got []string
		cursor := ""
		for range 5 {
			// Public: no credentials needed.
			p := s.do("GET", "/api/v1/reputation/agt_bob/ratings?limit=2&cursor="+cursor, nil).want(t, 200, "")
			for _, it := range p.Body["items"].([]any) {
				got = append(got, it.(map[string]any)["interaction_id"].(string))
			}
			if cursor = p.str("next_cursor"); cursor == "" {
				break
			}
		}
		if len(got) != 5 || got[0] != ids[4] || got[4] != ids[0] {
			t.Fatalf("pages = %v, rated %v (want newest first)", got, ids)
		}
		s.do("GET", "/api/v1/reputation/agt_bob/ratings", nil, bearer(s.adminKey)).want(t, 200, "")
		s.do("GET", "/api/v1/reputation/agt_bob/ratings?cursor=garbage", nil).want(t, 422, "INVALID_CURSOR")
		s.do("GET", "/api/v1/reputation/agt_nobody/ratings", nil).want(t, 404, "AGENT_NOT_FOUND")
		s.do("GET", "/api/v1/reputation/sys:burn/ratings", nil).want(t, 422, "INVALID_AGENT")
		if e := s.do("GET", "/api/v1/reputation/agt_alice/ratings", nil).want(t, 200, ""); len(e.Body["items"].([]any)) != 0 {
			t.Fatalf("alice was rated: %s", e.Raw)
		}
	})
}

func TestReputation_ScoreFactorsAndRecompute(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("1000", "agt_alice", "agt_bob", "agt_carol")
		alice, bob := s.agentToken("agt_alice", ""), s.agentToken("agt_bob", "")

		fresh := s.do("GET", "/api/v1/reputation/agt_bob", nil).want(t, 200, "")
		if fresh.Body["score"] != float64(100) || fresh.str("tier") != "New" || fresh.Body["provisional"] != true || fresh.str("per_transfer") != "100" || fresh.str("daily") != "1000" {
			t.Fatalf("a fresh agent = %s", fresh.Raw)
		}
		if fs := fresh.Body["factors"].([]any); len(fs) != 7 || fs[0].(map[string]any)["name"] != "base" || fs[0].(map[string]any)["points"] != float64(100) {
			t.Fatalf("factors = %v", fs)
		}
		for range 3 {
			s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(s.pay(alice, "agt_bob", "5"), 5, ""), alice).want(t, 201, "")
		}
		s.do("POST", "/api/v1/reputation/agt_carol/ratings", rate(s.pay(bob, "agt_carol", "5"), 1, ""), bob).want(t, 201, "")

		// Only admins recompute.
		s.do("POST", "/api/v1/admin/reputation:recompute", nil, alice).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/admin/reputation:recompute", nil, bearer(s.register("dev@example.com", true).Access)).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/admin/reputation:recompute", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		p := s.do("POST", "/api/v1/admin/reputation:recompute", nil, bearer(s.adminKey)).want(t, 200, "")
		if p.Body["agents"] != float64(3) || p.Body["ratings"] != float64(4) || p.Body["edges"] != float64(1) || p.Body["iterations"].(float64) < 1 || p.Body["seconds"] == nil {
			t.Fatalf("pass = %s", p.Raw)
		}
		b := s.do("GET", "/api/v1/reputation/agt_bob", nil, alice).want(t, 200, "")
		c := s.do("GET", "/api/v1/reputation/agt_carol", nil).want(t, 200, "")
		if b.Body["provisional"] != nil || b.Body["score"].(float64) <= c.Body["score"].(float64) {
			t.Fatalf("bob (rated 5 three times) = %s; carol (rated 1) = %s", b.Raw, c.Raw)
		}
		for _, f := range b.Body["factors"].([]any) {
			f := f.(map[string]any)
			if f["name"] == "transitive_trust" && f["points"].(float64) <= 0 {
				t.Fatalf("bob has no transitive trust: %s", b.Raw)
			}
		}
		// A second pass over the same ratings stores the same scores.
		s.do("POST", "/api/v1/admin/reputation:recompute", nil, bearer(s.adminKey)).want(t, 200, "")
		if again := s.do("GET", "/api/v1/reputation/agt_bob", nil).want(t, 200, ""); again.Body["score"] != b.Body["score"] {
			t.Fatalf("the pass is not idempotent: %v then %v", b.Body["score"], again.Body["score"])
		}
		s.do("GET", "/api/v1/reputation/agt_nobody", nil).want(t, 404, "AGENT_NOT_FOUND")
		s.do("GET", "/api/v1/reputation/sys:treasury", nil).want(t, 422, "INVALID_AGENT")
	})
}

func TestReputation_ThePassRunsOnASchedule(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("1000", "agt_alice", "agt_bob")
		alice := s.agentToken("agt_alice", "")
		s.do("POST", "/api/v1/reputation/agt_bob/ratings", rate(s.pay(alice, "agt_bob", "5"), 5, ""), alice).want(t, 201, "")
		deadline := time.Now().Add(15 * time.Second)
		for {
			r := s.do("GET", "/api/v1/reputation/agt_bob", nil).want(t, 200, "")
			if r.Body["provisional"] == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no scheduled pass scored bob: %s", r.Raw)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}, func(c *config.Config) { c.ReputationInterval = time.Second })
}
