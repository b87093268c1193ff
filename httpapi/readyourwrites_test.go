package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/store"
)

type fakeTracker struct {
	mu    sync.Mutex
	wrote map[string]int
}

func (f *fakeTracker) Wrote(_ context.Context, s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wrote[s]++
}

func (f *fakeTracker) Recent(_ context.Context, s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wrote[s] > 0
}

type primaryOut struct {
	Body struct {
		Primary bool `json:"primary"`
	}
}

func TestReadYourWrites_MarksCallersWhoWrote(t *testing.T) {
	tr := &fakeTracker{wrote: map[string]int{}}
	mux := http.NewServeMux()
	api := httpapi.NewAPI(mux, "t", "1")
	// A stand-in for Authenticate: the subject comes from a header.
	api.UseMiddleware(func(hctx huma.Context, next func(huma.Context)) {
		if id := hctx.Header("X-Sub"); id != "" {
			hctx = huma.WithContext(hctx, httpapi.WithSubject(hctx.Context(), policy.Subject{ID: id, Kind: policy.KindDeveloper}))
		}
		next(hctx)
	}, httpapi.ReadYourWrites(tr))
	read := func(ctx context.Context, _ *struct{}) (*primaryOut, error) {
		o := &primaryOut{}
		o.Body.Primary = store.ReadsPrimary(ctx)
		return o, nil
	}
	httpapi.Register(api, httpapi.Operation("read", http.MethodGet, "/r", "read", "t", 200, true), read)
	httpapi.Register(api, httpapi.Operation("write", http.MethodPost, "/w", "write", "t", 201, true), read)
	httpapi.Register(api, httpapi.Operation("fail", http.MethodPost, "/f", "fail", "t", 201, true),
		func(context.Context, *struct{}) (*primaryOut, error) {
			return nil, huma.Error422UnprocessableEntity("no")
		})
	h := httpapi.Handler(mux, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.NewMetrics(prometheus.NewRegistry()))
	do := func(method, path, sub string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		if sub != "" {
			req.Header.Set("X-Sub", sub)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if b := do("GET", "/r", "dev_a").Body.String(); b != `{"primary":false}`+"\n" {
		t.Fatalf("before any write: %s", b)
	}
	do("POST", "/f", "dev_a")
	if tr.wrote["dev_a"] != 0 {
		t.Fatal("a refused write was recorded")
	}
	do("POST", "/w", "")
	if len(tr.wrote) != 0 {
		t.Fatal("an anonymous write was recorded")
	}
	do("POST", "/w", "dev_a")
	if tr.wrote["dev_a"] != 1 {
		t.Fatalf("a successful write was not recorded: %v", tr.wrote)
	}
	if b := do("GET", "/r", "dev_a").Body.String(); b != `{"primary":true}`+"\n" {
		t.Fatalf("after a write, the writer's read: %s", b)
	}
	if b := do("GET", "/r", "dev_b").Body.String(); b != `{"primary":false}`+"\n" {
		t.Fatalf("another caller's read: %s", b)
	}
}
