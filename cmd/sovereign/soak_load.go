//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/soak"
)

// The operation kinds of the soak's load.
const (
	soakSearch    = "search"
	soakFederated = "federated_query"
	soakTransfer  = "transfer"
	soakPaidTask  = "paid_task"
	soakPublish   = "card_publish"
)

// soakMix is the share of each kind in the load (out of 100).
var soakMix = []struct {
	kind  string
	share int
}{{soakSearch, 35}, {soakTransfer, 35}, {soakFederated, 12}, {soakPaidTask, 12}, {soakPublish, 6}}

// soakAgent is an agent registered on registry A for the load.
type soakAgent struct {
	id string
	ts *agentvault.TokenSource
}

// soakPrice is what a paid task costs.
var soakPrice = avt.MustParse("0.5")

// soakLoad is the load generator: its agents, the journal of acknowledged writes, the
// recorder of operations, and the transfers whose outcome it did not learn.
type soakLoad struct {
	st       *soakStack
	rec      *soak.Recorder
	journal  *soak.Journal
	hc       *http.Client
	run      string // names this run's idempotency keys and cards
	tegURLs  []string
	movers   []soakAgent // transfer among themselves only
	payers   []soakAgent // pay for tasks
	payee    soakAgent
	payeeURL string
	clients  []*agentvault.Client // one per payer
	seq      atomic.Int64

	mu      sync.Mutex
	inDoubt []soakPendingTransfer
}

// soakPendingTransfer is a transfer sent without an acknowledgement: resent with its key at
// the end, so that its outcome is known.
type soakPendingTransfer struct {
	key, from, to string
	tegURL        string
	amount        avt.Amount
	ts            *agentvault.TokenSource
}

// soakCard is an agent card of the load (A2A JSON).
func soakCard(name, subject, base string, secured bool) map[string]any {
	c := map[string]any{"name": name, "description": name + " does " + subject + " work for the soak", "version": "1.0.0",
		"supportedInterfaces": []map[string]any{{"url": base + "/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
		"capabilities":        map[string]any{}, "defaultInputModes": []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
		"skills": []map[string]any{{"id": "answer", "name": "Answer", "description": "answers about " + subject, "tags": []string{subject}}}}
	if secured {
		c["securitySchemes"] = map[string]any{"svid": map[string]any{"httpAuthSecurityScheme": map[string]any{"scheme": "Bearer", "bearerFormat": "JWT"}}}
		c["securityRequirements"] = []map[string]any{{"schemes": map[string]any{"svid": map[string]any{}}}}
	}
	return c
}

// newSoakLoad registers the load's agents on registry A (each gets the starting grant from the
// TEG), serves the paid agent in this process, seeds cards on both registries and waits until
// a federated query on each finds the other's.
func newSoakLoad(ctx context.Context, st *soakStack, movers, payers int, out func(string, ...any)) (*soakLoad, func(), error) {
	l := &soakLoad{st: st, rec: &soak.Recorder{}, journal: &soak.Journal{},
		hc:      &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}},
		run:     fmt.Sprintf("%x", time.Now().UnixNano()),
		tegURLs: []string{st.teg1.url, st.teg2.url}}
	reg := agentvault.NewRegistry(st.regA.url, agentvault.BearerToken(st.regAAdmin), agentvault.WithHTTPClient(l.hc))
	register := func(name string, card map[string]any) (*agentvault.Registration, error) {
		b, _ := json.Marshal(card)
		g, err := reg.Register(ctx, b, agentvault.RegisterOptions{})
		if err != nil {
			return nil, fmt.Errorf("register %s: %w", name, err)
		}
		if g.Grant == "" || g.Grant == "0" {
			return nil, fmt.Errorf("register %s: no starting grant (%s)", name, g.GrantReason)
		}
		return g, nil
	}
	out("registering %d transfer agents, %d payers and a paid agent on registry A…", movers, payers)
	for i := 0; i < movers+payers; i++ {
		name := fmt.Sprintf("Soak mover %d", i)
		if i >= movers {
			name = fmt.Sprintf("Soak payer %d", i-movers)
		}
		g, err := register(name, soakCard(name, benchFedWords[i%len(benchFedWords)], "http://soak.invalid", false))
		if err != nil {
			return nil, nil, err
		}
		a := soakAgent{id: g.Identity.ID, ts: g.TokenSource(st.regA.url, agentvault.WithHTTPClient(l.hc))}
		if i < movers {
			l.movers = append(l.movers, a)
		} else {
			l.payers = append(l.payers, a)
			l.clients = append(l.clients, agentvault.NewClient(agentvault.WithBearer(a.ts), agentvault.WithRegistry(st.regA.url)))
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	l.payeeURL = "http://" + ln.Addr().String()
	cardDoc := soakCard("Soak paid agent", "weather", l.payeeURL, true)
	g, err := register("the paid agent", cardDoc)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	l.payee = soakAgent{id: g.Identity.ID, ts: g.TokenSource(st.regA.url, agentvault.WithHTTPClient(l.hc))}
	var card a2apb.AgentCard
	b, _ := json.Marshal(cardDoc)
	if err := protojson.Unmarshal(b, &card); err != nil {
		ln.Close()
		return nil, nil, err
	}
	cfg := a2a.Payments{Ledger: &a2a.TEGLedger{BaseURL: st.teg1.url, Account: l.payee.id, Auth: l.payee.ts.Apply, HTTPClient: l.hc},
		Payee: l.payee.id, Prices: map[string]avt.Amount{"answer": soakPrice}, Logger: slog.New(slog.DiscardHandler)}.
		Wrap(a2a.ServerConfig{Executor: benchEcho{}, Card: &card})
	agent := &agentvault.Agent{Executor: cfg.Executor, Store: cfg.Store, Card: cfg.Card, Identity: g.Identity,
		RegistryURL: st.regA.url, HeartbeatInterval: -1, Listener: ln, Logger: slog.New(slog.DiscardHandler)}
	actx, stopAgent := context.WithCancel(context.Background())
	agentDone := make(chan error, 1)
	go func() { agentDone <- agent.Run(actx) }()
	stop := func() {
		stopAgent()
		select {
		case <-agentDone:
		case <-time.After(10 * time.Second):
		}
		for _, c := range l.clients {
			c.Close()
		}
	}
	out("seeding cards on both registries and waiting for federated queries to reach across…")
	for i := 0; i < 10; i++ {
		for _, r := range []struct{ url, admin, name string }{{st.regA.url, st.regAAdmin, "a"}, {st.regB.url, st.regBAdmin, "b"}} {
			if _, err := l.publish(ctx, r.url, r.admin, fmt.Sprintf("Seed %s %d", r.name, i)); err != nil {
				stop()
				return nil, nil, fmt.Errorf("seed cards: %w", err)
			}
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, pair := range [][2]string{{st.regA.url, "b.soak.test"}, {st.regB.url, "a.soak.test"}} {
		for {
			origins, err := l.federatedOrigins(ctx, pair[0], "seed")
			if err == nil && origins[pair[1]] {
				break
			}
			if time.Now().After(deadline) {
				stop()
				return nil, nil, fmt.Errorf("a federated query on %s never found a card of %s (%v)", pair[0], pair[1], err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	return l, stop, nil
}

// publish publishes a card on the registry at base as its admin and journals it.
func (l *soakLoad) publish(ctx context.Context, base, admin, name string) (string, error) {
	var res struct {
		ID string `json:"id"`
	}
	w := benchFedWords[int(l.seq.Add(1))%len(benchFedWords)]
	body := map[string]any{"card_data": soakCard(name, w, "https://agents.example.com/"+w, false)}
	if err := l.call(ctx, http.MethodPost, base, admin, "/api/v1/agent-cards", body, &res); err != nil {
		return "", err
	}
	if res.ID == "" {
		return "", errors.New("the publish answer has no card id")
	}
	l.journal.Card(soak.Card{Registry: base, ID: res.ID})
	return res.ID, nil
}

// call makes one API call with a bearer credential (none when empty).
func (l *soakLoad) call(ctx context.Context, method, base, bearer, path string, body, into any) error {
	var rdr io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rdr = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rdr)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := l.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if res.StatusCode >= 300 {
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &env) == nil && env.Error.Code != "" {
			return fmt.Errorf("%s %s: %d %s: %s", method, path, res.StatusCode, env.Error.Code, env.Error.Message)
		}
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, strings.TrimSpace(string(b)))
	}
	if into != nil {
		return json.Unmarshal(b, into)
	}
	return nil
}

// federatedOrigins runs a federated query on the registry at base and returns the origins of
// its results.
func (l *soakLoad) federatedOrigins(ctx context.Context, base, q string) (map[string]bool, error) {
	var page struct {
		Items []struct {
			Origin string `json:"origin_registry"`
		} `json:"items"`
	}
	v := url.Values{"q": {q}, "include_federated": {"true"}, "limit": {"20"}}
	if err := l.call(ctx, http.MethodGet, base, "", "/api/v1/agent-cards?"+v.Encode(), nil, &page); err != nil {
		return nil, err
	}
	origins := map[string]bool{}
	for _, it := range page.Items {
		origins[it.Origin] = true
	}
	return origins, nil
}

// worker runs operations until ctx ends, pacing itself to interval per operation.
func (l *soakLoad) worker(ctx context.Context, seed uint64, interval time.Duration) {
	rng := rand.New(rand.NewPCG(seed, seed*7919+1))
	next := time.Now()
	for ctx.Err() == nil {
		kind := soakMix[len(soakMix)-1].kind
		n := rng.IntN(100)
		for _, m := range soakMix {
			if n < m.share {
				kind = m.kind
				break
			}
			n -= m.share
		}
		start := time.Now()
		octx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := l.do(octx, kind, rng)
		cancel()
		l.rec.Record(kind, start, time.Since(start), err)
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		} else {
			next = time.Now()
		}
	}
}

// do runs one operation of kind.
func (l *soakLoad) do(ctx context.Context, kind string, rng *rand.Rand) error {
	regs := []string{l.st.regA.url, l.st.regB.url}
	word := benchFedWords[rng.IntN(len(benchFedWords))]
	switch kind {
	case soakSearch:
		var page struct {
			Items []json.RawMessage `json:"items"`
		}
		return l.call(ctx, http.MethodGet, regs[rng.IntN(2)], "", "/api/v1/agent-cards?q="+word+"&limit=10", nil, &page)
	case soakFederated:
		_, err := l.federatedOrigins(ctx, regs[rng.IntN(2)], word)
		return err
	case soakPublish:
		i := rng.IntN(2)
		admin := []string{l.st.regAAdmin, l.st.regBAdmin}[i]
		_, err := l.publish(ctx, regs[i], admin, fmt.Sprintf("Soak card %s %d", l.run, l.seq.Add(1)))
		return err
	case soakTransfer:
		from := rng.IntN(len(l.movers))
		to := (from + 1 + rng.IntN(len(l.movers)-1)) % len(l.movers)
		p := soakPendingTransfer{key: fmt.Sprintf("soak-%s-%d", l.run, l.seq.Add(1)), from: l.movers[from].id, to: l.movers[to].id,
			tegURL: l.tegURLs[rng.IntN(len(l.tegURLs))], amount: avt.MustParse(fmt.Sprintf("0.%03d", 1+rng.IntN(999))), ts: l.movers[from].ts}
		if err := l.transfer(ctx, p); err != nil {
			l.mu.Lock()
			l.inDoubt = append(l.inDoubt, p)
			l.mu.Unlock()
			return err
		}
		return nil
	case soakPaidTask:
		i := rng.IntN(len(l.payers))
		return l.paidTask(ctx, l.payers[i], l.clients[i], l.tegURLs[rng.IntN(len(l.tegURLs))])
	}
	return fmt.Errorf("unknown operation %q", kind)
}

// transfer sends p and journals it when the TEG acknowledges it.
func (l *soakLoad) transfer(ctx context.Context, p soakPendingTransfer) error {
	_, err := l.transferReplayed(ctx, p)
	return err
}

// transferReplayed is transfer, also saying whether the answer was a replay: the key's first
// request had been applied.
func (l *soakLoad) transferReplayed(ctx context.Context, p soakPendingTransfer) (bool, error) {
	t, err := agentvault.NewTEG(p.tegURL, p.ts, agentvault.WithHTTPClient(l.hc)).
		Transfer(ctx, p.to, p.amount, agentvault.WriteOptions{IdempotencyKey: p.key, Message: "soak"})
	if err != nil {
		return false, err
	}
	if t.ID == "" || t.From != p.from || t.To != p.to || t.Amount.Cmp(p.amount) != 0 {
		return false, fmt.Errorf("the TEG acknowledged transfer %q as %s → %s %s", t.ID, t.From, t.To, t.Amount)
	}
	l.journal.Transfer(soak.Transfer{Key: p.key, ID: t.ID, From: p.from, To: p.to, Amount: p.amount, Fee: t.Fee})
	return t.Replayed, nil
}

// paidTask holds the price for the paid agent, sends it a task with the hold attached and
// journals the payment when the task says the hold was posted.
func (l *soakLoad) paidTask(ctx context.Context, payer soakAgent, client *agentvault.Client, tegURL string) error {
	teg := agentvault.NewTEG(tegURL, payer.ts, agentvault.WithHTTPClient(l.hc))
	hold, err := teg.Pending(ctx, l.payee.id, soakPrice, 5*time.Minute,
		agentvault.WriteOptions{Message: "soak task", IdempotencyKey: fmt.Sprintf("soak-hold-%s-%d", l.run, l.seq.Add(1))})
	if err != nil {
		return fmt.Errorf("hold: %w", err)
	}
	msg := agentvault.UserMessage("soak task")
	if err := a2a.AttachPayment(msg, a2a.PaymentRequest{PendingID: hold.ID, Amount: soakPrice.String(), Skill: "answer"}); err != nil {
		return err
	}
	res, err := client.SendMessage(ctx, l.payeeURL, &a2apb.SendMessageRequest{Message: msg})
	if err != nil {
		// Release the hold (the agent never took it); it expires otherwise.
		vctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = teg.Void(vctx, hold.ID, "")
		cancel()
		return fmt.Errorf("task: %w", err)
	}
	task := res.GetTask()
	rec, ok := a2a.PaymentOf(task)
	if !ok || rec.State != a2a.HoldPosted {
		return fmt.Errorf("task %s (%s): payment %+v", task.GetId(), task.GetStatus().GetState(), rec)
	}
	l.journal.Payment(soak.Payment{PendingID: hold.ID, Payer: payer.id, Payee: l.payee.id, Amount: soakPrice})
	return nil
}

// resolveInDoubt resends every transfer that got no acknowledgement with its idempotency key
// until the TEG answers: a replay of one that was applied, or its first application, or a
// refusal (then it was never applied). It returns how many were resolved each way and the
// ones still unanswered.
func (l *soakLoad) resolveInDoubt(ctx context.Context) (replayed, applied, refused int, unresolved []string) {
	l.mu.Lock()
	pending := l.inDoubt
	l.inDoubt = nil
	l.mu.Unlock()
	for _, p := range pending {
		var err error
		var replay bool
		for attempt := 0; attempt < 10; attempt++ {
			octx, cancel := context.WithTimeout(ctx, 10*time.Second)
			replay, err = l.transferReplayed(octx, p)
			cancel()
			if err == nil || refusal(err) {
				break
			}
			time.Sleep(time.Second)
		}
		switch {
		case err == nil && replay:
			replayed++
		case err == nil:
			applied++
		case refusal(err):
			refused++
		default:
			unresolved = append(unresolved, fmt.Sprintf("%s: %v", p.key, err))
		}
	}
	return replayed, applied, refused, unresolved
}

// refusal reports whether err is the TEG refusing a write for good (a 4xx other than a
// timeout, a conflict or a rate limit): then it was not applied.
func refusal(err error) bool {
	var ae *agentvault.APIError
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 &&
		ae.Status != http.StatusRequestTimeout && ae.Status != http.StatusConflict && ae.Status != http.StatusTooManyRequests
}

// stores reads what the journal is checked against: the movers' balances and the histories
// of the movers and the payee (as the TEG's admin), and each journaled card from its registry.
func (l *soakLoad) stores(ctx context.Context, initial map[string]avt.Amount) (soak.Stores, error) {
	admin := agentvault.NewTEG(l.st.teg1.url, agentvault.BearerToken(l.st.tegAdmin), agentvault.WithHTTPClient(l.hc))
	s := soak.Stores{Initial: initial, Final: map[string]avt.Amount{}, Cards: map[string]bool{}}
	for _, a := range l.movers {
		s.Accounts = append(s.Accounts, a.id)
	}
	var err error
	if s.Final, err = l.balances(ctx); err != nil {
		return s, err
	}
	for _, a := range append(append([]soakAgent{}, l.movers...), l.payee) {
		cursor := ""
		for {
			page, err := admin.History(ctx, a.id, 200, cursor)
			if err != nil {
				return s, fmt.Errorf("history of %s: %w", a.id, err)
			}
			for _, t := range page.Items {
				s.Entries = append(s.Entries, soak.Entry{ID: t.ID, Kind: t.Kind, From: t.From, To: t.To, PendingID: t.PendingID, Amount: t.Amount, Fee: t.Fee})
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
	}
	admins := map[string]string{l.st.regA.url: l.st.regAAdmin, l.st.regB.url: l.st.regBAdmin}
	for _, c := range l.journal.Cards() {
		err := l.call(ctx, http.MethodGet, c.Registry, admins[c.Registry], "/api/v1/agent-cards/"+c.ID, nil, nil)
		s.Cards[soak.CardKey(c)] = err == nil
	}
	return s, nil
}

// balances returns the movers' total balances.
func (l *soakLoad) balances(ctx context.Context) (map[string]avt.Amount, error) {
	admin := agentvault.NewTEG(l.st.teg1.url, agentvault.BearerToken(l.st.tegAdmin), agentvault.WithHTTPClient(l.hc))
	out := map[string]avt.Amount{}
	for _, a := range l.movers {
		b, err := admin.Balance(ctx, a.id)
		if err != nil {
			return nil, fmt.Errorf("balance of %s: %w", a.id, err)
		}
		out[a.id] = b.Total
	}
	return out, nil
}
