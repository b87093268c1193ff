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
// is anonymous; 403 FORBIDDEN with the policy's reason and decision id otherwise; an internal
// error when the engine fails.
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
	e := apperr.New(apperr.Forbidden, "FORBIDDEN", dec.Reason)
	if dec.ID != "" {
		e = e.With("decision_id", dec.ID)
	}
	return e
}
