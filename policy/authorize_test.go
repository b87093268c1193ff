package policy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/policy"
)

type fixedDecider struct {
	d   policy.Decision
	err error
}

func (f fixedDecider) Decide(context.Context, string, policy.Input) (policy.Decision, error) {
	return f.d, f.err
}

func TestAuthorize_TurnsDecisionsIntoTheErrorsCallersReturn(t *testing.T) {
	ctx := context.Background()
	dev := policy.Subject{Kind: policy.KindDeveloper, ID: "dev_a"}
	if err := policy.Authorize(ctx, fixedDecider{d: policy.Decision{Allow: true}}, policy.Input{Subject: dev}); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	err := policy.Authorize(ctx, fixedDecider{d: policy.Decision{Reason: "nope", ID: "d1"}}, policy.Input{Subject: dev})
	if ae, ok := apperr.As(err); !ok || ae.Code != "FORBIDDEN" || ae.Message != "nope" || ae.Details["decision_id"] != "d1" {
		t.Fatalf("denied: %v", err)
	}
	err = policy.Authorize(ctx, fixedDecider{d: policy.Decision{Reason: "held", Code: "AGENT_SUSPENDED_BY_ADMIN"}}, policy.Input{Subject: dev})
	if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Forbidden || ae.Code != "AGENT_SUSPENDED_BY_ADMIN" || ae.Message != "held" {
		t.Fatalf("denied with a code: %v", err)
	}
	for _, bad := range []string{"lower", "_X", "A-B", "1A", "É"} {
		if err := policy.Authorize(ctx, fixedDecider{d: policy.Decision{Reason: "x", Code: bad}}, policy.Input{Subject: dev}); apperr.CodeOf(err) != "FORBIDDEN" {
			t.Fatalf("code %q from the policy: %v", bad, err)
		}
	}
	if err := policy.Authorize(ctx, fixedDecider{d: policy.Decision{Reason: "x"}}, policy.Input{Subject: policy.Subject{Kind: policy.KindAnonymous}}); apperr.CodeOf(err) != "AUTHENTICATION_REQUIRED" {
		t.Fatalf("anonymous: %v", err)
	}
	boom := errors.New("engine down")
	if err := policy.Authorize(ctx, fixedDecider{err: boom}, policy.Input{Subject: dev, Action: "a"}); apperr.KindOf(err) != apperr.Internal || !errors.Is(err, boom) {
		t.Fatalf("engine error: %v", err)
	}
}
