package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/reputation"
)

// TestReputation_TierLimitsTransfers: an agent's transfers are limited by the tier of its stored
// score — Elite sends what New cannot, Untrusted less than New — and an agent no pass has scored
// has New's limits.
func TestReputation_TierLimitsTransfers(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stack) {
		s.wallets("20000", "agt_hi", "agt_lo", "agt_new")
		err := s.server.Reputation().Store.PutScores(context.Background(), []reputation.StoredScore{
			{Agent: "agt_hi", Score: 950, ComputedAt: time.Now()}, {Agent: "agt_lo", Score: 50, ComputedAt: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		pay := func(from, amount string) resp {
			return s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_new", "amount": amount}, s.agentToken(from, ""))
		}
		pay("agt_hi", "5000").want(t, 201, "")
		pay("agt_lo", "11").want(t, 403, "TRANSFER_LIMIT_EXCEEDED")
		pay("agt_lo", "10").want(t, 201, "")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_hi", "amount": "101"}, s.agentToken("agt_new", "")).want(t, 403, "TRANSFER_LIMIT_EXCEEDED")
		s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_hi", "amount": "100"}, s.agentToken("agt_new", "")).want(t, 201, "")
	})
}
