package federation

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
)

// Sync defaults.
const (
	// DefaultSyncInterval is how often each ACTIVE peer's feed is pulled without a hint.
	DefaultSyncInterval = 30 * time.Second
	// DefaultPullTimeout bounds one request for a page of a peer's feed (a slow or endless
	// answer is cut there).
	DefaultPullTimeout = 10 * time.Second
	// DefaultHintDelay is how long local changes gather before the peers are hinted (one hint
	// for a burst of publications).
	DefaultHintDelay = 500 * time.Millisecond
	// MinRetry is the first wait after a failed pull; it doubles up to the interval.
	MinRetry = time.Second
	// maxPagesPerPull bounds the pages one pull reads before it lets the next one start
	// (a peer whose feed never ends cannot keep its puller busy for ever).
	maxPagesPerPull = 10000
)

// Puller reads a peer's change feed and hints a peer (over mutual TLS).
type Puller interface {
	// Changes asks p for the changes of its own cards after cursor.
	Changes(ctx context.Context, p Peer, cursor string, limit int) (ChangePage, error)
	// Hint tells p that this registry's cards changed (p pulls soon).
	Hint(ctx context.Context, p Peer) error
}

// ApplyResult counts what applying a page did.
type ApplyResult struct {
	// Applied changes (copies written or removed).
	Applied int
	// Stale changes: not later in the origin's feed than the copy already here.
	Stale int
	// Rejected changes: malformed cards, or ids of cards that are not this origin's here.
	Rejected int
	// Problem says why the first change was rejected ("" when none was).
	Problem string
}

// Replicas stores the copies of peers' cards.
type Replicas interface {
	// ApplyChanges applies a page of origin's changes in order: a change later in origin's
	// feed (Seq) than the one the copy holds replaces it (the origin wins), a tombstone
	// removes it, an earlier or repeated one is ignored (stale); a malformed card or one whose id names a card not of origin is rejected and
	// the others still apply.
	ApplyChanges(ctx context.Context, origin string, changes []Change) (ApplyResult, error)
	// DropReplicas removes every copy of origin's cards.
	DropReplicas(ctx context.Context, origin string) (int, error)
	// ReplicaOrigins lists the origins of the copies held.
	ReplicaOrigins(ctx context.Context) ([]string, error)
}

// CursorStore keeps where this registry stands in each peer's feed.
type CursorStore interface {
	// SyncCursor is the cursor kept for the peer of trust domain td ("" when none).
	SyncCursor(ctx context.Context, td string) (string, error)
	// SetSyncCursor keeps cursor for td.
	SetSyncCursor(ctx context.Context, td, cursor string, at time.Time) error
}

// SyncHealth is what this registry saw of a peer's feed.
type SyncHealth struct {
	LastPullAt        *time.Time `json:"last_pull_at,omitempty"`
	LastSuccessAt     *time.Time `json:"last_success_at,omitempty"`
	LastErrorAt       *time.Time `json:"last_error_at,omitempty"`
	LastError         string     `json:"last_error,omitempty"`
	ConsecutiveErrors int        `json:"consecutive_errors"`
	TotalErrors       int64      `json:"total_errors"`
	// Applied, Stale and Rejected count the changes of the peer's feed since this process
	// started.
	Applied  int64 `json:"applied"`
	Stale    int64 `json:"stale"`
	Rejected int64 `json:"rejected"`
	// Cursor is where the next pull starts.
	Cursor string `json:"cursor,omitempty"`
	// LastHintAt is when the peer last hinted that its cards changed.
	LastHintAt *time.Time `json:"last_hint_at,omitempty"`
}

// Syncer keeps copies of the ACTIVE peers' cards: a puller per peer reads the peer's change
// feed from its durable cursor at once (catching up after downtime), then on every Interval
// and whenever the peer hints, and applies each page before it keeps the page's cursor (a
// crash re-reads at most a page; applying is idempotent). A peer that stops being ACTIVE has
// its copies and cursor dropped (Forget). It also hints the peers, after a short delay that
// gathers a burst, when this registry's own cards change (Notify).
type Syncer struct {
	// Self is this registry's trust domain.
	Self     string
	Puller   Puller
	Replicas Replicas
	Cursors  CursorStore
	// Interval between pulls of a peer (DefaultSyncInterval when 0).
	Interval time.Duration
	// PullTimeout bounds one page request (DefaultPullTimeout when 0).
	PullTimeout time.Duration
	// HintDelay gathers local changes before the peers are hinted (DefaultHintDelay when 0).
	HintDelay time.Duration
	// PageSize is the changes asked per page (MaxChangesLimit when 0).
	PageSize int
	// Ready, when set, says whether a peer can be called yet (its trust bundle fetched): a
	// new puller waits for it, up to PullTimeout, before its first pull.
	Ready func(td string) bool
	// OnApplied, when set, is called with the origin's trust domain after a page of its
	// changes changed copies here (caches of federated answers drop that origin's entries).
	// Set it before Start, or later with SetOnApplied.
	OnApplied func(origin string)
	Log       *slog.Logger

	mu      sync.Mutex
	ctx     context.Context
	peers   map[string]*pullState
	locks   map[string]*sync.Mutex // one pull or forget of a peer at a time
	first   bool                   // Track has run
	health  map[string]*SyncHealth
	wg      sync.WaitGroup
	notify  chan struct{}
	started bool
}

type pullState struct {
	peer   Peer
	cancel context.CancelFunc
	hint   chan struct{}
}

func (s *Syncer) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return DefaultSyncInterval
}

func (s *Syncer) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// SetOnApplied sets OnApplied while pullers may be running.
func (s *Syncer) SetOnApplied(fn func(origin string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.OnApplied = fn
}

// applied tells OnApplied that origin's copies changed.
func (s *Syncer) applied(origin string) {
	s.mu.Lock()
	fn := s.OnApplied
	s.mu.Unlock()
	if fn != nil {
		fn(origin)
	}
}

// Start binds the pullers and the hint sender to ctx (they stop when it ends); call it once,
// before Track.
func (s *Syncer) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started, s.ctx = true, ctx
	s.peers, s.notify = map[string]*pullState{}, make(chan struct{}, 1)
	s.wg.Add(1)
	go s.hinter(ctx)
}

// Track runs a puller for exactly the given ACTIVE peers: it starts one for each new peer
// (or one whose base URL changed) and stops the others.
func (s *Syncer) Track(active []Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return
	}
	want := map[string]Peer{}
	for _, p := range active {
		want[p.TrustDomain] = p
	}
	for td, st := range s.peers {
		if p, ok := want[td]; !ok || p.BaseURL != st.peer.BaseURL {
			st.cancel()
			delete(s.peers, td)
			if !ok {
				s.forgetLater(td)
			}
		}
	}
	if !s.first {
		// Copies of origins that stopped being ACTIVE while this process was not running.
		s.first = true
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			origins, err := s.Replicas.ReplicaOrigins(s.ctx)
			if err != nil {
				s.log().Warn("federation: list the origins of copies", "err", err)
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, td := range origins {
				if _, ok := s.peers[td]; !ok {
					s.forgetLater(td)
				}
			}
		}()
	}
	for td, p := range want {
		if _, ok := s.peers[td]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(s.ctx)
		st := &pullState{peer: p, cancel: cancel, hint: make(chan struct{}, 1)}
		s.peers[td] = st
		s.healthOf(td)
		s.wg.Add(1)
		go s.run(ctx, st)
	}
}

// lock is the lock of td's pulls and forgets.
func (s *Syncer) lock(td string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks == nil {
		s.locks = map[string]*sync.Mutex{}
	}
	l := s.locks[td]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[td] = l
	}
	return l
}

// forgetLater drops td's copies and cursor in the background (s.mu is held).
func (s *Syncer) forgetLater(td string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.Forget(s.ctx, td); err != nil && s.ctx.Err() == nil {
			s.log().Warn("federation: drop the copies of a peer no longer active", "trust_domain", td, "err", err)
		}
	}()
}

// Forget drops the copies of td's cards and its cursor (td is no longer an ACTIVE peer): its
// cards leave local discovery, and should it become ACTIVE again, it syncs from the
// beginning. It waits for a pull of td under way to end.
func (s *Syncer) Forget(ctx context.Context, td string) error {
	l := s.lock(td)
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	_, tracked := s.peers[td]
	s.mu.Unlock()
	if tracked { // ACTIVE again meanwhile
		return nil
	}
	n, err := s.Replicas.DropReplicas(ctx, td)
	if err != nil {
		return err
	}
	if err := s.Cursors.SetSyncCursor(ctx, td, "", time.Now().UTC()); err != nil {
		return err
	}
	if n > 0 {
		s.log().Info("federation: dropped the copies of a peer no longer active", "trust_domain", td, "cards", n)
		s.applied(td)
	}
	return nil
}

// Wait waits for the pullers and the hint sender to stop (after Start's context ended).
func (s *Syncer) Wait() { s.wg.Wait() }

// Hint asks for a pull of td's feed now (a peer said its cards changed). It reports whether
// td has a puller.
func (s *Syncer) Hint(td string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.peers[td]
	if !ok {
		return false
	}
	now := time.Now().UTC()
	s.healthOf(td).LastHintAt = &now
	select {
	case st.hint <- struct{}{}:
	default:
	}
	return true
}

// Notify says that this registry's own cards changed: the ACTIVE peers are hinted after
// HintDelay (one hint for all the changes of that delay).
func (s *Syncer) Notify() {
	s.mu.Lock()
	ch := s.notify
	s.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Health is what this registry saw of td's feed (zero when it never pulled it).
func (s *Syncer) Health(td string) SyncHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.health[td]; ok {
		return *h
	}
	return SyncHealth{}
}

// hinter sends the hints Notify asks for.
func (s *Syncer) hinter(ctx context.Context) {
	defer s.wg.Done()
	delay := s.HintDelay
	if delay <= 0 {
		delay = DefaultHintDelay
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.notify:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		s.mu.Lock()
		peers := make([]Peer, 0, len(s.peers))
		for _, st := range s.peers {
			peers = append(peers, st.peer)
		}
		s.mu.Unlock()
		var wg sync.WaitGroup
		for _, p := range peers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hctx, cancel := context.WithTimeout(ctx, s.pullTimeout())
				defer cancel()
				if err := s.Puller.Hint(hctx, p); err != nil && ctx.Err() == nil {
					s.log().Debug("federation: hint failed", "trust_domain", p.TrustDomain, "err", err)
				}
			}()
		}
		wg.Wait()
	}
}

func (s *Syncer) pullTimeout() time.Duration {
	if s.PullTimeout > 0 {
		return s.PullTimeout
	}
	return DefaultPullTimeout
}

// run is the puller of one peer: a pull now, then after each interval or hint; after a
// failure, again after MinRetry doubling up to the interval.
func (s *Syncer) run(ctx context.Context, st *pullState) {
	defer s.wg.Done()
	if s.Ready != nil {
		for deadline := time.Now().Add(s.pullTimeout()); !s.Ready(st.peer.TrustDomain) && time.Now().Before(deadline); {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	retry := time.Duration(0)
	for {
		wait := s.interval()
		if err := s.Pull(ctx, st.peer); err != nil {
			if ctx.Err() != nil {
				return
			}
			retry = min(max(retry*2, MinRetry), s.interval())
			wait = retry
		} else {
			retry = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-st.hint:
		case <-t.C:
		}
		t.Stop()
	}
}

// Pull reads p's feed from the kept cursor until it is caught up, applying and keeping the
// cursor page by page (the next page is asked for while one is applied). A cursor the peer refuses (its feed restarted: ahead of its head, or
// not one it issued) drops p's copies and starts again from the beginning. Every failure is
// recorded in p's sync health.
func (s *Syncer) Pull(ctx context.Context, p Peer) error {
	l := s.lock(p.TrustDomain)
	l.Lock()
	err := s.pull(ctx, p)
	l.Unlock()
	s.record(p.TrustDomain, err)
	return err
}

func (s *Syncer) pull(ctx context.Context, p Peer) error {
	cursor, err := s.Cursors.SyncCursor(ctx, p.TrustDomain)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // a page asked ahead is abandoned on the way out
	type fetched struct {
		page ChangePage
		err  error
	}
	// fetch asks for the page at c in the background: the next page travels while this one
	// is applied.
	fetch := func(c string) <-chan fetched {
		ch := make(chan fetched, 1)
		go func() {
			pctx, cancel := context.WithTimeout(ctx, s.pullTimeout())
			defer cancel()
			page, err := s.Puller.Changes(pctx, p, c, s.pageSize())
			ch <- fetched{page, err}
		}()
		return ch
	}
	next := fetch(cursor)
	reset := false
	for range maxPagesPerPull {
		f := <-next
		page, err := f.page, f.err
		var ae *apperr.Error
		if errors.As(err, &ae) && (ae.Code == CodeCursorAhead || ae.Code == CodeInvalidCursor) && cursor != "" && !reset {
			n, derr := s.Replicas.DropReplicas(ctx, p.TrustDomain)
			if derr != nil {
				return derr
			}
			s.log().Warn("federation: the peer refused this registry's cursor; its copies are dropped and synced again",
				"trust_domain", p.TrustDomain, "code", ae.Code, "dropped", n)
			cursor, reset = "", true
			if err := s.Cursors.SetSyncCursor(ctx, p.TrustDomain, "", time.Now().UTC()); err != nil {
				return err
			}
			if n > 0 {
				s.applied(p.TrustDomain)
			}
			next = fetch(cursor)
			continue
		}
		if err != nil {
			return err
		}
		if err := checkPage(p, page); err != nil {
			return err
		}
		if page.More {
			next = fetch(page.NextCursor)
		}
		if len(page.Changes) > 0 {
			res, err := s.Replicas.ApplyChanges(ctx, p.TrustDomain, page.Changes)
			if err != nil {
				return err
			}
			s.count(p.TrustDomain, res)
			if res.Applied > 0 {
				s.applied(p.TrustDomain)
			}
		}
		if page.NextCursor != cursor {
			if err := s.Cursors.SetSyncCursor(ctx, p.TrustDomain, page.NextCursor, time.Now().UTC()); err != nil {
				return err
			}
			cursor = page.NextCursor
		}
		s.mu.Lock()
		s.healthOf(p.TrustDomain).Cursor = cursor
		s.mu.Unlock()
		if !page.More {
			return nil
		}
	}
	return nil
}

func (s *Syncer) pageSize() int {
	if s.PageSize > 0 {
		return ClampChangesLimit(s.PageSize)
	}
	return MaxChangesLimit
}

// checkPage refuses a page that is not p's or that cannot be followed: another registry's
// name, a cursor this registry could not send back, more changes than any page holds, a
// page that says there is more without moving on, changes without an id or version.
func checkPage(p Peer, page ChangePage) error {
	bad := func(why string) error { return &CallError{Class: "bad_answer", Err: errors.New(why)} }
	switch {
	case page.Registry != p.TrustDomain:
		return bad("the feed answered as registry " + page.Registry)
	case len(page.Changes) > MaxChangesLimit:
		return bad("the feed answered more changes than a page holds")
	case page.More && len(page.Changes) == 0:
		return bad("the feed said it has more but sent nothing")
	}
	if _, err := ParseCursor(page.NextCursor); err != nil || page.NextCursor == "" {
		return bad("the feed answered a malformed cursor")
	}
	for _, c := range page.Changes {
		if c.ID == "" || len(c.ID) > 64 || c.Version < 1 || c.Seq < 1 {
			return bad("the feed answered a change without a valid id, version or seq")
		}
	}
	return nil
}

// healthOf is td's health record, created on first use; s.mu is held.
func (s *Syncer) healthOf(td string) *SyncHealth {
	if s.health == nil {
		s.health = map[string]*SyncHealth{}
	}
	h := s.health[td]
	if h == nil {
		h = &SyncHealth{}
		s.health[td] = h
	}
	return h
}

func (s *Syncer) count(td string, r ApplyResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.healthOf(td)
	h.Applied += int64(r.Applied)
	h.Stale += int64(r.Stale)
	h.Rejected += int64(r.Rejected)
	if r.Problem != "" {
		now := time.Now().UTC()
		h.LastErrorAt, h.LastError = &now, "rejected change: "+r.Problem
	}
}

func (s *Syncer) record(td string, err error) {
	now := time.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.healthOf(td)
	h.LastPullAt = &now
	if err == nil {
		h.LastSuccessAt, h.ConsecutiveErrors = &now, 0
		return
	}
	h.LastErrorAt, h.LastError = &now, err.Error()
	h.ConsecutiveErrors++
	h.TotalErrors++
}
