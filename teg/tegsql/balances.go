package tegsql

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sovereign-stack/sovereign/hotcache"
	"github.com/sovereign-stack/sovereign/teg"
)

// Bounds of the balance cache (WithBalanceCache).
const (
	// BalanceTTL is how long a cached balance lives: the bound on an entry no write reaches
	// any more, and how long the writer holds back an acknowledgement it could neither write
	// through nor invalidate.
	BalanceTTL = 2 * time.Second
	// HotTTL is how long an account stays hot after the last read that noted it.
	HotTTL = 30 * time.Second
	// hotFresh is the age of a hot mark up to which the writer writes an account through; an
	// older mark (the account is not read any more) makes it invalidate instead. Readers note
	// an account again every hotRenote, well inside it.
	hotFresh  = HotTTL / 2
	hotRenote = HotTTL / 4
	// maxNoted bounds the reader's memory of when it last noted each account.
	maxNoted = 1 << 16
	// balanceOpTimeout bounds each write-through call of the writer.
	balanceOpTimeout = 500 * time.Millisecond
)

// balances is the shared cache of hot accounts' balances (WithBalanceCache).
type balances struct {
	vals hotcache.Cache[teg.Account] // an account as stored, at its log_seq
	hot  hotcache.Cache[bool]        // hot marks: version the noting reader's clock, in ms
	ttl  time.Duration               // the entry TTL of vals (the ack delay)
	now  func() time.Time

	// local: the caches are this process's alone (memory), so writes of other processes do
	// not reach them. Keys then carry gen, and a hit is served only while the stored head is
	// exact — the head this process's writer last wrote, with no other process's write
	// between it and the one before (gen changes when there was one). Guarded by Ledger.mu.
	local bool
	gen   int64
	exact teg.Head

	mu    sync.Mutex
	noted map[teg.AccountID]time.Time // when this process last noted each account

	delayed atomic.Int64 // acknowledgements held back
}

// WithBalanceCache has the ledger keep the balances of hot accounts in vals, shared by every
// ledger (TEG replica) that uses the same caches: Account reads vals first and, on a miss,
// the store, and notes the account as read in hot; after each group it commits, the writer
// writes through (Set at the account's log_seq) every account the group changed that is hot,
// before it answers the group's callers. vals must keep its entries for ttl (BalanceTTL when
// 0) and hot for HotTTL. Every ledger writing to the database must use the same caches — or,
// with local set, caches of its own (memory), each hit then checked against the stored head
// (one small query). See docs/ARCHITECTURE.md, "Caches of hot reads".
func WithBalanceCache(vals hotcache.Cache[teg.Account], hot hotcache.Cache[bool], ttl time.Duration, local bool) Option {
	if ttl <= 0 {
		ttl = BalanceTTL
	}
	return func(l *Ledger) {
		l.bal = &balances{vals: vals, hot: hot, ttl: ttl, now: time.Now, noted: map[teg.AccountID]time.Time{}, local: local}
	}
}

// key is id's key in vals under generation gen.
func (b *balances) key(gen int64, id teg.AccountID) string {
	if !b.local {
		return string(id)
	}
	return strconv.FormatInt(gen, 10) + ":" + string(id)
}

// cachedBalance returns id's cached account, if there is one the ledger may serve.
func (l *Ledger) cachedBalance(ctx context.Context, id teg.AccountID) (teg.Account, bool) {
	b := l.bal
	l.mu.Lock()
	gen, exact := b.gen, b.exact
	l.mu.Unlock()
	es, err := b.vals.Get(ctx, b.key(gen, id))
	if err != nil || !es[0].OK {
		return teg.Account{}, false
	}
	if b.local {
		// Served only if no other process wrote since this one's writer last did.
		if h, err := l.Head(ctx); err != nil || h != exact || exact == (teg.Head{}) {
			return teg.Account{}, false
		}
	}
	return es[0].Val, true
}

// balanceGen is the balance cache's current generation (local mode's key prefix).
func (l *Ledger) balanceGen() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bal.gen
}

// committed records, in local mode, that the writer committed a group from head locked to
// head to: the cache stays exact when nothing came between its last group and this one, else
// it starts a new generation (entries of the old one are no longer read). Under Ledger.mu.
func (b *balances) committed(locked, to teg.Head) {
	if !b.local {
		return
	}
	if locked != b.exact {
		b.gen++
	}
	b.exact = to
}

// DelayedAcks is how many groups' acknowledgements the writer held back for the balance TTL
// because it could neither write their accounts through nor invalidate them (the cache was
// unreachable).
func (l *Ledger) DelayedAcks() int64 {
	if l.bal == nil {
		return 0
	}
	return l.bal.delayed.Load()
}

// BalanceCodec encodes an account for a shared balance cache (Redis).
var BalanceCodec = hotcache.Codec[teg.Account]{
	Marshal: func(a teg.Account) ([]byte, error) { return json.Marshal(a) },
	Unmarshal: func(b []byte) (teg.Account, error) {
		var a teg.Account
		err := json.Unmarshal(b, &a)
		return a, err
	},
}

// HotCodec encodes a hot mark (it carries nothing but its version).
var HotCodec = hotcache.Codec[bool]{
	Marshal:   func(bool) ([]byte, error) { return []byte{'1'}, nil },
	Unmarshal: func([]byte) (bool, error) { return true, nil },
}

// note marks id as read in the hot set, unless this process did so in the last hotRenote. It
// reports whether it marked it now (the caller then reads the account from the primary and
// fences the cache at its version).
func (b *balances) note(ctx context.Context, id teg.AccountID) bool {
	now := b.now()
	b.mu.Lock()
	if t, ok := b.noted[id]; ok && now.Sub(t) < hotRenote {
		b.mu.Unlock()
		return false
	}
	if len(b.noted) >= maxNoted {
		clear(b.noted)
	}
	b.noted[id] = now
	b.mu.Unlock()
	if err := b.hot.Set(ctx, string(id), now.UnixMilli(), true); err != nil {
		b.forget(id) // try again at the next read
		return false
	}
	return true
}

// forget drops this process's memory of noting id, so that its next read notes it again.
func (b *balances) forget(id teg.AccountID) {
	b.mu.Lock()
	delete(b.noted, id)
	b.mu.Unlock()
}

// fence invalidates id's entry below ver, the version read from the primary after id was
// marked hot, leaving a marker that refuses older values. A writer that looked for the mark
// before it was made stored nothing (the account was not hot), but the writer of an older
// group may look after it and store its older version; the fence refuses that. When the fence
// fails, the mark is dropped again (best effort) and noted anew at the next read.
func (b *balances) fence(ctx context.Context, gen int64, id teg.AccountID, ver int64) {
	if b.vals.Invalidate(ctx, b.key(gen, id), ver) == nil {
		return
	}
	_ = b.hot.Invalidate(ctx, string(id), b.now().UnixMilli()+1)
	b.forget(id)
}

// writeThrough brings the cache up to a committed group (the writer, before it answers): each
// account the group changed that is hot is stored at its log_seq — or, when its mark is old or
// the store fails, invalidated at it. An account that is not hot needs nothing: no entry
// exists, and one a late writer of an older group might store is refused by the fence its
// reader put when it marked the account (fence). It returns how long the acknowledgement must wait: until
// ttl after committedAt when an account could be neither stored nor invalidated, else 0.
func (b *balances) writeThrough(done *prepared, gen int64, committedAt time.Time) time.Duration {
	n := len(done.all.Accounts)
	if n == 0 {
		return 0
	}
	ids := make([]string, 0, n)
	seen := make(map[teg.AccountID]bool, n)
	for i := n - 1; i >= 0; i-- {
		if id := done.all.Accounts[i].ID; !seen[id] {
			seen[id] = true
			ids = append(ids, string(id))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), balanceOpTimeout)
	defer cancel()
	marks, err := b.hot.Get(ctx, ids...)
	failed := false
	now := b.now()
	for i, id := range ids {
		fresh, known := true, true
		if err == nil {
			m := marks[i]
			if !m.OK {
				continue // not hot: no entry can exist (see the guarantee)
			}
			fresh = now.Sub(time.UnixMilli(m.Version)) < hotFresh
		} else {
			known = false // the hot set is unreachable: act as if hot
		}
		aid := teg.AccountID(id)
		a, ver := done.ov.accounts[aid], int64(done.ov.last[aid])
		if a == nil {
			continue
		}
		if fresh && known {
			if b.vals.Set(ctx, b.key(gen, aid), ver, *a) == nil {
				continue
			}
		}
		if b.vals.Invalidate(ctx, b.key(gen, aid), ver) != nil {
			failed = true
		}
	}
	if !failed {
		return 0
	}
	b.delayed.Add(1)
	return max(0, committedAt.Add(b.ttl).Sub(b.now()))
}
