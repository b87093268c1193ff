// Package policy makes every authorization decision of the stack through one call, Decide.
//
// Callers describe who is asking (Subject), what they want to do (Action) and to what (Resource);
// the engine answers allow or deny with a reason. Default deny: an action without a rule is
// denied. Handlers never compare roles themselves.
//
// The rules are held here as a Go table for now; DESIGN.md §5 moves them into embedded Rego
// evaluated by OPA behind this same call (the identity-and-policy issue).
package policy

import (
	"context"
	"slices"
	"time"
)

// QueryAllow is the decision every authorization asks for.
const QueryAllow = "sovereign.authz.allow"

// Subject kinds.
const (
	KindAnonymous = "anonymous"
	KindDeveloper = "developer"
	KindAgent     = "agent"
	KindService   = "service"
)

// Roles.
const (
	RoleAdmin     = "admin"
	RoleDeveloper = "developer"
)

// Authentication methods a subject can have used.
const (
	AuthSession = "session" // a developer access token (JWT) tied to a login session
	AuthAPIKey  = "api_key"
)

// Scopes an API key can carry.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// Subject is who asks.
type Subject struct {
	Kind       string   `json:"kind"`
	ID         string   `json:"id,omitempty"`
	SPIFFEID   string   `json:"spiffe_id,omitempty"`
	DID        string   `json:"did,omitempty"`
	Roles      []string `json:"roles,omitempty"`
	AuthMethod string   `json:"auth_method,omitempty"`
	Scopes     []string `json:"scopes,omitempty"`
	Verified   bool     `json:"verified"`
	Tier       string   `json:"tier,omitempty"`
	Reputation int      `json:"reputation,omitempty"`
	Stake      string   `json:"stake,omitempty"`
	// CredentialID is the API key or session the subject authenticated with.
	CredentialID string `json:"credential_id,omitempty"`
}

// HasRole reports whether s holds role.
func (s Subject) HasRole(role string) bool { return slices.Contains(s.Roles, role) }

// Resource is what the action is on.
type Resource struct {
	Kind  string `json:"kind"`
	ID    string `json:"id,omitempty"`
	Owner string `json:"owner,omitempty"`
}

// Context is what else the decision may depend on.
type Context struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id,omitempty"`
	Amount    string    `json:"amount,omitempty"`
}

// Input is one authorization question.
type Input struct {
	Subject  Subject  `json:"subject"`
	Action   string   `json:"action"`
	Resource Resource `json:"resource"`
	Context  Context  `json:"context"`
}

// Decision is the answer: Allow, and when denied a Reason safe to show the caller.
type Decision struct {
	Allow  bool
	Reason string
}

// Actions on developer accounts.
const (
	ActionDeveloperRead           = "developer.read"
	ActionDeveloperUpdate         = "developer.update"
	ActionDeveloperList           = "developer.list"
	ActionAPIKeyCreate            = "developer.api_key.create"
	ActionAPIKeyList              = "developer.api_key.list"
	ActionAPIKeyRevoke            = "developer.api_key.revoke"
	ActionRecoveryKeysRotate      = "developer.recovery_keys.rotate"
	ActionSessionLogoutEverywhere = "developer.sessions.revoke"
)

// rule says who may take an action: the resource's owner, an admin, with which API-key scope,
// and whether a login session is required (credential management is not open to API keys).
type rule struct {
	owner       bool
	scope       string
	sessionOnly bool
}

var rules = map[string]rule{
	ActionDeveloperRead:           {owner: true, scope: ScopeRead},
	ActionDeveloperUpdate:         {owner: true, scope: ScopeWrite},
	ActionDeveloperList:           {},
	ActionAPIKeyCreate:            {owner: true, sessionOnly: true},
	ActionAPIKeyList:              {owner: true, scope: ScopeRead},
	ActionAPIKeyRevoke:            {owner: true, scope: ScopeWrite},
	ActionRecoveryKeysRotate:      {owner: true, sessionOnly: true},
	ActionSessionLogoutEverywhere: {owner: true, sessionOnly: true},
}

// Engine evaluates authorization questions.
type Engine struct{}

// New returns an engine with the built-in rules.
func New() *Engine { return &Engine{} }

// Decide answers query for input. Only QueryAllow is defined; any other query is denied.
// Admins may take every action that has a rule; others need the rule's conditions.
func (e *Engine) Decide(_ context.Context, query string, in Input) (Decision, error) {
	if query != QueryAllow {
		return Decision{Reason: "unknown policy query"}, nil
	}
	r, ok := rules[in.Action]
	if !ok {
		return Decision{Reason: "no rule allows " + in.Action}, nil
	}
	s := in.Subject
	if s.Kind == KindAnonymous || s.ID == "" {
		return Decision{Reason: "authentication required"}, nil
	}
	if r.sessionOnly && s.AuthMethod != AuthSession {
		return Decision{Reason: in.Action + " requires a login session, not an API key"}, nil
	}
	if s.AuthMethod == AuthAPIKey && r.scope != "" && !slices.Contains(s.Scopes, r.scope) {
		return Decision{Reason: "API key lacks the " + r.scope + " scope"}, nil
	}
	if s.HasRole(RoleAdmin) {
		return Decision{Allow: true}, nil
	}
	if r.owner && in.Resource.Owner != "" && in.Resource.Owner == s.ID {
		return Decision{Allow: true}, nil
	}
	return Decision{Reason: "not permitted to " + in.Action}, nil
}
