package a2a

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"mime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/ids"
)

// Default limits (Limits fields left zero take these).
const (
	DefaultMaxMessageBytes  = 1 << 20 // an incoming message, encoded
	DefaultMaxParts         = 64      // parts of an incoming message
	DefaultMaxPushConfigs   = 10      // push-notification configs per task
	DefaultSubscriberBuffer = 1024    // events a stream may fall behind before it is dropped
	DefaultListPageSize     = 50      // ListTasks page size when none is asked for
	MaxListPageSize         = 100     // the largest ListTasks page (larger asks are lowered)
	maxPushQueue            = 256     // events of one task waiting for push delivery
	finishTimeout           = 10 * time.Second
	busyWait                = 5 * time.Second // how long a message waits for its task's previous run to end
)

// Limits bound what a Server accepts. Zero fields take the defaults.
type Limits struct {
	MaxMessageBytes  int // encoded size of an incoming message (and of a request's metadata)
	MaxParts         int // parts of an incoming message
	MaxPushConfigs   int // push-notification configs per task
	SubscriberBuffer int // events a slow stream may lag before it is ended with an error
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxPushConfigs <= 0 {
		l.MaxPushConfigs = DefaultMaxPushConfigs
	}
	if l.SubscriberBuffer <= 0 {
		l.SubscriberBuffer = DefaultSubscriberBuffer
	}
	return l
}

type callerKey struct{}

// WithCaller returns a context carrying the authenticated caller's identity (a SPIFFE ID, a
// developer id …). The binding's auth middleware sets it; the Server makes each task visible
// to the caller that created it only, and hands the identity to the Executor.
func WithCaller(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, callerKey{}, id)
}

// CallerFrom returns the caller identity WithCaller stored in ctx, or "" for an anonymous one.
func CallerFrom(ctx context.Context) string {
	id, _ := ctx.Value(callerKey{}).(string)
	return id
}

// RequestContext is what an Executor is told about the request it serves.
type RequestContext struct {
	// TaskID and ContextID name the task the executor works on: new ones for a new task (the
	// task exists once the executor emits its first task event), the task's own for a
	// continued one.
	TaskID, ContextID string
	// Message is the client's message (with TaskID and ContextID filled in); nil for Cancel.
	Message *a2apb.Message
	// Task is the task as stored before this request (its history ends with Message when the
	// request continues it); nil for a new task.
	Task *a2apb.Task
	// Caller is the identity of the caller (CallerFrom), "" when anonymous.
	Caller string
	// Configuration is the request's configuration (accepted output modes …); never nil.
	Configuration *a2apb.SendMessageConfiguration
	// Metadata is the request's metadata, or nil.
	Metadata *structpb.Struct
	// Extensions are the extension URIs the client asked for (the A2A-Extensions header), nil
	// when none. The Server has activated those the card declares; call ActivateExtension with
	// the Execute context for others the agent applies.
	Extensions []string
}

// Executor is the agent: the code the agent author writes. The Server calls it on its own
// goroutine, with a context that carries the caller (CallerFrom) but is not canceled when the
// client goes away, only by CancelTask or Server.Close.
//
// Execute serves one message. It reports progress by writing to q: either a single Message (a
// direct answer; no task is created), or task events — status updates, artifact updates,
// task snapshots — until the task is terminal (completed, failed, canceled, rejected) or
// interrupted (input-required, auth-required). A task that is still submitted or working when
// Execute returns is failed by the server; an error returned after the task exists fails it
// too (the *Error's message, or "internal error", is the status message), while an error
// returned before any event goes to the client as it is (so return an *Error such as
// ErrContentTypeNotSupported to refuse a request). A message that names an interrupted task
// calls Execute again, with rc.Task set.
//
// Cancel is called by CancelTask while Execute may still run (its context is canceled right
// after Cancel returns) or for an interrupted task with no Execute running. It may write a
// final status to q; if the task is not terminal once Cancel and Execute have returned, the
// server sets it to canceled.
type Executor interface {
	Execute(ctx context.Context, rc *RequestContext, q *EventQueue) error
	Cancel(ctx context.Context, rc *RequestContext, q *EventQueue) error
}

// ServerConfig configures NewServer. Executor is required; everything else has a default.
type ServerConfig struct {
	Executor Executor
	// Store keeps the tasks; NewMemoryTaskStore when nil.
	Store TaskStore
	// Card is the agent's public card: its capabilities (push notifications) and input modes
	// are enforced. May be nil (no push, any content type).
	Card *a2apb.AgentCard
	// ExtendedCard is served by GetExtendedAgentCard; nil means not configured.
	ExtendedCard *a2apb.AgentCard
	// Push delivers push notifications. Set it exactly when the card declares
	// capabilities.pushNotifications (NewServer panics otherwise).
	Push PushSender
	// Limits bound requests (zero fields take the defaults).
	Limits Limits
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger receives executor failures and push-delivery errors (slog.Default when nil).
	Logger *slog.Logger
}

// Server is the A2A service over an Executor: it implements Handler, keeping tasks in a
// TaskStore, enforcing the task state machine, fanning events out to streams and push
// notifications. It is safe for concurrent use; Close stops it.
type Server struct {
	cfg    ServerConfig
	limits Limits
	now    func() time.Time
	log    *slog.Logger
	inputs []string // accepted media types; empty accepts all
	modes  []string // inputs parsed (mime.ParseMediaType), those that parse

	base context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu       sync.Mutex
	runs     map[string]*run                     // task id → the run holding the task
	watchers map[string]map[*subscriber]struct{} // task id → SubscribeToTask streams
}

var _ Handler = (*Server)(nil)

// NewServer returns a Server. It panics on a programming error: cfg.Executor nil, or the card
// and the push configuration disagreeing (the card's capabilities.pushNotifications must be true
// exactly when cfg.Push is set, so that clients are never told of a push support the server
// lacks, nor denied one it has).
func NewServer(cfg ServerConfig) *Server {
	if cfg.Executor == nil {
		panic("a2a: NewServer: ServerConfig.Executor is nil")
	}
	switch declared := cfg.Card.GetCapabilities().GetPushNotifications(); {
	case declared && cfg.Push == nil:
		panic("a2a: NewServer: the card declares capabilities.pushNotifications but ServerConfig.Push is nil (set a PushSender, e.g. NewWebhookSender)")
	case !declared && cfg.Push != nil:
		panic("a2a: NewServer: ServerConfig.Push is set but the card does not declare capabilities.pushNotifications: true")
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryTaskStore()
	}
	s := &Server{cfg: cfg, limits: cfg.Limits.withDefaults(), now: cfg.Now, log: cfg.Logger, runs: map[string]*run{},
		watchers: map[string]map[*subscriber]struct{}{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if c := cfg.Card; c != nil {
		s.inputs = append(s.inputs, c.GetDefaultInputModes()...)
		for _, sk := range c.GetSkills() {
			s.inputs = append(s.inputs, sk.GetInputModes()...)
		}
		for _, in := range s.inputs {
			if mode, _, err := mime.ParseMediaType(in); err == nil {
				s.modes = append(s.modes, mode)
			}
		}
	}
	s.base, s.stop = context.WithCancel(context.Background())
	return s
}

// Close cancels every running execution (their tasks fail with "server shut down" unless they
// finish first), waits for them and for pending push deliveries to end, and returns. The
// store is not closed.
func (s *Server) Close() error {
	s.stop()
	s.wg.Wait()
	return nil
}

// streamingSupported is true when the card says streaming: true; a card that does not mention
// streaming is read as not streaming, as clients read it. A server without a card streams.
func (s *Server) streamingSupported() bool {
	return s.cfg.Card == nil || s.cfg.Card.GetCapabilities().GetStreaming()
}

func (s *Server) pushSupported() bool {
	return s.cfg.Push != nil && s.cfg.Card.GetCapabilities().GetPushNotifications()
}

// ---- the event queue and the run of a task ----

// EventQueue is how an Executor reports: each write is checked against the state machine,
// stored, and sent to the task's streams and push-notification webhooks before it returns.
// It is safe for concurrent use (Execute and Cancel may both write). A write fails with an
// *Error (CodeInvalidAgentResponse) when the event breaks the protocol — a transition out of
// a terminal state, an event for another task — and once Execute has returned.
type EventQueue struct {
	r *run
}

// TaskID is the id of the task the queue reports on.
func (q *EventQueue) TaskID() string { return q.r.id }

// ContextID is the context id of the task the queue reports on.
func (q *EventQueue) ContextID() string { return q.r.contextID }

// Write sends one event: a Task (a snapshot that replaces the task), a Message, a
// TaskStatusUpdateEvent or a TaskArtifactUpdateEvent. Empty task and context ids, status
// timestamps, message ids and roles are filled in. A Message written before any task event
// of a new task is the whole answer: no task is created and nothing may follow it.
func (q *EventQueue) Write(ctx context.Context, ev *a2apb.StreamResponse) error {
	return q.r.write(ctx, ev)
}

// Status sets the task's state, with an optional message from the agent.
func (q *EventQueue) Status(ctx context.Context, state a2apb.TaskState, msg *a2apb.Message) error {
	return q.Write(ctx, &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_StatusUpdate{StatusUpdate: &a2apb.TaskStatusUpdateEvent{
		Status: &a2apb.TaskStatus{State: state, Message: msg},
	}}})
}

// Artifact adds a whole artifact to the task in one event (its last chunk). An empty
// ArtifactId is given a new one.
func (q *EventQueue) Artifact(ctx context.Context, a *a2apb.Artifact) error {
	return q.ArtifactChunk(ctx, a, Chunk{Last: true})
}

// Chunk says where an artifact update stands in a streamed artifact.
type Chunk struct {
	// Append adds the update's parts to the artifact of the same id already sent (false: the
	// update starts or replaces it).
	Append bool
	// Last marks the artifact's final chunk.
	Last bool
}

// ArtifactChunk adds a chunk of an artifact streamed in several events: the first with
// Chunk{}, the next with Chunk{Append: true}, the final one with Last set too.
func (q *EventQueue) ArtifactChunk(ctx context.Context, a *a2apb.Artifact, c Chunk) error {
	if a != nil && a.ArtifactId == "" {
		a = proto.CloneOf(a)
		a.ArtifactId = ids.New("art")
	}
	return q.Write(ctx, &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_ArtifactUpdate{ArtifactUpdate: &a2apb.TaskArtifactUpdateEvent{
		Artifact: a, Append: c.Append, LastChunk: c.Last,
	}}})
}

// Message sends a message from the agent: the direct answer to a new request, or an entry in
// the task's history.
func (q *EventQueue) Message(ctx context.Context, m *a2apb.Message) error {
	return q.Write(ctx, &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Message{Message: m}})
}

// NewTextMessage returns a message of one text part, with a new message id.
func NewTextMessage(role a2apb.Role, text string) *a2apb.Message {
	return NewMessage(role, TextPart(text))
}

// run holds one task while the server executes or cancels it: at most one run per task, so
// the in-memory task (st) is the stored one and events are applied in one order.
type run struct {
	s         *Server
	id        string
	contextID string
	owner     string
	rc        *RequestContext

	mu       sync.Mutex
	st       *StoredTask // the stored task; nil until a new task is created
	pending  *a2apb.Task // the new task to create at its first task event
	pushCfg  *a2apb.TaskPushNotificationConfig
	reply    *a2apb.Message // the direct answer, when the executor gave one
	failure  error          // the error that ended a run that produced nothing
	closed   bool
	cancel   bool // CancelTask asked: an unfinished task ends canceled
	subs     map[*subscriber]struct{}
	settled  chan struct{} // closed at the first terminal/interrupted state, reply or end
	settledR *a2apb.SendMessageResponse
	pushCh   chan *a2apb.StreamResponse
	done     chan struct{} // closed when the run ended
	stopExec context.CancelFunc
}

type subscriber struct {
	ch       chan *a2apb.StreamResponse
	overflow bool
}

// acquire registers a run for task id, or reports the run already holding it.
func (s *Server) acquire(id, contextID, owner string) (*run, *run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.runs[id]; ok {
		return nil, r
	}
	r := &run{s: s, id: id, contextID: contextID, owner: owner, subs: map[*subscriber]struct{}{},
		settled: make(chan struct{}), done: make(chan struct{}), stopExec: func() {}}
	if s.pushSupported() {
		r.pushCh = make(chan *a2apb.StreamResponse, maxPushQueue)
		s.wg.Add(1)
		go r.deliverPush()
	}
	s.runs[id] = r
	return r, nil
}

// acquireWaiting is acquire for a task that may still be held by a run that is ending (its
// executor has set an interrupted state but not returned yet): it waits for that run, up to
// busyWait.
func (s *Server) acquireWaiting(ctx context.Context, id, contextID, owner string) (*run, error) {
	timer := time.NewTimer(busyWait)
	defer timer.Stop()
	for {
		r, busy := s.acquire(id, contextID, owner)
		if busy == nil {
			return r, nil
		}
		select {
		case <-busy.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			return nil, Errorf(CodeUnsupportedOperation, "task %s is busy", id)
		}
	}
}

func (s *Server) lookup(id string) *run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[id]
}

func (r *run) queue() *EventQueue { return &EventQueue{r: r} }

func (r *run) fill(ev *a2apb.StreamResponse) {
	now := timestamppb.New(r.s.now())
	fillMsg := func(m *a2apb.Message) {
		if m == nil {
			return
		}
		if m.MessageId == "" {
			m.MessageId = ids.New("msg")
		}
		if m.Role == a2apb.Role_ROLE_UNSPECIFIED {
			m.Role = a2apb.Role_ROLE_AGENT
		}
		if m.ContextId == "" {
			m.ContextId = r.contextID
		}
		if m.TaskId == "" && (r.st != nil || r.pending == nil) {
			m.TaskId = r.id
		}
	}
	switch p := ev.Payload.(type) {
	case *a2apb.StreamResponse_Task:
		if p.Task.Id == "" {
			p.Task.Id = r.id
		}
		if p.Task.ContextId == "" {
			p.Task.ContextId = r.contextID
		}
		if p.Task.Status == nil {
			p.Task.Status = &a2apb.TaskStatus{}
		}
		if p.Task.Status.Timestamp == nil {
			p.Task.Status.Timestamp = now
		}
		fillMsg(p.Task.Status.Message)
	case *a2apb.StreamResponse_Message:
		fillMsg(p.Message)
	case *a2apb.StreamResponse_StatusUpdate:
		u := p.StatusUpdate
		if u.TaskId == "" {
			u.TaskId = r.id
		}
		if u.ContextId == "" {
			u.ContextId = r.contextID
		}
		if u.Status == nil {
			u.Status = &a2apb.TaskStatus{}
		}
		if u.Status.Timestamp == nil {
			u.Status.Timestamp = now
		}
		if u.Status.Message != nil {
			u.Status.Message.TaskId = cmp.Or(u.Status.Message.TaskId, r.id)
		}
		fillMsg(u.Status.Message)
	case *a2apb.StreamResponse_ArtifactUpdate:
		u := p.ArtifactUpdate
		if u.TaskId == "" {
			u.TaskId = r.id
		}
		if u.ContextId == "" {
			u.ContextId = r.contextID
		}
	}
}

func (r *run) write(ctx context.Context, ev *a2apb.StreamResponse) error {
	if ev == nil || ev.Payload == nil {
		return invalidAgent("empty event")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return invalidAgent("the event queue of task %s is closed: Execute has returned", r.id)
	}
	if r.reply != nil {
		return invalidAgent("the agent already answered with a message: nothing may follow it")
	}
	ev = proto.CloneOf(ev)
	r.fill(ev)
	if m := ev.GetMessage(); m != nil && r.st == nil && m.GetTaskId() != r.id {
		// A direct answer: no task.
		if m.GetTaskId() != "" {
			return invalidAgent("a direct answer names task %q, which does not exist", m.GetTaskId())
		}
		r.reply = m
		r.broadcast(ev)
		r.settle(&a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Message{Message: m}})
		return nil
	}
	if r.st == nil {
		if t := ev.GetTask(); t != nil {
			if t.GetId() != r.id || t.GetContextId() != r.contextID {
				return invalidAgent("task event for task %q/context %q; the task is %q/context %q", t.GetId(), t.GetContextId(), r.id, r.contextID)
			}
			nt, err := Apply(nil, ev)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(nt.History, func(m *a2apb.Message) bool { return m.GetMessageId() == r.rc.Message.GetMessageId() }) {
				nt.History = append(cloneAll(r.pending.History), nt.History...)
			}
			return r.create(ctx, nt)
		}
		if err := r.create(ctx, r.pending); err != nil {
			return err
		}
	}
	return r.applyLocked(ctx, ev)
}

// create stores the new task t and announces it with a snapshot.
func (r *run) create(ctx context.Context, t *a2apb.Task) error {
	now := r.s.now()
	st := &StoredTask{Task: t, Owner: r.owner, Version: 1, UpdatedAt: now, StatusAt: statusTime(t, now)}
	if err := r.s.cfg.Store.SaveTask(ctx, st); err != nil {
		return fmt.Errorf("a2a: create task %s: %w", r.id, err)
	}
	r.st, r.pending = st, nil
	if r.pushCfg != nil {
		if err := r.s.cfg.Store.PutPushConfig(ctx, r.pushCfg); err != nil {
			r.s.log.Error("a2a: store push config", "task", r.id, "err", err)
		}
	}
	r.broadcast(&a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Task{Task: proto.CloneOf(t)}})
	r.settleOn(t.GetStatus().GetState())
	return nil
}

func statusTime(t *a2apb.Task, def time.Time) time.Time {
	if ts := t.GetStatus().GetTimestamp(); ts != nil {
		return ts.AsTime()
	}
	return def
}

// applyLocked folds ev into the stored task, saves it, and announces it. r.mu is held.
func (r *run) applyLocked(ctx context.Context, ev *a2apb.StreamResponse) error {
	nt, err := Apply(r.st.Task, ev)
	if err != nil {
		return err
	}
	now := r.s.now()
	st := &StoredTask{Task: nt, Owner: r.owner, Version: r.st.Version + 1, UpdatedAt: now, StatusAt: statusTime(nt, now)}
	if err := r.s.cfg.Store.SaveTask(ctx, st); err != nil {
		return fmt.Errorf("a2a: save task %s: %w", r.id, err)
	}
	r.st = st
	r.broadcast(ev)
	if s, ok := eventState(ev); ok {
		r.settleOn(s)
	}
	return nil
}

func (r *run) settleOn(s a2apb.TaskState) {
	if Terminal(s) || Interrupted(s) {
		r.settle(&a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Task{Task: proto.CloneOf(r.st.Task)}})
	}
}

func (r *run) settle(res *a2apb.SendMessageResponse) {
	select {
	case <-r.settled:
	default:
		r.settledR = res
		close(r.settled)
	}
}

func (r *run) broadcast(ev *a2apb.StreamResponse) {
	for sub := range r.subs {
		select {
		case sub.ch <- ev:
		default:
			sub.overflow = true
			close(sub.ch)
			delete(r.subs, sub)
		}
	}
	r.s.notifyWatchers(r.id, ev)
	if r.pushCh != nil && r.st != nil {
		select {
		case r.pushCh <- ev:
		default:
			r.s.log.Warn("a2a: push queue full; event not delivered", "task", r.id)
		}
	}
}

// watch registers a SubscribeToTask stream of task id: it sees every event of the task, over
// all the runs that hold it, until it unwatches.
func (s *Server) watch(id string) *subscriber {
	sub := &subscriber{ch: make(chan *a2apb.StreamResponse, s.limits.SubscriberBuffer)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watchers[id] == nil {
		s.watchers[id] = map[*subscriber]struct{}{}
	}
	s.watchers[id][sub] = struct{}{}
	return sub
}

func (s *Server) unwatch(id string, sub *subscriber) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.watchers[id][sub]; ok {
		delete(s.watchers[id], sub)
		close(sub.ch)
	}
	if len(s.watchers[id]) == 0 {
		delete(s.watchers, id)
	}
}

// notifyWatchers sends ev to the SubscribeToTask streams of task id; a stream that fell
// SubscriberBuffer events behind is dropped (its channel closed, overflow set).
func (s *Server) notifyWatchers(id string, ev *a2apb.StreamResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.watchers[id] {
		select {
		case sub.ch <- ev:
		default:
			sub.overflow = true
			close(sub.ch)
			delete(s.watchers[id], sub)
		}
	}
}

// subscribe adds a stream and returns it with a snapshot of the task (nil before it exists).
// The subscriber is nil when the run has ended.
func (r *run) subscribe() (*subscriber, *a2apb.Task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var snap *a2apb.Task
	if r.st != nil {
		snap = proto.CloneOf(r.st.Task)
	}
	if r.closed {
		return nil, snap
	}
	sub := &subscriber{ch: make(chan *a2apb.StreamResponse, r.s.limits.SubscriberBuffer)}
	r.subs[sub] = struct{}{}
	return sub, snap
}

func (r *run) unsubscribe(sub *subscriber) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.subs[sub]; ok {
		delete(r.subs, sub)
		close(sub.ch)
	}
}

// start runs Execute on its own goroutine; the run ends when it returns.
func (r *run) start(ctx context.Context) {
	ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopAfter := context.AfterFunc(r.s.base, cancel)
	r.mu.Lock()
	r.stopExec = cancel
	if r.cancel {
		cancel()
	}
	r.mu.Unlock()
	r.s.wg.Add(1)
	go func() {
		defer r.s.wg.Done()
		defer stopAfter()
		defer cancel()
		err := r.s.call(func() error { return r.s.cfg.Executor.Execute(ectx, r.rc, r.queue()) })
		r.finish(err)
	}()
}

// call runs fn, turning a panic into an error.
func (s *Server) call(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("a2a: executor panicked", "panic", p, "stack", string(debug.Stack()))
			err = Errorf(CodeInternalError, "internal error")
		}
	}()
	return fn()
}

// finish ends the run: a task left unfinished is canceled (after CancelTask), failed, or left
// interrupted; streams end; the task is released.
func (r *run) finish(execErr error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.s.base), finishTimeout)
	defer cancel()
	r.mu.Lock()
	if execErr != nil && !(errors.Is(execErr, context.Canceled) && (r.cancel || r.s.base.Err() != nil)) {
		r.s.log.Error("a2a: executor failed", "task", r.id, "err", execErr)
	}
	switch {
	case r.reply != nil:
	case r.st == nil:
		err := execErr
		if err == nil {
			err = invalidAgent("the agent returned without answering")
		} else if !isProtocolError(err) {
			err = Errorf(CodeInternalError, "internal error")
		}
		r.failure = err
	case Terminal(r.st.Task.GetStatus().GetState()):
	case r.cancel:
		if err := r.applyLocked(ctx, statusEvent(r, stateCanceled, "")); err != nil {
			r.s.log.Error("a2a: cancel task", "task", r.id, "err", err)
		}
	case Interrupted(r.st.Task.GetStatus().GetState()) && execErr == nil:
	default:
		text := "the agent ended without finishing the task"
		switch {
		case r.s.base.Err() != nil:
			text = "server shut down"
		case execErr != nil:
			text = "internal error"
			var e *Error
			if errors.As(execErr, &e) {
				text = e.Message
			}
		}
		if err := r.applyLocked(ctx, statusEvent(r, stateFailed, text)); err != nil {
			r.s.log.Error("a2a: fail task", "task", r.id, "err", err)
		}
	}
	r.closed = true
	for sub := range r.subs {
		close(sub.ch)
		delete(r.subs, sub)
	}
	if r.st != nil {
		r.settle(&a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Task{Task: proto.CloneOf(r.st.Task)}})
	} else {
		r.settle(nil)
	}
	if r.pushCh != nil {
		close(r.pushCh)
	}
	r.mu.Unlock()
	r.s.mu.Lock()
	delete(r.s.runs, r.id)
	r.s.mu.Unlock()
	close(r.done)
}

func isProtocolError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

func statusEvent(r *run, state a2apb.TaskState, text string) *a2apb.StreamResponse {
	st := &a2apb.TaskStatus{State: state, Timestamp: timestamppb.New(r.s.now())}
	if text != "" {
		m := NewTextMessage(a2apb.Role_ROLE_AGENT, text)
		m.TaskId, m.ContextId = r.id, r.contextID
		st.Message = m
	}
	return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_StatusUpdate{StatusUpdate: &a2apb.TaskStatusUpdateEvent{
		TaskId: r.id, ContextId: r.contextID, Status: st,
	}}}
}

func (r *run) deliverPush() {
	defer r.s.wg.Done()
	for ev := range r.pushCh {
		cfgs, err := r.s.cfg.Store.ListPushConfigs(r.s.base, r.id)
		if err != nil {
			r.s.log.Error("a2a: list push configs", "task", r.id, "err", err)
			continue
		}
		for _, cfg := range cfgs {
			if err := r.s.cfg.Push.Send(r.s.base, cfg, ev); err != nil {
				r.s.log.Warn("a2a: push notification not delivered", "task", r.id, "config", cfg.GetId(), "err", err)
			}
		}
	}
}

// ---- validation ----

func invalidParams(format string, args ...any) *Error {
	return Errorf(CodeInvalidParams, format, args...)
}

func (s *Server) validateSend(req *a2apb.SendMessageRequest) error {
	m := req.GetMessage()
	switch {
	case m == nil:
		return invalidParams("message is required")
	case m.GetMessageId() == "":
		return invalidParams("message.message_id is required")
	case m.GetRole() == a2apb.Role_ROLE_UNSPECIFIED:
		return invalidParams("message.role is required")
	case m.GetRole() != a2apb.Role_ROLE_USER:
		return invalidParams("message.role must be ROLE_USER")
	case len(m.GetParts()) == 0:
		return invalidParams("message.parts must hold at least one part")
	case len(m.GetParts()) > s.limits.MaxParts:
		return invalidParams("message has %d parts; the limit is %d", len(m.GetParts()), s.limits.MaxParts)
	}
	if n := proto.Size(m); n > s.limits.MaxMessageBytes {
		return invalidParams("message is %d bytes; the limit is %d", n, s.limits.MaxMessageBytes)
	}
	if n := proto.Size(req.GetMetadata()); n > s.limits.MaxMessageBytes {
		return invalidParams("metadata is %d bytes; the limit is %d", n, s.limits.MaxMessageBytes)
	}
	if c := req.GetConfiguration(); c != nil && c.HistoryLength != nil && *c.HistoryLength < 0 {
		return invalidParams("configuration.history_length must not be negative")
	}
	for i, p := range m.GetParts() {
		var kind string
		switch c := p.GetContent().(type) {
		case *a2apb.Part_Text:
			kind = "text/plain"
		case *a2apb.Part_Data:
			kind = "application/json"
		case *a2apb.Part_Raw:
			kind = "application/octet-stream"
		case *a2apb.Part_Url:
			if c.Url == "" {
				return invalidParams("message.parts[%d].url is empty", i)
			}
			kind = "application/octet-stream"
		default:
			return invalidParams("message.parts[%d] has no content: want one of text, raw, url, data", i)
		}
		if p.GetMediaType() != "" {
			kind = p.GetMediaType()
		}
		if !s.acceptsType(kind) {
			return &Error{Code: CodeContentTypeNotSupported, Message: fmt.Sprintf("message.parts[%d]: media type %q is not one of the agent's input modes %v", i, kind, s.inputs)}
		}
	}
	return nil
}

// acceptsType reports whether the media type t matches one of the card's input modes
// (wildcards "type/*" and "*/*" allowed; parameters ignored). No modes accepts all.
func (s *Server) acceptsType(t string) bool {
	if len(s.inputs) == 0 {
		return true
	}
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return false
	}
	for _, mode := range s.modes {
		if mode == mt || mode == "*/*" || strings.HasSuffix(mode, "/*") && strings.HasPrefix(mt, strings.TrimSuffix(mode, "*")) {
			return true
		}
	}
	return false
}

// historyLimit returns t with at most n of its latest messages (all when n is nil).
func historyLimit(t *a2apb.Task, n *int32) *a2apb.Task {
	if n == nil || int(*n) >= len(t.GetHistory()) {
		return t
	}
	t = proto.CloneOf(t)
	t.History = t.History[len(t.History)-int(*n):]
	return t
}

// ---- Handler ----

// loadTask returns the stored task id if the caller may see it, else ErrTaskNotFound.
func (s *Server) loadTask(ctx context.Context, id string) (*StoredTask, error) {
	if id == "" {
		return nil, invalidParams("task id is required")
	}
	st, err := s.cfg.Store.GetTask(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.Owner != CallerFrom(ctx) {
		return nil, ErrTaskNotFound
	}
	return st, nil
}

// begin validates a send and starts its run: a new task, or the continuation of an
// interrupted one. sub, when asked for, is subscribed before the executor starts.
func (s *Server) begin(ctx context.Context, req *a2apb.SendMessageRequest, stream bool) (*run, *subscriber, *a2apb.Task, error) {
	if err := s.validateSend(req); err != nil {
		return nil, nil, nil, err
	}
	if err := s.checkExtensions(ctx); err != nil {
		return nil, nil, nil, err
	}
	cfg := req.GetConfiguration()
	if cfg == nil {
		cfg = &a2apb.SendMessageConfiguration{}
	}
	var pushCfg *a2apb.TaskPushNotificationConfig
	if pc := cfg.GetTaskPushNotificationConfig(); pc != nil {
		if !s.pushSupported() {
			return nil, nil, nil, ErrPushNotificationNotSupported
		}
		if err := s.checkPushConfig(ctx, pc); err != nil {
			return nil, nil, nil, err
		}
		pushCfg = proto.CloneOf(pc)
		pushCfg.Id = cmp.Or(pushCfg.Id, ids.New("pnc"))
	}
	msg := proto.CloneOf(req.GetMessage())
	caller := CallerFrom(ctx)
	rc := &RequestContext{Caller: caller, Configuration: cfg, Metadata: req.GetMetadata(), Extensions: RequestedExtensions(ctx)}

	var r *run
	if msg.GetTaskId() != "" {
		st, err := s.loadTask(ctx, msg.GetTaskId())
		if err != nil {
			return nil, nil, nil, err
		}
		if err := continuable(st.Task, msg); err != nil {
			return nil, nil, nil, err
		}
		if r, err = s.acquireWaiting(ctx, st.Task.GetId(), st.Task.GetContextId(), caller); err != nil {
			return nil, nil, nil, err
		}
		// Read again now that the task is ours: it may have moved on.
		if st, err = s.cfg.Store.GetTask(ctx, st.Task.GetId()); err == nil {
			err = continuable(st.Task, msg)
		}
		if err != nil {
			r.finish(nil)
			return nil, nil, nil, err
		}
		msg.ContextId = st.Task.GetContextId()
		r.mu.Lock()
		r.st = st
		err = r.applyLocked(ctx, &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Message{Message: msg}})
		if err == nil {
			rc.Task = proto.CloneOf(r.st.Task)
		}
		r.mu.Unlock()
		if err != nil {
			r.finish(nil)
			return nil, nil, nil, err
		}
		if pushCfg != nil {
			pushCfg.TaskId = r.id
			if err := s.cfg.Store.PutPushConfig(ctx, pushCfg); err != nil {
				r.finish(nil)
				return nil, nil, nil, err
			}
		}
	} else {
		contextID := cmp.Or(msg.GetContextId(), ids.New("ctx"))
		r, _ = s.acquire(ids.New("task"), contextID, caller)
		msg.TaskId, msg.ContextId = r.id, contextID
		r.pending = &a2apb.Task{Id: r.id, ContextId: contextID, History: []*a2apb.Message{msg},
			Status: &a2apb.TaskStatus{State: stateSubmitted, Timestamp: timestamppb.New(s.now())}}
		if pushCfg != nil {
			pushCfg.TaskId = r.id
			r.pushCfg = pushCfg
		}
	}
	rc.TaskID, rc.ContextID, rc.Message = r.id, r.contextID, msg
	r.mu.Lock()
	r.rc = rc
	r.mu.Unlock()

	var sub *subscriber
	var snap *a2apb.Task
	if stream {
		sub, snap = r.subscribe()
	} else if cfg.GetReturnImmediately() {
		r.mu.Lock()
		var err error
		if r.st == nil {
			err = r.create(ctx, r.pending)
		}
		if err == nil {
			snap = proto.CloneOf(r.st.Task)
		}
		r.mu.Unlock()
		if err != nil {
			r.finish(nil)
			return nil, nil, nil, err
		}
	}
	r.start(ctx)
	return r, sub, snap, nil
}

// continuable checks that msg may continue task t: t must be interrupted, and a context id in
// msg must be t's.
func continuable(t *a2apb.Task, msg *a2apb.Message) error {
	state := t.GetStatus().GetState()
	switch {
	case msg.GetContextId() != "" && msg.GetContextId() != t.GetContextId():
		return invalidParams("message.context_id %q is not the context of task %s", msg.GetContextId(), t.GetId())
	case Terminal(state):
		return Errorf(CodeUnsupportedOperation, "task %s is %s: a terminal task takes no more messages", t.GetId(), stateName(state))
	case !Interrupted(state):
		return Errorf(CodeUnsupportedOperation, "task %s is %s: only an input-required or auth-required task takes a message", t.GetId(), stateName(state))
	}
	return nil
}

// SendMessage implements Handler. Unless configuration.return_immediately, it waits until the
// task is terminal or interrupted (or the agent answers with a message); the task in the
// answer holds at most configuration.history_length messages of history.
func (s *Server) SendMessage(ctx context.Context, req *a2apb.SendMessageRequest) (*a2apb.SendMessageResponse, error) {
	r, _, snap, err := s.begin(ctx, req, false)
	if err != nil {
		return nil, err
	}
	var hl *int32
	if c := req.GetConfiguration(); c != nil {
		hl = c.HistoryLength
	}
	if snap != nil { // return_immediately: the task as created (or as continued)
		return &a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Task{Task: historyLimit(snap, hl)}}, nil
	}
	select {
	case <-r.settled:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res := r.settledR
	if res == nil {
		<-r.done // the run ended without a task or answer: failure is set
		return nil, r.failure
	}
	if t := res.GetTask(); t != nil {
		return &a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Task{Task: historyLimit(t, hl)}}, nil
	}
	return res, nil
}

// SendStreamingMessage implements Handler: the task (or the agent's direct answer) first, then
// its status and artifact updates, ending after a terminal or interrupted state.
func (s *Server) SendStreamingMessage(ctx context.Context, req *a2apb.SendMessageRequest) iter.Seq2[*a2apb.StreamResponse, error] {
	return func(yield func(*a2apb.StreamResponse, error) bool) {
		if !s.streamingSupported() {
			yield(nil, Errorf(CodeUnsupportedOperation, "this agent does not stream"))
			return
		}
		r, sub, snap, err := s.begin(ctx, req, true)
		if err != nil {
			yield(nil, err)
			return
		}
		if snap != nil && !yield(&a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Task{Task: snap}}, nil) {
			r.unsubscribe(sub)
			return
		}
		s.follow(ctx, r, sub, yield)
	}
}

// follow yields a subscriber's events until a final one, the end of the run, or the client
// leaving.
func (s *Server) follow(ctx context.Context, r *run, sub *subscriber, yield func(*a2apb.StreamResponse, error) bool) {
	if sub == nil {
		return
	}
	defer r.unsubscribe(sub)
	for {
		select {
		case ev, ok := <-sub.ch:
			if !ok {
				if sub.overflow {
					yield(nil, Errorf(CodeInternalError, "the stream fell behind; subscribe again"))
				} else if r.failure != nil {
					<-r.done
					yield(nil, r.failure)
				}
				return
			}
			if !yield(ev, nil) {
				return
			}
			if ev.GetMessage() != nil && ev.GetMessage().GetTaskId() == "" {
				return // a direct answer ends the exchange
			}
			if st, ok := eventState(ev); ok && (Terminal(st) || Interrupted(st)) {
				return
			}
		case <-ctx.Done():
			yield(nil, ctx.Err())
			return
		}
	}
}

// GetTask implements Handler.
func (s *Server) GetTask(ctx context.Context, req *a2apb.GetTaskRequest) (*a2apb.Task, error) {
	if err := s.checkExtensions(ctx); err != nil {
		return nil, err
	}
	if req.HistoryLength != nil && *req.HistoryLength < 0 {
		return nil, invalidParams("history_length must not be negative")
	}
	st, err := s.loadTask(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return historyLimit(st.Task, req.HistoryLength), nil
}

// ListTasks implements Handler: the caller's tasks, newest first, filtered by context, state
// and status time; page_size defaults to 50 and is at most 100; artifacts only when
// include_artifacts.
func (s *Server) ListTasks(ctx context.Context, req *a2apb.ListTasksRequest) (*a2apb.ListTasksResponse, error) {
	if err := s.checkExtensions(ctx); err != nil {
		return nil, err
	}
	size := DefaultListPageSize
	if req.PageSize != nil {
		if *req.PageSize < 1 {
			return nil, invalidParams("page_size must be at least 1")
		}
		size = min(int(*req.PageSize), MaxListPageSize)
	}
	if req.HistoryLength != nil && *req.HistoryLength < 0 {
		return nil, invalidParams("history_length must not be negative")
	}
	f := TaskFilter{Owner: CallerFrom(ctx), ContextID: req.GetContextId(), State: req.GetStatus(), PageSize: size, PageToken: req.GetPageToken()}
	if ts := req.GetStatusTimestampAfter(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return nil, invalidParams("status_timestamp_after: %v", err)
		}
		f.StatusAfter = ts.AsTime().Truncate(time.Microsecond)
	}
	page, err := s.cfg.Store.ListTasks(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &a2apb.ListTasksResponse{NextPageToken: page.NextPageToken, PageSize: int32(size), TotalSize: int32(page.TotalSize), Tasks: make([]*a2apb.Task, 0, len(page.Tasks))}
	for _, st := range page.Tasks {
		t := historyLimit(st.Task, req.HistoryLength)
		if !req.GetIncludeArtifacts() && len(t.Artifacts) > 0 {
			t = proto.CloneOf(t)
			t.Artifacts = nil
		}
		out.Tasks = append(out.Tasks, t)
	}
	return out, nil
}

// CancelTask implements Handler: ErrTaskNotCancelable for a terminal task; otherwise the
// executor's Cancel runs and the task ends canceled.
func (s *Server) CancelTask(ctx context.Context, req *a2apb.CancelTaskRequest) (*a2apb.Task, error) {
	if err := s.checkExtensions(ctx); err != nil {
		return nil, err
	}
	st, err := s.loadTask(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	for {
		if Terminal(st.Task.GetStatus().GetState()) {
			return nil, Errorf(CodeTaskNotCancelable, "task %s is %s and cannot be canceled", st.Task.GetId(), stateName(st.Task.GetStatus().GetState()))
		}
		r, busy := s.acquire(st.Task.GetId(), st.Task.GetContextId(), st.Owner)
		if busy != nil {
			r = busy
			r.mu.Lock()
			first := !r.cancel
			r.cancel = true
			rc := r.rc
			r.mu.Unlock()
			if first && rc != nil {
				if err := s.call(func() error { return s.cfg.Executor.Cancel(ctx, cancelContext(rc), r.queue()) }); err != nil {
					s.log.Warn("a2a: executor cancel", "task", r.id, "err", err)
				}
				r.mu.Lock()
				stop := r.stopExec
				r.mu.Unlock()
				stop()
			}
		} else {
			// Nothing runs the task (it is interrupted, or its run died with a server): cancel
			// it under a run of our own.
			if st, err = s.cfg.Store.GetTask(ctx, st.Task.GetId()); err != nil {
				r.finish(nil)
				return nil, err
			}
			rc := &RequestContext{TaskID: r.id, ContextID: r.contextID, Task: proto.CloneOf(st.Task), Caller: CallerFrom(ctx),
				Configuration: &a2apb.SendMessageConfiguration{}, Metadata: req.GetMetadata()}
			r.mu.Lock()
			r.st, r.cancel, r.rc = st, true, rc
			r.mu.Unlock()
			if !Terminal(st.Task.GetStatus().GetState()) {
				if err := s.call(func() error { return s.cfg.Executor.Cancel(ctx, rc, r.queue()) }); err != nil {
					s.log.Warn("a2a: executor cancel", "task", r.id, "err", err)
				}
			}
			r.finish(nil)
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if st, err = s.cfg.Store.GetTask(ctx, st.Task.GetId()); err != nil {
			return nil, err
		}
		if st.Task.GetStatus().GetState() == stateCanceled {
			return st.Task, nil
		}
		if Terminal(st.Task.GetStatus().GetState()) {
			continue // reports not cancelable
		}
		// Still not terminal: another run took the task meanwhile; try again.
	}
}

func cancelContext(rc *RequestContext) *RequestContext {
	c := *rc
	c.Message = nil
	return &c
}

// SubscribeToTask implements Handler: the task as it is now, then its live events until it is
// terminal — through input-required and auth-required and the runs that continue the task after
// them. A terminal task is ErrUnsupportedOperation (the spec: subscribe to tasks not yet
// terminal), answered before any event.
func (s *Server) SubscribeToTask(ctx context.Context, req *a2apb.SubscribeToTaskRequest) iter.Seq2[*a2apb.StreamResponse, error] {
	return func(yield func(*a2apb.StreamResponse, error) bool) {
		if !s.streamingSupported() {
			yield(nil, Errorf(CodeUnsupportedOperation, "this agent does not stream"))
			return
		}
		if err := s.checkExtensions(ctx); err != nil {
			yield(nil, err)
			return
		}
		st, err := s.loadTask(ctx, req.GetId())
		if err != nil {
			yield(nil, err)
			return
		}
		if state := st.Task.GetStatus().GetState(); Terminal(state) {
			yield(nil, Errorf(CodeUnsupportedOperation, "task %s is %s: there is nothing to subscribe to", st.Task.GetId(), stateName(state)))
			return
		}
		// Watch first, then take the snapshot: an event in between is seen twice (in the
		// snapshot and as an event), never missed.
		id := st.Task.GetId()
		sub := s.watch(id)
		defer s.unwatch(id, sub)
		snap := st.Task
		if r := s.lookup(id); r != nil {
			r.mu.Lock()
			if r.st != nil {
				snap = proto.CloneOf(r.st.Task)
			}
			r.mu.Unlock()
		} else if cur, err := s.cfg.Store.GetTask(ctx, id); err == nil {
			snap = cur.Task
		}
		if !yield(&a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Task{Task: snap}}, nil) {
			return
		}
		if Terminal(snap.GetStatus().GetState()) {
			return
		}
		for {
			select {
			case ev, ok := <-sub.ch:
				if !ok {
					if sub.overflow {
						yield(nil, Errorf(CodeInternalError, "the stream fell behind; subscribe again"))
					}
					return
				}
				if !yield(ev, nil) {
					return
				}
				if st, ok := eventState(ev); ok && Terminal(st) {
					return
				}
			case <-s.base.Done():
				yield(nil, Errorf(CodeInternalError, "server shut down"))
				return
			case <-ctx.Done():
				yield(nil, ctx.Err())
				return
			}
		}
	}
}

// checkPushConfig validates a push-notification config and its URL against the sender's
// policy.
func (s *Server) checkPushConfig(ctx context.Context, cfg *a2apb.TaskPushNotificationConfig) error {
	if cfg.GetUrl() == "" {
		return invalidParams("push notification config: url is required")
	}
	return s.cfg.Push.Check(ctx, cfg)
}

// CreateTaskPushNotificationConfig implements Handler: the config is stored for the task (a
// new id when it has none; an existing id is replaced), up to Limits.MaxPushConfigs per task.
func (s *Server) CreateTaskPushNotificationConfig(ctx context.Context, req *a2apb.TaskPushNotificationConfig) (*a2apb.TaskPushNotificationConfig, error) {
	if err := s.checkExtensions(ctx); err != nil {
		return nil, err
	}
	if !s.pushSupported() {
		return nil, ErrPushNotificationNotSupported
	}
	st, err := s.loadTask(ctx, req.GetTaskId())
	if err != nil {
		return nil, err
	}
	if err := s.checkPushConfig(ctx, req); err != nil {
		return nil, err
	}
	cfg := proto.CloneOf(req)
	cfg.TaskId = st.Task.GetId()
	cfg.Id = cmp.Or(cfg.Id, ids.New("pnc"))
	have, err := s.cfg.Store.ListPushConfigs(ctx, cfg.TaskId)
	if err != nil {
		return nil, err
	}
	if len(have) >= s.limits.MaxPushConfigs && !slices.ContainsFunc(have, func(c *a2apb.TaskPushNotificationConfig) bool { return c.GetId() == cfg.Id }) {
		return nil, invalidParams("task %s has %d push notification configs; the limit is %d", cfg.TaskId, len(have), s.limits.MaxPushConfigs)
	}
	if err := s.cfg.Store.PutPushConfig(ctx, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// GetTaskPushNotificationConfig implements Handler. Without an id (optional in v0.3) it returns
// the task's first config by id, ErrPushConfigNotFound when it has none.
func (s *Server) GetTaskPushNotificationConfig(ctx context.Context, req *a2apb.GetTaskPushNotificationConfigRequest) (*a2apb.TaskPushNotificationConfig, error) {
	if err := s.checkExtensions(ctx); err != nil {
		return nil, err
	}
	if !s.pushSupported() {
		return nil, ErrPushNotificationNotSupported
	}
	if _, err := s.loadTask(ctx, req.GetTaskId()); err != nil {
		return nil, err
	}
	if req.GetId() == "" {
		all, err := s.cfg.Store.ListPushConfigs(ctx, req.GetTaskId())
		if err != nil {
			return nil, err
		}
		if len(all) == 0 {
			return nil, ErrPushConfigNotFound
		}
		return all[0], nil
	}
	return s.cfg.Store.GetPushConfig(ctx, req.GetTaskId(), req.GetId())
}

// ListTaskPushNotificationConfigs implements Handler: configs by id, page_size at a time (all
// when it is not positive); the page token is the last id of the previous page.
func (s *Server) ListTaskPushNotificationConfigs(ctx context.Context, req *a2apb.ListTaskPushNotificationConfigsRequest) (*a2apb.ListTaskPushNotificationConfigsResponse, error) {
	if err := s.checkExtensions(ctx); err != nil {
		return nil, err
	}
	if !s.pushSupported() {
		return nil, ErrPushNotificationNotSupported
	}
	if _, err := s.loadTask(ctx, req.GetTaskId()); err != nil {
		return nil, err
	}
	all, err := s.cfg.Store.ListPushConfigs(ctx, req.GetTaskId())
	if err != nil {
		return nil, err
	}
	if tok := req.GetPageToken(); tok != "" {
		i := slices.IndexFunc(all, func(c *a2apb.TaskPushNotificationConfig) bool { return c.GetId() > tok })
		if i < 0 {
			i = len(all)
		}
		all = all[i:]
	}
	out := &a2apb.ListTaskPushNotificationConfigsResponse{Configs: all}
	if n := int(req.GetPageSize()); n > 0 && len(all) > n {
		out.Configs = all[:n]
		out.NextPageToken = all[n-1].GetId()
	}
	return out, nil
}

// DeleteTaskPushNotificationConfig implements Handler. Deleting is idempotent: a config that
// does not exist (deleted already) is not an error; an unknown task is.
func (s *Server) DeleteTaskPushNotificationConfig(ctx context.Context, req *a2apb.DeleteTaskPushNotificationConfigRequest) error {
	if err := s.checkExtensions(ctx); err != nil {
		return err
	}
	if !s.pushSupported() {
		return ErrPushNotificationNotSupported
	}
	if _, err := s.loadTask(ctx, req.GetTaskId()); err != nil {
		return err
	}
	if err := s.cfg.Store.DeletePushConfig(ctx, req.GetTaskId(), req.GetId()); err != nil && !errors.Is(err, ErrPushConfigNotFound) {
		return err
	}
	return nil
}

// GetExtendedAgentCard implements Handler: ErrExtendedAgentCardNotConfigured without one.
func (s *Server) GetExtendedAgentCard(ctx context.Context, req *a2apb.GetExtendedAgentCardRequest) (*a2apb.AgentCard, error) {
	if err := s.checkExtensions(ctx); err != nil {
		return nil, err
	}
	if s.cfg.ExtendedCard == nil {
		return nil, ErrExtendedAgentCardNotConfigured
	}
	return proto.CloneOf(s.cfg.ExtendedCard), nil
}
