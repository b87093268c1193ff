package httpapi

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/recentwrites"
	"github.com/sovereign-stack/sovereign/store"
)

// ReadYourWrites is the middleware that keeps a caller's reads on the primary database for a
// while after the caller wrote, when the store sends some reads to a replica: a caller that
// wrote within the tracker's window has its request's context marked store.ReadPrimary, and a
// successful write (any method but GET, HEAD and OPTIONS, answered below 400) by a signed-in
// caller is recorded. It must run after Authenticate (it keys on the subject).
func ReadYourWrites(t recentwrites.Tracker) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		sub := Subject(hctx.Context()).ID
		if sub == "" {
			next(hctx)
			return
		}
		if t.Recent(hctx.Context(), sub) {
			hctx = huma.WithContext(hctx, store.ReadPrimary(hctx.Context()))
		}
		next(hctx)
		switch hctx.Method() {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return
		}
		if st := hctx.Status(); st != 0 && st < 400 {
			t.Wrote(hctx.Context(), sub)
		}
	}
}
