package ard

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// DecodeSearchRequest reads the body of POST /search strictly: members the schema does not
// define, values of the wrong type, a missing query or query.text and an unknown federation
// mode are INVALID_ARGUMENT errors naming the field. PageSize defaults to
// DefaultSearchPageSize and is cut to MaxPageSize; Federation defaults to auto.
func DecodeSearchRequest(data []byte) (*SearchRequest, error) {
	top, err := body(data, "query", "federation", "pageSize", "pageToken")
	if err != nil {
		return nil, err
	}
	req := &SearchRequest{Federation: FederationAuto, PageSize: DefaultSearchPageSize}
	raw, ok := top["query"]
	if !ok {
		return nil, invalid("field %q is required", "query")
	}
	if req.Query, err = decodeQuery(raw, "query", true); err != nil {
		return nil, err
	}
	if raw, ok := top["federation"]; ok {
		if req.Federation, err = str(raw, "federation"); err != nil {
			return nil, err
		}
		switch req.Federation {
		case FederationAuto, FederationReferrals, FederationNone:
		default:
			return nil, invalid("federation must be one of auto, referrals, none, not %q", req.Federation)
		}
	}
	if raw, ok := top["pageSize"]; ok {
		if req.PageSize, err = integer(raw, "pageSize"); err != nil {
			return nil, err
		}
		if req.PageSize < 1 {
			return nil, invalid("pageSize must be at least 1")
		}
		req.PageSize = min(req.PageSize, MaxPageSize)
	}
	if raw, ok := top["pageToken"]; ok {
		if req.PageToken, err = str(raw, "pageToken"); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// DecodeExploreRequest reads the body of POST /explore strictly (see DecodeSearchRequest).
// Facet fields must be ones Facets supports, each at most once; Limit defaults to
// DefaultFacetLimit (1–MaxFacetLimit) and MinCount to 1.
func DecodeExploreRequest(data []byte) (*ExploreRequest, error) {
	top, err := body(data, "query", "resultType")
	if err != nil {
		return nil, err
	}
	req := &ExploreRequest{}
	if raw, ok := top["query"]; ok {
		if req.Query, err = decodeQuery(raw, "query", false); err != nil {
			return nil, err
		}
	}
	raw, ok := top["resultType"]
	if !ok {
		return nil, invalid("field %q is required", "resultType")
	}
	// The schema leaves resultType open: members other than facets are ignored.
	rt, err := object(raw, "resultType")
	if err != nil {
		return nil, err
	}
	raw, ok = rt["facets"]
	if !ok {
		return nil, invalid("field %q is required", "resultType.facets")
	}
	items, err := array(raw, "resultType.facets")
	if err != nil {
		return nil, err
	}
	if len(items) > MaxFacets {
		return nil, invalid("resultType.facets: at most %d facets", MaxFacets)
	}
	for i, it := range items {
		path := "resultType.facets[" + strconv.Itoa(i) + "]"
		m, err := strictObject(it, path, "field", "limit", "minCount")
		if err != nil {
			return nil, err
		}
		f := FacetRequest{Limit: DefaultFacetLimit, MinCount: 1}
		raw, ok := m["field"]
		if !ok {
			return nil, invalid("field %q is required", path+".field")
		}
		if f.Field, err = str(raw, path+".field"); err != nil {
			return nil, err
		}
		if _, ok := facetFields[f.Field]; !ok {
			return nil, invalid("%s.field: unknown facet field %q; supported: %s", path, f.Field, strings.Join(FilterFields, ", "))
		}
		if slices.ContainsFunc(req.ResultType.Facets, func(o FacetRequest) bool { return o.Field == f.Field }) {
			return nil, invalid("%s.field: facet %q is asked for twice", path, f.Field)
		}
		if raw, ok := m["limit"]; ok {
			if f.Limit, err = integer(raw, path+".limit"); err != nil {
				return nil, err
			}
			if f.Limit < 1 || f.Limit > MaxFacetLimit {
				return nil, invalid("%s.limit must be between 1 and %d", path, MaxFacetLimit)
			}
		}
		if raw, ok := m["minCount"]; ok {
			if f.MinCount, err = integer(raw, path+".minCount"); err != nil {
				return nil, err
			}
			if f.MinCount < 0 {
				return nil, invalid("%s.minCount must not be negative", path)
			}
		}
		req.ResultType.Facets = append(req.ResultType.Facets, f)
	}
	return req, nil
}

// decodeQuery reads a QueryModel (a SearchQueryModel when needText).
func decodeQuery(raw json.RawMessage, path string, needText bool) (QueryModel, error) {
	var q QueryModel
	m, err := strictObject(raw, path, "text", "filter")
	if err != nil {
		return q, err
	}
	if raw, ok := m["text"]; ok {
		if q.Text, err = str(raw, path+".text"); err != nil {
			return q, err
		}
		if len(q.Text) > MaxTextBytes {
			return q, invalid("%s.text is longer than %d bytes", path, MaxTextBytes)
		}
	} else if needText {
		return q, invalid("field %q is required", path+".text")
	}
	raw, ok := m["filter"]
	if !ok {
		return q, nil
	}
	fm, err := object(raw, path+".filter")
	if err != nil {
		return q, err
	}
	q.Filter = make(map[string][]string, len(fm))
	for _, k := range sortedKeys(fm) {
		p := path + ".filter." + k
		if !slices.Contains(FilterFields, k) && !slices.Contains(ReputationFields, k) {
			return q, invalid("unknown filter field %q (%s); supported: %s", k, p, strings.Join(append(slices.Clone(FilterFields), ReputationFields...), ", "))
		}
		v := bytes.TrimSpace(fm[k])
		var vals []string
		if len(v) > 0 && v[0] == '[' {
			items, err := array(v, p)
			if err != nil {
				return q, err
			}
			if len(items) == 0 {
				return q, invalid("%s: an empty list of values matches nothing; leave the field out instead", p)
			}
			for i, it := range items {
				s, err := str(it, p+"["+strconv.Itoa(i)+"]")
				if err != nil {
					return q, err
				}
				vals = append(vals, s)
			}
		} else {
			s, err := str(v, p)
			if err != nil {
				return q, invalid("%s must be a string or an array of strings", p)
			}
			vals = []string{s}
		}
		q.Filter[k] = vals
	}
	return q, nil
}

// body parses a request body as a JSON object with only the allowed members.
func body(data []byte, allowed ...string) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalid("the request body is empty; send a JSON object")
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, invalid("the request body is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
		}
		return nil, invalid("the request body is not valid JSON: %s", err.Error())
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, invalid("the request body must be a JSON object")
	}
	return strictObject(data, "", allowed...)
}

// strictObject decodes raw as an object whose members are all in allowed.
func strictObject(raw json.RawMessage, path string, allowed ...string) (map[string]json.RawMessage, error) {
	m, err := object(raw, path)
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(allowed, k) {
			return nil, invalid("unknown field %q", join(path, k))
		}
	}
	return m, nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func object(raw json.RawMessage, path string) (map[string]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	var m map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, invalid("%s must be a JSON object", name(path))
	}
	return m, nil
}

func array(raw json.RawMessage, path string) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	var a []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &a) != nil {
		return nil, invalid("%s must be an array", path)
	}
	return a, nil
}

func str(raw json.RawMessage, path string) (string, error) {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", invalid("%s must be a string", path)
	}
	return s, nil
}

// integer reads a JSON number with an integral value (10 and 10.0 alike) that fits an int32.
func integer(raw json.RawMessage, path string) (int, error) {
	raw = bytes.TrimSpace(raw)
	var f float64
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) || json.Unmarshal(raw, &f) != nil ||
		f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, invalid("%s must be an integer", path)
	}
	return int(f), nil
}

func name(path string) string {
	if path == "" {
		return "the request body"
	}
	return path
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
