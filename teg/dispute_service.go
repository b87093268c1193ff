package teg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/policy"
)

// DisputeFiling is what an agent files: against Respondent, or about Transfer (a transfer
// between the two; an active pending one is frozen), under Category, with the Claim's text.
type DisputeFiling struct {
	Agent      AccountID
	Respondent AccountID
	Transfer   string
	Category   string
	Claim      string
}

// EvidenceInput is one item of evidence: a hash and URI of a document kept elsewhere, a text,
// or both.
type EvidenceInput struct {
	Hash, URI, Text string
}

// DisputeView is a dispute with what its reader may see of it: the evidence, for the parties,
// the panel and admins.
type DisputeView struct {
	Dispute
	EvidenceItems []Evidence `json:"evidence_items"`
}

// disputeID derives a dispute's id from its filing command's id, so a replayed filing names the
// same dispute.
func disputeID(commandID string) string {
	sum := sha256.Sum256([]byte(commandID))
	return "dsp_" + hex.EncodeToString(sum[:12])
}

// disputeCommand submits a dispute command for the acting agent: the caller must be the agent
// (or an admin), through the policy.
func (s *Service) disputeCommand(ctx context.Context, caller policy.Subject, agent AccountID, c Command, idemKey string) (Transfer, bool, error) {
	if err := ValidateAgentAccount(agent); err != nil {
		return Transfer{}, false, err
	}
	c.From = agent
	if err := validateDispute(&c, maxEvidenceTextBound); err != nil {
		return Transfer{}, false, err
	}
	if err := s.authorize(ctx, caller, policy.ActionDisputeAct, policy.Resource{Kind: "dispute", ID: c.Dispute.Dispute, Owner: string(agent)}, nil); err != nil {
		return Transfer{}, false, err
	}
	return s.submit(ctx, caller, c, idemKey)
}

// withScore is the caller with its reputation as the ledger's scores know it (when they do), so
// the policy decides tier rules on the current score.
func (s *Service) withScore(ctx context.Context, caller policy.Subject) policy.Subject {
	if s.Scores == nil || caller.Kind != policy.KindAgent {
		return caller
	}
	if score, ok := s.Scores(ctx, caller.ID); ok {
		caller.Reputation, caller.Tier = score, ""
		if score == 0 {
			caller.Tier = "Untrusted"
		}
	}
	return caller
}

// FileDispute files a dispute (the agent itself, from tier New, as the policy decides), paying
// the filing fee into the dispute escrow. It returns the dispute.
func (s *Service) FileDispute(ctx context.Context, caller policy.Subject, f DisputeFiling, idemKey string) (*DisputeView, bool, error) {
	if err := s.authorize(ctx, s.withScore(ctx, caller), policy.ActionDisputeFile, policy.Resource{Kind: "dispute", Owner: string(f.Agent)}, nil); err != nil {
		return nil, false, err
	}
	id, fresh, err := commandID(caller, idemKey)
	if err != nil {
		return nil, false, err
	}
	c := Command{Kind: KindDisputeFile, ID: id, Fresh: fresh, To: f.Respondent,
		Dispute: &DisputeArgs{Dispute: disputeID(id), Category: f.Category, Transfer: f.Transfer, Text: f.Claim}}
	c.From = f.Agent
	if err := ValidateAgentAccount(f.Agent); err != nil {
		return nil, false, err
	}
	if err := validateDispute(&c, maxEvidenceTextBound); err != nil {
		return nil, false, err
	}
	if err := s.authorize(ctx, caller, policy.ActionDisputeAct, policy.Resource{Kind: "dispute", Owner: string(f.Agent)}, nil); err != nil {
		return nil, false, err
	}
	_, replayed, err := s.do(ctx, c)
	if err != nil {
		return nil, false, err
	}
	d, err := s.readDispute(ctx, c.Dispute.Dispute, true)
	return d, replayed, err
}

// FileSystemDispute files a dispute in the stack's own name against respondent: the auditor's
// escalation of a flag. The treasury is the filer and pays the filing fee; the claim says what
// was seen (the flag, its rule and evidence). key makes it idempotent (a flag's id: escalating
// twice files once). It has no caller: the escalation was authorized by the auditor's policy
// rule before it is called. The system files no evidence and does not appeal; a panel rules on
// the claim and the respondent's evidence like any other dispute.
func (s *Service) FileSystemDispute(ctx context.Context, respondent AccountID, category, claim, key string) (*DisputeView, bool, error) {
	if err := ValidateAgentAccount(respondent); err != nil {
		return nil, false, err
	}
	if key == "" || len(key) > MaxIdempotencyKey {
		return nil, false, errIdemKey.With("field", "key")
	}
	id := "system-dispute:" + key
	c := Command{Kind: KindDisputeFile, ID: id, From: Treasury, To: respondent,
		Dispute: &DisputeArgs{Dispute: disputeID(id), Category: category, Text: claim}}
	if err := validateDispute(&c, maxEvidenceTextBound); err != nil {
		return nil, false, err
	}
	_, replayed, err := s.do(ctx, c)
	if err != nil {
		return nil, false, err
	}
	d, err := s.readDispute(ctx, c.Dispute.Dispute, true)
	return d, replayed, err
}

// SubmitEvidence adds a party's evidence.
func (s *Service) SubmitEvidence(ctx context.Context, caller policy.Subject, agent AccountID, dispute string, e EvidenceInput, idemKey string) (Transfer, bool, error) {
	return s.disputeCommand(ctx, caller, agent, Command{Kind: KindDisputeEvidence,
		Dispute: &DisputeArgs{Dispute: dispute, Hash: e.Hash, URI: e.URI, Text: e.Text}}, idemKey)
}

// CommitVote records a panelist's commitment (CommitmentOf its vote and a secret salt).
func (s *Service) CommitVote(ctx context.Context, caller policy.Subject, agent AccountID, dispute, commitment, idemKey string) (Transfer, bool, error) {
	return s.disputeCommand(ctx, caller, agent, Command{Kind: KindDisputeCommit,
		Dispute: &DisputeArgs{Dispute: dispute, Commitment: commitment}}, idemKey)
}

// RevealVote reveals a panelist's vote and salt; they must match its commitment.
func (s *Service) RevealVote(ctx context.Context, caller policy.Subject, agent AccountID, dispute, vote, salt, idemKey string) (Transfer, bool, error) {
	return s.disputeCommand(ctx, caller, agent, Command{Kind: KindDisputeReveal,
		Dispute: &DisputeArgs{Dispute: dispute, Vote: vote, Salt: salt}}, idemKey)
}

// Appeal appeals a ruling (the party it went against, once), paying twice the filing fee; a
// panel twice as large is drawn at once.
func (s *Service) Appeal(ctx context.Context, caller policy.Subject, agent AccountID, dispute, idemKey string) (Transfer, bool, error) {
	d, err := s.readDispute(ctx, dispute, false)
	if err != nil {
		return Transfer{}, false, err
	}
	cands, err := s.ArbitratorCandidates(ctx, &d.Dispute)
	if err != nil {
		return Transfer{}, false, err
	}
	return s.disputeCommand(ctx, caller, agent, Command{Kind: KindDisputeAppeal,
		Dispute: &DisputeArgs{Dispute: dispute, Candidates: cands}}, idemKey)
}

// WithdrawDispute withdraws a dispute before arbitration (its filer); the fee goes to the
// treasury and a frozen payment is unfrozen.
func (s *Service) WithdrawDispute(ctx context.Context, caller policy.Subject, agent AccountID, dispute, idemKey string) (Transfer, bool, error) {
	return s.disputeCommand(ctx, caller, agent, Command{Kind: KindDisputeWithdraw, Dispute: &DisputeArgs{Dispute: dispute}}, idemKey)
}

// RejectDispute rejects a dispute before arbitration (admins): the fee goes to the treasury and
// a frozen payment is unfrozen.
func (s *Service) RejectDispute(ctx context.Context, caller policy.Subject, dispute, reason, idemKey string) (Transfer, bool, error) {
	if len(reason) > MaxMessageBytes {
		return Transfer{}, false, ErrMessageTooLong.With("field", "reason").With("max_bytes", MaxMessageBytes)
	}
	c := Command{Kind: KindDisputeReject, Message: reason, Dispute: &DisputeArgs{Dispute: dispute}}
	if err := validateDispute(&c, maxEvidenceTextBound); err != nil {
		return Transfer{}, false, err
	}
	if err := s.authorize(ctx, caller, policy.ActionDisputeReject, policy.Resource{Kind: "dispute", ID: dispute}, nil); err != nil {
		return Transfer{}, false, err
	}
	return s.submit(ctx, caller, c, idemKey)
}

// readDispute reads a dispute and, with evidence, its evidence.
func (s *Service) readDispute(ctx context.Context, id string, evidence bool) (*DisputeView, error) {
	sr, err := s.stateStore()
	if err != nil {
		return nil, err
	}
	if id == "" || strings.ContainsAny(id, "/ ") {
		return nil, ErrDisputeNotFound.With("dispute", id)
	}
	text, ok, err := sr.State(ctx, DisputeKey(id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrDisputeNotFound.With("dispute", id)
	}
	d, err := DecodeDispute(text)
	if err != nil {
		return nil, err
	}
	v := &DisputeView{Dispute: *d, EvidenceItems: []Evidence{}}
	if !evidence {
		return v, nil
	}
	items, err := sr.ScanState(ctx, EvidencePrefix(id), 0)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		e, err := DecodeEvidence(it.Value)
		if err != nil {
			return nil, err
		}
		v.EvidenceItems = append(v.EvidenceItems, *e)
	}
	return v, nil
}

// participant is the caller when it takes part in the dispute (a party or a panelist), else "":
// the owner of the resource the policy decides a read on.
func participant(caller policy.Subject, d *Dispute) string {
	id := AccountID(caller.ID)
	if caller.Kind == policy.KindAgent && (d.Party(id) || d.Panelist(id)) {
		return caller.ID
	}
	return ""
}

// DisputeOf returns a dispute with its evidence: to its parties, its panelists and admins.
// Anyone else is told it does not exist.
func (s *Service) DisputeOf(ctx context.Context, caller policy.Subject, id string) (*DisputeView, error) {
	d, err := s.readDispute(ctx, id, true)
	if err != nil {
		return nil, err
	}
	err = s.authorize(ctx, caller, policy.ActionDisputeRead, policy.Resource{Kind: "dispute", ID: id, Owner: participant(caller, &d.Dispute)}, nil)
	if apperr.KindOf(err) == apperr.Forbidden {
		return nil, ErrDisputeNotFound.With("dispute", id)
	}
	return d, err
}

// Disputes lists the disputes agent takes part in (as a party or a panelist; agent "" for an
// admin: every dispute), newest first, optionally only those in state.
func (s *Service) Disputes(ctx context.Context, caller policy.Subject, agent AccountID, state DisputeState) ([]Dispute, error) {
	if state != "" && state != DisputeClosed && !state.Final() && DisputeTransitions[state] == nil {
		return nil, ErrInvalidDisputeState.With("field", "state").With("state", string(state))
	}
	if err := s.authorize(ctx, caller, policy.ActionDisputeRead, policy.Resource{Kind: "dispute", Owner: string(agent)}, nil); err != nil {
		return nil, err
	}
	sr, err := s.stateStore()
	if err != nil {
		return nil, err
	}
	var keys []string
	if agent == "" {
		all, err := sr.ScanState(ctx, DisputesPrefix, 0)
		if err != nil {
			return nil, err
		}
		for _, e := range all {
			keys = append(keys, e.Key)
		}
	} else {
		mine, err := sr.ScanState(ctx, DisputesOfPrefix(agent), 0)
		if err != nil {
			return nil, err
		}
		for _, e := range mine {
			keys = append(keys, DisputeKey(e.Key[len(DisputesOfPrefix(agent)):]))
		}
	}
	out := []Dispute{}
	for _, k := range keys {
		text, ok, err := sr.State(ctx, k)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		d, err := DecodeDispute(text)
		if err != nil {
			return nil, err
		}
		if state == "" || d.State == state {
			out = append(out, *d)
		}
	}
	slices.SortStableFunc(out, func(a, b Dispute) int { return b.FiledAt.Compare(a.FiledAt) })
	return out, nil
}

// DisputesLost returns, for every agent that lost a dispute, when it lost each: the input of
// the reputation penalty.
func (s *Service) DisputesLost(ctx context.Context) (map[string][]time.Time, error) {
	sr, err := s.stateStore()
	if err != nil {
		return nil, err
	}
	entries, err := sr.ScanState(ctx, DisputesLostPrefix, 0)
	if err != nil {
		return nil, err
	}
	out := map[string][]time.Time{}
	for _, e := range entries {
		// "dspl/<agent>/<µs, 20 digits>/<id>"
		parts := strings.Split(strings.TrimPrefix(e.Key, DisputesLostPrefix), "/")
		if len(parts) != 3 {
			return nil, apperr.Internalf("disputes lost: bad key %s", e.Key)
		}
		us, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return nil, apperr.Internalf("disputes lost: bad key %s", e.Key)
		}
		out[parts[0]] = append(out[parts[0]], time.UnixMicro(us).UTC())
	}
	return out, nil
}

// ArbitratorCandidates lists the agents eligible to arbitrate d: the validators not jailed that
// the policy allows to arbitrate (Verified tier, validator stake), without the parties and —
// with DeveloperOf — the other agents of the parties' developers. The ledger draws the panel
// from them, weighted by stake.
func (s *Service) ArbitratorCandidates(ctx context.Context, d *Dispute) ([]AccountID, error) {
	vals, err := s.Validators(ctx)
	if err != nil {
		return nil, err
	}
	excluded := map[string]bool{}
	if s.DeveloperOf != nil {
		for _, p := range []AccountID{d.Filer, d.Respondent} {
			dev, err := s.DeveloperOf(ctx, string(p))
			if err != nil {
				return nil, err
			}
			if dev != "" {
				excluded[dev] = true
			}
		}
	}
	var out []AccountID
	for _, v := range vals {
		if v.Jailed || d.Party(v.ID) {
			continue
		}
		if len(excluded) > 0 {
			dev, err := s.DeveloperOf(ctx, string(v.ID))
			if err != nil {
				return nil, err
			}
			if excluded[dev] {
				continue
			}
		}
		subj := s.withScore(ctx, policy.Subject{Kind: policy.KindAgent, ID: string(v.ID), Stake: v.SelfStake.String(), Tier: "Untrusted"})
		err := s.authorize(ctx, subj, policy.ActionDisputeArbitrate, policy.Resource{Kind: "dispute", ID: d.ID}, nil)
		if apperr.KindOf(err) == apperr.Forbidden {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v.ID)
	}
	slices.Sort(out)
	return out, nil
}
