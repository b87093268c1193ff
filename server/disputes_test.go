package server_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
)

// waitState polls a dispute until it reaches state: the server's dispute scheduler takes each
// step within a second of its deadline.
func (s *stack) waitState(id, state string, who hdr) resp {
	s.t.Helper()
	var r resp
	for range 100 {
		r = s.do("GET", "/api/v1/disputes/"+id, nil, who).want(s.t, 200, "")
		if r.str("state") == state {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("dispute %s never reached %s: %s", id, state, r.Raw)
	return r
}

func panelOf(r resp) []string {
	rounds := r.Body["rounds"].([]any)
	var out []string
	for _, p := range rounds[len(rounds)-1].(map[string]any)["panel"].([]any) {
		out = append(out, p.(string))
	}
	return out
}

// A paid task's dispute through the API: filing (and each refusal), the frozen payment,
// evidence, the panel's commit and reveal, the ruling, the appeal's refusals, the close that
// pays the payer back; withdrawal and an admin's rejection; every route's failures with their
// codes.
func TestDisputes_Routes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var offset atomic.Int64
		s := newStackAt(t, db, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
		later := func(d time.Duration) { offset.Add(int64(d)) }
		vals := []string{"agt_v0", "agt_v1", "agt_v2", "agt_v3"}
		s.wallets("5000", append([]string{"agt_payer", "agt_provider", "agt_outsider"}, vals...)...)
		scores := []reputation.StoredScore{{Agent: "agt_payer", Score: 500, ComputedAt: time.Now()}, {Agent: "agt_outsider", Score: 50, ComputedAt: time.Now()}}
		for _, v := range vals {
			s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "1000"}, s.agentToken(v, "")).want(t, 201, "")
			scores = append(scores, reputation.StoredScore{Agent: v, Score: 950, ComputedAt: time.Now()})
		}
		if err := s.server.Reputation().Store.PutScores(context.Background(), scores); err != nil {
			t.Fatal(err)
		}
		payer, provider, outsider, admin := s.agentToken("agt_payer", ""), s.agentToken("agt_provider", ""), s.agentToken("agt_outsider", ""), bearer(s.adminKey)
		hold := s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_provider", "amount": "40", "timeout_seconds": 3600}, payer).want(t, 201, "")
		holdID := hold.str("id")

		// Filing: each refusal with its code, then the filing (and its replay).
		file := func(who hdr, body map[string]any, key string) resp {
			hs := []hdr{who}
			if key != "" {
				hs = append(hs, hdr{"Idempotency-Key", key})
			}
			return s.do("POST", "/api/v1/disputes", body, hs...)
		}
		about := map[string]any{"transfer": holdID, "category": "failed_service", "claim": "the task failed"}
		file(payer, map[string]any{"respondent": "agt_payer", "category": "other"}, "").want(t, 422, "DISPUTE_AGAINST_SELF")
		file(s.agentToken("agt_v0", ""), about, "").want(t, 403, "DISPUTE_NOT_YOUR_TRANSFER")
		file(outsider, map[string]any{"respondent": "agt_provider", "category": "other"}, "").want(t, 403, "FORBIDDEN") // tier Untrusted
		file(payer, map[string]any{"transfer": holdID, "category": "bogus"}, "").want(t, 422, "INVALID_FIELD")
		file(payer, map[string]any{"category": "other"}, "").want(t, 403, "DISPUTE_NOT_YOUR_TRANSFER")
		file(payer, map[string]any{"transfer": "tx_nope", "category": "other"}, "").want(t, 404, "DISPUTE_TRANSFER_NOT_FOUND")
		file(payer, map[string]any{"respondent": "agt_provider", "category": "other", "claim": strings.Repeat("x", 5000)}, "").want(t, 422, "EVIDENCE_TOO_LARGE")
		s.do("POST", "/api/v1/disputes", about).want(t, 401, "AUTHENTICATION_REQUIRED")
		file(admin, map[string]any{"agent": "agt_payer", "transfer": holdID, "category": "other"}, "").want(t, 403, "FORBIDDEN") // filed by agents
		file(admin, about, "").want(t, 422, "AGENT_REQUIRED")
		if b := s.do("GET", "/api/v1/token/balance", nil, payer).want(t, 200, ""); b.str("liquid") != "4959.96" {
			t.Fatalf("nothing moved: payer = %s", b.Raw)
		}
		d := file(payer, about, "file-1").want(t, 201, "")
		id := d.str("id")
		if d.str("state") != "OPEN" || d.str("respondent") != "agt_provider" || d.Body["frozen"] != true {
			t.Fatalf("filed = %s", d.Raw)
		}
		if r := file(payer, about, "file-1").want(t, 200, ""); r.str("id") != id {
			t.Fatalf("replay = %s", r.Raw)
		}
		// The payment is frozen: nobody settles it.
		if p := s.do("GET", "/api/v1/token/pending/"+holdID, nil, payer).want(t, 200, ""); p.str("state") != "frozen" {
			t.Fatalf("pending = %s", p.Raw)
		}
		s.do("POST", "/api/v1/token/pending/"+holdID+":post", nil, payer).want(t, 409, "PENDING_FROZEN")
		s.do("POST", "/api/v1/token/pending/"+holdID+":void", nil, provider).want(t, 409, "PENDING_FROZEN")

		// Reading: the parties and admins; anyone else is told it does not exist.
		s.do("GET", "/api/v1/disputes/"+id, nil, provider).want(t, 200, "")
		s.do("GET", "/api/v1/disputes/"+id, nil, admin).want(t, 200, "")
		s.do("GET", "/api/v1/disputes/"+id, nil, outsider).want(t, 404, "DISPUTE_NOT_FOUND")
		s.do("GET", "/api/v1/disputes/dsp_nope", nil, payer).want(t, 404, "DISPUTE_NOT_FOUND")
		s.do("GET", "/api/v1/disputes/"+id, nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		if l := s.do("GET", "/api/v1/disputes", nil, provider).want(t, 200, ""); len(l.Body["items"].([]any)) != 1 {
			t.Fatalf("list = %s", l.Raw)
		}
		if l := s.do("GET", "/api/v1/disputes", nil, outsider).want(t, 200, ""); len(l.Body["items"].([]any)) != 0 {
			t.Fatalf("outsider's list = %s", l.Raw)
		}
		if l := s.do("GET", "/api/v1/disputes?state=OPEN", nil, admin).want(t, 200, ""); len(l.Body["items"].([]any)) != 1 {
			t.Fatalf("admin's list = %s", l.Raw)
		}
		s.do("GET", "/api/v1/disputes?agent=agt_payer", nil, outsider).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/disputes?state=NOPE", nil, payer).want(t, 422, "INVALID_DISPUTE_STATE")

		// Evidence: the parties only, bounded.
		ev := "/api/v1/disputes/" + id + "/evidence"
		s.do("POST", ev, map[string]any{"hash": "9f86d081", "uri": "https://logs.example/1", "text": "the log"}, payer).want(t, 201, "")
		if r := s.do("POST", ev, map[string]any{"text": "the input was malformed"}, provider).want(t, 201, ""); r.str("state") != "EVIDENCE" || len(r.Body["evidence_items"].([]any)) != 2 {
			t.Fatalf("evidence = %s", r.Raw)
		}
		s.do("POST", ev, map[string]any{"text": "I saw it"}, outsider).want(t, 403, "DISPUTE_NOT_PARTY")
		s.do("POST", ev, map[string]any{"agent": "agt_provider", "text": "x"}, payer).want(t, 403, "FORBIDDEN")
		s.do("POST", ev, map[string]any{"text": strings.Repeat("x", 4097)}, payer).want(t, 422, "EVIDENCE_TOO_LARGE")
		s.do("POST", ev, map[string]any{}, payer).want(t, 422, "EVIDENCE_EMPTY")
		s.do("POST", "/api/v1/disputes/dsp_nope/evidence", map[string]any{"text": "x"}, payer).want(t, 404, "DISPUTE_NOT_FOUND")

		// The evidence period ends: a panel of three is drawn.
		later(3*24*time.Hour + time.Second)
		r := s.waitState(id, "ARBITRATION", payer)
		panel := panelOf(r)
		if len(panel) != 3 || len(r.Body["evidence_items"].([]any)) != 2 {
			t.Fatalf("arbitration = %s", r.Raw)
		}
		var spare string
		for _, v := range vals {
			if !strings.Contains(strings.Join(panel, ","), v) {
				spare = v
			}
		}
		// A panelist sees the dispute and its evidence.
		s.do("GET", "/api/v1/disputes/"+id, nil, s.agentToken(panel[0], "")).want(t, 200, "")
		commit := "/api/v1/disputes/" + id + "/commit"
		s.do("POST", commit, map[string]any{"commitment": teg.CommitmentOf(id, teg.AccountID(spare), "filer", "s")}, s.agentToken(spare, "")).want(t, 403, "DISPUTE_NOT_PANELIST")
		s.do("POST", commit, map[string]any{"commitment": "zz"}, s.agentToken(panel[0], "")).want(t, 422, "INVALID_COMMITMENT")
		for _, a := range panel[:2] {
			s.do("POST", commit, map[string]any{"commitment": teg.CommitmentOf(id, teg.AccountID(a), "filer", "salt-"+a)}, s.agentToken(a, "")).want(t, 201, "")
		}
		reveal := "/api/v1/disputes/" + id + "/reveal"
		s.do("POST", reveal, map[string]any{"vote": "filer", "salt": "salt-" + panel[0]}, s.agentToken(panel[0], "")).want(t, 409, "DISPUTE_REVEAL_NOT_OPEN")
		later(2*24*time.Hour + time.Second)
		s.do("POST", commit, map[string]any{"commitment": teg.CommitmentOf(id, teg.AccountID(panel[2]), "filer", "x")}, s.agentToken(panel[2], "")).want(t, 409, "DISPUTE_VOTE_CLOSED")
		s.do("POST", reveal, map[string]any{"vote": "respondent", "salt": "salt-" + panel[0]}, s.agentToken(panel[0], "")).want(t, 422, "DISPUTE_REVEAL_MISMATCH")
		s.do("POST", reveal, map[string]any{"vote": "maybe", "salt": "x"}, s.agentToken(panel[0], "")).want(t, 422, "INVALID_VOTE")
		for _, a := range panel[:2] {
			s.do("POST", reveal, map[string]any{"vote": "filer", "salt": "salt-" + a}, s.agentToken(a, "")).want(t, 201, "")
		}
		later(24*time.Hour + time.Second)
		r = s.waitState(id, "RULED", payer)
		// The appeal: not by the winner, not without enough arbitrators (an appeal needs six).
		appeal := "/api/v1/disputes/" + id + "/appeal"
		s.do("POST", appeal, nil, payer).want(t, 403, "DISPUTE_NOT_APPELLANT")
		s.do("POST", appeal, nil, outsider).want(t, 403, "DISPUTE_NOT_PARTY")
		s.do("POST", appeal, nil, provider).want(t, 409, "DISPUTE_PANEL_UNAVAILABLE")
		later(2*24*time.Hour + time.Second)
		r = s.waitState(id, "CLOSED", payer)
		if r.str("winner") != "agt_payer" || r.str("loser") != "agt_provider" {
			t.Fatalf("closed = %s", r.Raw)
		}
		// The payer has all of its grant back; the provider paid the fee to the majority.
		if b := s.do("GET", "/api/v1/token/balance", nil, payer).want(t, 200, ""); b.str("liquid") != "5000" || b.str("locked") != "0" {
			t.Fatalf("payer = %s", b.Raw)
		}
		if b := s.do("GET", "/api/v1/token/balance", nil, provider).want(t, 200, ""); b.str("liquid") != "4990" {
			t.Fatalf("provider = %s", b.Raw)
		}
		s.do("POST", ev, map[string]any{"text": "late"}, payer).want(t, 409, "DISPUTE_CLOSED")
		s.do("POST", appeal, nil, provider).want(t, 409, "DISPUTE_CLOSED")
		s.do("POST", "/api/v1/disputes/"+id+"/withdraw", nil, payer).want(t, 409, "DISPUTE_CLOSED")

		// Withdrawal (the filer only) and rejection (admins only).
		w := file(payer, map[string]any{"respondent": "agt_provider", "category": "unfair_fee"}, "").want(t, 201, "")
		s.do("POST", "/api/v1/disputes/"+w.str("id")+"/withdraw", nil, provider).want(t, 403, "DISPUTE_NOT_FILER")
		if r := s.do("POST", "/api/v1/disputes/"+w.str("id")+"/withdraw", nil, payer).want(t, 201, ""); r.str("state") != "WITHDRAWN" {
			t.Fatalf("withdrawn = %s", r.Raw)
		}
		j := file(payer, map[string]any{"respondent": "agt_provider", "category": "other"}, "").want(t, 201, "")
		s.do("POST", "/api/v1/admin/disputes/"+j.str("id")+"/reject", map[string]any{"reason": "spam"}, payer).want(t, 403, "FORBIDDEN")
		if r := s.do("POST", "/api/v1/admin/disputes/"+j.str("id")+"/reject", map[string]any{"reason": "spam"}, admin).want(t, 201, ""); r.str("state") != "REJECTED" {
			t.Fatalf("rejected = %s", r.Raw)
		}
		s.do("POST", "/api/v1/admin/disputes/"+j.str("id")+"/reject", nil, admin).want(t, 409, "DISPUTE_CLOSED")
		if rep, err := s.server.Ledger().Verify(context.Background()); err != nil {
			t.Fatalf("verify: %v (%+v)", err, rep)
		}
	})
}
