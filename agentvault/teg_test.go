package agentvault_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/avt"
)

func TestTEG_PaymentsBetweenRegisteredAgents(t *testing.T) {
	st := startStack(t)
	ctx := context.Background()
	keys := agentvault.NewFileStore(filepath.Join(t.TempDir(), "keys.json"))
	alice := st.register(t, testCard("Alice", "https://alice.example", nil), keys)
	bob := st.register(t, testCard("Bob", "https://bob.example", nil), keys)
	a := agentvault.NewTEG(st.URL, alice.Tokens)
	b := agentvault.NewTEG(st.URL, bob.Tokens)
	aliceID, bobID := alice.Reg.Identity.ID, bob.Reg.Identity.ID

	bal, err := a.Balance(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if bal.Account != aliceID || bal.Liquid.Cmp(avt.AVT(100)) != 0 {
		t.Fatalf("starting balance %+v", bal)
	}
	if _, err := a.Balance(ctx, bobID); !agentvault.IsCode(err, "FORBIDDEN") {
		t.Fatalf("reading another's balance = %v", err)
	}

	// A transfer with an Idempotency-Key: a replay returns the first result, another body 409.
	tr, err := a.Transfer(ctx, bobID, avt.MustParse("10.5"), agentvault.WriteOptions{Message: "lunch", IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if tr.From != aliceID || tr.To != bobID || tr.Amount.String() != "10.5" || tr.Replayed {
		t.Fatalf("transfer %+v", tr)
	}
	again, err := a.Transfer(ctx, bobID, avt.MustParse("10.5"), agentvault.WriteOptions{Message: "lunch", IdempotencyKey: "k1"})
	if err != nil || !again.Replayed || again.ID != tr.ID {
		t.Fatalf("replay = %+v, %v", again, err)
	}
	if _, err := a.Transfer(ctx, bobID, avt.AVT(11), agentvault.WriteOptions{IdempotencyKey: "k1"}); !agentvault.IsCode(err, "IDEMPOTENCY_KEY_REUSED") {
		t.Fatalf("key reuse = %v", err)
	}
	if _, err := a.Transfer(ctx, bobID, avt.AVT(95), agentvault.WriteOptions{}); !agentvault.IsCode(err, "INSUFFICIENT_BALANCE") {
		t.Fatalf("overdraft = %v", err)
	}
	bb, err := b.Balance(ctx, "")
	if err != nil || bb.Liquid.String() != "110.5" {
		t.Fatalf("bob's balance %+v, %v", bb, err)
	}

	// Two-phase: hold, post part; hold, void.
	hold, err := a.Pending(ctx, bobID, avt.AVT(20), time.Minute, agentvault.WriteOptions{Message: "task fee"})
	if err != nil {
		t.Fatal(err)
	}
	if hold.Kind != "pending" || hold.State != "active" || hold.ExpiresAt == nil {
		t.Fatalf("hold %+v", hold)
	}
	locked, _ := a.Balance(ctx, "")
	if locked.Locked.IsZero() {
		t.Fatalf("nothing locked by the hold: %+v", locked)
	}
	part := avt.AVT(5)
	posted, err := a.Post(ctx, hold.ID, &part, "")
	if err != nil || posted.Amount.String() != "5" {
		t.Fatalf("post = %+v, %v", posted, err)
	}
	hold2, err := a.Pending(ctx, bobID, avt.AVT(3), 0, agentvault.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Void(ctx, hold2.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Void(ctx, hold2.ID, ""); err == nil {
		t.Fatal("voided twice")
	}
	final, _ := a.Balance(ctx, "")
	if !final.Locked.IsZero() {
		t.Fatalf("still locked after post and void: %+v", final)
	}

	hist, err := a.History(ctx, "", 2, "")
	if err != nil || len(hist.Items) != 2 || hist.NextCursor == "" {
		t.Fatalf("history page = %+v, %v", hist, err)
	}
	rest, err := a.History(ctx, "", 100, hist.NextCursor)
	if err != nil || len(rest.Items) == 0 || rest.Items[0].Seq >= hist.Items[1].Seq {
		t.Fatalf("next history page = %+v, %v", rest, err)
	}
}

// TestTEG_RetriesALostAnswerWithTheSameKey: when the connection drops before an answer, the
// write is sent again with the same Idempotency-Key; an error answer is not retried.
func TestTEG_RetriesALostAnswerWithTheSameKey(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		switch {
		case r.URL.Path == "/api/v1/token/transfer" && n == 1:
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close() // the answer is lost
		case r.URL.Path == "/api/v1/token/transfer":
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "tx_1", "amount": "1", "fee": "0.01", "replayed": true})
		default:
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":{"code":"PENDING_NOT_FOUND","message":"no"}}`))
		}
	}))
	defer hs.Close()
	teg := agentvault.NewTEG(hs.URL, agentvault.BearerToken("t"))
	tr, err := teg.Transfer(context.Background(), "agt_b", avt.AVT(1), agentvault.WriteOptions{})
	if err != nil || tr.ID != "tx_1" || tr.Fee.String() != "0.01" {
		t.Fatalf("transfer = %+v, %v", tr, err)
	}
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("idempotency keys %q: want one generated key sent twice", keys)
	}
	if _, err := teg.Void(context.Background(), "tx_x", "v1"); !agentvault.IsCode(err, "PENDING_NOT_FOUND") {
		t.Fatalf("void = %v", err)
	}
	if len(keys) != 3 || keys[2] != "v1" {
		t.Fatalf("an error answer was retried, or the caller's key not sent: %q", keys)
	}
}
