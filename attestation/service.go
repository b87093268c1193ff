package attestation

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/teg"
)

// Defaults of Params.
const (
	DefaultCooldown   = 24 * time.Hour
	DefaultDailyLimit = 10
	DefaultMaxAge     = 7 * 24 * time.Hour
	// DefaultUptimeFreshness is how recent an agent's last heartbeat must be for an uptime
	// attestation when Params.UptimeFreshness is zero.
	DefaultUptimeFreshness = 3 * time.Minute
)

// DefaultReward is the reward of an attestation of any type: 0.5 AVT.
func DefaultReward() avt.Amount { return avt.MustParse("0.5") }

// Params are the rules of attestations (zero fields: the defaults).
type Params struct {
	// Rewards is the reward per type (a type missing: DefaultReward; zero: no reward).
	Rewards map[string]avt.Amount
	// Cooldown is how long after an attestation of (subject, type, attester) the next one is
	// refused.
	Cooldown time.Duration
	// DailyLimit is how many attestations of a subject a rolling 24 hours accepts.
	DailyLimit int
	// MaxAge is how old issued_at may be.
	MaxAge time.Duration
	// UptimeFreshness is how recent the subject's last heartbeat must be for the registry to
	// issue an uptime attestation.
	UptimeFreshness time.Duration
	// EvidenceBase is the registry's public URL: an uptime attestation's evidence URI is the
	// subject's agent card under it.
	EvidenceBase string
}

// Limits are the limits the store checks in the step that stores an attestation.
type Limits struct {
	Cooldown time.Duration
	Daily    int
}

// Query selects attestations (empty fields: any).
type Query struct {
	Subject  string
	Type     string
	Attester string
}

// Cursor is the position after which a listing (newest first) continues.
type Cursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// Store keeps attestations (attestsql implements it on SQLite and PostgreSQL).
type Store interface {
	// Insert stores a new attestation, unpaid, if the limits allow — atomically, however many
	// replicas insert at once: ErrReplayed when one of the same (subject, type, evidence hash)
	// or id exists, ErrTransferAttested when one names the same transfer, ErrCooldown when one
	// of the same (subject, type, attester) was stored less than lim.Cooldown before
	// a.CreatedAt, ErrDailyLimit when lim.Daily of the subject were stored in the 24 hours
	// before it. A refused attestation leaves nothing.
	Insert(ctx context.Context, a Attestation, lim Limits) error
	// Get reads one attestation.
	Get(ctx context.Context, id string) (Attestation, bool, error)
	// List lists attestations matching q, newest first, after the cursor when given.
	List(ctx context.Context, q Query, after *Cursor, limit int) ([]Attestation, error)
	// MarkPaid records the ledger transfer that paid an attestation's reward.
	MarkPaid(ctx context.Context, id, transferID string) error
	// Unpaid lists up to limit attestations whose reward is not recorded as paid, oldest first.
	Unpaid(ctx context.Context, limit int) ([]Attestation, error)
}

// Ledger is what the service reads of the ledger: transfers (a task_completed attestation's
// paid task) and accounts (a subject has a wallet).
type Ledger interface {
	Transfer(ctx context.Context, id string) (teg.Transfer, bool, error)
	Account(ctx context.Context, id teg.AccountID) (teg.Account, error)
}

// Treasury pays rewards: a grant from the treasury under an idempotency key, which the ledger
// applies at most once (teg.Wallets is one).
type Treasury interface {
	Grant(ctx context.Context, to teg.AccountID, amount avt.Amount, message, idemKey string) (teg.Transfer, bool, error)
}

// Agent is what the registry knows of an agent that attestations need.
type Agent struct {
	ID              string
	DeveloperID     string
	PublicKey       ed25519.PublicKey
	Status          string
	LastHeartbeatAt *time.Time
}

// Directory looks agents up in the registry.
type Directory interface {
	Agent(ctx context.Context, id string) (Agent, bool, error)
}

// The errors of attestation rules (each a specific code; nothing is stored or paid).
var (
	ErrIssuedInFuture      = apperr.New(apperr.Invalid, "ISSUED_IN_FUTURE", "issued_at is in the future").With("field", "issued_at")
	ErrTooOld              = apperr.New(apperr.Invalid, "ATTESTATION_TOO_OLD", "issued_at is older than the attestation window (7 days by default)").With("field", "issued_at")
	ErrUptimeByRegistry    = apperr.New(apperr.Invalid, "UPTIME_ISSUED_BY_REGISTRY", "uptime attestations are issued by the registry from its heartbeat record: POST /api/v1/attestations:uptime").With("field", "type")
	ErrSubjectNotFound     = apperr.New(apperr.NotFound, "SUBJECT_NOT_FOUND", "no agent with this id has a wallet").With("field", "subject")
	ErrSignerNotAttester   = apperr.New(apperr.Invalid, "SIGNER_NOT_ATTESTER", "the signature must be the attester's").With("field", "signature")
	ErrAttesterNotSubject  = apperr.New(apperr.Invalid, "ATTESTER_NOT_SUBJECT", "a task_completed attestation is the payee's own: attester and subject must be the transfer's payee").With("field", "attester")
	ErrSelfAttestation     = apperr.New(apperr.Invalid, "SELF_ATTESTATION", "an agent cannot attest its own code or data").With("field", "attester")
	ErrSameDeveloper       = apperr.New(apperr.Forbidden, "SAME_DEVELOPER", "an agent cannot attest an agent of its own developer").With("field", "attester")
	ErrTransferNotFound    = apperr.New(apperr.NotFound, "TRANSFER_NOT_FOUND", "no completed transfer with this id").With("field", "transfer_id")
	ErrNotThePayee         = apperr.New(apperr.Forbidden, "NOT_THE_PAYEE", "the subject of task_completed must be the transfer's payee").With("field", "transfer_id")
	ErrCosignatureRequired = apperr.New(apperr.Invalid, "COSIGNATURE_REQUIRED", "a task_completed attestation must be co-signed by the transfer's payer").With("field", "cosignature")
	ErrCosignatureUnwanted = apperr.New(apperr.Invalid, "COSIGNATURE_NOT_EXPECTED", "this type is signed by the attester alone").With("field", "cosignature")
	ErrCosignerNotPayer    = apperr.New(apperr.Forbidden, "COSIGNER_NOT_PAYER", "the co-signer must be the payer of the transfer").With("field", "cosignature")
	ErrReplayed            = apperr.New(apperr.Conflict, "ATTESTATION_REPLAYED", "an attestation of this subject, type and evidence hash exists already")
	ErrTransferAttested    = apperr.New(apperr.Conflict, "TRANSFER_ALREADY_ATTESTED", "this transfer has a task_completed attestation already").With("field", "transfer_id")
	ErrCooldown            = apperr.New(apperr.TooManyRequests, "ATTESTATION_COOLDOWN", "this attester attested this subject with this type less than 24 hours ago")
	ErrDailyLimit          = apperr.New(apperr.TooManyRequests, "ATTESTATION_DAILY_LIMIT", "the subject has had the most attestations a rolling 24 hours allows (10 by default)")
	ErrNotFound            = apperr.New(apperr.NotFound, "ATTESTATION_NOT_FOUND", "no attestation with this id")
	ErrNoRecentHeartbeat   = apperr.New(apperr.Conflict, "NO_RECENT_HEARTBEAT", "the registry has no recent heartbeat of this agent")
	ErrSubjectNotActive    = apperr.New(apperr.Conflict, "SUBJECT_NOT_ACTIVE", "the agent is not active")
	ErrUnavailable         = apperr.New(apperr.Unavailable, "ATTESTATIONS_UNAVAILABLE", "this server does not issue uptime attestations")
)

// Service is the attestation domain. Every call of a caller is decided by the policy.
type Service struct {
	Store    Store
	Ledger   Ledger
	Treasury Treasury
	// Directory is the registry's agents: their Ed25519 keys, developers and heartbeats (nil:
	// only JWT-SVID signatures, no uptime).
	Directory Directory
	// Issuer gives the trust bundle JWT-SVID signatures verify against and signs the
	// registry's uptime attestations as RegistryID.
	Issuer     identity.Issuer
	RegistryID spiffeid.ID
	Authz      policy.Decider
	Params     Params
	Now        func() time.Time
	Log        *slog.Logger
	// Rules, when set, gives the rewards and limits in force from the ledger's parameter set
	// (the same on every replica, and changed by governance), overriding Params' Rewards,
	// Cooldown and DailyLimit.
	Rules func(ctx context.Context) (teg.AttestationParams, error)
	// Counted, when set, is told the subject of each attestation stored, so that its score
	// counts it at once (the reputation service's incremental update) rather than from the next
	// full pass.
	Counted func(ctx context.Context, subject string)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) limits() Limits {
	l := Limits{Cooldown: s.Params.Cooldown, Daily: s.Params.DailyLimit}
	if l.Cooldown <= 0 {
		l.Cooldown = DefaultCooldown
	}
	if l.Daily <= 0 {
		l.Daily = DefaultDailyLimit
	}
	return l
}

// Reward is the reward of an attestation of type t.
func (s *Service) Reward(t string) avt.Amount {
	if a, ok := s.Params.Rewards[t]; ok {
		return a
	}
	return DefaultReward()
}

func (s *Service) authorize(ctx context.Context, caller policy.Subject, action string, res policy.Resource) error {
	return policy.Authorize(ctx, s.Authz, policy.Input{Subject: caller, Action: action, Resource: res, Context: policy.Context{Time: s.now()}})
}

// Submit checks an attestation and its signatures, stores it and pays its subject the reward
// of its type from the treasury:
//
//   - the form (Submission.Validate); uptime is refused (the registry issues it: IssueUptime);
//   - the caller may submit for the attester (the policy's attestation.submit);
//   - issued_at at most FutureSkew ahead and at most MaxAge old;
//   - the subject has a wallet;
//   - task_completed: attester = subject = the payee of a completed transfer (a plain transfer
//     or the post of a paid task), co-signed by its payer; code_review and data_quality: an
//     attester other than the subject, of another developer, alone;
//   - the signature is the attester's and verifies (EdDSA with its registered key, or a
//     JWT-SVID bound to the statement); the co-signature likewise;
//   - the store's limits: no replay, the cooldown, the daily limit.
//
// Every refusal has its own code and stores and pays nothing. The reward is paid after the
// attestation is stored (see pay): an attestation acknowledged is never lost, and its reward
// is paid exactly once.
func (s *Service) Submit(ctx context.Context, caller policy.Subject, sub Submission) (Attestation, error) {
	sub.IssuedAt = sub.IssuedAt.UTC().Truncate(time.Second)
	if sub.Type == TypeUptime {
		return Attestation{}, ErrUptimeByRegistry
	}
	if err := sub.Validate(); err != nil {
		return Attestation{}, err
	}
	st := sub.Statement
	if err := s.authorize(ctx, caller, policy.ActionAttestationSubmit, policy.Resource{Kind: "attestation", ID: st.Subject, Owner: st.Attester}); err != nil {
		return Attestation{}, err
	}
	now := s.now()
	if err := s.checkTime(st, now); err != nil {
		return Attestation{}, err
	}
	if err := s.hasWallet(ctx, st.Subject); err != nil {
		return Attestation{}, err
	}
	switch st.Type {
	case TypeTaskCompleted:
		if err := s.checkTask(ctx, st, sub.Cosignature); err != nil {
			return Attestation{}, err
		}
	default:
		if err := s.checkPeer(ctx, st, sub.Cosignature); err != nil {
			return Attestation{}, err
		}
	}
	if sub.Signature.Signer != st.Attester {
		return Attestation{}, ErrSignerNotAttester
	}
	sig, err := s.verify(ctx, st, sub.Signature)
	if err != nil {
		return Attestation{}, err
	}
	a := Attestation{Statement: st, Signature: sig}
	if sub.Cosignature != nil {
		co, err := s.verify(ctx, st, *sub.Cosignature)
		if err != nil {
			return Attestation{}, apperr.New(apperr.Invalid, "COSIGNATURE_INVALID", "the co-signature does not verify for this statement and signer").
				With("field", "cosignature").With("signer", co.Signer)
		}
		a.Cosignature = &co
	}
	return s.accept(ctx, a, now)
}

func (s *Service) checkTime(st Statement, now time.Time) error {
	maxAge := s.Params.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if st.IssuedAt.After(now.Add(FutureSkew)) {
		return ErrIssuedInFuture
	}
	if st.IssuedAt.Before(now.Add(-maxAge)) {
		return ErrTooOld
	}
	return nil
}

func (s *Service) hasWallet(ctx context.Context, agent string) error {
	if _, err := s.Ledger.Account(ctx, teg.AccountID(agent)); err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return ErrSubjectNotFound.With("subject", agent)
		}
		return err
	}
	return nil
}

// checkTask applies task_completed's rules: the attester is the subject, the payee of a
// completed transfer, and its payer co-signs.
func (s *Service) checkTask(ctx context.Context, st Statement, co *Signature) error {
	if st.Attester != st.Subject {
		return ErrAttesterNotSubject
	}
	t, ok, err := s.Ledger.Transfer(ctx, st.TransferID)
	if err != nil {
		return apperr.Internalf("read transfer: %w", err)
	}
	if !ok || (t.Kind != teg.KindTransfer && t.Kind != teg.KindPost) {
		return ErrTransferNotFound.With("transfer_id", st.TransferID)
	}
	if string(t.To) != st.Subject {
		return ErrNotThePayee
	}
	if co == nil {
		return ErrCosignatureRequired
	}
	if co.Signer != string(t.From) {
		return ErrCosignerNotPayer.With("signer", co.Signer)
	}
	return nil
}

// checkPeer applies code_review's and data_quality's rules: another agent, of another
// developer (when the registry knows both), signing alone.
func (s *Service) checkPeer(ctx context.Context, st Statement, co *Signature) error {
	if st.Attester == st.Subject {
		return ErrSelfAttestation
	}
	if co != nil {
		return ErrCosignatureUnwanted
	}
	if s.Directory == nil {
		return nil
	}
	att, ok1, err := s.Directory.Agent(ctx, st.Attester)
	if err != nil {
		return err
	}
	sub, ok2, err := s.Directory.Agent(ctx, st.Subject)
	if err != nil {
		return err
	}
	if ok1 && ok2 && att.DeveloperID != "" && att.DeveloperID == sub.DeveloperID {
		return ErrSameDeveloper
	}
	return nil
}

// verify checks one signature of st and returns it as stored (an EdDSA signature
// with the did:key of the registered key that verified it).
func (s *Service) verify(ctx context.Context, st Statement, sig Signature) (Signature, error) {
	switch sig.Alg {
	case AlgEdDSA:
		var a Agent
		ok := false
		if s.Directory != nil {
			var err error
			if a, ok, err = s.Directory.Agent(ctx, sig.Signer); err != nil {
				return Signature{}, err
			}
		}
		if !ok || len(a.PublicKey) != ed25519.PublicKeySize {
			return Signature{}, ErrSignatureInvalid.With("signer", sig.Signer).With("reason", "the signer has no registered Ed25519 key")
		}
		if err := VerifyEd25519(st, sig, a.PublicKey); err != nil {
			return Signature{}, err
		}
		sig.Key = identity.DIDKey(a.PublicKey)
		return sig, nil
	default:
		bundle, err := s.Issuer.Bundle(ctx)
		if err != nil {
			return Signature{}, apperr.Internalf("identity bundle: %w", err)
		}
		// A token's validity is a matter of the wall clock, as for every JWT-SVID the stack
		// authenticates (now, the service's clock, decides the domain's windows).
		if err := VerifyJWTSVID(st, sig, s.Issuer.TrustDomain(), bundle, time.Now()); err != nil {
			return Signature{}, err
		}
		sig.Key = ""
		return sig, nil
	}
}

// accept stores a verified attestation and pays its reward.
//
// The order is the crash-safety argument: the attestation is stored first, marked unpaid, with
// the reward's idempotency key (RewardKey of subject, type and evidence hash); then the
// treasury grants under that key; then the store records the transfer. A crash after the store
// leaves an unpaid attestation, which PayPending (run in the background) pays; a crash after
// the grant leaves one the ledger has paid, and PayPending's grant under the same key is a
// replay that returns the same transfer — so no acknowledged attestation is lost and no reward
// is paid twice. The reward's amount is stored with the attestation, so a retry asks the
// ledger for exactly what the first attempt did.
func (s *Service) accept(ctx context.Context, a Attestation, now time.Time) (Attestation, error) {
	a.ID = a.Statement.ID()
	a.CreatedAt = now.Truncate(time.Microsecond)
	a.Reward = s.Reward(a.Type)
	a.RewardKey = RewardKey(a.Subject, a.Type, a.EvidenceHash)
	limits := s.limits()
	if s.Rules != nil {
		r, err := s.Rules(ctx)
		if err != nil {
			return Attestation{}, err
		}
		a.Reward, limits = r.Reward, Limits{Cooldown: time.Duration(r.CooldownSeconds) * time.Second, Daily: r.DailyLimit}
	}
	if err := s.Store.Insert(ctx, a, limits); err != nil {
		return Attestation{}, err
	}
	if s.Counted != nil {
		s.Counted(ctx, a.Subject)
	}
	if id, err := s.pay(ctx, a); err != nil {
		s.log().Warn("attestation reward not paid yet; it is retried", "attestation", a.ID, "err", err)
	} else {
		a.RewardPaid, a.RewardTransfer = true, id
	}
	return a, nil
}

// pay grants a's reward under its key and records the transfer ("" for no reward).
func (s *Service) pay(ctx context.Context, a Attestation) (string, error) {
	if a.Reward.IsZero() {
		return "", s.Store.MarkPaid(ctx, a.ID, "")
	}
	t, _, err := s.Treasury.Grant(ctx, teg.AccountID(a.Subject), a.Reward, "attestation reward: "+a.Type+" "+a.ID[:len(IDPrefix)+16], a.RewardKey)
	if err != nil {
		return "", err
	}
	return t.ID, s.Store.MarkPaid(ctx, a.ID, t.ID)
}

// PayPending pays the rewards of up to limit attestations stored but not recorded as paid (a
// crash, the treasury out of reach or short of funds), oldest first, and returns how many it
// paid. It stops at the first payment that fails (what stops one — the treasury — mostly stops
// the rest) and returns its error; the next call starts again with that one.
func (s *Service) PayPending(ctx context.Context, limit int) (int, error) {
	as, err := s.Store.Unpaid(ctx, limit)
	if err != nil {
		return 0, err
	}
	for n, a := range as {
		if _, err := s.pay(ctx, a); err != nil {
			return n, fmt.Errorf("attestation %s: %w", a.ID, err)
		}
	}
	return len(as), nil
}

// IssueUptime has the registry attest the subject's uptime from its heartbeat record: the
// subject is active and its last heartbeat is at most UptimeFreshness old. The statement's
// evidence hash is the SHA-256 of the heartbeat record ("sovereign-heartbeat/v1", the agent,
// the time of its last heartbeat), its URI the agent's card at the registry, and the registry
// signs it with a JWT-SVID of its SPIFFE ID. The subject (or an admin) asks; the limits and
// the reward are those of every attestation.
func (s *Service) IssueUptime(ctx context.Context, caller policy.Subject, subject string) (Attestation, error) {
	if teg.ValidateAgentAccount(teg.AccountID(subject)) != nil {
		return Attestation{}, ErrInvalidSubject
	}
	if s.Directory == nil || s.Issuer == nil || s.RegistryID.IsZero() {
		return Attestation{}, ErrUnavailable
	}
	if err := s.authorize(ctx, caller, policy.ActionAttestationUptime, policy.Resource{Kind: "attestation", ID: subject, Owner: subject}); err != nil {
		return Attestation{}, err
	}
	ag, ok, err := s.Directory.Agent(ctx, subject)
	if err != nil {
		return Attestation{}, err
	}
	if !ok {
		return Attestation{}, ErrSubjectNotFound.With("subject", subject)
	}
	if ag.Status != "active" {
		return Attestation{}, ErrSubjectNotActive.With("status", ag.Status)
	}
	if err := s.hasWallet(ctx, subject); err != nil {
		return Attestation{}, err
	}
	now := s.now()
	fresh := s.Params.UptimeFreshness
	if fresh <= 0 {
		fresh = DefaultUptimeFreshness
	}
	if ag.LastHeartbeatAt == nil || now.Sub(*ag.LastHeartbeatAt) > fresh {
		return Attestation{}, ErrNoRecentHeartbeat.With("within", fresh.String())
	}
	record := "sovereign-heartbeat/v1\nagent=" + subject + "\nlast_heartbeat=" + ag.LastHeartbeatAt.UTC().Format(time.RFC3339Nano) + "\n"
	sum := sha256.Sum256([]byte(record))
	st := Statement{Type: TypeUptime, Subject: subject, Attester: s.RegistryID.String(), EvidenceHash: evidenceHashPrefix + hex.EncodeToString(sum[:]),
		EvidenceURI: strings.TrimRight(s.Params.EvidenceBase, "/") + "/agents/" + url.PathEscape(subject) + "/.well-known/agent-card.json",
		IssuedAt:    now.Truncate(time.Second)}
	if err := st.Validate(); err != nil {
		return Attestation{}, apperr.Internalf("uptime statement: %w", err)
	}
	tok, err := s.Issuer.MintJWTSVID(ctx, s.RegistryID, []string{st.Audience(s.Issuer.TrustDomain().Name())}, 0)
	if err != nil {
		return Attestation{}, apperr.Internalf("sign uptime attestation: %w", err)
	}
	return s.accept(ctx, Attestation{Statement: st, Signature: Signature{Signer: st.Attester, Alg: AlgJWTSVID, Value: tok}}, now)
}

// Get reads one attestation (public, as the policy's attestation.read says).
func (s *Service) Get(ctx context.Context, caller policy.Subject, id string) (Attestation, error) {
	if err := s.authorize(ctx, caller, policy.ActionAttestationRead, policy.Resource{Kind: "attestation", ID: id}); err != nil {
		return Attestation{}, err
	}
	if !strings.HasPrefix(id, IDPrefix) || len(id) != len(IDPrefix)+64 {
		return Attestation{}, ErrNotFound.With("id", truncate(id, 80))
	}
	a, ok, err := s.Store.Get(ctx, id)
	if err != nil {
		return Attestation{}, err
	}
	if !ok {
		return Attestation{}, ErrNotFound.With("id", id)
	}
	return a, nil
}

// ErrInvalidQuery is a listing filter that cannot match.
var ErrInvalidQuery = apperr.New(apperr.Invalid, "INVALID_ATTESTATION_QUERY", "subject and attester must be ids (at most 128 printable ASCII characters), type a known type")

// List lists attestations matching q, newest first (public, as the policy's attestation.read
// says).
func (s *Service) List(ctx context.Context, caller policy.Subject, q Query, after *Cursor, limit int) ([]Attestation, error) {
	if err := s.authorize(ctx, caller, policy.ActionAttestationRead, policy.Resource{Kind: "attestation", ID: q.Subject, Owner: q.Subject}); err != nil {
		return nil, err
	}
	for f, v := range map[string]string{"subject": q.Subject, "attester": q.Attester} {
		if v != "" && (!printable(v) || len(v) > teg.MaxIDLen) {
			return nil, ErrInvalidQuery.With("field", f)
		}
	}
	if q.Type != "" && !KnownType(q.Type) {
		return nil, ErrUnknownType.With("field", "type")
	}
	return s.Store.List(ctx, q, after, limit)
}

// VerifyStored re-verifies a stored attestation's signatures now, as anyone would offline
// (Verify) with the stack's current trust bundle.
func (s *Service) VerifyStored(ctx context.Context, caller policy.Subject, id string) (Verified, error) {
	a, err := s.Get(ctx, caller, id)
	if err != nil {
		return Verified{}, err
	}
	bundle, err := s.Issuer.Bundle(ctx)
	if err != nil {
		return Verified{}, apperr.Internalf("identity bundle: %w", err)
	}
	return Verify(a, s.Issuer.TrustDomain(), bundle), nil
}
