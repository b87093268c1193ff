package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
)

func TestFromError_MapsKindToStatus(t *testing.T) {
	tests := []struct {
		kind   apperr.Kind
		status int
	}{
		{apperr.Invalid, http.StatusUnprocessableEntity},
		{apperr.BadRequest, http.StatusBadRequest},
		{apperr.Unauthenticated, http.StatusUnauthorized},
		{apperr.Forbidden, http.StatusForbidden},
		{apperr.NotFound, http.StatusNotFound},
		{apperr.Conflict, http.StatusConflict},
		{apperr.TooLarge, http.StatusRequestEntityTooLarge},
		{apperr.TooManyRequests, http.StatusTooManyRequests},
		{apperr.Unavailable, http.StatusServiceUnavailable},
		{apperr.Internal, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("kind %d", tt.kind), func(t *testing.T) {
			env := httpapi.FromError(context.Background(), apperr.New(tt.kind, "SOME_CODE", "some message"))
			if env.GetStatus() != tt.status {
				t.Errorf("status = %d, want %d", env.GetStatus(), tt.status)
			}
			if k := httpapi.KindOfStatus(tt.status); k != tt.kind {
				t.Errorf("KindOfStatus(%d) = %d, want %d", tt.status, k, tt.kind)
			}
		})
	}
	for _, status := range []int{http.StatusTeapot, http.StatusBadGateway, 0} {
		if k := httpapi.KindOfStatus(status); k != apperr.Internal {
			t.Errorf("KindOfStatus(%d) = %d, want Internal", status, k)
		}
	}
}

func TestFromError_KeepsCodeMessageAndDetails(t *testing.T) {
	kinds := []apperr.Kind{apperr.Invalid, apperr.BadRequest, apperr.Unauthenticated, apperr.Forbidden,
		apperr.NotFound, apperr.Conflict, apperr.TooLarge, apperr.TooManyRequests, apperr.Unavailable}
	for _, k := range kinds {
		err := apperr.New(k, "EMAIL_TAKEN", "that email is taken").With("field", "email").With("n", 3)
		// Wrapping must not hide the application error.
		env := httpapi.FromError(context.Background(), fmt.Errorf("register: %w", err))
		b := env.Body
		if b.Code != "EMAIL_TAKEN" || b.Message != "that email is taken" || b.Details["field"] != "email" || b.Details["n"] != 3 {
			t.Errorf("kind %d: body = %+v", k, b)
		}
		if b.RequestID != "" {
			t.Errorf("kind %d: request id %q outside a request", k, b.RequestID)
		}
		if env.ContentType("text/html") != "application/json" {
			t.Errorf("content type = %q", env.ContentType("text/html"))
		}
	}
}

func TestFromError_PlainErrorIsInternalWithoutCause(t *testing.T) {
	for _, err := range []error{
		errors.New("pq: password authentication failed for user admin"),
		apperr.Internalf("pq: password authentication failed for user admin"),
		fmt.Errorf("wrapped: %w", apperr.New(apperr.Internal, "DB_BROKEN", "pq: password authentication failed for user admin")),
	} {
		env := httpapi.FromError(context.Background(), err)
		if env.GetStatus() != http.StatusInternalServerError || env.Body.Code != "INTERNAL" || env.Body.Message != "internal error" || env.Body.Details != nil {
			t.Errorf("%v: got %d %+v", err, env.GetStatus(), env.Body)
		}
		b, _ := json.Marshal(env)
		if strings.Contains(string(b), "password") {
			t.Errorf("cause in body: %s", b)
		}
	}
}

func TestFromError_CancelledContextIsUnavailable(t *testing.T) {
	for _, err := range []error{context.Canceled, fmt.Errorf("query: %w", context.DeadlineExceeded)} {
		env := httpapi.FromError(context.Background(), err)
		if env.GetStatus() != http.StatusServiceUnavailable || env.Body.Code != "REQUEST_CANCELLED" {
			t.Errorf("%v: got %d %s", err, env.GetStatus(), env.Body.Code)
		}
	}
}

// A database that is away (restarting: the soak's PostgreSQL restart found these answered 500)
// is a dependency outage: 503 STORE_UNAVAILABLE with Retry-After, the cause kept out of the body.
func TestFromError_UnreachableStoreIsUnavailable(t *testing.T) {
	for _, err := range []error{
		&pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"},
		apperr.Internalf("ledger write: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P03", Message: "the database system is starting up"}),
		fmt.Errorf("query: %w", &pgconn.PgError{Code: "08006", Message: "connection failure"}),
	} {
		env := httpapi.FromError(context.Background(), err)
		if env.GetStatus() != http.StatusServiceUnavailable || env.Body.Code != "STORE_UNAVAILABLE" || env.GetHeaders().Get("Retry-After") != "1" {
			t.Errorf("%v: got %d %s %v", err, env.GetStatus(), env.Body.Code, env.GetHeaders())
		}
		if b, _ := json.Marshal(env); strings.Contains(string(b), "database system") || strings.Contains(string(b), "terminating") {
			t.Errorf("cause in body: %s", b)
		}
	}
	// A statement failing is not the database being away.
	if env := httpapi.FromError(context.Background(), &pgconn.PgError{Code: "42P01", Message: "relation does not exist"}); env.Body.Code != "INTERNAL" {
		t.Errorf("undefined table: %s", env.Body.Code)
	}
}

func TestFromError_UnauthenticatedAddsWWWAuthenticate(t *testing.T) {
	env := httpapi.FromError(context.Background(), apperr.New(apperr.Unauthenticated, "TOKEN_EXPIRED", "expired"))
	if got := env.GetHeaders().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
		t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
	}
	env = httpapi.FromError(context.Background(), apperr.New(apperr.Forbidden, "NOPE", "no"))
	if got := env.GetHeaders().Get("WWW-Authenticate"); got != "" {
		t.Errorf("403 has WWW-Authenticate %q", got)
	}
}

func TestFromError_TooManyRequestsSetsRetryAfter(t *testing.T) {
	env := httpapi.FromError(context.Background(),
		apperr.New(apperr.TooManyRequests, "RATE_LIMITED", "slow down").With("retry_after_seconds", 7))
	if got := env.GetHeaders().Get("Retry-After"); got != "7" {
		t.Errorf("Retry-After = %q, want 7", got)
	}
	env = httpapi.FromError(context.Background(), apperr.New(apperr.TooManyRequests, "RATE_LIMITED", "slow down"))
	if got := env.GetHeaders().Get("Retry-After"); got != "" {
		t.Errorf("Retry-After without details = %q, want none", got)
	}
}

func TestFromError_EnvelopePassesThrough(t *testing.T) {
	first := httpapi.FromError(context.Background(), apperr.New(apperr.Conflict, "VERSION_MISMATCH", "changed"))
	if again := httpapi.FromError(context.Background(), fmt.Errorf("outer: %w", first)); again != first {
		t.Errorf("FromError of an envelope made a new one: %+v", again)
	}
	if first.Error() != "VERSION_MISMATCH: changed" {
		t.Errorf("Error() = %q", first.Error())
	}
}

// serveError runs err through FromError/WriteError inside the request middleware and returns the
// envelope FromError made, the response and the log.
func serveError(t *testing.T, err error, header ...string) (*httpapi.Envelope, *httptest.ResponseRecorder, *syncBuffer) {
	t.Helper()
	var env *httpapi.Envelope
	mux := http.NewServeMux()
	mux.HandleFunc("GET /err", func(w http.ResponseWriter, r *http.Request) {
		env = httpapi.FromError(r.Context(), err)
		httpapi.WriteError(w, r, err)
	})
	logBuf := &syncBuffer{}
	h := httpapi.Handler(mux, slog.New(slog.NewJSONHandler(logBuf, nil)), httpapi.NewMetrics(prometheus.NewRegistry()))
	r := httptest.NewRequest(http.MethodGet, "/err", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return env, w, logBuf
}

func TestFromError_CarriesRequestIDFromContext(t *testing.T) {
	env, w, _ := serveError(t, apperr.New(apperr.NotFound, "GONE", "gone"), httpapi.RequestIDHeader, "req-from-client")
	if env.Body.RequestID != "req-from-client" {
		t.Errorf("FromError request id = %q", env.Body.RequestID)
	}
	var got envelope
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Error.RequestID != "req-from-client" || got.Error.Code != "GONE" || w.Code != http.StatusNotFound {
		t.Errorf("response %d %s", w.Code, w.Body.String())
	}
}

func TestWriteError_WritesEnvelopeHeadersAndLogsCause(t *testing.T) {
	_, w, logBuf := serveError(t, apperr.New(apperr.TooManyRequests, "RATE_LIMITED", "slow").With("retry_after_seconds", 3))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "3" ||
		w.Header().Get("Content-Type") != "application/json" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("response %d %v", w.Code, w.Header())
	}

	_, w, logBuf = serveError(t, errors.New("disk on fire"))
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "disk on fire") {
		t.Errorf("response %d %s", w.Code, w.Body.String())
	}
	line := logBuf.accessLine(t, w.Header().Get(httpapi.RequestIDHeader))
	if line["error"] != "disk on fire" || line["error_code"] != "INTERNAL" || line["level"] != "ERROR" {
		t.Errorf("access line = %v", line)
	}
}

func TestWriteJSON_WritesStatusAndBody(t *testing.T) {
	w := httptest.NewRecorder()
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]string{"status": "ok"})
	b, _ := io.ReadAll(w.Body)
	if w.Code != http.StatusAccepted || w.Header().Get("Content-Type") != "application/json" || strings.TrimSpace(string(b)) != `{"status":"ok"}` {
		t.Errorf("got %d %v %s", w.Code, w.Header(), b)
	}
}

func TestRequestIDAndSubject_OutsideARequest(t *testing.T) {
	ctx := context.Background()
	if id := httpapi.RequestID(ctx); id != "" {
		t.Errorf("RequestID = %q", id)
	}
	if s := httpapi.Subject(ctx); s.Kind != "anonymous" || s.ID != "" {
		t.Errorf("Subject = %+v, want anonymous", s)
	}
	ctx = httpapi.WithSubject(ctx, alice)
	if s := httpapi.Subject(ctx); s.ID != alice.ID {
		t.Errorf("Subject after WithSubject = %+v", s)
	}
}
