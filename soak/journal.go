package soak

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/sovereign-stack/sovereign/avt"
)

// Transfer is a transfer the TEG acknowledged: the client's idempotency key, the ledger's
// transfer id, and what moved (From pays Amount plus Fee).
type Transfer struct {
	Key, ID  string
	From, To string
	Amount   avt.Amount
	Fee      avt.Amount
}

// Card is a card publish a registry acknowledged.
type Card struct {
	Registry, ID string
}

// Payment is a paid A2A task whose answer said its hold was posted to the payee.
type Payment struct {
	PendingID    string
	Payer, Payee string
	Amount       avt.Amount
}

// Journal is the load generator's record of every acknowledged write. Safe for concurrent use.
type Journal struct {
	mu        sync.Mutex
	transfers []Transfer
	cards     []Card
	payments  []Payment
}

// Transfer journals an acknowledged transfer.
func (j *Journal) Transfer(t Transfer) {
	j.mu.Lock()
	j.transfers = append(j.transfers, t)
	j.mu.Unlock()
}

// Card journals an acknowledged card publish.
func (j *Journal) Card(c Card) { j.mu.Lock(); j.cards = append(j.cards, c); j.mu.Unlock() }

// Payment journals a paid task whose hold was posted.
func (j *Journal) Payment(p Payment) { j.mu.Lock(); j.payments = append(j.payments, p); j.mu.Unlock() }

// Cards returns the journaled card publishes.
func (j *Journal) Cards() []Card { j.mu.Lock(); defer j.mu.Unlock(); return slices.Clone(j.cards) }

// Counts returns how many transfers, cards and payments are journaled.
func (j *Journal) Counts() (transfers, cards, payments int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.transfers), len(j.cards), len(j.payments)
}

// Entry is a transfer as the ledger holds it (an account's history).
type Entry struct {
	ID, Kind, From, To, PendingID string
	Amount, Fee                   avt.Amount
}

// Stores is what the stores hold at the end of a run, read by the soak command.
type Stores struct {
	// Entries are the ledger transfers involving the transfer accounts and the payees (the
	// union of their histories; the same id may appear more than once).
	Entries []Entry
	// Accounts are the accounts only the journaled transfers move: their balances must be
	// Initial plus what the journal says.
	Accounts []string
	// Initial and Final are the total balances of Accounts before the load and at the end.
	Initial, Final map[string]avt.Amount
	// Cards says, for each journaled card ("registry/id"), whether its registry has it.
	Cards map[string]bool
}

// CardKey is the key of c in Stores.Cards.
func CardKey(c Card) string { return c.Registry + "/" + c.ID }

// Check is the result of checking the journal against the stores.
type Check struct {
	Transfers, Cards, Payments int
	// Problems lists every discrepancy (empty: the check passed).
	Problems []string
}

// OK reports whether the check found nothing.
func (c Check) OK() bool { return len(c.Problems) == 0 }

// maxProblems bounds the problems listed one by one.
const maxProblems = 20

// Check checks the journal against the stores: every acknowledged transfer is in the ledger
// exactly once with what was acknowledged, no transfer between the accounts is there that the
// journal does not hold (a retried write applied twice), each account's balance is its initial
// balance plus the journal's transfers, every acknowledged card is in its registry and every
// posted payment's hold was posted exactly once.
func (j *Journal) Check(s Stores) Check {
	j.mu.Lock()
	transfers := slices.Clone(j.transfers)
	cards := slices.Clone(j.cards)
	payments := slices.Clone(j.payments)
	j.mu.Unlock()
	c := Check{Transfers: len(transfers), Cards: len(cards), Payments: len(payments)}
	more := 0
	problem := func(format string, args ...any) {
		if len(c.Problems) < maxProblems {
			c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
		} else {
			more++
		}
	}
	byID := map[string]Entry{}
	posts := map[string]map[string]bool{} // pending id → ids of the posts of it
	for _, e := range s.Entries {
		if prev, ok := byID[e.ID]; ok && prev != e {
			problem("ledger transfer %s read twice with different contents", e.ID)
		}
		byID[e.ID] = e
		if e.Kind == "post" && e.PendingID != "" {
			if posts[e.PendingID] == nil {
				posts[e.PendingID] = map[string]bool{}
			}
			posts[e.PendingID][e.ID] = true
		}
	}
	inAccounts := map[string]bool{}
	for _, a := range s.Accounts {
		inAccounts[a] = true
	}
	journaled := map[string]bool{}
	keys := map[string]bool{}
	expect := map[string]avt.Amount{}
	for a, v := range s.Initial {
		expect[a] = v
	}
	for _, t := range transfers {
		if keys[t.Key] {
			problem("idempotency key %s journaled twice", t.Key)
		}
		keys[t.Key] = true
		if journaled[t.ID] {
			problem("transfer %s acknowledged for two different keys", t.ID)
		}
		journaled[t.ID] = true
		e, ok := byID[t.ID]
		switch {
		case !ok:
			problem("acknowledged transfer %s (%s → %s, %s AVT) is not in the ledger", t.ID, t.From, t.To, t.Amount)
		case e.Kind != "transfer" || e.From != t.From || e.To != t.To || e.Amount.Cmp(t.Amount) != 0 || e.Fee.Cmp(t.Fee) != 0:
			problem("transfer %s in the ledger (%s %s → %s, %s + fee %s) is not what was acknowledged (%s → %s, %s + fee %s)",
				t.ID, e.Kind, e.From, e.To, e.Amount, e.Fee, t.From, t.To, t.Amount, t.Fee)
		}
		if inAccounts[t.From] {
			out, ok := t.Amount.Add(t.Fee)
			if ok {
				expect[t.From], ok = expect[t.From].Sub(out)
			}
			if !ok {
				problem("balance of %s: the journal spends more than it holds", t.From)
			}
		}
		if inAccounts[t.To] {
			var ok bool
			if expect[t.To], ok = expect[t.To].Add(t.Amount); !ok {
				problem("balance of %s overflows", t.To)
			}
		}
	}
	var extra []string
	for id, e := range byID {
		if e.Kind == "transfer" && inAccounts[e.From] && inAccounts[e.To] && !journaled[id] {
			extra = append(extra, id)
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		e := byID[id]
		problem("ledger transfer %s (%s → %s, %s AVT) was never acknowledged to the load (applied twice?)", id, e.From, e.To, e.Amount)
	}
	for _, a := range s.Accounts {
		got, ok := s.Final[a]
		if !ok {
			problem("no final balance of %s", a)
			continue
		}
		if got.Cmp(expect[a]) != 0 {
			problem("balance of %s is %s AVT; the journal says %s", a, got, expect[a])
		}
	}
	for _, cd := range cards {
		if !s.Cards[CardKey(cd)] {
			problem("acknowledged card %s is not in registry %s", cd.ID, cd.Registry)
		}
	}
	for _, p := range payments {
		switch n := len(posts[p.PendingID]); {
		case n == 0:
			problem("paid task's hold %s (%s → %s) was never posted in the ledger", p.PendingID, p.Payer, p.Payee)
		case n > 1:
			problem("paid task's hold %s was posted %d times", p.PendingID, n)
		}
	}
	if more > 0 {
		c.Problems = append(c.Problems, fmt.Sprintf("… and %d more", more))
	}
	return c
}
