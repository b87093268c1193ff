package teg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg/fee"
)

// Governance lives in the ledger's state machine like staking does: its commands are ledger
// commands, the deposits move by postings of the hash-chained log, and its records — proposals,
// votes, the queues of proposals to close and to execute, the policy modules governance put in
// force — are keyed state whose every change the log's events carry. The model follows Cosmos
// x/gov and Compound's timelock:
//
//   - A proposal (KindGovPropose) is made by an agent the policy finds eligible; its deposit moves
//     from the proposer's liquid balance to the system account GovDeposits.
//   - Bonded stakers vote (KindGovVote) until the voting period ends; a delegator who does not
//     vote inherits its validator's vote for the stake it delegated to it.
//   - When the period has ended the scheduler closes the proposal (KindGovClose): the tally, taken
//     over the bonded stake at that point, decides passed, rejected or vetoed; the deposit returns
//     to the proposer, or is burnt for a veto.
//   - After the timelock a passed proposal is executed, once: a parameter change is a KindParams
//     command, a mint a KindMint, a treasury spend a KindGrant and a policy module a KindGovPolicy,
//     each naming the proposal (Command.Gov), so its effect follows the same path as the
//     command's kind and the proposal is marked executed in the same event.

// GovDeposits holds the deposits of the proposals being voted on.
const GovDeposits AccountID = "sys:gov_deposits"

// The governance commands (see Command.Gov for their arguments).
const (
	// KindGovPropose makes a proposal (Gov.Content) by From, with a deposit of Amount.
	KindGovPropose Kind = "gov_propose"
	// KindGovVote records From's vote Gov.Option on proposal Gov.Proposal.
	KindGovVote Kind = "gov_vote"
	// KindGovClose tallies proposal Gov.Proposal once its voting period has ended.
	KindGovClose Kind = "gov_close"
	// KindGovPolicy executes a passed policy-module proposal Gov.Proposal.
	KindGovPolicy Kind = "gov_policy"
)

// GovArgs are the arguments of a governance command, and of the execution of a passed proposal
// (a KindParams, KindMint or KindGrant command naming it).
type GovArgs struct {
	Proposal uint64           `json:"proposal,omitempty"`
	Option   VoteOption       `json:"option,omitempty"`
	Content  *ProposalContent `json:"content,omitempty"`
}

// ProposalKind is what a proposal would do.
type ProposalKind string

// The kinds of proposal.
const (
	ProposalParams  ProposalKind = "param_change"
	ProposalPolicy  ProposalKind = "policy_module"
	ProposalSpend   ProposalKind = "treasury_spend"
	ProposalMint    ProposalKind = "mint"
	maxTitleBytes                = 200
	maxDescBytes                 = 8 << 10
	MaxPolicyModule              = 64 << 10 // bytes of a proposed Rego module, and of its tests
	maxParamChanges              = 64
	maxReasonBytes               = MaxMessageBytes
	proposalIDWidth              = 20
)

// ProposalContent is what a proposal asks for.
type ProposalContent struct {
	Kind        ProposalKind `json:"kind"`
	Title       string       `json:"title"`
	Description string       `json:"description,omitempty"`
	// Changes (param_change) maps dotted keys of the parameter set ("fee.rate_bps",
	// "governance.voting_seconds", "tiers") to their new JSON values.
	Changes map[string]json.RawMessage `json:"changes,omitempty"`
	// Module (policy_module) is the file name of the Rego module, Rego its source and Tests the
	// Rego unit tests it must pass.
	Module string `json:"module,omitempty"`
	Rego   string `json:"rego,omitempty"`
	Tests  string `json:"tests,omitempty"`
	// To, Amount and Reason: a treasury spend (to, amount, reason) or a mint (amount, reason).
	To     AccountID  `json:"to,omitempty"`
	Amount avt.Amount `json:"amount,omitzero"`
	Reason string     `json:"reason,omitempty"`
}

// ProposalStatus is where a proposal stands.
type ProposalStatus string

// The statuses of a proposal: voting, then passed, rejected or vetoed; a passed proposal becomes
// executed.
const (
	StatusVoting   ProposalStatus = "voting"
	StatusPassed   ProposalStatus = "passed"
	StatusRejected ProposalStatus = "rejected"
	StatusVetoed   ProposalStatus = "vetoed"
	StatusExecuted ProposalStatus = "executed"
)

// VoteOption is a vote.
type VoteOption string

// The vote options.
const (
	VoteYes     VoteOption = "yes"
	VoteNo      VoteOption = "no"
	VoteAbstain VoteOption = "abstain"
	VoteVeto    VoteOption = "veto"
)

// Valid reports whether o is one of the options.
func (o VoteOption) Valid() bool {
	return o == VoteYes || o == VoteNo || o == VoteAbstain || o == VoteVeto
}

// Proposal is a governance proposal as the ledger keeps it.
type Proposal struct {
	ID       uint64    `json:"id"`
	Proposer AccountID `json:"proposer"`
	// TransferID is the id of the command that made the proposal.
	TransferID string          `json:"transfer_id"`
	Content    ProposalContent `json:"content"`
	Deposit    avt.Amount      `json:"deposit"`
	Status     ProposalStatus  `json:"status"`
	// SubmittedAt, VotingEndsAt: the voting period. ClosedAt, when the tally was taken;
	// ExecutableAt, when a passed proposal's timelock ends; ExecutedAt, when it was executed.
	SubmittedAt  time.Time  `json:"submitted_at"`
	VotingEndsAt time.Time  `json:"voting_ends_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	ExecutableAt *time.Time `json:"executable_at,omitempty"`
	ExecutedAt   *time.Time `json:"executed_at,omitempty"`
	// Tally is the final tally (once closed).
	Tally *Tally `json:"tally,omitempty"`
}

// GovernanceParams are the numbers of governance in the parameter set.
type GovernanceParams struct {
	// Deposit is the least a proposal must deposit.
	Deposit avt.Amount `json:"deposit"`
	// VotingSeconds is the voting period; TimelockSeconds the wait between passing and execution.
	VotingSeconds   int64 `json:"voting_seconds"`
	TimelockSeconds int64 `json:"timelock_seconds"`
	// QuorumBps of the bonded stake must vote; ThresholdBps of the non-abstaining votes must be
	// yes to pass; VetoBps of the votes vetoing burns the deposit. Basis points.
	QuorumBps    uint64 `json:"quorum_bps"`
	ThresholdBps uint64 `json:"threshold_bps"`
	VetoBps      uint64 `json:"veto_bps"`
}

// DefaultGovernanceParams: a deposit of 100 AVT, 7 days of voting, a 1-day timelock, a quorum of
// 20 % of the bonded stake, passing at 66.7 % yes of the non-abstaining votes, a veto at 33.4 %.
func DefaultGovernanceParams() GovernanceParams {
	return GovernanceParams{Deposit: avt.AVT(100), VotingSeconds: 7 * 24 * 3600, TimelockSeconds: 24 * 3600,
		QuorumBps: 2000, ThresholdBps: 6670, VetoBps: 3340}
}

// EffectiveGovernance is the governance part of the set in force: a set written before governance
// existed (no governance field) has the defaults.
func (p *Params) EffectiveGovernance() GovernanceParams {
	if p.Governance == (GovernanceParams{}) {
		return DefaultGovernanceParams()
	}
	return p.Governance
}

// validateGovernance appends the rules the governance numbers break.
func (g *GovernanceParams) validate(bad func(string)) {
	if *g == (GovernanceParams{}) {
		return // the defaults
	}
	if g.Deposit.IsZero() {
		bad("governance.deposit must be greater than zero")
	}
	if g.VotingSeconds < 1 || g.VotingSeconds > 365*24*3600 {
		bad("governance.voting_seconds must be 1 to 31536000 (a year)")
	}
	if g.TimelockSeconds < 0 || g.TimelockSeconds > 365*24*3600 {
		bad("governance.timelock_seconds must be 0 to 31536000 (a year)")
	}
	for _, v := range []struct {
		name string
		bps  uint64
	}{{"quorum_bps", g.QuorumBps}, {"threshold_bps", g.ThresholdBps}, {"veto_bps", g.VetoBps}} {
		if v.bps < 1 || v.bps > fee.BasisPoints {
			bad("governance." + v.name + " must be 1 to 10000")
		}
	}
}

// The errors of governance. Each is refused before anything moves.
var (
	ErrInvalidProposal     = apperr.New(apperr.Invalid, "INVALID_PROPOSAL", "the proposal is malformed")
	ErrDepositTooLow       = apperr.New(apperr.Invalid, "PROPOSAL_DEPOSIT_TOO_LOW", "the deposit is below the minimum deposit")
	ErrParamUnknown        = apperr.New(apperr.Invalid, "PARAM_UNKNOWN", "the parameter set has no such key")
	ErrParamOutOfBounds    = apperr.New(apperr.Invalid, "PARAM_OUT_OF_BOUNDS", "the change takes the parameter set out of its bounds")
	ErrPolicyInvalid       = apperr.New(apperr.Invalid, "POLICY_MODULE_INVALID", "the Rego module does not compile")
	ErrPolicyTestsFailed   = apperr.New(apperr.Invalid, "POLICY_TESTS_FAILED", "the Rego module fails its tests")
	ErrProposalNotFound    = apperr.New(apperr.NotFound, "PROPOSAL_NOT_FOUND", "no such proposal")
	ErrInvalidVote         = apperr.New(apperr.Invalid, "INVALID_VOTE", "option must be yes, no, abstain or veto")
	ErrVotingEnded         = apperr.New(apperr.Conflict, "VOTING_ENDED", "the proposal's voting period has ended")
	ErrVotingNotEnded      = apperr.New(apperr.Conflict, "VOTING_NOT_ENDED", "the proposal's voting period has not ended")
	ErrVoteUnchanged       = apperr.New(apperr.Conflict, "VOTE_UNCHANGED", "the voter has cast this vote already")
	ErrNoVotingPower       = apperr.New(apperr.Forbidden, "NO_VOTING_POWER", "only agents with bonded stake vote")
	ErrProposalNotPassed   = apperr.New(apperr.Conflict, "PROPOSAL_NOT_PASSED", "only a passed proposal is executed")
	ErrAlreadyExecuted     = apperr.New(apperr.Conflict, "PROPOSAL_ALREADY_EXECUTED", "the proposal was executed already")
	ErrTimelock            = apperr.New(apperr.Conflict, "TIMELOCK_NOT_EXPIRED", "the proposal's timelock has not ended")
	ErrProposalMismatch    = apperr.New(apperr.Invalid, "PROPOSAL_MISMATCH", "the command does not execute what the proposal says")
	ErrParamsGoverned      = apperr.New(apperr.Conflict, "PARAMS_GOVERNED", "the parameters change by governance proposals only, once one was made")
	errGovernanceCorrupted = "governance state"
)

// The keys of the governance records.
const (
	keyGovCount    = "gov/count"
	prefixProposal = "gov/prop/"
	prefixVote     = "gov/vote/"
	prefixGovEnd   = "gov/qend/"
	prefixGovExec  = "gov/qexec/"
	keyGovPolicy   = "gov/policy"
)

// GovPolicyKey is the key of the policy modules governance put in force: a JSON object of file
// name → Rego source, which every replica loads into its policy engine.
const GovPolicyKey = keyGovPolicy

// ProposalsPrefix is the prefix of every proposal record (in id order).
const ProposalsPrefix = prefixProposal

// GovEndQueuePrefix and GovExecQueuePrefix are the prefixes of the queues of proposals to close
// and to execute (keys ordered by due time, values the proposal id).
const (
	GovEndQueuePrefix  = prefixGovEnd
	GovExecQueuePrefix = prefixGovExec
)

// ProposalKey is the key of proposal id's record.
func ProposalKey(id uint64) string { return fmt.Sprintf("%s%0*d", prefixProposal, proposalIDWidth, id) }

// VotesPrefix is the prefix of proposal id's votes (keys end with the voter).
func VotesPrefix(id uint64) string { return fmt.Sprintf("%s%0*d/", prefixVote, proposalIDWidth, id) }

func voteKey(id uint64, voter AccountID) string { return VotesPrefix(id) + string(voter) }

func govQueueKey(prefix string, at time.Time, id uint64) string {
	return fmt.Sprintf("%s%020d/%0*d", prefix, at.UnixMicro(), proposalIDWidth, id)
}

// QueueDue parses a governance queue key: its due time (µs) and proposal id.
func QueueDue(prefix, key string) (int64, uint64, error) {
	rest := strings.TrimPrefix(key, prefix)
	at, id, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, apperr.Internalf("%s: queue key %s", errGovernanceCorrupted, key)
	}
	t, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseUint(id, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, apperr.Internalf("%s: queue key %s", errGovernanceCorrupted, key)
	}
	return t, n, nil
}

// DecodeProposal decodes a proposal record.
func DecodeProposal(text string) (*Proposal, error) {
	return decodeRecord[Proposal]("proposal", text)
}

// DecodePolicyModules decodes the record of the policy modules governance put in force.
func DecodePolicyModules(text string) (map[string]string, error) {
	if text == "" {
		return map[string]string{}, nil
	}
	m, err := decodeRecord[map[string]string]("policy modules", text)
	if err != nil {
		return nil, err
	}
	return *m, nil
}

// isGovKind reports whether k is a governance command.
func isGovKind(k Kind) bool {
	return k == KindGovPropose || k == KindGovVote || k == KindGovClose || k == KindGovPolicy
}

// executesProposal reports whether a command of kind k naming a proposal executes it.
func executesProposal(k Kind) bool {
	return k == KindParams || k == KindMint || k == KindGrant || k == KindGovPolicy
}

// executionKind is the command kind that executes a proposal of kind k.
func executionKind(k ProposalKind) Kind {
	switch k {
	case ProposalParams:
		return KindParams
	case ProposalMint:
		return KindMint
	case ProposalSpend:
		return KindGrant
	default:
		return KindGovPolicy
	}
}

// ExecutionCommand is the command that executes the passed proposal p, with the id given.
func ExecutionCommand(p *Proposal, id string) Command {
	c := Command{Kind: executionKind(p.Content.Kind), ID: id, Gov: &GovArgs{Proposal: p.ID}}
	switch p.Content.Kind {
	case ProposalMint:
		c.Amount, c.Message = p.Content.Amount, truncateMessage(p.Content.Reason)
	case ProposalSpend:
		c.To, c.Amount, c.Message = p.Content.To, p.Content.Amount, truncateMessage(p.Content.Reason)
	}
	return c
}

func truncateMessage(s string) string {
	if len(s) <= MaxMessageBytes {
		return s
	}
	s = s[:MaxMessageBytes]
	for len(s) > 0 && !isRuneStart(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	if len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// moduleName is what a proposed policy module may be called.
var moduleName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}\.rego$`)

// Validate checks the content's shape; the parts that depend on the ledger's state (the
// parameter change against the set in force) are checked when the proposal is applied, and a
// policy module's compilation and tests by the service before it is submitted.
func (c *ProposalContent) Validate() error {
	bad := func(field, problem string) error {
		return ErrInvalidProposal.With("field", field).With("problems", []string{problem})
	}
	if c.Title == "" || len(c.Title) > maxTitleBytes {
		return bad("title", "title must be 1 to 200 bytes")
	}
	if len(c.Description) > maxDescBytes {
		return bad("description", "description must be at most 8192 bytes")
	}
	if len(c.Reason) > maxReasonBytes {
		return bad("reason", "reason must be at most 256 bytes")
	}
	extra := func(fields map[string]bool) error {
		present := map[string]bool{"changes": len(c.Changes) > 0, "module": c.Module != "", "rego": c.Rego != "", "tests": c.Tests != "",
			"to": c.To != "", "amount": !c.Amount.IsZero()}
		for f, ok := range present {
			if ok && !fields[f] {
				return bad(f, fmt.Sprintf("a %s proposal takes no %s", c.Kind, f))
			}
		}
		return nil
	}
	switch c.Kind {
	case ProposalParams:
		if len(c.Changes) == 0 || len(c.Changes) > maxParamChanges {
			return bad("changes", "a parameter change names 1 to 64 keys")
		}
		return extra(map[string]bool{"changes": true})
	case ProposalPolicy:
		if !moduleName.MatchString(c.Module) || strings.HasSuffix(c.Module, "_test.rego") {
			return bad("module", "module must be a file name like governance_rules.rego (lower case, not *_test.rego)")
		}
		if c.Rego == "" || len(c.Rego) > MaxPolicyModule || len(c.Tests) > MaxPolicyModule {
			return bad("rego", "rego must be 1 to 65536 bytes, and so must tests")
		}
		if c.Tests == "" {
			return ErrPolicyTestsFailed.With("field", "tests").With("problems", []string{"a policy module comes with its Rego tests (test_* rules)"})
		}
		return extra(map[string]bool{"module": true, "rego": true, "tests": true})
	case ProposalSpend:
		if err := ValidateAgentAccount(c.To); err != nil {
			return bad("to", "to must be an agent's wallet")
		}
		fallthrough
	case ProposalMint:
		if c.Amount.IsZero() {
			return ErrZeroAmount.With("field", "amount")
		}
		if c.Kind == ProposalMint {
			return extra(map[string]bool{"amount": true})
		}
		return extra(map[string]bool{"amount": true, "to": true})
	}
	return bad("kind", "kind must be param_change, policy_module, treasury_spend or mint")
}

// ApplyChanges returns p with the changes (dotted key → JSON value) made, as version
// p.Version+1. An unknown key is PARAM_UNKNOWN; a value of the wrong type, or a set that breaks
// a rule, PARAM_OUT_OF_BOUNDS with the problems.
func ApplyChanges(p Params, changes map[string]json.RawMessage) (Params, error) {
	p.Governance = p.EffectiveGovernance()
	p.Reputation = p.EffectiveReputation()
	p.Disputes = p.DisputeRules()
	p.Attestations = p.EffectiveAttestations()
	p.Tiers = p.EffectiveTiers()
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader([]byte(p.Encode())))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return Params{}, apperr.Internalf("parameter set: %w", err)
	}
	for key, raw := range changes {
		parts := strings.Split(key, ".")
		if key == "" || parts[0] == "version" {
			return Params{}, ErrParamUnknown.With("field", "changes").With("key", key)
		}
		obj := doc
		for i, part := range parts {
			cur, ok := obj[part]
			if !ok {
				return Params{}, ErrParamUnknown.With("field", "changes").With("key", key)
			}
			if i == len(parts)-1 {
				if _, isObj := cur.(map[string]any); isObj {
					return Params{}, ErrParamUnknown.With("field", "changes").With("key", key).
						With("problems", []string{key + " is a group of parameters: name one of its keys"})
				}
				var v any
				vd := json.NewDecoder(bytes.NewReader(raw))
				vd.UseNumber()
				if err := vd.Decode(&v); err != nil {
					return Params{}, ErrParamOutOfBounds.With("field", "changes").With("key", key).With("problems", []string{key + ": not a JSON value"})
				}
				obj[part] = v
				break
			}
			next, isObj := cur.(map[string]any)
			if !isObj {
				return Params{}, ErrParamUnknown.With("field", "changes").With("key", key)
			}
			obj = next
		}
	}
	text, err := json.Marshal(doc)
	if err != nil {
		return Params{}, ErrParamOutOfBounds.With("field", "changes").With("problems", []string{err.Error()})
	}
	next, err := ParseParams(string(text))
	if err != nil {
		return Params{}, ErrParamOutOfBounds.With("field", "changes").With("problems", []string{"a value does not fit its parameter: " + err.Error()})
	}
	if err := next.Validate(); err != nil {
		out := ErrParamOutOfBounds.With("field", "changes")
		if ae, ok := apperr.As(err); ok {
			for k, v := range ae.Details {
				out = out.With(k, v)
			}
		}
		return Params{}, out
	}
	next.Version = p.versionOrOne() + 1
	if len(next.Encode()) > MaxParamsBytes {
		return Params{}, ErrParamOutOfBounds.With("field", "changes").With("max_bytes", MaxParamsBytes)
	}
	return next, nil
}

// validateGov checks a governance command's shape (the state checks come when it is applied).
func validateGov(c *Command) error {
	g := c.Gov
	if g == nil {
		return ErrInvalidProposal.With("field", "gov")
	}
	switch c.Kind {
	case KindGovPropose:
		if c.From == "" || c.From.IsSystem() {
			return ErrSystemAccount.With("field", "from")
		}
		if g.Content == nil {
			return ErrInvalidProposal.With("field", "content")
		}
		if c.Amount.IsZero() {
			return ErrDepositTooLow.With("field", "deposit")
		}
		return g.Content.Validate()
	case KindGovVote:
		if c.From == "" || c.From.IsSystem() {
			return ErrSystemAccount.With("field", "from")
		}
		if !g.Option.Valid() {
			return ErrInvalidVote.With("field", "option")
		}
	}
	if g.Proposal == 0 {
		return ErrProposalNotFound.With("field", "proposal")
	}
	return nil
}

// appendCanonical appends the canonical encoding of a governance command's arguments.
func (g *GovArgs) appendCanonical(b []byte) []byte {
	return appendStr(b, encodeRecord(g))
}
