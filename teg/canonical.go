package teg

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
)

// The canonical binary form that hashes cover: fixed-width big-endian integers, and strings
// prefixed by their length, so no two different values share an encoding. It is several times
// cheaper than JSON and independent of field names and map order. The encoding is appended to a
// byte slice (the ledger reuses one per batch) and hashed once, so it allocates nothing.

func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

func appendAmount(b []byte, a avt.Amount) []byte {
	u := a.Uint256()
	b = binary.BigEndian.AppendUint64(b, u[1])
	return binary.BigEndian.AppendUint64(b, u[0])
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return appendU64(b, 1)
	}
	return appendU64(b, 0)
}

func appendTime(b []byte, t time.Time) []byte { return appendU64(b, uint64(t.UTC().UnixMicro())) }

// maxInlineKeys is how many Data keys appendCanonical sorts without allocating.
const maxInlineKeys = 8

// appendCanonical appends the canonical encoding of the event's hashed fields to b: the previous
// hash, sequence, time (microseconds), kind, transfer id, postings and data (sorted by key).
func (e *Event) appendCanonical(b []byte) []byte {
	b = appendStr(b, e.PrevHash)
	b = appendU64(b, e.Seq)
	b = appendTime(b, e.Time)
	b = appendStr(b, string(e.Kind))
	b = appendStr(b, e.TransferID)
	b = appendU64(b, uint64(len(e.Postings)))
	for i := range e.Postings {
		p := &e.Postings[i]
		b = appendStr(b, string(p.Account))
		b = appendStr(b, string(p.Part))
		b = appendAmount(b, p.Amount)
		b = appendBool(b, p.Debit)
	}
	b = appendU64(b, uint64(len(e.Data)))
	if len(e.Data) == 0 {
		return b
	}
	var inline [maxInlineKeys]string
	keys := inline[:0]
	for k := range e.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendStr(b, k)
		b = appendStr(b, e.Data[k])
	}
	return b
}

// ComputeHash returns the hash the event must carry given its other fields: SHA-256 over the
// previous hash and the canonical encoding of sequence, time (microseconds), kind, transfer id,
// postings and data (sorted by key).
func (e *Event) ComputeHash() string {
	var buf [1024]byte
	sum := sha256.Sum256(e.appendCanonical(buf[:0]))
	var text [2 * sha256.Size]byte
	hex.Encode(text[:], sum[:])
	return string(text[:])
}

// fingerprintLen is the length of a Fingerprint: the hex of the first half of a SHA-256.
const fingerprintLen = 32

// appendFingerprintInput appends the canonical encoding of the command's content to b.
func (cmd *Command) appendFingerprintInput(b []byte) []byte {
	b = appendStr(b, string(cmd.Kind))
	b = appendStr(b, cmd.ID)
	b = appendStr(b, string(cmd.From))
	b = appendStr(b, string(cmd.To))
	b = appendAmount(b, cmd.Amount)
	b = appendStr(b, cmd.Message)
	b = appendStr(b, cmd.PendingID)
	b = appendU64(b, uint64(cmd.Timeout))
	b = appendBool(b, cmd.Partial)
	if cmd.Kind == KindStatus {
		// Only status commands carry a status: the other kinds' fingerprints stay as they were.
		b = appendStr(b, string(cmd.Status))
	}
	if cmd.Kind == KindParams && cmd.Params != nil {
		b = appendStr(b, cmd.Params.Encode())
	}
	if isStakingKind(cmd.Kind) {
		b = cmd.Staking.appendCanonical(b)
	}
	if cmd.Gov != nil { // only governance commands and executions carry it
		b = cmd.Gov.appendCanonical(b)
	}
	if isDisputeKind(cmd.Kind) {
		b = cmd.Dispute.appendCanonical(b)
	}
	return b
}

// fingerprint writes the command's Fingerprint into dst, using buf as scratch; it returns buf
// (possibly grown) for reuse.
func (cmd *Command) fingerprint(dst *[fingerprintLen]byte, buf []byte) []byte {
	buf = cmd.appendFingerprintInput(buf[:0])
	sum := sha256.Sum256(buf)
	hex.Encode(dst[:], sum[:fingerprintLen/2])
	return buf
}

// Fingerprint identifies the command's content, to tell a replay from a reuse of its ID.
func (cmd Command) Fingerprint() string {
	var buf [512]byte
	var fp [fingerprintLen]byte
	cmd.fingerprint(&fp, buf[:0])
	return string(fp[:])
}
