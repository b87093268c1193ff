package ard

import (
	"encoding/base64"
	"encoding/json"
	"math"

	"github.com/sovereign-stack/sovereign/discovery"
)

// PageToken is the state a paged answer hands to the next request: the position its page ended
// at, and the top raw score of the first page (kept in the layout; relevance is on an absolute
// 0–100 scale now, see discovery.Hit).
// Its encoded form is opaque and bound to the query it was issued for.
type PageToken struct {
	After discovery.Position
	Top   float64
}

// pageTokenVersion guards against decoding tokens of an older layout.
const pageTokenVersion = 1

type tokenBody struct {
	V int                `json:"v"`
	Q string             `json:"q"`
	P discovery.Position `json:"p"`
	T float64            `json:"t,omitempty"`
}

// Encode returns the token for the query with this key (Selection.Key).
func (t PageToken) Encode(key string) string {
	b, err := json.Marshal(tokenBody{V: pageTokenVersion, Q: queryHash(key), P: t.After, T: t.Top})
	if err != nil { // only a NaN score could do this; discovery's scores are finite
		panic("ard: page token cannot be encoded: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodePageToken reads a token made by Encode for the query with this key. A token that was
// not made here is INVALID_ARGUMENT "pageToken is not valid"; one made for another query is
// INVALID_ARGUMENT "pageToken does not belong to this query".
func DecodePageToken(s, key string) (PageToken, error) {
	bad := invalid("pageToken is not valid: pass the pageToken of a previous response unchanged")
	if len(s) > MaxPageTokenBytes {
		return PageToken{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return PageToken{}, bad
	}
	var b tokenBody
	if err := json.Unmarshal(raw, &b); err != nil || b.V != pageTokenVersion || b.P.ID == "" || b.Q == "" ||
		math.IsNaN(b.P.Score) || math.IsInf(b.P.Score, 0) || math.IsNaN(b.T) || math.IsInf(b.T, 0) || b.T < 0 {
		return PageToken{}, bad
	}
	if b.Q != queryHash(key) {
		return PageToken{}, invalid("pageToken does not belong to this query: send the same query (text, filter, orderBy) as the request that returned it")
	}
	return PageToken{After: b.P, Top: b.T}, nil
}
