package policy

import (
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Keys of the input document, built once.
var (
	keySubject    = ast.InternedTerm("subject")
	keyAction     = ast.InternedTerm("action")
	keyResource   = ast.InternedTerm("resource")
	keyContext    = ast.InternedTerm("context")
	keyKind       = ast.InternedTerm("kind")
	keyID         = ast.InternedTerm("id")
	keySPIFFEID   = ast.InternedTerm("spiffe_id")
	keyDID        = ast.InternedTerm("did")
	keyRoles      = ast.InternedTerm("roles")
	keyAuthMethod = ast.InternedTerm("auth_method")
	keyScopes     = ast.InternedTerm("scopes")
	keyVerified   = ast.InternedTerm("verified")
	keyTier       = ast.InternedTerm("tier")
	keyReputation = ast.InternedTerm("reputation")
	keyStake      = ast.InternedTerm("stake")
	keyCredential = ast.InternedTerm("credential_id")
	keyOwner      = ast.InternedTerm("owner")
	keyCounter    = ast.InternedTerm("counterparty")
	keySuspended  = ast.InternedTerm("suspended_by")
	keyTime       = ast.InternedTerm("time")
	keyRequestID  = ast.InternedTerm("request_id")
	keyAmount     = ast.InternedTerm("amount")
)

// known holds the terms of values most inputs carry (kinds, roles, methods, scopes, actions,
// tiers), built once: a decision then allocates only for identifiers.
var known = func() map[string]*ast.Term {
	m := map[string]*ast.Term{}
	for _, v := range []string{
		KindAnonymous, KindDeveloper, KindAgent, KindService, RoleAdmin, RoleDeveloper,
		AuthSession, AuthAPIKey, AuthJWTSVID, AuthX509SVID, ScopeRead, ScopeWrite,
		ActionDeveloperRead, ActionDeveloperUpdate, ActionDeveloperList, ActionAPIKeyCreate,
		ActionAPIKeyList, ActionAPIKeyRevoke, ActionRecoveryKeysRotate, ActionSessionLogoutEverywhere,
		ActionTokenTransfer, ActionDisputeFile, ActionGovernancePropose, ActionDisputeArbitrate,
		ActionAgentCardCreate, ActionAgentCardUpdate, ActionAgentCardDelete, ActionTemplateCreate,
		ActionTemplateUpdate, ActionTemplateDelete, "agent_card", "template",
		TierUntrusted, TierNew, TierTrusted, TierVerified, TierElite, "api_key", "wallet",
		AuthorityOwner, AuthorityAdmin,
	} {
		m[v] = ast.StringTerm(v)
	}
	return m
}()

// stringTerm is the term of s, shared when s is a known value.
func stringTerm(s string) *ast.Term {
	if t, ok := known[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

// inputValue is in as the Rego value of its JSON encoding (same keys, same omitempty), built
// directly: going through encoding/json or map[string]any costs more than the evaluation.
func inputValue(in Input) ast.Value {
	return ast.NewObject(
		[2]*ast.Term{keySubject, ast.NewTerm(subjectValue(in.Subject))},
		[2]*ast.Term{keyAction, stringTerm(in.Action)},
		[2]*ast.Term{keyResource, ast.NewTerm(resourceValue(in.Resource))},
		[2]*ast.Term{keyContext, ast.NewTerm(contextValue(in.Context))},
	)
}

func subjectValue(s Subject) ast.Object {
	items := make([][2]*ast.Term, 0, 12)
	items = append(items, [2]*ast.Term{keyKind, stringTerm(s.Kind)})
	items = appendString(items, keyID, s.ID)
	items = appendString(items, keySPIFFEID, s.SPIFFEID)
	items = appendString(items, keyDID, s.DID)
	items = appendStrings(items, keyRoles, s.Roles)
	items = appendString(items, keyAuthMethod, s.AuthMethod)
	items = appendStrings(items, keyScopes, s.Scopes)
	items = append(items, [2]*ast.Term{keyVerified, ast.InternedTerm(s.Verified)})
	items = appendString(items, keyTier, s.Tier)
	if s.Reputation != 0 {
		items = append(items, [2]*ast.Term{keyReputation, ast.InternedTerm(s.Reputation)})
	}
	items = appendString(items, keyStake, s.Stake)
	items = appendString(items, keyCredential, s.CredentialID)
	return ast.NewObject(items...)
}

func resourceValue(r Resource) ast.Object {
	items := make([][2]*ast.Term, 0, 5)
	items = append(items, [2]*ast.Term{keyKind, stringTerm(r.Kind)})
	items = appendString(items, keyID, r.ID)
	items = appendString(items, keyOwner, r.Owner)
	items = appendString(items, keyCounter, r.Counterparty)
	items = appendString(items, keySuspended, r.SuspendedBy)
	return ast.NewObject(items...)
}

func contextValue(c Context) ast.Object {
	items := make([][2]*ast.Term, 0, 4)
	items = append(items, [2]*ast.Term{keyTime, ast.StringTerm(timeString(c.Time))})
	items = appendString(items, keyRequestID, c.RequestID)
	items = appendString(items, keyAmount, c.Amount)
	return ast.NewObject(items...)
}

// timeString is t as encoding/json writes a time.Time (RFC 3339 with nanoseconds).
func timeString(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.Format(time.RFC3339Nano)
}

func appendString(items [][2]*ast.Term, k *ast.Term, v string) [][2]*ast.Term {
	if v == "" {
		return items
	}
	return append(items, [2]*ast.Term{k, stringTerm(v)})
}

func appendStrings(items [][2]*ast.Term, k *ast.Term, vs []string) [][2]*ast.Term {
	if len(vs) == 0 {
		return items
	}
	terms := make([]*ast.Term, len(vs))
	for i, v := range vs {
		terms[i] = stringTerm(v)
	}
	return append(items, [2]*ast.Term{k, ast.ArrayTerm(terms...)})
}
