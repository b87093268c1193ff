package a2a_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// serviceLedger is a2a.PaymentLedger over a teg.Service in the same process: reads through the
// ledger store, settlements through the Service and so through the policy, acting as the
// subject As. (The policy lets a pending transfer's payer or an admin settle it; the tests act
// as an admin.)
type serviceLedger struct {
	svc   *teg.Service
	as    policy.Subject
	payee teg.AccountID
}

func (l *serviceLedger) Hold(ctx context.Context, id string) (a2a.Hold, error) {
	t, ok, err := l.svc.Store.Transfer(ctx, id)
	if err != nil {
		return a2a.Hold{}, err
	}
	if !ok || t.Kind != teg.KindPending || t.To != l.payee {
		return a2a.Hold{}, a2a.ErrHoldNotFound
	}
	h := a2a.Hold{ID: t.ID, From: string(t.From), To: string(t.To), Amount: t.Amount}
	switch t.State {
	case teg.PendingActive:
		h.State = a2a.HoldHeld
	case teg.PendingPosted:
		h.State = a2a.HoldPosted
	case teg.PendingVoided:
		h.State = a2a.HoldVoided
	case teg.PendingExpired:
		h.State = a2a.HoldExpired
	case teg.PendingFrozen:
		h.State = a2a.HoldFrozen
	}
	if t.ExpiresAt != nil {
		h.ExpiresAt = *t.ExpiresAt
	}
	return h, nil
}

func (l *serviceLedger) Post(ctx context.Context, id, key string) error {
	_, _, err := l.svc.Settle(ctx, l.as, id, true, nil, key)
	return err
}

func (l *serviceLedger) Void(ctx context.Context, id, key string) error {
	_, _, err := l.svc.Settle(ctx, l.as, id, false, nil, key)
	return err
}

// workExecutor: "fail" fails, "ask" asks for input (and completes on the answer), "hang" works
// until canceled, anything else completes with an artifact.
type workExecutor struct{}

func (workExecutor) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	in := rc.Message.GetParts()[0].GetText()
	switch {
	case rc.Task != nil:
	case in == "fail":
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_FAILED, a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, "could not"))
	case in == "ask":
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, "which one?"))
	case in == "hang":
		if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	}
	if err := q.Artifact(ctx, &a2apb.Artifact{ArtifactId: "out", Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: "done: " + in}}}}); err != nil {
		return err
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
}

func (workExecutor) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

const (
	payer     = teg.AccountID("agt_client")
	payee     = teg.AccountID("agt_agent")
	stranger  = teg.AccountID("agt_stranger")
	callerHdr = "X-Test-Caller"
)

var price = avt.MustParse("1.5")

// paidWorld is a ledger on SQLite with a funded payer, and a paid agent serving over JSON-RPC.
type paidWorld struct {
	t      *testing.T
	ledger *tegsql.Ledger
	svc    *teg.Service
	card   *a2apb.AgentCard
	client *a2a.Client // calls as the payer's agent SPIFFE ID
	anon   *a2a.Client // calls anonymously
}

func newPaidWorld(t *testing.T, tweak func(*a2a.Payments)) *paidWorld {
	t.Helper()
	ctx := context.Background()
	l := tegsql.Open(storetest.SQLite(t), teg.DefaultParams(), nil)
	t.Cleanup(l.Close)
	cmds := []teg.Command{{Kind: teg.KindMint, ID: "mint", Amount: avt.AVT(1000)}}
	for _, a := range []teg.AccountID{payer, payee, stranger} {
		cmds = append(cmds, teg.Command{Kind: teg.KindOpen, ID: "open-" + string(a), To: a})
	}
	cmds = append(cmds, teg.Command{Kind: teg.KindGrant, ID: "grant-payer", To: payer, Amount: avt.AVT(100)},
		teg.Command{Kind: teg.KindGrant, ID: "grant-stranger", To: stranger, Amount: avt.AVT(100)})
	if _, err := l.Submit(ctx, cmds, true); err != nil {
		t.Fatal(err)
	}
	svc := &teg.Service{Store: l, Authz: policy.New()}
	admin := policy.Subject{Kind: policy.KindDeveloper, ID: "dev_admin", Roles: []string{policy.RoleAdmin}, AuthMethod: policy.AuthSession}
	p := a2a.Payments{
		Ledger: &serviceLedger{svc: svc, as: admin, payee: payee},
		Payee:  string(payee),
		Prices: map[string]avt.Amount{"work": price, "free": {}},
		Logger: slog.New(slog.DiscardHandler),
	}
	if tweak != nil {
		tweak(&p)
	}
	card := &a2apb.AgentCard{Name: "worker", Capabilities: &a2apb.AgentCapabilities{Streaming: func() *bool { b := true; return &b }()}, Skills: []*a2apb.AgentSkill{{Id: "work", Name: "Work"}, {Id: "free", Name: "Free"}}}
	cfg := p.Wrap(a2a.ServerConfig{Executor: workExecutor{}, Card: card, Logger: slog.New(slog.DiscardHandler)})
	s := a2a.NewServer(cfg)
	rpc := a2a.NewJSONRPCHandler(s, a2a.WithLogger(slog.New(slog.DiscardHandler)))
	// Stands in for the auth middleware: the caller is whoever the header says.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if c := r.Header.Get(callerHdr); c != "" {
			ctx = a2a.WithCaller(ctx, c)
		}
		rpc.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(func() { srv.Close(); _ = s.Close() })
	as := func(caller string) *a2a.Client {
		c, err := a2a.NewClient(srv.URL, a2a.BindingJSONRPC, a2a.WithAuth(func(_ context.Context, h http.Header) error {
			if caller != "" {
				h.Set(callerHdr, caller)
			}
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return &paidWorld{t: t, ledger: l, svc: svc, card: cfg.Card, client: as("spiffe://sovereign.test/agent/" + string(payer)), anon: as("")}
}

// hold makes a pending transfer from `from` to the agent.
func (w *paidWorld) hold(from teg.AccountID, amount avt.Amount, timeout time.Duration) string {
	w.t.Helper()
	tr, _, err := w.svc.Pending(context.Background(), policy.Subject{Kind: policy.KindAgent, ID: string(from), AuthMethod: policy.AuthJWTSVID},
		teg.TransferRequest{To: payee, Amount: amount}, timeout, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return tr.ID
}

// send sends text (continuing taskID when set) with a payment of pendingID (none when empty).
func (w *paidWorld) send(c *a2a.Client, taskID, text, pendingID, skill string) *a2apb.Task {
	w.t.Helper()
	m := a2a.NewTextMessage(a2apb.Role_ROLE_USER, text)
	m.TaskId = taskID
	if pendingID != "" || skill != "" {
		if err := a2a.AttachPayment(m, a2a.PaymentRequest{PendingID: pendingID, Skill: skill}); err != nil {
			w.t.Fatal(err)
		}
	}
	res, err := c.SendMessage(context.Background(), &a2apb.SendMessageRequest{Message: m})
	if err != nil {
		w.t.Fatalf("send %q: %v", text, err)
	}
	return res.GetTask()
}

func (w *paidWorld) balance(a teg.AccountID) teg.Account {
	w.t.Helper()
	acc, err := w.ledger.Account(context.Background(), a)
	if err != nil {
		w.t.Fatal(err)
	}
	return acc
}

func (w *paidWorld) verify() {
	w.t.Helper()
	if _, err := w.ledger.Verify(context.Background()); err != nil {
		w.t.Fatalf("teg verify: %v", err)
	}
}

// assertRefunded checks that the payer has all its AVT back and the agent got nothing.
func (w *paidWorld) assertRefunded() {
	w.t.Helper()
	if p := w.balance(payer); p.Liquid != avt.AVT(100) || !p.Locked.IsZero() {
		w.t.Fatalf("payer = liquid %s locked %s; want 100 and 0", p.Liquid, p.Locked)
	}
	if a := w.balance(payee); !a.Liquid.IsZero() {
		w.t.Fatalf("payee = %s; want 0", a.Liquid)
	}
}

func taskState(t *a2apb.Task) a2apb.TaskState { return t.GetStatus().GetState() }

func statusText(t *a2apb.Task) string {
	var b strings.Builder
	for _, p := range t.GetStatus().GetMessage().GetParts() {
		b.WriteString(p.GetText())
	}
	return b.String()
}

func paymentState(t *testing.T, task *a2apb.Task) a2a.HoldState {
	t.Helper()
	rec, ok := a2a.PaymentOf(task)
	if !ok {
		t.Fatalf("task %s has no payment record: %v", task.GetId(), task.GetMetadata())
	}
	return rec.State
}

func TestPayments_CompletedTaskPostsTheHold(t *testing.T) {
	w := newPaidWorld(t, nil)
	id := w.hold(payer, price, 0)
	task := w.send(w.client, "", "build", id, "")
	if taskState(task) != a2apb.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("task = %v", task)
	}
	rec, _ := a2a.PaymentOf(task)
	if rec.State != a2a.HoldPosted || rec.PendingID != id || rec.Price != "1.5" || rec.Payer != string(payer) || rec.Payee != string(payee) || rec.Skill != "work" || rec.Error != "" {
		t.Fatalf("record = %+v", rec)
	}
	q, _ := w.svc.QuoteFee(context.Background(), price)
	wantPayer, _ := avt.AVT(100).Sub(q.Total)
	if p := w.balance(payer); p.Liquid != wantPayer || !p.Locked.IsZero() {
		t.Fatalf("payer = liquid %s locked %s; want %s (100 − %s − fee %s)", p.Liquid, p.Locked, wantPayer, price, q.Fee)
	}
	if a := w.balance(payee); a.Liquid != price {
		t.Fatalf("payee = %s; want %s", a.Liquid, price)
	}
	if p, _, _ := w.ledger.Transfer(context.Background(), id); p.State != teg.PendingPosted {
		t.Fatalf("ledger: pending %s is %s", id, p.State)
	}
	// GetTask shows the same record.
	got, err := w.client.GetTask(context.Background(), &a2apb.GetTaskRequest{Id: task.GetId()})
	if err != nil || paymentState(t, got) != a2a.HoldPosted {
		t.Fatalf("get = %v, %v", got, err)
	}
	w.verify()
}

func TestPayments_FailedTaskVoidsTheHold(t *testing.T) {
	w := newPaidWorld(t, nil)
	id := w.hold(payer, avt.AVT(2), 0)
	task := w.send(w.client, "", "fail", id, "work")
	if taskState(task) != a2apb.TaskState_TASK_STATE_FAILED || paymentState(t, task) != a2a.HoldVoided {
		t.Fatalf("task = %v", task)
	}
	w.assertRefunded()
	w.verify()
}

func TestPayments_CancelVoidsTheHold(t *testing.T) {
	t.Run("input-required", func(t *testing.T) {
		w := newPaidWorld(t, nil)
		id := w.hold(payer, price, 0)
		task := w.send(w.client, "", "ask", id, "")
		if taskState(task) != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED || paymentState(t, task) != a2a.HoldHeld {
			t.Fatalf("task = %v", task)
		}
		if p := w.balance(payer); p.Locked.IsZero() {
			t.Fatalf("payer has nothing locked while the task waits: %+v", p)
		}
		canceled, err := w.client.CancelTask(context.Background(), &a2apb.CancelTaskRequest{Id: task.GetId()})
		if err != nil || taskState(canceled) != a2apb.TaskState_TASK_STATE_CANCELED || paymentState(t, canceled) != a2a.HoldVoided {
			t.Fatalf("cancel = %v, %v", canceled, err)
		}
		w.assertRefunded()
		w.verify()
	})
	t.Run("running", func(t *testing.T) {
		w := newPaidWorld(t, nil)
		id := w.hold(payer, price, 0)
		m := a2a.NewTextMessage(a2apb.Role_ROLE_USER, "hang")
		_ = a2a.AttachPayment(m, a2a.PaymentRequest{PendingID: id})
		ctx := context.Background()
		var taskID string
		var last *a2apb.StreamResponse
		for ev, err := range w.client.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: m}) {
			if err != nil {
				t.Fatal(err)
			}
			last = ev
			if ev.GetStatusUpdate().GetStatus().GetState() == a2apb.TaskState_TASK_STATE_WORKING {
				taskID = ev.GetStatusUpdate().GetTaskId()
				if _, err := w.client.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: taskID}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if last.GetStatusUpdate().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_CANCELED {
			t.Fatalf("stream ended with %v", last)
		}
		got, err := w.client.GetTask(ctx, &a2apb.GetTaskRequest{Id: taskID})
		if err != nil || paymentState(t, got) != a2a.HoldVoided {
			t.Fatalf("get = %v, %v", got, err)
		}
		w.assertRefunded()
		w.verify()
	})
}

// A dispute filed while the task waits freezes its hold: the task cannot go on (the agent would
// not be paid), nobody can settle the hold, and the task's payment record says frozen.
func TestPayments_DisputeFreezesTheHold(t *testing.T) {
	w := newPaidWorld(t, nil)
	id := w.hold(payer, price, 0)
	task := w.send(w.client, "", "ask", id, "")
	if _, _, err := w.ledger.Do(context.Background(), teg.Command{Kind: teg.KindDisputeFile, ID: "file-1", From: payer,
		Dispute: &teg.DisputeArgs{Dispute: "dsp_1", Category: "failed_service", Transfer: id}}); err != nil {
		t.Fatal(err)
	}
	done := w.send(w.client, task.GetId(), "that one", "", "")
	rec, _ := a2a.PaymentOf(done)
	if taskState(done) != a2apb.TaskState_TASK_STATE_FAILED || !strings.Contains(statusText(done), "is frozen") || rec.State != a2a.HoldFrozen || !strings.Contains(rec.Error, "PENDING_FROZEN") {
		t.Fatalf("task = %v, record %+v", done, rec)
	}
	if a := w.balance(payee); !a.Liquid.IsZero() {
		t.Fatalf("payee = %s; the frozen hold was paid", a.Liquid)
	}
	w.verify()
}

func TestPayments_InputRequiredThenCompletedPosts(t *testing.T) {
	w := newPaidWorld(t, nil)
	id := w.hold(payer, price, 0)
	task := w.send(w.client, "", "ask", id, "")
	done := w.send(w.client, task.GetId(), "that one", "", "")
	if taskState(done) != a2apb.TaskState_TASK_STATE_COMPLETED || paymentState(t, done) != a2a.HoldPosted {
		t.Fatalf("task = %v", done)
	}
	if a := w.balance(payee); a.Liquid != price {
		t.Fatalf("payee = %s", a.Liquid)
	}
	w.verify()
}

func TestPayments_RejectsTasksWithoutAValidHold(t *testing.T) {
	w := newPaidWorld(t, nil)
	claimed := w.hold(payer, price, 0)
	first := w.send(w.client, "", "ask", claimed, "") // holds `claimed` while it waits
	for _, c := range []struct {
		name, pending, skill, want string
		client                     *a2a.Client
	}{
		{"no payment", "", "", `payment required: skill "work" costs 1.5 AVT: hold a pending transfer of at least that to agt_agent`, w.client},
		{"unknown hold", "tx_nope", "", "there is no pending transfer tx_nope to this agent", w.client},
		{"too little", w.hold(payer, avt.AVT(1), 0), "", `holds 1 AVT; skill "work" costs 1.5 AVT`, w.client},
		{"someone else's hold", w.hold(stranger, price, 0), "", "is from agt_stranger, not from the caller (agt_client)", w.client},
		{"anonymous", w.hold(payer, price, 0), "", "a paid task needs an authenticated caller", w.anon},
		{"claimed twice", claimed, "", "already pays for task " + first.GetId(), w.client},
		{"expires too soon", w.hold(payer, price, 2*time.Second), "", "too soon to start the task", w.client},
	} {
		t.Run(c.name, func(t *testing.T) {
			task := w.send(c.client, "", "build", c.pending, c.skill)
			if taskState(task) != a2apb.TaskState_TASK_STATE_REJECTED || !strings.Contains(statusText(task), c.want) {
				t.Fatalf("task = %s %q; want rejected with %q", taskState(task), statusText(task), c.want)
			}
			if len(task.GetArtifacts()) > 0 {
				t.Fatalf("a rejected task did the work: %v", task.GetArtifacts())
			}
		})
	}
	// The claimed hold is still the first task's; a posted hold cannot pay again.
	if w.send(w.client, first.GetId(), "go", "", "").GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED {
		t.Fatal("the first task did not complete")
	}
	if task := w.send(w.client, "", "build", claimed, ""); !strings.Contains(statusText(task), "is posted, not active") {
		t.Fatalf("reused hold: %q", statusText(task))
	}
	// A free skill needs no payment.
	if task := w.send(w.client, "", "build", "", "free"); taskState(task) != a2apb.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("free task = %v", task)
	}
	w.verify()
}

func TestPayments_ExpiredHoldFailsTheTask(t *testing.T) {
	w := newPaidWorld(t, func(p *a2a.Payments) { p.HoldMargin = 500 * time.Millisecond })
	id := w.hold(payer, price, 2*time.Second)
	task := w.send(w.client, "", "ask", id, "")
	if taskState(task) != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED {
		t.Fatalf("task = %v", task)
	}
	time.Sleep(2100 * time.Millisecond)
	done := w.send(w.client, task.GetId(), "that one", "", "")
	if taskState(done) != a2apb.TaskState_TASK_STATE_FAILED || !strings.Contains(statusText(done), "is expired") || paymentState(t, done) != a2a.HoldExpired {
		t.Fatalf("task = %s %q %v", taskState(done), statusText(done), done.GetMetadata())
	}
	if n, err := w.ledger.ExpireDue(context.Background(), time.Now()); err != nil || n != 1 {
		t.Fatalf("ExpireDue = %d, %v", n, err)
	}
	w.assertRefunded()
	w.verify()
}

func TestPayments_CardAdvertisesPrices(t *testing.T) {
	w := newPaidWorld(t, nil)
	p, ok, err := a2a.PricingFromCard(w.card)
	if err != nil || !ok || p.Payee != string(payee) || p.Skills["work"] != price {
		t.Fatalf("pricing = %+v %v %v", p, ok, err)
	}
	if _, ok, _ := a2a.PricingFromCard(&a2apb.AgentCard{}); ok {
		t.Fatal("a card without the extension has pricing")
	}
}

func TestCallerAccount(t *testing.T) {
	for in, want := range map[string]string{
		"spiffe://sovereign.test/agent/agt_1": "agt_1",
		"spiffe://sovereign.test/registry/r1": "spiffe://sovereign.test/registry/r1",
		"dev_123":                             "dev_123",
		"":                                    "",
	} {
		if got := a2a.CallerAccount(in); got != want {
			t.Errorf("CallerAccount(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestTEGLedger_OverHTTP drives the HTTP PaymentLedger against routes that answer like the
// TEG's token routes (the pending transfer by id, settle with Idempotency-Key, error envelopes).
func TestTEGLedger_OverHTTP(t *testing.T) {
	var settled []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer agent-token" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":{"code":"AUTHENTICATION_REQUIRED","message":"authentication required"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/token/pending/tx_p":
			_, _ = io.WriteString(w, `{"id":"tx_p","kind":"pending","from":"agt_client","to":"agt_agent","amount":"1.5","fee":"0.0015","state":"active","expires_at":"2030-01-01T00:00:00Z","seq":5,"created_at":"2026-01-01T00:00:00Z"}`)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/token/pending/"):
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"PENDING_NOT_FOUND","message":"no such pending transfer","request_id":"req_0"}}`)
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v1/token/pending/"):
			ref := strings.TrimPrefix(r.URL.Path, "/api/v1/token/pending/")
			if strings.HasPrefix(ref, "tx_gone:") {
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"error":{"code":"PENDING_NOT_FOUND","message":"no such pending transfer","request_id":"req_1"}}`)
				return
			}
			if strings.HasPrefix(ref, "tx_done:") {
				w.WriteHeader(http.StatusConflict)
				_, _ = io.WriteString(w, `{"error":{"code":"PENDING_NOT_ACTIVE","message":"the pending transfer was already posted, voided or expired","request_id":"req_2"}}`)
				return
			}
			settled = append(settled, ref+" "+r.Header.Get("Idempotency-Key"))
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"id":"tx_s","kind":"post","amount":"1.5","fee":"0","seq":10,"created_at":"2026-01-01T00:00:00Z"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	l := &a2a.TEGLedger{BaseURL: srv.URL, Account: "agt_agent", Auth: func(_ context.Context, h http.Header) error {
		h.Set("Authorization", "Bearer agent-token")
		return nil
	}}
	ctx := context.Background()
	h, err := l.Hold(ctx, "tx_p")
	if err != nil || h.State != a2a.HoldHeld || h.Amount != price || h.From != "agt_client" || h.To != "agt_agent" || h.ExpiresAt.Year() != 2030 {
		t.Fatalf("hold = %+v, %v", h, err)
	}
	if _, err := l.Hold(ctx, "tx_missing"); !errors.Is(err, a2a.ErrHoldNotFound) {
		t.Fatalf("missing hold = %v", err)
	}
	if err := l.Post(ctx, "tx_p", "k1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Void(ctx, "tx_q", "k2"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(settled); got != "[tx_p:post k1 tx_q:void k2]" {
		t.Fatalf("settled = %s", got)
	}
	if err := l.Post(ctx, "tx_gone", "k3"); !errors.Is(err, a2a.ErrHoldNotFound) {
		t.Fatalf("gone = %v", err)
	}
	var te *a2a.TEGError
	if err := l.Void(ctx, "tx_done", "k4"); !errors.As(err, &te) || te.Status != http.StatusConflict || te.Code != "PENDING_NOT_ACTIVE" {
		t.Fatalf("done = %v", err)
	}
	bad := &a2a.TEGLedger{BaseURL: srv.URL, Account: "agt_agent"}
	if _, err := bad.Hold(ctx, "tx_p"); !errors.As(err, &te) || te.Code != "AUTHENTICATION_REQUIRED" {
		t.Fatalf("unauthenticated = %v", err)
	}
}
