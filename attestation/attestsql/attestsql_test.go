package attestsql_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/attestation"
	"github.com/sovereign-stack/sovereign/attestation/attestsql"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

var lim = attestation.Limits{Cooldown: 24 * time.Hour, Daily: 10}

func att(typ, subject, attester, ev string, at time.Time) attestation.Attestation {
	d := sha256.Sum256([]byte(ev))
	st := attestation.Statement{Type: typ, Subject: subject, Attester: attester, EvidenceHash: "sha256:" + hex.EncodeToString(d[:]),
		EvidenceURI: "https://e.example.com/" + ev, IssuedAt: at.Truncate(time.Second)}
	if typ == attestation.TypeTaskCompleted {
		st.TransferID = "tx_" + ev
	}
	return attestation.Attestation{ID: st.ID(), Statement: st, Signature: attestation.Signature{Signer: attester, Alg: attestation.AlgJWTSVID, Value: "tok"},
		Reward: avt.MustParse("0.5"), RewardKey: attestation.RewardKey(subject, typ, st.EvidenceHash), CreatedAt: at}
}

func TestStore_InsertUnderTheLimitsReadListAndPay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := attestsql.New(db)
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
		first := att(attestation.TypeTaskCompleted, "agt_b", "agt_b", "task1", t0)
		co := attestation.Signature{Signer: "agt_a", Alg: attestation.AlgEdDSA, Key: "did:key:z6Mk", Value: "sig"}
		first.Cosignature = &co
		if err := s.Insert(ctx, first, lim); err != nil {
			t.Fatal(err)
		}
		want := func(a attestation.Attestation, code string) {
			t.Helper()
			if err := s.Insert(ctx, a, lim); apperr.CodeOf(err) != code {
				t.Fatalf("insert %s/%s: %v, want %s", a.Type, a.EvidenceHash[:12], err, code)
			}
		}
		want(first, "ATTESTATION_REPLAYED")
		again := att(attestation.TypeTaskCompleted, "agt_b", "agt_b", "task2", t0.Add(time.Hour))
		again.TransferID = first.TransferID
		want(again, "TRANSFER_ALREADY_ATTESTED")
		want(att(attestation.TypeTaskCompleted, "agt_b", "agt_b", "task3", t0.Add(23*time.Hour)), "ATTESTATION_COOLDOWN")
		want(att(attestation.TypeTaskCompleted, "agt_b", "agt_b", "task3", t0.Add(24*time.Hour+time.Second)), "")
		for i := range 8 {
			want(att(attestation.TypeCodeReview, "agt_b", fmt.Sprintf("agt_r%d", i), fmt.Sprintf("cr%d", i), t0.Add(24*time.Hour+time.Duration(i+2)*time.Second)), "")
		}
		// Ten in the last 24 hours (task3 and the eight reviews, and task1 fell out of the window).
		want(att(attestation.TypeDataQuality, "agt_b", "agt_q", "dq", t0.Add(24*time.Hour+time.Minute)), "")
		want(att(attestation.TypeDataQuality, "agt_b", "agt_q2", "dq2", t0.Add(24*time.Hour+2*time.Minute)), "ATTESTATION_DAILY_LIMIT")
		// Another subject is not limited by b's.
		want(att(attestation.TypeDataQuality, "agt_c", "agt_q", "dq", t0.Add(24*time.Hour+2*time.Minute)), "")

		got, ok, err := s.Get(ctx, first.ID)
		if err != nil || !ok || got.Cosignature == nil || *got.Cosignature != co || got.Reward.String() != "0.5" || !got.CreatedAt.Equal(first.CreatedAt) ||
			!got.IssuedAt.Equal(first.IssuedAt) || got.RewardPaid || got.TransferID != first.TransferID {
			t.Fatalf("read back %+v %v %v", got, ok, err)
		}
		if _, ok, err := s.Get(ctx, "att_nope"); ok || err != nil {
			t.Fatalf("absent: %v %v", ok, err)
		}
		// Listing newest first, in pages, with filters.
		var ids []string
		var after *attestation.Cursor
		for {
			page, err := s.List(ctx, attestation.Query{Subject: "agt_b"}, after, 4)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				ids = append(ids, a.ID)
			}
			if len(page) < 4 {
				break
			}
			l := page[len(page)-1]
			after = &attestation.Cursor{CreatedAt: l.CreatedAt, ID: l.ID}
		}
		if len(ids) != 11 || ids[10] != first.ID {
			t.Fatalf("listed %d, last %s", len(ids), ids[len(ids)-1])
		}
		if l, _ := s.List(ctx, attestation.Query{Subject: "agt_b", Type: attestation.TypeDataQuality}, nil, 50); len(l) != 1 {
			t.Fatalf("data_quality of b: %d", len(l))
		}
		if l, _ := s.List(ctx, attestation.Query{Attester: "agt_q"}, nil, 50); len(l) != 2 {
			t.Fatalf("by q: %d", len(l))
		}
		// Unpaid until marked; counts per subject.
		unpaid, err := s.Unpaid(ctx, 100)
		if err != nil || len(unpaid) != 12 || unpaid[0].ID != first.ID {
			t.Fatalf("unpaid: %d %v", len(unpaid), err)
		}
		if err := s.MarkPaid(ctx, first.ID, "idem:x"); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Get(ctx, first.ID); !got.RewardPaid || got.RewardTransfer != "idem:x" {
			t.Fatalf("after MarkPaid: %+v", got)
		}
		if unpaid, _ := s.Unpaid(ctx, 100); len(unpaid) != 11 {
			t.Fatalf("unpaid after one payment: %d", len(unpaid))
		}
		counts, err := s.AttestationCounts(ctx)
		if err != nil || counts["agt_b"] != 11 || counts["agt_c"] != 1 || len(counts) != 2 {
			t.Fatalf("counts %v %v", counts, err)
		}
		if n, err := s.AttestationCount(ctx, "agt_b"); n != 11 || err != nil {
			t.Fatalf("count of b = %d %v", n, err)
		}
	})
}

// TestStore_ConcurrentInsertsKeepTheDailyLimit: 25 attesters attest one subject at once, from
// separate connections; exactly the daily limit of them are stored.
func TestStore_ConcurrentInsertsKeepTheDailyLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := attestsql.New(db)
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for i := range 25 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Insert(ctx, att(attestation.TypeCodeReview, "agt_b", fmt.Sprintf("agt_r%02d", i), fmt.Sprintf("ev%d", i), t0.Add(time.Duration(i)*time.Microsecond)), lim)
				mu.Lock()
				codes[apperr.CodeOf(err)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[""] != 10 || codes["ATTESTATION_DAILY_LIMIT"] != 15 {
			t.Fatalf("outcomes %v, want 10 stored and 15 over the daily limit", codes)
		}
		if n, _ := s.AttestationCount(ctx, "agt_b"); n != 10 {
			t.Fatalf("stored %d", n)
		}
	})
}
