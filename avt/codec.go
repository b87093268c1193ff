package avt

import (
	"database/sql/driver"

	"github.com/sovereign-stack/sovereign/apperr"
)

// AppendText appends String() to b (encoding.TextAppender).
func (a Amount) AppendText(b []byte) ([]byte, error) { return a.appendCanonical(b), nil }

// MarshalText returns String() as bytes (encoding.TextMarshaler).
func (a Amount) MarshalText() ([]byte, error) {
	return a.appendCanonical(make([]byte, 0, MaxTextLen)), nil
}

// UnmarshalText sets *a to the amount in b, parsed as strictly as Parse (encoding.TextUnmarshaler).
// On error *a is unchanged. Because Amount is a TextUnmarshaler, OpenAPI generators such as huma
// describe it as a string.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := parse(b)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// MarshalJSON returns a as a JSON string in canonical form, such as "100.5" (with the quotes).
func (a Amount) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, MaxTextLen+2)
	b = append(b, '"')
	b = a.appendCanonical(b)
	return append(b, '"'), nil
}

// UnmarshalJSON sets *a to the amount in the JSON string b, parsed as strictly as Parse. Anything but
// a JSON string is INVALID_AMOUNT: numbers (which would invite floats), null (use *Amount for an
// optional amount; encoding/json sets a nil pointer for null without calling this), and strings with
// escapes, which no valid amount needs. On error *a is unchanged.
func (a *Amount) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return invalidAmount()
	}
	return a.UnmarshalText(b[1 : len(b)-1])
}

// Value returns Fixed() for database/sql (driver.Valuer): exact in a SQLite TEXT column and in a
// PostgreSQL NUMERIC(78,0) column alike.
func (a Amount) Value() (driver.Value, error) { return a.Fixed(), nil }

// Scan sets *a from a database value (sql.Scanner): a string or []byte holding a decimal integer of
// base units (the Fixed form from SQLite TEXT, or PostgreSQL NUMERIC as text), or a non-negative
// int64. NULL and every other type are errors (scan a nullable column into *Amount via
// sql.Null[Amount]). Errors are internal: a bad stored amount is a bug or corruption, not bad input.
// On error *a is unchanged.
func (a *Amount) Scan(src any) error {
	var (
		v   Amount
		err error
	)
	switch s := src.(type) {
	case string:
		v, err = parseFixed(s)
	case []byte:
		v, err = parseFixed(s)
	case int64:
		if s < 0 {
			return apperr.Internalf("avt: scanning amount: negative integer %d", s)
		}
		v = FromUnits(uint64(s))
	case nil:
		return apperr.Internalf("avt: scanning amount: NULL")
	default:
		return apperr.Internalf("avt: scanning amount: unsupported type %T", src)
	}
	if err != nil {
		return apperr.Internalf("avt: scanning amount %q: %w", truncate(src), err)
	}
	*a = v
	return nil
}

// truncate returns the text of a scanned string or []byte, cut to a length fit for a log line.
func truncate(src any) string {
	const limit = 2 * FixedWidth
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v[:min(len(v), limit)])
	}
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}
