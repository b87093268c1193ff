package registry

import (
	"context"
	"crypto/ed25519"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"log/slog"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/identity/ed25519strict"
	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/teg"
)

// Prefixes of onboarding identifiers and secrets.
const (
	BootstrapTokenPrefix = "bst_"  // a single-use bootstrap token
	ClientSecretPrefix   = "avcs_" // an agent's OAuth2 client secret
	IDPrefixBootstrap    = "boot"  // a bootstrap token's id
	IDPrefixClient       = "agc"   // an agent's OAuth2 client id
	BootstrapTokenTTL    = 5 * time.Minute
	AgentTokenTTL        = 5 * time.Minute
	// GrantWindow is the rolling window of the per-developer cap on starting grants.
	GrantWindow = 24 * time.Hour
)

// Why a registration got no starting grant (RegisteredAgent.GrantReason).
const (
	// GrantNoneConfigured: this registry gives no starting grant (split mode's default).
	GrantNoneConfigured = "NO_STARTING_GRANT"
	// GrantDailyCapReached: the developer's agents received the daily cap in the last
	// GrantWindow.
	GrantDailyCapReached = "GRANT_DAILY_CAP_REACHED"
)

// Agent statuses.
const (
	AgentPending   = "pending" // reserved by a registration still in progress
	AgentActive    = "active"
	AgentSuspended = "suspended"
	AgentRevoked   = "revoked"
)

// Policy actions of onboarding.
const (
	ActionBootstrapCreate = "onboard.token.create"
	ActionBootstrapList   = "onboard.token.list"
	ActionBootstrapRevoke = "onboard.token.revoke"
	ActionAgentUpdate     = "agent.update"       // suspend or revoke an agent: its developer, or an admin
	ActionAgentReactivate = "agent.reactivate"   // lift a suspension: whoever placed it, or a higher authority
	ActionAgentList       = "agent.list"         // list one's own agents
	ActionAgentRead       = "agent.read"         // read an agent: its developer, or an admin
	ActionAgentBalance    = "agent.balance.read" // read an agent's wallet: its developer, or an admin
)

// Errors of onboarding.
var (
	ErrBootstrapTokenInvalid   = apperr.New(apperr.Unauthenticated, "INVALID_BOOTSTRAP_TOKEN", "the bootstrap token is unknown, used, revoked or expired")
	ErrBootstrapNotFound       = apperr.New(apperr.NotFound, "BOOTSTRAP_TOKEN_NOT_FOUND", "no outstanding bootstrap token with this id")
	ErrInvalidPublicKey        = apperr.New(apperr.Invalid, "INVALID_PUBLIC_KEY", "public_key must be an Ed25519 JWK: {\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"…\"}").With("field", "public_key")
	ErrInvalidProof            = apperr.New(apperr.Invalid, "INVALID_PROOF", "proof must be the bootstrap token signed with the agent's Ed25519 key (base64url)").With("field", "proof")
	ErrAgentNotFound           = apperr.New(apperr.NotFound, "AGENT_NOT_FOUND", "no agent with this id")
	ErrInvalidClient           = apperr.New(apperr.Unauthenticated, "INVALID_CLIENT", "unknown client or wrong client secret")
	ErrAgentInactive           = apperr.New(apperr.Forbidden, "AGENT_INACTIVE", "the agent's registration is not complete")
	ErrAgentSuspended          = apperr.New(apperr.Forbidden, "AGENT_SUSPENDED", "the agent is suspended: its credentials are refused until it is reactivated")
	ErrAgentRevoked            = apperr.New(apperr.Forbidden, "AGENT_REVOKED", "the agent is revoked: its credentials are refused for good")
	ErrAgentStatusChanged      = apperr.New(apperr.Conflict, "AGENT_STATUS_CHANGED", "the agent's status changed meanwhile; read it and retry")
	ErrWalletStatusUnavailable = apperr.New(apperr.Unavailable, "TEG_UNAVAILABLE", "the token economy could not change the agent's wallet; the agent's status is unchanged: retry")
	ErrWalletUnavailable       = apperr.New(apperr.Unavailable, "TEG_UNAVAILABLE", "the token economy could not open the agent's wallet; nothing was registered and the bootstrap token is still valid")
	ErrWalletReadUnavailable   = apperr.New(apperr.Unavailable, "TEG_UNAVAILABLE", "the token economy could not be reached to read the agent's wallet; try again shortly")
)

// BootstrapToken is a single-use permission to register one agent.
type BootstrapToken struct {
	ID          string
	DeveloperID string
	Hash        string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      *time.Time
	RevokedAt   *time.Time
	AgentID     string
}

// Agent is a registered agent: its identity and credentials.
type Agent struct {
	ID          string
	DeveloperID string
	DID         string
	SPIFFEID    string
	PublicKey   ed25519.PublicKey
	ClientID    string
	SecretHash  string
	Status      string
	// SuspendedBy is the authority that suspended a suspended agent (policy.AuthorityOwner or
	// policy.AuthorityAdmin), "" otherwise.
	SuspendedBy string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// LastHeartbeatAt is the agent's last heartbeat (nil: none yet).
	LastHeartbeatAt *time.Time
	// StartingGrant is what the agent's wallet was granted at registration (set by
	// OnboardingStore.ReserveAgent; not read back).
	StartingGrant avt.Amount
}

// AgentState is an agent's status and, when suspended, the authority that suspended it.
type AgentState struct {
	Status      string
	SuspendedBy string
}

// GrantDecision returns the starting grant of a new agent from what the agents of its
// developer were granted in the last GrantWindow.
type GrantDecision func(granted avt.Amount) avt.Amount

// Wallets is the token economy as onboarding needs it: in process in `up`, over mTLS in split
// mode.
type Wallets interface {
	// CreateWallet opens the agent's wallet and grants it amount from the treasury (zero: no
	// grant). Calling it again for the same agent changes nothing (idempotent), so a retried
	// registration never grants twice.
	CreateWallet(ctx context.Context, agentID string, grant avt.Amount) error
	// SetWalletStatus freezes (AgentSuspended, AgentRevoked) or unfreezes (AgentActive) the
	// agent's wallet: the ledger lets nothing leave a wallet that is not active, whoever asks
	// it. Setting the status the wallet has changes nothing; at identifies the change, so a
	// retry of the same change applies once.
	SetWalletStatus(ctx context.Context, agentID, status string, at time.Time) error
	// WalletBalance reads the agent's wallet.
	WalletBalance(ctx context.Context, agentID string) (WalletBalance, error)
	// WalletHistory reads up to limit of the agent's ledger events older than the sequence
	// before (0: the newest), newest first.
	WalletHistory(ctx context.Context, agentID string, before uint64, limit int) ([]teg.Transfer, error)
}

// WalletBalance is an agent's wallet as its developer sees it.
type WalletBalance struct {
	Liquid, Locked, Staked, Unbonding avt.Amount
	Total                             avt.Amount // the sum of the four
}

// OnboardingStore keeps bootstrap tokens and agents.
type OnboardingStore interface {
	InsertBootstrapToken(ctx context.Context, t *BootstrapToken) error
	BootstrapTokenByHash(ctx context.Context, hash string) (*BootstrapToken, error)
	// OutstandingBootstrapTokens lists the developer's unused, unrevoked, unexpired tokens.
	OutstandingBootstrapTokens(ctx context.Context, developerID string, now time.Time) ([]BootstrapToken, error)
	// RevokeBootstrapToken revokes an outstanding token of the developer (ErrBootstrapNotFound).
	RevokeBootstrapToken(ctx context.Context, developerID, id string, at time.Time) error
	// ReserveAgent, in one transaction, consumes the token with this hash (unused, unrevoked,
	// unexpired at now — else ErrBootstrapTokenInvalid), sets a.StartingGrant to what grant
	// decides from the starting grants of the developer's agents created after now −
	// GrantWindow, and stores the agent as pending. Concurrent reservations of one developer's
	// agents are serialized, in every replica, so together they never pass the cap.
	ReserveAgent(ctx context.Context, tokenHash string, now time.Time, a *Agent, grant GrantDecision) error
	// CompleteAgent publishes the agent's card and makes the pending agent active, in one
	// transaction.
	CompleteAgent(ctx context.Context, a *Agent, c *AgentCard) error
	// ReleaseAgent undoes ReserveAgent: it deletes the pending agent and makes its token
	// usable again.
	ReleaseAgent(ctx context.Context, agentID string) error
	// PendingAgents lists agents reserved before `before` and never completed (a registration
	// cut short by a crash), to release.
	PendingAgents(ctx context.Context, before time.Time) ([]string, error)
	Agent(ctx context.Context, id string) (*Agent, error)
	// AgentsOf lists up to limit of the developer's registered (not pending) agents with
	// id > after, in id order.
	AgentsOf(ctx context.Context, developerID, after string, limit int) ([]Agent, error)
	// AgentStatus is the agent's status alone (ErrAgentNotFound for an unknown agent): the
	// read behind AgentActive when its memory does not hold the agent.
	AgentStatus(ctx context.Context, id string) (string, error)
	// AgentStatusGeneration is a counter that moves with every change of any agent's status
	// (a registration, completion, release, suspension, reactivation or revocation), in the
	// same transaction as the change, whichever replica makes it.
	AgentStatusGeneration(ctx context.Context) (int64, error)
	AgentByClientID(ctx context.Context, clientID string) (*Agent, error)
	// Heartbeat records a heartbeat of the agent at `at` on the agent and its card, and makes
	// a card that was marked inactive for missing heartbeats active again.
	Heartbeat(ctx context.Context, agentID string, at time.Time) error
	// SetAgentStatus moves the agent from one state to another and sets its card's status
	// (suspended and revoked cards leave discovery's default view) as one change; when the
	// agent is no longer in `from` (another change came first) it changes nothing and returns
	// ErrAgentStatusChanged.
	SetAgentStatus(ctx context.Context, agentID string, from, to AgentState, at time.Time) error
	// SetAgentSecret replaces the agent's client-secret hash.
	SetAgentSecret(ctx context.Context, agentID, secretHash string, at time.Time) error
	// MarkStale marks inactive the active cards of agents whose last heartbeat (or registration)
	// is older than before, and returns how many.
	MarkStale(ctx context.Context, before time.Time) (int, error)
}

// Onboarding is the bootstrap protocol: a verified developer asks for a
// single-use token; the agent registers with it and in one atomic step gets a did:key DID, a
// SPIFFE ID, OAuth2 client credentials, optionally an X.509-SVID, its published card and a
// funded wallet.
type Onboarding struct {
	store   OnboardingStore
	cards   *Cards
	authz   policy.Decider
	issuer  identity.Issuer
	wallets Wallets
	grant   avt.Amount
	// grantCap bounds a developer's starting grants in GrantWindow (nil: no bound).
	grantCap *avt.Amount
	now      func() time.Time
	// audience is what agent JWT-SVIDs are minted for.
	audience []string
	log      *slog.Logger
	// statuses keeps agents' statuses for AgentActive.
	statuses *agentStatuses
}

// OnboardingConfig configures NewOnboarding.
type OnboardingConfig struct {
	Store   OnboardingStore
	Cards   *Cards
	Authz   policy.Decider
	Issuer  identity.Issuer
	Wallets Wallets
	// StartingGrant is what a new wallet receives from the treasury (100 AVT
	// in embedded mode, 0 otherwise).
	StartingGrant avt.Amount
	// GrantDailyCap bounds the starting grants of one developer's agents in GrantWindow (nil:
	// no bound); a registration whose grant would pass it gets none.
	GrantDailyCap *avt.Amount
	// Audience is the audience of the JWT-SVIDs agents get from the token endpoint.
	Audience []string
	Now      func() time.Time
	// Logger receives the domain events an operator reads (agent registered, agent status
	// changed), with ids; nil discards them.
	Logger *slog.Logger
}

// NewOnboarding returns the onboarding service.
func NewOnboarding(c OnboardingConfig) *Onboarding {
	o := &Onboarding{store: c.Store, cards: c.Cards, authz: c.Authz, issuer: c.Issuer, wallets: c.Wallets,
		grant: c.StartingGrant, grantCap: c.GrantDailyCap, now: c.Now, audience: c.Audience, log: c.Logger,
		statuses: &agentStatuses{store: c.Store}}
	if o.now == nil {
		o.now = time.Now
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o *Onboarding) authorize(ctx context.Context, s policy.Subject, action string, res policy.Resource) error {
	return policy.Authorize(ctx, o.authz, policy.Input{Subject: s, Action: action, Resource: res, Context: policy.Context{Time: o.now()}})
}

// RequestBootstrapToken issues a single-use bootstrap token to a verified developer; the plain
// token is returned once and stored hashed.
func (o *Onboarding) RequestBootstrapToken(ctx context.Context, caller policy.Subject) (*BootstrapToken, string, error) {
	if err := o.authorize(ctx, caller, ActionBootstrapCreate, policy.Resource{Kind: "bootstrap_token", Owner: caller.ID}); err != nil {
		return nil, "", err
	}
	now := o.now().UTC()
	plain, hash := credential.NewSecret(BootstrapTokenPrefix)
	t := &BootstrapToken{ID: ids.NewAt(IDPrefixBootstrap, now), DeveloperID: caller.ID, Hash: hash, CreatedAt: now, ExpiresAt: now.Add(BootstrapTokenTTL)}
	if err := o.store.InsertBootstrapToken(ctx, t); err != nil {
		return nil, "", err
	}
	return t, plain, nil
}

// BootstrapTokens lists the caller's outstanding tokens.
func (o *Onboarding) BootstrapTokens(ctx context.Context, caller policy.Subject) ([]BootstrapToken, error) {
	if err := o.authorize(ctx, caller, ActionBootstrapList, policy.Resource{Kind: "bootstrap_token", Owner: caller.ID}); err != nil {
		return nil, err
	}
	return o.store.OutstandingBootstrapTokens(ctx, caller.ID, o.now())
}

// RevokeBootstrapToken revokes one of the caller's outstanding tokens.
func (o *Onboarding) RevokeBootstrapToken(ctx context.Context, caller policy.Subject, id string) error {
	if err := o.authorize(ctx, caller, ActionBootstrapRevoke, policy.Resource{Kind: "bootstrap_token", ID: id, Owner: caller.ID}); err != nil {
		return err
	}
	return o.store.RevokeBootstrapToken(ctx, caller.ID, id, o.now().UTC())
}

// AgentRegistration is what an agent sends to register.
type AgentRegistration struct {
	// Card is the agent's A2A card (JSON).
	Card []byte
	// PublicKey is the agent's Ed25519 public key as a JWK.
	PublicKey map[string]any
	// Proof is the bootstrap token signed with the agent's key (base64url Ed25519 signature).
	Proof string
	// CSR is an optional PKCS#10 request (PEM or base64 DER) for the agent's X.509-SVID.
	CSR string
}

// RegisteredAgent is the result of a registration; ClientSecret is shown only now.
type RegisteredAgent struct {
	Agent        *Agent
	Card         *AgentCard
	ClientSecret string
	// SVID is the X.509-SVID chain (PEM, leaf first) when a CSR was sent.
	SVID string
	// Grant is the starting grant the wallet received; GrantReason says why it is zero
	// (GrantNoneConfigured, GrantDailyCapReached), "" when it is not.
	Grant       avt.Amount
	GrantReason string
}

// Register runs the bootstrap registration with token. Exactly one of any
// number of concurrent uses of a token succeeds; if the wallet cannot be created nothing is
// registered and the token stays usable.
func (o *Onboarding) Register(ctx context.Context, token string, in AgentRegistration) (*RegisteredAgent, error) {
	if !credential.LooksLike(BootstrapTokenPrefix, token) {
		return nil, ErrBootstrapTokenInvalid
	}
	hash := credential.HashSecret(token)
	now := o.now().UTC()
	bt, err := o.store.BootstrapTokenByHash(ctx, hash)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, ErrBootstrapTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	if bt.UsedAt != nil || bt.RevokedAt != nil || !now.Before(bt.ExpiresAt) {
		return nil, ErrBootstrapTokenInvalid
	}
	pub, err := ed25519JWK(in.PublicKey)
	if err != nil {
		return nil, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(in.Proof, "="))
	if err != nil || !ed25519strict.Verify(pub, []byte(token), sig) {
		return nil, ErrInvalidProof
	}
	card, err := o.cards.NewCard(ctx, bt.DeveloperID, CardInput{JSON: in.Card})
	if err != nil {
		return nil, err
	}
	td := o.issuer.TrustDomain()
	sid, err := identity.AgentID(td, card.ID)
	if err != nil {
		return nil, apperr.Internalf("agent SPIFFE ID: %w", err)
	}
	var svid string
	if in.CSR != "" {
		der, err := csrDER(in.CSR)
		if err != nil {
			return nil, err
		}
		chain, err := o.issuer.MintX509SVID(ctx, der, sid, 0)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, c := range chain {
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		svid = b.String()
	}
	secret, secretHash := credential.NewSecret(ClientSecretPrefix)
	a := &Agent{ID: card.ID, DeveloperID: bt.DeveloperID, DID: identity.DIDKey(pub), SPIFFEID: sid.String(), PublicKey: pub,
		ClientID: ids.NewAt(IDPrefixClient, now), SecretHash: secretHash, Status: AgentPending, CreatedAt: now, UpdatedAt: now}
	card.AgentDID, card.SPIFFEID = a.DID, a.SPIFFEID
	// A saga rather than one transaction around the TEG call (which may be a network call to
	// another service, and in one process writes the same database): reserve (consume the
	// token, agent pending) → open and fund the wallet (idempotent per agent) → complete
	// (publish the card, agent active); a failure after the reservation releases it, so the
	// token is usable again and nothing is left registered.
	err = o.store.ReserveAgent(ctx, hash, now, a, o.decideGrant)
	o.statuses.forget(a.ID)
	if err != nil {
		return nil, err
	}
	if err := o.wallets.CreateWallet(ctx, a.ID, a.StartingGrant); err != nil {
		o.release(a.ID)
		if ae, ok := apperr.As(err); ok && ae.Kind != apperr.Internal && ae.Kind != apperr.Unavailable {
			return nil, err
		}
		return nil, ErrWalletUnavailable.With("cause", err.Error())
	}
	a.Status = AgentActive
	err = o.store.CompleteAgent(ctx, a, card)
	o.statuses.forget(a.ID)
	if err != nil {
		o.release(a.ID)
		return nil, err
	}
	o.cards.changedLocal(ctx, card)
	out := &RegisteredAgent{Agent: a, Card: card, ClientSecret: secret, SVID: svid, Grant: a.StartingGrant}
	switch {
	case o.grant.IsZero():
		out.GrantReason = GrantNoneConfigured
	case a.StartingGrant.IsZero():
		out.GrantReason = GrantDailyCapReached
	}
	o.log.InfoContext(ctx, "agent registered", "agent_id", a.ID, "developer_id", a.DeveloperID, "did", a.DID,
		"spiffe_id", a.SPIFFEID, "grant", a.StartingGrant.String())
	return out, nil
}

// decideGrant is the GrantDecision of Register: the configured starting grant while the
// developer's grants in GrantWindow, this one included, stay within the cap; else none (a
// registration is never refused for the cap, and never gets part of a grant).
func (o *Onboarding) decideGrant(granted avt.Amount) avt.Amount {
	if o.grantCap == nil || o.grant.IsZero() {
		return o.grant
	}
	if total, ok := granted.Add(o.grant); !ok || total.Cmp(*o.grantCap) > 0 {
		return avt.Amount{}
	}
	return o.grant
}

// release undoes a reservation, with its own deadline: the request's context may be what
// ended.
func (o *Onboarding) release(agentID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = o.store.ReleaseAgent(ctx, agentID)
	o.statuses.forget(agentID)
}

// ReleaseStale releases registrations reserved more than `age` ago and never completed (the
// process died between the steps), so their tokens work again until they expire.
func (o *Onboarding) ReleaseStale(ctx context.Context, age time.Duration) (int, error) {
	ids, err := o.store.PendingAgents(ctx, o.now().Add(-age))
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		err := o.store.ReleaseAgent(ctx, id)
		o.statuses.forget(id)
		if err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// MaxTokenAudiences bounds the audiences of one agent token.
const MaxTokenAudiences = 4

// tokenAudience is the audience of an agent token: the default (the TEG) when none is asked
// for, else each value as a SPIFFE ID of this trust domain — given as one, or as an agent id
// (the agent the token is for: a token an agent receives cannot be replayed to the TEG or to
// another agent).
func (o *Onboarding) tokenAudience(asked []string) ([]string, error) {
	if len(asked) == 0 {
		return o.audience, nil
	}
	bad := func(v string) error {
		return apperr.Errorf(apperr.Invalid, "INVALID_AUDIENCE", "audience %q is neither an agent id nor a SPIFFE ID of %s", v, o.issuer.TrustDomain()).With("field", "audience")
	}
	if len(asked) > MaxTokenAudiences {
		return nil, apperr.Errorf(apperr.Invalid, "INVALID_AUDIENCE", "at most %d audiences", MaxTokenAudiences).With("field", "audience")
	}
	td := o.issuer.TrustDomain()
	out := make([]string, 0, len(asked))
	for _, v := range asked {
		if strings.HasPrefix(v, "spiffe://") {
			id, err := spiffeid.FromString(v)
			if err != nil || id.TrustDomain() != td {
				return nil, bad(v)
			}
			out = append(out, id.String())
			continue
		}
		if !ids.Valid(IDPrefixAgent, v) {
			return nil, bad(v)
		}
		id, err := identity.AgentID(td, v)
		if err != nil {
			return nil, bad(v)
		}
		out = append(out, id.String())
	}
	return out, nil
}

// AgentToken is the OAuth2 client-credentials grant for agents: a JWT-SVID for the agent,
// valid AgentTokenTTL, when the client id and secret match an active agent. audience narrows
// whom the token is for (tokenAudience); none means the TEG.
func (o *Onboarding) AgentToken(ctx context.Context, clientID, secret string, audience ...string) (string, time.Time, error) {
	if !credential.LooksLike(ClientSecretPrefix, secret) {
		return "", time.Time{}, ErrInvalidClient
	}
	a, err := o.store.AgentByClientID(ctx, clientID)
	if apperr.KindOf(err) == apperr.NotFound {
		return "", time.Time{}, ErrInvalidClient
	}
	if err != nil {
		return "", time.Time{}, err
	}
	if subtle.ConstantTimeCompare([]byte(a.SecretHash), []byte(credential.HashSecret(secret))) != 1 {
		return "", time.Time{}, ErrInvalidClient
	}
	if err := AgentStatusError(a.Status); err != nil {
		return "", time.Time{}, err
	}
	id, err := spiffeid.FromString(a.SPIFFEID)
	if err != nil {
		return "", time.Time{}, apperr.Internalf("stored SPIFFE ID %q: %w", a.SPIFFEID, err)
	}
	aud, err := o.tokenAudience(audience)
	if err != nil {
		return "", time.Time{}, err
	}
	tok, err := o.issuer.MintJWTSVID(ctx, id, aud, AgentTokenTTL)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, o.now().Add(AgentTokenTTL), nil
}

// Me returns the calling agent: 401 AUTHENTICATION_REQUIRED for a caller without credentials,
// 403 AGENT_ONLY for one that is not an agent.
func (o *Onboarding) Me(ctx context.Context, caller policy.Subject) (*Agent, error) {
	if caller.Kind == policy.KindAnonymous || caller.Kind == "" || caller.ID == "" {
		return nil, policy.ErrAuthRequired
	}
	if caller.Kind != policy.KindAgent {
		return nil, apperr.New(apperr.Forbidden, "AGENT_ONLY", "only an agent can ask this (authenticate with the agent's token)")
	}
	return o.store.Agent(ctx, caller.ID)
}

// Heartbeat records that the calling agent is alive.
func (o *Onboarding) Heartbeat(ctx context.Context, caller policy.Subject) (*Agent, error) {
	a, err := o.Me(ctx, caller)
	if err != nil {
		return nil, err
	}
	if err := AgentStatusError(a.Status); err != nil {
		return nil, err
	}
	now := o.now().UTC()
	if err := o.store.Heartbeat(ctx, a.ID, now); err != nil {
		return nil, err
	}
	o.cards.RefreshCard(ctx, a.ID) // the card's last_heartbeat_at
	a.LastHeartbeatAt = &now
	return a, nil
}

// SetAgentStatus suspends (AgentSuspended), reactivates (AgentActive) or revokes (AgentRevoked,
// final) an agent; its developer or an admin may (ActionAgentUpdate). A suspension records who
// placed it (the owner, or — anyone else the policy lets suspend — an admin), and only that
// authority or a higher one may lift it (ActionAgentReactivate: the policy decides, with the
// resource's suspended_by). Every authenticated request of a suspended or revoked agent is
// refused from the moment the change is stored (AgentActive), whatever tokens it holds, and
// the ledger freezes its wallet: first the wallet, then the agent (then the wallet again) when
// suspending or revoking; first the agent, then the wallet when reactivating (undone if the
// wallet cannot follow), so neither a failure nor a concurrent change leaves a wallet open
// that should be frozen. A TEG out of reach is 503 TEG_UNAVAILABLE with the agent's status
// unchanged.
func (o *Onboarding) SetAgentStatus(ctx context.Context, caller policy.Subject, agentID, status string) (*Agent, error) {
	a, err := o.store.Agent(ctx, agentID)
	if err != nil {
		return nil, err
	}
	if a.Status == AgentPending {
		return nil, ErrAgentNotFound
	}
	if status != AgentActive && status != AgentSuspended && status != AgentRevoked {
		return nil, apperr.New(apperr.Invalid, "INVALID_FIELD", "status must be active, suspended or revoked").With("field", "status")
	}
	action, res := ActionAgentUpdate, policy.Resource{Kind: "agent", ID: a.ID, Owner: a.DeveloperID}
	if status == AgentActive && a.Status == AgentSuspended {
		action, res.SuspendedBy = ActionAgentReactivate, a.SuspendedBy
	}
	if err := o.authorize(ctx, caller, action, res); err != nil {
		return nil, err
	}
	if a.Status == AgentRevoked && status != AgentRevoked {
		return nil, apperr.New(apperr.Conflict, "AGENT_REVOKED", "a revoked agent stays revoked; register a new one")
	}
	by := "" // reactivated or revoked: no suspension to lift any more
	if status == AgentSuspended {
		by = suspender(caller, a)
	}
	now := o.now().UTC()
	from, to := AgentState{Status: a.Status, SuspendedBy: a.SuspendedBy}, AgentState{Status: status, SuspendedBy: by}
	freeze := status != AgentActive
	if freeze {
		if err := o.setWalletStatus(ctx, a.ID, status, now); err != nil {
			return nil, err
		}
	}
	err = o.store.SetAgentStatus(ctx, a.ID, from, to, now)
	o.statuses.forget(a.ID)
	if err != nil {
		return nil, err
	}
	o.cards.RefreshCard(ctx, a.ID) // the card has the agent's status
	switch {
	case freeze:
		// Again, best effort: a reactivation decided before this change may have unfrozen the
		// wallet between the two steps. A later time makes it another change for the ledger
		// (the first one's idempotency key would only replay the first).
		_ = o.setWalletStatus(ctx, a.ID, status, later(now, o.now().UTC()))
	case from.Status != AgentActive:
		if err := o.setWalletStatus(ctx, a.ID, status, now); err != nil {
			// The agent goes back to how it was (unless something changed it meanwhile), so
			// the caller can retry; with its own deadline, as the request's may be what ended.
			undo, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = o.store.SetAgentStatus(undo, a.ID, to, from, o.now().UTC())
			o.statuses.forget(a.ID)
			o.cards.RefreshCard(undo, a.ID)
			return nil, err
		}
		// A suspension that landed meanwhile froze the wallet before this unfroze it: freeze
		// it again (best effort; that suspension's own second step does too).
		if cur, err := o.store.AgentStatus(ctx, a.ID); err == nil && cur != AgentActive {
			_ = o.setWalletStatus(ctx, a.ID, cur, later(now, o.now().UTC()))
		}
	}
	a.Status, a.SuspendedBy, a.UpdatedAt = status, by, now
	o.log.InfoContext(ctx, "agent status changed", "agent_id", a.ID, "developer_id", a.DeveloperID, "from", from.Status,
		"to", status, "by", caller.ID, "suspended_by", by)
	return a, nil
}

// setWalletStatus sets the agent's wallet status through the TEG; an agent without a wallet
// has nothing to freeze. The TEG's own refusals pass through; a TEG that fails or is out of
// reach is ErrWalletStatusUnavailable.
func (o *Onboarding) setWalletStatus(ctx context.Context, agentID, status string, at time.Time) error {
	err := o.wallets.SetWalletStatus(ctx, agentID, status, at)
	if err == nil {
		return nil
	}
	switch apperr.KindOf(err) {
	case apperr.NotFound:
		return nil
	case apperr.Internal, apperr.Unavailable:
		return ErrWalletStatusUnavailable.With("cause", err.Error())
	}
	return err
}

// later is t, or just after prev when t is not after it (a clock that did not move).
func later(prev, t time.Time) time.Time {
	if t.After(prev) {
		return t
	}
	return prev.Add(time.Nanosecond)
}

// suspender is the authority that holds a's suspension once caller (allowed to suspend it)
// does: its developer suspends as the owner, anyone else as an admin; suspending again never
// lowers an admin's suspension to one the owner could lift.
func suspender(caller policy.Subject, a *Agent) string {
	if a.Status == AgentSuspended && a.SuspendedBy != policy.AuthorityOwner {
		return policy.AuthorityAdmin // an admin's (or an unrecorded) suspension stays one
	}
	if caller.ID == a.DeveloperID {
		return policy.AuthorityOwner
	}
	return policy.AuthorityAdmin
}

// RotateSecret gives the calling agent a new client secret (shown once); the old one stops
// working at once. Tokens already issued run out within AgentTokenTTL.
func (o *Onboarding) RotateSecret(ctx context.Context, caller policy.Subject) (string, error) {
	a, err := o.Me(ctx, caller)
	if err != nil {
		return "", err
	}
	if err := AgentStatusError(a.Status); err != nil {
		return "", err
	}
	plain, hash := credential.NewSecret(ClientSecretPrefix)
	if err := o.store.SetAgentSecret(ctx, a.ID, hash, o.now().UTC()); err != nil {
		return "", err
	}
	return plain, nil
}

// AgentStatusError is the refusal of what an agent in this status asks: nil when active, 403
// AGENT_SUSPENDED or AGENT_REVOKED, AGENT_INACTIVE for a registration not yet complete.
func AgentStatusError(status string) error {
	switch status {
	case AgentActive:
		return nil
	case AgentSuspended:
		return ErrAgentSuspended
	case AgentRevoked:
		return ErrAgentRevoked
	default:
		return ErrAgentInactive
	}
}

// AgentActive is AgentStatusError of the agent's status, and nil for an agent the registry
// does not know (wallets an admin opened by hand). Every authenticated agent request asks it,
// whatever its credential (JWT-SVID, mTLS X.509-SVID), cached or not. The status comes from
// memory: a change this replica made holds from the moment it is stored, a change another
// replica made (or SQL by hand) within AgentStatusStaleness — the store's status generation
// is read at most that often, not the agent's status on every request.
func (o *Onboarding) AgentActive(ctx context.Context, agentID string) error {
	status, err := o.statuses.get(ctx, agentID)
	if err != nil {
		return err
	}
	if status == notRegistered {
		return nil
	}
	return AgentStatusError(status)
}

// StaleIntervals is how many heartbeat intervals an agent may stay silent before MarkStale
// marks its card inactive.
const StaleIntervals = 3

// MarkStale marks inactive the cards of agents silent for StaleIntervals heartbeat intervals.
func (o *Onboarding) MarkStale(ctx context.Context, interval time.Duration) (int, error) {
	return o.store.MarkStale(ctx, o.now().Add(-StaleIntervals*interval))
}

// ed25519JWK reads an Ed25519 public key from its JWK (RFC 8037); a weak key (small order,
// non-canonical, outside the prime-order subgroup: ed25519strict.CheckPublicKey) is refused.
func ed25519JWK(jwk map[string]any) (ed25519.PublicKey, error) {
	if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
		return nil, ErrInvalidPublicKey
	}
	if _, ok := jwk["d"]; ok {
		return nil, ErrInvalidPublicKey.With("reason", "the JWK holds a private key: send only the public part")
	}
	x, _ := jwk["x"].(string)
	b, err := base64.RawURLEncoding.Strict().DecodeString(x)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, ErrInvalidPublicKey
	}
	if err := ed25519strict.CheckPublicKey(b); err != nil {
		return nil, ErrInvalidPublicKey.With("reason", "a weak Ed25519 key: "+err.Error())
	}
	return ed25519.PublicKey(b), nil
}

// csrDER reads a CSR in PEM or base64 DER.
func csrDER(s string) ([]byte, error) {
	bad := apperr.New(apperr.Invalid, identity.CodeInvalidCSR, "csr must be a PKCS#10 request in PEM or base64 DER").With("field", "csr")
	if len(s) > 16<<10 {
		return nil, apperr.New(apperr.Invalid, identity.CodeCSRTooLarge, "csr is larger than 16 KiB").With("field", "csr")
	}
	if blk, _ := pem.Decode([]byte(s)); blk != nil {
		if blk.Type != "CERTIFICATE REQUEST" {
			return nil, bad
		}
		return blk.Bytes, nil
	}
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if der, err = base64.RawURLEncoding.DecodeString(s); err != nil {
			return nil, bad
		}
	}
	if _, err := x509.ParseCertificateRequest(der); err != nil {
		return nil, bad
	}
	return der, nil
}

// Agents lists up to limit of the caller's own agents with id > after, in id order
// (ActionAgentList: a developer, for their own).
func (o *Onboarding) Agents(ctx context.Context, caller policy.Subject, after string, limit int) ([]Agent, error) {
	if err := o.authorize(ctx, caller, ActionAgentList, policy.Resource{Kind: "agent", Owner: caller.ID}); err != nil {
		return nil, err
	}
	return o.store.AgentsOf(ctx, caller.ID, after, limit)
}

// Agent returns a registered agent to its developer or an admin (ActionAgentRead); an agent
// being registered is not found.
func (o *Onboarding) Agent(ctx context.Context, caller policy.Subject, id string) (*Agent, error) {
	return o.ownedAgent(ctx, caller, ActionAgentRead, id)
}

// AgentBalance reads a registered agent's wallet for its developer or an admin
// (ActionAgentBalance), through the registry's Wallets: the TEG itself knows the wallet, not its
// owner. A TEG out of reach is 503 TEG_UNAVAILABLE.
func (o *Onboarding) AgentBalance(ctx context.Context, caller policy.Subject, id string) (*Agent, WalletBalance, error) {
	a, err := o.ownedAgent(ctx, caller, ActionAgentBalance, id)
	if err != nil {
		return nil, WalletBalance{}, err
	}
	b, err := o.wallets.WalletBalance(ctx, a.ID)
	if err != nil {
		if _, ok := apperr.As(err); !ok { // the TEG did not answer: unreachable
			err = ErrWalletReadUnavailable.With("cause", err.Error())
		}
		return nil, WalletBalance{}, err
	}
	return a, b, nil
}

// MaxHistoryPage bounds one read of an agent's ledger history.
const MaxHistoryPage = 1000

// AgentHistory reads up to limit (1–MaxHistoryPage) of a registered agent's ledger events older
// than the sequence before (0: the newest), newest first, for its developer or an admin
// (ActionAgentBalance, the rule of its balance), through the registry's Wallets. A TEG out of
// reach is 503 TEG_UNAVAILABLE.
func (o *Onboarding) AgentHistory(ctx context.Context, caller policy.Subject, id string, before uint64, limit int) ([]teg.Transfer, error) {
	a, err := o.ownedAgent(ctx, caller, ActionAgentBalance, id)
	if err != nil {
		return nil, err
	}
	limit = min(max(limit, 1), MaxHistoryPage)
	h, err := o.wallets.WalletHistory(ctx, a.ID, before, limit)
	if err != nil {
		if _, ok := apperr.As(err); !ok {
			err = ErrWalletReadUnavailable.With("cause", err.Error())
		}
		return nil, err
	}
	return h, nil
}

// ownedAgent loads the agent and authorizes action on it, its developer being the owner.
func (o *Onboarding) ownedAgent(ctx context.Context, caller policy.Subject, action, id string) (*Agent, error) {
	if caller.Kind == policy.KindAnonymous || caller.Kind == "" || caller.ID == "" {
		return nil, policy.ErrAuthRequired
	}
	a, err := o.store.Agent(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status == AgentPending {
		return nil, ErrAgentNotFound
	}
	if err := o.authorize(ctx, caller, action, policy.Resource{Kind: "agent", ID: a.ID, Owner: a.DeveloperID}); err != nil {
		return nil, err
	}
	return a, nil
}
