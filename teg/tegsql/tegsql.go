// Package tegsql keeps the ledger (package teg) in SQL, on SQLite and PostgreSQL alike, and is
// its single writer: commands from any number of goroutines are queued and applied in groups,
// and each group is written in one transaction (group commit) — balances and the log entries of
// the hash chain together, or nothing. The writer is a two-stage pipeline (see run): one
// goroutine prepares the next group while another commits the current one.
//
// Every write transaction first locks the one-row teg_head table, so writers in different
// processes on one PostgreSQL database take turns and the event log has one order. While the head
// it locks is the head it last wrote, no other process has written, so the accounts it caches are
// still exact; otherwise it drops the accounts the other writers' entries moved (catchUp) and
// prepares the group again inside its transaction.
//
// Storage (migration 00007): teg_events holds one row per log entry — the event and the transfer
// it made as a compact binary record (record.go) — teg_pending the state of pending transfers,
// teg_accounts the balances and each account's newest entry (histories are linked through the
// log).
package tegsql

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/hotcache"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/teg"
)

// Limits of the writer.
const (
	// maxGroupCommands bounds the commands written in one transaction.
	maxGroupCommands = 4 * teg.MaxBatch
	// growLimit is the size up to which a group takes in requests that arrive while the group
	// before it commits.
	growLimit = 1024
	// queueDepth bounds the requests waiting for the writer.
	queueDepth = 4096
	// maxCachedAccounts bounds the writer's account cache.
	maxCachedAccounts = 1 << 20
)

// Ledger is the SQL-backed ledger. Submit is safe for concurrent use.
type Ledger struct {
	db     *store.DB
	engine *teg.Ledger
	reqs   chan *request
	done   chan struct{}
	stop   context.CancelFunc
	// broken is why the ledger cannot work (its storage could not be upgraded), or nil.
	broken error

	// mu guards the cache, which the goroutine preparing a group reads while the committer
	// writes it.
	mu     sync.Mutex
	cache  map[teg.AccountID]cachedAccount
	cached teg.Head // the head the cache is exact at

	// observe is told the activity of each committed group (nil: nobody asked).
	observe func(teg.Activity)
	// params caches the parameter history (nil: none; WithParamsCache).
	params hotcache.Cache[[]teg.ParamsVersion]
	// bal caches hot accounts' balances (nil: none; WithBalanceCache).
	bal *balances
}

// Option configures a Ledger made by Open.
type Option func(*Ledger)

// WithObserver has the writer tell observe what each group it committed did (teg.ActivityOf),
// after the commit and before the group's callers are answered. observe runs in the writer:
// it must be quick and must not call the ledger.
func WithObserver(observe func(teg.Activity)) Option {
	return func(l *Ledger) { l.observe = observe }
}

// cachedAccount is an account as stored: balances and the seq of its newest log entry.
type cachedAccount struct {
	teg.Account
	last uint64
}

type request struct {
	ctx    context.Context
	cmds   []teg.Command
	linked bool
	reply  chan response
}

type response struct {
	results []teg.Result
	err     error
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = apperr.New(apperr.Unavailable, "LEDGER_CLOSED", "the ledger is shutting down")

// Open starts the writer over db with the given parameters and clock (nil: time.Now). A log in
// the storage format of version 1 is rewritten first; if that fails, every Submit returns why.
func Open(db *store.DB, params teg.Params, now func() time.Time, opts ...Option) *Ledger {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Ledger{db: db, engine: &teg.Ledger{Params: params, Now: now}, reqs: make(chan *request, queueDepth),
		done: make(chan struct{}), stop: cancel, cache: map[teg.AccountID]cachedAccount{}}
	for _, o := range opts {
		o(l)
	}
	if err := l.upgrade(ctx); err != nil {
		l.broken = apperr.Internalf("ledger storage upgrade failed: %w", err)
	} else if err := l.fillMinted(ctx); err != nil {
		l.broken = apperr.Internalf("ledger storage upgrade failed: %w", err)
	}
	if h, err := l.Head(ctx); err == nil {
		l.cached = h // the cache is empty, so exact at the stored head
	}
	go l.run(ctx)
	return l
}

// Close stops the writer after the requests already queued are written.
func (l *Ledger) Close() {
	l.stop()
	<-l.done
}

// Submit applies cmds (see teg.Ledger.Apply for linked) and returns once they are durably
// written. An error means nothing of the request was written.
func (l *Ledger) Submit(ctx context.Context, cmds []teg.Command, linked bool) ([]teg.Result, error) {
	if l.broken != nil {
		return nil, l.broken
	}
	r := &request{ctx: ctx, cmds: cmds, linked: linked, reply: make(chan response, 1)}
	select {
	case l.reqs <- r:
	case <-l.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case resp := <-r.reply:
		return resp.results, resp.err
	case <-l.done:
		return nil, ErrClosed
	}
}

// Do applies one command and returns its transfer or its error.
func (l *Ledger) Do(ctx context.Context, c teg.Command) (teg.Transfer, bool, error) {
	res, err := l.Submit(ctx, []teg.Command{c}, false)
	if err != nil {
		return teg.Transfer{}, false, err
	}
	return res[0].Transfer, res[0].Replayed, res[0].Err
}

// run is the writer. It works as a two-stage pipeline, so that the two cores of a small machine
// both work: while the committer goroutine writes group N in its transaction, run collects group
// N+1 and prepares it — reads what it needs through the read pool, applies it on top of group
// N's changes, and encodes its rows. The committer then locks the head; if it is where the
// preparation assumed (group N was committed exactly as prepared and no other process wrote), it
// only executes the rows, otherwise it prepares the group again inside its transaction.
func (l *Ledger) run(ctx context.Context) {
	defer close(l.done)
	commits := make(chan *prepared)
	committed := make(chan struct{})
	go func() {
		for p := range commits {
			l.commit(p)
			committed <- struct{}{}
		}
	}()
	busy := false
	var last *prepared
	for {
		live, ok := l.collect(ctx)
		if !ok {
			break
		}
		if len(live) == 0 {
			continue
		}
		p := l.prepare(live, last)
		if busy {
			// While the committer writes the group before, requests that arrive join this one
			// (applied as they come), so that a ledger busy with small requests commits few,
			// larger groups. A group of growLimit commands gains nothing more from growing, and
			// taking the next large batch in would leave nothing to prepare during its commit.
		grow:
			for p.err == nil && p.size < growLimit {
				select {
				case <-committed:
					busy = false
					break grow
				case r := <-l.reqs:
					// Take in every request queued by now at once: one prefetch for them all.
					p.add(l, l.drain(r, growLimit-p.size))
				}
			}
			if busy {
				<-committed
			}
			if !last.exact {
				// The group p was applied on is not what was committed: apply it again on what
				// was (else every later group would be prepared on a redone one, and redone too).
				p = l.prepare(p.live, nil)
			}
		}
		p.finish()
		// Prepared: what it was prepared on is needed no more (groups would otherwise keep every
		// earlier group reachable).
		p.ov.base = nil
		commits <- p
		busy, last = true, p
	}
	if busy {
		<-committed
	}
	close(commits)
}

// collect waits for the next group of requests (answering those whose context ended); false
// once the ledger is closed and nothing is left.
func (l *Ledger) collect(ctx context.Context) ([]*request, bool) {
	var first *request
	select {
	case first = <-l.reqs:
	case <-ctx.Done():
		// Write what is queued, then stop.
		select {
		case first = <-l.reqs:
		default:
			return nil, false
		}
	}
	return l.drain(first, maxGroupCommands), true
}

// drain returns first and the requests queued behind it, up to about n commands, answering
// those whose context ended.
func (l *Ledger) drain(first *request, n int) []*request {
	group := []*request{first}
	size := len(first.cmds)
more:
	for size < n {
		select {
		case r := <-l.reqs:
			group = append(group, r)
			size += len(r.cmds)
		default:
			break more
		}
	}
	live := group[:0]
	for _, r := range group {
		if r.ctx.Err() == nil {
			live = append(live, r)
		} else {
			r.reply <- response{err: r.ctx.Err()}
		}
	}
	return live
}

// prepared is a group applied and encoded, ready to be written.
type prepared struct {
	live    []*request
	replies []response
	ov      *overlay
	from    teg.Head    // the head the group was applied after
	all     teg.Changes // what the group changed, Head its new head
	size    int         // commands in the group
	enc     encoder
	stateAt int        // the events of all when the accounts and pending rows were encoded
	rows    *groupRows // nil: nothing to write
	err     error      // the preparation failed (the committer prepares again)
	base    *prepared  // the group it was applied on top of, or nil
	// exact is set by the committer once the group is committed as prepared.
	exact bool
}

// prepare applies live ahead of the transaction, on top of base (the group before it, which
// may still be being written).
func (l *Ledger) prepare(live []*request, base *prepared) *prepared {
	var from teg.Head
	var bov *overlay
	if base != nil && base.err == nil {
		from, bov = base.all.Head, base.ov
	} else {
		l.mu.Lock()
		from = l.cached
		l.mu.Unlock()
		base = nil
	}
	w := &writer{l: l, q: l.db.Read(), dialect: l.db.Dialect()}
	p := l.apply(w, live, from, bov)
	p.base = base
	p.finish()
	return p
}

// apply runs the group's requests against the overlay over base and w, after head from.
func (l *Ledger) apply(w *writer, live []*request, from teg.Head, base *overlay) *prepared {
	p := &prepared{from: from, ov: newOverlay(w, base), all: teg.Changes{Head: from}}
	p.add(l, live)
	return p
}

// add applies more requests to the group (after those it holds).
func (p *prepared) add(l *Ledger, reqs []*request) {
	p.live = append(p.live, reqs...)
	for _, r := range reqs {
		p.size += len(r.cmds)
	}
	if p.err == nil {
		p.err = p.ov.prefetch(reqs)
	}
	for _, r := range reqs {
		if p.err != nil {
			return
		}
		ch, res, err := l.engine.Apply(context.Background(), p.ov, p.all.Head, r.cmds, r.linked)
		if err != nil && apperr.KindOf(err) == apperr.Internal {
			p.err = err
			return
		}
		if err != nil {
			p.replies = append(p.replies, response{err: err})
			continue
		}
		p.ov.commit(ch)
		p.all.Accounts = append(p.all.Accounts, ch.Accounts...)
		p.all.Transfers = append(p.all.Transfers, ch.Transfers...)
		p.all.Events = append(p.all.Events, ch.Events...)
		p.all.State = append(p.all.State, ch.State...)
		p.all.Head = ch.Head
		p.replies = append(p.replies, response{results: res})
	}
}

// finish encodes the group's rows: the log entries not encoded yet, and — if the group changed
// since they were — the accounts and pending transfers. Called once the group is prepared (so
// encoding overlaps the commit before it) and again when it is handed over, it then encodes only
// what requests that joined in between added.
func (p *prepared) finish() {
	if p.err != nil || len(p.all.Events) == 0 || p.stateAt == len(p.all.Events) {
		return
	}
	if p.err = p.enc.log(p.ov, &p.all); p.err != nil {
		return
	}
	if p.err = p.enc.pending(p.ov, &p.all); p.err != nil {
		return
	}
	if p.err = p.enc.accounts(p.ov, &p.all); p.err != nil {
		return
	}
	p.enc.state(&p.all)
	p.stateAt = len(p.all.Events)
	p.rows = &p.enc.rows
}

// maxCatchUp bounds the entries of other writers catchUp reads to keep the cache; past it, the
// cache is dropped.
const maxCatchUp = 4 * teg.MaxBatch

// catchUp makes the cache exact at head (read in the write transaction): when other processes
// wrote since the cache's head, it drops the accounts their entries moved — read from those
// entries, so the rest of the cache survives — or, after many entries, the whole cache.
func (l *Ledger) catchUp(w *writer, head teg.Head) error {
	l.mu.Lock()
	cached := l.cached
	l.mu.Unlock()
	if head == cached {
		return nil
	}
	var moved map[teg.AccountID]bool
	if cached.Seq != 0 && head.Seq > cached.Seq && head.Seq-cached.Seq <= maxCatchUp {
		theirs, err := entries(context.Background(), w.q, cached.Seq, int(head.Seq-cached.Seq))
		if err != nil {
			return err
		}
		moved = map[teg.AccountID]bool{}
		for _, en := range theirs {
			moved[en.Transfer.From], moved[en.Transfer.To] = true, true
			for _, p := range en.Event.Postings {
				moved[p.Account] = true
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if moved == nil {
		clear(l.cache)
	}
	for id := range moved {
		delete(l.cache, id)
	}
	l.cached = head
	return nil
}

// commit writes a prepared group in one transaction (preparing it again inside the transaction
// when what it was prepared on is not what is stored) and answers its requests.
func (l *Ledger) commit(p *prepared) {
	done := p
	var locked teg.Head // the head the transaction found
	err := l.db.InTx(context.Background(), func(tx *sql.Tx) error {
		done = p
		w := &writer{l: l, q: l.db.TxQuerier(tx), dialect: l.db.Dialect()}
		head, err := w.lockHead()
		if err != nil {
			return err
		}
		locked = head
		if p.err != nil || (p.base != nil && !p.base.exact) || head != p.from {
			if err := l.catchUp(w, head); err != nil {
				return err
			}
			if done = l.apply(w, p.live, head, nil); done.err == nil {
				done.finish()
			}
			if done.err != nil {
				return done.err
			}
		}
		if done.rows == nil {
			return nil
		}
		return w.exec(done.rows, done.from, done.all.Head)
	})
	l.mu.Lock()
	if err != nil {
		clear(l.cache)
		l.cached = teg.Head{}
	} else if done.rows != nil || l.cached == done.from {
		// Committed: the cache now holds the balances as written.
		if len(l.cache)+len(done.ov.accounts) > maxCachedAccounts {
			clear(l.cache)
		}
		for id, a := range done.ov.accounts {
			l.cache[id] = cachedAccount{*a, done.ov.last[id]}
		}
		l.cached = done.all.Head
	}
	var gen int64
	if err == nil && l.bal != nil && done.rows != nil {
		l.bal.committed(locked, done.all.Head)
		gen = l.bal.gen
	}
	l.mu.Unlock()
	var hold time.Duration
	if err == nil && l.bal != nil && done.rows != nil {
		hold = l.bal.writeThrough(done, gen, l.bal.now())
	}
	if err == nil && l.observe != nil && done.rows != nil {
		if a := teg.ActivityOf(&done.all); !a.Empty() {
			l.observe(a)
		}
	}
	p.exact = err == nil && done == p
	p.base = nil
	answer := func() {
		for i, r := range p.live {
			if err != nil {
				r.reply <- response{err: apperr.Internalf("ledger write: %w", err)}
			} else {
				r.reply <- done.replies[i]
			}
		}
	}
	if hold > 0 {
		// The cache could be neither written through nor invalidated: answer once any entry
		// older than this group has expired (later groups go on meanwhile).
		time.AfterFunc(hold, answer)
		return
	}
	answer()
}

// Head returns the end of the event log as stored.
func (l *Ledger) Head(ctx context.Context) (teg.Head, error) {
	return readHead(ctx, l.db.Read(), "")
}

// readHead reads the head row (suffix: e.g. " FOR UPDATE"). A minted total not filled in yet
// (see fillMinted) reads as zero.
func readHead(ctx context.Context, q store.Querier, suffix string) (teg.Head, error) {
	var h teg.Head
	var minted any
	if err := q.QueryRowContext(ctx, `SELECT seq, hash, minted, params FROM teg_head WHERE id = 1`+suffix).Scan(&h.Seq, &h.Hash, &minted, &h.Params); err != nil {
		return h, err
	}
	if minted != nil {
		if err := h.Minted.Scan(minted); err != nil {
			return h, fmt.Errorf("teg_head.minted: %w", err)
		}
	}
	return h, nil
}

// fillMinted sets the head's minted total from the log when the store was migrated from a
// version that did not keep it.
func (l *Ledger) fillMinted(ctx context.Context) error {
	var missing bool
	if err := l.db.Read().QueryRowContext(ctx, `SELECT minted IS NULL FROM teg_head WHERE id = 1`).Scan(&missing); err != nil || !missing {
		return err
	}
	return l.db.InTx(ctx, func(tx *sql.Tx) error {
		w := &writer{l: l, q: l.db.TxQuerier(tx), dialect: l.db.Dialect()}
		if _, err := w.lockHead(); err != nil {
			return err
		}
		var minted avt.Amount
		const page = 10000
		for after := uint64(0); ; {
			ens, err := entries(ctx, w.q, after, page)
			if err != nil {
				return err
			}
			for _, en := range ens {
				if en.Event.Kind == teg.KindMint {
					var ok bool
					if minted, ok = minted.Add(en.Transfer.Amount); !ok {
						return fmt.Errorf("event %d: the AVT minted overflows the amount range", en.Event.Seq)
					}
				}
				after = en.Event.Seq
			}
			if len(ens) < page {
				break
			}
		}
		_, err := w.q.ExecContext(ctx, `UPDATE teg_head SET minted = $1 WHERE id = 1 AND minted IS NULL`, minted)
		return err
	})
}

// Account returns an account as stored.
//
// With a balance cache (WithBalanceCache), a cached account is returned when there is one
// (never older than the last write acknowledged before the call), else the store's; either
// way the account is noted as read (hot), so that the writer keeps its entry up to date.
func (l *Ledger) Account(ctx context.Context, id teg.AccountID) (teg.Account, error) {
	if l.bal == nil {
		a, err := readAccount(ctx, l.db.Read(), id)
		return a.Account, err
	}
	if !l.bal.note(ctx, id) {
		if a, ok := l.cachedBalance(ctx, id); ok {
			return a, nil
		}
		a, err := readAccount(ctx, l.db.Read(), id)
		return a.Account, err
	}
	// The account was just marked hot: read it from the primary and fence the cache at its
	// version (balances.fence), so that a write-through of an older group still in flight —
	// whose writer looked before the mark, as did the writers since — cannot land after it.
	a, err := readAccount(ctx, l.db.Write(), id)
	if err == nil {
		l.bal.fence(ctx, l.balanceGen(), id, int64(a.last))
	}
	return a.Account, err
}

// accountCols are the columns of an account row, read by scanAccount. A group writes
// accountWriteCols (numAccountWriteCols of them): an account's status changes only by a status
// command, rarely, and is written by its own UPDATE (groupRows.statuses), which keeps the
// upsert every transfer makes one column narrower.
const (
	accountCols         = `id, liquid, locked, staked, unbonding, version, created_at, log_seq, status, spent`
	accountWriteCols    = `id, liquid, locked, staked, unbonding, version, created_at, log_seq, spent`
	numAccountWriteCols = 9
)

func scanAccount(sc interface{ Scan(...any) error }) (cachedAccount, error) {
	var a cachedAccount
	var id, status string
	var spent []byte
	err := sc.Scan(&id, &a.Liquid, &a.Locked, &a.Staked, &a.Unbonding, &a.Version, store.ScanTime(&a.CreatedAt), &a.last, &status, &spent)
	a.ID = teg.AccountID(id)
	if err != nil {
		return a, err
	}
	if status != string(teg.AccountActive) {
		a.Status = teg.AccountStatus(status)
	}
	if a.Spent, err = decodeWindow(spent); err != nil {
		return a, fmt.Errorf("account %s: spent: %w", id, err)
	}
	return a, nil
}

func readAccount(ctx context.Context, q store.Querier, id teg.AccountID) (cachedAccount, error) {
	a, err := scanAccount(q.QueryRowContext(ctx, `SELECT `+accountCols+` FROM teg_accounts WHERE id = $1`, string(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return cachedAccount{}, teg.ErrAccountNotFound.With("account", string(id))
	}
	return a, err
}

// recordCols are the columns of a log row and its pending state; recordFrom joins them. Rows
// are read with scanRecord.
const (
	recordCols = `e.seq, e.transfer_id, e.body, e.hash, p.state`
	recordFrom = ` FROM teg_events e LEFT JOIN teg_pending p ON p.id = e.transfer_id`
)

func scanRecord(sc interface{ Scan(...any) error }) (teg.Event, teg.Transfer, links, error) {
	var (
		seq   uint64
		id    string
		body  []byte
		hash  []byte
		state sql.NullString
	)
	if err := sc.Scan(&seq, &id, &body, &hash, &state); err != nil {
		return teg.Event{}, teg.Transfer{}, links{}, err
	}
	e, t, l, err := decodeRecord(seq, id, hex.EncodeToString(hash), body)
	if err != nil {
		return e, t, l, fmt.Errorf("event %d: %w", seq, err)
	}
	t.State = teg.PendingState(state.String)
	return e, t, l, nil
}

func scanTransfer(sc interface{ Scan(...any) error }) (teg.Transfer, error) {
	_, t, _, err := scanRecord(sc)
	return t, err
}

// Transfer returns a transfer by id.
func (l *Ledger) Transfer(ctx context.Context, id string) (teg.Transfer, bool, error) {
	t, err := scanTransfer(l.db.Read().QueryRowContext(ctx, `SELECT `+recordCols+recordFrom+` WHERE e.transfer_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return teg.Transfer{}, false, nil
	}
	return t, err == nil, err
}

// History returns up to limit transfers from or to account with seq < before (0: from the
// newest), newest first. It follows the account's history list: the account row names its newest
// entry, and each entry the account's previous one, so a page costs one point read per transfer.
func (l *Ledger) History(ctx context.Context, account teg.AccountID, before uint64, limit int) ([]teg.Transfer, error) {
	return store.ReadReplica(ctx, l.db, func(q store.Querier) ([]teg.Transfer, error) {
		if limit <= 0 {
			return nil, nil
		}
		a, err := readAccount(ctx, q, account)
		if apperr.KindOf(err) == apperr.NotFound {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		read := func(seq uint64) (teg.Transfer, uint64, error) {
			_, t, ln, err := scanRecord(q.QueryRowContext(ctx, `SELECT `+recordCols+recordFrom+` WHERE e.seq = $1`, int64(seq)))
			if err != nil {
				return t, 0, fmt.Errorf("history of %s: entry %d: %w", account, seq, err)
			}
			switch account {
			case t.From:
				return t, ln.from, nil
			case t.To:
				return t, ln.to, nil
			}
			return t, 0, fmt.Errorf("history of %s: entry %d is %s→%s", account, seq, t.From, t.To)
		}
		next := a.last
		if before != 0 && before <= next {
			// The cursor is normally the account's own entry: continue from its link. Otherwise
			// walk from the newest.
			if _, prev, err := read(before); err == nil {
				next = prev
			} else {
				for next >= before {
					if _, next, err = read(next); err != nil {
						return nil, err
					}
				}
			}
		}
		var out []teg.Transfer
		for next != 0 && len(out) < limit {
			t, prev, err := read(next)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
			next = prev
		}
		return out, nil
	})
}

// DueExpiries returns up to limit active pending transfers whose timeout has passed at now.
func (l *Ledger) DueExpiries(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return store.Strings(ctx, l.db.Read(), `SELECT id FROM teg_pending WHERE state = 'active' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, store.Time(now), limit)
}

// ExpireDue voids every pending transfer whose timeout has passed, and returns how many.
func (l *Ledger) ExpireDue(ctx context.Context, now time.Time) (int, error) {
	ids, err := l.DueExpiries(ctx, now, teg.MaxBatch)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	cmds := make([]teg.Command, len(ids))
	for i, id := range ids {
		cmds[i] = teg.Command{Kind: teg.KindExpire, ID: "expire:" + id, PendingID: id}
	}
	res, err := l.Submit(ctx, cmds, false)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range res {
		if r.Err == nil && !r.Replayed {
			n++
		}
	}
	return n, nil
}

// Verify replays the whole event log and checks it against the stored balances (see
// teg.Verifier). It reads in one snapshot (a transaction on the writer).
func (l *Ledger) Verify(ctx context.Context) (teg.Report, error) {
	v := teg.NewVerifier()
	var rep teg.Report
	err := l.db.InTx(ctx, func(tx *sql.Tx) error {
		head, err := readHead(ctx, l.db.TxQuerier(tx), "")
		if err != nil {
			return err
		}
		const page = 10000
		prev := teg.GenesisHash
		last := map[teg.AccountID]uint64{}
		for after := uint64(0); ; {
			entries, err := entries(ctx, l.db.TxQuerier(tx), after, page)
			if err != nil {
				return err
			}
			for _, en := range entries {
				e := en.Event
				e.PrevHash, prev = prev, e.Hash
				if err := v.Add(e); err != nil {
					return err
				}
				if err := checkLinks(en, last); err != nil {
					return err
				}
				after = e.Seq
			}
			if len(entries) < page {
				break
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+accountCols+` FROM teg_accounts`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var stored []teg.Account
		for rows.Next() {
			a, err := scanAccount(rows)
			if err != nil {
				return err
			}
			if a.last != last[a.ID] {
				return fmt.Errorf("account %s: newest history entry stored as %d, the log says %d", a.ID, a.last, last[a.ID])
			}
			stored = append(stored, a.Account)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if rep, err = v.Check(stored, head); err != nil {
			return err
		}
		state, err := scanState(ctx, l.db.TxQuerier(tx), "", 0)
		if err != nil {
			return err
		}
		rep.StateRecords = len(state)
		return v.CheckState(state)
	})
	return rep, err
}

// Entry is one entry of the log: an event and the transfer it made (with a pending transfer's
// current state).
type Entry struct {
	Event    teg.Event
	Transfer teg.Transfer
	links    links
}

// checkLinks checks that en links to the previous entries of its accounts (last: the newest
// entry seen of each account) and records it as their newest.
func checkLinks(en Entry, last map[teg.AccountID]uint64) error {
	t := en.Transfer
	if t.From != "" {
		if en.links.from != last[t.From] {
			return fmt.Errorf("event %d: history link of %s is %d, its previous entry is %d", t.Seq, t.From, en.links.from, last[t.From])
		}
		last[t.From] = t.Seq
	}
	if t.To != "" && t.To != t.From {
		if en.links.to != last[t.To] {
			return fmt.Errorf("event %d: history link of %s is %d, its previous entry is %d", t.Seq, t.To, en.links.to, last[t.To])
		}
		last[t.To] = t.Seq
	}
	return nil
}

// Entries returns up to limit entries of the log with seq > after, in order, each event with its
// PrevHash.
func (l *Ledger) Entries(ctx context.Context, after uint64, limit int) ([]Entry, error) {
	out, err := entries(ctx, l.db.Read(), after, limit)
	if err != nil || len(out) == 0 {
		return nil, err
	}
	prev := teg.GenesisHash
	if after > 0 {
		var h []byte
		if err := l.db.Read().QueryRowContext(ctx, `SELECT hash FROM teg_events WHERE seq = $1`, int64(after)).Scan(&h); err != nil {
			return nil, fmt.Errorf("event %d: %w", after, err)
		}
		prev = hex.EncodeToString(h)
	}
	for i := range out {
		out[i].Event.PrevHash, prev = prev, out[i].Event.Hash
	}
	return out, nil
}

// TransfersAfter returns up to limit transfers of the log's entries with seq > after, in log
// order: one range read of the primary key, without the pending states (a held payment's
// current state is not what the log says happened) or the previous hashes — the auditor's
// consumer follows the log with it.
func (l *Ledger) TransfersAfter(ctx context.Context, after uint64, limit int) ([]teg.Transfer, error) {
	rows, err := l.db.Read().QueryContext(ctx, `SELECT e.seq, e.transfer_id, e.body, e.hash, NULL FROM teg_events e WHERE e.seq > $1 ORDER BY e.seq LIMIT $2`,
		int64(after), max(limit, 1))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]teg.Transfer, 0, min(max(limit, 1), 4096))
	for rows.Next() {
		t, err := scanTransfer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func entries(ctx context.Context, q store.Querier, after uint64, limit int) ([]Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+recordCols+recordFrom+` WHERE e.seq > $1 ORDER BY e.seq LIMIT $2`, int64(after), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, t, ln, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Event: e, Transfer: t, links: ln})
	}
	return out, rows.Err()
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
