package cardtemplate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/apperr"
)

var paramNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// segment is a piece of a string value: literal text, or a placeholder naming a parameter.
type segment struct {
	lit   string
	param string
}

// placeholders splits s into literal text and ${param} placeholders. "$${" is a literal "${";
// a "$" not followed by "{" is literal. A "${" without a parameter name and "}" is an error.
func placeholders(s string) ([]segment, error) {
	var segs []segment
	var lit strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$${"):
			lit.WriteString("${")
			s = s[3:]
		case strings.HasPrefix(s, "${"):
			end := strings.IndexByte(s, '}')
			if end < 0 || !paramNamePattern.MatchString(s[2:end]) {
				return nil, ErrInvalidPlaceholder
			}
			if lit.Len() > 0 {
				segs = append(segs, segment{lit: lit.String()})
				lit.Reset()
			}
			segs = append(segs, segment{param: s[2:end]})
			s = s[end+1:]
		default:
			lit.WriteByte('$')
			s = s[1:]
		}
	}
	if lit.Len() > 0 || len(segs) == 0 {
		segs = append(segs, segment{lit: lit.String()})
	}
	return segs, nil
}

// Resolve checks values against t's parameters and returns the effective typed values: each
// given value converted to its parameter's type (string, int64, float64, bool or []string), and
// the default of every parameter not given. Optional parameters without a default and without a
// value are absent from the result.
//
// Errors: UNKNOWN_PARAMETER for a value of an undeclared parameter, MISSING_PARAMETER for a
// required parameter without a value, INVALID_PARAMETER for a value of the wrong type; each with
// the parameter in Details["field"].
func Resolve(t Template, values map[string]any) (map[string]any, error) {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := t.Param(k); !ok {
			return nil, invalidParam(ErrUnknownParameter, k, fmt.Sprintf("the template %q has no parameter %q", t.Name, k))
		}
	}
	out := make(map[string]any, len(t.Parameters))
	for _, p := range t.Parameters {
		v, given := values[p.Name]
		switch {
		case given && v != nil:
			c, err := coerce(p, v)
			if err != nil {
				return nil, invalidParam(ErrInvalidParameter, p.Name, fmt.Sprintf("parameter %q: %v", p.Name, err))
			}
			out[p.Name] = c
		case p.Default != nil:
			c, err := coerce(p, p.Default)
			if err != nil {
				return nil, invalidParam(ErrInvalidParameter, p.Name, fmt.Sprintf("the default of parameter %q: %v", p.Name, err))
			}
			out[p.Name] = c
		case p.Required:
			return nil, invalidParam(ErrMissingParameter, p.Name, fmt.Sprintf("parameter %q is required", p.Name))
		}
	}
	return out, nil
}

// coerce converts v (as decoded from JSON, or a Go value) to p's type.
func coerce(p Param, v any) (any, error) {
	switch p.Type {
	case TypeString, TypeURL, TypeEnum:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %s", jsonType(v))
		}
		if len(s) > MaxValueLen || !utf8.ValidString(s) {
			return nil, fmt.Errorf("want UTF-8 text of at most %d bytes", MaxValueLen)
		}
		if p.Type == TypeURL {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("want an absolute http or https URL, got %q", s)
			}
		}
		if p.Type == TypeEnum && !slices.Contains(p.Enum, s) {
			return nil, fmt.Errorf("want one of %s, got %q", strings.Join(p.Enum, ", "), s)
		}
		return s, nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want true or false, got %s", jsonType(v))
		}
		return b, nil
	case TypeInteger:
		n, ok := toInt(v)
		if !ok {
			return nil, fmt.Errorf("want a whole number within ±2^53, got %s", jsonType(v))
		}
		return n, nil
	case TypeNumber:
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("want a finite number, got %s", jsonType(v))
		}
		return f, nil
	case TypeStringList:
		var items []string
		switch l := v.(type) {
		case []string:
			items = slices.Clone(l)
		case []any:
			for _, it := range l {
				s, ok := it.(string)
				if !ok {
					return nil, fmt.Errorf("want an array of strings, found %s in it", jsonType(it))
				}
				items = append(items, s)
			}
		default:
			return nil, fmt.Errorf("want an array of strings, got %s", jsonType(v))
		}
		if len(items) > MaxListItems {
			return nil, fmt.Errorf("want at most %d items", MaxListItems)
		}
		for _, s := range items {
			if len(s) > MaxValueLen || !utf8.ValidString(s) {
				return nil, fmt.Errorf("want items of UTF-8 text of at most %d bytes", MaxValueLen)
			}
		}
		if items == nil {
			items = []string{}
		}
		return items, nil
	default:
		return nil, fmt.Errorf("unknown parameter type %q", p.Type)
	}
}

func toInt(v any) (int64, bool) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > maxSafeInteger {
			return 0, false
		}
		n = int64(x)
	case json.Number:
		i, err := strconv.ParseInt(string(x), 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(string(x), 64)
			if ferr != nil {
				return 0, false
			}
			return toInt(f)
		}
		n = i
	default:
		return 0, false
	}
	if n > maxSafeInteger || n < -maxSafeInteger {
		return 0, false
	}
	return n, true
}

func toFloat(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number, int, int32, int64:
		return "a number"
	case []any, []string:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// ParseValue converts the text form of a value (a command-line "key=value") to p's type:
// integers and numbers in Go syntax, booleans as true/false, string lists comma-separated
// (items trimmed, empty ones dropped). The result is checked like a value given to Resolve.
func ParseValue(p Param, s string) (any, error) {
	var v any = s
	switch p.Type {
	case TypeInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, invalidParam(ErrInvalidParameter, p.Name, fmt.Sprintf("parameter %q: want a whole number, got %q", p.Name, s))
		}
		v = n
	case TypeNumber:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, invalidParam(ErrInvalidParameter, p.Name, fmt.Sprintf("parameter %q: want a number, got %q", p.Name, s))
		}
		v = f
	case TypeBoolean:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, invalidParam(ErrInvalidParameter, p.Name, fmt.Sprintf("parameter %q: want true or false, got %q", p.Name, s))
		}
		v = b
	case TypeStringList:
		items := []string{}
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		v = items
	}
	c, err := coerce(p, v)
	if err != nil {
		return nil, invalidParam(ErrInvalidParameter, p.Name, fmt.Sprintf("parameter %q: %v", p.Name, err))
	}
	return c, nil
}

// Render substitutes values (see Resolve) into t's card and returns the card as agentcard.Marshal
// writes it, after agentcard.Parse validated it (whose errors pass through unchanged).
//
// Substitution works on the parsed JSON: a string that is exactly "${p}" becomes p's typed value
// (an array for a string_list, a boolean, a number), or disappears when p is optional and has no
// value; a placeholder inside a longer string becomes the value's string form (a list joined
// with ", ", "" for no value). Object keys are never substituted.
func Render(t Template, values map[string]any) ([]byte, error) {
	vals, err := Resolve(t, values)
	if err != nil {
		return nil, err
	}
	return renderResolved(t, vals)
}

func renderResolved(t Template, vals map[string]any) ([]byte, error) {
	tree, err := parseCard(t.Card)
	if err != nil {
		return nil, err
	}
	out, _, err := substitute(tree, "card", func(path, name string) (any, bool, error) {
		v, ok := vals[name]
		return v, ok, nil
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, apperr.Internalf("cardtemplate: encode rendered card: %w", err)
	}
	parsed, err := agentcard.Parse(context.Background(), bytes.TrimSpace(buf.Bytes()), nil)
	if err != nil {
		return nil, err
	}
	return agentcard.Marshal(parsed.Card)
}

// parseCard decodes a template card, which must be a JSON object, keeping numbers exact.
func parseCard(card json.RawMessage) (map[string]any, error) {
	if len(card) > MaxCardSize {
		return nil, ErrCardTooLarge.With("field", "card").With("limit", MaxCardSize)
	}
	dec := json.NewDecoder(bytes.NewReader(card))
	dec.UseNumber()
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil || tree == nil {
		return nil, fieldErr(ErrInvalidCard, "card", "")
	}
	if _, err := dec.Token(); err == nil {
		return nil, fieldErr(ErrInvalidCard, "card", "the template card must be one JSON object")
	}
	return tree, nil
}

// lookupFunc returns the value of a placeholder's parameter and whether it has one.
type lookupFunc func(path, name string) (any, bool, error)

// substitute replaces the placeholders in the string values of v. It reports false when v is a
// string that is exactly a placeholder without a value (the caller drops it).
func substitute(v any, path string, lookup lookupFunc) (any, bool, error) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			nv, keep, err := substitute(x[k], path+"."+k, lookup)
			if err != nil {
				return nil, false, err
			}
			if keep {
				x[k] = nv
			} else {
				delete(x, k)
			}
		}
		return x, true, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, it := range x {
			nv, keep, err := substitute(it, fmt.Sprintf("%s[%d]", path, i), lookup)
			if err != nil {
				return nil, false, err
			}
			if keep {
				out = append(out, nv)
			}
		}
		return out, true, nil
	case string:
		segs, err := placeholders(x)
		if err != nil {
			return nil, false, fieldErr(ErrInvalidPlaceholder, path, fmt.Sprintf("%s: %q has a malformed placeholder (write \"${name}\", or \"$${\" for a literal \"${\")", path, x))
		}
		if len(segs) == 1 && segs[0].param != "" {
			val, ok, err := lookup(path, segs[0].param)
			if err != nil || !ok {
				return nil, false, err
			}
			return val, true, nil
		}
		var b strings.Builder
		for _, s := range segs {
			if s.param == "" {
				b.WriteString(s.lit)
				continue
			}
			val, ok, err := lookup(path, s.param)
			if err != nil {
				return nil, false, err
			}
			if ok {
				b.WriteString(stringForm(val))
			}
		}
		return b.String(), true, nil
	default:
		return v, true, nil
	}
}

// stringForm is how a typed value reads inside a longer string.
func stringForm(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []string:
		return strings.Join(x, ", ")
	default:
		return fmt.Sprint(x)
	}
}
