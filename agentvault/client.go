package agentvault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/tracing"
)

// Limits of the Client.
const (
	// CardCacheTTL is how long a resolved card is reused (the card documents' Cache-Control).
	CardCacheTTL = 5 * time.Minute
	// cardFetchTimeout bounds fetching a card document.
	cardFetchTimeout = 30 * time.Second
	// maxCachedTargets bounds the resolved-target cache.
	maxCachedTargets = 1024
)

// Client talks A2A to other agents by reference — a registry agent id (agt_…), an agent's
// base URL, a card document URL, or a card file — resolving the card, choosing a binding from
// its supportedInterfaces (a2a.NewClientFromCard) and authenticating from the key store: the
// API key kept for the target (under its registry id, its card name or its URL host), sent in
// the header the card's apiKey scheme names; and the caller's bearer token (WithBearer) when
// the card asks for one. Resolved targets are cached for CardCacheTTL. Safe for concurrent
// use.
type Client struct {
	s        settings
	registry *Registry
	hc       *http.Client // for A2A calls (no timeout: streams)

	mu      sync.Mutex
	targets map[string]*Target
}

// NewClient returns a client. Options: WithRegistry (needed for agent ids), WithKeyStore
// (default DefaultKeyStore(false), or none when it cannot be opened), WithBearer,
// WithHTTPClient (used for A2A calls and card fetches alike).
func NewClient(opts ...Option) *Client {
	s := newSettings(opts)
	c := &Client{s: s, targets: map[string]*Target{}, hc: &http.Client{Transport: tracing.Transport(s.rt)}}
	if s.hcSet {
		c.hc = s.hc
	}
	if c.s.keys == nil {
		if ks, err := DefaultKeyStore(false); err == nil {
			c.s.keys = ks
		}
	}
	if s.registry != "" {
		c.registry = NewRegistry(s.registry, nil, WithHTTPClient(s.hc))
	}
	return c
}

// Target is a resolved agent: its card, where it came from, and the A2A client for it.
type Target struct {
	// Ref is the reference it was resolved from.
	Ref string
	// ID is the agent's registry id when it was resolved through the registry.
	ID string
	// CardURL is where the card came from (a URL, or file:// path).
	CardURL string
	// Card is the agent's card.
	Card *a2apb.AgentCard
	// A2A is the client of the chosen interface.
	A2A *a2a.Client

	at      time.Time
	uses    int  // calls of the Client in flight on A2A
	retired bool // out of the cache: A2A is closed once uses is 0
}

// RefKind is what a reference names.
type RefKind int

// The kinds of reference.
const (
	RefInvalid  RefKind = iota
	RefRegistry         // a registry agent id: agt_…
	RefURL              // an http(s) URL: an agent base URL or a card document (…json)
	RefFile             // a card file
)

// KindOfRef says what ref names: a registry id (agt_ and no slash), an http(s) URL, or
// otherwise a file path (file:// URLs too).
func KindOfRef(ref string) RefKind {
	switch {
	case ref == "":
		return RefInvalid
	case strings.HasPrefix(ref, "agt_") && !strings.ContainsAny(ref, "/\\."):
		return RefRegistry
	case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://"):
		return RefURL
	default:
		return RefFile
	}
}

// Resolve returns the A2A client of the agent ref names (Target's A2A; see Target for how
// long it stays open).
func (c *Client) Resolve(ctx context.Context, ref string) (*a2a.Client, error) {
	t, err := c.Target(ctx, ref)
	if err != nil {
		return nil, err
	}
	return t.A2A, nil
}

// Target resolves ref (from the cache when fresh). The target's A2A client belongs to the
// cache: when the target leaves it — Forget, Close, a refreshed card that differs after
// CardCacheTTL, or the cache overflowing — its connection (a gRPC binding's) is closed, once
// the calls the Client itself makes on it have ended. Call Target again rather than keep one.
func (c *Client) Target(ctx context.Context, ref string) (*Target, error) {
	return c.target(ctx, ref, false)
}

// target is Target; with hold, the target is counted as in use until release.
func (c *Client) target(ctx context.Context, ref string, hold bool) (*Target, error) {
	c.mu.Lock()
	old, ok := c.targets[ref]
	if ok && c.s.now().Sub(old.at) < CardCacheTTL {
		if hold {
			old.uses++
		}
		c.mu.Unlock()
		return old, nil
	}
	c.mu.Unlock()
	t, err := c.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	var closing []*Target
	c.mu.Lock()
	switch cur, ok := c.targets[ref]; {
	case ok && c.s.now().Sub(cur.at) < CardCacheTTL && cur != old:
		closing = append(closing, t) // resolved meanwhile by another call: keep that one
		t = cur
	case ok && proto.Equal(cur.Card, t.Card) && cur.ID == t.ID && cur.CardURL == t.CardURL:
		closing = append(closing, t) // the card did not change: keep the client (and its conn)
		cur.at = t.at
		t = cur
	default:
		if ok {
			closing = append(closing, c.retire(cur)...)
		}
		if len(c.targets) >= maxCachedTargets {
			for _, x := range c.targets {
				closing = append(closing, c.retire(x)...)
			}
			clear(c.targets)
		}
		c.targets[ref] = t
	}
	if hold {
		t.uses++
	}
	c.mu.Unlock()
	closeTargets(closing)
	return t, nil
}

// retire marks t as out of the cache (c.mu held) and returns it when it is to be closed now.
func (c *Client) retire(t *Target) []*Target {
	t.retired = true
	if t.uses == 0 {
		return []*Target{t}
	}
	return nil
}

// release ends a use of t (target with hold); a retired target is closed after its last use.
func (c *Client) release(t *Target) {
	c.mu.Lock()
	t.uses--
	last := t.retired && t.uses == 0
	c.mu.Unlock()
	if last {
		closeTargets([]*Target{t})
	}
}

func closeTargets(ts []*Target) {
	for _, t := range ts {
		if t.A2A != nil {
			_ = t.A2A.Close()
		}
	}
}

// Forget drops ref from the cache (after its card changed) and closes its client's
// connection once the calls in flight on it have ended.
func (c *Client) Forget(ref string) {
	c.mu.Lock()
	var closing []*Target
	if t, ok := c.targets[ref]; ok {
		delete(c.targets, ref)
		closing = c.retire(t)
	}
	c.mu.Unlock()
	closeTargets(closing)
}

// Close forgets every target (Forget): their connections are closed once the calls in flight
// on them have ended. The Client stays usable; later calls resolve again.
func (c *Client) Close() error {
	c.mu.Lock()
	var closing []*Target
	for ref, t := range c.targets {
		delete(c.targets, ref)
		closing = append(closing, c.retire(t)...)
	}
	c.mu.Unlock()
	closeTargets(closing)
	return nil
}

// use resolves ref for one call of the Client: the target's client stays open until done.
func (c *Client) use(ctx context.Context, ref string) (*a2a.Client, func(), error) {
	t, err := c.target(ctx, ref, true)
	if err != nil {
		return nil, nil, err
	}
	return t.A2A, func() { c.release(t) }, nil
}

func (c *Client) resolve(ctx context.Context, ref string) (*Target, error) {
	t := &Target{Ref: ref, at: c.s.now()}
	var err error
	switch KindOfRef(ref) {
	case RefRegistry:
		if c.registry == nil {
			return nil, fmt.Errorf("agentvault: %s is a registry id, but the client has no registry (WithRegistry)", ref)
		}
		t.ID = ref
		t.CardURL = c.registry.BaseURL() + "/agents/" + url.PathEscape(ref) + "/.well-known/agent-card.json"
		t.Card, err = c.registry.CardDocument(ctx, ref)
	case RefURL:
		t.CardURL = ref
		if u, perr := url.Parse(ref); perr == nil && !strings.HasSuffix(u.Path, ".json") {
			u.Path = strings.TrimRight(u.Path, "/") + a2a.WellKnownCardPath
			u.RawQuery, u.Fragment = "", ""
			t.CardURL = u.String()
		}
		t.Card, err = c.fetchCard(ctx, t.CardURL)
	case RefFile:
		path := strings.TrimPrefix(ref, "file://")
		t.CardURL = "file://" + path
		var data []byte
		if data, err = os.ReadFile(path); err == nil {
			t.Card, err = decodeCard(data)
		}
	default:
		return nil, errors.New("agentvault: empty agent reference")
	}
	if err != nil {
		return nil, fmt.Errorf("agentvault: resolving %s: %w", ref, err)
	}
	auth, err := c.authFor(ctx, t)
	if err != nil {
		return nil, err
	}
	opts := []a2a.ClientOption{a2a.WithHTTPClient(c.hc)}
	if auth != nil {
		opts = append(opts, a2a.WithAuth(auth))
	}
	if t.A2A, err = a2a.NewClientFromCard(t.Card, opts...); err != nil {
		return nil, fmt.Errorf("agentvault: %s: %w", ref, err)
	}
	return t, nil
}

// fetchCard GETs a card document.
func (c *Client) fetchCard(ctx context.Context, u string) (*a2apb.AgentCard, error) {
	ctx, cancel := context.WithTimeout(ctx, cardFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, agentcard.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, decodeAPIError(resp, data)
	}
	return decodeCard(data)
}

// keyIDs are the ids an API key for t may be kept under, in order.
func keyIDs(t *Target) []string {
	var ids []string
	if t.ID != "" {
		ids = append(ids, t.ID)
	}
	if n := t.Card.GetName(); n != "" {
		ids = append(ids, n)
	}
	for _, i := range t.Card.GetSupportedInterfaces() {
		if u, err := url.Parse(i.GetUrl()); err == nil && u.Host != "" {
			ids = append(ids, u.Host)
			break
		}
	}
	return ids
}

// authFor builds the auth hook for a target: its stored API key, and the caller's bearer
// token when the card asks for one. nil when there is nothing to send.
func (c *Client) authFor(ctx context.Context, t *Target) (func(context.Context, http.Header) error, error) {
	var creds []Credential
	header, wantsBearer := "", false
	for _, s := range t.Card.GetSecuritySchemes() {
		switch {
		case s.GetApiKeySecurityScheme() != nil:
			if k := s.GetApiKeySecurityScheme(); header == "" && strings.EqualFold(k.GetLocation(), "header") && k.GetName() != "" {
				header = k.GetName()
			}
		case s.GetHttpAuthSecurityScheme() != nil:
			wantsBearer = wantsBearer || strings.EqualFold(s.GetHttpAuthSecurityScheme().GetScheme(), "bearer")
		case s.GetOauth2SecurityScheme() != nil, s.GetOpenIdConnectSecurityScheme() != nil:
			wantsBearer = true
		}
	}
	if c.s.keys != nil {
		for _, id := range keyIDs(t) {
			key, err := c.s.keys.Get(ctx, id, FieldAPIKey)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("agentvault: the API key of %s: %w", id, err)
			}
			creds = append(creds, APIKey{Header: header, Key: key})
			break
		}
	}
	if wantsBearer && c.s.bearer != nil {
		bearer := c.s.bearer
		// The caller's token is narrowed to this agent when the agent is known (its registry
		// id, or the payee its pricing names): a token an agent receives must not let it act
		// as the caller anywhere else.
		if scoped, ok := bearer.(AudienceScoped); ok {
			aud := t.ID
			if aud == "" {
				if p, ok, _ := a2a.PricingFromCard(t.Card); ok {
					aud = p.Payee
				}
			}
			if aud == "" {
				return nil, fmt.Errorf("agentvault: %s asks for a bearer token but is not a registry agent (resolve it by its agent id): the caller's token is not sent to an unknown audience", t.CardURL)
			}
			bearer = scoped.ForAudience(aud)
		}
		creds = append(creds, bearer)
	}
	if len(creds) == 0 {
		return nil, nil
	}
	return func(ctx context.Context, h http.Header) error {
		for _, cr := range creds {
			if err := cr.Apply(ctx, h); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// ---- convenience calls ----

// UserMessage is a user message of one text part (a new message id).
func UserMessage(text string) *a2apb.Message {
	return a2a.NewTextMessage(a2apb.Role_ROLE_USER, text)
}

// Send sends text to the agent ref names and returns its answer (a message, or the task).
func (c *Client) Send(ctx context.Context, ref, text string) (*a2apb.SendMessageResponse, error) {
	return c.SendMessage(ctx, ref, &a2apb.SendMessageRequest{Message: UserMessage(text)})
}

// SendMessage sends a full request to the agent ref names.
func (c *Client) SendMessage(ctx context.Context, ref string, req *a2apb.SendMessageRequest) (*a2apb.SendMessageResponse, error) {
	a, done, err := c.use(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer done()
	return a.SendMessage(ctx, req)
}

// Stream sends text to the agent ref names and yields its events as they come.
func (c *Client) Stream(ctx context.Context, ref, text string) iter.Seq2[*a2apb.StreamResponse, error] {
	return c.StreamMessage(ctx, ref, &a2apb.SendMessageRequest{Message: UserMessage(text)})
}

// StreamMessage sends a full request to the agent ref names and yields its events.
func (c *Client) StreamMessage(ctx context.Context, ref string, req *a2apb.SendMessageRequest) iter.Seq2[*a2apb.StreamResponse, error] {
	return func(yield func(*a2apb.StreamResponse, error) bool) {
		a, done, err := c.use(ctx, ref)
		if err != nil {
			yield(nil, err)
			return
		}
		defer done()
		for ev, err := range a.SendStreamingMessage(ctx, req) {
			if !yield(ev, err) {
				return
			}
		}
	}
}

// GetTask returns task id of the agent ref names.
func (c *Client) GetTask(ctx context.Context, ref, id string) (*a2apb.Task, error) {
	a, done, err := c.use(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer done()
	return a.GetTask(ctx, &a2apb.GetTaskRequest{Id: id})
}

// ListTasks lists the caller's tasks at the agent ref names.
func (c *Client) ListTasks(ctx context.Context, ref string, req *a2apb.ListTasksRequest) (*a2apb.ListTasksResponse, error) {
	a, done, err := c.use(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer done()
	if req == nil {
		req = &a2apb.ListTasksRequest{}
	}
	return a.ListTasks(ctx, req)
}

// CancelTask cancels task id at the agent ref names.
func (c *Client) CancelTask(ctx context.Context, ref, id string) (*a2apb.Task, error) {
	a, done, err := c.use(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer done()
	return a.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: id})
}

// Resubscribe yields task id's current state, then its live events (SubscribeToTask).
func (c *Client) Resubscribe(ctx context.Context, ref, id string) iter.Seq2[*a2apb.StreamResponse, error] {
	return func(yield func(*a2apb.StreamResponse, error) bool) {
		a, done, err := c.use(ctx, ref)
		if err != nil {
			yield(nil, err)
			return
		}
		defer done()
		for ev, err := range a.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: id}) {
			if !yield(ev, err) {
				return
			}
		}
	}
}

// SetPushConfig asks the agent ref names to POST task taskID's events to webhookURL, with
// token echoed in each notification (may be empty).
func (c *Client) SetPushConfig(ctx context.Context, ref, taskID, webhookURL, token string) (*a2apb.TaskPushNotificationConfig, error) {
	a, done, err := c.use(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer done()
	return a.CreateTaskPushNotificationConfig(ctx, &a2apb.TaskPushNotificationConfig{TaskId: taskID, Url: webhookURL, Token: token})
}

// ---- reading answers ----

// TextOf joins the text parts of a message's parts with newlines.
func TextOf(parts []*a2apb.Part) string {
	var b []string
	for _, p := range parts {
		if t, ok := p.GetContent().(*a2apb.Part_Text); ok {
			b = append(b, t.Text)
		}
	}
	return strings.Join(b, "\n")
}

// ArtifactText is the text of an artifact: its text parts run together, since the parts of
// an artifact streamed in chunks (appended parts) are pieces of one text.
func ArtifactText(a *a2apb.Artifact) string {
	var b strings.Builder
	for _, p := range a.GetParts() {
		if t, ok := p.GetContent().(*a2apb.Part_Text); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// AnswerText is the text of an answer: the message's text, or the task's artifacts' text
// (else its status message's text).
func AnswerText(res *a2apb.SendMessageResponse) string {
	if m := res.GetMessage(); m != nil {
		return TextOf(m.GetParts())
	}
	return TaskText(res.GetTask())
}

// TaskText is the text of a task's artifacts (ArtifactText, one artifact a line), or of its
// status message when they have none.
func TaskText(t *a2apb.Task) string {
	var b []string
	for _, a := range t.GetArtifacts() {
		if s := ArtifactText(a); s != "" {
			b = append(b, s)
		}
	}
	if len(b) == 0 {
		return TextOf(t.GetStatus().GetMessage().GetParts())
	}
	return strings.Join(b, "\n")
}
