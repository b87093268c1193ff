package policy

import (
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
	// KindPeerRegistry is another registry calling over mutual TLS with an X.509-SVID of an
	// ACTIVE federation peer's trust domain; its id is that SPIFFE ID.
	KindPeerRegistry = "peer_registry"
)

// Roles.
const (
	RoleAdmin     = "admin"
	RoleDeveloper = "developer"
)

// Authentication methods a subject can have used.
const (
	AuthSession  = "session" // a developer access token (JWT) tied to a login session
	AuthAPIKey   = "api_key"
	AuthJWTSVID  = "jwt_svid"  // a JWT-SVID (agents, services)
	AuthX509SVID = "x509_svid" // the X.509-SVID of an mTLS client (agents, services)
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
	// Tier names the subject's reputation tier; the policy uses it only when Reputation is
	// absent (0 is absent: send Tier "Untrusted" for a real score of 0). Neither → "New".
	Tier       string `json:"tier,omitempty"`
	Reputation int    `json:"reputation,omitempty"`
	// Stake is the subject's bonded stake in AVT, as a decimal string.
	Stake string `json:"stake,omitempty"`
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
	// Counterparty is the other party of a resource that has two, such as the payee of a
	// pending transfer (whose owner is the payer).
	Counterparty string `json:"counterparty,omitempty"`
	// SuspendedBy is the authority that suspended a suspended agent (AuthorityOwner or
	// AuthorityAdmin); lifting the suspension needs that authority or a higher one.
	SuspendedBy string `json:"suspended_by,omitempty"`
}

// Context is what else the decision may depend on.
type Context struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id,omitempty"`
	// Amount is the AVT an action moves, as a decimal string ("12.5").
	Amount string `json:"amount,omitempty"`
}

// Input is one authorization question.
type Input struct {
	Subject  Subject  `json:"subject"`
	Action   string   `json:"action"`
	Resource Resource `json:"resource"`
	Context  Context  `json:"context"`
}

// Decision is the answer: Allow, and when denied a Reason safe to show the caller and,
// when the policy gives one, a Code (upper snake case) naming the denial more precisely than
// FORBIDDEN. ID is the decision_id of the decision-log event that records it (set on every
// decision, logged or not).
type Decision struct {
	ID     string `json:"decision_id,omitempty"`
	Allow  bool   `json:"allow"`
	Reason string `json:"reason,omitempty"`
	Code   string `json:"code,omitempty"`
}

// Actions on developer accounts.
const (
	ActionDeveloperRead           = "developer.read"
	ActionDeveloperUpdate         = "developer.update"
	ActionDeveloperList           = "developer.list"
	ActionDeveloperSuspend        = "developer.suspend"
	ActionAPIKeyCreate            = "developer.api_key.create"
	ActionAPIKeyList              = "developer.api_key.list"
	ActionAPIKeyRevoke            = "developer.api_key.revoke"
	ActionRecoveryKeysRotate      = "developer.recovery_keys.rotate"
	ActionSessionLogoutEverywhere = "developer.sessions.revoke"
)

// Actions of agents in the token economy, governed by reputation tier.
const (
	ActionTokenTransfer     = "token.transfer"       // agents (the ledger checks the amount against the tier's limits)
	ActionTokenSettle       = "token.pending.settle" // post or void: the pending transfer's payer, or an admin
	ActionTokenBalanceRead  = "token.balance.read"   // the wallet's owner, or an admin
	ActionTokenHistoryRead  = "token.history.read"   // the wallet's owner, or an admin
	ActionTokenMint         = "token.mint"           // admin (governance later)
	ActionTokenBurn         = "token.burn"           // admin
	ActionTokenGrant        = "token.grant"          // admin: treasury → wallet
	ActionTegAccountCreate  = "teg.account.create"   // admin, or the registry (onboarding opens wallets)
	ActionTegAccountStatus  = "teg.account.status"   // admin, or the registry (suspending and revoking agents)
	ActionTokenPendingRead  = "token.pending.read"   // the pending transfer's payer or payee, or an admin
	ActionTegParamsSet      = "teg.params.set"       // admin (a passed governance proposal later)
	ActionStakingWrite      = "staking.write"        // the agent, on its own stake
	ActionStakingRead       = "staking.read"         // the agent, an admin, or the registry for the agent's developer
	ActionStakingSlash      = "staking.slash"        // admin (disputes and the auditor call the domain directly)
	ActionDisputeFile       = "dispute.file"         // New tier and above
	ActionGovernancePropose = "governance.propose"   // Trusted tier and above, stake ≥ 1,000 AVT
	ActionDisputeArbitrate  = "dispute.arbitrate"    // Verified tier and above, validator stake
	ActionDisputeAct        = "dispute.act"          // the agent acting as itself (evidence, votes, appeal, withdrawal), or an admin
	ActionDisputeRead       = "dispute.read"         // a participant (party or panelist: the resource's owner), an admin, or the registry for a participant's developer
	ActionDisputeReject     = "dispute.reject"       // admin
)

// ActionDecisionLogRead is reading the policy's own decision log (admins).
const ActionDecisionLogRead = "policy.decisions.read"

// Actions of governance (propose is above, with the tiered actions).
const (
	ActionGovernanceVote    = "governance.vote"    // agents (the ledger checks their bonded stake)
	ActionGovernanceExecute = "governance.execute" // agents and developers: a passed proposal after its timelock
	ActionGovernanceRead    = "governance.read"    // public: proposals, tallies, the modules in force
)

// Actions on agent cards and card templates (reads are public and not asked about).
const (
	ActionAgentCardCreate = "agent_card.create" // a verified developer
	ActionAgentCardUpdate = "agent_card.update" // the card's owner, or an admin
	ActionAgentCardDelete = "agent_card.delete" // the card's owner, or an admin
	ActionTemplateCreate  = "template.create"   // any developer
	ActionTemplateUpdate  = "template.update"   // the template's owner, or an admin
	ActionTemplateDelete  = "template.delete"   // the template's owner, or an admin
)

// Actions on the identity fabric.
const (
	// ActionIdentitySVIDRenew is an agent minting an X.509-SVID for its own SPIFFE ID from a
	// CSR (POST /api/v1/identity/svid); agents only, any tier.
	ActionIdentitySVIDRenew = "identity.svid.renew"
)

// Authorities over an agent, lowest first: who suspended it (Resource.SuspendedBy). Its
// developer suspends as the owner; anyone else the policy lets suspend it (an admin) as the
// admin.
const (
	AuthorityOwner = "owner"
	AuthorityAdmin = "admin"
)

// Reputation tiers, lowest first.
const (
	TierUntrusted = "Untrusted"
	TierNew       = "New"
	TierTrusted   = "Trusted"
	TierVerified  = "Verified"
	TierElite     = "Elite"
)

// Actions on reputation.
const (
	ActionReputationRate      = "reputation.rate"      // agents (the domain checks the payer, the window, once)
	ActionReputationRead      = "reputation.read"      // public: anyone, authenticated or not
	ActionReputationRecompute = "reputation.recompute" // admin: run a full pass now
)

// Actions on attestations.
const (
	ActionAttestationSubmit = "attestation.submit" // the attester (resource owner), or an admin
	ActionAttestationUptime = "attestation.uptime" // the subject agent (resource owner), or an admin
	ActionAttestationRead   = "attestation.read"   // public: anyone, authenticated or not
)

// Actions on the auditor's flags and rules: admins only (code ADMIN_REQUIRED for anyone else).
const (
	ActionAuditorFlagRead     = "auditor.flag.read"     // list and read flags
	ActionAuditorFlagAck      = "auditor.flag.ack"      // acknowledge a NEW flag
	ActionAuditorFlagResolve  = "auditor.flag.resolve"  // resolve a flag, confirmed or dismissed
	ActionAuditorFlagEscalate = "auditor.flag.escalate" // escalate a flag to a suspension or a dispute
	ActionAuditorRulesRead    = "auditor.rules.read"    // read the thresholds and enabled rules
	ActionAuditorRulesWrite   = "auditor.rules.write"   // change them
)
