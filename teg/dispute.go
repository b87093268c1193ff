package teg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
)

// Disputes live in the ledger's state machine like staking does: filing, evidence, votes,
// appeals and the scheduler's deadline steps are ledger commands, their fees and consequences
// are postings of the same hash-chained log, and a dispute's record is keyed state every event
// carries, so teg verify rebuilds it. The life of a dispute:
//
//	OPEN ──evidence──▶ EVIDENCE ──deadline: panel drawn──▶ ARBITRATION ──deadline: votes tallied──▶ RULED
//	RULED ──appeal (once)──▶ APPEALED ──deadline: votes tallied──▶ RULED ──deadline──▶ CLOSED
//	OPEN or EVIDENCE ──▶ WITHDRAWN (the filer) or REJECTED (an admin)
//	OPEN at the evidence deadline (no evidence), EVIDENCE without enough arbitrators, a vote
//	without a majority ──▶ EXPIRED
//
// A dispute about an active pending transfer freezes it (PendingFrozen): it is neither posted,
// voided nor expired until the dispute ends; then it goes to the winner, or back to active when
// the dispute ends without one.

// DisputeState is where a dispute stands.
type DisputeState string

// The states of a dispute.
const (
	DisputeOpen        DisputeState = "OPEN"
	DisputeEvidence    DisputeState = "EVIDENCE"
	DisputeArbitration DisputeState = "ARBITRATION"
	DisputeRuled       DisputeState = "RULED"
	DisputeAppealed    DisputeState = "APPEALED"
	DisputeClosed      DisputeState = "CLOSED"
	DisputeWithdrawn   DisputeState = "WITHDRAWN"
	DisputeRejected    DisputeState = "REJECTED"
	DisputeExpired     DisputeState = "EXPIRED"
)

// Final reports whether the dispute has ended.
func (s DisputeState) Final() bool {
	switch s {
	case DisputeClosed, DisputeWithdrawn, DisputeRejected, DisputeExpired:
		return true
	}
	return false
}

// DisputeTransitions are the legal transitions of the state machine.
var DisputeTransitions = map[DisputeState][]DisputeState{
	DisputeOpen:        {DisputeEvidence, DisputeWithdrawn, DisputeRejected, DisputeExpired},
	DisputeEvidence:    {DisputeArbitration, DisputeWithdrawn, DisputeRejected, DisputeExpired},
	DisputeArbitration: {DisputeRuled, DisputeExpired},
	DisputeRuled:       {DisputeAppealed, DisputeClosed},
	DisputeAppealed:    {DisputeRuled, DisputeExpired},
}

// LegalTransition reports whether a dispute may go from one state to the other.
func LegalTransition(from, to DisputeState) bool {
	return slices.Contains(DisputeTransitions[from], to)
}

// DisputeCategories are the categories a dispute may be filed under.
var DisputeCategories = []string{"unfair_fee", "failed_service", "reputation_abuse", "contract_violation", "data_integrity", "other"}

// The sides of a ruling (the values of a vote).
const (
	SideFiler      = "filer"
	SideRespondent = "respondent"
)

// The dispute commands (see Command.Dispute for their arguments).
const (
	// KindDisputeFile files a dispute of From against To (or the other party of
	// Dispute.Transfer), paying the filing fee into DisputeEscrow.
	KindDisputeFile Kind = "dispute_file"
	// KindDisputeEvidence adds a party's evidence.
	KindDisputeEvidence Kind = "dispute_evidence"
	// KindDisputeCommit records an arbitrator's committed vote (Dispute.Commitment).
	KindDisputeCommit Kind = "dispute_commit"
	// KindDisputeReveal reveals an arbitrator's vote (Dispute.Vote, Dispute.Salt).
	KindDisputeReveal Kind = "dispute_reveal"
	// KindDisputeAppeal appeals a ruling (the loser, once), paying the appeal fee.
	KindDisputeAppeal Kind = "dispute_appeal"
	// KindDisputeWithdraw withdraws a dispute before arbitration (the filer).
	KindDisputeWithdraw Kind = "dispute_withdraw"
	// KindDisputeReject rejects a dispute before arbitration (an admin).
	KindDisputeReject Kind = "dispute_reject"
	// KindDisputeAdvance takes the step a passed deadline makes due (the scheduler).
	KindDisputeAdvance Kind = "dispute_advance"
)

// isDisputeKind reports whether k is a dispute command.
func isDisputeKind(k Kind) bool {
	switch k {
	case KindDisputeFile, KindDisputeEvidence, KindDisputeCommit, KindDisputeReveal, KindDisputeAppeal,
		KindDisputeWithdraw, KindDisputeReject, KindDisputeAdvance:
		return true
	}
	return false
}

// DisputeArgs are the arguments of a dispute command.
type DisputeArgs struct {
	// Dispute is the dispute's id (for KindDisputeFile, the id it gets).
	Dispute  string `json:"dispute"`
	Category string `json:"category,omitempty"`
	// Transfer is the transfer the dispute is about (file); an active pending one is frozen.
	Transfer string `json:"transfer,omitempty"`
	// Text is the claim (file) or the evidence's text.
	Text string `json:"text,omitempty"`
	// Hash and URI identify evidence kept elsewhere.
	Hash string `json:"hash,omitempty"`
	URI  string `json:"uri,omitempty"`
	// Commitment is CommitmentOf(dispute, arbitrator, vote, salt) (commit); Vote and Salt the
	// revealed vote (reveal).
	Commitment string `json:"commitment,omitempty"`
	Vote       string `json:"vote,omitempty"`
	Salt       string `json:"salt,omitempty"`
	// Candidates are the agents eligible to arbitrate (KindDisputeAppeal, and KindDisputeAdvance
	// out of EVIDENCE): validators the policy allows to arbitrate, the parties and their
	// developers' other agents left out. The ledger draws the panel from them.
	Candidates []AccountID `json:"candidates,omitempty"`
	// From is the state KindDisputeAdvance expects the dispute in.
	From DisputeState `json:"from,omitempty"`
}

func (a *DisputeArgs) appendCanonical(b []byte) []byte {
	if a == nil {
		return appendStr(b, "")
	}
	return appendStr(b, encodeRecord(a))
}

// DisputeParams are the numbers of disputes in the parameter set.
type DisputeParams struct {
	// FilingFee is what filing costs (an appeal costs twice as much).
	FilingFee avt.Amount `json:"filing_fee"`
	// EvidenceSeconds is how long after filing the parties submit evidence.
	EvidenceSeconds int64 `json:"evidence_seconds"`
	// CommitSeconds and RevealSeconds are the phases of a round of votes.
	CommitSeconds int64 `json:"commit_seconds"`
	RevealSeconds int64 `json:"reveal_seconds"`
	// AppealSeconds is how long a ruling may be appealed.
	AppealSeconds int64 `json:"appeal_seconds"`
	// PanelSize is the first round's panel (an appeal's is twice as large).
	PanelSize int `json:"panel_size"`
	// LoserSlashBps and NonVoterSlashBps are the slashes of the loser's stake and of a
	// panelist who did not reveal a vote.
	LoserSlashBps    uint64 `json:"loser_slash_bps"`
	NonVoterSlashBps uint64 `json:"non_voter_slash_bps"`
	// MaxEvidence bounds the evidence items of a dispute; MaxEvidenceText one item's text.
	MaxEvidence     int `json:"max_evidence"`
	MaxEvidenceText int `json:"max_evidence_text"`
}

// DefaultDisputeParams are the dispute defaults: a 10 AVT fee, 3 days of evidence, 2 days to
// commit and 1 to reveal, 2 days to appeal, panels of 3, the loser slashed 5 %, a silent
// arbitrator 1 %, at most 20 items of evidence of 4 KiB of text each.
func DefaultDisputeParams() DisputeParams {
	return DisputeParams{FilingFee: avt.AVT(10), EvidenceSeconds: 3 * 24 * 3600, CommitSeconds: 2 * 24 * 3600, RevealSeconds: 24 * 3600,
		AppealSeconds: 2 * 24 * 3600, PanelSize: 3, LoserSlashBps: 500, NonVoterSlashBps: 100, MaxEvidence: 20, MaxEvidenceText: 4096}
}

// DisputeRules are the dispute parameters in force: Params.Disputes, or the defaults when the
// set has none.
func (p *Params) DisputeRules() DisputeParams {
	if p.Disputes == (DisputeParams{}) {
		return DefaultDisputeParams()
	}
	return p.Disputes
}

// validate appends the problems of a dispute parameter set (none for the zero set: defaults).
func (d *DisputeParams) validate(bad func(string)) {
	if *d == (DisputeParams{}) {
		return
	}
	day := int64(365 * 24 * 3600)
	for _, s := range []int64{d.EvidenceSeconds, d.CommitSeconds, d.RevealSeconds, d.AppealSeconds} {
		if s < 1 || s > day {
			bad("disputes: evidence_seconds, commit_seconds, reveal_seconds and appeal_seconds must be 1 to 31536000")
			break
		}
	}
	if d.FilingFee.IsZero() {
		bad("disputes.filing_fee must be greater than zero")
	}
	if d.PanelSize < 1 || d.PanelSize > 25 {
		bad("disputes.panel_size must be 1 to 25")
	}
	if d.LoserSlashBps > 10000 || d.NonVoterSlashBps > 10000 {
		bad("disputes: loser_slash_bps and non_voter_slash_bps must be at most 10000")
	}
	if d.MaxEvidence < 1 || d.MaxEvidenceText < 1 || d.MaxEvidenceText > 64<<10 {
		bad("disputes: max_evidence must be at least 1, max_evidence_text 1 to 65536")
	}
}

// FeeDeposit is a fee paid into DisputeEscrow for a dispute.
type FeeDeposit struct {
	Payer  AccountID  `json:"payer"`
	Amount avt.Amount `json:"amount"`
}

// Candidate is an agent eligible to arbitrate and its weight in the draw (its validator pool's
// bonded tokens when the panel was drawn).
type Candidate struct {
	ID     AccountID  `json:"id"`
	Weight avt.Amount `json:"weight"`
}

// Vote is a panelist's vote: committed, then revealed.
type Vote struct {
	Arbitrator  AccountID `json:"arbitrator"`
	Commitment  string    `json:"commitment,omitempty"`
	CommittedAt time.Time `json:"committed_at,omitzero"`
	Vote        string    `json:"vote,omitempty"`
	RevealedAt  time.Time `json:"revealed_at,omitzero"`
}

// Round is one vote of a panel: the first, and the appeal's.
type Round struct {
	Number int `json:"number"`
	// Seed, Candidates and Panel are the draw: anyone can re-draw it with DrawPanel.
	Seed           string      `json:"seed"`
	Candidates     []Candidate `json:"candidates"`
	Panel          []AccountID `json:"panel"`
	Votes          []Vote      `json:"votes"`
	CommitDeadline time.Time   `json:"commit_deadline"`
	RevealDeadline time.Time   `json:"reveal_deadline"`
	// Ruling is the side the majority of revealed votes took ("" until tallied, or without a
	// majority); Majority the panelists who voted so; NonVoters those who revealed no vote.
	Ruling    string      `json:"ruling,omitempty"`
	Majority  []AccountID `json:"majority,omitempty"`
	NonVoters []AccountID `json:"non_voters,omitempty"`
}

// Transition is one change of a dispute's state.
type Transition struct {
	From DisputeState `json:"from,omitempty"`
	To   DisputeState `json:"to"`
	At   time.Time    `json:"at"`
}

// Dispute is a dispute's record.
type Dispute struct {
	ID         string       `json:"id"`
	Filer      AccountID    `json:"filer"`
	Respondent AccountID    `json:"respondent"`
	Category   string       `json:"category"`
	Claim      string       `json:"claim"`
	Transfer   string       `json:"transfer,omitempty"`
	Frozen     bool         `json:"frozen,omitempty"`
	State      DisputeState `json:"state"`
	Fees       []FeeDeposit `json:"fees"`
	Evidence   int          `json:"evidence"`
	Rounds     []Round      `json:"rounds,omitempty"`
	// Deadline is when the scheduler takes the next step (zero once final).
	Deadline time.Time `json:"deadline,omitzero"`
	// Winner and Loser are set when the dispute closes with a ruling.
	Winner  AccountID    `json:"winner,omitempty"`
	Loser   AccountID    `json:"loser,omitempty"`
	History []Transition `json:"history"`
	FiledAt time.Time    `json:"filed_at"`
}

// Round returns the current round (nil before arbitration).
func (d *Dispute) Round() *Round {
	if len(d.Rounds) == 0 {
		return nil
	}
	return &d.Rounds[len(d.Rounds)-1]
}

// Party reports whether id is the filer or the respondent.
func (d *Dispute) Party(id AccountID) bool { return id == d.Filer || id == d.Respondent }

// Panelist reports whether id sits on any round's panel.
func (d *Dispute) Panelist(id AccountID) bool {
	for i := range d.Rounds {
		if slices.Contains(d.Rounds[i].Panel, id) {
			return true
		}
	}
	return false
}

// Side returns the party a ruling side names.
func (d *Dispute) Side(side string) AccountID {
	if side == SideFiler {
		return d.Filer
	}
	return d.Respondent
}

// Escrowed is what the dispute holds in DisputeEscrow.
func (d *Dispute) Escrowed() avt.Amount {
	var t avt.Amount
	for _, f := range d.Fees {
		t, _ = t.Add(f.Amount)
	}
	return t
}

// Evidence is one item of a party's evidence.
type Evidence struct {
	Dispute string    `json:"dispute"`
	N       int       `json:"n"`
	Party   AccountID `json:"party"`
	Hash    string    `json:"hash,omitempty"`
	URI     string    `json:"uri,omitempty"`
	Text    string    `json:"text,omitempty"`
	At      time.Time `json:"at"`
}

// The keys of the dispute records.
const (
	prefixDispute      = "dsp/"
	prefixEvidence     = "dspe/"
	prefixDisputeQueue = "dspq/"
	prefixDisputeParty = "dspa/"
	prefixDisputeLost  = "dspl/"
)

// DisputeKey is the key of a dispute's record.
func DisputeKey(id string) string { return prefixDispute + id }

// DisputesPrefix is the prefix of every dispute record.
const DisputesPrefix = prefixDispute

// EvidencePrefix is the prefix of a dispute's evidence, in order.
func EvidencePrefix(id string) string { return prefixEvidence + id + "/" }

// DisputeQueuePrefix is the prefix of the deadline queue: "dspq/<deadline µs, 20 digits>/<id>".
const DisputeQueuePrefix = prefixDisputeQueue

// DisputesOfPrefix is the prefix of the disputes an agent takes part in (as party or panelist).
func DisputesOfPrefix(agent AccountID) string { return prefixDisputeParty + string(agent) + "/" }

// DisputesLostPrefix is the prefix of the record of lost disputes: "dspl/<agent>/<µs>/<id>".
const DisputesLostPrefix = prefixDisputeLost

func evidenceKey(id string, n int) string { return fmt.Sprintf("%s%06d", EvidencePrefix(id), n) }

func disputeQueueKey(at time.Time, id string) string {
	return fmt.Sprintf("%s%020d/%s", prefixDisputeQueue, at.UnixMicro(), id)
}

func disputeLostKey(agent AccountID, at time.Time, id string) string {
	return fmt.Sprintf("%s%s/%020d/%s", prefixDisputeLost, agent, at.UnixMicro(), id)
}

// DecodeDispute decodes a dispute record.
func DecodeDispute(text string) (*Dispute, error) { return decodeRecord[Dispute]("dispute", text) }

// DecodeEvidence decodes an evidence record.
func DecodeEvidence(text string) (*Evidence, error) { return decodeRecord[Evidence]("evidence", text) }

// CommitmentOf is the commitment of a vote: the hex SHA-256 of the dispute id, the arbitrator,
// the vote and the salt, one per line. Binding the dispute and the arbitrator keeps a commitment
// from being copied to another panelist or dispute.
func CommitmentOf(dispute string, arbitrator AccountID, vote, salt string) string {
	sum := sha256.Sum256([]byte(dispute + "\n" + string(arbitrator) + "\n" + vote + "\n" + salt))
	return hex.EncodeToString(sum[:])
}

// PanelSeed is the seed of a round's draw: the SHA-256 of the hash of the event before the one
// that draws it, the dispute id and the round number. Nobody chooses it, and the log records it.
func PanelSeed(prevHash, dispute string, round int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\n%s\n%d", prevHash, dispute, round))
	return hex.EncodeToString(sum[:])
}

// DrawPanel draws n arbitrators from the candidates without replacement, each draw weighted by
// stake: draw i takes the SHA-256 of the seed and i, as a number modulo the remaining weight,
// and picks the candidate whose cumulative weight (in the candidates' order) passes it. The
// same seed and candidates always give the same panel; it returns nil when fewer than n
// candidates have weight.
func DrawPanel(seed string, cands []Candidate, n int) []AccountID {
	left := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		if !c.Weight.IsZero() {
			left = append(left, c)
		}
	}
	if n < 1 || len(left) < n {
		return nil
	}
	panel := make([]AccountID, 0, n)
	for i := 0; i < n; i++ {
		total := new(big.Int)
		for _, c := range left {
			total.Add(total, c.Weight.Big())
		}
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", seed, i))
		r := new(big.Int).Mod(new(big.Int).SetBytes(sum[:]), total)
		acc := new(big.Int)
		for j, c := range left {
			acc.Add(acc, c.Weight.Big())
			if r.Cmp(acc) < 0 {
				panel = append(panel, c.ID)
				left = slices.Delete(left, j, j+1)
				break
			}
		}
	}
	return panel
}

// CheckDraw re-draws a round from its recorded seed and candidates and reports whether the
// panel is the one recorded.
func CheckDraw(r *Round) bool {
	return slices.Equal(DrawPanel(r.Seed, r.Candidates, len(r.Panel)), r.Panel)
}

// The errors of disputes. Each is refused before anything moves.
var (
	ErrDisputeNotFound       = apperr.New(apperr.NotFound, "DISPUTE_NOT_FOUND", "no such dispute")
	ErrDisputeExists         = apperr.New(apperr.Conflict, "DISPUTE_EXISTS", "a dispute with this id exists")
	ErrDisputeSelf           = apperr.New(apperr.Invalid, "DISPUTE_AGAINST_SELF", "an agent cannot file a dispute against itself")
	ErrDisputeCategory       = apperr.New(apperr.Invalid, "INVALID_DISPUTE_CATEGORY", "category must be unfair_fee, failed_service, reputation_abuse, contract_violation, data_integrity or other")
	ErrDisputeNotYourPayment = apperr.New(apperr.Forbidden, "DISPUTE_NOT_YOUR_TRANSFER", "a dispute may only be about a transfer between the filer and the respondent")
	ErrDisputeTransfer       = apperr.New(apperr.NotFound, "DISPUTE_TRANSFER_NOT_FOUND", "no such transfer")
	ErrPendingFrozen         = apperr.New(apperr.Conflict, "PENDING_FROZEN", "a dispute froze the pending transfer: it is settled by the ruling")
	ErrDisputeNotParty       = apperr.New(apperr.Forbidden, "DISPUTE_NOT_PARTY", "only the parties of the dispute may do this")
	ErrDisputeNotFiler       = apperr.New(apperr.Forbidden, "DISPUTE_NOT_FILER", "only the filer may withdraw the dispute")
	ErrDisputeNotPanelist    = apperr.New(apperr.Forbidden, "DISPUTE_NOT_PANELIST", "only the panel of the current round may vote")
	ErrDisputeState          = apperr.New(apperr.Conflict, "DISPUTE_INVALID_STATE", "the dispute's state does not allow this")
	ErrDisputeClosed         = apperr.New(apperr.Conflict, "DISPUTE_CLOSED", "the dispute has ended")
	ErrEvidenceTooLarge      = apperr.New(apperr.Invalid, "EVIDENCE_TOO_LARGE", "the evidence is over the size bound")
	ErrEvidenceEmpty         = apperr.New(apperr.Invalid, "EVIDENCE_EMPTY", "evidence needs a hash, a URI or a text")
	ErrEvidenceLimit         = apperr.New(apperr.Conflict, "EVIDENCE_LIMIT_REACHED", "the dispute holds the most evidence allowed")
	ErrVoteClosed            = apperr.New(apperr.Conflict, "DISPUTE_VOTE_CLOSED", "the deadline of this phase has passed")
	ErrRevealNotOpen         = apperr.New(apperr.Conflict, "DISPUTE_REVEAL_NOT_OPEN", "votes are revealed after the commit deadline")
	ErrAlreadyCommitted      = apperr.New(apperr.Conflict, "DISPUTE_ALREADY_COMMITTED", "the arbitrator committed a vote already")
	ErrNotCommitted          = apperr.New(apperr.Conflict, "DISPUTE_NOT_COMMITTED", "the arbitrator committed no vote")
	ErrAlreadyRevealed       = apperr.New(apperr.Conflict, "DISPUTE_ALREADY_REVEALED", "the arbitrator revealed its vote already")
	ErrRevealMismatch        = apperr.New(apperr.Invalid, "DISPUTE_REVEAL_MISMATCH", "the vote and salt do not match the commitment")
	ErrInvalidDisputeVote    = apperr.New(apperr.Invalid, "INVALID_VOTE", "a dispute vote is \"filer\" or \"respondent\"")
	ErrInvalidCommitment     = apperr.New(apperr.Invalid, "INVALID_COMMITMENT", "a commitment is 64 hex digits")
	ErrAppealUsed            = apperr.New(apperr.Conflict, "DISPUTE_APPEAL_USED", "a dispute is appealed once")
	ErrNotAppellant          = apperr.New(apperr.Forbidden, "DISPUTE_NOT_APPELLANT", "only the party the ruling went against may appeal")
	ErrAppealClosed          = apperr.New(apperr.Conflict, "DISPUTE_APPEAL_CLOSED", "the appeal period has passed")
	ErrPanelUnavailable      = apperr.New(apperr.Conflict, "DISPUTE_PANEL_UNAVAILABLE", "there are not enough eligible arbitrators for the panel")
	ErrInvalidDisputeState   = apperr.New(apperr.Invalid, "INVALID_DISPUTE_STATE", "state must be OPEN, EVIDENCE, ARBITRATION, RULED, APPEALED, CLOSED, WITHDRAWN, REJECTED or EXPIRED")
	ErrDisputeNotDue         = apperr.New(apperr.Conflict, "DISPUTE_NOT_DUE", "the dispute's deadline has not passed")
)

// validateDispute checks a dispute command's shape (the state checks come when it is applied).
func validateDispute(c *Command, maxText int) error {
	a := c.Dispute
	if a == nil || a.Dispute == "" || len(a.Dispute) > MaxIDLen || strings.ContainsAny(a.Dispute, "/ ") {
		return ErrDisputeNotFound.With("field", "dispute")
	}
	needsFrom := c.Kind != KindDisputeAdvance && c.Kind != KindDisputeReject
	// The one system filer: the treasury files the disputes the stack raises itself (the
	// auditor's escalation of a flag, FileSystemDispute); no other system account acts.
	systemFiling := c.Kind == KindDisputeFile && c.From == Treasury
	if needsFrom && (c.From == "" || (c.From.IsSystem() && !systemFiling)) {
		return ErrSystemAccount.With("field", "from")
	}
	switch c.Kind {
	case KindDisputeFile:
		if !slices.Contains(DisputeCategories, a.Category) {
			return ErrDisputeCategory.With("field", "category")
		}
		if c.To == "" && a.Transfer == "" {
			return ErrDisputeNotYourPayment.With("field", "respondent")
		}
		if c.To == c.From {
			return ErrDisputeSelf.With("field", "respondent")
		}
		if c.To.IsSystem() {
			return ErrSystemAccount.With("field", "respondent")
		}
		if len(a.Text) > maxText {
			return ErrEvidenceTooLarge.With("field", "claim").With("max_bytes", maxText)
		}
	case KindDisputeEvidence:
		if a.Hash == "" && a.URI == "" && a.Text == "" {
			return ErrEvidenceEmpty.With("field", "text")
		}
		if len(a.Text) > maxText {
			return ErrEvidenceTooLarge.With("field", "text").With("max_bytes", maxText)
		}
		if len(a.Hash) > 128 || len(a.URI) > 2048 {
			return ErrEvidenceTooLarge.With("field", "uri").With("max_hash", 128).With("max_uri", 2048)
		}
	case KindDisputeCommit:
		if b, err := hex.DecodeString(a.Commitment); err != nil || len(b) != sha256.Size {
			return ErrInvalidCommitment.With("field", "commitment")
		}
	case KindDisputeReveal:
		if a.Vote != SideFiler && a.Vote != SideRespondent {
			return ErrInvalidDisputeVote.With("field", "vote")
		}
		if len(a.Salt) > 256 {
			return ErrEvidenceTooLarge.With("field", "salt").With("max_bytes", 256)
		}
	}
	return nil
}
