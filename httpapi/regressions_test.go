package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-stack/sovereign/httpapi"
)

func TestStack_MethodNotAllowedLogsItsOwnCode(t *testing.T) {
	s := newStack(t, stackOptions{})
	r := s.do(t, http.MethodDelete, "/items", nil)
	r.wantError(t, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
	if line := s.log.accessLine(t, r.env.Error.RequestID); line["error_code"] != "METHOD_NOT_ALLOWED" {
		t.Errorf("access log error_code = %v, want METHOD_NOT_ALLOWED (the code the client saw)", line["error_code"])
	}
}

func TestHandler_AbortedRequestIsNotLeftInFlight(t *testing.T) {
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	h := httpapi.Handler(mux, slog.New(slog.DiscardHandler), httpapi.NewMetrics(reg))
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked for net/http", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/abort", nil))
	}()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "sovereign_http_requests_in_flight" {
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 0 {
				t.Errorf("requests in flight after an aborted request = %v, want 0", v)
			}
		}
	}
}

type bigInput struct {
	Body struct {
		Blob string `json:"blob"`
	}
}

func TestRegister_LargerBodyLimitIsHonoured(t *testing.T) {
	mux := http.NewServeMux()
	api := httpapi.NewAPI(mux, "t", "1")
	httpapi.Register(api, huma.Operation{OperationID: "upload", Method: http.MethodPost, Path: "/upload", MaxBodyBytes: 4 << 20},
		func(_ context.Context, in *bigInput) (*struct{}, error) { return &struct{}{}, nil })
	h := httpapi.Handler(mux, slog.New(slog.DiscardHandler), httpapi.NewMetrics(prometheus.NewRegistry()))
	body := `{"blob":"` + strings.Repeat("a", 2<<20) + `"}`
	r := httptest.NewRequest(http.MethodPost, "/upload", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code >= 300 {
		t.Errorf("2 MiB body to an operation allowing 4 MiB: %d %.200s", w.Code, w.Body.String())
	}
}

func TestCursor_EveryCursorEncodeCursorMakesIsAccepted(t *testing.T) {
	for _, key := range []string{strings.Repeat("k", 800), strings.Repeat("<", 200)} {
		c := httpapi.EncodeCursor(key)
		var got string
		if err := httpapi.DecodeCursor(c, &got); err != nil || got != key {
			t.Errorf("a %d-character key: EncodeCursor made a %d-character cursor that DecodeCursor refuses: %v", len(key), len(c), err)
		}
	}
}
