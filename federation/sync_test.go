package federation_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/federation"
)

// feedPuller answers Changes from pages keyed by cursor (or an error), and counts hints.
type feedPuller struct {
	mu    sync.Mutex
	pages map[string]federation.ChangePage
	errs  map[string]error
	asked []string
	hints int
}

func (f *feedPuller) Changes(_ context.Context, _ federation.Peer, cursor string, _ int) (federation.ChangePage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, cursor)
	if err := f.errs[cursor]; err != nil {
		return federation.ChangePage{}, err
	}
	p, ok := f.pages[cursor]
	if !ok {
		return federation.ChangePage{}, errors.New("no page at " + cursor)
	}
	return p, nil
}

func (f *feedPuller) Hint(context.Context, federation.Peer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hints++
	return nil
}

func (f *feedPuller) counts() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asked), f.hints
}

type replicas struct {
	mu      sync.Mutex
	applied []string
	dropped int
}

func (r *replicas) ApplyChanges(_ context.Context, origin string, ch []federation.Change) (federation.ApplyResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := federation.ApplyResult{}
	for _, c := range ch {
		if c.ID == "agt_bad" {
			res.Rejected++
			res.Problem = "card \"agt_bad\": malformed"
			continue
		}
		r.applied = append(r.applied, origin+"/"+c.ID)
		res.Applied++
	}
	return res, nil
}

func (r *replicas) ReplicaOrigins(context.Context) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, a := range r.applied {
		o, _, _ := strings.Cut(a, "/")
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out, nil
}

func (r *replicas) DropReplicas(_ context.Context, origin string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropped++
	kept := r.applied[:0]
	for _, a := range r.applied {
		if !strings.HasPrefix(a, origin+"/") {
			kept = append(kept, a)
		}
	}
	n := len(r.applied) - len(kept)
	r.applied = kept
	return n, nil
}

type cursors struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *cursors) SyncCursor(_ context.Context, td string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[td], nil
}

func (c *cursors) SetSyncCursor(_ context.Context, td, cursor string, _ time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[td] = cursor
	return nil
}

var peerB = federation.Peer{ID: "fpr_b", TrustDomain: "b.test", BaseURL: "https://b.test:8443", State: federation.StateActive}

func change(seq int64, id string) federation.Change {
	return federation.Change{Seq: seq, ID: id, Version: 1, Card: json.RawMessage(`{}`)}
}

func TestSyncer_PullAppliesPagesAndKeepsTheCursor(t *testing.T) {
	c1, c2 := federation.EncodeCursor(2), federation.EncodeCursor(9)
	p := &feedPuller{pages: map[string]federation.ChangePage{
		"": {Registry: "b.test", Changes: []federation.Change{change(1, "agt_1"), change(2, "agt_2")}, NextCursor: c1, More: true},
		c1: {Registry: "b.test", Changes: []federation.Change{change(3, "agt_bad"), change(4, "agt_1")}, NextCursor: c2},
		c2: {Registry: "b.test", Changes: []federation.Change{}, NextCursor: c2},
	}}
	r, cur := &replicas{}, &cursors{}
	var origins []string
	s := &federation.Syncer{Self: "a.test", Puller: p, Replicas: r, Cursors: cur, OnApplied: func(o string) { origins = append(origins, o) }}
	if err := s.Pull(context.Background(), peerB); err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.applied, ",") != "b.test/agt_1,b.test/agt_2,b.test/agt_1" || cur.m["b.test"] != c2 || len(origins) != 2 || origins[0] != "b.test" {
		t.Fatalf("applied %v, cursor %q, OnApplied %v", r.applied, cur.m["b.test"], origins)
	}
	h := s.Health("b.test")
	if h.Applied != 3 || h.Rejected != 1 || h.Cursor != c2 || h.LastSuccessAt == nil || h.ConsecutiveErrors != 0 || !strings.Contains(h.LastError, "agt_bad") {
		t.Fatalf("health %+v", h)
	}
	// The next pull resumes from the kept cursor: nothing new, nothing applied.
	if err := s.Pull(context.Background(), peerB); err != nil || p.asked[len(p.asked)-1] != c2 || len(origins) != 2 {
		t.Fatalf("resume: asked %v, %v", p.asked, err)
	}
}

func TestSyncer_GarbageIsRecordedNeverApplied(t *testing.T) {
	next := federation.EncodeCursor(5)
	for name, page := range map[string]federation.ChangePage{
		"another registry":        {Registry: "c.test", Changes: []federation.Change{change(1, "agt_1")}, NextCursor: next},
		"more without changes":    {Registry: "b.test", Changes: []federation.Change{}, NextCursor: next, More: true},
		"malformed cursor":        {Registry: "b.test", Changes: []federation.Change{change(1, "agt_1")}, NextCursor: "not-a-cursor"},
		"no cursor":               {Registry: "b.test", Changes: []federation.Change{change(1, "agt_1")}},
		"change without id":       {Registry: "b.test", Changes: []federation.Change{change(1, "")}, NextCursor: next},
		"change without position": {Registry: "b.test", Changes: []federation.Change{change(0, "agt_1")}, NextCursor: next},
		"too many changes":        {Registry: "b.test", Changes: make([]federation.Change, federation.MaxChangesLimit+1), NextCursor: next},
	} {
		t.Run(name, func(t *testing.T) {
			r, cur := &replicas{}, &cursors{}
			s := &federation.Syncer{Self: "a.test", Puller: &feedPuller{pages: map[string]federation.ChangePage{"": page}}, Replicas: r, Cursors: cur}
			for i := 1; i <= 2; i++ {
				err := s.Pull(context.Background(), peerB)
				var ce *federation.CallError
				if !errors.As(err, &ce) || ce.Class != "bad_answer" {
					t.Fatalf("Pull = %v, want bad_answer", err)
				}
				if h := s.Health("b.test"); h.ConsecutiveErrors != i || h.TotalErrors != int64(i) || h.LastError == "" || h.LastErrorAt == nil {
					t.Fatalf("health %+v", h)
				}
			}
			if len(r.applied) != 0 || cur.m["b.test"] != "" {
				t.Fatalf("applied %v, cursor %q", r.applied, cur.m["b.test"])
			}
		})
	}
}

func TestSyncer_RefusedCursorStartsAgainFromTheBeginning(t *testing.T) {
	stale := federation.EncodeCursor(99)
	p := &feedPuller{
		errs: map[string]error{stale: &federation.CallError{Class: "http_400", Err: apperr.New(apperr.BadRequest, federation.CodeCursorAhead, "ahead")}},
		pages: map[string]federation.ChangePage{
			"": {Registry: "b.test", Changes: []federation.Change{change(1, "agt_1")}, NextCursor: federation.EncodeCursor(1)},
		},
	}
	r, cur := &replicas{applied: []string{"b.test/agt_old"}}, &cursors{m: map[string]string{"b.test": stale}}
	s := &federation.Syncer{Self: "a.test", Puller: p, Replicas: r, Cursors: cur}
	if err := s.Pull(context.Background(), peerB); err != nil {
		t.Fatal(err)
	}
	if r.dropped != 1 || strings.Join(r.applied, ",") != "b.test/agt_1" || cur.m["b.test"] != federation.EncodeCursor(1) {
		t.Fatalf("dropped %d, applied %v, cursor %q", r.dropped, r.applied, cur.m["b.test"])
	}
	// A refusal of the cursor "" itself is an error, not a loop.
	p.errs[""] = p.errs[stale]
	cur.m["b.test"] = ""
	if err := s.Pull(context.Background(), peerB); err == nil || r.dropped != 1 {
		t.Fatalf("refused empty cursor: %v, dropped %d", err, r.dropped)
	}
}

func TestSyncer_PullsTrackedPeersOnHintsAndHintsThemOnChanges(t *testing.T) {
	done := federation.EncodeCursor(1)
	p := &feedPuller{pages: map[string]federation.ChangePage{
		"":   {Registry: "b.test", Changes: []federation.Change{change(1, "agt_1")}, NextCursor: done},
		done: {Registry: "b.test", Changes: []federation.Change{}, NextCursor: done},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	s := &federation.Syncer{Self: "a.test", Puller: p, Replicas: &replicas{}, Cursors: &cursors{}, Interval: time.Hour, HintDelay: 10 * time.Millisecond}
	s.Notify() // before Start: nothing to do
	s.Start(ctx)
	s.Track([]federation.Peer{peerB})
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("no pull at start", func() bool { n, _ := p.counts(); return n == 1 })
	if !s.Hint("b.test") || s.Hint("c.test") {
		t.Fatal("Hint of a tracked / untracked peer")
	}
	wait("no pull on the hint", func() bool { n, _ := p.counts(); return n == 2 })
	if s.Health("b.test").LastHintAt == nil {
		t.Fatal("hint not in health")
	}
	s.Notify()
	s.Notify()
	wait("peers not hinted", func() bool { _, h := p.counts(); return h == 1 })
	s.Track(nil)
	if s.Hint("b.test") {
		t.Fatal("an untracked peer still has a puller")
	}
	cancel()
	s.Wait()
}

func TestSyncer_ForgetsPeersNoLongerActive(t *testing.T) {
	done := federation.EncodeCursor(1)
	p := &feedPuller{pages: map[string]federation.ChangePage{
		"":   {Registry: "b.test", Changes: []federation.Change{change(1, "agt_1")}, NextCursor: done},
		done: {Registry: "b.test", Changes: []federation.Change{}, NextCursor: done},
	}}
	// Copies of z.test, a peer that is no longer ACTIVE, from before this process started.
	r, cur := &replicas{applied: []string{"z.test/agt_9"}}, &cursors{m: map[string]string{"z.test": federation.EncodeCursor(9)}}
	var origins []string
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel() }()
	s := &federation.Syncer{Self: "a.test", Puller: p, Replicas: r, Cursors: cur, Interval: time.Hour,
		OnApplied: func(o string) { mu.Lock(); origins = append(origins, o); mu.Unlock() }}
	s.Start(ctx)
	s.Track([]federation.Peer{peerB})
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	state := func() (int, []string, string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		cur.mu.Lock()
		defer cur.mu.Unlock()
		return r.dropped, append([]string(nil), r.applied...), cur.m["b.test"]
	}
	wait("z.test's copies kept, or b.test not pulled", func() bool {
		d, a, c := state()
		return d == 1 && len(a) == 1 && a[0] == "b.test/agt_1" && c == done
	})
	// b.test deactivated: its copies and cursor go.
	s.Track(nil)
	wait("b.test's copies kept", func() bool { d, a, c := state(); return d == 2 && len(a) == 0 && c == "" })
	mu.Lock()
	defer mu.Unlock()
	if len(origins) < 2 || origins[len(origins)-1] != "b.test" {
		t.Fatalf("OnApplied %v", origins)
	}
	if cur.m["z.test"] != "" {
		t.Fatalf("z.test's cursor kept: %q", cur.m["z.test"])
	}
}
