package a2a

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// Well-known paths of the agent card.
const (
	// WellKnownCardPath is where an agent publishes its card (RFC 8615 well-known URI).
	WellKnownCardPath = "/.well-known/agent-card.json"
	// WellKnownCardPathLegacy is the path of the v0.2-era card, still fetched by older clients.
	WellKnownCardPathLegacy = "/.well-known/agent.json"
)

// cardMaxAge is how long a client may cache the card (Cache-Control max-age, seconds).
const cardMaxAge = "300"

// CardHandler serves card: at WellKnownCardPath as v1.0 ProtoJSON, at WellKnownCardPathLegacy in
// the v0.3 shape (url, preferredTransport, additionalInterfaces) for clients of that era. Each
// answer has an ETag (a hash of the body) and a Cache-Control max-age, and a request whose
// If-None-Match holds the ETag gets 304 Not Modified. The card is encoded once, when the handler
// is made: later changes to card are not served. Other paths get 404, methods other than GET and
// HEAD get 405.
func CardHandler(card *a2apb.AgentCard) http.Handler {
	v1, err := pjMarshal.Marshal(card)
	if err != nil {
		v1 = []byte("{}")
	}
	if c, err := compactJSON(v1); err == nil {
		v1 = c
	}
	v03, err := json.Marshal(cardTo03(card))
	if err != nil {
		v03 = []byte("{}")
	}
	return &cardHandler{v1: newCardBody(v1), v03: newCardBody(v03)}
}

type cardBody struct {
	data []byte
	etag string
}

func newCardBody(data []byte) cardBody {
	sum := sha256.Sum256(data)
	return cardBody{data: data, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
}

type cardHandler struct {
	v1, v03 cardBody
}

// ServeHTTP implements http.Handler.
func (c *cardHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b cardBody
	switch r.URL.Path {
	case WellKnownCardPath:
		b = c.v1
	case WellKnownCardPathLegacy:
		b = c.v03
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("ETag", b.etag)
	h.Set("Cache-Control", "public, max-age="+cardMaxAge)
	h.Set("Vary", "Accept-Encoding")
	if etagMatches(r.Header.Get("If-None-Match"), b.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(b.data)
	}
}

// etagMatches reports whether an If-None-Match header names etag (weak comparison, or "*").
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
