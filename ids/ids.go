// Package ids makes the typed, prefixed identifiers used across the stack (dev_…, key_…, req_…).
//
// An identifier is a prefix, an underscore and 26 Crockford base32 characters: 48 bits of
// millisecond time followed by 80 random bits (the ULID layout). Identifiers made later sort
// after earlier ones, so they serve as stable pagination keys.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// Prefixes of the identifier types.
const (
	Developer = "dev"
	APIKey    = "key"
	Session   = "ses"
	Recovery  = "rk"
	Request   = "req"
	Signing   = "sig"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// last is the previous identifier's 128 bits, so that identifiers made in the same millisecond
// by this process still sort in the order they were made (ULID's monotonic mode).
var last struct {
	sync.Mutex
	hi, lo uint64
}

// New returns a new identifier with the given prefix. Identifiers made by one process sort in
// the order they were made.
func New(prefix string) string {
	return NewAt(prefix, time.Now())
}

// NewAt returns a new identifier with the given prefix whose time part is t (or the previous
// identifier's, when t is not later).
func NewAt(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic("ids: crypto/rand failed: " + err.Error()) // crypto/rand never fails on supported platforms
	}
	last.Lock()
	if hi := binary.BigEndian.Uint64(b[:8]); hi>>16 <= last.hi>>16 {
		// Same (or an earlier) millisecond: one more than the previous identifier.
		lo := last.lo + 1
		hi = last.hi
		if lo == 0 {
			hi++
		}
		binary.BigEndian.PutUint64(b[:8], hi)
		binary.BigEndian.PutUint64(b[8:], lo)
	}
	last.hi, last.lo = binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	last.Unlock()
	var out [26]byte
	// 128 bits → 26 base32 digits (130 bits, top two bits zero).
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	var sb strings.Builder
	sb.Grow(len(prefix) + 27)
	sb.WriteString(prefix)
	sb.WriteByte('_')
	sb.Write(out[:])
	return sb.String()
}

// Valid reports whether s is a well-formed identifier with the given prefix.
func Valid(prefix, s string) bool {
	if len(s) != len(prefix)+27 || !strings.HasPrefix(s, prefix) || s[len(prefix)] != '_' {
		return false
	}
	for _, c := range []byte(s[len(prefix)+1:]) {
		if strings.IndexByte(alphabet, c) < 0 {
			return false
		}
	}
	return true
}
