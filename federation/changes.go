package federation

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
)

// Change feed limits.
const (
	// DefaultChangesLimit is the changes a page holds when the asker names no limit.
	DefaultChangesLimit = 500
	// MaxChangesLimit bounds the changes of one page.
	MaxChangesLimit = 1000
	// MaxPageCardBytes bounds the card documents of one page: a page stops before it passes
	// it (a page always holds at least one change), so a page of large cards stays readable.
	MaxPageCardBytes = 8 << 20
	// maxCursorLen bounds a cursor's text.
	maxCursorLen = 64
)

// Change is one entry of a registry's change feed as peers receive it: a card of the
// registry's own after a change, or a tombstone (Deleted) when the card was withdrawn.
type Change struct {
	// Seq is the change's position in the origin's feed: of two changes of a card, the one
	// with the higher Seq is the newer.
	Seq int64 `json:"seq"`
	// ID is the card's id on its origin registry.
	ID string `json:"id"`
	// Version is the card's version on its origin after the change (a tombstone's too).
	Version int `json:"version"`
	// Deleted marks a tombstone: the card was withdrawn and its copies must go.
	Deleted bool `json:"deleted,omitempty"`
	// URN is the card's identifier on its origin (urn:air:<host>:agent:<name>).
	URN             string `json:"urn,omitempty"`
	Status          string `json:"status,omitempty"`
	SignatureStatus string `json:"signature_status,omitempty"`
	// AgentDID and SPIFFEID are the identity of the agent registered with the card on its
	// origin, if any.
	AgentDID  string    `json:"agent_did,omitempty"`
	SPIFFEID  string    `json:"spiffe_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Card is the A2A v1.0 agent card (absent from a tombstone).
	Card json.RawMessage `json:"card_data,omitempty"`
	// Reputation is the origin's signed portable reputation of the card's agent (cards of
	// agents registered on the origin): {token, agent, score, tier, issuer, expires_at}.
	Reputation json.RawMessage `json:"reputation,omitempty"`
}

// ChangePage is one page of a registry's change feed.
type ChangePage struct {
	// Registry is the answering registry's trust domain.
	Registry string   `json:"registry"`
	Changes  []Change `json:"changes"`
	// NextCursor is where the next page starts (since=NextCursor); it is the cursor to keep.
	NextCursor string `json:"next_cursor"`
	// More says that changes after this page already exist (ask again at once).
	More bool `json:"has_more"`
}

// Error codes of the change feed.
const (
	CodeInvalidCursor = "INVALID_CURSOR"
	CodeCursorAhead   = "CURSOR_AHEAD"
)

// ErrInvalidCursor refuses a since cursor that this registry did not issue.
var ErrInvalidCursor = apperr.New(apperr.BadRequest, CodeInvalidCursor, "since is not a cursor of this registry's change feed").With("field", "since")

// ErrCursorAhead refuses a cursor past the end of this registry's change feed (its data was
// restored from an older backup, say): the asker starts again from the beginning.
var ErrCursorAhead = apperr.New(apperr.BadRequest, CodeCursorAhead, "since is ahead of this registry's change feed; start again without since").With("field", "since")

const cursorPrefix = "f1:"

// EncodeCursor is the opaque cursor of the feed position seq (≥ 0).
func EncodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(max(seq, 0), 10)))
}

// ParseCursor reads a cursor EncodeCursor made; "" is the start of the feed (0). Anything
// else is ErrInvalidCursor.
func ParseCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	if len(c) > maxCursorLen {
		return 0, ErrInvalidCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return 0, ErrInvalidCursor
	}
	digits, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok || digits == "" || len(digits) > 19 || (len(digits) > 1 && digits[0] == '0') {
		return 0, ErrInvalidCursor
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, ErrInvalidCursor
		}
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || EncodeCursor(seq) != c { // one text per position (no line breaks, no stray bits)
		return 0, ErrInvalidCursor
	}
	return seq, nil
}

// ClampChangesLimit is the page size of a request asking for limit (0: the default).
func ClampChangesLimit(limit int) int {
	if limit <= 0 {
		return DefaultChangesLimit
	}
	return min(limit, MaxChangesLimit)
}

// Feed is a registry's own change feed: the changes of the cards published here, never the
// copies it holds of its peers' cards (a registry re-exports nothing, so no change travels in
// a loop).
type Feed interface {
	// OwnChanges returns up to limit changes of this registry's own cards with seq > after,
	// in seq order, and the feed's head (its last seq, copies included) read before them.
	OwnChanges(ctx context.Context, after int64, limit int) ([]Change, int64, error)
}

// Page answers a peer's request for the feed's changes since cursor: ErrInvalidCursor for
// a malformed cursor, ErrCursorAhead for one past the feed's head, else up to limit changes
// (ClampChangesLimit) and no more card bytes than MaxPageCardBytes, and the cursor to resume
// from (past the head when the page is the last one, so that copies written meanwhile are
// not read again).
func Page(ctx context.Context, feed Feed, self, cursor string, limit int) (ChangePage, error) {
	after, err := ParseCursor(cursor)
	if err != nil {
		return ChangePage{}, err
	}
	limit = ClampChangesLimit(limit)
	ch, head, err := feed.OwnChanges(ctx, after, limit)
	if err != nil {
		return ChangePage{}, err
	}
	if after > head {
		return ChangePage{}, ErrCursorAhead.With("head", EncodeCursor(head))
	}
	page := ChangePage{Registry: self, Changes: ch, More: len(ch) == limit}
	size := 0
	for i, c := range ch {
		size += len(c.Card) + len(c.Reputation)
		if size > MaxPageCardBytes && i > 0 {
			page.Changes, page.More = ch[:i], true
			break
		}
	}
	next := after
	if n := len(page.Changes); n > 0 {
		next = page.Changes[n-1].Seq
	}
	if !page.More {
		next = max(next, head)
	}
	page.NextCursor = EncodeCursor(next)
	if page.Changes == nil {
		page.Changes = []Change{}
	}
	return page, nil
}
