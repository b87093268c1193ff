package teg

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
)

// canon writes the canonical binary form that hashes cover: fixed-width integers, and strings
// and byte fields prefixed by their length, so no two different values share an encoding. It is
// several times cheaper than JSON and independent of field names and map order.
type canon struct {
	h   hash.Hash
	buf [16]byte
}

func newCanon() *canon { return &canon{h: sha256.New()} }

func (c *canon) u64(v uint64) {
	binary.BigEndian.PutUint64(c.buf[:8], v)
	c.h.Write(c.buf[:8])
}

func (c *canon) str(s string) {
	c.u64(uint64(len(s)))
	c.h.Write([]byte(s))
}

func (c *canon) amount(a avt.Amount) {
	u := a.Uint256()
	c.u64(u[1])
	c.u64(u[0])
}

func (c *canon) bool(b bool) {
	if b {
		c.u64(1)
	} else {
		c.u64(0)
	}
}

func (c *canon) time(t time.Time) { c.u64(uint64(t.UTC().UnixMicro())) }

func (c *canon) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

// ComputeHash returns the hash the event must carry given its other fields: SHA-256 over the
// previous hash and the canonical encoding of sequence, time (microseconds), kind, transfer id,
// postings and data (sorted by key).
func (e *Event) ComputeHash() string {
	c := newCanon()
	c.str(e.PrevHash)
	c.u64(e.Seq)
	c.time(e.Time)
	c.str(string(e.Kind))
	c.str(e.TransferID)
	c.u64(uint64(len(e.Postings)))
	for _, p := range e.Postings {
		c.str(string(p.Account))
		c.str(string(p.Part))
		c.amount(p.Amount)
		c.bool(p.Debit)
	}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	c.u64(uint64(len(keys)))
	for _, k := range keys {
		c.str(k)
		c.str(e.Data[k])
	}
	return c.sum()
}

// Fingerprint identifies the command's content, to tell a replay from a reuse of its ID.
func (cmd Command) Fingerprint() string {
	c := newCanon()
	c.str(string(cmd.Kind))
	c.str(cmd.ID)
	c.str(string(cmd.From))
	c.str(string(cmd.To))
	c.amount(cmd.Amount)
	c.str(cmd.Message)
	c.str(cmd.PendingID)
	c.u64(uint64(cmd.Timeout))
	c.bool(cmd.Partial)
	return c.sum()[:32]
}
