package a2a

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

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

// CardHandler serves card: at WellKnownCardPath as the v1.0 ProtoJSON card with the v0.3 fields
// added beside it (DualVersionCardJSON), so that clients of either version read it from the one
// path both versions use; at WellKnownCardPathLegacy in the v0.3 shape alone. Each answer has an
// ETag (a hash of the body), a Last-Modified (when the handler was made) and a Cache-Control
// max-age; a request whose If-None-Match holds the ETag, or (without If-None-Match) whose
// If-Modified-Since is not before Last-Modified, gets 304 Not Modified. The card is encoded
// once, when the handler is made: later changes to card are not served. Other paths get 404,
// methods other than GET and HEAD get 405.
func CardHandler(card *a2apb.AgentCard) http.Handler {
	v03, err := json.Marshal(cardTo03(card))
	if err != nil {
		v03 = []byte("{}")
	}
	mod := time.Now().UTC().Truncate(time.Second)
	return &cardHandler{v1: newCardBody(DualVersionCardJSON(card)), v03: newCardBody(v03), modified: mod}
}

// DualVersionCardJSON is card as served at WellKnownCardPath: the v1.0 ProtoJSON card, plus the
// fields a v0.3 client needs that v1.0 readers ignore as unknown — url, preferredTransport,
// additionalInterfaces, protocolVersion, supportsAuthenticatedExtendedCard, security, and in
// each security scheme the v0.3 "type" with its flat fields — and the arrays v0.3 requires
// (defaultInputModes, defaultOutputModes, skills, each skill's tags) present even when empty.
// No v1.0 field changes meaning, so one document serves both (see docs/A2A.md).
func DualVersionCardJSON(card *a2apb.AgentCard) []byte {
	v1, err := pjMarshal.Marshal(card)
	if err != nil {
		return []byte("{}")
	}
	var doc map[string]any
	if err := json.Unmarshal(v1, &doc); err != nil {
		return []byte("{}")
	}
	v03 := cardTo03(card)
	setIfAbsent := func(k string, v any) {
		if _, ok := doc[k]; !ok {
			doc[k] = v
		}
	}
	if v03.URL != "" {
		doc["url"] = v03.URL
		doc["preferredTransport"] = v03.PreferredTransport
		doc["additionalInterfaces"] = v03.AdditionalInterfaces
	}
	doc["protocolVersion"] = v03.ProtocolVersion
	doc["supportsAuthenticatedExtendedCard"] = v03.SupportsAuthenticatedExtendedCard
	setIfAbsent("defaultInputModes", []string{})
	setIfAbsent("defaultOutputModes", []string{})
	setIfAbsent("skills", []any{})
	setIfAbsent("capabilities", map[string]any{})
	if skills, ok := doc["skills"].([]any); ok {
		for _, sk := range skills {
			if m, ok := sk.(map[string]any); ok {
				if _, ok := m["tags"]; !ok {
					m["tags"] = []string{}
				}
			}
		}
	}
	if schemes, ok := doc["securitySchemes"].(map[string]any); ok {
		for _, sc := range schemes {
			if m, ok := sc.(map[string]any); ok {
				flattenScheme03(m)
			}
		}
	}
	if reqs := card.GetSecurityRequirements(); len(reqs) > 0 {
		sec := make([]map[string][]string, 0, len(reqs))
		for _, r := range reqs {
			one := map[string][]string{}
			for name, scopes := range r.GetSchemes() {
				one[name] = nonNil(scopes.GetList())
			}
			sec = append(sec, one)
		}
		doc["security"] = sec
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return []byte("{}")
	}
	return out
}

// flattenScheme03 adds to a v1.0 SecurityScheme object (one oneof key) the v0.3 form: a "type"
// and the scheme's fields at the top level ("in" for an API key's location).
func flattenScheme03(m map[string]any) {
	types := map[string]string{
		"apiKeySecurityScheme": "apiKey", "httpAuthSecurityScheme": "http", "oauth2SecurityScheme": "oauth2",
		"openIdConnectSecurityScheme": "openIdConnect", "mtlsSecurityScheme": "mutualTLS",
	}
	for key, typ := range types {
		inner, ok := m[key].(map[string]any)
		if !ok {
			continue
		}
		m["type"] = typ
		for k, v := range inner {
			if k == "location" {
				k = "in"
			}
			if _, taken := m[k]; !taken {
				m[k] = v
			}
		}
		return
	}
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
	v1, v03  cardBody
	modified time.Time
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
	h.Set("Last-Modified", c.modified.Format(http.TimeFormat))
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagMatches(inm, b.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	} else if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !c.modified.After(ims) {
		// RFC 9110 §13.1.3: If-Modified-Since only when there is no If-None-Match.
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
