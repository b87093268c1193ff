package policy

import (
	"context"

	"github.com/sovereign-stack/sovereign/apperr"
)

// Decider answers authorization questions; *Engine is one. Services depend on this interface.
type Decider interface {
	Decide(ctx context.Context, query string, in Input) (Decision, error)
}

// ErrAuthRequired is the answer to a call that needs credentials and came without any.
var ErrAuthRequired = apperr.New(apperr.Unauthenticated, "AUTHENTICATION_REQUIRED", "this call needs credentials: a bearer token or API key")

// Authorize is the one call services make to authorize an action: it asks d whether in may
// happen (QueryAllow) and returns nil when allowed; 401 AUTHENTICATION_REQUIRED when the subject
// is anonymous; 403 with the policy's reason and decision id otherwise, its code the decision's
// Code when the policy gave one (upper snake case), else FORBIDDEN; an internal error when the
// engine fails.
func Authorize(ctx context.Context, d Decider, in Input) error {
	dec, err := d.Decide(ctx, QueryAllow, in)
	if err != nil {
		return apperr.Internalf("policy decision for %s: %w", in.Action, err)
	}
	if dec.Allow {
		return nil
	}
	if in.Subject.Kind == KindAnonymous || in.Subject.Kind == "" || in.Subject.ID == "" {
		return ErrAuthRequired
	}
	code := "FORBIDDEN"
	if upperSnake(dec.Code) {
		code = dec.Code
	}
	e := apperr.New(apperr.Forbidden, code, dec.Reason)
	if dec.ID != "" {
		e = e.With("decision_id", dec.ID)
	}
	return e
}

// upperSnake reports whether s is a non-empty error code in upper snake case (A–Z, 0–9, _,
// starting with a letter).
func upperSnake(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
