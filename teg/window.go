package teg

import (
	"time"

	"github.com/sovereign-stack/sovereign/avt"
)

// WindowHours is the length of the rolling window daily limits are counted over, in hours: what
// an account sent is kept in hour buckets, and the "last 24 hours" are the current hour's bucket
// and the 23 before it.
const WindowHours = 24

// SpendBucket is what an account sent in one hour (Hour: hours since the Unix epoch, UTC).
type SpendBucket struct {
	Hour   int64
	Amount avt.Amount
}

// SpendWindow is what an account sent in the last WindowHours hours: at most WindowHours
// buckets, oldest first, none empty. Methods return new windows and never change the receiver,
// so copies of an Account may share one.
type SpendWindow []SpendBucket

// hourOf is t's bucket.
func hourOf(t time.Time) int64 { return t.Unix() / 3600 }

// inWindow reports whether bucket hour h still counts at hour now.
func inWindow(h, now int64) bool { return h > now-WindowHours && h <= now }

// Used is what the window holds at now: the sum of the buckets of the last WindowHours hours
// (saturating at the largest amount, which no real sum reaches).
func (w SpendWindow) Used(now time.Time) avt.Amount {
	h := hourOf(now)
	var sum avt.Amount
	for _, b := range w {
		if inWindow(b.Hour, h) {
			sum = saturatingAdd(sum, b.Amount)
		}
	}
	return sum
}

// Add returns the window with amount sent at now added, and the buckets that left the window
// dropped.
func (w SpendWindow) Add(now time.Time, amount avt.Amount) SpendWindow {
	h := hourOf(now)
	out := make(SpendWindow, 0, min(len(w)+1, WindowHours))
	for _, b := range w {
		if inWindow(b.Hour, h) {
			out = append(out, b)
		}
	}
	if n := len(out); n > 0 && out[n-1].Hour == h {
		out[n-1].Amount = saturatingAdd(out[n-1].Amount, amount)
		return out
	}
	return append(out, SpendBucket{Hour: h, Amount: amount})
}

// Refund returns the window with amount, sent at `at`, given back (a hold voided or posted for
// less): taken from at's bucket while it is still in the window at now, never below zero.
func (w SpendWindow) Refund(at, now time.Time, amount avt.Amount) SpendWindow {
	h, n := hourOf(at), hourOf(now)
	if !inWindow(h, n) {
		return w
	}
	out := make(SpendWindow, 0, len(w))
	for _, b := range w {
		if !inWindow(b.Hour, n) {
			continue
		}
		if b.Hour == h {
			var ok bool
			if b.Amount, ok = b.Amount.Sub(amount); !ok || b.Amount.IsZero() {
				continue
			}
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func saturatingAdd(a, b avt.Amount) avt.Amount {
	s, ok := a.Add(b)
	if !ok {
		return avt.Max
	}
	return s
}
