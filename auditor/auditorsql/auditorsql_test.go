package auditorsql_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/auditor/auditorsql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

func flag(id, key string, rule auditor.Rule, subject string, at time.Time) auditor.Flag {
	return auditor.Flag{ID: id, Rule: rule, Severity: auditor.SeverityHigh, Subject: subject, Agents: []string{subject, "agt_other"},
		Evidence: []uint64{3, 5, 8}, Detail: "seen", DedupeKey: key, Status: auditor.StatusNew, CreatedAt: at, UpdatedAt: at}
}

func TestLease_OneHolderAtATime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := auditorsql.New(db)
		now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		// Ten replicas claim at once: one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := fmt.Sprintf("r%d", i)
				ok, err := s.ClaimLease(ctx, h, now, 10*time.Second)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					winners = append(winners, h)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("winners %v", winners)
		}
		w := winners[0]
		other := "someone-else"
		if ok, _ := s.ClaimLease(ctx, w, now.Add(5*time.Second), 10*time.Second); !ok {
			t.Fatal("the holder could not renew")
		}
		if ok, _ := s.ClaimLease(ctx, other, now.Add(14*time.Second), 10*time.Second); ok {
			t.Fatal("claimed a renewed lease")
		}
		// The holder commits; another cannot.
		if _, err := s.Commit(ctx, other, 9, now, []auditor.Flag{flag("flg_x", "k-x", auditor.HighVelocity, "agt_a", now)}, nil); !errors.Is(err, auditor.ErrLeaseLost) {
			t.Fatalf("commit without the lease: %v", err)
		}
		if n, err := s.Commit(ctx, w, 7, now, nil, []byte("state")); err != nil || n != 0 {
			t.Fatal(n, err)
		}
		// Expired: another replica takes it over, and the old holder's commit is refused.
		if ok, _ := s.ClaimLease(ctx, other, now.Add(16*time.Second), 10*time.Second); !ok {
			t.Fatal("could not take over an expired lease")
		}
		if _, err := s.Commit(ctx, w, 8, now, nil, nil); !errors.Is(err, auditor.ErrLeaseLost) {
			t.Fatalf("commit after losing the lease: %v", err)
		}
		cp, err := s.Checkpoint(ctx)
		if err != nil || cp.Cursor != 7 || cp.SnapshotSeq != 7 || string(cp.Snapshot) != "state" || cp.Holder != other || !cp.CursorTime.Equal(now) {
			t.Fatalf("checkpoint %+v %v", cp, err)
		}
		// A commit without a snapshot keeps the last one.
		if _, err := s.Commit(ctx, other, 12, now.Add(time.Second), nil, nil); err != nil {
			t.Fatal(err)
		}
		if cp, _ := s.Checkpoint(ctx); cp.Cursor != 12 || cp.SnapshotSeq != 7 || string(cp.Snapshot) != "state" {
			t.Fatalf("checkpoint %+v", cp)
		}
	})
}

func TestFlags_DedupeListReviewConfirmed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := auditorsql.New(db)
		now := time.Date(2026, 5, 1, 0, 0, 0, 123000, time.UTC)
		if ok, err := s.ClaimLease(ctx, "r", now, time.Minute); !ok || err != nil {
			t.Fatal(ok, err)
		}
		fs := []auditor.Flag{
			flag("flg_1", "k1", auditor.CircularFlow, "agt_a", now),
			flag("flg_2", "k2", auditor.SybilFunnel, "agt_b", now),
			flag("flg_3", "k1", auditor.CircularFlow, "agt_a", now), // the same pattern again
		}
		if n, err := s.Commit(ctx, "r", 10, now, fs, nil); err != nil || n != 2 {
			t.Fatalf("inserted %d (%v), want 2", n, err)
		}
		if n, err := s.Commit(ctx, "r", 11, now, fs[:1], nil); err != nil || n != 0 {
			t.Fatalf("inserted %d again (%v)", n, err)
		}
		for i := 4; i < 9; i++ {
			if _, err := s.Commit(ctx, "r", 11, now, []auditor.Flag{flag(fmt.Sprintf("flg_%d", i), fmt.Sprintf("k%d", i), auditor.HighVelocity, "agt_c", now)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		f, err := s.Flag(ctx, "flg_1")
		if err != nil || f.Rule != auditor.CircularFlow || f.Severity != auditor.SeverityHigh || fmt.Sprint(f.Agents) != "[agt_a agt_other]" ||
			fmt.Sprint(f.Evidence) != "[3 5 8]" || f.Detail != "seen" || f.Status != auditor.StatusNew || !f.CreatedAt.Equal(now) {
			t.Fatalf("flag read back %+v %v", f, err)
		}
		if _, err := s.Flag(ctx, "flg_nope"); apperr.CodeOf(err) != "FLAG_NOT_FOUND" {
			t.Fatalf("unknown flag: %v", err)
		}
		// Newest first (by id), pages, filters.
		var ids []string
		before := ""
		for {
			page, err := s.Flags(ctx, auditor.FlagQuery{Before: before, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range page {
				ids = append(ids, f.ID)
			}
			if len(page) < 3 {
				break
			}
			before = page[len(page)-1].ID
		}
		if fmt.Sprint(ids) != "[flg_8 flg_7 flg_6 flg_5 flg_4 flg_2 flg_1]" {
			t.Fatalf("pages %v", ids)
		}
		for q, want := range map[auditor.FlagQuery]int{
			{Rule: auditor.HighVelocity, Limit: 50}: 5, {Subject: "agt_b", Limit: 50}: 1, {Status: auditor.StatusResolved, Limit: 50}: 0,
			{Rule: auditor.CircularFlow, Subject: "agt_a", Status: auditor.StatusNew, Limit: 50}: 1,
		} {
			if got, err := s.Flags(ctx, q); err != nil || len(got) != want {
				t.Errorf("%+v: %d flags (%v), want %d", q, len(got), err, want)
			}
		}
		// Review: compare and set on the status.
		f.Status, f.Resolution, f.ReviewedBy, f.UpdatedAt = auditor.StatusResolved, auditor.Confirmed, "dev_admin", now.Add(time.Hour)
		if err := s.UpdateFlag(ctx, f, auditor.StatusNew); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateFlag(ctx, f, auditor.StatusNew); apperr.CodeOf(err) != "FLAG_CHANGED" {
			t.Fatalf("stale update: %v", err)
		}
		g, _ := s.Flag(ctx, "flg_2")
		g.Status, g.Escalation, g.UpdatedAt = auditor.StatusEscalated, auditor.ToSuspension, now.Add(2*time.Hour)
		if err := s.UpdateFlag(ctx, g, auditor.StatusNew); err != nil {
			t.Fatal(err)
		}
		h, _ := s.Flag(ctx, "flg_4")
		h.Status, h.Resolution = auditor.StatusResolved, auditor.Dismissed
		if err := s.UpdateFlag(ctx, h, auditor.StatusNew); err != nil {
			t.Fatal(err)
		}
		c, err := s.ConfirmedFlags(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 3 || len(c["agt_a"]) != 1 || !c["agt_a"][0].Equal(now.Add(time.Hour)) || len(c["agt_b"]) != 1 || len(c["agt_other"]) != 2 || len(c["agt_c"]) != 0 {
			t.Fatalf("confirmed %v", c)
		}
	})
}

func TestParams_RoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := auditorsql.New(db)
		if _, ok, err := s.Params(ctx); ok || err != nil {
			t.Fatalf("params before any were set: %v %v", ok, err)
		}
		p := auditor.DefaultParams()
		p.VelocityCount, p.CircularWindow, p.Enabled[auditor.RatingRing] = 7, auditor.Duration(90*time.Second), false
		if err := s.SetParams(ctx, p); err != nil {
			t.Fatal(err)
		}
		p.VelocityCount = 8
		if err := s.SetParams(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Params(ctx)
		if err != nil || !ok || got.VelocityCount != 8 || got.CircularWindow.D() != 90*time.Second || got.On(auditor.RatingRing) || !got.On(auditor.SybilFunnel) {
			t.Fatalf("params %+v %v %v", got, ok, err)
		}
	})
}
