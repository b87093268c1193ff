// Package agentcard parses, validates, converts, canonicalizes, signs and verifies A2A agent
// cards (the a2apb.AgentCard of the A2A protocol v1.0).
//
// A card arrives as JSON: Parse detects whether it is a v1.0 card (strict ProtoJSON) or a legacy
// v0.3 card (converted by ConvertV03), validates it (Validate) and verifies its JWS signatures
// (Verify). Every failure is an *apperr.Error with a stable code and, when a field is at fault,
// its ProtoJSON path in Details["field"] (e.g. "skills[2].id").
//
// Signatures are detached JWS (RFC 7515) whose payload is Canonical(card): the RFC 8785 (JCS)
// form of the card's ProtoJSON without "signatures". A bad signature does not make a card
// invalid; it is reported as a SignatureResult with Verified false and the reason.
//
// The package does no I/O: keys come from the caller's KeyResolver or from the "jwk" embedded in
// a signature's protected header.
package agentcard

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/apperr"
)

// MaxSize is the largest agent card Parse accepts, in bytes of JSON.
const MaxSize = 256 << 10

// Source versions reported in Parsed.SourceVersion.
const (
	Version10 = "1.0"
	Version03 = "0.3"
)

// Parsed is a validated card: Card passed Validate, whatever version it came in.
type Parsed struct {
	Card          *a2apb.AgentCard  // normalized v1.0 card
	SourceVersion string            // "1.0" or "0.3" (what the input was)
	Signatures    []SignatureResult // one per card.signatures entry, in order
}

// Parse reads an agent card from JSON, converts it to v1.0 if it is a v0.3 card, validates it
// and verifies its signatures with keys (nil: only keys embedded in the signatures' protected
// headers).
//
// The version is detected from the top-level members: "supportedInterfaces" means v1.0; else
// "url", or a string "protocolVersion" starting with "0.", means v0.3; anything else is parsed
// as strict v1.0 ProtoJSON (unknown fields are rejected), except that a dual-version card — a
// v1.0 card with a protocolVersion "0.x" and the v0.3 members beside it, as
// a2a.DualVersionCardJSON serves it — is read as its v1.0 card, the v0.3 members ignored.
//
// A bad signature is not an error: it is a SignatureResult with Verified false. The signatures
// of a v1.0 card are verified over Canonical(card); those of a v0.3 card over the JCS form of the
// card as received (without "signatures"), which is what a v0.3 signer signed — so after
// conversion, Verify(ctx, parsed.Card, keys) reports them as not verified.
//
// Errors: MALFORMED_JSON (BadRequest) for text that is not JSON or not UTF-8, CARD_TOO_LARGE (TooLarge) above
// MaxSize, and Invalid errors for everything else (see Validate and ConvertV03).
func Parse(ctx context.Context, data []byte, keys KeyResolver) (*Parsed, error) {
	top, err := topLevel(data)
	if err != nil {
		return nil, err
	}
	p := &Parsed{}
	var payload []byte // what the signatures sign
	var payloadErr error
	if isV03(top) {
		p.SourceVersion = Version03
		if p.Card, err = convertV03(top); err != nil {
			return nil, err
		}
		if len(p.Card.GetSignatures()) > 0 {
			delete(top, "signatures")
			payload, payloadErr = canonicalMembers(top)
		}
	} else {
		p.SourceVersion = Version10
		p.Card = &a2apb.AgentCard{}
		if err := unmarshalStrict(withoutV03Companions(top, data), p.Card); err != nil {
			return nil, err
		}
	}
	if err := Validate(p.Card); err != nil {
		return nil, err
	}
	if p.SourceVersion == Version10 && len(p.Card.GetSignatures()) > 0 {
		payload, payloadErr = Canonical(p.Card) // an unsigned card needs no canonical form
	}
	if payloadErr != nil {
		p.Signatures = unverifiable(len(p.Card.GetSignatures()), payloadErr)
		return p, nil
	}
	p.Signatures = verifyPayload(ctx, p.Card.GetSignatures(), payload, keys)
	return p, nil
}

// canonicalMembers returns the JCS form of an object given by its members.
func canonicalMembers(top map[string]json.RawMessage) ([]byte, error) {
	raw, err := json.Marshal(top)
	if err != nil {
		return nil, err
	}
	return CanonicalJSON(raw)
}

// topLevel checks that data is at most MaxSize bytes of one well-formed JSON object and returns
// its members.
func topLevel(data []byte) (map[string]json.RawMessage, error) {
	if len(data) > MaxSize {
		return nil, apperr.Errorf(apperr.TooLarge, "CARD_TOO_LARGE",
			"agent card is %d bytes; the limit is %d", len(data), MaxSize).With("limit", MaxSize)
	}
	if !utf8.Valid(data) {
		return nil, malformed("invalid UTF-8")
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		reason := "not valid JSON"
		if err != nil {
			reason = err.Error()
		}
		return nil, malformed(reason)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, apperr.New(apperr.Invalid, "INVALID_CARD", "an agent card must be a JSON object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, malformed(err.Error())
	}
	return top, nil
}

// v03Companions are the members a dual-version card (the form a2a.CardHandler serves at the
// well-known path, for v0.3 and v1.0 readers alike) carries beside the v1.0 card for v0.3
// clients; a v1.0 reader ignores them.
var v03Companions = []string{"url", "preferredTransport", "additionalInterfaces", "protocolVersion",
	"supportsAuthenticatedExtendedCard", "security"}

// schemeKeys are the members of a v1.0 SecurityScheme (its oneof).
var schemeKeys = []string{"apiKeySecurityScheme", "httpAuthSecurityScheme", "oauth2SecurityScheme",
	"openIdConnectSecurityScheme", "mtlsSecurityScheme"}

// withoutV03Companions is a v1.0 card without the v0.3 members of a dual-version card (one that
// says protocolVersion "0.x" beside its supportedInterfaces): the top-level v03Companions and, in a security scheme that has its v1.0 member, the flattened v0.3
// form beside it ("type", "scheme" …). A card without them is returned as it is.
func withoutV03Companions(top map[string]json.RawMessage, data []byte) []byte {
	var pv string
	if raw, ok := top["protocolVersion"]; !ok || json.Unmarshal(raw, &pv) != nil || !strings.HasPrefix(pv, "0.") {
		return data // not a dual-version card: its members are judged as v1.0 ones
	}
	changed := false
	for _, k := range v03Companions {
		if _, ok := top[k]; ok {
			delete(top, k)
			changed = true
		}
	}
	var schemes map[string]map[string]json.RawMessage
	if raw, ok := top["securitySchemes"]; ok && json.Unmarshal(raw, &schemes) == nil {
		flat := false
		for _, sc := range schemes {
			has := false
			for _, k := range schemeKeys {
				_, ok := sc[k]
				has = has || ok
			}
			if !has {
				continue
			}
			for k := range sc {
				if !slices.Contains(schemeKeys, k) {
					delete(sc, k)
					flat = true
				}
			}
		}
		if flat {
			if raw, err := json.Marshal(schemes); err == nil {
				top["securitySchemes"], changed = raw, true
			}
		}
	}
	if !changed {
		return data
	}
	out, err := json.Marshal(top)
	if err != nil {
		return data
	}
	return out
}

// isV03 reports whether the top-level members of a card say it is a v0.3 card.
func isV03(top map[string]json.RawMessage) bool {
	if _, ok := top["supportedInterfaces"]; ok {
		return false
	}
	if _, ok := top["url"]; ok {
		return true
	}
	var pv string
	if raw, ok := top["protocolVersion"]; ok && json.Unmarshal(raw, &pv) == nil {
		return strings.HasPrefix(pv, "0.")
	}
	return false
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]*)"`)

// unmarshalStrict decodes v1.0 ProtoJSON into c, rejecting unknown fields.
func unmarshalStrict(data []byte, c *a2apb.AgentCard) error {
	err := protojson.UnmarshalOptions{DiscardUnknown: false}.Unmarshal(data, c)
	if err == nil {
		return nil
	}
	msg := strings.TrimPrefix(err.Error(), "proto: ")
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		return apperr.Errorf(apperr.Invalid, "UNKNOWN_FIELD", "unknown field %q", m[1]).With("field", m[1])
	}
	return apperr.Errorf(apperr.Invalid, "INVALID_CARD", "invalid agent card: %s", msg)
}

// Marshal returns c as ProtoJSON: camelCase names, unpopulated fields omitted, fields in
// field-number order, map keys sorted and no insignificant whitespace, so the same card always
// gives the same bytes.
func Marshal(c *a2apb.AgentCard) ([]byte, error) {
	if c == nil {
		return nil, apperr.New(apperr.Invalid, "INVALID_CARD", "agent card is nil")
	}
	b, err := protojson.MarshalOptions{UseProtoNames: false, EmitUnpopulated: false}.Marshal(c)
	if err != nil {
		return nil, apperr.Errorf(apperr.Invalid, "INVALID_CARD", "cannot encode agent card: %s",
			strings.TrimPrefix(err.Error(), "proto: "))
	}
	// protojson randomizes insignificant whitespace on purpose; compacting removes it.
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, apperr.Internalf("agentcard: compacting ProtoJSON: %w", err)
	}
	return out.Bytes(), nil
}
