package teg

import (
	"cmp"
	"fmt"
	"strconv"

	"github.com/sovereign-stack/sovereign/avt"
)

// Verifier replays the event log: it checks the hash chain and the sequence, applies every
// posting to balances rebuilt from nothing (no balance may go negative), and at the end compares
// them with the stored balances and checks the supply: minted − burned = Σ balances outside the
// burn sink. Feed it the events in order with Add, then call Check with the stored accounts.
type Verifier struct {
	head     Head
	balances map[AccountID]*Account
	status   map[AccountID]AccountStatus
	minted   avt.Amount
	events   uint64
	err      error
	// params is the text of the parameter set the last params event put in force ("" before the
	// first), version its version (1: the configured set).
	params  string
	version int
	// state is the keyed state (staking records) the events' data rebuilt.
	state map[string]string
}

// NewVerifier returns a verifier at the start of the log.
func NewVerifier() *Verifier {
	return &Verifier{head: Head{Hash: GenesisHash}, balances: map[AccountID]*Account{}, status: map[AccountID]AccountStatus{}, version: 1, state: map[string]string{}}
}

// Add checks and applies the next event. After the first discrepancy it returns that error for
// every later call.
func (v *Verifier) Add(e Event) error {
	if v.err != nil {
		return v.err
	}
	v.err = v.add(e)
	return v.err
}

func (v *Verifier) add(e Event) error {
	if e.Seq != v.head.Seq+1 {
		return fmt.Errorf("event %d: sequence gap or reorder (expected %d)", e.Seq, v.head.Seq+1)
	}
	if e.PrevHash != v.head.Hash {
		return fmt.Errorf("event %d: prev_hash %.16s… does not match the hash of event %d (%.16s…)", e.Seq, e.PrevHash, v.head.Seq, v.head.Hash)
	}
	if h := e.ComputeHash(); h != e.Hash {
		return fmt.Errorf("event %d: hash %.16s… does not match its content (%.16s…): the event was altered", e.Seq, e.Hash, h)
	}
	var debits, credits avt.Amount
	for _, p := range e.Postings {
		a := v.balances[p.Account]
		if a == nil {
			a = &Account{ID: p.Account}
			v.balances[p.Account] = a
		}
		cur := a.part(p.Part)
		var ok bool
		if p.Debit {
			if *cur, ok = cur.Sub(p.Amount); !ok {
				return fmt.Errorf("event %d: %s %s would go negative", e.Seq, p.Account, p.Part)
			}
			if debits, ok = debits.Add(p.Amount); !ok {
				return fmt.Errorf("event %d: its debits overflow the amount range", e.Seq)
			}
		} else {
			if *cur, ok = cur.Add(p.Amount); !ok {
				return fmt.Errorf("event %d: %s %s overflows the amount range", e.Seq, p.Account, p.Part)
			}
			if credits, ok = credits.Add(p.Amount); !ok {
				return fmt.Errorf("event %d: its credits overflow the amount range", e.Seq)
			}
		}
	}
	if e.Kind == KindStatus {
		st := AccountStatus(e.Data["status"])
		if !st.Valid() || e.Data["account"] == "" {
			return fmt.Errorf("event %d: a status event without a valid account and status", e.Seq)
		}
		v.status[AccountID(e.Data["account"])] = st
	}
	for _, sc := range e.StateChanges() {
		if sc.Value == "" {
			delete(v.state, sc.Key)
		} else {
			v.state[sc.Key] = sc.Value
		}
	}
	if e.Kind == KindParams {
		if err := v.addParams(e); err != nil {
			return err
		}
	}
	if e.Kind == KindMint {
		if !debits.IsZero() {
			return fmt.Errorf("event %d: a mint debits an account", e.Seq)
		}
		var ok bool
		if v.minted, ok = v.minted.Add(credits); !ok {
			return fmt.Errorf("event %d: the AVT minted overflows the amount range", e.Seq)
		}
	} else if debits != credits {
		return fmt.Errorf("event %d: debits %s ≠ credits %s", e.Seq, debits, credits)
	}
	v.head = Head{Seq: e.Seq, Hash: e.Hash, Minted: v.minted, Params: v.params}
	v.events++
	return nil
}

// addParams checks a params event: no postings, a valid set whose version is the next one,
// which the data's version repeats, and a supply bound not below the AVT minted so far.
func (v *Verifier) addParams(e Event) error {
	if len(e.Postings) != 0 {
		return fmt.Errorf("event %d: a params event moves value", e.Seq)
	}
	p, err := ParseParams(e.Data["params"])
	if err != nil {
		return fmt.Errorf("event %d: its parameter set does not decode: %w", e.Seq, err)
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("event %d: its parameter set is invalid: %w", e.Seq, err)
	}
	if p.Version != v.version+1 || e.Data["version"] != strconv.Itoa(p.Version) {
		return fmt.Errorf("event %d: parameter version %d (data says %q) does not follow version %d", e.Seq, p.Version, e.Data["version"], v.version)
	}
	if p.Encode() != e.Data["params"] {
		return fmt.Errorf("event %d: its parameter set is not in canonical form", e.Seq)
	}
	if p.MaxSupply.Cmp(v.minted) < 0 {
		return fmt.Errorf("event %d: max_supply %s is below the AVT minted so far (%s)", e.Seq, p.MaxSupply, v.minted)
	}
	v.params, v.version = e.Data["params"], p.Version
	return nil
}

// Report is the outcome of a verification.
type Report struct {
	Events   uint64
	Accounts int
	Head     Head
	Minted   avt.Amount
	Burned   avt.Amount
	Supply   avt.Amount
	// ParamsVersion is the version of the parameter set in force at the head.
	ParamsVersion int
	// StateRecords counts the keyed-state (staking) records CheckState compared.
	StateRecords int
}

// Check compares the replayed balances with the stored accounts and checks the supply. head is
// the stored head of the log (what the store says the last event is).
func (v *Verifier) Check(stored []Account, head Head) (Report, error) {
	if v.err != nil {
		return Report{}, v.err
	}
	if head.Seq != v.head.Seq || (head.Seq > 0 && head.Hash != v.head.Hash) {
		return Report{}, fmt.Errorf("stored head %d/%.16s… differs from the replayed head %d/%.16s…", head.Seq, head.Hash, v.head.Seq, v.head.Hash)
	}
	if head.Params != v.params {
		return Report{}, fmt.Errorf("stored head: the parameter set in force differs from the one the log's last params event set (version %d)", v.version)
	}
	if head.Minted != v.minted {
		return Report{}, fmt.Errorf("stored head: minted %s, the log mints %s", head.Minted, v.minted)
	}
	seen := map[AccountID]bool{}
	var supply, burned avt.Amount
	for _, s := range stored {
		seen[s.ID] = true
		r := v.balances[s.ID]
		if r == nil {
			r = &Account{ID: s.ID}
		}
		for _, p := range []Part{Liquid, Locked, Staked, Unbonding} {
			if *r.part(p) != *s.part(p) {
				return Report{}, fmt.Errorf("account %s %s: stored %s, replayed %s", s.ID, p, s.part(p), r.part(p))
			}
		}
		if want := cmp.Or(v.status[s.ID], AccountActive); s.StatusOrActive() != want {
			return Report{}, fmt.Errorf("account %s: status stored %s, the log says %s", s.ID, s.StatusOrActive(), want)
		}
		total, ok := s.CheckedTotal()
		if !ok {
			return Report{}, fmt.Errorf("account %s: its balances overflow the amount range", s.ID)
		}
		if s.ID == Burn {
			burned = total
		} else if supply, ok = supply.Add(total); !ok {
			return Report{}, fmt.Errorf("supply: the sum of balances overflows the amount range (at account %s)", s.ID)
		}
	}
	for id, r := range v.balances {
		if t, ok := r.CheckedTotal(); !seen[id] && (!ok || !t.IsZero()) {
			return Report{}, fmt.Errorf("account %s: replayed balance %s but no stored account", id, r.Total())
		}
	}
	if want, ok := v.minted.Sub(burned); !ok || want != supply {
		return Report{}, fmt.Errorf("supply: minted %s − burned %s ≠ Σ balances %s", v.minted, burned, supply)
	}
	return Report{Events: v.events, Accounts: len(stored), Head: v.head, Minted: v.minted, Burned: burned, Supply: supply, ParamsVersion: v.version}, nil
}

// CheckState compares the keyed state (the staking records) rebuilt from the log with the stored
// one, and checks that the records account for the staking system accounts to the base unit
// (CheckStaking). Call it after Check succeeded.
func (v *Verifier) CheckState(stored []StateEntry) error {
	if v.err != nil {
		return v.err
	}
	seen := make(map[string]bool, len(stored))
	for _, e := range stored {
		seen[e.Key] = true
		if want, ok := v.state[e.Key]; !ok {
			return fmt.Errorf("staking record %s is stored but no event wrote it", e.Key)
		} else if want != e.Value {
			return fmt.Errorf("staking record %s: stored %s, the log says %s", e.Key, e.Value, want)
		}
	}
	for k := range v.state {
		if !seen[k] {
			return fmt.Errorf("staking record %s: written by the log but not stored", k)
		}
	}
	liquid := func(id AccountID) avt.Amount {
		if a := v.balances[id]; a != nil {
			return a.Liquid
		}
		return avt.Amount{}
	}
	if err := CheckGovernance(stored, liquid); err != nil {
		return err
	}
	if err := CheckStaking(stored, liquid); err != nil {
		return err
	}
	return CheckDisputes(stored, liquid)
}
