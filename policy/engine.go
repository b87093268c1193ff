package policy

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
)

// embedded holds the built-in policies and their Rego unit tests.
//
//go:embed rego/*.rego
var embedded embed.FS

// embeddedFS is the directory of the built-in policies inside embedded.
func embeddedFS() fs.FS {
	sub, err := fs.Sub(embedded, "rego")
	if err != nil {
		panic(err) // the directory is part of the binary
	}
	return sub
}

// DefaultReloadInterval is how often a policy directory is checked for changes.
const DefaultReloadInterval = time.Second

// decisionPath is the document a decision reads (and the decision log's "path").
const decisionPath = "sovereign/authz"

// Engine evaluates authorization questions against Rego policies. It is safe for concurrent
// use; a reload replaces the policy atomically, so a decision sees either the old or the new
// policy, never a mix. The zero value uses the embedded policies.
type Engine struct {
	cur atomic.Pointer[state]

	dir       string
	bundleURL string
	interval  time.Duration
	cacheSize int
	logger    *slog.Logger
	declog    *decisionLog
	denied    func(in Input, d Decision)

	reloadMu sync.Mutex // serialises reloads; guards seen, lastLog and the modules below
	modules  govModules
	seen     string // digest of the sources (directory) or ETag (bundle) of the last reload attempt
	lastLog  string // last reload error logged, not to repeat it every poll

	errMu   sync.Mutex
	lastErr error

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// Option configures an Engine made by NewWithOptions.
type Option func(*Engine)

// WithDir loads the policies from dir (every *.rego file below it except *_test.rego) instead
// of the embedded ones, and reloads them when a file changes (polled, DefaultReloadInterval).
// A reload that fails keeps the last good policy; LastError reports why.
func WithDir(dir string) Option { return func(e *Engine) { e.dir = dir } }

// WithReloadInterval sets how often WithDir's directory is checked for changes.
func WithReloadInterval(d time.Duration) Option {
	return func(e *Engine) {
		if d > 0 {
			e.interval = d
		}
	}
}

// WithDecisionLog writes every decision to w as one JSON line in OPA's decision-log event
// format, secrets masked. Writes are serialised; w need not be safe for concurrent use.
func WithDecisionLog(w io.Writer) Option {
	return func(e *Engine) {
		if w != nil {
			e.declog = newDecisionLog(w)
		}
	}
}

// WithDecisionCache sets how many decisions the engine remembers (default
// DefaultDecisionCacheSize; 0 turns the cache off). Decisions are remembered only when the
// policy cannot tell two inputs with the same key apart (see cacheable), so the cache never
// changes an answer; it is emptied on every reload.
func WithDecisionCache(entries int) Option { return func(e *Engine) { e.cacheSize = max(entries, 0) } }

// WithDenialObserver has the engine tell denied of every decision that denies (for metrics), a
// policy that could not be evaluated included (Decision.Reason "policy evaluation failed"). It
// runs on the deciding goroutine: it must be quick and safe for concurrent use.
func WithDenialObserver(denied func(in Input, d Decision)) Option {
	return func(e *Engine) { e.denied = denied }
}

// WithLogger sets where reloads and their failures are reported (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) {
		if l != nil {
			e.logger = l
		}
	}
}

// embeddedPolicy compiles the embedded policies once per process; every engine shares the
// result (a prepared query is immutable and safe for concurrent use).
var embeddedPolicy = sync.OnceValues(func() (*compiled, error) {
	files, digest, err := readSources(embeddedFS())
	if err != nil {
		return nil, err
	}
	return compile(context.Background(), files, digest)
})

// New returns an engine with the embedded policies.
func New() *Engine {
	p, err := embeddedPolicy()
	if err != nil {
		panic("policy: embedded policies do not compile: " + err.Error())
	}
	e := &Engine{interval: DefaultReloadInterval, logger: slog.Default(), cacheSize: DefaultDecisionCacheSize}
	e.cur.Store(e.newState(p))
	return e
}

// state is the policy in force and the decisions remembered for it; a reload swaps both.
type state struct {
	*compiled
	cache *decisionCache
}

func (e *Engine) newState(p *compiled) *state {
	st := &state{compiled: p}
	if p.cacheable {
		st.cache = newDecisionCache(e.cacheSize)
	}
	return st
}

// NewWithOptions returns an engine configured by opts. With WithDir or WithBundleURL it fails
// when the first load fails; later reloads keep the last good policy instead. Close stops the
// directory watch or the bundle polling.
func NewWithOptions(opts ...Option) (*Engine, error) {
	e := New()
	for _, o := range opts {
		o(e)
	}
	switch {
	case e.dir != "" && e.bundleURL != "":
		return nil, errors.New("policy: a policy directory and a bundle URL exclude each other")
	case e.dir == "" && e.bundleURL == "":
		p, err := embeddedPolicy()
		if err != nil {
			return nil, err
		}
		e.cur.Store(e.newState(p))
		return e, nil
	}
	if err := e.Reload(context.Background()); err != nil {
		return nil, err
	}
	e.stop, e.done = make(chan struct{}), make(chan struct{})
	go e.watch()
	return e, nil
}

// Close stops watching the policy directory or polling the bundle. The engine keeps answering with its last policy.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		if e.stop != nil {
			close(e.stop)
			<-e.done
		}
	})
	return nil
}

// Revision identifies the policy in force: a digest of its sources.
func (e *Engine) Revision() string { return e.policy().revision }

// LastError is why the last reload of the policy directory or bundle failed, nil if it
// succeeded.
func (e *Engine) LastError() error {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	return e.lastErr
}

// Reload reads the policy directory, or downloads the bundle (without If-None-Match), now,
// whether or not it changed. It is what the watch does on a change; without WithDir or
// WithBundleURL it does nothing.
func (e *Engine) Reload(ctx context.Context) error { return e.load(ctx, true) }

// load reloads the policy from the bundle or the directory, whichever is configured: when it
// changed since the last attempt, or always with force.
func (e *Engine) load(ctx context.Context, force bool) error {
	switch {
	case e.bundleURL != "":
		return e.reloadBundle(ctx, force)
	case e.dir != "":
		return e.reload(ctx, force)
	}
	return nil
}

// policy is the state in force; an engine made by New (or the zero Engine) gets the embedded
// policy on first use.
func (e *Engine) policy() *state {
	if st := e.cur.Load(); st != nil {
		return st
	}
	p, err := embeddedPolicy()
	if err != nil {
		panic("policy: embedded policies do not compile: " + err.Error())
	}
	size := e.cacheSize
	if size == 0 && e.logger == nil { // the zero Engine
		size = DefaultDecisionCacheSize
	}
	st := &state{compiled: p}
	if p.cacheable {
		st.cache = newDecisionCache(size)
	}
	if e.cur.CompareAndSwap(nil, st) {
		return st
	}
	return e.cur.Load()
}

func (e *Engine) watch() {
	defer close(e.done)
	t := time.NewTicker(e.interval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			_ = e.load(context.Background(), false)
		}
	}
}

// reload loads the directory's policies if they changed since the last attempt (or force).
func (e *Engine) reload(ctx context.Context, force bool) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	files, digest, err := readSources(dirFS(e.dir))
	if err == nil && !force && digest == e.seen {
		return nil
	}
	var p *compiled
	if err == nil {
		e.seen = digest
		p, err = e.compileBase(ctx, files, digest)
	}
	return e.install(p, err, len(files), "dir", e.dir)
}

// install makes p the policy in force, or, when loading it failed (err), keeps the last good
// policy and reports err: logged once per distinct error, and returned by LastError.
// e.reloadMu must be held.
func (e *Engine) install(p *compiled, err error, files int, fromKey, from string) error {
	e.setLastError(err)
	if err != nil {
		if msg := err.Error(); msg != e.lastLog {
			e.lastLog = msg
			e.logger.Error("policy: reload failed; keeping the last good policy",
				fromKey, from, "revision", e.Revision(), "error", msg)
		}
		return err
	}
	e.lastLog = ""
	old := e.cur.Swap(e.newState(p))
	if old == nil || old.revision != p.revision {
		e.logger.Info("policy: loaded", fromKey, from, "revision", p.revision, "files", files)
	}
	return nil
}

func (e *Engine) setLastError(err error) {
	e.errMu.Lock()
	e.lastErr = err
	e.errMu.Unlock()
}

// Decide answers query for input. Only QueryAllow is defined; any other query is denied with
// a reason, not an error. An error means the policy could not be evaluated (for example a
// rule with conflicting values, or ctx ended); callers treat it as a denial.
func (e *Engine) Decide(ctx context.Context, query string, in Input) (Decision, error) {
	start := time.Now()
	d := Decision{ID: newDecisionID()}
	st := e.policy()
	if query != QueryAllow {
		d.Reason = "unknown policy query " + query
		if e.declog != nil {
			e.declog.write(d, strings.ReplaceAll(query, ".", "/"), st.revision, in, start, false)
		}
		if e.denied != nil {
			e.denied(in, d)
		}
		return d, nil
	}
	var (
		key  []byte
		hit  bool
		kbuf [256]byte
	)
	if st.cache != nil {
		key = appendKey(kbuf[:0], &in, st.readsAmount)
		var c cachedDecision
		if c, hit = st.cache.get(key); hit {
			d.Allow, d.Reason, d.Code = c.allow, c.reason, c.code
		}
	}
	if !hit {
		rs, err := st.decision.Eval(ctx, rego.EvalParsedInput(inputValue(in)), rego.EvalMetrics(noMetrics))
		if err != nil {
			d = Decision{ID: d.ID, Reason: "policy evaluation failed"}
			if e.denied != nil {
				e.denied(in, d)
			}
			return d, fmt.Errorf("policy: evaluate %s: %w", query, err)
		}
		d.Allow, d.Reason, d.Code = decisionOf(rs)
		if d.Allow {
			d.Reason, d.Code = "", ""
		} else if d.Reason == "" {
			d.Reason = "denied by policy"
		}
		if st.cache != nil {
			st.cache.put(key, cachedDecision{allow: d.Allow, reason: d.Reason, code: d.Code})
		}
	}
	if e.declog != nil {
		e.declog.write(d, decisionPath, st.revision, in, start, hit)
	}
	if !d.Allow && e.denied != nil {
		e.denied(in, d)
	}
	return d, nil
}

// noMetrics spares each evaluation OPA's metrics bookkeeping.
var noMetrics = metrics.NoOp()

// decisionOf reads {"allow": bool, "reason": string, "code": string} from the wrapper's
// result (code is optional).
func decisionOf(rs rego.ResultSet) (allow bool, reason, code string) {
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return false, "the policy defines no decision", ""
	}
	m, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return false, "the policy defines no decision", ""
	}
	allow, _ = m["allow"].(bool)
	reason, _ = m["reason"].(string)
	code, _ = m["code"].(string)
	return allow, reason, code
}

// newDecisionID is a random (version 4) UUID.
func newDecisionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
