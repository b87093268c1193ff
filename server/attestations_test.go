package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/attestation"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// evidence is a valid evidence hash of text.
func evidence(text string) string {
	d := sha256.Sum256([]byte(text))
	return "sha256:" + hex.EncodeToString(d[:])
}

// statement is an attestation of typ about subject by attester, issued at at.
func statement(typ, subject, attester, ev string, at time.Time) attestation.Statement {
	return attestation.Statement{Type: typ, Subject: subject, Attester: attester, EvidenceHash: evidence(ev),
		EvidenceURI: "https://evidence.example.com/" + url.PathEscape(ev), IssuedAt: at.UTC().Truncate(time.Second)}
}

// svidSig is a JWT-SVID signature of st by signer: a JWT-SVID of the signer whose audience is
// the statement's.
func (s *stack) svidSig(st attestation.Statement, signer string) attestation.Signature {
	s.t.Helper()
	h := s.agentToken(signer, st.Audience(s.trustDomain().Name()))
	return attestation.Signature{Signer: signer, Alg: attestation.AlgJWTSVID, Value: strings.TrimPrefix(h[1], "Bearer ")}
}

// attestBody is the JSON body submitting st with its signatures.
func attestBody(st attestation.Statement, sig attestation.Signature, co *attestation.Signature) map[string]any {
	b := map[string]any{"type": st.Type, "subject": st.Subject, "attester": st.Attester, "evidence_hash": st.EvidenceHash,
		"evidence_uri": st.EvidenceURI, "issued_at": st.IssuedAt.Format(time.RFC3339), "signature": sig}
	if st.TransferID != "" {
		b["transfer_id"] = st.TransferID
	}
	if co != nil {
		b["cosignature"] = co
	}
	return b
}

// liquid is an agent's liquid balance, as an admin reads it.
func (s *stack) liquid(agent string) string {
	s.t.Helper()
	return s.do("GET", "/api/v1/token/balance?account="+agent, nil, bearer(s.adminKey)).want(s.t, 200, "").str("liquid")
}

func TestAttestations_TaskCompletedIsCoSignedByThePayerAndRewardedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var offset atomic.Int64
		s := newStackAt(t, db, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
		s.wallets("1000", "agt_alice", "agt_bob", "agt_carol")
		alice, bob := s.agentToken("agt_alice", ""), s.agentToken("agt_bob", "")
		tx := s.pay(alice, "agt_bob", "10")
		bobBefore := s.liquid("agt_bob")
		if bobBefore != "1010" {
			t.Fatalf("bob = %s", bobBefore)
		}

		st := statement(attestation.TypeTaskCompleted, "agt_bob", "agt_bob", "summary v1", time.Now())
		st.TransferID = tx
		co := s.svidSig(st, "agt_alice")
		r := s.do("POST", "/api/v1/attestations", attestBody(st, s.svidSig(st, "agt_bob"), &co), bob).want(t, 201, "")
		if r.str("id") != st.ID() || r.str("reward") != "0.5" || r.Body["reward_paid"] != true || r.str("reward_transfer") == "" ||
			r.str("reward_key") != attestation.RewardKey("agt_bob", st.Type, st.EvidenceHash) {
			t.Fatalf("attestation = %s", r.Raw)
		}
		if got := s.liquid("agt_bob"); got != "1010.5" {
			t.Fatalf("bob after the reward = %s, want 1010.5", got)
		}
		// Every refusal below stores and pays nothing.
		refuse := func(body map[string]any, caller hdr, status int, code string) {
			t.Helper()
			if caller == (hdr{}) {
				s.do("POST", "/api/v1/attestations", body).want(t, status, code)
				return
			}
			s.do("POST", "/api/v1/attestations", body, caller).want(t, status, code)
		}
		// A replay of the same statement (by anyone, with any signatures).
		refuse(attestBody(st, s.svidSig(st, "agt_bob"), &co), bob, 409, "ATTESTATION_REPLAYED")
		// Another statement about the same transfer: one per transfer.
		st2 := st
		st2.EvidenceHash, st2.EvidenceURI = evidence("summary v2"), "https://evidence.example.com/v2"
		co2 := s.svidSig(st2, "agt_alice")
		refuse(attestBody(st2, s.svidSig(st2, "agt_bob"), &co2), bob, 409, "TRANSFER_ALREADY_ATTESTED")

		tx2 := s.pay(alice, "agt_bob", "5")
		st3 := statement(attestation.TypeTaskCompleted, "agt_bob", "agt_bob", "translation", time.Now())
		st3.TransferID = tx2
		good := s.svidSig(st3, "agt_bob")
		// A co-signature by the wrong party, none, or a forged one.
		wrong := s.svidSig(st3, "agt_carol")
		refuse(attestBody(st3, good, &wrong), bob, 403, "COSIGNER_NOT_PAYER")
		refuse(attestBody(st3, good, nil), bob, 422, "COSIGNATURE_REQUIRED")
		forgedCo := s.svidSig(st3, "agt_carol")
		forgedCo.Signer = "agt_alice"
		refuse(attestBody(st3, good, &forgedCo), bob, 422, "COSIGNATURE_INVALID")
		// A forged signature: carol's token claiming to be bob's; a signature of another statement.
		forged := s.svidSig(st3, "agt_carol")
		forged.Signer = "agt_bob"
		coOK := s.svidSig(st3, "agt_alice")
		refuse(attestBody(st3, forged, &coOK), bob, 422, "ATTESTATION_SIGNATURE_INVALID")
		refuse(attestBody(st3, s.svidSig(st2, "agt_bob"), &coOK), bob, 422, "ATTESTATION_SIGNATURE_INVALID")
		ed := attestation.Signature{Signer: "agt_bob", Alg: attestation.AlgEdDSA, Value: base64.RawURLEncoding.EncodeToString(make([]byte, 64))}
		refuse(attestBody(st3, ed, &coOK), bob, 422, "ATTESTATION_SIGNATURE_INVALID")
		// Signed by someone other than the attester.
		refuse(attestBody(st3, s.svidSig(st3, "agt_alice"), &coOK), bob, 422, "SIGNER_NOT_ATTESTER")
		// The payer cannot attest the payee's task for it; nor may a caller submit for another attester.
		refuse(attestBody(st3, good, &coOK), alice, 403, "FORBIDDEN")
		refuse(attestBody(st3, good, &coOK), hdr{}, 401, "AUTHENTICATION_REQUIRED")
		// The subject must be the transfer's payee, and the attester the subject.
		st4 := statement(attestation.TypeTaskCompleted, "agt_carol", "agt_carol", "not mine", time.Now())
		st4.TransferID = tx2
		co4 := s.svidSig(st4, "agt_alice")
		refuse(attestBody(st4, s.svidSig(st4, "agt_carol"), &co4), s.agentToken("agt_carol", ""), 403, "NOT_THE_PAYEE")
		st5 := st3
		st5.Attester = "agt_carol"
		refuse(attestBody(st5, s.svidSig(st5, "agt_carol"), &coOK), s.agentToken("agt_carol", ""), 422, "ATTESTER_NOT_SUBJECT")
		st6 := st3
		st6.TransferID = "tx_nope"
		refuse(attestBody(st6, s.svidSig(st6, "agt_bob"), &coOK), bob, 404, "TRANSFER_NOT_FOUND")

		// Bad input.
		bad := func(mut func(b map[string]any), code string) {
			t.Helper()
			b := attestBody(st3, good, &coOK)
			mut(b)
			refuse(b, bob, 422, code)
		}
		bad(func(b map[string]any) { b["type"] = "vibes" }, "UNKNOWN_ATTESTATION_TYPE")
		bad(func(b map[string]any) { b["type"] = "uptime"; delete(b, "transfer_id") }, "UPTIME_ISSUED_BY_REGISTRY")
		bad(func(b map[string]any) { b["evidence_hash"] = "md5:abc" }, "INVALID_EVIDENCE_HASH")
		bad(func(b map[string]any) { b["evidence_hash"] = "sha256:" + strings.Repeat("A", 64) }, "INVALID_EVIDENCE_HASH")
		bad(func(b map[string]any) { b["evidence_hash"] = "sha256:" + strings.Repeat("a", 100) }, "EVIDENCE_TOO_LARGE")
		bad(func(b map[string]any) { b["evidence_uri"] = "https://e.example.com/" + strings.Repeat("x", 600) }, "EVIDENCE_TOO_LARGE")
		for _, u := range []string{"ftp://e.example.com/x", "javascript:alert(1)", "https://user:pw@e.example.com/", "/relative", "https://e.example.com/a b", "https:///nohost"} {
			bad(func(b map[string]any) { b["evidence_uri"] = u }, "INVALID_EVIDENCE_URI")
		}
		bad(func(b map[string]any) { b["subject"] = "sys:treasury" }, "INVALID_SUBJECT")
		bad(func(b map[string]any) { delete(b, "transfer_id") }, "INVALID_TRANSFER_ID")
		bad(func(b map[string]any) {
			b["signature"] = map[string]any{"signer": "agt_bob", "alg": "HS256", "value": "x"}
		}, "INVALID_SIGNATURE")
		bad(func(b map[string]any) { b["issued_at"] = time.Now().Add(time.Hour).Format(time.RFC3339) }, "ISSUED_IN_FUTURE")
		bad(func(b map[string]any) { b["issued_at"] = time.Now().Add(-8 * 24 * time.Hour).Format(time.RFC3339) }, "ATTESTATION_TOO_OLD")
		stNo := statement(attestation.TypeCodeReview, "agt_nobody", "agt_bob", "x", time.Now())
		s.do("POST", "/api/v1/attestations", attestBody(stNo, s.svidSig(stNo, "agt_bob"), nil), bob).want(t, 404, "SUBJECT_NOT_FOUND")

		// Nothing refused was stored or paid; the good one is accepted once and paid once.
		if got := s.liquid("agt_bob"); got != "1015.5" {
			t.Fatalf("bob after the refusals = %s, want 1015.5 (1010.5 + the 5 paid)", got)
		}
		l := s.do("GET", "/api/v1/attestations?subject=agt_bob", nil).want(t, 200, "")
		if items := l.Body["items"].([]any); len(items) != 1 {
			t.Fatalf("bob's attestations = %s", l.Raw)
		}
		// Well-formed and well-signed, but within a day of bob's last task_completed: the
		// cooldown. A day later it is accepted and paid.
		refuse(attestBody(st3, good, &coOK), bob, 429, "ATTESTATION_COOLDOWN")
		if got := s.liquid("agt_bob"); got != "1015.5" {
			t.Fatalf("bob after the cooldown = %s, want 1015.5", got)
		}
		offset.Store(int64(24*time.Hour + time.Minute))
		s.do("POST", "/api/v1/attestations", attestBody(st3, good, &coOK), bob).want(t, 201, "")
		if got := s.liquid("agt_bob"); got != "1016" {
			t.Fatalf("bob after the second attestation = %s, want 1016", got)
		}
	})
}

func TestAttestations_CooldownAndDailyLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var offset atomic.Int64
		s := newStackAt(t, db, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
		s.wallets("100", "agt_bob")
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		submit := func(typ, attester, ev string, status int, code string) resp {
			t.Helper()
			st := statement(typ, "agt_bob", attester, ev, now())
			return s.do("POST", "/api/v1/attestations", attestBody(st, s.svidSig(st, attester), nil), s.agentToken(attester, "")).want(t, status, code)
		}
		submit(attestation.TypeCodeReview, "agt_r1", "review 1", 201, "")
		// The same attester, type and subject within 24 hours: the cooldown.
		submit(attestation.TypeCodeReview, "agt_r1", "review 2", 429, "ATTESTATION_COOLDOWN")
		submit(attestation.TypeDataQuality, "agt_r1", "dataset 1", 201, "")
		for i := 2; i <= 9; i++ {
			submit(attestation.TypeCodeReview, "agt_r"+string(rune('0'+i)), "review by "+string(rune('0'+i)), 201, "")
		}
		// The 11th of a day.
		submit(attestation.TypeCodeReview, "agt_rx", "review x", 429, "ATTESTATION_DAILY_LIMIT")
		// Not about oneself; signed alone.
		st := statement(attestation.TypeCodeReview, "agt_bob", "agt_bob", "self", now())
		s.do("POST", "/api/v1/attestations", attestBody(st, s.svidSig(st, "agt_bob"), nil), s.agentToken("agt_bob", "")).want(t, 422, "SELF_ATTESTATION")
		st = statement(attestation.TypeCodeReview, "agt_bob", "agt_ry", "cosigned", now())
		co := s.svidSig(st, "agt_rz")
		s.do("POST", "/api/v1/attestations", attestBody(st, s.svidSig(st, "agt_ry"), &co), s.agentToken("agt_ry", "")).want(t, 422, "COSIGNATURE_NOT_EXPECTED")
		if got := s.liquid("agt_bob"); got != "105" {
			t.Fatalf("bob after 10 attestations = %s, want 105", got)
		}
		// A day later both limits have passed.
		offset.Store(int64(24*time.Hour + time.Minute))
		submit(attestation.TypeCodeReview, "agt_r1", "review 2", 201, "")
		submit(attestation.TypeCodeReview, "agt_rx", "review x", 201, "")
		if got := s.liquid("agt_bob"); got != "106" {
			t.Fatalf("bob a day later = %s, want 106", got)
		}
	})
}

// registerKeyed registers an agent of dev with an Ed25519 key it returns.
func (s *stack) registerKeyed(dev developer, name string) (registeredAgent, ed25519.PrivateKey) {
	s.t.Helper()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	token := s.do("POST", "/api/v1/onboard/bootstrap/request-token", nil, bearer(dev.Access)).want(s.t, 201, "").str("token")
	body := map[string]any{"card": card(name, "An attested agent", "attest"),
		"public_key": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)},
		"proof":      base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(token)))}
	r := s.do("POST", "/api/v1/onboard/register", body, hdr{"Bootstrap-Token", token}).want(s.t, 201, "")
	return registeredAgent{ID: r.str("agent_id"), ClientID: r.str("client_id"), Secret: r.str("client_secret")}, priv
}

func TestAttestations_Ed25519KeysUptimeAndTheScore(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("1")
		ada, bea := s.register("ada@example.com", true), s.register("bea@example.com", true)
		a1, _ := s.registerKeyed(ada, "Ada One")
		a2, a2key := s.registerKeyed(ada, "Ada Two")
		b1, b1key := s.registerKeyed(bea, "Bea One")
		before := s.liquid(a1.ID)

		// Signed with the attester's registered Ed25519 key.
		st := statement(attestation.TypeCodeReview, a1.ID, b1.ID, "pr 42", time.Now())
		r := s.do("POST", "/api/v1/attestations", attestBody(st, attestation.SignEd25519(st, b1.ID, b1key), nil), s.agentToken(b1.ID, "")).want(t, 201, "")
		id := r.str("id")
		sig := r.Body["signature"].(map[string]any)
		if !strings.HasPrefix(sig["key"].(string), "did:key:z") || r.str("attester") != b1.ID {
			t.Fatalf("attestation = %s", r.Raw)
		}
		got := s.do("GET", "/api/v1/attestations/"+id, nil).want(t, 200, "")
		if got.str("evidence_hash") != st.EvidenceHash || got.str("issued_at") != st.IssuedAt.Format(time.RFC3339) {
			t.Fatalf("read back = %s", got.Raw)
		}
		if v := s.do("GET", "/api/v1/attestations/"+id+"/verify", nil).want(t, 200, ""); v.Body["valid"] != true || v.str("signature") != "valid" {
			t.Fatalf("verify = %s", v.Raw)
		}
		// A key other than the registered one; an agent of the subject's own developer.
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		st2 := statement(attestation.TypeDataQuality, a1.ID, b1.ID, "dataset", time.Now())
		s.do("POST", "/api/v1/attestations", attestBody(st2, attestation.SignEd25519(st2, b1.ID, other), nil), s.agentToken(b1.ID, "")).want(t, 422, "ATTESTATION_SIGNATURE_INVALID")
		st3 := statement(attestation.TypeCodeReview, a1.ID, a2.ID, "sibling", time.Now())
		s.do("POST", "/api/v1/attestations", attestBody(st3, attestation.SignEd25519(st3, a2.ID, a2key), nil), s.agentToken(a2.ID, "")).want(t, 403, "SAME_DEVELOPER")

		// Uptime: issued by the registry from its heartbeat record, when there is a recent one.
		a1tok := bearer(s.clientToken(a1).want(t, 200, "").str("access_token"))
		up := map[string]any{"subject": a1.ID}
		s.do("POST", "/api/v1/attestations:uptime", up, a1tok).want(t, 409, "NO_RECENT_HEARTBEAT")
		s.do("POST", "/api/v1/agents/me/heartbeat", nil, a1tok).want(t, 200, "")
		s.do("POST", "/api/v1/attestations:uptime", up, s.agentToken(b1.ID, "")).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/attestations:uptime", up).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/attestations:uptime", map[string]any{"subject": "agt_nobody"}, bearer(s.adminKey)).want(t, 404, "SUBJECT_NOT_FOUND")
		u := s.do("POST", "/api/v1/attestations:uptime", up, a1tok).want(t, 201, "")
		if u.str("type") != "uptime" || !strings.HasPrefix(u.str("attester"), "spiffe://") || !strings.Contains(u.str("evidence_uri"), "/agents/"+a1.ID+"/") {
			t.Fatalf("uptime = %s", u.Raw)
		}
		if v := s.do("GET", "/api/v1/attestations/"+u.str("id")+"/verify", nil).want(t, 200, ""); v.Body["valid"] != true {
			t.Fatalf("verify uptime = %s", v.Raw)
		}
		s.do("POST", "/api/v1/attestations:uptime", up, a1tok).want(t, 409, "ATTESTATION_REPLAYED")
		if got := s.liquid(a1.ID); got == before {
			t.Fatalf("a1 was not rewarded: %s", got)
		}

		// The score counts the two verified attestations.
		s.do("POST", "/api/v1/admin/reputation:recompute", nil, bearer(s.adminKey)).want(t, 200, "")
		rep := s.do("GET", "/api/v1/reputation/"+a1.ID, nil).want(t, 200, "")
		for _, f := range rep.Body["factors"].([]any) {
			f := f.(map[string]any)
			if f["name"] == "attestations" && (f["value"] != float64(2) || f["points"] != float64(10)) {
				t.Fatalf("attestations factor = %v", f)
			}
		}
	})
}

func TestAttestations_ListReadAndVerify(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("1", "agt_bob", "agt_dan")
		var ids []string
		for i, subj := range []string{"agt_bob", "agt_dan", "agt_bob", "agt_bob"} {
			attester := "agt_r" + string(rune('a'+i))
			typ := attestation.TypeCodeReview
			if i == 3 {
				typ = attestation.TypeDataQuality
			}
			st := statement(typ, subj, attester, "e"+string(rune('a'+i)), time.Now())
			ids = append(ids, s.do("POST", "/api/v1/attestations", attestBody(st, s.svidSig(st, attester), nil), s.agentToken(attester, "")).want(t, 201, "").str("id"))
		}
		list := func(q string) []string {
			t.Helper()
			var out []string
			cursor := ""
			for range 10 {
				p := s.do("GET", "/api/v1/attestations?limit=1&"+q+"&cursor="+cursor, nil).want(t, 200, "")
				for _, it := range p.Body["items"].([]any) {
					out = append(out, it.(map[string]any)["id"].(string))
				}
				if cursor = p.str("next_cursor"); cursor == "" {
					break
				}
			}
			return out
		}
		if got := list("subject=agt_bob"); len(got) != 3 || got[0] != ids[3] || got[2] != ids[0] {
			t.Fatalf("bob's = %v, ids %v (newest first)", got, ids)
		}
		if got := list("subject=agt_bob&type=data_quality"); len(got) != 1 || got[0] != ids[3] {
			t.Fatalf("bob's data_quality = %v", got)
		}
		if got := list("attester=agt_rb"); len(got) != 1 || got[0] != ids[1] {
			t.Fatalf("by agt_rb = %v", got)
		}
		if got := list(""); len(got) != 4 {
			t.Fatalf("all = %v", got)
		}
		s.do("GET", "/api/v1/attestations?type=vibes", nil).want(t, 422, "UNKNOWN_ATTESTATION_TYPE")
		s.do("GET", "/api/v1/attestations?subject=a%20b", nil).want(t, 422, "INVALID_ATTESTATION_QUERY")
		s.do("GET", "/api/v1/attestations?cursor=garbage", nil).want(t, 422, "INVALID_CURSOR")
		s.do("GET", "/api/v1/attestations/att_nope", nil).want(t, 404, "ATTESTATION_NOT_FOUND")
		s.do("GET", "/api/v1/attestations/att_"+strings.Repeat("0", 64), nil).want(t, 404, "ATTESTATION_NOT_FOUND")
		s.do("GET", "/api/v1/attestations/att_nope/verify", nil).want(t, 404, "ATTESTATION_NOT_FOUND")
	})
}

// TestAttestations_RewardSurvivesACrash: an attestation stored while the treasury cannot pay
// stays acknowledged and unpaid, and the retry pays it; a retry after a payment whose record was
// lost (a crash between the grant and its record) is the ledger's replay — one reward, ever.
func TestAttestations_RewardSurvivesACrash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStack(t, db)
		admin := bearer(s.adminKey)
		s.do("POST", "/api/v1/admin/teg/accounts", map[string]any{"agent_id": "agt_bob"}, admin).want(t, 201, "")
		st := statement(attestation.TypeCodeReview, "agt_bob", "agt_rev", "unfunded", time.Now())
		r := s.do("POST", "/api/v1/attestations", attestBody(st, s.svidSig(st, "agt_rev"), nil), s.agentToken("agt_rev", "")).want(t, 201, "")
		if r.Body["reward_paid"] != false || s.liquid("agt_bob") != "0" {
			t.Fatalf("paid from an empty treasury: %s", r.Raw)
		}
		ctx := context.Background()
		svc := s.server.Attestations()
		if n, err := svc.PayPending(ctx, 10); err == nil || n != 0 {
			t.Fatalf("paid %d from an empty treasury: %v", n, err)
		}
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "100"}, admin).want(t, 201, "")
		if n, err := svc.PayPending(ctx, 10); err != nil || n != 1 {
			t.Fatalf("PayPending = %d, %v", n, err)
		}
		if got := s.liquid("agt_bob"); got != "0.5" {
			t.Fatalf("bob = %s", got)
		}
		// The payment's record lost: the retry is the ledger's replay of the same grant.
		if _, err := db.Write().ExecContext(ctx, `UPDATE attestations SET reward_paid = 0, reward_transfer = ''`); err != nil {
			t.Fatal(err)
		}
		if n, err := svc.PayPending(ctx, 10); err != nil || n != 1 {
			t.Fatalf("PayPending after a lost record = %d, %v", n, err)
		}
		a := s.do("GET", "/api/v1/attestations/"+st.ID(), nil).want(t, 200, "")
		if got := s.liquid("agt_bob"); got != "0.5" || a.Body["reward_paid"] != true || a.str("reward_transfer") == "" {
			t.Fatalf("bob = %s after the replayed payment; attestation %s", got, a.Raw)
		}
	})
}

// TestAttestations_RewardAndLimitsAreLedgerParameters: the reward, the cooldown and the daily
// limit are part of the ledger's parameter set: changed there, the next attestation is paid and
// limited by the new numbers; out-of-bounds numbers are refused.
func TestAttestations_RewardAndLimitsAreLedgerParameters(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		admin := bearer(s.adminKey)
		s.wallets("100", "agt_bob")
		cur := s.do("GET", "/api/v1/teg/params", nil).want(t, 200, "")
		if a := cur.Body["attestations"].(map[string]any); a["reward"] != "0.5" || a["cooldown_seconds"] != float64(86400) || a["daily_limit"] != float64(10) {
			t.Fatalf("default attestation numbers: %v", a)
		}
		body := editable(t, cur, 1)
		body["attestations"] = map[string]any{"reward": "2", "cooldown_seconds": 0, "daily_limit": 2}
		s.do("PUT", "/api/v1/admin/teg/params", body, admin).want(t, 200, "")
		submit := func(ev string, status int, code string) {
			t.Helper()
			st := statement(attestation.TypeCodeReview, "agt_bob", "agt_r1", ev, time.Now())
			s.do("POST", "/api/v1/attestations", attestBody(st, s.svidSig(st, "agt_r1"), nil), s.agentToken("agt_r1", "")).want(t, status, code)
		}
		submit("review 1", 201, "")
		submit("review 2", 201, "") // no cooldown now
		submit("review 3", 429, "ATTESTATION_DAILY_LIMIT")
		if got := s.liquid("agt_bob"); got != "104" {
			t.Fatalf("bob after two attestations at 2 AVT = %s, want 104", got)
		}
		for _, bad := range []map[string]any{{"reward": "5000", "cooldown_seconds": 0, "daily_limit": 2}, {"reward": "1", "cooldown_seconds": -1, "daily_limit": 2},
			{"reward": "1", "cooldown_seconds": 0, "daily_limit": 0}} {
			b := editable(t, s.do("GET", "/api/v1/teg/params", nil).want(t, 200, ""), 2)
			b["attestations"] = bad
			s.do("PUT", "/api/v1/admin/teg/params", b, admin).want(t, 422, "INVALID_PARAMS")
		}
	})
}
