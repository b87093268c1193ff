package httpapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/tracing"
)

// MaxBodyBytes is the default limit on request bodies.
const MaxBodyBytes = 1 << 20

// RequestIDHeader carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestInfo is what the layers of one request tell each other: set by the outer middleware,
// filled in by authentication and the error envelope, read by the access log and metrics.
type requestInfo struct {
	ID      string
	subject policy.Subject
	errCode string
	// decisionID is the policy decision that denied the request (403), for the access log.
	decisionID string
	cause      error
	// bodyLimit is the most request-body bytes the route accepts (MaxBodyBytes unless its
	// operation says otherwise).
	bodyLimit int64
	// authFailed is set when the request was answered 401 for credentials it presented (see
	// RateLimits.AuthFailures).
	authFailed bool
	// addr is the client address (clientIP).
	addr string
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey{}).(*requestInfo)
	return i
}

// RequestID returns the id of the request ctx belongs to ("" outside a request).
func RequestID(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.ID
	}
	return ""
}

// ClientAddr returns the client address of the request ctx belongs to, as the rate limits key
// it (the peer address; forwarded headers are not trusted), or "" outside a request.
func ClientAddr(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.addr
	}
	return ""
}

// Subject returns who the request is authenticated as (an anonymous subject when nobody).
func Subject(ctx context.Context) policy.Subject {
	if i := infoFrom(ctx); i != nil && i.subject.Kind != "" {
		return i.subject
	}
	return policy.Subject{Kind: policy.KindAnonymous}
}

func setSubject(ctx context.Context, s policy.Subject) {
	if i := infoFrom(ctx); i != nil {
		i.subject = s
	}
}

// WithSubject returns a context carrying s as the authenticated subject (for tests and for
// in-process calls that act as a known subject).
func WithSubject(ctx context.Context, s policy.Subject) context.Context {
	i := infoFrom(ctx)
	if i == nil {
		i = &requestInfo{}
		ctx = context.WithValue(ctx, infoKey{}, i)
	}
	i.subject = s
	return ctx
}

// Router is what Handler needs of a router: to serve, and to name the route a request matches
// (http.ServeMux does both).
type Router interface {
	http.Handler
	Handler(r *http.Request) (h http.Handler, pattern string)
}

// Handler wraps a router with the conventions of every request: a request id (accepted from
// X-Request-Id when well-formed, else made), panic recovery (500 envelope, stack in the log
// only), the body limit, the checks for NUL characters and duplicate JSON keys (CheckJSON, also
// on the path and query), envelopes for the router's own
// plain-text 404 and 405, the security headers (securityHeaders), the access log and the
// per-route metrics — all within an OpenTelemetry server span named "METHOD route" (none for
// health checks and scrapes), child of the caller's when the request carries a traceparent.
func Handler(mux Router, log *slog.Logger, m *Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !requestIDPattern.MatchString(id) {
			id = ids.New(ids.Request)
		}
		info := &requestInfo{ID: id, bodyLimit: MaxBodyBytes, addr: clientIP(r)}
		_, pattern := mux.Handler(r)
		route := routeLabel(pattern)
		ctx := r.Context()
		var span trace.Span
		if !probe(r.URL.Path) { // health checks and scrapes every few seconds: no traces
			ctx, span = tracing.StartServer(r, route)
		}
		ctx = context.WithValue(ctx, infoKey{}, info)
		r = r.WithContext(ctx)
		w.Header().Set(RequestIDHeader, id)
		securityHeaders(w.Header(), r.Method)

		rec := &recorder{ResponseWriter: w, r: r, status: http.StatusOK}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &limitedBody{rc: r.Body, info: info, checkJSON: isJSONBody(r.Header.Get("Content-Type"))}
		}
		m.inFlight.Inc()
		defer func() {
			p := recover()
			switch {
			case p == nil:
			case p == http.ErrAbortHandler:
				// net/http aborts the response on purpose; account for it, then let it go on.
				info.cause = fmt.Errorf("response aborted")
				defer panic(p)
			default:
				info.cause = fmt.Errorf("panic: %v", p)
				log.ErrorContext(ctx, "panic", "request_id", id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !rec.wroteHeader {
					WriteError(rec, r, apperr.Internalf("panic: %v", p))
				}
			}
			m.inFlight.Dec()
			d := time.Since(start)
			if span != nil {
				tracing.EndServer(span, rec.status, id)
			}
			m.observe(r.Method, route, rec.status, d)
			attrs := []slog.Attr{
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("route", route), slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.String("remote", clientIP(r)),
			}
			if s := info.subject; s.ID != "" {
				attrs = append(attrs, slog.String("subject", s.ID))
			}
			if info.errCode != "" {
				attrs = append(attrs, slog.String("error_code", info.errCode))
			}
			if info.decisionID != "" {
				attrs = append(attrs, slog.String("decision_id", info.decisionID))
			}
			level := slog.LevelInfo
			if probe(r.URL.Path) && rec.status < 500 {
				level = slog.LevelDebug // health checks and scrapes every few seconds: noise at info
			}
			if info.cause != nil {
				level = slog.LevelError
				attrs = append(attrs, slog.String("error", info.cause.Error()))
			}
			log.LogAttrs(ctx, level, "request", attrs...)
		}()
		if err := checkURL(r.URL); err != nil {
			WriteError(rec, r, err)
			return
		}
		mux.ServeHTTP(rec, r)
	})
}

// routeLabel is the route pattern without its method ("/api/v1/developers/{id}"), or
// "unmatched" for requests no route matched (so stray paths cannot blow up label cardinality).
func routeLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if _, p, ok := strings.Cut(pattern, " "); ok {
		return p
	}
	return pattern
}

// clientIP is the peer address of the request. Forwarded headers are not trusted: a deployment
// behind a proxy must set the proxy to pass the client address through PROXY protocol or accept
// per-proxy limits.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// recorder captures status and size, and replaces the router's plain-text 404/405 bodies with
// envelopes.
type recorder struct {
	http.ResponseWriter
	r           *http.Request
	status      int
	bytes       int64
	wroteHeader bool
	swallow     bool
}

func (w *recorder) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) &&
		strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.swallow = true
		w.Header().Del("Content-Length")
		env := FromError(w.r.Context(), apperr.New(apperr.NotFound, "NOT_FOUND", "no such route: "+w.r.Method+" "+w.r.URL.Path))
		if code == http.StatusMethodNotAllowed {
			env = (&Envelope{status: code, Body: ErrorBody{Code: "METHOD_NOT_ALLOWED", Message: "method " + w.r.Method + " is not allowed here"}}).stamp(w.r.Context())
		}
		w.wroteHeader = true
		w.status = code
		w.Header().Set("Content-Type", "application/json")
		w.ResponseWriter.WriteHeader(code)
		n, _ := fmt.Fprintf(w.ResponseWriter, "%s\n", mustJSON(env))
		w.bytes += int64(n)
		return
	}
	w.wroteHeader = true
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(b), nil
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush supports streaming responses (SSE).
func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wroteHeader {
			w.WriteHeader(http.StatusOK)
		}
		f.Flush()
	}
}

// Hijack supports protocol upgrades.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("httpapi: response does not support hijacking")
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// securityHeaders sets the headers every response carries: no MIME sniffing, no Referer
// leaving the site (verification links hold tokens), and — for responses to requests that
// change something, which are the ones that hand out secrets (tokens, API keys, recovery keys,
// client secrets) — no storing by any cache. A handler may replace Cache-Control.
func securityHeaders(h http.Header, method string) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		h.Set("Cache-Control", "no-store")
	}
}

// CodeBodyIncomplete is a request body that ended before its Content-Length, or whose
// connection failed while it was sent: the client's doing, answered 400 and logged as such.
const CodeBodyIncomplete = "BODY_INCOMPLETE"

// limitedBody refuses to read more than the request's body limit, which the route's operation
// may raise (see NewAPI) after the body was wrapped. A read that fails (the client sent less
// than it announced, or went away) fails with BODY_INCOMPLETE, whoever reads the body. When
// checkJSON is set, the body is kept as it is read and, at its end, checked with CheckJSON: a
// body that fails the check ends with that error instead of io.EOF, so no handler decodes it.
type limitedBody struct {
	rc        io.ReadCloser
	n         int64
	info      *requestInfo
	checkJSON bool
	buf       []byte
	checked   bool
	jsonErr   error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	limit := b.info.bodyLimit
	if b.n > limit {
		return 0, &http.MaxBytesError{Limit: limit}
	}
	if rest := limit - b.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > limit {
		return n - int(b.n-limit), &http.MaxBytesError{Limit: limit}
	}
	if b.checkJSON && !b.checked {
		b.buf = append(b.buf, p[:n]...)
	}
	var ne net.Error
	switch {
	case err == io.EOF && b.checkJSON:
		if !b.checked {
			b.checked, b.jsonErr, b.buf = true, CheckJSON(b.buf), nil
		}
		if b.jsonErr != nil {
			return n, b.jsonErr
		}
	case err == nil, err == io.EOF, errors.As(err, &ne) && ne.Timeout():
		// A timeout stays what it is: 408 REQUEST_TIMEOUT.
	default:
		err = &apperr.Error{Kind: apperr.BadRequest, Code: CodeBodyIncomplete, Err: err,
			Message: "the request body ended before its Content-Length, or the connection failed while it was sent"}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// setBodyLimit sets the body limit of the request ctx belongs to.
func setBodyLimit(ctx context.Context, n int64) {
	if i := infoFrom(ctx); i != nil && n > 0 {
		i.bodyLimit = n
	}
}

// probe reports whether path is one a load balancer or Prometheus polls (/healthz, /readyz,
// /metrics): its successful requests are logged at debug.
func probe(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}
