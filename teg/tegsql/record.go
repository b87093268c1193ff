package tegsql

import (
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/holiman/uint256"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

// A record is how one entry of the log is stored: the event (time, kind, postings, data) and the
// transfer it made (from, to, amounts, message, pending id, expiry, fingerprint), in one compact
// binary body. Every applied command makes exactly one event and one transfer with the same
// sequence number and id, so one row holds both (the seq and the transfer id are columns, the
// event's hash a column, its prev_hash the hash of the row before). A pending transfer's state,
// the one thing that changes, lives in teg_pending.
//
// Layout (recordVersion 1): version byte, kind byte, time (varint µs since the Unix epoch), from,
// to (strings), amount, fee, held (amounts), message, pending id, fingerprint (strings), expiry
// (varint µs, 0 for none), the history links (uvarint seq of the from account's previous
// entry, then the to account's; 0 for none), postings (count, then account reference,
// part|debit byte, amount each), data (count, then key and value strings). Strings are a uvarint length and the bytes;
// amounts two uvarints (low and high 64 bits); an account reference is 1 for the transfer's from,
// 2 for its to, 3+i for teg.SystemAccounts[i], or 0 followed by the id.
const recordVersion = 1

var kindCodes = []teg.Kind{"", teg.KindTransfer, teg.KindPending, teg.KindPost, teg.KindVoid, teg.KindExpire,
	teg.KindMint, teg.KindBurn, teg.KindGrant, teg.KindOpen, teg.KindStatus, teg.KindParams,
	teg.KindStake, teg.KindUnstake, teg.KindRedelegate, teg.KindValidatorCreate, teg.KindValidatorEdit, teg.KindUnjail,
	teg.KindClaim, teg.KindCompound, teg.KindEpoch, teg.KindRelease, teg.KindSlash,
	teg.KindGovPropose, teg.KindGovVote, teg.KindGovClose, teg.KindGovPolicy,
	teg.KindDisputeFile, teg.KindDisputeEvidence, teg.KindDisputeCommit, teg.KindDisputeReveal, teg.KindDisputeAppeal,
	teg.KindDisputeWithdraw, teg.KindDisputeReject, teg.KindDisputeAdvance}

var partCodes = []teg.Part{teg.Liquid, teg.Locked, teg.Staked, teg.Unbonding}

var errCorrupt = errors.New("corrupt ledger record")

func kindCode(k teg.Kind) byte {
	for i, c := range kindCodes {
		if c == k {
			return byte(i)
		}
	}
	return 0
}

func partCode(p teg.Part) byte {
	for i, c := range partCodes {
		if c == p {
			return byte(i)
		}
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendAmount(b []byte, a avt.Amount) []byte {
	u := a.Uint256()
	b = binary.AppendUvarint(b, u[0])
	return binary.AppendUvarint(b, u[1])
}

func appendMicros(b []byte, t time.Time) []byte { return binary.AppendVarint(b, t.UnixMicro()) }

// links are an entry's places in its accounts' histories: the seq of the previous entry from or
// to its from account, and of its to account (0: none; to is 0 when to is from or empty). They
// are not part of the event, so the event's hash does not cover them; teg verify checks them.
type links struct{ from, to uint64 }

// appendRecord encodes the event e, the transfer t it made and its history links.
func appendRecord(b []byte, e *teg.Event, t *teg.Transfer, l links) []byte {
	b = append(b, recordVersion, kindCode(e.Kind))
	b = appendMicros(b, e.Time)
	b = appendString(b, string(t.From))
	b = appendString(b, string(t.To))
	b = appendAmount(b, t.Amount)
	b = appendAmount(b, t.Fee)
	b = appendAmount(b, t.Held)
	b = appendString(b, t.Message)
	b = appendString(b, t.PendingID)
	b = appendString(b, t.Fingerprint)
	if t.ExpiresAt != nil {
		b = appendMicros(b, *t.ExpiresAt)
	} else {
		b = binary.AppendVarint(b, 0)
	}
	b = binary.AppendUvarint(b, l.from)
	b = binary.AppendUvarint(b, l.to)
	b = binary.AppendUvarint(b, uint64(len(e.Postings)))
	for _, p := range e.Postings {
		switch ref := accountRef(p.Account, t); ref {
		case 0:
			b = append(b, 0)
			b = appendString(b, string(p.Account))
		default:
			b = binary.AppendUvarint(b, ref)
		}
		flags := partCode(p.Part)
		if p.Debit {
			flags |= 0x10
		}
		b = append(b, flags)
		b = appendAmount(b, p.Amount)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Data)))
	for _, k := range sortedKeys(e.Data) {
		b = appendString(b, k)
		b = appendString(b, e.Data[k])
	}
	return b
}

func sortedKeys(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func accountRef(id teg.AccountID, t *teg.Transfer) uint64 {
	switch id {
	case t.From:
		return 1
	case t.To:
		return 2
	}
	if i := id.SystemIndex(); i >= 0 {
		return 3 + uint64(i)
	}
	return 0
}

// decoder reads a record; the first malformed field sets err and every later read returns zero.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = errCorrupt, nil }

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 { return decodeVarint(d, binary.Uvarint) }

func (d *decoder) varint() int64 { return decodeVarint(d, binary.Varint) }

// decodeVarint reads one varint with read (binary.Uvarint or binary.Varint).
func decodeVarint[T uint64 | int64](d *decoder, read func([]byte) (T, int)) T {
	v, n := read(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) amount() avt.Amount {
	lo, hi := d.uvarint(), d.uvarint()
	a, err := avt.Units(&uint256.Int{lo, hi, 0, 0})
	if err != nil {
		d.fail()
	}
	return a
}

func (d *decoder) micros() time.Time { return time.UnixMicro(d.varint()).UTC() }

// decodeRecord decodes the body of the row (seq, transferID, hash) into its event (without
// PrevHash, which is the previous row's hash), its transfer (State empty: it is teg_pending's)
// and its history links.
func decodeRecord(seq uint64, transferID string, hash string, body []byte) (teg.Event, teg.Transfer, links, error) {
	d := &decoder{b: body}
	if v := d.byte(); v != recordVersion {
		return teg.Event{}, teg.Transfer{}, links{}, errCorrupt
	}
	kc := d.byte()
	if int(kc) >= len(kindCodes) || kc == 0 {
		return teg.Event{}, teg.Transfer{}, links{}, errCorrupt
	}
	e := teg.Event{Seq: seq, Kind: kindCodes[kc], TransferID: transferID, Hash: hash}
	e.Time = d.micros()
	t := teg.Transfer{ID: transferID, Kind: e.Kind, Seq: seq, CreatedAt: e.Time}
	t.From = teg.AccountID(d.string())
	t.To = teg.AccountID(d.string())
	t.Amount, t.Fee, t.Held = d.amount(), d.amount(), d.amount()
	t.Message, t.PendingID, t.Fingerprint = d.string(), d.string(), d.string()
	if exp := d.varint(); exp != 0 {
		x := time.UnixMicro(exp).UTC()
		t.ExpiresAt = &x
	}
	l := links{from: d.uvarint(), to: d.uvarint()}
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
	}
	if n > 0 && d.err == nil {
		e.Postings = make([]teg.Posting, n)
	}
	for i := range e.Postings {
		p := &e.Postings[i]
		switch ref := d.uvarint(); {
		case ref == 0:
			p.Account = teg.AccountID(d.string())
		case ref == 1:
			p.Account = t.From
		case ref == 2:
			p.Account = t.To
		case ref-3 < uint64(len(teg.SystemAccounts)):
			p.Account = teg.SystemAccounts[ref-3]
		default:
			d.fail()
		}
		flags := d.byte()
		if int(flags&0x0f) >= len(partCodes) || flags&^0x1f != 0 {
			d.fail()
		}
		p.Part, p.Debit = partCodes[flags&0x0f%byte(len(partCodes))], flags&0x10 != 0
		p.Amount = d.amount()
	}
	if n := d.uvarint(); n > 0 && d.err == nil {
		if n > uint64(len(d.b)) {
			d.fail()
		} else {
			e.Data = make(map[string]string, n)
			for range n {
				k := d.string()
				e.Data[k] = d.string()
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return e, t, l, d.err
}

// appendWindow appends an account's encoded spend window (teg_accounts.spent): the bucket count,
// then each bucket's hour (varint) and amount. An empty window is no bytes (b, when b is nil, is
// made non-nil: the column is NOT NULL).
func appendWindow(b []byte, w teg.SpendWindow) []byte {
	if b == nil {
		b = []byte{}
	}
	if len(w) == 0 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(w)))
	for _, k := range w {
		b = binary.AppendVarint(b, k.Hour)
		b = appendAmount(b, k.Amount)
	}
	return b
}

// decodeWindow decodes what appendWindow wrote.
func decodeWindow(b []byte) (teg.SpendWindow, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := &decoder{b: b}
	n := d.uvarint()
	if n > teg.WindowHours {
		return nil, errCorrupt
	}
	w := make(teg.SpendWindow, n)
	for i := range w {
		w[i].Hour = d.varint()
		w[i].Amount = d.amount()
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return w, d.err
}
