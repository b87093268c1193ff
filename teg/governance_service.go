package teg

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
)

// ProposeRequest is a proposal an agent makes: its content and deposit (zero: the minimum).
type ProposeRequest struct {
	Content ProposalContent
	Deposit avt.Amount
}

// moduleChecker is what the service needs of the policy engine to check a proposed module
// (*policy.Engine has it).
type moduleChecker interface {
	CheckModule(ctx context.Context, modules map[string]string, name, src, tests string) (*policy.TestReport, error)
}

// governanceSubject is caller as the governance rules see it: an agent's reputation (Scores)
// and its own bonded stake, which the policy's tier and stake conditions read.
func (s *Service) governanceSubject(ctx context.Context, caller policy.Subject) (policy.Subject, error) {
	if caller.Kind != policy.KindAgent || caller.ID == "" {
		return caller, nil
	}
	if s.Scores != nil {
		if score, ok := s.Scores(ctx, caller.ID); ok {
			if score <= 0 {
				caller.Tier, caller.Reputation = TierUntrusted, 0
			} else {
				caller.Reputation = score
			}
		}
	}
	if _, ok := s.Store.(StateReader); ok && ValidateAgentAccount(AccountID(caller.ID)) == nil {
		sum, _, err := s.stakes(ctx, AccountID(caller.ID))
		if err != nil {
			return policy.Subject{}, err
		}
		caller.Stake = sum.Staked.String()
	}
	return caller, nil
}

func (s *Service) authorizeGov(ctx context.Context, caller policy.Subject, action string, id uint64) error {
	res := policy.Resource{Kind: "proposal"}
	if id > 0 {
		res.ID = strconv.FormatUint(id, 10)
	}
	return s.authorize(ctx, caller, action, res, nil)
}

// Propose makes a proposal for the calling agent, moving its deposit to escrow. The content is
// checked first (a parameter change against the set in force, a policy module compiled and its
// tests run); then the policy decides whether the agent may propose (tier, stake).
func (s *Service) Propose(ctx context.Context, caller policy.Subject, req ProposeRequest, idemKey string) (Proposal, bool, error) {
	c := &req.Content
	if err := c.Validate(); err != nil {
		return Proposal{}, false, err
	}
	params, err := s.Store.Params(ctx)
	if err != nil {
		return Proposal{}, false, err
	}
	switch c.Kind {
	case ProposalParams:
		if _, err := ApplyChanges(params, c.Changes); err != nil {
			return Proposal{}, false, err
		}
	case ProposalPolicy:
		if err := s.checkModule(ctx, c); err != nil {
			return Proposal{}, false, err
		}
	}
	subject, err := s.governanceSubject(ctx, caller)
	if err != nil {
		return Proposal{}, false, err
	}
	if err := s.authorizeGov(ctx, subject, policy.ActionGovernancePropose, 0); err != nil {
		return Proposal{}, false, err
	}
	deposit := req.Deposit
	if deposit.IsZero() {
		deposit = params.EffectiveGovernance().Deposit
	}
	t, replayed, err := s.submit(ctx, caller, Command{Kind: KindGovPropose, From: AccountID(caller.ID), Amount: deposit, Gov: &GovArgs{Content: c}}, idemKey)
	if err != nil {
		return Proposal{}, false, err
	}
	p, err := s.proposalMadeBy(ctx, t.ID)
	return p, replayed, err
}

// proposalMadeBy finds the proposal the command id made (the newest proposals first).
func (s *Service) proposalMadeBy(ctx context.Context, id string) (Proposal, error) {
	sr, err := s.stateStore()
	if err != nil {
		return Proposal{}, err
	}
	text, ok, err := sr.State(ctx, keyGovCount)
	if err != nil || !ok {
		return Proposal{}, apperr.Internalf("%s: no proposal count after a proposal: %v", errGovernanceCorrupted, err)
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return Proposal{}, apperr.Internalf("%s: %w", errGovernanceCorrupted, err)
	}
	for ; n > 0; n-- {
		p, err := s.readProposal(ctx, sr, n)
		if err != nil {
			return Proposal{}, err
		}
		if p.TransferID == id {
			return *p, nil
		}
	}
	return Proposal{}, apperr.Internalf("%s: no proposal made by %s", errGovernanceCorrupted, id)
}

func (s *Service) readProposal(ctx context.Context, sr StateReader, id uint64) (*Proposal, error) {
	text, ok, err := sr.State(ctx, ProposalKey(id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrProposalNotFound.With("proposal", id)
	}
	return DecodeProposal(text)
}

// checkModule compiles a proposed policy module with the policy in force and runs its tests.
func (s *Service) checkModule(ctx context.Context, c *ProposalContent) error {
	checker, ok := s.Authz.(moduleChecker)
	if !ok {
		return apperr.Internalf("the policy engine cannot check policy modules")
	}
	mods, err := s.PolicyModules(ctx)
	if err != nil {
		return err
	}
	rep, err := checker.CheckModule(ctx, mods, c.Module, c.Rego, c.Tests)
	switch {
	case errors.Is(err, policy.ErrModuleCompile):
		return ErrPolicyInvalid.With("field", "rego").With("problems", []string{err.Error()})
	case errors.Is(err, policy.ErrNoTests):
		return ErrPolicyTestsFailed.With("field", "tests").With("problems", []string{"tests define no test_* rule"})
	case err != nil:
		// The tester could not run the tests (a test that does not compile, a timeout).
		return ErrPolicyTestsFailed.With("field", "tests").With("problems", []string{err.Error()})
	case !rep.OK():
		var failed []string
		for _, r := range rep.Results {
			if !r.Pass && !r.Skip {
				failed = append(failed, r.Name+" "+r.FailedAt+r.Error)
			}
		}
		return ErrPolicyTestsFailed.With("field", "tests").With("failed", failed)
	}
	return nil
}

// Vote casts (or changes) the calling agent's vote on a proposal.
func (s *Service) Vote(ctx context.Context, caller policy.Subject, id uint64, option VoteOption, idemKey string) (Transfer, bool, error) {
	if !option.Valid() {
		return Transfer{}, false, ErrInvalidVote.With("field", "option")
	}
	if err := s.authorizeGov(ctx, caller, policy.ActionGovernanceVote, id); err != nil {
		return Transfer{}, false, err
	}
	return s.submit(ctx, caller, Command{Kind: KindGovVote, From: AccountID(caller.ID), Gov: &GovArgs{Proposal: id, Option: option}}, idemKey)
}

// Execute executes a passed proposal whose timelock has ended (the scheduler does it too; the
// proposal is executed once, whoever comes first).
func (s *Service) Execute(ctx context.Context, caller policy.Subject, id uint64, idemKey string) (Transfer, bool, error) {
	if err := s.authorizeGov(ctx, caller, policy.ActionGovernanceExecute, id); err != nil {
		return Transfer{}, false, err
	}
	p, err := s.ProposalUnchecked(ctx, id)
	if err != nil {
		return Transfer{}, false, err
	}
	return s.submit(ctx, caller, ExecutionCommand(&p, ""), idemKey)
}

// ProposalUnchecked reads a proposal without authorization (the ledger's own operations).
func (s *Service) ProposalUnchecked(ctx context.Context, id uint64) (Proposal, error) {
	sr, err := s.stateStore()
	if err != nil {
		return Proposal{}, err
	}
	p, err := s.readProposal(ctx, sr, id)
	if err != nil {
		return Proposal{}, err
	}
	return *p, nil
}

// Proposal reads a proposal (public, as the policy says).
func (s *Service) Proposal(ctx context.Context, caller policy.Subject, id uint64) (Proposal, error) {
	if err := s.authorizeGov(ctx, caller, policy.ActionGovernanceRead, id); err != nil {
		return Proposal{}, err
	}
	return s.ProposalUnchecked(ctx, id)
}

// Proposals lists up to limit proposals with an id below before (0: from the newest), newest
// first, only those of status when it is set (public, as the policy says).
func (s *Service) Proposals(ctx context.Context, caller policy.Subject, status ProposalStatus, before uint64, limit int) ([]Proposal, error) {
	if err := s.authorizeGov(ctx, caller, policy.ActionGovernanceRead, 0); err != nil {
		return nil, err
	}
	sr, err := s.stateStore()
	if err != nil {
		return nil, err
	}
	entries, err := sr.ScanState(ctx, ProposalsPrefix, 0)
	if err != nil {
		return nil, err
	}
	var out []Proposal
	for _, e := range slices.Backward(entries) {
		p, err := DecodeProposal(e.Value)
		if err != nil {
			return nil, err
		}
		if (before != 0 && p.ID >= before) || (status != "" && p.Status != status) {
			continue
		}
		out = append(out, *p)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// Tally is a proposal's tally: live (the bonded stake and votes now, and what they would decide)
// while it is being voted on, the final one after (public, as the policy says).
func (s *Service) Tally(ctx context.Context, caller policy.Subject, id uint64) (Tally, Proposal, error) {
	p, err := s.Proposal(ctx, caller, id)
	if err != nil {
		return Tally{}, Proposal{}, err
	}
	if p.Tally != nil {
		return *p.Tally, p, nil
	}
	sr, err := s.stateStore()
	if err != nil {
		return Tally{}, Proposal{}, err
	}
	params, err := s.Store.Params(ctx)
	if err != nil {
		return Tally{}, Proposal{}, err
	}
	t, err := LiveTally(ctx, sr, id, params.EffectiveGovernance())
	return t, p, err
}

// LiveTally counts proposal id's votes over the bonded stake the store holds now.
func LiveTally(ctx context.Context, sr StateReader, id uint64, gp GovernanceParams) (Tally, error) {
	poolEntries, err := sr.ScanState(ctx, PoolsPrefix, 0)
	if err != nil {
		return Tally{}, err
	}
	pools := make(map[AccountID]*Pool, len(poolEntries))
	for _, e := range poolEntries {
		p, err := DecodePool(e.Value)
		if err != nil {
			return Tally{}, err
		}
		pools[p.ID] = p
	}
	delEntries, err := sr.ScanState(ctx, prefixDelegation, 0)
	if err != nil {
		return Tally{}, err
	}
	dels := make([]*Delegation, 0, len(delEntries))
	for _, e := range delEntries {
		d, err := DecodeDelegation(e.Value)
		if err != nil {
			return Tally{}, err
		}
		dels = append(dels, d)
	}
	votes, err := sr.ScanState(ctx, VotesPrefix(id), 0)
	if err != nil {
		return Tally{}, err
	}
	return CountVotes(pools, dels, votesOf(id, votes), gp), nil
}

// AuthorizeGovernanceRead asks the policy whether caller may read governance's records.
func (s *Service) AuthorizeGovernanceRead(ctx context.Context, caller policy.Subject) error {
	return s.authorizeGov(ctx, caller, policy.ActionGovernanceRead, 0)
}

// PolicyModules are the policy modules governance put in force (file name → Rego source).
func (s *Service) PolicyModules(ctx context.Context) (map[string]string, error) {
	sr, err := s.stateStore()
	if err != nil {
		return nil, err
	}
	return PolicyModulesOf(ctx, sr)
}

// PolicyModulesOf reads the policy modules governance put in force from the ledger's state.
func PolicyModulesOf(ctx context.Context, sr StateReader) (map[string]string, error) {
	text, _, err := sr.State(ctx, GovPolicyKey)
	if err != nil {
		return nil, err
	}
	return DecodePolicyModules(text)
}
