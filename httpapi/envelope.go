// Package httpapi holds the conventions every HTTP API of the stack shares: the
// error envelope (produced here and nowhere else), request ids, the JSON access log, Prometheus
// metrics per route, panic recovery, body limits, strict JSON input, cursor pagination, ETags,
// per-caller rate limits, authentication of callers, and the OpenAPI 3.1 document generated from
// the handlers (huma v2).
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/store"
)

// Envelope is the body of every error response:
// {"error":{"code":"…","message":"…","details":{…},"request_id":"req_…"}}.
type Envelope struct {
	Body ErrorBody `json:"error"`

	status  int
	headers http.Header
}

// ErrorBody is the inside of an Envelope.
type ErrorBody struct {
	Code      string         `json:"code" doc:"Stable upper-snake error code" example:"INVALID_EMAIL"`
	Message   string         `json:"message" doc:"Human-readable explanation"`
	Details   map[string]any `json:"details,omitempty" doc:"Structured context, e.g. the offending field"`
	RequestID string         `json:"request_id" doc:"Also in the X-Request-Id header and the log line" example:"req_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C"`
}

// Error implements error.
func (e *Envelope) Error() string { return e.Body.Code + ": " + e.Body.Message }

// GetStatus is the HTTP status of the response (huma.StatusError).
func (e *Envelope) GetStatus() int { return e.status }

// GetHeaders are extra response headers such as Retry-After (huma.HeadersError).
func (e *Envelope) GetHeaders() http.Header { return e.headers }

// ContentType makes error responses application/json whatever the client accepts.
func (e *Envelope) ContentType(string) string { return "application/json" }

// StatusClientClosedRequest is the status the access log and metrics record for a request whose
// client went away before the answer (nginx's 499): not a server error.
const StatusClientClosedRequest = 499

// DecisionIDHeader carries the decision_id of the policy decision that denied a request (403),
// the key to its line in the decision log.
const DecisionIDHeader = "X-Decision-Id"

// StatusOf is the HTTP status of an application error kind (what the envelope answers with);
// the portal's pages answer with the same.
func StatusOf(k apperr.Kind) int { return statusOf(k) }

// statusOf maps an application error kind to its HTTP status. This is the one place where that
// mapping lives.
func statusOf(k apperr.Kind) int {
	switch k {
	case apperr.Invalid:
		return http.StatusUnprocessableEntity
	case apperr.BadRequest:
		return http.StatusBadRequest
	case apperr.Unauthenticated:
		return http.StatusUnauthorized
	case apperr.Forbidden:
		return http.StatusForbidden
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.TooLarge:
		return http.StatusRequestEntityTooLarge
	case apperr.TooManyRequests:
		return http.StatusTooManyRequests
	case apperr.Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// KindOfStatus is the error kind an HTTP status of the API stands for: the inverse of the
// mapping above, for clients turning an envelope back into an *apperr.Error. A status no kind
// maps to is Internal.
func KindOfStatus(status int) apperr.Kind {
	// Every kind after Internal maps to its own status; the first that maps to 500 is past the last.
	for k := apperr.Internal + 1; statusOf(k) != http.StatusInternalServerError; k++ {
		if statusOf(k) == status {
			return k
		}
	}
	return apperr.Internal
}

// FromError turns any error into the envelope the caller sees. Application errors keep their
// code, message and details; anything else becomes a 500 INTERNAL whose cause is kept for the
// access log only.
func FromError(ctx context.Context, err error) *Envelope {
	var env *Envelope
	if errors.As(err, &env) {
		return env
	}
	info := infoFrom(ctx)
	ae, ok := apperr.As(err)
	switch {
	case ok && ae.Kind != apperr.Internal:
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The client went away (net/http cancels the request's context): not a server error.
		return (&Envelope{status: StatusClientClosedRequest, Body: ErrorBody{Code: "CLIENT_CLOSED_REQUEST",
			Message: "the client closed the connection before the answer"}}).stamp(ctx)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		ae = apperr.New(apperr.Unavailable, "REQUEST_CANCELLED", "the request was cancelled or timed out")
	case store.Unreachable(err):
		// The database is away (restarting, failing over): a dependency, not a bug; the cause
		// is logged.
		if info != nil {
			info.cause = err
		}
		ae = apperr.New(apperr.Unavailable, "STORE_UNAVAILABLE", "the database is unreachable; try again shortly").With("retry_after_seconds", 1)
	default:
		if info != nil {
			info.cause = err
		}
		ae = apperr.New(apperr.Internal, "INTERNAL", "internal error")
	}
	env = &Envelope{status: statusOf(ae.Kind), Body: ErrorBody{Code: ae.Code, Message: ae.Message, Details: ae.Details}}
	switch ae.Kind {
	case apperr.Unauthenticated:
		challenge := `Bearer realm="sovereign"`
		if ae.Details["auth_scheme"] == "Basic" {
			challenge = `Basic realm="sovereign"`
		}
		env.setHeader("WWW-Authenticate", challenge)
		if info != nil && ae.Code != policy.ErrAuthRequired.Code {
			info.authFailed = true
		}
	case apperr.TooManyRequests, apperr.Unavailable:
		if s, ok := wholeSeconds(ae.Details["retry_after_seconds"]); ok {
			env.setHeader("Retry-After", strconv.Itoa(s))
		}
	case apperr.Forbidden:
		// A policy denial names its decision-log event (policy.Authorize sets decision_id).
		if id, ok := ae.Details["decision_id"].(string); ok && id != "" {
			env.setHeader(DecisionIDHeader, id)
			if info != nil {
				info.decisionID = id
			}
		}
	}
	return env.stamp(ctx)
}

func (e *Envelope) setHeader(k, v string) {
	if e.headers == nil {
		e.headers = http.Header{}
	}
	e.headers.Set(k, v)
}

// stamp adds the request id and records the code for the access log.
func (e *Envelope) stamp(ctx context.Context) *Envelope {
	if info := infoFrom(ctx); info != nil {
		e.Body.RequestID = info.ID
		info.errCode = e.Body.Code
	}
	return e
}

// WriteError writes err as an envelope to a plain net/http response.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	env := FromError(r.Context(), err)
	for k, vs := range env.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeJSON(w, env.status, env)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func init() {
	// huma reports its own failures (malformed JSON, schema violations, oversized bodies) through
	// these hooks; they become envelopes with specific codes here.
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		return fromHuma(context.Background(), status, msg, errs)
	}
	huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		ctx := context.Background()
		if hctx != nil {
			ctx = hctx.Context()
		}
		return fromHuma(ctx, status, msg, errs)
	}
}

// fieldProblem is one entry of details.errors for an input that broke the schema.
type fieldProblem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func fromHuma(ctx context.Context, status int, msg string, errs []error) *Envelope {
	for _, err := range errs {
		if ae, ok := apperr.As(err); ok {
			return FromError(ctx, ae)
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			status = http.StatusRequestEntityTooLarge
		}
	}
	var ae *apperr.Error
	switch status {
	case 0, http.StatusNotModified:
		// Not an error: huma.Status304NotModified, or the example used for the schema.
		return (&Envelope{status: status}).stamp(ctx)
	case http.StatusRequestEntityTooLarge:
		ae = apperr.New(apperr.TooLarge, "BODY_TOO_LARGE", "the request body is larger than the limit").With("limit_bytes", MaxBodyBytes)
	case http.StatusUnsupportedMediaType:
		ae = apperr.New(apperr.BadRequest, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json")
	case http.StatusNotAcceptable:
		return (&Envelope{status: status, Body: ErrorBody{Code: "NOT_ACCEPTABLE", Message: "no acceptable response format; use application/json"}}).stamp(ctx)
	case http.StatusBadRequest:
		if strings.Contains(msg, "body is required") {
			ae = apperr.New(apperr.BadRequest, "MISSING_BODY", "a JSON request body is required")
			break
		}
		ae = apperr.New(apperr.BadRequest, "MALFORMED_JSON", "the request body is not valid JSON")
		if d := firstDetail(errs); d != nil {
			ae = ae.With("reason", d.Message)
		}
	case http.StatusUnprocessableEntity:
		ae = schemaError(errs)
	case http.StatusRequestTimeout:
		ae = apperr.New(apperr.BadRequest, "REQUEST_TIMEOUT", "the request body was not received in time")
	default:
		if status >= 500 {
			return FromError(ctx, fmt.Errorf("huma: %s: %w", msg, errors.Join(errs...)))
		}
		return (&Envelope{status: status, Body: ErrorBody{Code: strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_")), Message: msg}}).stamp(ctx)
	}
	env := FromError(ctx, ae)
	env.status = status
	return env
}

func firstDetail(errs []error) *huma.ErrorDetail {
	for _, err := range errs {
		var d *huma.ErrorDetail
		if errors.As(err, &d) {
			return d
		}
	}
	return nil
}

// schemaError names the first offending field in the code's details, and lists every problem.
func schemaError(errs []error) *apperr.Error {
	var problems []fieldProblem
	var first *apperr.Error
	for _, err := range errs {
		var d *huma.ErrorDetail
		if !errors.As(err, &d) {
			continue
		}
		field, in := splitLocation(d.Location)
		var e *apperr.Error
		switch {
		case d.Message == validation.MsgUnexpectedProperty:
			e = apperr.Errorf(apperr.Invalid, "UNKNOWN_FIELD", "unknown field %q", field)
		case strings.HasPrefix(d.Message, "expected required property "):
			name := strings.TrimSuffix(strings.TrimPrefix(d.Message, "expected required property "), " to be present")
			if field == "" {
				field = name
			} else {
				field += "." + name
			}
			e = apperr.Errorf(apperr.Invalid, "MISSING_FIELD", "field %q is required", field)
		case strings.HasPrefix(d.Message, "required ") && strings.HasSuffix(d.Message, " is missing"):
			e = apperr.Errorf(apperr.Invalid, "MISSING_FIELD", "%s %q is required", in, field)
		default:
			e = apperr.Errorf(apperr.Invalid, "INVALID_FIELD", "field %q: %s", field, d.Message)
		}
		problems = append(problems, fieldProblem{Field: field, Reason: d.Message})
		if first == nil {
			first = e.With("field", field).With("in", in)
		}
	}
	if first == nil {
		return apperr.New(apperr.Invalid, "INVALID_INPUT", "the request does not match the schema")
	}
	return first.With("errors", problems)
}

// splitLocation turns huma's "body.email" / "query.limit" into ("email", "body").
func splitLocation(loc string) (field, in string) {
	in, field, _ = strings.Cut(loc, ".")
	return field, in
}

// wholeSeconds reads a retry delay given as any integer or float type, rounded up to at least 1.
func wholeSeconds(v any) (int, bool) {
	var f float64
	switch n := v.(type) {
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case float64:
		f = n
	case time.Duration:
		f = n.Seconds()
	default:
		return 0, false
	}
	return max(1, int(math.Ceil(f))), true
}
