package server_test

import (
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
)

// setStaking changes staking parameters (admin): fields of the "staking" object of the set.
func (s *stack) setStaking(fields map[string]any) {
	s.t.Helper()
	cur := s.do("GET", "/api/v1/teg/params", nil).want(s.t, 200, "")
	body := editable(s.t, cur, cur.Body["version"].(float64))
	for k, v := range fields {
		body["staking"].(map[string]any)[k] = v
	}
	s.do("PUT", "/api/v1/admin/teg/params", body, bearer(s.adminKey)).want(s.t, 200, "")
}

// payEpoch waits until the next epoch is due and runs the staking scheduler (the server runs
// it too, once a second: whichever comes first pays the epoch, once).
func (s *stack) payEpoch() uint64 {
	s.t.Helper()
	ep := s.do("GET", "/api/v1/staking/epoch", nil).want(s.t, 200, "")
	next := uint64(ep.Body["epoch"].(float64)) + 1
	due, err := time.Parse(time.RFC3339Nano, ep.str("next_due_at"))
	if err != nil {
		s.t.Fatalf("epoch: %s", ep.Raw)
	}
	time.Sleep(time.Until(due) + 10*time.Millisecond)
	if _, _, err := (&teg.Scheduler{Store: s.server.Ledger()}).RunDue(s.t.Context()); err != nil {
		s.t.Fatalf("epoch %d: %v", next, err)
	}
	if ep := s.do("GET", "/api/v1/staking/epoch", nil).want(s.t, 200, ""); uint64(ep.Body["epoch"].(float64)) < next {
		s.t.Fatalf("epoch %d not paid: %s", next, ep.Raw)
	}
	return next
}

func amountOf(t *testing.T, v any) avt.Amount {
	t.Helper()
	s, _ := v.(string)
	a, err := avt.Parse(s)
	if err != nil {
		t.Fatalf("amount %v: %v", v, err)
	}
	return a
}

// An agent stakes and unstakes its own AVT: the balance shows staked and unbonding, the position
// lists the unbonding entry, and every bad request is refused with its code and moves nothing.
func TestStaking_StakeAndUnstake(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("500", "agt_alice", "agt_bob")
		alice, bob, admin := s.agentToken("agt_alice", ""), s.agentToken("agt_bob", ""), bearer(s.adminKey)

		st := s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": "100"}, alice, hdr{"Idempotency-Key", "st-1"}).want(t, 201, "")
		if st.str("kind") != "stake" || st.str("from") != "agt_alice" || st.str("amount") != "100" {
			t.Fatalf("stake = %s", st.Raw)
		}
		if r := s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": "100"}, alice, hdr{"Idempotency-Key", "st-1"}).want(t, 200, ""); r.Body["replayed"] != true {
			t.Fatalf("replay = %s", r.Raw)
		}
		s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": "101"}, alice, hdr{"Idempotency-Key", "st-1"}).want(t, 409, "IDEMPOTENCY_KEY_REUSED")

		// Bad input: each its code.
		for amount, code := range map[string]string{"1e3": "INVALID_AMOUNT", "0": "INVALID_AMOUNT", "-5": "INVALID_AMOUNT",
			"0.0000000000000000001": "AMOUNT_TOO_PRECISE", "9.99": "STAKE_BELOW_MINIMUM"} {
			if r := s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": amount}, alice).want(t, 422, code); r.details()["field"] != "amount" {
				t.Fatalf("stake %q: %s", amount, r.Raw)
			}
		}
		s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": "401"}, alice).want(t, 422, "INSUFFICIENT_BALANCE")
		s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": 100}, alice).want(t, 422, "INVALID_FIELD")
		s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": "10", "extra": 1}, alice).want(t, 422, "UNKNOWN_FIELD")
		s.do("POST", "/api/v1/staking/unstake", map[string]any{"amount": "100.000000000000000001"}, alice).want(t, 422, "UNSTAKE_EXCEEDS_STAKE")
		s.do("POST", "/api/v1/staking/unstake", map[string]any{"amount": "10"}, bob).want(t, 404, "DELEGATION_NOT_FOUND")

		// Someone else's stake is FORBIDDEN; no credentials is 401; a developer names an agent.
		s.do("POST", "/api/v1/staking/stake", map[string]any{"agent": "agt_alice", "amount": "10"}, bob).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/staking/unstake", map[string]any{"agent": "agt_alice", "amount": "10"}, bob).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/staking/agents/agt_alice", nil, bob).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": "10"}).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/staking/unstake", map[string]any{"amount": "10"}).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("GET", "/api/v1/staking/agents/agt_alice", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		dev := bearer(s.register("stake-dev@example.com", true).Access)
		s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": "10"}, dev).want(t, 422, "AGENT_REQUIRED")
		s.do("POST", "/api/v1/staking/stake", map[string]any{"agent": "agt_alice", "amount": "10"}, dev).want(t, 403, "FORBIDDEN")
		// Nothing of the above moved: 400 liquid, 100 staked.
		if b := s.do("GET", "/api/v1/token/balance", nil, alice).want(t, 200, ""); b.str("liquid") != "400" || b.str("staked") != "100" {
			t.Fatalf("alice = %s", b.Raw)
		}

		// An admin acts for an agent by naming it.
		s.do("POST", "/api/v1/staking/stake", map[string]any{"agent": "agt_alice", "amount": "10"}, admin).want(t, 201, "")
		un := s.do("POST", "/api/v1/staking/unstake", map[string]any{"amount": "40"}, alice).want(t, 201, "")
		if un.str("kind") != "unstake" || un.str("amount") != "40" {
			t.Fatalf("unstake = %s", un.Raw)
		}
		if b := s.do("GET", "/api/v1/token/balance", nil, alice).want(t, 200, ""); b.str("liquid") != "390" || b.str("staked") != "70" || b.str("unbonding") != "40" || b.str("total") != "500" {
			t.Fatalf("alice after unstake = %s", b.Raw)
		}
		for _, who := range []hdr{alice, admin} {
			p := s.do("GET", "/api/v1/staking/agents/agt_alice", nil, who).want(t, 200, "")
			dels, ubs := p.Body["delegations"].([]any), p.Body["unbonding_entries"].([]any)
			if p.str("liquid") != "390" || p.str("staked") != "70" || p.str("unbonding") != "40" || len(dels) != 1 || dels[0].(map[string]any)["validator"] != "passive" ||
				len(ubs) != 1 || ubs[0].(map[string]any)["balance"] != "40" || p.Body["validator"] != nil {
				t.Fatalf("position = %s", p.Raw)
			}
			done, _ := time.Parse(time.RFC3339Nano, ubs[0].(map[string]any)["completes_at"].(string))
			if d := time.Until(done); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour {
				t.Fatalf("unbonding completes in %v, want 7 days", d)
			}
		}
		// The staking history: the stake operations only (not the grant), newest first, paged.
		h := s.do("GET", "/api/v1/staking/agents/agt_alice/history?limit=2", nil, alice).want(t, 200, "")
		items := h.Body["items"].([]any)
		if len(items) != 2 || items[0].(map[string]any)["kind"] != "unstake" || items[1].(map[string]any)["kind"] != "stake" || h.str("next_cursor") == "" {
			t.Fatalf("history = %s", h.Raw)
		}
		rest := s.do("GET", "/api/v1/staking/agents/agt_alice/history?limit=5&cursor="+h.str("next_cursor"), nil, admin).want(t, 200, "")
		if items := rest.Body["items"].([]any); len(items) != 1 || items[0].(map[string]any)["kind"] != "stake" || rest.str("next_cursor") != "" {
			t.Fatalf("history, second page = %s", rest.Raw)
		}
		s.do("GET", "/api/v1/staking/agents/agt_alice/history", nil, bob).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/staking/agents/agt_alice/history", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("GET", "/api/v1/staking/agents/agt_nobody/history", nil, admin).want(t, 404, "ACCOUNT_NOT_FOUND")
		s.do("GET", "/api/v1/staking/agents/agt_alice/history?cursor=not-a-cursor", nil, admin).want(t, 422, "INVALID_CURSOR")
		s.do("GET", "/api/v1/staking/agents/agt_nobody", nil, admin).want(t, 404, "ACCOUNT_NOT_FOUND")
		s.do("GET", "/api/v1/staking/rewards/agt_nobody", nil, admin).want(t, 404, "ACCOUNT_NOT_FOUND")
		s.do("GET", "/api/v1/staking/agents/sys:treasury", nil, admin).want(t, 422, "INVALID_ACCOUNT")
		mustVerify(t, s)
	})
}

// Validators: created with a self-stake, listed publicly with their stake, commission and
// delegators; delegated to, redelegated between (no hop while a redelegation is in progress),
// their commission changed within the daily limit; slashed by an admin (every delegation loses
// the same fraction), jailed and unjailed.
func TestStaking_ValidatorsAndDelegation(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("5000", "agt_val", "agt_v2", "agt_alice", "agt_bob")
		val, v2, alice, bob, admin := s.agentToken("agt_val", ""), s.agentToken("agt_v2", ""), s.agentToken("agt_alice", ""), s.agentToken("agt_bob", ""), bearer(s.adminKey)

		if r := s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "999.99"}, val).want(t, 422, "SELF_STAKE_BELOW_MINIMUM"); r.details()["field"] != "self_stake" {
			t.Fatalf("self-stake below the minimum: %s", r.Raw)
		}
		s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "1000", "commission_bps": 10001}, val).want(t, 422, "INVALID_COMMISSION")
		s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "6000"}, val).want(t, 422, "INSUFFICIENT_BALANCE")
		s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "abc"}, val).want(t, 422, "INVALID_AMOUNT")
		s.do("POST", "/api/v1/staking/validators", map[string]any{"agent": "agt_val", "self_stake": "1000"}, bob).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "1000"}).want(t, 401, "AUTHENTICATION_REQUIRED")
		c := s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "1000"}, val).want(t, 201, "")
		if c.str("kind") != "validator_create" || c.str("amount") != "1000" {
			t.Fatalf("create = %s", c.Raw)
		}
		s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "1000"}, val).want(t, 409, "VALIDATOR_EXISTS")
		s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "2000", "commission_bps": 500}, v2).want(t, 201, "")

		// Delegation: to a validator only; the alias requires one.
		d := s.do("POST", "/api/v1/staking/delegate", map[string]any{"validator": "agt_val", "amount": "100"}, alice).want(t, 201, "")
		if d.str("kind") != "stake" || d.str("to") != "agt_val" {
			t.Fatalf("delegate = %s", d.Raw)
		}
		s.do("POST", "/api/v1/staking/delegate", map[string]any{"validator": "agt_bob", "amount": "100"}, alice).want(t, 404, "VALIDATOR_NOT_FOUND")
		s.do("POST", "/api/v1/staking/stake", map[string]any{"validator": "sys:treasury", "amount": "100"}, alice).want(t, 404, "VALIDATOR_NOT_FOUND")
		s.do("POST", "/api/v1/staking/delegate", map[string]any{"amount": "100"}, alice).want(t, 422, "MISSING_FIELD")
		s.do("POST", "/api/v1/staking/delegate", map[string]any{"validator": "agt_val", "amount": "1"}, alice).want(t, 422, "STAKE_BELOW_MINIMUM")
		s.do("POST", "/api/v1/staking/delegate", map[string]any{"validator": "agt_val", "amount": "100"}).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/staking/delegate", map[string]any{"agent": "agt_alice", "validator": "agt_val", "amount": "100"}, bob).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/staking/delegate", map[string]any{"validator": "agt_v2", "amount": "50"}, bob).want(t, 201, "")

		list := s.do("GET", "/api/v1/staking/validators", nil).want(t, 200, "").Body["items"].([]any)
		if len(list) != 2 {
			t.Fatalf("validators = %v", list)
		}
		first, second := list[0].(map[string]any), list[1].(map[string]any)
		if first["id"] != "agt_v2" || first["stake"] != "2050" || first["commission_bps"] != float64(500) || first["delegators"] != float64(2) ||
			second["id"] != "agt_val" || second["stake"] != "1100" || second["self_stake"] != "1000" || second["commission_bps"] != float64(1000) ||
			second["jailed"] != false || second["uptime"] != float64(1) {
			t.Fatalf("validators = %v", list)
		}
		if one := s.do("GET", "/api/v1/staking/validators/agt_val", nil).want(t, 200, ""); one.str("stake") != "1100" || one.Body["delegators"] != float64(2) {
			t.Fatalf("validator = %s", one.Raw)
		}
		s.do("GET", "/api/v1/staking/validators/agt_alice", nil).want(t, 404, "VALIDATOR_NOT_FOUND")

		// Commission: at most 1 % a day, once a day, never over 100 %, by the operator only.
		s.do("PATCH", "/api/v1/staking/validators/agt_val", map[string]any{"commission_bps": 1101}, val).want(t, 422, "COMMISSION_CHANGE_TOO_LARGE")
		s.do("PATCH", "/api/v1/staking/validators/agt_val", map[string]any{"commission_bps": 10001}, val).want(t, 422, "INVALID_COMMISSION")
		s.do("PATCH", "/api/v1/staking/validators/agt_val", map[string]any{"commission_bps": 1050}, alice).want(t, 403, "FORBIDDEN")
		s.do("PATCH", "/api/v1/staking/validators/agt_val", map[string]any{"commission_bps": 1050}).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("PATCH", "/api/v1/staking/validators/agt_alice", map[string]any{"commission_bps": 100}, alice).want(t, 404, "VALIDATOR_NOT_FOUND")
		e := s.do("PATCH", "/api/v1/staking/validators/agt_val", map[string]any{"commission_bps": 1100}, val).want(t, 200, "")
		if e.str("kind") != "validator_edit" {
			t.Fatalf("edit = %s", e.Raw)
		}
		s.do("PATCH", "/api/v1/staking/validators/agt_val", map[string]any{"commission_bps": 1050}, val).want(t, 409, "COMMISSION_CHANGE_TOO_SOON")
		if one := s.do("GET", "/api/v1/staking/validators/agt_val", nil).want(t, 200, ""); one.Body["commission_bps"] != float64(1100) {
			t.Fatalf("validator = %s", one.Raw)
		}

		// Redelegation moves stake at once; the moved stake may not hop on until it completes.
		s.do("POST", "/api/v1/staking/redelegate", map[string]any{"validator": "agt_val", "to": "agt_val", "amount": "50"}, alice).want(t, 422, "SAME_VALIDATOR")
		s.do("POST", "/api/v1/staking/redelegate", map[string]any{"validator": "agt_val", "to": "agt_v2", "amount": "5"}, alice).want(t, 422, "STAKE_BELOW_MINIMUM")
		s.do("POST", "/api/v1/staking/redelegate", map[string]any{"validator": "agt_val", "to": "agt_v2", "amount": "500"}, alice).want(t, 422, "UNSTAKE_EXCEEDS_STAKE")
		s.do("POST", "/api/v1/staking/redelegate", map[string]any{"validator": "agt_val", "to": "agt_bob", "amount": "50"}, alice).want(t, 404, "VALIDATOR_NOT_FOUND")
		s.do("POST", "/api/v1/staking/redelegate", map[string]any{"validator": "agt_val", "amount": "50"}, alice).want(t, 422, "MISSING_FIELD")
		s.do("POST", "/api/v1/staking/redelegate", map[string]any{"agent": "agt_alice", "validator": "agt_val", "to": "agt_v2", "amount": "50"}, bob).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/staking/redelegate", map[string]any{"validator": "agt_val", "to": "agt_v2", "amount": "50"}).want(t, 401, "AUTHENTICATION_REQUIRED")
		rd := s.do("POST", "/api/v1/staking/redelegate", map[string]any{"validator": "agt_val", "to": "agt_v2", "amount": "50"}, alice).want(t, 201, "")
		if rd.str("kind") != "redelegate" {
			t.Fatalf("redelegate = %s", rd.Raw)
		}
		s.do("POST", "/api/v1/staking/redelegate", map[string]any{"validator": "agt_v2", "to": "agt_val", "amount": "20"}, alice).want(t, 409, "REDELEGATION_IN_PROGRESS")
		s.do("POST", "/api/v1/staking/undelegate", map[string]any{"validator": "agt_v2", "amount": "20"}, alice).want(t, 201, "")
		s.do("POST", "/api/v1/staking/undelegate", map[string]any{"amount": "20"}, alice).want(t, 422, "MISSING_FIELD")
		s.do("POST", "/api/v1/staking/undelegate", map[string]any{"validator": "agt_v2", "amount": "31"}, alice).want(t, 422, "UNSTAKE_EXCEEDS_STAKE")
		s.do("POST", "/api/v1/staking/undelegate", map[string]any{"agent": "agt_alice", "validator": "agt_v2", "amount": "1"}, bob).want(t, 403, "FORBIDDEN")
		p := s.do("GET", "/api/v1/staking/agents/agt_alice", nil, alice).want(t, 200, "")
		if p.str("staked") != "80" || p.str("unbonding") != "20" || len(p.Body["delegations"].([]any)) != 2 {
			t.Fatalf("alice = %s", p.Raw)
		}
		if p := s.do("GET", "/api/v1/staking/agents/agt_val", nil, val).want(t, 200, ""); p.Body["validator"].(map[string]any)["id"] != "agt_val" || p.str("staked") != "1000" {
			t.Fatalf("val = %s", p.Raw)
		}

		// Slashing is for admins; it lowers every stake with the validator by the fraction, and
		// a self-stake below the minimum jails the validator.
		s.do("POST", "/api/v1/staking/validators/agt_val:unjail", nil, val).want(t, 409, "VALIDATOR_NOT_JAILED")
		s.do("POST", "/api/v1/staking/validators/agt_val:jail", nil, val).want(t, 404, "NOT_FOUND")
		slash := map[string]any{"validator": "agt_val", "fraction_bps": 1000, "reason": "double signing"}
		s.do("POST", "/api/v1/admin/staking/slash", slash, val).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/admin/staking/slash", slash).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/admin/staking/slash", map[string]any{"validator": "agt_val", "fraction_bps": 0, "reason": "x"}, admin).want(t, 422, "INVALID_FRACTION")
		s.do("POST", "/api/v1/admin/staking/slash", map[string]any{"validator": "agt_val", "fraction_bps": 10001, "reason": "x"}, admin).want(t, 422, "INVALID_FRACTION")
		s.do("POST", "/api/v1/admin/staking/slash", map[string]any{"validator": "agt_alice", "fraction_bps": 100, "reason": "x"}, admin).want(t, 404, "VALIDATOR_NOT_FOUND")
		sl := s.do("POST", "/api/v1/admin/staking/slash", slash, admin, hdr{"Idempotency-Key", "slash-1"}).want(t, 201, "")
		if sl.str("kind") != "slash" || sl.str("to") != "sys:treasury" || sl.str("amount") != "105" { // 10 % of 1050
			t.Fatalf("slash = %s", sl.Raw)
		}
		one := s.do("GET", "/api/v1/staking/validators/agt_val", nil).want(t, 200, "")
		if one.Body["jailed"] != true || one.str("self_stake") != "900" || one.str("stake") != "945" {
			t.Fatalf("slashed validator = %s", one.Raw)
		}
		if p := s.do("GET", "/api/v1/staking/agents/agt_alice", nil, alice).want(t, 200, ""); p.str("staked") != "75" {
			t.Fatalf("alice after the slash = %s", p.Raw) // 50 with agt_val → 45, 30 with agt_v2
		}
		s.do("POST", "/api/v1/staking/delegate", map[string]any{"validator": "agt_val", "amount": "100"}, bob).want(t, 409, "VALIDATOR_JAILED")
		s.do("POST", "/api/v1/staking/redelegate", map[string]any{"validator": "agt_v2", "to": "agt_val", "amount": "20"}, bob).want(t, 409, "VALIDATOR_JAILED")
		s.do("POST", "/api/v1/staking/validators/agt_val:unjail", nil, val).want(t, 422, "SELF_STAKE_BELOW_MINIMUM")
		s.do("POST", "/api/v1/staking/validators/agt_val:unjail", nil, alice).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/staking/validators/agt_val:unjail", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/staking/validators/agt_alice:unjail", nil, alice).want(t, 404, "VALIDATOR_NOT_FOUND")
		// With the minimum lowered (a parameter change), the operator unjails its validator.
		s.setStaking(map[string]any{"min_self_stake": "500"})
		s.do("POST", "/api/v1/staking/validators/agt_val:unjail", nil, val).want(t, 201, "")
		if one := s.do("GET", "/api/v1/staking/validators/agt_val", nil).want(t, 200, ""); one.Body["jailed"] != false {
			t.Fatalf("unjailed validator = %s", one.Raw)
		}
		s.do("POST", "/api/v1/staking/delegate", map[string]any{"validator": "agt_val", "amount": "100"}, bob).want(t, 201, "")
		mustVerify(t, s)
	})
}

// Rewards: an epoch pays the stakers and the validator's commission; an agent reads its pending
// rewards, claims them, turns auto-compounding on; nobody claims another's rewards.
func TestStaking_RewardsClaimAndCompound(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("5000", "agt_val", "agt_alice", "agt_bob")
		val, alice, bob, admin := s.agentToken("agt_val", ""), s.agentToken("agt_alice", ""), s.agentToken("agt_bob", ""), bearer(s.adminKey)
		if ep := s.do("GET", "/api/v1/staking/epoch", nil).want(t, 200, ""); ep.Body["epoch"] != float64(0) || ep.Body["next_due_at"] != nil || ep.Body["epoch_seconds"] != float64(86400) {
			t.Fatalf("epoch before any stake = %s", ep.Raw)
		}
		s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "1000", "commission_bps": 2000}, val).want(t, 201, "")
		s.do("POST", "/api/v1/staking/delegate", map[string]any{"validator": "agt_val", "amount": "1000"}, alice).want(t, 201, "")
		// Fees feed the staking reward pool and the validator pool.
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "100"}, alice).want(t, 201, "")
		if ep := s.do("GET", "/api/v1/staking/epoch", nil).want(t, 200, ""); ep.str("next_due_at") == "" || ep.str("ended_at") == "" {
			t.Fatalf("epoch = %s", ep.Raw)
		}
		r := s.do("GET", "/api/v1/staking/rewards/agt_alice", nil, alice).want(t, 200, "")
		if r.str("total") != "0" {
			t.Fatalf("rewards before an epoch = %s", r.Raw)
		}
		s.do("POST", "/api/v1/staking/rewards:claim", nil, alice).want(t, 409, "NOTHING_TO_CLAIM")

		// Epochs of a second from here on (the server's scheduler pays them as they fall due).
		s.setStaking(map[string]any{"epoch_seconds": 1})
		s.payEpoch()
		r = s.do("GET", "/api/v1/staking/rewards/agt_alice", nil, alice).want(t, 200, "")
		pending := amountOf(t, r.Body["total"])
		dels := r.Body["delegations"].([]any)
		if pending.IsZero() || len(dels) != 1 || dels[0].(map[string]any)["validator"] != "agt_val" || r.str("commission") != "0" {
			t.Fatalf("rewards after an epoch = %s", r.Raw)
		}
		if p := s.do("GET", "/api/v1/staking/agents/agt_alice", nil, admin).want(t, 200, ""); amountOf(t, p.Body["rewards"]).Cmp(pending) < 0 {
			t.Fatalf("position rewards = %s, want %s", p.Raw, pending)
		}
		vr := s.do("GET", "/api/v1/staking/rewards/agt_val", nil, val).want(t, 200, "")
		if amountOf(t, vr.Body["commission"]).IsZero() {
			t.Fatalf("validator rewards = %s", vr.Raw)
		}
		s.do("GET", "/api/v1/staking/rewards/agt_alice", nil, bob).want(t, 403, "FORBIDDEN")
		s.do("GET", "/api/v1/staking/rewards/agt_alice", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/staking/rewards:claim", map[string]any{"agent": "agt_alice"}, bob).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/staking/rewards:claim", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", "/api/v1/staking/rewards:claim", nil, bob).want(t, 409, "NOTHING_TO_CLAIM")

		// Auto-compound on: what was earned stays claimable; what comes after joins the stake.
		s.do("PUT", "/api/v1/staking/compound", map[string]any{"validator": "agt_val", "on": true}, bob).want(t, 404, "DELEGATION_NOT_FOUND")
		s.do("PUT", "/api/v1/staking/compound", map[string]any{"agent": "agt_alice", "validator": "agt_val", "on": true}, bob).want(t, 403, "FORBIDDEN")
		s.do("PUT", "/api/v1/staking/compound", map[string]any{"validator": "agt_val", "on": true}).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("PUT", "/api/v1/staking/compound", map[string]any{"validator": "agt_val"}, alice).want(t, 422, "MISSING_FIELD")
		if c := s.do("PUT", "/api/v1/staking/compound", map[string]any{"validator": "agt_val", "on": true}, alice).want(t, 200, ""); c.str("kind") != "compound" {
			t.Fatalf("compound = %s", c.Raw)
		}
		before := amountOf(t, s.do("GET", "/api/v1/token/balance", nil, alice).want(t, 200, "").Body["liquid"])
		cl := s.do("POST", "/api/v1/staking/rewards:claim", map[string]any{"validator": "agt_val"}, alice).want(t, 201, "")
		claimed := amountOf(t, cl.Body["amount"])
		if cl.str("kind") != "claim" || cl.str("to") != "agt_alice" || claimed.Cmp(pending) < 0 {
			t.Fatalf("claim = %s, pending was %s", cl.Raw, pending)
		}
		after := amountOf(t, s.do("GET", "/api/v1/token/balance", nil, alice).want(t, 200, "").Body["liquid"])
		if want, _ := before.Add(claimed); after != want {
			t.Fatalf("liquid %s after claiming %s from %s", after, claimed, before)
		}
		s.payEpoch()
		p := s.do("GET", "/api/v1/staking/agents/agt_alice", nil, alice).want(t, 200, "")
		d := p.Body["delegations"].([]any)[0].(map[string]any)
		if d["compound"] != true || d["rewards"] != "0" || amountOf(t, d["amount"]).Cmp(avt.AVT(1000)) <= 0 {
			t.Fatalf("compounding stake after an epoch = %s", p.Raw)
		}
		// The operator claims its commission (an admin may claim for it too).
		if c := s.do("POST", "/api/v1/staking/rewards:claim", map[string]any{"agent": "agt_val"}, admin).want(t, 201, ""); amountOf(t, c.Body["amount"]).IsZero() {
			t.Fatalf("operator claim = %s", c.Raw)
		}
		mustVerify(t, s)
	})
}

// The staking routes are in the OpenAPI document, the public reads without a security
// requirement.
func TestStaking_OpenAPI(t *testing.T) {
	s := newStack(t, storetest.SQLite(t))
	paths := s.do("GET", "/openapi.json", nil).want(t, 200, "").Body["paths"].(map[string]any)
	for p, methods := range map[string][]string{
		"/api/v1/staking/stake": {"post"}, "/api/v1/staking/unstake": {"post"}, "/api/v1/staking/delegate": {"post"},
		"/api/v1/staking/undelegate": {"post"}, "/api/v1/staking/redelegate": {"post"}, "/api/v1/staking/validators": {"get", "post"},
		"/api/v1/staking/validators/{id}": {"get", "patch", "post"}, "/api/v1/staking/agents/{id}": {"get"},
		"/api/v1/staking/rewards/{id}": {"get"}, "/api/v1/staking/rewards:claim": {"post"}, "/api/v1/staking/compound": {"put"},
		"/api/v1/staking/epoch": {"get"}, "/api/v1/admin/staking/slash": {"post"},
	} {
		item, _ := paths[p].(map[string]any)
		for _, m := range methods {
			op, _ := item[m].(map[string]any)
			if op == nil {
				t.Errorf("OpenAPI lacks %s %s", m, p)
				continue
			}
			_, secured := op["security"]
			public := m == "get" && (p == "/api/v1/staking/validators" || p == "/api/v1/staking/validators/{id}" || p == "/api/v1/staking/epoch")
			if secured == public {
				t.Errorf("OpenAPI: %s %s security %v, want public=%v", m, p, op["security"], public)
			}
		}
	}
}
