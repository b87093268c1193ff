package attestsql_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/attestation"
	"github.com/sovereign-stack/sovereign/attestation/attestsql"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
)

// ledger is the ledger as the property sees it: every wallet exists; grants are applied at most
// once per idempotency key (as teg's command ids are), and the treasury can fail before applying
// a grant (unreachable) or after (the answer lost: a crash between the grant and its record).
type ledger struct {
	grants map[string]teg.Transfer // by idempotency key
	paid   map[string]int          // grants applied per key
	to     map[string]avt.Amount   // credited per agent
	mode   int                     // 0 ok, 1 fail before applying, 2 fail after
}

var errTreasury = errors.New("treasury unreachable")

func (l *ledger) Transfer(context.Context, string) (teg.Transfer, bool, error) {
	return teg.Transfer{}, false, nil
}

func (l *ledger) Account(_ context.Context, id teg.AccountID) (teg.Account, error) {
	return teg.Account{ID: id}, nil
}

func (l *ledger) Grant(_ context.Context, to teg.AccountID, amount avt.Amount, _, key string) (teg.Transfer, bool, error) {
	if l.mode == 1 {
		return teg.Transfer{}, false, errTreasury
	}
	t, replay := l.grants[key]
	if !replay {
		t = teg.Transfer{ID: "idem:registry:" + key, To: to, Amount: amount}
		l.grants[key] = t
		l.paid[key]++
		l.to[string(to)], _ = l.to[string(to)].Add(amount)
	}
	if l.mode == 2 {
		return teg.Transfer{}, false, errTreasury
	}
	return t, replay, nil
}

// directory holds the attesters' keys, each of its own developer.
type directory map[string]ed25519.PrivateKey

func (d directory) Agent(_ context.Context, id string) (attestation.Agent, bool, error) {
	k, ok := d[id]
	if !ok {
		return attestation.Agent{}, false, nil
	}
	return attestation.Agent{ID: id, DeveloperID: "dev_" + id, PublicKey: k.Public().(ed25519.PublicKey), Status: "active"}, true, nil
}

// TestProperty_EveryAcceptedAttestationIsPaidExactlyOnce submits random attestations — new ones,
// replays, repeats within the cooldown, bursts past the daily limit — while the treasury fails
// before or after applying grants, retries the unpaid, and moves the clock. After every step: no
// reward key was applied twice, only accepted attestations are stored, and the cooldown and the
// daily limit hold among them. At the end, with the treasury back, every stored attestation is
// paid exactly once: the subjects hold 0.5 AVT per attestation, no more.
func TestProperty_EveryAcceptedAttestationIsPaidExactlyOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		st := attestsql.New(db)
		var run atomic.Int64
		rapid.Check(t, func(rt *rapid.T) {
			prefix := fmt.Sprintf("agt_p%d_", run.Add(1))
			l := &ledger{grants: map[string]teg.Transfer{}, paid: map[string]int{}, to: map[string]avt.Amount{}}
			dir := directory{}
			var attesters []string
			for i := range 14 {
				seed := sha256.Sum256([]byte(fmt.Sprintf("%s%d", prefix, i)))
				a := fmt.Sprintf("%sr%d", prefix, i)
				dir[a] = ed25519.NewKeyFromSeed(seed[:])
				attesters = append(attesters, a)
			}
			subjects := []string{prefix + "s0", prefix + "s1"}
			now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			svc := &attestation.Service{Store: st, Ledger: l, Treasury: l, Directory: dir, Authz: policy.New(), Now: func() time.Time { return now }}
			accepted := map[string]attestation.Attestation{} // by id

			for steps := rapid.IntRange(1, 40).Draw(rt, "steps"); steps > 0; steps-- {
				l.mode = rapid.IntRange(0, 2).Draw(rt, "treasury")
				switch rapid.IntRange(0, 5).Draw(rt, "op") {
				case 0:
					now = now.Add(time.Duration(rapid.IntRange(1, 30).Draw(rt, "hours")) * time.Hour)
				case 1:
					if _, err := svc.PayPending(ctx, 100); err != nil && !errors.Is(err, errTreasury) {
						rt.Fatal(err)
					}
				default:
					attester := rapid.SampledFrom(attesters).Draw(rt, "attester")
					ev := sha256.Sum256([]byte(rapid.SampledFrom([]string{"a", "b", "c", "d", "e", "f"}).Draw(rt, "evidence")))
					s := attestation.Statement{Type: rapid.SampledFrom([]string{attestation.TypeCodeReview, attestation.TypeDataQuality}).Draw(rt, "type"),
						Subject: rapid.SampledFrom(subjects).Draw(rt, "subject"), Attester: attester, EvidenceHash: "sha256:" + hex.EncodeToString(ev[:]),
						EvidenceURI: "https://e.example.com/x", IssuedAt: now}
					caller := policy.Subject{Kind: policy.KindAgent, ID: attester, AuthMethod: policy.AuthJWTSVID}
					a, err := svc.Submit(ctx, caller, attestation.Submission{Statement: s, Signature: attestation.SignEd25519(s, attester, dir[attester])})
					switch apperr.CodeOf(err) {
					case "":
						if _, dup := accepted[a.ID]; dup {
							rt.Fatalf("accepted %s twice", a.ID)
						}
						accepted[a.ID] = a
					case "ATTESTATION_REPLAYED", "ATTESTATION_COOLDOWN", "ATTESTATION_DAILY_LIMIT":
					default:
						rt.Fatalf("submit: %v", err)
					}
				}
				for k, n := range l.paid {
					if n > 1 {
						rt.Fatalf("reward %s applied %d times", k, n)
					}
				}
				var stored []attestation.Attestation
				for _, sub := range subjects {
					page, err := st.List(ctx, attestation.Query{Subject: sub}, nil, 1000)
					if err != nil {
						rt.Fatal(err)
					}
					stored = append(stored, page...)
				}
				if len(stored) != len(accepted) {
					rt.Fatalf("%d stored, %d accepted", len(stored), len(accepted))
				}
				for i, a := range stored {
					if _, ok := accepted[a.ID]; !ok {
						rt.Fatalf("stored %s that was not accepted", a.ID)
					}
					inDay := 0
					for j, b := range stored {
						if b.Subject != a.Subject || b.CreatedAt.After(a.CreatedAt) || a.CreatedAt.Sub(b.CreatedAt) >= 24*time.Hour {
							continue
						}
						inDay++
						if i != j && b.Type == a.Type && b.Attester == a.Attester {
							rt.Fatalf("%s and %s within the cooldown", a.ID, b.ID)
						}
					}
					if inDay > attestation.DefaultDailyLimit {
						rt.Fatalf("%d attestations of %s in the day up to %s", inDay, a.Subject, a.CreatedAt)
					}
				}
			}
			l.mode = 0
			if _, err := svc.PayPending(ctx, 1000); err != nil {
				rt.Fatal(err)
			}
			perSubject := map[string]int{}
			for _, a := range accepted {
				got, ok, err := st.Get(ctx, a.ID)
				if err != nil || !ok || !got.RewardPaid || got.RewardTransfer != "idem:registry:"+a.RewardKey || l.paid[a.RewardKey] != 1 {
					rt.Fatalf("%s after the retry: %+v, applied %d times", a.ID, got, l.paid[a.RewardKey])
				}
				perSubject[a.Subject]++
			}
			if len(l.paid) != len(accepted) {
				rt.Fatalf("%d rewards applied for %d attestations", len(l.paid), len(accepted))
			}
			for _, sub := range subjects {
				want, _ := avt.MustParse("0.5").MulDiv(uint64(perSubject[sub]), 1)
				if l.to[sub] != want {
					rt.Fatalf("%s holds %s for %d attestations", sub, l.to[sub], perSubject[sub])
				}
			}
		})
	})
}
