package tegsql_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// propMaxSteps bounds the steps of one rapid check. With rapid's default of 100 checks (20 with
// -short) it keeps the whole property under ~20 s per dialect with -race; raise -rapid.checks or
// this bound for a longer soak.
const propMaxSteps = 16

// propBase is the start of every check's clock; the clock moves only when a step advances it, so
// the SQL ledger and the model see the same times and compute the same hashes.
var propBase = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// TestSQLLedger_Properties runs random sequences of every command kind — transfers (including
// overdrafts), linked and unlinked batches (some failing), pending transfers posted in full or in
// part, voided or expired, mints, burns, grants, opens, replays and reuses of ids, and concurrent
// submissions from several goroutines — against the SQL ledger on a ledger emptied per check, and
// against a model: the pure engine (teg.Ledger.Apply) over an in-memory state. After every step
// the results, the stored head (sequence and hash), and every stored account must equal the
// model's; the supply read back from the database must equal what was minted; and each account's
// locked balance must equal what its active pending transfers hold. At the end of each check the
// stored log verifies (l.Verify), every stored transfer equals the model's, and every fee split in
// the stored events adds up to the fee.
func TestSQLLedger_Properties(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var checks atomic.Int64
		start := time.Now()
		rapid.Check(t, func(rt *rapid.T) {
			checks.Add(1)
			resetDB(rt, db)
			w := newPropWorld(rt, db)
			w.setup()
			for steps := rapid.IntRange(1, propMaxSteps).Draw(rt, "steps"); steps > 0; steps-- {
				w.step()
				w.checkState()
			}
			w.checkEnd()
		})
		t.Logf("%s: %d checks in %v", db.Dialect(), checks.Load(), time.Since(start).Round(time.Millisecond))
	})
}

// resetDB empties the ledger's tables, so every check starts from a fresh ledger and depends on
// nothing an earlier check did (rapid replays a failing input to shrink it, which needs that).
// Measured with -race on SQLite: a new migrated database per check costs ~80–120 ms (half the
// time of a check), emptying the tables a few milliseconds; giving each check a unique id prefix
// on a shared ledger instead would let the checks interact through the system accounts (the
// treasury's balance decides which grants succeed).
func resetDB(rt *rapid.T, db *store.DB) {
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM teg_events`, `DELETE FROM teg_pending`, `DELETE FROM teg_accounts`, `DELETE FROM teg_params`, `DELETE FROM teg_state`,
			`UPDATE teg_head SET seq = 0, hash = '` + teg.GenesisHash + `', minted = NULL, params = '' WHERE id = 1`} {
			if _, err := tx.ExecContext(context.Background(), q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		rt.Fatalf("reset: %v", err)
	}
}

// model is the in-memory state the pure engine runs against: the reference the SQL ledger must
// agree with.
type model struct {
	accounts  map[teg.AccountID]teg.Account
	transfers map[string]teg.Transfer
	head      teg.Head
}

func (m *model) Account(_ context.Context, id teg.AccountID) (teg.Account, error) {
	a, ok := m.accounts[id]
	if !ok {
		return teg.Account{}, teg.ErrAccountNotFound.With("account", string(id))
	}
	return a, nil
}

func (m *model) Transfer(_ context.Context, id string) (teg.Transfer, bool, error) {
	t, ok := m.transfers[id]
	return t, ok, nil
}

// propRequest is one Submit: its commands, whether linked, and what the SQL ledger answered.
type propRequest struct {
	cmds    []teg.Command
	linked  bool
	results []teg.Result
	err     error
}

// propWorld is one check: the emptied database, a new SQL ledger on it, the model, and what the
// generator knows (accounts, pending ids, applied commands to replay).
type propWorld struct {
	rt     *rapid.T
	ctx    context.Context
	db     *store.DB
	l      *tegsql.Ledger
	engine *teg.Ledger
	m      *model
	clock  *atomic.Int64 // nanoseconds after propBase
	// minted is Σ of the mints the SQL ledger applied, from its own results.
	minted   avt.Amount
	n        int
	agents   []teg.AccountID
	pendings []string
	applied  []teg.Command
}

func newPropWorld(rt *rapid.T, db *store.DB) *propWorld {
	clock := new(atomic.Int64)
	now := func() time.Time { return propBase.Add(time.Duration(clock.Load())) }
	l := tegsql.Open(db, teg.DefaultParams(), now)
	rt.Cleanup(l.Close) // the writer stops before the next check empties the tables
	return &propWorld{rt: rt, ctx: context.Background(), db: db, l: l, clock: clock,
		engine: &teg.Ledger{Params: teg.DefaultParams(), Now: now},
		m:      &model{accounts: map[teg.AccountID]teg.Account{}, transfers: map[string]teg.Transfer{}}}
}

func (w *propWorld) now() time.Time { return propBase.Add(time.Duration(w.clock.Load())) }

func (w *propWorld) id() string { w.n++; return fmt.Sprintf("c%d", w.n) }

// setup mints 1,000,000 AVT and opens and funds four agents with 1,000 AVT each.
func (w *propWorld) setup() {
	cmds := []teg.Command{{Kind: teg.KindMint, ID: "mint-0", Amount: avt.AVT(1_000_000)}}
	for _, a := range []teg.AccountID{"agt_a", "agt_b", "agt_c", "agt_d"} {
		cmds = append(cmds, teg.Command{Kind: teg.KindOpen, ID: "open-" + string(a), To: a},
			teg.Command{Kind: teg.KindGrant, ID: "grant-" + string(a), To: a, Amount: avt.AVT(1000)})
		w.agents = append(w.agents, a)
	}
	r := w.submit(cmds, true)
	if r.err != nil {
		w.rt.Fatalf("setup: %v", r.err)
	}
	w.checkState()
}

// amount draws an amount. Unless likely, it may be more than any balance, large enough for the
// maximum fee, or zero; likely amounts are dust (the minimum fee applies) or a few AVT.
func (w *propWorld) amount(label string, likely bool) avt.Amount {
	rt := w.rt
	scale := rapid.IntRange(0, 9).Draw(rt, label+"_scale")
	if likely {
		scale %= 6
	}
	switch scale {
	case 0:
		return avt.FromUnits(rapid.Uint64Range(0, 1_000_000).Draw(rt, label+"_units"))
	case 1, 2, 3, 4, 5:
		max := uint64(300)
		if likely {
			max = 40
		}
		a, _ := avt.AVT(rapid.Uint64Range(0, max).Draw(rt, label+"_avt")).Add(avt.FromUnits(rapid.Uint64Range(0, 999_999_999_999_999_999).Draw(rt, label+"_frac")))
		return a
	case 6, 7, 8:
		return avt.AVT(rapid.Uint64Range(300, 5_000).Draw(rt, label+"_big"))
	default:
		return avt.AVT(rapid.Uint64Range(5_000, 20_000_000).Draw(rt, label+"_huge"))
	}
}

// account draws an account: an agent, or (with others) sometimes a system account or one that
// does not exist.
func (w *propWorld) account(label string, others bool) teg.AccountID {
	if others && rapid.IntRange(0, 9).Draw(w.rt, label+"_other") == 0 {
		return rapid.SampledFrom([]teg.AccountID{teg.Treasury, teg.Escrow, teg.Burn, "agt_ghost"}).Draw(w.rt, label+"_sys")
	}
	return rapid.SampledFrom(w.agents).Draw(w.rt, label)
}

// recipient draws the recipient of a payment from sender: mostly another agent.
func (w *propWorld) recipient(from teg.AccountID, others bool) teg.AccountID {
	to := w.account("to", others)
	if to == from && rapid.IntRange(0, 7).Draw(w.rt, "allow_self") != 0 {
		to = w.agents[(slices.Index(w.agents, from)+1)%len(w.agents)]
	}
	return to
}

// command draws one new command. likely ones are meant to succeed mostly (small amounts between
// agents, known pending transfers); others may name system or unknown accounts, huge or zero
// amounts, bad timeouts, unknown or finished pending transfers. In a concurrent step no system
// account is a recipient (see concurrent).
func (w *propWorld) command(concurrent, likely bool) teg.Command {
	rt := w.rt
	id := w.id()
	others := !likely && !concurrent
	// A likely post, void or expiry names a pending transfer the model has active, if any.
	candidates := w.pendings
	if likely {
		var active []string
		for _, p := range w.pendings {
			if t, ok := w.m.transfers[p]; ok && t.State == teg.PendingActive {
				active = append(active, p)
			}
		}
		if len(active) > 0 {
			candidates = active
		}
	}
	pending := func() string {
		if len(candidates) == 0 || !likely && rapid.IntRange(0, 9).Draw(rt, "p_unknown") == 0 {
			return "nope-" + id
		}
		return rapid.SampledFrom(candidates).Draw(rt, "pending_id")
	}
	kind := rapid.IntRange(0, 16).Draw(rt, "kind")
	if kind >= 7 && kind <= 10 && len(candidates) == 0 && likely {
		kind = 5 // nothing to post, void or expire yet: make a pending transfer
	}
	switch kind {
	case 0, 1, 2, 3, 4:
		from := w.account("from", others)
		c := teg.Command{Kind: teg.KindTransfer, ID: id, From: from, To: w.recipient(from, others), Amount: w.amount("amount", likely),
			Message: rapid.SampledFrom([]string{"", "hi", "ünïcode"}).Draw(rt, "message")}
		if rapid.IntRange(0, 3).Draw(rt, "limited") == 0 {
			c.Limits = teg.SubjectLimits(teg.TierNew, 0) // the New tier's limits in the set in force
		}
		return c
	case 5, 6:
		// Posts and voids may name it in the same batch; once applied, record adds it again.
		w.pendings = append(w.pendings, id)
		timeouts := []time.Duration{0, time.Second, 5 * time.Second, 30 * time.Second, 90 * time.Second}
		if !likely {
			timeouts = append(timeouts, 500*time.Millisecond, 31*24*time.Hour)
		}
		from := w.account("from", false)
		return teg.Command{Kind: teg.KindPending, ID: id, From: from, To: w.recipient(from, !concurrent && !likely), Amount: w.amount("amount", likely),
			Timeout: rapid.SampledFrom(timeouts).Draw(rt, "timeout")}
	case 7, 8:
		partial := rapid.Bool().Draw(rt, "partial")
		c := teg.Command{Kind: teg.KindPost, ID: id, PendingID: pending(), Partial: partial}
		if partial {
			c.Amount = w.amount("amount", likely)
		}
		return c
	case 9:
		return teg.Command{Kind: teg.KindVoid, ID: id, PendingID: pending()}
	case 10:
		return teg.Command{Kind: teg.KindExpire, ID: id, PendingID: pending()}
	case 11:
		return teg.Command{Kind: teg.KindMint, ID: id, Amount: w.amount("amount", likely)}
	case 12:
		return teg.Command{Kind: teg.KindBurn, ID: id, From: w.account("from", false), Amount: w.amount("amount", likely)}
	case 13:
		return teg.Command{Kind: teg.KindGrant, ID: id, To: w.account("to", false), Amount: w.amount("amount", likely)}
	case 16:
		// A change of the parameter set: the fee rate and the tier limits change for every
		// command after it. Mostly the next version; otherwise a stale or skipped one.
		in, err := w.engine.InForce(w.m.head)
		if err != nil {
			rt.Fatal(err)
		}
		p := teg.DefaultParams()
		p.Version = in.Version + 1
		if !likely {
			p.Version += rapid.SampledFrom([]int{-1, 1}).Draw(rt, "params_off")
		}
		p.Fee.RateBps = rapid.SampledFrom([]uint64{0, 1, 10, 250, 10000}).Draw(rt, "fee_rate")
		p.Tiers[1].PerTransfer = rapid.SampledFrom([]avt.Amount{avt.AVT(1), avt.AVT(100)}).Draw(rt, "new_tier_limit")
		return teg.Command{Kind: teg.KindParams, ID: id, Params: &p}
	default:
		to := teg.AccountID("agt_" + id)
		if !likely {
			switch rapid.IntRange(0, 3).Draw(rt, "open_to") {
			case 0:
				to = rapid.SampledFrom(w.agents).Draw(rt, "open_existing")
			case 1:
				to = teg.Escrow
			}
		}
		return teg.Command{Kind: teg.KindOpen, ID: id, To: to}
	}
}

// batch draws 1–5 commands, mostly likely ones, sometimes with a replay of an applied command
// (which does not fail a linked batch) or a duplicate id (which does).
func (w *propWorld) batch(concurrent bool) []teg.Command {
	rt := w.rt
	n := rapid.IntRange(1, 5).Draw(rt, "batch_len")
	cmds := make([]teg.Command, 0, n+2)
	for range n {
		cmds = append(cmds, w.command(concurrent, rapid.IntRange(0, 7).Draw(rt, "batch_unlikely") != 0))
	}
	if !concurrent && len(w.applied) > 0 && rapid.IntRange(0, 5).Draw(rt, "batch_replay") == 0 {
		cmds = append(cmds, rapid.SampledFrom(w.applied).Draw(rt, "batch_replayed"))
	}
	if rapid.IntRange(0, 11).Draw(rt, "batch_dup") == 0 {
		cmds = append(cmds, cmds[0])
	}
	return cmds
}

// step runs one random step.
func (w *propWorld) step() {
	rt := w.rt
	switch rapid.IntRange(0, 19).Draw(rt, "step") {
	case 0, 1, 2, 3, 4, 5:
		c := w.command(false, rapid.Bool().Draw(rt, "likely"))
		tr, replayed, err := w.l.Do(w.ctx, c)
		r := &propRequest{cmds: []teg.Command{c}}
		if err == nil || apperr.KindOf(err) != apperr.Internal {
			r.results = []teg.Result{{Transfer: tr, Replayed: replayed, Err: err}}
		} else {
			r.err = err
		}
		w.modelCheck(r)
	case 6, 7, 8, 9:
		w.submit(w.batch(false), true)
	case 10, 11:
		w.submit(w.batch(false), false)
	case 12, 13:
		w.replay()
	case 14, 15:
		w.advance()
	default:
		w.concurrent()
	}
}

// submit runs one request on the SQL ledger, then on the model, and compares.
func (w *propWorld) submit(cmds []teg.Command, linked bool) *propRequest {
	r := &propRequest{cmds: cmds, linked: linked}
	r.results, r.err = w.l.Submit(w.ctx, cmds, linked)
	w.modelCheck(r)
	return r
}

// modelCheck applies r to the model and requires the same outcome as the SQL ledger's.
func (w *propWorld) modelCheck(r *propRequest) {
	rt := w.rt
	ch, res, err := w.engine.Apply(w.ctx, w.m, w.m.head, r.cmds, r.linked)
	if apperr.KindOf(err) == apperr.Internal && err != nil {
		rt.Fatalf("model: internal error %v", err)
	}
	if describe(err) != describe(r.err) {
		rt.Fatalf("%s: SQL ledger error %q, model error %q", cmdsString(r.cmds, r.linked), describe(r.err), describe(err))
	}
	if err != nil {
		return
	}
	if len(res) != len(r.results) {
		rt.Fatalf("%s: %d results, model %d", cmdsString(r.cmds, r.linked), len(r.results), len(res))
	}
	for i := range res {
		got, want := r.results[i], res[i]
		if apperr.KindOf(got.Err) == apperr.Internal && got.Err != nil {
			rt.Fatalf("%v: internal error %v", r.cmds[i], got.Err)
		}
		if describe(got.Err) != describe(want.Err) || got.Replayed != want.Replayed || !reflect.DeepEqual(normTransfer(got.Transfer), normTransfer(want.Transfer)) {
			rt.Fatalf("%v (linked %v):\nSQL   %+v replayed=%v err=%q\nmodel %+v replayed=%v err=%q", r.cmds[i], r.linked,
				got.Transfer, got.Replayed, describe(got.Err), want.Transfer, want.Replayed, describe(want.Err))
		}
	}
	for _, a := range ch.Accounts {
		w.m.accounts[a.ID] = a
	}
	for _, t := range ch.Transfers {
		w.m.transfers[t.ID] = t
	}
	w.m.head = ch.Head
	w.record(r)
}

// record notes what r applied: the mints (for the supply check) and the commands to replay.
func (w *propWorld) record(r *propRequest) {
	for i, res := range r.results {
		if res.Err != nil || res.Replayed {
			continue
		}
		c := r.cmds[i]
		if c.Kind == teg.KindMint {
			w.minted, _ = w.minted.Add(c.Amount)
		}
		switch c.Kind {
		case teg.KindOpen:
			w.agents = append(w.agents, c.To)
		case teg.KindPending:
			w.pendings = append(w.pendings, c.ID)
		}
		w.applied = append(w.applied, c)
	}
}

// replay resubmits an applied command: with the same content it returns the first result and
// changes nothing; with other content it is refused with IDEMPOTENCY_KEY_REUSED.
func (w *propWorld) replay() {
	rt := w.rt
	prev := rapid.SampledFrom(w.applied).Draw(rt, "replay")
	before, err := w.l.Head(w.ctx)
	if err != nil {
		rt.Fatal(err)
	}
	r := w.submit([]teg.Command{prev}, rapid.Bool().Draw(rt, "replay_linked"))
	if r.err != nil || r.results[0].Err != nil || !r.results[0].Replayed {
		rt.Fatalf("replay of %v: %+v %v", prev, r.results, r.err)
	}
	stored, ok, err := w.l.Transfer(w.ctx, prev.ID)
	if err != nil || !ok || !reflect.DeepEqual(normTransfer(stored), normTransfer(r.results[0].Transfer)) {
		rt.Fatalf("replay of %v returned %+v, stored %+v %v %v", prev, r.results[0].Transfer, stored, ok, err)
	}
	if after, _ := w.l.Head(w.ctx); after != before {
		rt.Fatalf("replay of %v moved the head from %v to %v", prev, before, after)
	}
	changed := prev
	switch rapid.IntRange(0, 2).Draw(rt, "reuse_change") {
	case 0:
		changed.Message += "!"
	case 1:
		changed.Amount, _ = changed.Amount.Add(avt.FromUnits(1))
	default:
		changed.Timeout += time.Second
	}
	linked := rapid.Bool().Draw(rt, "reuse_linked")
	r = w.submit([]teg.Command{changed}, linked)
	err = r.err
	if !linked {
		err = r.results[0].Err
	}
	if apperr.CodeOf(err) != "IDEMPOTENCY_KEY_REUSED" {
		rt.Fatalf("reuse of %v: %v", prev, err)
	}
	if after, _ := w.l.Head(w.ctx); after != before {
		rt.Fatalf("reuse of %v moved the head from %v to %v", prev, before, after)
	}
}

// advance moves the clock and sometimes runs the expiry sweeper.
func (w *propWorld) advance() {
	rt := w.rt
	w.clock.Add(int64(time.Duration(rapid.IntRange(0, 120).Draw(rt, "secs")) * time.Second))
	if !rapid.Bool().Draw(rt, "sweep") {
		return
	}
	now := w.now()
	var want []string
	for id, t := range w.m.transfers {
		if t.Kind == teg.KindPending && t.State == teg.PendingActive && t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	due, err := w.l.DueExpiries(w.ctx, now, 1000)
	if err != nil {
		rt.Fatal(err)
	}
	slices.Sort(due)
	if !slices.Equal(due, want) {
		rt.Fatalf("DueExpiries at %v = %v, model %v", now, due, want)
	}
	n, err := w.l.ExpireDue(w.ctx, now)
	if err != nil || n != len(want) {
		rt.Fatalf("ExpireDue = %d, %v; want %d", n, err, len(want))
	}
	if n == 0 {
		return
	}
	// The sweeper submitted one unlinked batch; give the model the same, in the order written.
	r := &propRequest{}
	for _, id := range want {
		t, ok, err := w.l.Transfer(w.ctx, "expire:"+id)
		if err != nil || !ok {
			rt.Fatalf("expiry of %s not stored: %v", id, err)
		}
		r.cmds = append(r.cmds, teg.Command{Kind: teg.KindExpire, ID: "expire:" + id, PendingID: id})
		r.results = append(r.results, teg.Result{Transfer: t})
	}
	sortBySeq(r)
	w.modelCheck(r)
}

func sortBySeq(r *propRequest) {
	idx := make([]int, len(r.cmds))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return int(r.results[a].Transfer.Seq) - int(r.results[b].Transfer.Seq) })
	cmds, res := make([]teg.Command, len(idx)), make([]teg.Result, len(idx))
	for i, j := range idx {
		cmds[i], res[i] = r.cmds[j], r.results[j]
	}
	r.cmds, r.results = cmds, res
}

// concurrent submits requests from 2–4 goroutines at once. The writer orders them; the model
// then applies, in that order (the sequence of the first event each wrote), every request that
// applied something, and must agree on each result. Requests that applied nothing changed
// nothing and are only checked to be refusals or replays. Recipients here are agents only: a
// refused command may still create an empty system account on first use, which the model would
// miss for a request it does not replay.
func (w *propWorld) concurrent() {
	rt := w.rt
	g := rapid.IntRange(2, 4).Draw(rt, "goroutines")
	plans := make([][]*propRequest, g)
	for i := range plans {
		for range rapid.IntRange(1, 3).Draw(rt, "requests") {
			r := &propRequest{}
			switch rapid.IntRange(0, 5).Draw(rt, "concurrent_kind") {
			case 0, 1, 2:
				r.cmds = []teg.Command{w.command(true, rapid.Bool().Draw(rt, "likely"))}
			case 3:
				if len(w.applied) > 0 {
					r.cmds = []teg.Command{rapid.SampledFrom(w.applied).Draw(rt, "concurrent_replay")}
					break
				}
				fallthrough
			default:
				r.cmds, r.linked = w.batch(true), rapid.Bool().Draw(rt, "concurrent_linked")
			}
			plans[i] = append(plans[i], r)
		}
	}
	var wg sync.WaitGroup
	for _, plan := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range plan {
				r.results, r.err = w.l.Submit(w.ctx, r.cmds, r.linked)
			}
		}()
	}
	wg.Wait()
	var ordered []*propRequest
	first := map[*propRequest]uint64{}
	for _, plan := range plans {
		for _, r := range plan {
			if apperr.KindOf(r.err) == apperr.Internal && r.err != nil {
				rt.Fatalf("%s: internal error %v", cmdsString(r.cmds, r.linked), r.err)
			}
			for i, res := range r.results {
				switch {
				case apperr.KindOf(res.Err) == apperr.Internal && res.Err != nil:
					rt.Fatalf("%v: internal error %v", r.cmds[i], res.Err)
				case res.Err == nil && !res.Replayed && (first[r] == 0 || res.Transfer.Seq < first[r]):
					first[r] = res.Transfer.Seq
				case res.Replayed && (res.Transfer.ID != r.cmds[i].ID || res.Err != nil):
					rt.Fatalf("replay of %v: %+v", r.cmds[i], res)
				}
			}
			if first[r] != 0 {
				ordered = append(ordered, r)
			}
		}
	}
	slices.SortFunc(ordered, func(a, b *propRequest) int { return int(first[a]) - int(first[b]) })
	for _, r := range ordered {
		w.modelCheck(r)
	}
}

// checkState compares the database with the model and checks the invariants on what is stored.
func (w *propWorld) checkState() {
	rt := w.rt
	head, err := w.l.Head(w.ctx)
	if err != nil {
		rt.Fatal(err)
	}
	if head != w.m.head && !(head.Seq == 0 && w.m.head.Seq == 0) {
		rt.Fatalf("stored head %+v, model %+v", head, w.m.head)
	}
	stored := storedAccounts(rt, w.l, w.db)
	// Conservation: Σ every account's balances (the burn sink included) = what was minted.
	var total avt.Amount
	for _, a := range stored {
		var ok bool
		if total, ok = total.Add(a.Total()); !ok {
			rt.Fatal("Σ balances overflows")
		}
		want, ok := w.m.accounts[a.ID]
		if !ok {
			// A refused command in a concurrent step may create an empty system account.
			if !a.ID.IsSystem() || !a.Total().IsZero() || a.Version != 0 {
				rt.Fatalf("stored account %+v unknown to the model", a)
			}
			continue
		}
		if !reflect.DeepEqual(normAccount(a), normAccount(want)) {
			rt.Fatalf("account %s: stored %+v, model %+v", a.ID, a, want)
		}
	}
	if len(stored) < len(w.m.accounts) {
		rt.Fatalf("%d accounts stored, model has %d", len(stored), len(w.m.accounts))
	}
	if total != w.minted {
		rt.Fatalf("Σ balances %s ≠ minted %s", total, w.minted)
	}
	// Locked = Σ held by the account's active pending transfers.
	held := map[teg.AccountID]avt.Amount{}
	active, err := store.Strings(w.ctx, w.db.Read(), `SELECT id FROM teg_pending WHERE state = 'active'`)
	if err != nil {
		rt.Fatal(err)
	}
	for _, id := range active {
		p, ok, err := w.l.Transfer(w.ctx, id)
		if err != nil || !ok || p.Kind != teg.KindPending || p.State != teg.PendingActive {
			rt.Fatalf("active pending %s: %+v %v %v", id, p, ok, err)
		}
		held[p.From], _ = held[p.From].Add(p.Held)
	}
	for _, a := range stored {
		if a.Locked != held[a.ID] {
			rt.Fatalf("account %s: locked %s, active pendings hold %s", a.ID, a.Locked, held[a.ID])
		}
		delete(held, a.ID)
	}
	if len(held) > 0 {
		rt.Fatalf("active pendings from accounts not stored: %v", held)
	}
}

// checkEnd verifies the stored log, compares every stored transfer with the model's, and checks
// that every fee split in the stored events adds up to the fee.
func (w *propWorld) checkEnd() {
	rt := w.rt
	rep, err := w.l.Verify(w.ctx)
	if err != nil {
		rt.Fatalf("verify: %v", err)
	}
	if rep.Minted != w.minted || rep.Events != w.m.head.Seq {
		rt.Fatalf("verify report %+v; minted %s, head %+v", rep, w.minted, w.m.head)
	}
	var n int
	if err := w.db.Read().QueryRowContext(w.ctx, `SELECT COUNT(*) FROM teg_events`).Scan(&n); err != nil {
		rt.Fatal(err)
	}
	if n != len(w.m.transfers) {
		rt.Fatalf("%d transfers stored, model has %d", n, len(w.m.transfers))
	}
	for id, want := range w.m.transfers {
		got, ok, err := w.l.Transfer(w.ctx, id)
		if err != nil || !ok || !reflect.DeepEqual(normTransfer(got), normTransfer(want)) {
			rt.Fatalf("transfer %s: stored %+v (%v, %v), model %+v", id, got, ok, err, want)
		}
	}
	// Every account's history, whole and in pages of 2, is the model's transfers from or to it,
	// newest first.
	byAccount := map[teg.AccountID][]teg.Transfer{}
	for _, t := range w.m.transfers {
		if t.From != "" {
			byAccount[t.From] = append(byAccount[t.From], t)
		}
		if t.To != "" && t.To != t.From {
			byAccount[t.To] = append(byAccount[t.To], t)
		}
	}
	for id, want := range byAccount {
		slices.SortFunc(want, func(a, b teg.Transfer) int { return cmp.Compare(b.Seq, a.Seq) })
		got, err := w.l.History(w.ctx, id, 0, len(want)+5)
		if err != nil || len(got) != len(want) {
			rt.Fatalf("history of %s: %d transfers (%v), model has %d", id, len(got), err, len(want))
		}
		var paged []teg.Transfer
		for before := uint64(0); ; {
			page, err := w.l.History(w.ctx, id, before, 2)
			if err != nil {
				rt.Fatalf("history of %s before %d: %v", id, before, err)
			}
			paged = append(paged, page...)
			if len(page) < 2 {
				break
			}
			before = page[len(page)-1].Seq
		}
		for i := range want {
			if !reflect.DeepEqual(normTransfer(got[i]), normTransfer(want[i])) || i >= len(paged) || paged[i].Seq != want[i].Seq {
				rt.Fatalf("history of %s, item %d: stored %+v, model %+v", id, i, got[i], want[i])
			}
		}
		if len(paged) != len(want) {
			rt.Fatalf("history of %s in pages: %d transfers, model has %d", id, len(paged), len(want))
		}
	}
	entries, err := w.l.Entries(w.ctx, 0, len(w.m.transfers)+1)
	if err != nil {
		rt.Fatal(err)
	}
	var events uint64
	params := teg.DefaultParams()
	for _, en := range entries {
		e, tr := en.Event, en.Transfer
		events++
		if e.Seq != events {
			rt.Fatalf("event %d follows event %d", e.Seq, events-1)
		}
		if want := w.m.transfers[e.TransferID]; want.Seq == e.Seq && !reflect.DeepEqual(normTransfer(tr), normTransfer(want)) {
			rt.Fatalf("event %d: its transfer %+v, model %+v", e.Seq, tr, want)
		}
		// The fee, where one is charged, is the payer's debit after the movement itself (third
		// posting), followed by its exact split: credits to the treasury, validator pool,
		// staking pool and burn sink, in that order, each the share Split gives (zero shares
		// leave no posting).
		charged := e.Kind == teg.KindTransfer || e.Kind == teg.KindPost
		if !charged || tr.Fee.IsZero() {
			continue
		}
		ps := e.Postings
		if len(ps) < 3 || !ps[2].Debit || ps[2].Account != tr.From || ps[2].Amount != tr.Fee {
			rt.Fatalf("event %d (%s %s): no fee debit of %s from %s in %+v", e.Seq, e.Kind, e.TransferID, tr.Fee, tr.From, ps)
		}
		sp := params.Fee.Split(tr.Fee)
		i, sum := 3, avt.Amount{}
		for _, part := range []struct {
			id teg.AccountID
			a  avt.Amount
		}{{teg.Treasury, sp.Treasury}, {teg.ValidatorPool, sp.Validators}, {teg.StakingPool, sp.Stakers}, {teg.Burn, sp.Burn}} {
			if part.a.IsZero() {
				continue
			}
			if i >= len(ps) || ps[i].Debit || ps[i].Account != part.id || ps[i].Amount != part.a {
				rt.Fatalf("event %d: fee share of %s should be %s: postings %+v", e.Seq, part.id, part.a, ps)
			}
			sum, _ = sum.Add(ps[i].Amount)
			i++
		}
		if sum != tr.Fee {
			rt.Fatalf("event %d: fee split adds up to %s, not the fee %s", e.Seq, sum, tr.Fee)
		}
	}
	if events != w.m.head.Seq {
		rt.Fatalf("%d events stored, head %d", events, w.m.head.Seq)
	}
}

// storedAccounts reads every account back from the database: the ids from teg_accounts, each
// account through l.Account.
func storedAccounts(rt *rapid.T, l *tegsql.Ledger, db *store.DB) []teg.Account {
	ctx := context.Background()
	rows, err := db.Read().QueryContext(ctx, `SELECT id FROM teg_accounts ORDER BY id`)
	if err != nil {
		rt.Fatal(err)
	}
	var ids []teg.AccountID
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rt.Fatal(err)
		}
		ids = append(ids, teg.AccountID(id))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		rt.Fatal(err)
	}
	out := make([]teg.Account, 0, len(ids))
	for _, id := range ids {
		a, err := l.Account(ctx, id)
		if err != nil {
			rt.Fatalf("account %s: %v", id, err)
		}
		out = append(out, a)
	}
	return out
}

// describe renders an error for comparison: its code and details, or its text.
func describe(err error) string {
	if err == nil {
		return ""
	}
	if ae, ok := apperr.As(err); ok {
		return ae.Code + " " + fmt.Sprint(ae.Details)
	}
	return "non-apperr error: " + err.Error()
}

func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(0, t.UnixNano()).UTC()
}

func normTransfer(t teg.Transfer) teg.Transfer {
	t.CreatedAt = normTime(t.CreatedAt)
	if t.ExpiresAt != nil {
		e := normTime(*t.ExpiresAt)
		t.ExpiresAt = &e
	}
	return t
}

func normAccount(a teg.Account) teg.Account {
	a.CreatedAt = normTime(a.CreatedAt)
	return a
}

func cmdsString(cmds []teg.Command, linked bool) string {
	return fmt.Sprintf("request (linked %v) %v", linked, cmds)
}
