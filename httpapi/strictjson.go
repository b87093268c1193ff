package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
)

// Codes of the checks every JSON request body passes before any handler decodes it.
const (
	// CodeDuplicateJSONKey is a body with an object that names one key twice (parsers disagree
	// on which one wins, so the body means different things to different readers).
	CodeDuplicateJSONKey = "DUPLICATE_JSON_KEY"
	// CodeInvalidCharacter is a body whose text (a string or an object key) holds a NUL
	// character, which no field accepts and PostgreSQL cannot store.
	CodeInvalidCharacter = "INVALID_CHARACTER"
)

// CheckJSON refuses a JSON document in which an object names the same key twice (compared
// after unescaping, so "a" and "\u0061" are the same key) or a string or key holds a NUL
// character (U+0000): DUPLICATE_JSON_KEY (400) or INVALID_CHARACTER (422), with details.field
// the path of the offending member ("card_data.skills[0].id"; for a NUL in a key, the object
// holding it). data that is not valid JSON passes: the decoder that reads it reports that.
func CheckJSON(data []byte) error {
	if plainJSON(data) {
		return nil
	}
	return checkJSONTokens(data)
}

// maxPlainKeys is how many keys plainJSON compares an object's keys among; an object with more
// goes to checkJSONTokens, whose comparison is by hash.
const maxPlainKeys = 32

// plainJSON reports, in one pass over data (without allocating, for documents nested at most 16
// deep with at most 64 keys open at once), that data certainly holds neither a duplicate key nor
// a NUL character, or is not valid JSON (which CheckJSON lets pass). It compares keys as they
// are written, so a key or string with an escape that could hide either (any escape in a key,
// \u0000 in a string), an object of more than maxPlainKeys keys, or a duplicate found makes it
// answer false: checkJSONTokens then decides, and writes the error.
func plainJSON(data []byte) bool {
	type frame struct {
		object bool
		keys   int // where this object's keys start in keys
	}
	var stackBuf [16]frame
	var keysBuf [64][]byte
	stack, keys := stackBuf[:0], keysBuf[:0]
	last := byte(0) // the last '{', '[', ',' or ':' seen, or 'v' after a value
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '{', '[':
			stack = append(stack, frame{object: c == '{', keys: len(keys)})
			last = c
		case '}', ']':
			if len(stack) == 0 {
				return true // not valid JSON
			}
			if top := stack[len(stack)-1]; top.object {
				keys = keys[:top.keys]
			}
			stack, last = stack[:len(stack)-1], 'v'
		case ',', ':':
			last = c
		case '"':
			j, escaped := i+1, false
			for ; j < len(data) && data[j] != '"'; j++ {
				if data[j] == '\\' {
					escaped = true
					j++
				}
			}
			if j >= len(data) {
				return true // an unterminated string: not valid JSON
			}
			text := data[i+1 : j]
			if escaped && bytes.Contains(text, nulEscape) {
				return false
			}
			if len(stack) > 0 && stack[len(stack)-1].object && (last == '{' || last == ',') {
				own := keys[stack[len(stack)-1].keys:]
				if escaped || len(own) >= maxPlainKeys {
					return false
				}
				for _, k := range own {
					if bytes.Equal(k, text) {
						return false
					}
				}
				keys = append(keys, text)
			}
			i, last = j, 'v'
		}
	}
	return true
}

// nulEscape is how a NUL character is written in a JSON string.
var nulEscape = []byte(`\u0000`)

// checkJSONTokens is CheckJSON reading data token by token.
func checkJSONTokens(data []byte) error {
	if !json.Valid(data) {
		return nil
	}
	// A frame is an open object or array; key is the member being read, n the elements seen.
	type frame struct {
		object bool
		keys   map[string]struct{}
		key    string
		n      int
		inKey  bool // an object expecting a key (not a value) next
	}
	var stack []*frame
	path := func(extra string) string {
		var b strings.Builder
		for i, f := range stack {
			if f.object && f.inKey && i == len(stack)-1 {
				break // between members: the path is the object's own
			}
			if f.object {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			} else {
				b.WriteString("[" + strconv.Itoa(f.n) + "]")
			}
		}
		if extra != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(extra)
		}
		return b.String()
	}
	// valueDone advances the innermost frame past the value just read.
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if f := stack[len(stack)-1]; f.object {
			f.inKey = true
		} else {
			f.n++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // not reached for valid JSON
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{object: true, keys: map[string]struct{}{}, inKey: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if top != nil && top.object && top.inKey {
				if strings.IndexByte(v, 0) >= 0 {
					return apperr.New(apperr.Invalid, CodeInvalidCharacter, "an object key contains a NUL character (U+0000)").
						With("field", path("")).With("in", "body")
				}
				if _, dup := top.keys[v]; dup {
					return apperr.Errorf(apperr.BadRequest, CodeDuplicateJSONKey, "duplicate key %q in one JSON object", v).
						With("field", path(v)).With("in", "body")
				}
				top.keys[v] = struct{}{}
				top.key, top.inKey = v, false
				continue
			}
			if strings.IndexByte(v, 0) >= 0 {
				return apperr.New(apperr.Invalid, CodeInvalidCharacter, "the text contains a NUL character (U+0000)").
					With("field", path("")).With("in", "body")
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// checkURL refuses a request whose path or query parameters hold a NUL character (%00), as
// CheckJSON refuses one in a body: INVALID_CHARACTER with details.in "path" or "query" (and
// details.field, the query parameter).
func checkURL(u *url.URL) error {
	if strings.IndexByte(u.Path, 0) >= 0 {
		return apperr.New(apperr.Invalid, CodeInvalidCharacter, "the path contains a NUL character (U+0000)").With("in", "path")
	}
	if !strings.Contains(u.RawQuery, "%00") {
		return nil
	}
	q, _ := url.ParseQuery(u.RawQuery)
	for k, vs := range q {
		for _, v := range append(vs, k) {
			if strings.IndexByte(v, 0) >= 0 {
				return apperr.New(apperr.Invalid, CodeInvalidCharacter, "a query parameter contains a NUL character (U+0000)").
					With("field", k).With("in", "query")
			}
		}
	}
	return nil
}

// isJSONBody reports whether a request body of contentType is checked as JSON: a JSON media
// type (application/json, anything+json), or none at all (the API reads an untyped body as JSON).
func isJSONBody(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
