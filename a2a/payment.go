package a2a

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/avt"
)

// Paid tasks: a client pays for a task with a two-phase transfer on the TEG.
//
//  1. The agent's card advertises its prices with the pricing extension (PricingExtensionURI):
//
//     {"uri": "https://sovereign.dev/ext/pricing/v1",
//     "params": {"currency": "AVT", "payee": "<the agent's wallet>",
//     "skills": {"<skill id>": "1.5", …}}}
//
//     A skill not listed is free. Amounts are decimal AVT strings.
//  2. The client holds a pending transfer of at least the price (plus its fee, which the ledger
//     adds) from its own wallet to the payee (POST /api/v1/token/pending), and sends the task's
//     first message with metadata PaymentMetadataKey: {"pending_id": "…", "amount": "1.5",
//     "skill": "<skill id>"} (AttachPayment). "amount" and "skill" are optional: the skill
//     defaults to the agent's only priced skill (Payments.DefaultSkill), and the ledger's hold
//     is what counts.
//  3. The server (Payments.Wrap) checks the hold on the TEG before the executor runs: it must
//     exist, be active, be from the caller's wallet to the payee, hold at least the price, and
//     not be claimed by another task. Otherwise the task is REJECTED with a message saying why.
//  4. When the task ends the server settles the hold: COMPLETED posts it, FAILED, CANCELED and
//     REJECTED void it; a hold that expires first (the ledger's timeout) is voided by the ledger,
//     and the executor's context ends shortly before the hold expires, failing the task.
//  5. The hold's state is explicit in the task's metadata under PaymentMetadataKey (a
//     PaymentRecord): held → posted | voided | expired | frozen. A dispute (a later issue) will
//     freeze a hold; a frozen hold is neither posted nor voided by the agent.

// PricingExtensionURI identifies the pricing extension of an agent card.
const PricingExtensionURI = "https://sovereign.dev/ext/pricing/v1"

// PaymentMetadataKey is the metadata key of a payment: on the first message of a task (or on
// the SendMessage request) the client's PaymentRequest; on the task the server's PaymentRecord.
const PaymentMetadataKey = "sovereign.payment"

// Limits of paid tasks.
const (
	// DefaultSettleTimeout bounds one post or void on the ledger.
	DefaultSettleTimeout = 10 * time.Second
	// DefaultHoldMargin is how long before its hold expires a task's executor is stopped, so the
	// server voids the hold itself rather than racing the ledger's expiry.
	DefaultHoldMargin = 5 * time.Second
)

// HoldState is the state of a task's payment hold.
type HoldState string

// The states of a payment hold. Only Held changes.
const (
	HoldHeld    HoldState = "held"    // the pending transfer is active: funds locked in the payer's wallet
	HoldPosted  HoldState = "posted"  // paid to the agent
	HoldVoided  HoldState = "voided"  // released to the payer
	HoldExpired HoldState = "expired" // the ledger voided it when its timeout passed
	HoldFrozen  HoldState = "frozen"  // a dispute froze it: neither side may settle it
)

// Hold is a pending transfer as the ledger reports it.
type Hold struct {
	ID       string
	From, To string // payer and payee wallets
	Amount   avt.Amount
	State    HoldState
	// ExpiresAt is when the ledger voids the hold if nobody settles it (zero: unknown).
	ExpiresAt time.Time
}

// ErrHoldNotFound is what a PaymentLedger returns for a pending transfer that does not exist
// (or that it may not see).
var ErrHoldNotFound = errors.New("a2a: no such pending transfer")

// PaymentLedger is what a paid agent needs of the TEG: reading a pending transfer paid to it,
// and posting or voiding it. Post and Void are idempotent under their key (a retry after a
// timeout does not settle twice). Implementations: TEGLedger (the TEG's HTTP API).
type PaymentLedger interface {
	// Hold returns the pending transfer id, or ErrHoldNotFound.
	Hold(ctx context.Context, id string) (Hold, error)
	// Post pays the whole pending transfer to its payee.
	Post(ctx context.Context, id, idempotencyKey string) error
	// Void releases the pending transfer to its payer.
	Void(ctx context.Context, id, idempotencyKey string) error
}

// PaymentRequest is the client's payment, the value of PaymentMetadataKey on a message. A
// request for a free skill of an agent with several may carry the Skill alone.
type PaymentRequest struct {
	PendingID string `json:"pending_id,omitempty"`
	// Amount is what the client holds (informational: the ledger's hold is what counts); a
	// stated amount below the price is refused at once.
	Amount string `json:"amount,omitempty"`
	// Skill is the skill paid for (default: Payments.DefaultSkill).
	Skill string `json:"skill,omitempty"`
}

// PaymentRecord is the server's account of a task's payment, kept in the task's metadata under
// PaymentMetadataKey.
type PaymentRecord struct {
	PendingID string    `json:"pending_id"`
	Skill     string    `json:"skill,omitempty"`
	Price     string    `json:"price"`  // the skill's price, AVT
	Amount    string    `json:"amount"` // what the hold holds (without fee), AVT
	Payer     string    `json:"payer"`
	Payee     string    `json:"payee"`
	State     HoldState `json:"state"`
	ExpiresAt string    `json:"expires_at,omitempty"` // RFC 3339
	// Error is why the last post or void failed (the state then says what the ledger reports).
	Error string `json:"error,omitempty"`
}

// AttachPayment puts p into m's metadata under PaymentMetadataKey.
func AttachPayment(m *a2apb.Message, p PaymentRequest) error {
	v, err := toStructValue(p)
	if err != nil {
		return err
	}
	if m.Metadata == nil {
		m.Metadata = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	m.Metadata.Fields[PaymentMetadataKey] = v
	return nil
}

// PaymentOf returns the payment record of a task, if it has one.
func PaymentOf(t *a2apb.Task) (PaymentRecord, bool) {
	var rec PaymentRecord
	v := t.GetMetadata().GetFields()[PaymentMetadataKey]
	if v == nil || fromStructValue(v, &rec) != nil || rec.PendingID == "" {
		return PaymentRecord{}, false
	}
	return rec, true
}

// Pricing is what the pricing extension of a card says.
type Pricing struct {
	Payee  string
	Skills map[string]avt.Amount
}

// PricingExtension is the card extension advertising p.
func PricingExtension(p Pricing) *a2apb.AgentExtension {
	skills := map[string]any{}
	for id, price := range p.Skills {
		skills[id] = price.String()
	}
	params, _ := structpb.NewStruct(map[string]any{"currency": "AVT", "payee": p.Payee, "skills": skills})
	return &a2apb.AgentExtension{Uri: PricingExtensionURI, Description: "Paid skills: hold a pending AVT transfer to the payee and name it in message metadata " + PaymentMetadataKey, Params: params}
}

// PricingFromCard reads the pricing extension of a card; ok is false when the card has none.
func PricingFromCard(card *a2apb.AgentCard) (p Pricing, ok bool, err error) {
	for _, ext := range card.GetCapabilities().GetExtensions() {
		if ext.GetUri() != PricingExtensionURI {
			continue
		}
		f := ext.GetParams().GetFields()
		p = Pricing{Payee: f["payee"].GetStringValue(), Skills: map[string]avt.Amount{}}
		for id, v := range f["skills"].GetStructValue().GetFields() {
			a, err := avt.Parse(v.GetStringValue())
			if err != nil {
				return Pricing{}, true, fmt.Errorf("a2a: pricing extension: skill %q: %w", id, err)
			}
			p.Skills[id] = a
		}
		return p, true, nil
	}
	return Pricing{}, false, nil
}

// Payments makes a Server's tasks paid. Ledger and Payee are required.
type Payments struct {
	Ledger PaymentLedger
	// Payee is the agent's wallet, which holds must pay.
	Payee string
	// Prices are per skill id; a skill not listed (or priced zero) is free.
	Prices map[string]avt.Amount
	// DefaultSkill is the skill a payment that names none pays for; when empty and exactly one
	// skill is priced, that one.
	DefaultSkill string
	// Payer maps a caller (CallerFrom) to its wallet; CallerAccount when nil. A paid task needs
	// a caller with a wallet: anonymous callers cannot pay.
	Payer func(caller string) string
	// SettleTimeout bounds one post or void (DefaultSettleTimeout when zero); HoldMargin is how
	// long before the hold expires the executor is stopped (DefaultHoldMargin when zero).
	SettleTimeout, HoldMargin time.Duration
	// Now is the clock (time.Now when nil); Logger gets settlement failures (slog.Default).
	Now    func() time.Time
	Logger *slog.Logger
}

// CallerAccount is the wallet of a caller: the agent id of an agent's SPIFFE ID
// (spiffe://<td>/agent/<id>), else the caller identity itself.
func CallerAccount(caller string) string {
	if rest, ok := strings.CutPrefix(caller, "spiffe://"); ok {
		if parts := strings.Split(rest, "/"); len(parts) == 3 && parts[1] == "agent" && parts[2] != "" {
			return parts[2]
		}
	}
	return caller
}

// Wrap returns cfg with paid tasks: its Executor checks the payment of each new task of a priced
// skill before running the original one, its Store settles the hold when the task reaches a
// terminal state and keeps the PaymentRecord in the task's metadata, and its Card (and
// ExtendedCard) advertise the prices with the pricing extension — serve the returned Card.
// It panics without a Ledger, Payee or Executor (programming errors).
func (p Payments) Wrap(cfg ServerConfig) ServerConfig {
	if p.Ledger == nil || p.Payee == "" || cfg.Executor == nil {
		panic("a2a: Payments.Wrap needs a Ledger, a Payee and cfg.Executor")
	}
	if p.Payer == nil {
		p.Payer = CallerAccount
	}
	if p.SettleTimeout <= 0 {
		p.SettleTimeout = DefaultSettleTimeout
	}
	if p.HoldMargin <= 0 {
		p.HoldMargin = DefaultHoldMargin
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.DefaultSkill == "" {
		var priced []string
		for id, price := range p.Prices {
			if !price.IsZero() {
				priced = append(priced, id)
			}
		}
		if len(priced) == 1 {
			p.DefaultSkill = priced[0]
		}
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryTaskStore()
	}
	st := &paymentState{cfg: p, byTask: map[string]*taskHold{}, claimed: map[string]string{}}
	cfg.Executor = &paidExecutor{next: cfg.Executor, p: st}
	cfg.Store = &paidStore{TaskStore: cfg.Store, p: st}
	ext := PricingExtension(Pricing{Payee: p.Payee, Skills: p.Prices})
	cfg.Card = withExtension(cfg.Card, ext)
	if cfg.ExtendedCard != nil {
		cfg.ExtendedCard = withExtension(cfg.ExtendedCard, ext)
	}
	return cfg
}

// withExtension returns a copy of card with ext in its capabilities (replacing one of the same
// URI); a nil card gets a minimal one.
func withExtension(card *a2apb.AgentCard, ext *a2apb.AgentExtension) *a2apb.AgentCard {
	c := &a2apb.AgentCard{}
	if card != nil {
		c = proto.CloneOf(card)
	}
	if c.Capabilities == nil {
		c.Capabilities = &a2apb.AgentCapabilities{}
	}
	exts := c.Capabilities.Extensions[:0]
	for _, e := range c.Capabilities.Extensions {
		if e.GetUri() != ext.GetUri() {
			exts = append(exts, e)
		}
	}
	c.Capabilities.Extensions = append(exts, ext)
	return c
}

// paymentState is what the paid executor and store share: the holds of the tasks in flight.
type paymentState struct {
	cfg Payments

	mu      sync.Mutex
	byTask  map[string]*taskHold // task id → its hold, until the task is terminal
	claimed map[string]string    // pending id → the task it pays for
}

// taskHold is one task's payment; mu serializes its settlement.
type taskHold struct {
	mu      sync.Mutex
	rec     PaymentRecord
	created bool // the task was stored
}

// claim reserves pending id for task; it returns the task holding it already, or "".
func (s *paymentState) claim(id, task string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.claimed[id]; ok && t != task {
		return t
	}
	s.claimed[id] = task
	return ""
}

func (s *paymentState) track(task string, h *taskHold) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byTask[task] = h
	s.claimed[h.rec.PendingID] = task
}

func (s *paymentState) forget(task, pendingID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byTask, task)
	if s.claimed[pendingID] == task {
		delete(s.claimed, pendingID)
	}
}

// holdOf returns the hold of task t: the one in flight, or (after a restart) the one its
// metadata records while still held; nil when the task is not paid or already settled.
func (s *paymentState) holdOf(t *a2apb.Task) *taskHold {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.byTask[t.GetId()]; ok {
		return h
	}
	rec, ok := PaymentOf(t)
	if !ok || rec.State != HoldHeld {
		return nil
	}
	h := &taskHold{rec: rec, created: true}
	s.byTask[t.GetId()] = h
	s.claimed[rec.PendingID] = t.GetId()
	return h
}

// settle posts or voids h's hold and records the outcome; h.mu is held. A failed post or void
// leaves the state the ledger reports (expired, frozen, …) and the error.
func (s *paymentState) settle(ctx context.Context, task string, h *taskHold, post bool) {
	if h.rec.State != HoldHeld {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SettleTimeout)
	defer cancel()
	id := h.rec.PendingID
	want, verb := HoldVoided, "void"
	var err error
	if post {
		want, verb = HoldPosted, "post"
		err = s.cfg.Ledger.Post(ctx, id, "a2a-post-"+id)
	} else {
		err = s.cfg.Ledger.Void(ctx, id, "a2a-void-"+id)
	}
	if err == nil {
		h.rec.State, h.rec.Error = want, ""
		return
	}
	if cur, herr := s.cfg.Ledger.Hold(ctx, id); herr == nil && cur.State != HoldHeld {
		h.rec.State = cur.State
		if cur.State == want {
			h.rec.Error = ""
			return
		}
	} else if herr == nil && !cur.ExpiresAt.IsZero() && !s.cfg.Now().Before(cur.ExpiresAt) {
		h.rec.State = HoldExpired // past its timeout; the ledger's sweeper has not voided it yet
	}
	h.rec.Error = fmt.Sprintf("%s failed: %v", verb, err)
	s.cfg.Logger.Error("a2a: payment not settled", "task", task, "pending_id", id, "action", verb, "state", h.rec.State, "err", err)
}

// paidStore stamps the payment record on every save of a paid task and settles the hold when
// the task becomes terminal, before the terminal state is stored.
type paidStore struct {
	TaskStore
	p *paymentState
}

// SaveTask implements TaskStore. The record is written into st.Task itself, so that the
// server's copy of the task matches the stored one.
func (s *paidStore) SaveTask(ctx context.Context, st *StoredTask) error {
	h := s.p.holdOf(st.Task)
	if h == nil {
		return s.TaskStore.SaveTask(ctx, st)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	state := st.Task.GetStatus().GetState()
	if Terminal(state) {
		s.p.settle(ctx, st.Task.GetId(), h, state == stateCompleted)
	}
	if err := stampPayment(st.Task, h.rec); err != nil {
		return err
	}
	if err := s.TaskStore.SaveTask(ctx, st); err != nil {
		if Terminal(state) && h.rec.State != HoldHeld {
			s.p.cfg.Logger.Error("a2a: payment settled but the task was not saved", "task", st.Task.GetId(), "pending_id", h.rec.PendingID, "state", h.rec.State, "err", err)
		}
		return err
	}
	h.created = true
	if Terminal(state) {
		s.p.forget(st.Task.GetId(), h.rec.PendingID)
	}
	return nil
}

func stampPayment(t *a2apb.Task, rec PaymentRecord) error {
	v, err := toStructValue(rec)
	if err != nil {
		return err
	}
	if t.Metadata == nil {
		t.Metadata = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	if t.Metadata.Fields == nil {
		t.Metadata.Fields = map[string]*structpb.Value{}
	}
	t.Metadata.Fields[PaymentMetadataKey] = v
	return nil
}

// paidExecutor checks the payment of a new task before running next.
type paidExecutor struct {
	next Executor
	p    *paymentState
}

// paymentRequest reads the client's payment from the message's metadata, else the request's.
func paymentRequest(rc *RequestContext) (PaymentRequest, bool, error) {
	var req PaymentRequest
	v := rc.Message.GetMetadata().GetFields()[PaymentMetadataKey]
	if v == nil {
		v = rc.Metadata.GetFields()[PaymentMetadataKey]
	}
	if v == nil {
		return req, false, nil
	}
	if err := fromStructValue(v, &req); err != nil {
		return req, true, fmt.Errorf(`metadata %q must be an object {"pending_id": "…", "amount": "…", "skill": "…"}`, PaymentMetadataKey)
	}
	return req, true, nil
}

// Execute implements Executor.
func (e *paidExecutor) Execute(ctx context.Context, rc *RequestContext, q *EventQueue) error {
	cfg := &e.p.cfg
	if rc.Task != nil {
		return e.resume(ctx, rc, q)
	}
	reject := func(format string, args ...any) error {
		return q.Status(ctx, stateRejected, NewTextMessage(a2apb.Role_ROLE_AGENT, "payment required: "+fmt.Sprintf(format, args...)))
	}
	req, found, err := paymentRequest(rc)
	skill := req.Skill
	if skill == "" {
		skill = cfg.DefaultSkill
	}
	price := cfg.Prices[skill]
	if price.IsZero() {
		if found && skill == "" {
			return reject("this agent has several priced skills; name the one paid for in %q.skill", PaymentMetadataKey)
		}
		return e.next.Execute(ctx, rc, q)
	}
	switch {
	case err != nil:
		return reject("%v", err)
	case !found || req.PendingID == "":
		return reject("skill %q costs %s AVT: hold a pending transfer of at least that to %s and name it in message metadata %q {\"pending_id\": …}", skill, price, cfg.Payee, PaymentMetadataKey)
	}
	if req.Amount != "" {
		a, err := avt.Parse(req.Amount)
		if err != nil {
			return reject("%q.amount %q is not an AVT amount", PaymentMetadataKey, req.Amount)
		}
		if a.Cmp(price) < 0 {
			return reject("the payment offers %s AVT; skill %q costs %s AVT", a, skill, price)
		}
	}
	payer := cfg.Payer(rc.Caller)
	if payer == "" {
		return reject("a paid task needs an authenticated caller with a wallet")
	}
	if other := e.p.claim(req.PendingID, rc.TaskID); other != "" {
		return reject("pending transfer %s already pays for task %s", req.PendingID, other)
	}
	hold, err := cfg.Ledger.Hold(ctx, req.PendingID)
	reason := ""
	now := cfg.Now()
	switch {
	case errors.Is(err, ErrHoldNotFound):
		reason = fmt.Sprintf("there is no pending transfer %s to this agent", req.PendingID)
	case err != nil:
		cfg.Logger.Error("a2a: reading a payment hold", "pending_id", req.PendingID, "err", err)
		reason = fmt.Sprintf("pending transfer %s could not be verified with the ledger", req.PendingID)
	case hold.To != cfg.Payee:
		reason = fmt.Sprintf("pending transfer %s pays %s, not this agent (%s)", req.PendingID, hold.To, cfg.Payee)
	case hold.From != payer:
		reason = fmt.Sprintf("pending transfer %s is from %s, not from the caller (%s)", req.PendingID, hold.From, payer)
	case hold.State != HoldHeld:
		reason = fmt.Sprintf("pending transfer %s is %s, not active", req.PendingID, hold.State)
	case hold.Amount.Cmp(price) < 0:
		reason = fmt.Sprintf("pending transfer %s holds %s AVT; skill %q costs %s AVT", req.PendingID, hold.Amount, skill, price)
	case !hold.ExpiresAt.IsZero() && !hold.ExpiresAt.After(now.Add(cfg.HoldMargin)):
		reason = fmt.Sprintf("pending transfer %s expires at %s, too soon to start the task", req.PendingID, hold.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if reason != "" {
		e.p.forget(rc.TaskID, req.PendingID)
		return reject("%s", reason)
	}
	h := &taskHold{rec: PaymentRecord{PendingID: req.PendingID, Skill: skill, Price: price.String(), Amount: hold.Amount.String(),
		Payer: payer, Payee: cfg.Payee, State: HoldHeld}}
	if !hold.ExpiresAt.IsZero() {
		h.rec.ExpiresAt = hold.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	e.p.track(rc.TaskID, h)
	err = e.runNext(ctx, rc, q, h, hold.ExpiresAt)
	// An agent that answered with a message created no task, so no terminal state settles the
	// hold: the answer is the delivery (post); an error before any answer voids it.
	h.mu.Lock()
	if !h.created {
		e.p.settle(ctx, rc.TaskID, h, err == nil)
		e.p.forget(rc.TaskID, req.PendingID)
	}
	h.mu.Unlock()
	return err
}

// resume continues an interrupted paid task: the hold must still be active.
func (e *paidExecutor) resume(ctx context.Context, rc *RequestContext, q *EventQueue) error {
	h := e.p.holdOf(rc.Task)
	if h == nil {
		return e.next.Execute(ctx, rc, q)
	}
	h.mu.Lock()
	rec := h.rec
	h.mu.Unlock()
	hold, err := e.p.cfg.Ledger.Hold(ctx, rec.PendingID)
	if err != nil && !errors.Is(err, ErrHoldNotFound) {
		e.p.cfg.Logger.Error("a2a: reading a payment hold", "pending_id", rec.PendingID, "err", err)
		return Errorf(CodeInternalError, "the payment of this task could not be verified with the ledger")
	}
	expired := err == nil && !hold.ExpiresAt.IsZero() && !e.p.cfg.Now().Before(hold.ExpiresAt)
	if err != nil || hold.State != HoldHeld || expired {
		state := HoldState("gone")
		switch {
		case expired:
			state = HoldExpired
		case err == nil:
			state = hold.State
		}
		return q.Status(ctx, stateFailed, NewTextMessage(a2apb.Role_ROLE_AGENT, fmt.Sprintf("the payment hold %s is %s: the task cannot continue", rec.PendingID, state)))
	}
	return e.runNext(ctx, rc, q, h, hold.ExpiresAt)
}

// runNext runs the executor under a deadline HoldMargin before the hold expires.
func (e *paidExecutor) runNext(ctx context.Context, rc *RequestContext, q *EventQueue, h *taskHold, expires time.Time) error {
	if expires.IsZero() {
		return e.next.Execute(ctx, rc, q)
	}
	nctx, cancel := context.WithDeadline(ctx, expires.Add(-e.p.cfg.HoldMargin))
	defer cancel()
	err := e.next.Execute(nctx, rc, q)
	if err != nil && errors.Is(nctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return Errorf(CodeInternalError, "the payment hold %s expires at %s: the task ran out of time", h.rec.PendingID, h.rec.ExpiresAt)
	}
	return err
}

// Cancel implements Executor: the original executor's Cancel (the store voids the hold when the
// task is canceled).
func (e *paidExecutor) Cancel(ctx context.Context, rc *RequestContext, q *EventQueue) error {
	return e.next.Cancel(ctx, rc, q)
}

// toStructValue is v (a JSON-encodable struct) as a protobuf Value.
func toStructValue(v any) (*structpb.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return structpb.NewValue(m)
}

// fromStructValue decodes a protobuf Value into v (a pointer to a JSON-decodable struct).
func fromStructValue(pv *structpb.Value, v any) error {
	if pv.GetStructValue() == nil {
		return errors.New("not an object")
	}
	b, err := pv.MarshalJSON()
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
