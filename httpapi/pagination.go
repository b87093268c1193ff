package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"

	"github.com/sovereign-stack/sovereign/apperr"
)

// Page limits of every list route.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 500
	maxCursorLen     = 4096
)

// PageParams are the query parameters of every list route; embed them in a huma input struct.
type PageParams struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
	Cursor string `query:"cursor" maxLength:"4096" doc:"Opaque cursor from a previous page's next_cursor"`
}

var errInvalidCursor = apperr.New(apperr.Invalid, "INVALID_CURSOR", "the cursor is not one this API issued").With("field", "cursor")

// cursorVersion guards against decoding cursors of an older layout.
const cursorVersion = 1

type cursorBody struct {
	V int             `json:"v"`
	K json.RawMessage `json:"k"`
}

// EncodeCursor makes an opaque cursor from a position key: a JSON-encodable value whose encoding
// is at most 2 KiB (keys are ids and sort values; a key that cannot be encoded is a programming
// error and panics rather than silently ending a listing).
func EncodeCursor(key any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cursorBody{V: cursorVersion, K: mustMarshal(key)}); err != nil {
		panic("httpapi: cursor key cannot be encoded: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(bytes.TrimSpace(buf.Bytes()))
}

func mustMarshal(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("httpapi: cursor key cannot be encoded: " + err.Error())
	}
	return bytes.TrimSpace(buf.Bytes())
}

// DecodeCursor reads a cursor made by EncodeCursor into key; an empty cursor leaves key as is.
// A cursor that was not made here is INVALID_CURSOR.
func DecodeCursor(cursor string, key any) error {
	if cursor == "" {
		return nil
	}
	if len(cursor) > maxCursorLen {
		return errInvalidCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return errInvalidCursor
	}
	var c cursorBody
	if err := json.Unmarshal(raw, &c); err != nil || c.V != cursorVersion || len(c.K) == 0 {
		return errInvalidCursor
	}
	if err := json.Unmarshal(c.K, key); err != nil {
		return errInvalidCursor
	}
	return nil
}

// Paginate cuts items, fetched with limit+1, to one page and returns the next cursor ("" on
// the last page), made from the key of the page's last item.
func Paginate[T any](items []T, limit int, key func(T) any) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	page := items[:limit]
	return page, EncodeCursor(key(page[len(page)-1]))
}

// PageByID fetches one page of a list ordered by a string id: it decodes cursor, asks fetch for
// limit+1 items after that id, and returns the page and the next cursor.
func PageByID[T any](cursor string, limit int, fetch func(after string, n int) ([]T, error), id func(T) string) ([]T, string, error) {
	var after string
	if err := DecodeCursor(cursor, &after); err != nil {
		return nil, "", err
	}
	items, err := fetch(after, limit+1)
	if err != nil {
		return nil, "", err
	}
	page, next := Paginate(items, limit, func(t T) any { return id(t) })
	return page, next, nil
}
