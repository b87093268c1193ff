package agentcard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/apperr"
	"google.golang.org/protobuf/proto"
)

// maxJCSDepth bounds the nesting of arrays and objects CanonicalJSON accepts.
const maxJCSDepth = 256

// Canonical returns the RFC 8785 (JCS) canonical form of c's ProtoJSON without its "signatures"
// field: the detached payload every AgentCardSignature of c signs. c is not modified.
func Canonical(c *a2apb.AgentCard) ([]byte, error) {
	if c == nil {
		return nil, apperr.New(apperr.Invalid, "INVALID_CARD", "agent card is nil")
	}
	u := proto.CloneOf(c)
	u.Signatures = nil
	b, err := Marshal(u)
	if err != nil {
		return nil, err
	}
	return CanonicalJSON(b)
}

// CanonicalJSON returns the RFC 8785 JSON Canonicalization Scheme form of the JSON text data:
// no whitespace, object members sorted by the UTF-16 code units of their names, strings with the
// minimal escaping of RFC 8785 §3.2.2.2 and numbers formatted as ECMAScript's
// Number.prototype.toString does. It rejects input that is not I-JSON (RFC 7493): invalid UTF-8,
// duplicate member names, and numbers that do not fit an IEEE 754 double. Errors are
// *apperr.Error with code MALFORMED_JSON.
func CanonicalJSON(data []byte) ([]byte, error) {
	if !utf8.Valid(data) {
		return nil, malformed("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out bytes.Buffer
	if err := jcsValue(dec, &out, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed("trailing data after the JSON value")
	}
	return out.Bytes(), nil
}

func malformed(reason string) *apperr.Error {
	return apperr.Errorf(apperr.BadRequest, "MALFORMED_JSON", "malformed JSON: %s", reason)
}

// jcsValue reads one JSON value from dec and writes its canonical form to out.
func jcsValue(dec *json.Decoder, out *bytes.Buffer, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return malformed(err.Error())
	}
	return jcsToken(dec, tok, out, depth)
}

func jcsToken(dec *json.Decoder, tok json.Token, out *bytes.Buffer, depth int) error {
	switch t := tok.(type) {
	case nil:
		out.WriteString("null")
	case bool:
		out.WriteString(strconv.FormatBool(t))
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return malformed(fmt.Sprintf("number %s is out of range", t))
		}
		out.WriteString(formatNumber(f))
	case string:
		writeJCSString(out, t)
	case json.Delim:
		if depth >= maxJCSDepth {
			return malformed("nesting too deep")
		}
		switch t {
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := jcsValue(dec, out, depth+1); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return malformed(err.Error())
			}
			out.WriteByte(']')
		case '{':
			type member struct {
				key   []uint16
				name  string
				value []byte
			}
			var members []member
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return malformed(err.Error())
				}
				k, ok := kt.(string)
				if !ok {
					return malformed("object key is not a string")
				}
				if seen[k] {
					return malformed(fmt.Sprintf("duplicate member %q", k))
				}
				seen[k] = true
				var v bytes.Buffer
				if err := jcsValue(dec, &v, depth+1); err != nil {
					return err
				}
				members = append(members, member{key: utf16.Encode([]rune(k)), name: k, value: v.Bytes()})
			}
			if _, err := dec.Token(); err != nil {
				return malformed(err.Error())
			}
			slices.SortFunc(members, func(a, b member) int { return slices.Compare(a.key, b.key) })
			out.WriteByte('{')
			for i, m := range members {
				if i > 0 {
					out.WriteByte(',')
				}
				writeJCSString(out, m.name)
				out.WriteByte(':')
				out.Write(m.value)
			}
			out.WriteByte('}')
		default:
			return malformed("unexpected " + t.String())
		}
	default:
		return malformed(fmt.Sprintf("unexpected token %v", tok))
	}
	return nil
}

// writeJCSString writes s as a JSON string with the escaping of RFC 8785 §3.2.2.2: the two-letter
// escapes for \b \t \n \f \r \" \\, \u00xx (lower-case hex) for other controls, everything else
// as is.
func writeJCSString(out *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	out.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\b':
			out.WriteString(`\b`)
		case '\t':
			out.WriteString(`\t`)
		case '\n':
			out.WriteString(`\n`)
		case '\f':
			out.WriteString(`\f`)
		case '\r':
			out.WriteString(`\r`)
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		default:
			if r < 0x20 {
				out.WriteString(`\u00`)
				out.WriteByte(hex[r>>4])
				out.WriteByte(hex[r&0xf])
			} else {
				out.WriteRune(r)
			}
		}
	}
	out.WriteByte('"')
}

// formatNumber formats f as ECMAScript's Number.prototype.toString does (ECMA-262 Number::toString,
// the serialization RFC 8785 §3.2.2.3 requires). f must be finite.
func formatNumber(f float64) string {
	if f == 0 {
		return "0" // also -0
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		panic("agentcard: formatNumber of a non-finite number")
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	// Shortest round-tripping digits d1.d2…dk × 10^e.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k, n := len(digits), x+1 // value = 0.digits × 10^n
	var s string
	switch {
	case k <= n && n <= 21:
		s = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		s = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		s = "0." + strings.Repeat("0", -n) + digits
	default:
		s = digits[:1]
		if k > 1 {
			s += "." + digits[1:]
		}
		if n-1 >= 0 {
			s += "e+" + strconv.Itoa(n-1)
		} else {
			s += "e-" + strconv.Itoa(1-n)
		}
	}
	return sign + s
}
