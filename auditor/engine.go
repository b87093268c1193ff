package auditor

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

// Payment is one movement of value between two agents, as the rules see it: a ledger transfer,
// or the post that completed a held payment.
type Payment struct {
	Seq    uint64
	Time   time.Time
	From   string
	To     string
	Amount avt.Amount
}

// PaymentOf is the payment a ledger transfer makes, and false for anything else (fees, grants,
// mints, staking, status changes, holds not yet posted, moves to or from system accounts).
func PaymentOf(t *teg.Transfer) (Payment, bool) {
	if t.Kind != teg.KindTransfer && t.Kind != teg.KindPost {
		return Payment{}, false
	}
	if t.From == "" || t.To == "" || t.From == t.To || t.From.SystemIndex() >= 0 || t.To.SystemIndex() >= 0 {
		return Payment{}, false
	}
	return Payment{Seq: t.Seq, Time: t.CreatedAt, From: string(t.From), To: string(t.To), Amount: t.Amount}, true
}

// AgentInfo is what the registry says of an agent: its developer and when it was registered.
type AgentInfo struct {
	Developer string
	CreatedAt time.Time
}

// Directory looks agents up in the registry (SYBIL_FUNNEL); agents it does not know are absent
// from the answer.
type Directory interface {
	Agents(ctx context.Context, ids []string) (map[string]AgentInfo, error)
}

// Limits are the senders' tier limits (LARGE_TRANSFER).
type Limits interface {
	// Floor is the lowest per-transfer limit of any tier: a transfer at most this is under
	// every sender's limit, and PerTransfer is not asked.
	Floor(ctx context.Context) (avt.Amount, error)
	// PerTransfer is the agent's per-transfer limit in its current tier.
	PerTransfer(ctx context.Context, agent string) (avt.Amount, error)
}

// Bounds of the engine's memory and work, whatever the traffic.
const (
	maxBurst        = 4 // a burst keeps at most maxBurst × VelocityCount of its transfers
	maxInEdges      = 256
	maxSearch       = 512 // incoming payments a CIRCULAR_FLOW search examines per payment
	maxEmitted      = 100_000
	maxDirCache     = 200_000
	sweepEvery      = 10 * time.Minute
	dayMicros       = int64(24 * time.Hour / time.Microsecond)
	circularEpsilon = 1e-9
	// criticalFactor: a transfer over this many times the sender's tier limit is critical.
	criticalFactor = 10
)

// Hit is one transfer remembered by a rule: its event, time (µs) and, as the rule needs,
// counterparty and amount (AVT).
type Hit struct {
	Seq   uint64
	T     int64
	Agent string
	AVT   float64
}

// Burst is an agent's transfers within the velocity window.
type Burst struct {
	Hits    []Hit
	Flagged bool
}

// DayStat is one day of an agent's sent amounts (AVT): count, sum and sum of squares.
type DayStat struct {
	Day             int64
	N, Sum, SumSqrs float64
}

// State is the engine's memory, saved in the consumer's checkpoint (gob).
type State struct {
	Seq       uint64
	Velocity  map[string]*Burst
	Stats     map[string][]DayStat
	In        map[string][]Hit            // payee → recent payments to it (Agent: the payer)
	LastSent  map[string]int64            // agent → when it last paid (µs), for CIRCULAR_FLOW
	Funnels   map[string]map[string][]Hit // payee → developer → new agents' first payments
	LastSweep int64
}

func newState() State {
	return State{Velocity: map[string]*Burst{}, Stats: map[string][]DayStat{}, In: map[string][]Hit{}, LastSent: map[string]int64{}, Funnels: map[string]map[string][]Hit{}}
}

// Engine applies the event-driven rules (all but RATING_RING) to payments in log order. It
// remembers what the rules need (bounded); a flag's DedupeKey names its pattern so the store
// keeps one flag per pattern however often it is seen. Not safe for concurrent use.
type Engine struct {
	Params    Params
	Directory Directory // nil: SYBIL_FUNNEL sees no agent as new
	Limits    Limits    // nil: LARGE_TRANSFER tests the σ bound only

	st      State
	dir     map[string]*AgentInfo // nil value: not registered
	emitted map[string]bool
}

// NewEngine returns an engine with empty memory.
func NewEngine(p Params) *Engine {
	return &Engine{Params: p, st: newState(), dir: map[string]*AgentInfo{}, emitted: map[string]bool{}}
}

// Seq is the last event the engine has seen.
func (e *Engine) Seq() uint64 { return e.st.Seq }

// Snapshot encodes the engine's memory.
func (e *Engine) Snapshot() ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&e.st); err != nil {
		return nil, fmt.Errorf("auditor: encode state: %w", err)
	}
	return b.Bytes(), nil
}

// Restore replaces the engine's memory with a snapshot's (nil: empty memory at seq).
func (e *Engine) Restore(snapshot []byte, seq uint64) error {
	st := newState()
	if len(snapshot) > 0 {
		if err := gob.NewDecoder(bytes.NewReader(snapshot)).Decode(&st); err != nil {
			return fmt.Errorf("auditor: decode state: %w", err)
		}
		if st.Velocity == nil {
			st.Velocity = map[string]*Burst{}
		}
		if st.Stats == nil {
			st.Stats = map[string][]DayStat{}
		}
		if st.In == nil {
			st.In = map[string][]Hit{}
		}
		if st.LastSent == nil {
			st.LastSent = map[string]int64{}
		}
		if st.Funnels == nil {
			st.Funnels = map[string]map[string][]Hit{}
		}
	}
	st.Seq = max(st.Seq, seq)
	e.st = st
	e.emitted = map[string]bool{}
	return nil
}

// Process runs the rules over ps (in log order, after Seq) and returns the flags raised.
func (e *Engine) Process(ctx context.Context, ps []Payment) ([]Flag, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	if err := e.lookUp(ctx, ps); err != nil {
		return nil, err
	}
	var floor avt.Amount
	useLimits := e.Limits != nil && e.Params.On(LargeTransfer)
	if useLimits {
		f, err := e.Limits.Floor(ctx)
		if err != nil {
			return nil, err
		}
		floor = f
	}
	var out []Flag
	for i := range ps {
		p := &ps[i]
		if p.Seq <= e.st.Seq {
			continue
		}
		a := avtFloat(p.Amount)
		t := p.Time.UnixMicro()
		if e.Params.On(HighVelocity) {
			out = e.velocity(out, p, t)
		}
		if e.Params.On(LargeTransfer) {
			var err error
			if out, err = e.large(ctx, out, p, t, a, useLimits && floor.Cmp(p.Amount) < 0); err != nil {
				return nil, err
			}
		}
		if e.Params.On(CircularFlow) {
			out = e.circular(out, p, t, a)
		}
		if e.Params.On(SybilFunnel) {
			out = e.sybil(out, p, t)
		}
		e.st.Seq = p.Seq
		if t-e.st.LastSweep > int64(sweepEvery/time.Microsecond) {
			e.sweep(t)
		}
	}
	return out, nil
}

// raise appends a flag unless this engine raised its pattern already.
func (e *Engine) raise(out []Flag, f Flag) []Flag {
	if e.emitted[f.DedupeKey] {
		return out
	}
	if len(e.emitted) >= maxEmitted {
		e.emitted = map[string]bool{}
	}
	e.emitted[f.DedupeKey] = true
	f.Status = StatusNew
	return append(out, f)
}

func (e *Engine) velocity(out []Flag, p *Payment, t int64) []Flag {
	b := e.st.Velocity[p.From]
	if b == nil {
		b = &Burst{}
		e.st.Velocity[p.From] = b
	}
	b.Hits = pruneBefore(b.Hits, t-int64(e.Params.VelocityWindow.D()/time.Microsecond))
	if len(b.Hits) >= maxBurst*e.Params.VelocityCount {
		b.Hits = b.Hits[1:]
	}
	b.Hits = append(b.Hits, Hit{Seq: p.Seq, T: t})
	switch {
	case len(b.Hits) <= e.Params.VelocityCount:
		b.Flagged = false // the burst is over: a new one is another pattern
	case !b.Flagged:
		b.Flagged = true
		ev := make([]uint64, len(b.Hits))
		for i, h := range b.Hits {
			ev[i] = h.Seq
		}
		out = e.raise(out, Flag{Rule: HighVelocity, Severity: SeverityMedium, Subject: p.From, Agents: []string{p.From}, Evidence: ev,
			Detail:    fmt.Sprintf("%d transfers from %s within %s", len(b.Hits), p.From, e.Params.VelocityWindow.D()),
			DedupeKey: fmt.Sprintf("%s:%s:%d", HighVelocity, p.From, ev[0])})
	}
	return out
}

func (e *Engine) large(ctx context.Context, out []Flag, p *Payment, t int64, a float64, askLimit bool) ([]Flag, error) {
	if askLimit {
		lim, err := e.Limits.PerTransfer(ctx, p.From)
		if err != nil {
			return nil, err
		}
		if lim.Cmp(p.Amount) < 0 {
			sev := SeverityHigh
			if a > criticalFactor*avtFloat(lim) {
				sev = SeverityCritical
			}
			out = e.raise(out, Flag{Rule: LargeTransfer, Severity: sev, Subject: p.From, Agents: []string{p.From, p.To}, Evidence: []uint64{p.Seq},
				Detail:    fmt.Sprintf("%s sent %s AVT to %s, over its tier's per-transfer limit of %s AVT", p.From, p.Amount, p.To, lim),
				DedupeKey: fmt.Sprintf("%s:%d", LargeTransfer, p.Seq)})
			e.addStat(p.From, t, a)
			return out, nil
		}
	}
	days := e.st.Stats[p.From]
	from := t/dayMicros - int64(e.Params.LargeWindow.D()/(24*time.Hour)) + 1
	var n, sum, sq float64
	for _, d := range days {
		if d.Day >= from {
			n, sum, sq = n+d.N, sum+d.Sum, sq+d.SumSqrs
		}
	}
	if n >= float64(e.Params.LargeMinSamples) {
		mean := sum / n
		sd := math.Sqrt(max(sq/n-mean*mean, 0))
		sd = max(sd, e.Params.LargeSigmaFloor*mean)
		if a > mean+e.Params.LargeSigma*sd {
			out = e.raise(out, Flag{Rule: LargeTransfer, Severity: SeverityMedium, Subject: p.From, Agents: []string{p.From, p.To}, Evidence: []uint64{p.Seq},
				Detail: fmt.Sprintf("%s sent %s AVT to %s: %.1fσ above its mean of %.6g AVT over %.0f transfers in %s", p.From, p.Amount, p.To,
					(a-mean)/sd, mean, n, e.Params.LargeWindow.D()),
				DedupeKey: fmt.Sprintf("%s:%d", LargeTransfer, p.Seq)})
		}
	}
	e.addStat(p.From, t, a)
	return out, nil
}

func (e *Engine) addStat(agent string, t int64, a float64) {
	days := e.st.Stats[agent]
	day := t / dayMicros
	if n := len(days); n > 0 && days[n-1].Day == day {
		days[n-1].N++
		days[n-1].Sum += a
		days[n-1].SumSqrs += a * a
		return
	}
	keep := day - int64(e.Params.LargeWindow.D()/(24*time.Hour))
	i := 0
	for i < len(days) && days[i].Day <= keep {
		i++
	}
	e.st.Stats[agent] = append(days[i:], DayStat{Day: day, N: 1, Sum: a, SumSqrs: a * a})
}

// circular looks, when p (X → O) arrives, for earlier payments O → … → X that p closes into a
// circle of CircularMinHops to CircularMaxHops hops within CircularWindow, each hop carrying at
// least CircularMinRatio of the value of the hop before it and no more, and p at least
// CircularMinRatio of the first hop: the search goes backwards from X through its incoming
// payments (older ones first excluded by the window), at most maxSearch edges.
func (e *Engine) circular(out []Flag, p *Payment, t int64, a float64) []Flag {
	origin := p.To
	since := t - int64(e.Params.CircularWindow.D()/time.Microsecond)
	ratio := e.Params.CircularMinRatio
	budget := maxSearch
	path := []Hit{{Seq: p.Seq, T: t, Agent: p.From, AVT: a}} // backwards: path[i] pays path[i-1]'s payer
	onPath := map[string]bool{origin: true, p.From: true}
	var found []Hit
	var search func(node string, before uint64, later float64) bool
	search = func(node string, before uint64, later float64) bool {
		in := e.st.In[node]
		for i := len(in) - 1; i >= 0 && budget > 0; i-- {
			x := in[i]
			if x.T < since {
				break
			}
			budget--
			if x.Seq >= before || later > x.AVT*(1+circularEpsilon) || later < ratio*x.AVT {
				continue
			}
			hops := len(path) + 1
			if x.Agent == origin {
				if hops >= e.Params.CircularMinHops && a >= ratio*x.AVT*(1-circularEpsilon) {
					found = append(append([]Hit{}, path...), x)
					return true
				}
				continue
			}
			if hops >= e.Params.CircularMaxHops || onPath[x.Agent] {
				continue
			}
			onPath[x.Agent] = true
			path = append(path, x)
			if search(x.Agent, x.Seq, x.AVT) {
				return true
			}
			path = path[:len(path)-1]
			delete(onPath, x.Agent)
		}
		return false
	}
	// Value can come back to the origin only if the origin paid someone within the window.
	if sent, ok := e.st.LastSent[origin]; ok && sent >= since && search(p.From, p.Seq, a) {
		// found, backwards: p (X→O), then Y→X, …, O→…; forwards the members are O, …, Y, X.
		n := len(found)
		members := make([]string, 0, n)
		ev := make([]uint64, 0, n)
		members = append(members, origin)
		for i := n - 1; i >= 0; i-- {
			ev = append(ev, found[i].Seq)
			if i > 0 {
				members = append(members, found[i-1].Agent)
			}
		}
		out = e.raise(out, Flag{Rule: CircularFlow, Severity: SeverityHigh, Subject: origin, Agents: members, Evidence: ev,
			Detail: fmt.Sprintf("value went round %s → %s within %s (%d hops)", strings.Join(members, " → "), origin,
				time.Duration(t-found[n-1].T)*time.Microsecond, n),
			DedupeKey: string(CircularFlow) + ":" + canonicalCycle(members)})
	}
	in := e.st.In[origin]
	if len(in) > 0 && in[0].T < since {
		in = pruneBefore(in, since)
	}
	if len(in) >= maxInEdges {
		in = in[1:]
	}
	e.st.In[origin] = append(in, Hit{Seq: p.Seq, T: t, Agent: p.From, AVT: a})
	e.st.LastSent[p.From] = t
	return out
}

// canonicalCycle names a cycle whatever member it starts from: rotated to start at its
// smallest member.
func canonicalCycle(members []string) string {
	k := 0
	for i, m := range members {
		if m < members[k] {
			k = i
		}
	}
	return strings.Join(append(slices.Clone(members[k:]), members[:k]...), ">")
}

func (e *Engine) sybil(out []Flag, p *Payment, t int64) []Flag {
	info := e.dir[p.From]
	if info == nil || p.Time.Sub(info.CreatedAt) > e.Params.SybilNewAge.D() || info.Developer == "" {
		return out
	}
	byDev := e.st.Funnels[p.To]
	if byDev == nil {
		byDev = map[string][]Hit{}
		e.st.Funnels[p.To] = byDev
	}
	hits := pruneBefore(byDev[info.Developer], t-int64(e.Params.SybilWindow.D()/time.Microsecond))
	for _, h := range hits {
		if h.Agent == p.From {
			byDev[info.Developer] = hits
			return out
		}
	}
	hits = append(hits, Hit{Seq: p.Seq, T: t, Agent: p.From})
	byDev[info.Developer] = hits
	if len(hits) >= e.Params.SybilAgents {
		agents := []string{p.To}
		ev := make([]uint64, len(hits))
		for i, h := range hits {
			agents = append(agents, h.Agent)
			ev[i] = h.Seq
		}
		out = e.raise(out, Flag{Rule: SybilFunnel, Severity: SeverityHigh, Subject: p.To, Agents: agents, Evidence: ev,
			Detail: fmt.Sprintf("%d agents of developer %s, each under %s old, paid %s within %s", len(hits), info.Developer,
				e.Params.SybilNewAge.D(), p.To, e.Params.SybilWindow.D()),
			DedupeKey: fmt.Sprintf("%s:%s:%s", SybilFunnel, info.Developer, p.To)})
	}
	return out
}

// lookUp fetches, in one call, the registry's record of every payer not seen yet.
func (e *Engine) lookUp(ctx context.Context, ps []Payment) error {
	if e.Directory == nil || !e.Params.On(SybilFunnel) {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	for i := range ps {
		if _, ok := e.dir[ps[i].From]; !ok && !seen[ps[i].From] {
			seen[ps[i].From] = true
			ids = append(ids, ps[i].From)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	got, err := e.Directory.Agents(ctx, ids)
	if err != nil {
		return err
	}
	if len(e.dir)+len(ids) > maxDirCache {
		e.dir = map[string]*AgentInfo{}
	}
	for _, id := range ids {
		if a, ok := got[id]; ok {
			e.dir[id] = &a
		} else {
			e.dir[id] = nil
		}
	}
	return nil
}

// sweep forgets what every window has left behind.
func (e *Engine) sweep(t int64) {
	e.st.LastSweep = t
	vel := t - int64(e.Params.VelocityWindow.D()/time.Microsecond)
	for k, b := range e.st.Velocity {
		if b.Hits = pruneBefore(b.Hits, vel); len(b.Hits) == 0 {
			delete(e.st.Velocity, k)
		}
	}
	circ := t - int64(e.Params.CircularWindow.D()/time.Microsecond)
	for k, in := range e.st.In {
		if in = pruneBefore(in, circ); len(in) == 0 {
			delete(e.st.In, k)
		} else {
			e.st.In[k] = in
		}
	}
	for k, sent := range e.st.LastSent {
		if sent < circ {
			delete(e.st.LastSent, k)
		}
	}
	syb := t - int64(e.Params.SybilWindow.D()/time.Microsecond)
	for k, byDev := range e.st.Funnels {
		for d, hits := range byDev {
			if hits = pruneBefore(hits, syb); len(hits) == 0 {
				delete(byDev, d)
			} else {
				byDev[d] = hits
			}
		}
		if len(byDev) == 0 {
			delete(e.st.Funnels, k)
		}
	}
	day := t/dayMicros - int64(e.Params.LargeWindow.D()/(24*time.Hour))
	for k, days := range e.st.Stats {
		if days[len(days)-1].Day <= day {
			delete(e.st.Stats, k)
		}
	}
}

// pruneBefore drops the hits (in time order) older than since.
func pruneBefore(hits []Hit, since int64) []Hit {
	i := 0
	for i < len(hits) && hits[i].T < since {
		i++
	}
	return hits[i:] // the dropped prefix is freed when append next grows the slice
}

// avtFloat is an amount in AVT as a float (precise enough for statistics).
func avtFloat(a avt.Amount) float64 {
	u := a.Uint256()
	return (float64(u[0]) + float64(u[1])*math.Exp2(64)) / 1e18
}
