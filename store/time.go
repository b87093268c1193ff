package store

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// timeLayout is the fixed-width UTC form timestamps take on SQLite: every value has the same
// length, so text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Time converts t for use as a query argument: UTC, truncated to microseconds (the precision of
// PostgreSQL timestamptz), in a form both dialects store and compare correctly.
func Time(t time.Time) driver.Valuer { return timeArg(t) }

type timeArg time.Time

func (t timeArg) Value() (driver.Value, error) {
	return time.Time(t).UTC().Format(timeLayout), nil
}

// NullTime converts an optional time for use as a query argument (NULL when t is nil).
func NullTime(t *time.Time) driver.Valuer { return nullTimeArg{t} }

type nullTimeArg struct{ t *time.Time }

func (n nullTimeArg) Value() (driver.Value, error) {
	if n.t == nil {
		return nil, nil
	}
	return timeArg(*n.t).Value()
}

// ScanTime returns a Scan destination that fills *t from either dialect's timestamp column.
func ScanTime(t *time.Time) any { return &timeDest{t: t} }

// ScanNullTime returns a Scan destination that sets *t to nil for NULL and to the time otherwise.
func ScanNullTime(t **time.Time) any { return &nullTimeDest{t: t} }

type timeDest struct{ t *time.Time }

func (d *timeDest) Scan(src any) error {
	v, err := parseTime(src)
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("store: NULL where a time was required")
	}
	*d.t = *v
	return nil
}

type nullTimeDest struct{ t **time.Time }

func (d *nullTimeDest) Scan(src any) error {
	v, err := parseTime(src)
	if err != nil {
		return err
	}
	*d.t = v
	return nil
}

func parseTime(src any) (*time.Time, error) {
	var t time.Time
	switch v := src.(type) {
	case nil:
		return nil, nil
	case time.Time:
		t = v
	case string:
		p, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, fmt.Errorf("store: parse time %q: %w", v, err)
		}
		t = p
	case []byte:
		p, err := time.Parse(time.RFC3339Nano, string(v))
		if err != nil {
			return nil, fmt.Errorf("store: parse time %q: %w", v, err)
		}
		t = p
	default:
		return nil, fmt.Errorf("store: cannot scan %T into a time", src)
	}
	t = t.UTC()
	return &t, nil
}
