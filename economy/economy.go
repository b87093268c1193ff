// Package economy runs the whole economy in simulated time on a store of its own: the ledger
// (tegsql) with its staking, dispute and governance schedulers, the token service with the
// policy, reputation (repsql) and the auditor (auditorsql) — the services the server wires,
// wired in one process the same way, under a clock the simulation moves. Agents onboard,
// pay for tasks and rate them, stake and delegate (some become validators), a ring of agents
// washes trades among itself, the auditor flags it, the flag is escalated to a dispute a panel
// rules on, governance lowers the fee, vetoes a proposal and pays a grant; at the end the log
// verifies and the supply is what was minted less what was burnt.
//
// It is the domain of `sovereign sim economy` and of its end-to-end test.
package economy

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/attestation"
	"github.com/sovereign-stack/sovereign/attestation/attestsql"
	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/auditor/auditorsql"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/reputation/repsql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// Config is one run: how many agents, over how many simulated days, from which seed, on which
// store (a DSN whose database the run migrates; it should be fresh).
type Config struct {
	Agents int
	Days   int
	Seed   uint64
	DSN    string
	// TasksADay is how many paid tasks each agent buys a day.
	TasksADay int
	// Out receives the figures along the way (nil: none).
	Out io.Writer
}

// MinAgents and MinDays are the smallest run: validators for a panel and quorum, a ring, and
// days enough for a dispute (evidence, commit, reveal, appeal) and a proposal (voting,
// timelock) after the ring is caught.
const (
	MinAgents = 20
	MinDays   = 20
)

// DefaultConfig is a run of 50 agents over 30 days.
func DefaultConfig(seed uint64) Config {
	return Config{Agents: 50, Days: 30, Seed: seed, TasksADay: 2}
}

// Result is what a run saw: counts, and each step of the scenario's evidence.
type Result struct {
	Agents, Days, Validators int
	Transfers                int // agents' paid transfers applied (the ring's included)
	Ratings                  int
	Attestations             int // peer attestations stored (and their rewards paid)
	Disputes                 int
	Proposals                int
	Flags                    int // auditor flags raised
	RingFlags                int // of which on the ring's members

	// The ring and what happened to it.
	Ring            []string
	RingFlag        auditor.Flag // the CIRCULAR_FLOW flag escalated
	Dispute         teg.Dispute  // the dispute it became, as closed
	Respondent      string
	StakeBefore     avt.Amount // the respondent's own stake before and after the ruling
	StakeAfter      avt.Amount
	TierBefore      string // its tier before the dispute and after the ruling
	TierAfter       string
	ScoreBefore     int
	ScoreAfter      int
	LimitAfter      avt.Amount // its per-transfer limit after the drop
	DeniedCode      string     // the code a transfer over that limit was refused with
	AllowedBefore   bool       // the same amount went through before the drop
	OverLimitAmount avt.Amount

	// Governance.
	FeeBefore, FeeAfter uint64     // fee.rate_bps before and after the fee proposal executed
	FeePaid             avt.Amount // the fee the first transfer after it paid
	FeeExpected         avt.Amount // that fee as the new rate computes it
	FeeProposal         teg.Proposal
	VetoProposal        teg.Proposal
	VetoBurnt           avt.Amount // what the veto burnt (the deposit)
	SpendProposal       teg.Proposal
	GrantReceived       avt.Amount // what the grantee's wallet gained by the spend

	// The end.
	Report         teg.Report
	SupplyConserve bool
	Verified       bool
	Elapsed        time.Duration
}

// Line is the result's last line.
func (r *Result) Line() string {
	return fmt.Sprintf("agents=%d days=%d transfers=%d disputes=%d proposals=%d flags=%d supply_conserved=%t verified=%t",
		r.Agents, r.Days, r.Transfers, r.Disputes, r.Proposals, r.Flags, r.SupplyConserve, r.Verified)
}

// sim is one run's state.
type sim struct {
	cfg   Config
	ctx   context.Context
	rng   *rand.Rand
	clock time.Time
	out   io.Writer

	db       *store.DB
	ledger   *tegsql.Ledger
	tokens   *teg.Service
	rep      *reputation.Service
	aud      *auditor.Service
	consumer *auditor.Consumer
	attest   *attestation.Service
	keys     map[teg.AccountID]ed25519.PrivateKey
	staking  *teg.Scheduler
	disputes *teg.DisputeScheduler

	validators, honest, ring []teg.AccountID
	quality                  map[teg.AccountID]float64
	admin                    policy.Subject
	res                      Result
	seq                      int
	voted                    map[string]bool // the panel's commits and reveals done
}

// Start is the simulated clock's first instant.
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *sim) now() time.Time { return s.clock }

func (s *sim) advance(d time.Duration) { s.clock = s.clock.Add(d) }

func (s *sim) printf(format string, args ...any) {
	if s.out != nil {
		fmt.Fprintf(s.out, format, args...)
	}
}

func agentSubject(id teg.AccountID) policy.Subject {
	return policy.Subject{Kind: policy.KindAgent, ID: string(id), AuthMethod: policy.AuthJWTSVID}
}

func (s *sim) key(what string) string {
	s.seq++
	return fmt.Sprintf("sim-%s-%d", what, s.seq)
}

// Run runs the simulation of cfg and returns what it saw. It fails when a step of the scenario
// does not happen as it must (the ring not flagged, the panel not ruling, …).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Agents < MinAgents || cfg.Days < MinDays {
		return nil, fmt.Errorf("economy: need at least %d agents and %d days", MinAgents, MinDays)
	}
	if cfg.TasksADay <= 0 {
		cfg.TasksADay = DefaultConfig(0).TasksADay
	}
	began := time.Now()
	db, err := store.Open(ctx, cfg.DSN)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	s := &sim{cfg: cfg, ctx: ctx, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)), clock: Start, out: cfg.Out, db: db,
		quality: map[teg.AccountID]float64{}, voted: map[string]bool{},
		admin: policy.Subject{Kind: policy.KindDeveloper, ID: "dev_sim_admin", Roles: []string{policy.RoleAdmin}, AuthMethod: policy.AuthSession}}
	s.res.Agents, s.res.Days = cfg.Agents, cfg.Days
	if err := s.wire(); err != nil {
		return nil, err
	}
	defer s.ledger.Close()
	if err := s.run(); err != nil {
		return &s.res, err
	}
	s.res.Elapsed = time.Since(began)
	return &s.res, nil
}

// wire builds the services as the server does (server/server.go, reputation.go, disputes.go,
// auditor.go, governance.go), on the simulated clock.
func (s *sim) wire() error {
	engine := policy.New()
	s.ledger = tegsql.Open(s.db, teg.DefaultParams(), s.now)
	s.tokens = &teg.Service{Store: s.ledger, Authz: engine, LargeTransfer: teg.DefaultLargeTransfer}
	s.rep = &reputation.Service{Store: repsql.New(s.db), Ledger: s.ledger, Staking: reputation.LedgerStaking{Service: s.tokens}, Authz: engine, Now: s.now}
	s.tokens.Scores = s.rep.ScoreOf
	s.rep.DisputesLost = s.tokens.DisputesLost
	s.aud = &auditor.Service{Store: auditorsql.New(s.db), Authz: engine, Now: s.now, Disputes: auditor.LedgerDisputes{Tokens: s.tokens}}
	s.rep.Flags = s.aud
	s.consumer = &auditor.Consumer{Service: s.aud, Log: s.ledger, Limits: auditor.ReputationLimits{Ledger: s.ledger, Reputation: s.rep},
		Ratings: repsql.New(s.db), Transfers: s.ledger, Holder: "sim", Now: s.now}
	st := attestsql.New(s.db)
	s.rep.Attestations = st
	s.keys = map[teg.AccountID]ed25519.PrivateKey{}
	s.attest = &attestation.Service{Store: st, Ledger: s.ledger, Treasury: &teg.ServiceWallets{Service: s.tokens, As: s.admin},
		Directory: simAgents{s}, Authz: engine, Now: s.now}
	s.staking = &teg.Scheduler{Store: s.ledger, Now: s.now}
	s.disputes = &teg.DisputeScheduler{Store: s.ledger, Now: s.now, Candidates: s.tokens.ArbitratorCandidates}
	return nil
}

// tick runs what the server runs in the background, once, at the simulated now: staking
// epochs and releases, dispute deadlines, proposal ends and timelocks, the auditor's consumer.
func (s *sim) tick() error {
	if _, _, err := s.staking.RunDue(s.ctx); err != nil {
		return fmt.Errorf("staking scheduler: %w", err)
	}
	if _, err := s.disputes.RunDue(s.ctx); err != nil {
		return fmt.Errorf("dispute scheduler: %w", err)
	}
	if _, _, failed, err := s.staking.RunGovernance(s.ctx); err != nil || len(failed) > 0 {
		return fmt.Errorf("governance scheduler: %v %v", err, failed)
	}
	for {
		r, err := s.consumer.Step(s.ctx)
		if err != nil {
			return fmt.Errorf("auditor: %w", err)
		}
		s.res.Flags += r.Flags
		if r.Events == 0 {
			return nil
		}
	}
}

// pass is the reputation pass the server runs on its schedule.
func (s *sim) pass() error {
	_, err := s.rep.RunPass(s.ctx)
	return err
}

func (s *sim) run() error {
	if err := s.onboard(); err != nil {
		return fmt.Errorf("onboard: %w", err)
	}
	days := s.cfg.Days
	// The scenario's calendar: the ring washes on days 3–4; proposals are made on day 5
	// (voting 7 days, timelock 1) and the fee checked once executed; the ring's flag is escalated
	// on day 6, the dispute closes about 9 days later (evidence 3, commit 2, reveal 1, appeal 2)
	// and the drop is checked the day it closed.
	var (
		ringDays            = []int{3, 4}
		escalateDay         = 6
		proposeDay          = 5
		disputeID           string
		ruled, govDone      bool
		feeChecked, limited bool
		err                 error
	)
	for day := 1; day <= days; day++ {
		dayStart := s.clock
		if err := s.trade(day, dayStart); err != nil {
			return fmt.Errorf("day %d: %w", day, err)
		}
		if slices.Contains(ringDays, day) {
			if err := s.wash(day); err != nil {
				return fmt.Errorf("day %d wash: %w", day, err)
			}
		}
		if err := s.tick(); err != nil {
			return err
		}
		if day == escalateDay {
			id, err := s.escalate()
			if err != nil {
				return fmt.Errorf("day %d escalate: %w", day, err)
			}
			disputeID = id
		}
		if day == proposeDay {
			if err := s.propose(); err != nil {
				return fmt.Errorf("day %d proposals: %w", day, err)
			}
		}
		if ruled, err = s.arbitrateUnless(ruled, disputeID); err != nil {
			return fmt.Errorf("day %d dispute: %w", day, err)
		}
		if ruled && !limited {
			if err := s.pass(); err != nil {
				return err
			}
			if err := s.checkDrop(); err != nil {
				return fmt.Errorf("day %d tier drop: %w", day, err)
			}
			limited = true
		}
		if !govDone {
			done, err := s.checkGovernance()
			if err != nil {
				return fmt.Errorf("day %d governance: %w", day, err)
			}
			govDone = done
		}
		if govDone && !feeChecked {
			if err := s.checkFee(); err != nil {
				return fmt.Errorf("day %d fee: %w", day, err)
			}
			feeChecked = true
		}
		s.clock = dayStart.Add(24 * time.Hour)
		if err := s.tick(); err != nil {
			return err
		}
		if err := s.pass(); err != nil {
			return err
		}
		if ruled, err = s.arbitrateUnless(ruled, disputeID); err != nil {
			return fmt.Errorf("day %d dispute: %w", day, err)
		}
		s.printf("day %2d: transfers=%d ratings=%d attestations=%d flags=%d disputes=%d proposals=%d\n", day, s.res.Transfers, s.res.Ratings, s.res.Attestations, s.res.Flags, s.res.Disputes, s.res.Proposals)
	}
	switch {
	case !ruled || !limited:
		return errors.New("the ring's dispute was not closed within the run: give it more days")
	case !feeChecked:
		return errors.New("the fee proposal was not executed within the run: give it more days")
	}
	return s.finish()
}

// onboard mints the genesis supply, opens every agent's wallet with its grant, makes the first
// tenth of the agents validators, has the others delegate or stake, and the ring stake.
func (s *sim) onboard() error {
	ctx := s.ctx
	if _, _, err := s.tokens.Genesis(ctx, avt.AVT(100_000_000)); err != nil {
		return err
	}
	n := s.cfg.Agents
	nv := max(5, n/10)
	for i := range n {
		id := teg.AccountID(fmt.Sprintf("agt_sim_%03d", i))
		switch {
		case i < nv:
			s.validators = append(s.validators, id)
		case i < nv+3:
			s.ring = append(s.ring, id)
		default:
			s.honest = append(s.honest, id)
		}
		s.quality[id] = 0.6 + 0.4*s.rng.Float64()
		var seed [ed25519.SeedSize]byte
		for j := range seed {
			seed[j] = byte(s.rng.Uint32())
		}
		s.keys[id] = ed25519.NewKeyFromSeed(seed[:])
	}
	for _, id := range s.ring {
		s.res.Ring = append(s.res.Ring, string(id))
	}
	s.res.Validators = nv
	grant := func(id teg.AccountID, amount uint64) error {
		if _, err := s.tokens.OpenAccount(ctx, s.admin, id, "open-"+string(id)); err != nil {
			return err
		}
		_, _, err := s.tokens.Grant(ctx, s.admin, id, avt.AVT(amount), "onboarding grant", "grant-"+string(id))
		return err
	}
	for _, id := range s.validators {
		if err := grant(id, 80_000); err != nil {
			return err
		}
		commission := uint64(500)
		if _, _, err := s.tokens.CreateValidator(ctx, agentSubject(id), id, avt.AVT(60_000), &commission, "validator-"+string(id)); err != nil {
			return fmt.Errorf("create validator %s: %w", id, err)
		}
	}
	for _, id := range s.ring {
		if err := grant(id, 5_000); err != nil {
			return err
		}
		if _, _, err := s.tokens.Stake(ctx, agentSubject(id), teg.StakeRequest{Agent: id, Validator: s.validators[s.rng.IntN(nv)], Amount: avt.AVT(2_000)}, "stake-"+string(id)); err != nil {
			return fmt.Errorf("ring stake %s: %w", id, err)
		}
	}
	for i, id := range s.honest {
		if err := grant(id, 2_000); err != nil {
			return err
		}
		if i%2 == 0 { // every other honest agent delegates
			if _, _, err := s.tokens.Stake(ctx, agentSubject(id), teg.StakeRequest{Agent: id, Validator: s.validators[i%nv], Amount: avt.AVT(200)}, "stake-"+string(id)); err != nil {
				return fmt.Errorf("delegate %s: %w", id, err)
			}
		}
	}
	if err := s.pass(); err != nil {
		return err
	}
	s.printf("onboarded %d agents: %d validators (60,000 AVT self-stake each), ring %v, %d honest\n", n, nv, s.ring, len(s.honest))
	return nil
}

// trade is a day of paid tasks: every agent buys TasksADay tasks from random providers (the
// ring's members sell honest work too), paying 5–40 AVT, and rates each by the provider's
// quality. Transfers are spread over the day.
func (s *sim) trade(day int, dayStart time.Time) error {
	// The validators, the established providers, buy more and are bought from more: half of
	// every buyer's tasks go to one of them.
	var buyers []teg.AccountID
	for range s.cfg.TasksADay {
		buyers = append(buyers, s.validators...)
		buyers = append(buyers, s.validators...)
		buyers = append(buyers, s.validators...)
		buyers = append(buyers, s.ring...)
		buyers = append(buyers, s.honest...)
	}
	sellers := slices.Concat(s.validators, s.ring, s.honest)
	tasks := len(buyers)
	step := 20 * time.Hour / time.Duration(tasks+1)
	providers := map[teg.AccountID]teg.AccountID{} // a buyer's last provider of the day, well rated
	for k := range tasks {
		buyer := buyers[k]
		seller := sellers[s.rng.IntN(len(sellers))]
		if s.rng.IntN(2) == 0 {
			seller = s.validators[s.rng.IntN(len(s.validators))]
		}
		if seller == buyer {
			continue
		}
		s.advance(step)
		amount := avt.AVT(uint64(5 + s.rng.IntN(36)))
		t, _, err := s.tokens.Transfer(s.ctx, agentSubject(buyer), teg.TransferRequest{To: seller, Amount: amount, Message: "task"}, s.key("task"))
		if err != nil {
			if apperr.KindOf(err) == apperr.Forbidden || errors.Is(err, teg.ErrInsufficient) || apperr.CodeOf(err) == teg.ErrInsufficient.Code {
				continue // over a limit or out of money: the buyer skips this task
			}
			return fmt.Errorf("task %s→%s: %w", buyer, seller, err)
		}
		s.res.Transfers++
		stars := 1
		if s.rng.Float64() < s.quality[seller] {
			stars = 4 + s.rng.IntN(2)
			providers[buyer] = seller
		}
		if _, err := s.rep.Rate(s.ctx, agentSubject(buyer), reputation.RateRequest{Ratee: string(seller), InteractionID: t.ID, Stars: stars}); err != nil {
			return fmt.Errorf("rate: %w", err)
		}
		s.res.Ratings++
	}
	// The day's attestations at the same hour every day (an attester's next one of a kind is
	// due 24 hours after the last).
	s.clock = dayStart.Add(21 * time.Hour)
	return s.attestDay(day, providers)
}

// simAgents is the registry's agent directory as attestations read it: every agent of the run
// active, each its own developer's, with its Ed25519 key.
type simAgents struct{ s *sim }

func (d simAgents) Agent(_ context.Context, id string) (attestation.Agent, bool, error) {
	k, ok := d.s.keys[teg.AccountID(id)]
	if !ok {
		return attestation.Agent{}, false, nil
	}
	return attestation.Agent{ID: id, DeveloperID: "dev_" + id, PublicKey: k.Public().(ed25519.PublicKey), Status: "active"}, true, nil
}

// attestDay is a day of peer attestations: each validator reviews every other validator's code,
// and each honest agent vouches for the data quality of one provider of the day.
func (s *sim) attestDay(day int, providers map[teg.AccountID]teg.AccountID) error {
	submit := func(typ string, attester, subject teg.AccountID) error {
		st := attestation.Statement{Type: typ, Subject: string(subject), Attester: string(attester),
			EvidenceHash: fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%s/%d", typ, attester, subject, day)))),
			EvidenceURI:  fmt.Sprintf("https://evidence.example/%s/%s/%d", subject, typ, day), IssuedAt: s.clock.Truncate(time.Second)}
		_, err := s.attest.Submit(s.ctx, agentSubject(attester), attestation.Submission{Statement: st, Signature: attestation.SignEd25519(st, string(attester), s.keys[attester])})
		if err != nil {
			return fmt.Errorf("attestation %s of %s by %s: %w", typ, subject, attester, err)
		}
		s.res.Attestations++
		return nil
	}
	for _, a := range s.validators {
		for _, b := range s.validators {
			if a != b {
				if err := submit(attestation.TypeCodeReview, a, b); err != nil {
					return err
				}
			}
		}
	}
	for _, a := range s.honest {
		if p, ok := providers[a]; ok && !slices.Contains(s.validators, p) {
			if err := submit(attestation.TypeDataQuality, a, p); err != nil && apperr.KindOf(err) != apperr.TooManyRequests {
				return err // a provider attested the most a day allows is left for another day
			}
		}
	}
	return nil
}

// wash is the ring's wash trades: value round the ring (each member passes on what it got,
// less the fee) within minutes, then 5-star ratings of each other.
func (s *sim) wash(day int) error {
	for round := range 3 {
		amount := avt.AVT(60)
		for i, from := range s.ring {
			to := s.ring[(i+1)%len(s.ring)]
			s.advance(time.Minute)
			t, _, err := s.tokens.Transfer(s.ctx, agentSubject(from), teg.TransferRequest{To: to, Amount: amount, Message: "wash"}, s.key("wash"))
			if err != nil {
				return fmt.Errorf("wash %d %s→%s: %w", round, from, to, err)
			}
			s.res.Transfers++
			if _, err := s.rep.Rate(s.ctx, agentSubject(from), reputation.RateRequest{Ratee: string(to), InteractionID: t.ID, Stars: 5}); err != nil {
				return fmt.Errorf("rate: %w", err)
			}
			s.res.Ratings++
			amount = amount.MulDivFloor(99, 100)
		}
	}
	s.printf("day %2d: the ring %v washed 3 rounds of value among itself\n", day, s.ring)
	return nil
}

// escalate finds the auditor's CIRCULAR_FLOW flag on the ring and escalates it to a dispute
// (as an admin, through the auditor's review), recording the respondent's standing first.
func (s *sim) escalate() (string, error) {
	flags, err := s.aud.Flags(s.ctx, s.admin, auditor.FlagQuery{Rule: auditor.CircularFlow, Limit: 100})
	if err != nil {
		return "", err
	}
	var flag *auditor.Flag
	for i := range flags {
		if slices.Contains(s.res.Ring, flags[i].Subject) {
			flag = &flags[i]
			break
		}
	}
	if flag == nil {
		return "", fmt.Errorf("the auditor raised no CIRCULAR_FLOW flag on the ring (%d flags of the rule)", len(flags))
	}
	resp := teg.AccountID(flag.Subject)
	s.res.Respondent = flag.Subject
	sc, tier, err := s.rep.Current(s.ctx, flag.Subject)
	if err != nil {
		return "", err
	}
	s.res.ScoreBefore, s.res.TierBefore = sc.Score, tier.Name
	if s.res.StakeBefore, err = s.ownStake(resp); err != nil {
		return "", err
	}
	// Over the limit it will have: the next tier down's per-transfer limit, plus one.
	p, err := s.ledger.Params(s.ctx)
	if err != nil {
		return "", err
	}
	tiers := p.EffectiveTiers()
	i := slices.IndexFunc(tiers, func(t teg.Tier) bool { return t.Name == tier.Name })
	if i <= 0 {
		return "", fmt.Errorf("the ring's member %s is %s (score %d): it has no tier to drop from", resp, tier.Name, sc.Score)
	}
	s.res.OverLimitAmount, _ = tiers[i-1].PerTransfer.Add(avt.AVT(1))
	// Before the drop the amount is within its limit.
	if _, _, err := s.tokens.Transfer(s.ctx, agentSubject(resp), teg.TransferRequest{To: s.honest[0], Amount: s.res.OverLimitAmount, Message: "before"}, s.key("before")); err == nil {
		s.res.AllowedBefore = true
		s.res.Transfers++
	} else {
		return "", fmt.Errorf("a transfer of %s within %s's limit: %w", s.res.OverLimitAmount, resp, err)
	}
	f, err := s.aud.Escalate(s.ctx, s.admin, flag.ID, auditor.ToDispute, "wash trading: value round the ring")
	if err != nil {
		return "", err
	}
	s.res.RingFlag = f
	s.res.Disputes++
	var vs []string
	for _, v := range s.validators {
		sc, tier, err := s.rep.Current(s.ctx, string(v))
		if err != nil {
			return "", err
		}
		vs = append(vs, fmt.Sprintf("%s %d (%s)", v, sc.Score, tier.Name))
	}
	s.printf("validators, the panel's candidates: %s\n", strings.Join(vs, ", "))
	// The respondent answers with its evidence (a dispute nobody gives evidence in expires).
	if _, _, err := s.tokens.SubmitEvidence(s.ctx, agentSubject(resp), resp, f.DisputeID, teg.EvidenceInput{Text: "these were paid tasks"}, s.key("evidence")); err != nil {
		return "", fmt.Errorf("evidence: %w", err)
	}
	s.printf("auditor: %s %s on %s (%s) escalated to dispute %s; %s is %s with score %d and %s AVT own stake\n",
		f.Rule, f.ID, f.Subject, f.Detail, f.DisputeID, resp, tier.Name, sc.Score, s.res.StakeBefore)
	return f.DisputeID, nil
}

// ownStake is an agent's own bonded stake (its delegations).
func (s *sim) ownStake(a teg.AccountID) (avt.Amount, error) {
	sum, err := s.tokens.StakingOfUnchecked(s.ctx, a)
	return sum.Staked, err
}

func (s *sim) dispute(id string) (*teg.Dispute, error) {
	text, ok, err := s.ledger.State(s.ctx, teg.DisputeKey(id))
	if err != nil || !ok {
		return nil, fmt.Errorf("dispute %s: found %t: %v", id, ok, err)
	}
	return teg.DecodeDispute(text)
}

// arbitrateUnless arbitrates dispute id unless it has no id yet or ruled already.
func (s *sim) arbitrateUnless(ruled bool, id string) (bool, error) {
	if id == "" || ruled {
		return ruled, nil
	}
	return s.arbitrate(id)
}

// arbitrate moves the dispute along as its panel would: once drawn, the panelists commit a
// vote for the filer (the flag's evidence holds), reveal it when the commit phase ends; the
// scheduler tallies, and the ruling closes when no one appeals. It says when it closed.
func (s *sim) arbitrate(id string) (bool, error) {
	d, err := s.dispute(id)
	if err != nil {
		return false, err
	}
	switch d.State {
	case teg.DisputeOpen, teg.DisputeEvidence, teg.DisputeRuled:
		return false, nil
	case teg.DisputeClosed:
		s.res.Dispute = *d
		if s.res.StakeAfter, err = s.ownStake(teg.AccountID(s.res.Respondent)); err != nil {
			return false, err
		}
		s.printf("dispute %s closed: winner %s, loser %s; the loser's own stake %s → %s AVT\n", d.ID, d.Winner, d.Loser, s.res.StakeBefore, s.res.StakeAfter)
		return true, nil
	case teg.DisputeArbitration:
	default:
		return false, fmt.Errorf("dispute %s is %s", id, d.State)
	}
	r := d.Round()
	for _, a := range r.Panel {
		k := fmt.Sprintf("%s/%d/%s", id, r.Number, a)
		salt := "salt-" + k
		switch {
		case s.clock.Before(r.CommitDeadline) && !s.voted[k+"/commit"]:
			if _, _, err := s.tokens.CommitVote(s.ctx, agentSubject(a), a, id, teg.CommitmentOf(id, a, teg.SideFiler, salt), "commit-"+k); err != nil {
				return false, fmt.Errorf("commit of %s: %w", a, err)
			}
			s.voted[k+"/commit"] = true
			s.printf("dispute %s: panelist %s commits its vote\n", id, a)
		case !s.clock.Before(r.CommitDeadline) && s.clock.Before(r.RevealDeadline) && s.voted[k+"/commit"] && !s.voted[k+"/reveal"]:
			if _, _, err := s.tokens.RevealVote(s.ctx, agentSubject(a), a, id, teg.SideFiler, salt, "reveal-"+k); err != nil {
				return false, fmt.Errorf("reveal of %s: %w", a, err)
			}
			s.voted[k+"/reveal"] = true
			s.printf("dispute %s: panelist %s reveals %q\n", id, a, teg.SideFiler)
		}
	}
	return false, nil
}

// checkDrop records the respondent's standing after the ruling and tries a transfer over its
// new limit.
func (s *sim) checkDrop() error {
	resp := s.res.Respondent
	sc, tier, err := s.rep.Current(s.ctx, resp)
	if err != nil {
		return err
	}
	s.res.ScoreAfter, s.res.TierAfter, s.res.LimitAfter = sc.Score, tier.Name, tier.PerTransfer
	_, _, err = s.tokens.Transfer(s.ctx, agentSubject(teg.AccountID(resp)), teg.TransferRequest{To: s.honest[0], Amount: s.res.OverLimitAmount, Message: "over the limit"}, s.key("over"))
	if err == nil {
		return fmt.Errorf("%s (%s, score %d) sent %s AVT over its limit %s", resp, tier.Name, sc.Score, s.res.OverLimitAmount, tier.PerTransfer)
	}
	s.res.DeniedCode = apperr.CodeOf(err)
	s.printf("%s: score %d → %d, tier %s → %s; a transfer of %s AVT (limit %s) refused: %s\n",
		resp, s.res.ScoreBefore, sc.Score, s.res.TierBefore, tier.Name, s.res.OverLimitAmount, tier.PerTransfer, s.res.DeniedCode)
	return nil
}

// propose makes the run's three proposals, each by a validator (Trusted, with stake): lower the
// fee by half, a mint the validators veto, and a treasury spend that pays a grant. The
// validators vote; their delegators inherit their votes.
func (s *sim) propose() error {
	p, err := s.ledger.Params(s.ctx)
	if err != nil {
		return err
	}
	s.res.FeeBefore = p.Fee.RateBps
	newRate := max(p.Fee.RateBps/2, 1)
	grantee := s.honest[1]
	props := []struct {
		by      teg.AccountID
		content teg.ProposalContent
		vote    teg.VoteOption
		into    *teg.Proposal
	}{
		{s.validators[0], teg.ProposalContent{Kind: teg.ProposalParams, Title: "halve the transfer fee",
			Changes: map[string]json.RawMessage{"fee.rate_bps": json.RawMessage(fmt.Sprint(newRate))}}, teg.VoteYes, &s.res.FeeProposal},
		{s.validators[1], teg.ProposalContent{Kind: teg.ProposalMint, Title: "mint a million for the proposer's friends",
			Amount: avt.AVT(1_000_000), Reason: "no good reason"}, teg.VoteVeto, &s.res.VetoProposal},
		{s.validators[2], teg.ProposalContent{Kind: teg.ProposalSpend, Title: "tooling grant", To: grantee,
			Amount: avt.AVT(500), Reason: "open-source tooling"}, teg.VoteYes, &s.res.SpendProposal},
	}
	for _, pr := range props {
		got, _, err := s.tokens.Propose(s.ctx, agentSubject(pr.by), teg.ProposeRequest{Content: pr.content}, s.key("propose"))
		if err != nil {
			return fmt.Errorf("propose %q by %s: %w", pr.content.Title, pr.by, err)
		}
		*pr.into = got
		s.res.Proposals++
		for _, v := range s.validators {
			if _, _, err := s.tokens.Vote(s.ctx, agentSubject(v), got.ID, pr.vote, s.key("vote")); err != nil {
				return fmt.Errorf("vote of %s on %d: %w", v, got.ID, err)
			}
		}
		s.printf("governance: proposal %d %q by %s (deposit %s AVT); the validators vote %s\n", got.ID, got.Content.Title, pr.by, got.Deposit, pr.vote)
	}
	return nil
}

// checkGovernance reads the proposals; once each has its final status it records them and says
// so.
func (s *sim) checkGovernance() (bool, error) {
	if s.res.FeeProposal.ID == 0 {
		return false, nil
	}
	done := true
	for _, p := range []*teg.Proposal{&s.res.FeeProposal, &s.res.VetoProposal, &s.res.SpendProposal} {
		got, err := s.tokens.ProposalUnchecked(s.ctx, p.ID)
		if err != nil {
			return false, err
		}
		*p = got
		if got.Status != teg.StatusExecuted && got.Status != teg.StatusVetoed && got.Status != teg.StatusRejected {
			done = false
		}
	}
	if done {
		for _, p := range []*teg.Proposal{&s.res.FeeProposal, &s.res.VetoProposal, &s.res.SpendProposal} {
			s.printf("governance: proposal %d %q is %s\n", p.ID, p.Content.Title, p.Status)
		}
	}
	return done, nil
}

// checkFee pays one transfer after the fee change executed and records its fee.
func (s *sim) checkFee() error {
	p, err := s.ledger.Params(s.ctx)
	if err != nil {
		return err
	}
	s.res.FeeAfter = p.Fee.RateBps
	amount := avt.AVT(80)
	s.res.FeeExpected = p.Fee.Compute(amount)
	t, _, err := s.tokens.Transfer(s.ctx, agentSubject(s.honest[2]), teg.TransferRequest{To: s.honest[3], Amount: amount, Message: "after the fee change"}, s.key("fee"))
	if err != nil {
		return err
	}
	s.res.Transfers++
	s.res.FeePaid = t.Fee
	s.printf("fee: %d → %d bps; a transfer of %s AVT paid %s AVT\n", s.res.FeeBefore, s.res.FeeAfter, amount, t.Fee)
	return nil
}

// finish reads the log's evidence of the veto's burn and of the grant, then verifies the log.
func (s *sim) finish() error {
	grantee := s.res.SpendProposal.Content.To
	for after := uint64(0); ; {
		ts, err := s.ledger.TransfersAfter(s.ctx, after, 4096)
		if err != nil {
			return err
		}
		if len(ts) == 0 {
			break
		}
		for _, t := range ts {
			switch {
			case t.Kind == teg.KindGovClose && t.From == teg.GovDeposits && t.To == teg.Burn:
				s.res.VetoBurnt, _ = s.res.VetoBurnt.Add(t.Amount)
			}
		}
		after = ts[len(ts)-1].Seq
	}
	flags, err := s.aud.Flags(s.ctx, s.admin, auditor.FlagQuery{Limit: 1000})
	if err != nil {
		return err
	}
	byRule := map[auditor.Rule]int{}
	for _, f := range flags {
		byRule[f.Rule]++
		if slices.Contains(s.res.Ring, f.Subject) {
			s.res.RingFlags++
		}
	}
	var rules []string
	for _, r := range auditor.Rules {
		if byRule[r] > 0 {
			rules = append(rules, fmt.Sprintf("%s=%d", r, byRule[r]))
		}
	}
	s.printf("auditor flags: %s (%d on the ring)\n", strings.Join(rules, " "), s.res.RingFlags)
	// The spend's execution: the scheduler's command, of a fixed id.
	t, ok, err := s.ledger.Transfer(s.ctx, fmt.Sprintf("gov-exec:%d", s.res.SpendProposal.ID))
	if err != nil {
		return err
	}
	if ok && t.To == grantee {
		s.res.GrantReceived = t.Amount
	}
	rep, err := s.ledger.Verify(s.ctx)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	s.res.Report, s.res.Verified = rep, true
	want, ok := rep.Minted.Sub(rep.Burned)
	s.res.SupplyConserve = ok && rep.Supply == want
	s.printf("verify: %d events, minted %s, burned %s, supply %s AVT (the veto burnt %s, the spend paid %s to %s)\n",
		rep.Events, rep.Minted, rep.Burned, rep.Supply, s.res.VetoBurnt, s.res.GrantReceived, grantee)
	return nil
}
