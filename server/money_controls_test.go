package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/avt"
)

// A New agent's daily limit is 1,000 AVT over a rolling 24 hours: the ledger keeps what it sent
// and refuses the transfer that would pass the limit, holds included.
func TestMoneyControls_DailyLimit(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("5000", "agt_alice", "agt_bob")
		alice := s.agentToken("agt_alice", "")
		for range 10 {
			s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "100"}, alice).want(t, 201, "")
		}
		r := s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "100"}, alice).want(t, 403, "DAILY_LIMIT_EXCEEDED")
		if d := r.details(); d["limit"] != "1000" || d["used"] != "1000" || d["requested"] != "100" || d["tier"] != "New" {
			t.Fatalf("details: %s", r.Raw)
		}
		s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_bob", "amount": "0.5"}, alice).want(t, 403, "DAILY_LIMIT_EXCEEDED")
		s.do("POST", "/api/v1/token/transfers:batch", map[string]any{"transfers": []any{map[string]any{"to": "agt_bob", "amount": "1"}}}, alice).
			want(t, 403, "DAILY_LIMIT_EXCEEDED")
		// The refusals moved nothing: alice paid 10 × (100 + 0.1 fee).
		if b := s.do("GET", "/api/v1/token/balance", nil, alice).want(t, 200, ""); b.str("liquid") != "3999" {
			t.Fatalf("alice = %s", b.Raw)
		}
		// Bob's own limit is his.
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_alice", "amount": "100"}, s.agentToken("agt_bob", "")).want(t, 201, "")
	})
}

// A voided hold gives back what it counted against the daily limit.
func TestMoneyControls_VoidedHoldGivesBackTheDailyLimit(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("5000", "agt_alice", "agt_bob")
		alice := s.agentToken("agt_alice", "")
		var holds []string
		for range 10 {
			holds = append(holds, s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_bob", "amount": "100"}, alice).want(t, 201, "").str("id"))
		}
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "1"}, alice).want(t, 403, "DAILY_LIMIT_EXCEEDED")
		s.do("POST", "/api/v1/token/pending/"+holds[0]+":void", nil, alice).want(t, 201, "")
		s.do("POST", "/api/v1/token/pending/"+holds[1]+":post", map[string]any{"amount": "40"}, alice).want(t, 201, "")
		// 100 + 60 given back: 160 AVT may be sent again, not more.
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "100"}, alice).want(t, 201, "")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "60"}, alice).want(t, 201, "")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "0.000000000000000001"}, alice).want(t, 403, "DAILY_LIMIT_EXCEEDED")
	})
}

// 100 concurrent transfers of 30 AVT cannot overrun a 1,000 AVT daily limit: exactly 33 pass.
func TestMoneyControls_ConcurrentTransfersCannotOverrunTheDailyLimit(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("5000", "agt_alice", "agt_bob")
		alice := s.agentToken("agt_alice", "")
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			ok, lim  int
			statuses = map[string]int{}
		)
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "30"}, alice)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case r.Status == 201:
					ok++
				case r.code() == "DAILY_LIMIT_EXCEEDED":
					lim++
				default:
					statuses[fmt.Sprint(r.Status, r.code())]++
				}
			}()
		}
		wg.Wait()
		if ok != 33 || lim != 67 || len(statuses) != 0 {
			t.Fatalf("%d applied, %d refused for the limit, others %v; want 33 and 67", ok, lim, statuses)
		}
		if b := s.do("GET", "/api/v1/token/balance?account=agt_bob", nil, bearer(s.adminKey)).want(t, 200, ""); b.str("liquid") != "5990" {
			t.Fatalf("bob = %s", b.Raw)
		}
	})
}

// An admin (or the registry) suspends a wallet: its owner's token, minted before, moves nothing
// more; reactivated, it does again; revoked, it is closed for good.
func TestMoneyControls_SuspendedWalletsDoNotSpend(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("500", "agt_alice", "agt_bob")
		admin, alice := bearer(s.adminKey), s.agentToken("agt_alice", "")
		hold := s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_bob", "amount": "10"}, alice).want(t, 201, "").str("id")
		r := s.do("POST", "/api/v1/admin/teg/accounts/agt_alice/status", map[string]any{"status": "suspended"}, admin).want(t, 200, "")
		if r.str("status") != "suspended" {
			t.Fatalf("status = %s", r.Raw)
		}
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "1"}, alice).want(t, 403, "ACCOUNT_SUSPENDED")
		s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_bob", "amount": "1"}, alice).want(t, 403, "ACCOUNT_SUSPENDED")
		s.do("POST", "/api/v1/token/pending/"+hold+":post", nil, s.agentToken("agt_bob", "")).want(t, 403, "ACCOUNT_SUSPENDED")
		// It may still receive, and its holds may be voided (the funds return to it).
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_alice", "amount": "1"}, s.agentToken("agt_bob", "")).want(t, 201, "")
		s.do("POST", "/api/v1/token/pending/"+hold+":void", nil, alice).want(t, 201, "")
		// Only admins and the registry change a wallet's status.
		s.do("POST", "/api/v1/admin/teg/accounts/agt_alice/status", map[string]any{"status": "active"}, alice).want(t, 403, "FORBIDDEN")
		s.do("POST", "/api/v1/admin/teg/accounts/agt_alice/status", map[string]any{"status": "frozen"}, admin).want(t, 422, "INVALID_STATUS")
		s.do("POST", "/api/v1/admin/teg/accounts/agt_nobody/status", map[string]any{"status": "suspended"}, admin).want(t, 404, "ACCOUNT_NOT_FOUND")
		s.do("POST", "/api/v1/admin/teg/accounts/sys:treasury/status", map[string]any{"status": "suspended"}, admin).want(t, 422, "INVALID_ACCOUNT")
		s.do("POST", "/api/v1/admin/teg/accounts/agt_alice/status", map[string]any{"status": "active"}, admin).want(t, 200, "")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "1"}, alice).want(t, 201, "")
		s.do("POST", "/api/v1/admin/teg/accounts/agt_alice/status", map[string]any{"status": "revoked"}, admin).want(t, 200, "")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "1"}, alice).want(t, 403, "ACCOUNT_REVOKED")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_alice", "amount": "1"}, s.agentToken("agt_bob", "")).want(t, 403, "ACCOUNT_REVOKED")
		s.do("POST", "/api/v1/admin/teg/accounts/agt_alice/status", map[string]any{"status": "active"}, admin).want(t, 403, "ACCOUNT_REVOKED")
		s.do("POST", "/api/v1/token/grant", map[string]any{"to": "agt_alice", "amount": "1"}, admin).want(t, 403, "ACCOUNT_REVOKED")
		mustVerify(t, s)
	})
}

// A mint that would take the AVT ever minted past the maximum supply is refused, and the ledger
// keeps working (it used to accept it and then refuse every transfer as out of range).
func TestMoneyControls_MintIsBoundedBySupply(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		admin := bearer(s.adminKey)
		s.wallets("100", "agt_alice", "agt_bob")
		r := s.do("POST", "/api/v1/token/mint", map[string]any{"amount": avt.Max.String()}, admin).want(t, 422, "SUPPLY_LIMIT_EXCEEDED")
		if d := r.details(); d["max_supply"] != "1000000000000" || d["minted"] != "1000000" {
			t.Fatalf("details: %s", r.Raw)
		}
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "999999000001"}, admin).want(t, 422, "SUPPLY_LIMIT_EXCEEDED")
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "999999000000"}, admin).want(t, 201, "")
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "0.000000000000000001"}, admin).want(t, 422, "SUPPLY_LIMIT_EXCEEDED")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "1"}, s.agentToken("agt_alice", "")).want(t, 201, "")
		mustVerify(t, s)
	})
}

// Nobody pays system accounts or holds funds for them: they move value only through the
// ledger's own operations.
func TestMoneyControls_NoPaymentsToSystemAccounts(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("100", "agt_alice")
		alice := s.agentToken("agt_alice", "")
		for _, sys := range []string{"sys:treasury", "sys:burn", "sys:escrow", "sys:dispute_escrow", "sys:validator_pool", "sys:staking_reward_pool", "sys:other"} {
			s.do("POST", "/api/v1/token/transfer", map[string]any{"to": sys, "amount": "1"}, alice).want(t, 422, "SYSTEM_ACCOUNT")
			s.do("POST", "/api/v1/token/pending", map[string]any{"to": sys, "amount": "1"}, alice).want(t, 422, "SYSTEM_ACCOUNT")
			s.do("POST", "/api/v1/token/transfers:batch", map[string]any{"transfers": []any{map[string]any{"to": sys, "amount": "1"}}}, alice).want(t, 422, "SYSTEM_ACCOUNT")
		}
		if b := s.do("GET", "/api/v1/token/balance", nil, alice).want(t, 200, ""); b.str("liquid") != "100" {
			t.Fatalf("alice = %s", b.Raw)
		}
	})
}

// A zero amount is bad input (422 INVALID_AMOUNT), answered before the policy looks at the
// request, whoever sends it.
func TestMoneyControls_ZeroAmountsAreInvalidBeforeAuthorization(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("100", "agt_alice", "agt_bob")
		alice, admin := s.agentToken("agt_alice", ""), bearer(s.adminKey)
		for _, who := range []hdr{alice, admin} {
			s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "0"}, who).want(t, 422, "INVALID_AMOUNT")
			s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_bob", "amount": "0.0"}, who).want(t, 422, "INVALID_AMOUNT")
			r := s.do("POST", "/api/v1/token/transfers:batch", map[string]any{"transfers": []any{
				map[string]any{"to": "agt_bob", "amount": "1"}, map[string]any{"to": "agt_bob", "amount": "0"}}}, who).want(t, 422, "INVALID_AMOUNT")
			if r.details()["index"] != float64(1) {
				t.Fatalf("batch: %s", r.Raw)
			}
		}
		s.do("POST", "/api/v1/token/mint", map[string]any{"amount": "0"}, alice).want(t, 422, "INVALID_AMOUNT")
		hold := s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_bob", "amount": "5"}, alice).want(t, 201, "").str("id")
		s.do("POST", "/api/v1/token/pending/"+hold+":post", map[string]any{"amount": "0"}, alice).want(t, 422, "INVALID_AMOUNT")
	})
}

// A pending transfer is read by id — by its payer, its payee or an admin — whatever else its
// accounts did since (a paid task's payee checks the hold this way).
func TestMoneyControls_PendingTransferByID(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("100", "agt_alice", "agt_bob", "agt_carol")
		alice, bob, carol := s.agentToken("agt_alice", ""), s.agentToken("agt_bob", ""), s.agentToken("agt_carol", "")
		hold := s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_bob", "amount": "5"}, alice).want(t, 201, "").str("id")
		for _, who := range []hdr{alice, bob, bearer(s.adminKey)} {
			r := s.do("GET", "/api/v1/token/pending/"+hold, nil, who).want(t, 200, "")
			if r.str("state") != "active" || r.str("amount") != "5" || r.str("from") != "agt_alice" || r.str("to") != "agt_bob" {
				t.Fatalf("pending = %s", r.Raw)
			}
		}
		s.do("GET", "/api/v1/token/pending/"+hold, nil, carol).want(t, 404, "PENDING_NOT_FOUND")
		s.do("GET", "/api/v1/token/pending/tx_nope", nil, alice).want(t, 404, "PENDING_NOT_FOUND")
		s.do("GET", "/api/v1/token/pending/"+hold, nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		plain := s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_bob", "amount": "1"}, alice).want(t, 201, "").str("id")
		s.do("GET", "/api/v1/token/pending/"+plain, nil, alice).want(t, 404, "PENDING_NOT_FOUND")
		s.do("POST", "/api/v1/token/pending/"+hold+":void", nil, alice).want(t, 201, "")
		if r := s.do("GET", "/api/v1/token/pending/"+hold, nil, bob).want(t, 200, ""); r.str("state") != "voided" {
			t.Fatalf("pending = %s", r.Raw)
		}
	})
}

// mustVerify replays the stack's ledger (what `sovereign teg verify` does).
func mustVerify(t *testing.T, s *stack) {
	t.Helper()
	if _, err := s.server.Ledger().Verify(context.Background()); err != nil {
		t.Fatalf("teg verify: %v", err)
	}
}

// A payee finds the hold of a paid task however many transfers its wallet received since: 2,100
// dust transfers used to push the hold out of the 2,000 history entries the check searched.
func TestMoneyControls_DustCannotHideAHold(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("100", "agt_alice", "agt_bob", "agt_carol")
		alice, carol := s.agentToken("agt_alice", ""), s.agentToken("agt_carol", "")
		hold := s.do("POST", "/api/v1/token/pending", map[string]any{"to": "agt_bob", "amount": "5"}, alice).want(t, 201, "").str("id")
		dust := make([]any, 2100)
		for i := range dust {
			dust[i] = map[string]any{"to": "agt_bob", "amount": "0.000000000000000001"}
		}
		s.do("POST", "/api/v1/token/transfers:batch", map[string]any{"transfers": dust}, carol).want(t, 200, "")
		bob := s.agentToken("agt_bob", "")
		ledger := &a2a.TEGLedger{BaseURL: s.srv.URL, Account: "agt_bob", HTTPClient: s.srv.Client(),
			Auth: func(_ context.Context, h http.Header) error { h.Set(bob[0], bob[1]); return nil }}
		h, err := ledger.Hold(context.Background(), hold)
		if err != nil || h.State != a2a.HoldHeld || h.To != "agt_bob" || h.Amount != avt.AVT(5) {
			t.Fatalf("hold = %+v, %v", h, err)
		}
		if _, err := ledger.Hold(context.Background(), "tx_unknown"); !errors.Is(err, a2a.ErrHoldNotFound) {
			t.Fatalf("unknown hold: %v", err)
		}
	})
}
