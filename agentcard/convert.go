package agentcard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/apperr"
)

// DefaultV03Transport is the transport of a v0.3 card's main url when it names no
// preferredTransport.
const DefaultV03Transport = "JSONRPC"

// oauthFlowOrder is the preference among a v0.3 OAuth2 scheme's flows: v1.0 allows one flow per
// scheme, so a v0.3 scheme with several keeps the first present in this order.
var oauthFlowOrder = []string{"authorizationCode", "clientCredentials", "deviceCode", "implicit", "password"}

// ConvertV03 converts an A2A v0.3 agent card (JSON) to a v1.0 card. It does not validate the
// result (Parse does).
//
// The mapping: "url" with "preferredTransport" (default JSONRPC) becomes the first
// supportedInterfaces entry and each "additionalInterfaces" {url, transport} another one (exact
// duplicates dropped), all with protocolVersion "0.3"; "security" becomes securityRequirements
// (also in skills); each v0.3 securitySchemes entry ({type: apiKey|http|oauth2|openIdConnect|
// mutualTLS, …}) becomes the v1.0 oneof form, an oauth2 scheme keeping one flow (the first of
// authorizationCode, clientCredentials, deviceCode, implicit, password); the top-level
// "supportsAuthenticatedExtendedCard" becomes capabilities.extendedAgentCard;
// capabilities.stateTransitionHistory and protocolVersion are dropped; signatures are kept as
// they are. Members v1.0 has no place for are dropped.
//
// Errors: MALFORMED_JSON (BadRequest) for text that is not JSON, CARD_TOO_LARGE (TooLarge) above
// MaxSize, and CARD_CONVERSION_FAILED (Invalid) with the reason when the card cannot be converted
// (no url, a member of the wrong type, an unknown security scheme type, …).
func ConvertV03(data []byte) (*a2apb.AgentCard, error) {
	top, err := topLevel(data)
	if err != nil {
		return nil, err
	}
	return convertV03(top)
}

// conversionFailed is the error of a v0.3 card that cannot be converted.
func conversionFailed(field, format string, args ...any) *apperr.Error {
	e := apperr.Errorf(apperr.Invalid, "CARD_CONVERSION_FAILED", "cannot convert v0.3 agent card: "+format, args...)
	if field != "" {
		e = e.With("field", field)
	}
	return e
}

func convertV03(top map[string]json.RawMessage) (*a2apb.AgentCard, error) {
	in := make(map[string]any, len(top))
	for k, raw := range top {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // keep numbers in extension params exact until protojson reads them
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, malformed(err.Error())
		}
		in[k] = v
	}

	out := map[string]any{}
	for _, k := range []string{"name", "description", "version", "documentationUrl", "iconUrl",
		"provider", "defaultInputModes", "defaultOutputModes", "signatures"} {
		if v, ok := in[k]; ok {
			out[k] = v
		}
	}

	// Interfaces.
	url, ok, err := str(in, "url", "url")
	if err != nil {
		return nil, err
	}
	if !ok || url == "" {
		return nil, conversionFailed("url", "missing url")
	}
	transport, ok, err := str(in, "preferredTransport", "preferredTransport")
	if err != nil {
		return nil, err
	}
	if !ok || transport == "" {
		transport = DefaultV03Transport
	}
	ifaces := []any{iface(url, transport)}
	seen := map[[2]string]bool{{url, transport}: true}
	extra, err := arr(in, "additionalInterfaces", "additionalInterfaces")
	if err != nil {
		return nil, err
	}
	for i, e := range extra {
		path := fmt.Sprintf("additionalInterfaces[%d]", i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, conversionFailed(path, "%s is not an object", path)
		}
		u, ok, err := str(m, "url", path+".url")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, conversionFailed(path+".url", "missing %s.url", path)
		}
		t, ok, err := str(m, "transport", path+".transport")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, conversionFailed(path+".transport", "missing %s.transport", path)
		}
		if !seen[[2]string{u, t}] {
			seen[[2]string{u, t}] = true
			ifaces = append(ifaces, iface(u, t))
		}
	}
	out["supportedInterfaces"] = ifaces

	// Capabilities.
	if v, ok := in["capabilities"]; ok {
		caps, ok := v.(map[string]any)
		if !ok {
			return nil, conversionFailed("capabilities", "capabilities is not an object")
		}
		c := map[string]any{}
		for _, k := range []string{"streaming", "pushNotifications", "extensions"} {
			if v, ok := caps[k]; ok {
				c[k] = v
			}
		}
		out["capabilities"] = c
	}
	if v, ok := in["supportsAuthenticatedExtendedCard"]; ok {
		b, ok := v.(bool)
		if !ok {
			return nil, conversionFailed("supportsAuthenticatedExtendedCard", "supportsAuthenticatedExtendedCard is not a boolean")
		}
		c, _ := out["capabilities"].(map[string]any)
		if c == nil {
			c = map[string]any{}
			out["capabilities"] = c
		}
		c["extendedAgentCard"] = b
	}

	// Security.
	if _, ok := in["security"]; ok {
		reqs, err := securityV03(in["security"], "security")
		if err != nil {
			return nil, err
		}
		out["securityRequirements"] = reqs
	}
	if v, ok := in["securitySchemes"]; ok {
		schemes, ok := v.(map[string]any)
		if !ok {
			return nil, conversionFailed("securitySchemes", "securitySchemes is not an object")
		}
		conv := make(map[string]any, len(schemes))
		for name, s := range schemes {
			cs, err := schemeV03(s, "securitySchemes."+name)
			if err != nil {
				return nil, err
			}
			conv[name] = cs
		}
		out["securitySchemes"] = conv
	}

	// Skills.
	skills, err := arr(in, "skills", "skills")
	if err != nil {
		return nil, err
	}
	if skills != nil {
		conv := make([]any, len(skills))
		for i, s := range skills {
			path := fmt.Sprintf("skills[%d]", i)
			m, ok := s.(map[string]any)
			if !ok {
				return nil, conversionFailed(path, "%s is not an object", path)
			}
			sk := map[string]any{}
			for _, k := range []string{"id", "name", "description", "tags", "examples", "inputModes", "outputModes"} {
				if v, ok := m[k]; ok {
					sk[k] = v
				}
			}
			if v, ok := m["security"]; ok {
				reqs, err := securityV03(v, path+".security")
				if err != nil {
					return nil, err
				}
				sk["securityRequirements"] = reqs
			}
			conv[i] = sk
		}
		out["skills"] = conv
	}

	b, err := json.Marshal(out)
	if err != nil {
		return nil, conversionFailed("", "%v", err)
	}
	card := &a2apb.AgentCard{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, card); err != nil {
		return nil, conversionFailed("", "%s", strings.TrimPrefix(err.Error(), "proto: "))
	}
	return card, nil
}

func iface(url, binding string) map[string]any {
	return map[string]any{"url": url, "protocolBinding": binding, "protocolVersion": Version03}
}

// str returns m[key] as a string; ok is false when it is absent or null.
func str(m map[string]any, key, path string) (s string, ok bool, err error) {
	v, present := m[key]
	if !present || v == nil {
		return "", false, nil
	}
	s, ok = v.(string)
	if !ok {
		return "", false, conversionFailed(path, "%s is not a string", path)
	}
	return s, true, nil
}

// arr returns m[key] as an array; nil when it is absent or null.
func arr(m map[string]any, key, path string) ([]any, error) {
	v, present := m[key]
	if !present || v == nil {
		return nil, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, conversionFailed(path, "%s is not an array", path)
	}
	return a, nil
}

// securityV03 converts a v0.3 security list ([{scheme: [scopes]}]) to v1.0 SecurityRequirements.
func securityV03(v any, path string) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, conversionFailed(path, "%s is not an array", path)
	}
	out := make([]any, len(list))
	for i, e := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, conversionFailed(p, "%s is not an object", p)
		}
		schemes := make(map[string]any, len(m))
		for name, scopes := range m {
			if scopes == nil {
				scopes = []any{}
			}
			if _, ok := scopes.([]any); !ok {
				return nil, conversionFailed(p+"."+name, "%s.%s is not an array of scopes", p, name)
			}
			schemes[name] = map[string]any{"list": scopes}
		}
		out[i] = map[string]any{"schemes": schemes}
	}
	return out, nil
}

// schemeV03 converts one v0.3 (OpenAPI-shaped) security scheme to the v1.0 oneof form.
func schemeV03(v any, path string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, conversionFailed(path, "%s is not an object", path)
	}
	typ, _, err := str(m, "type", path+".type")
	if err != nil {
		return nil, err
	}
	pick := func(renames map[string]string) map[string]any {
		o := map[string]any{}
		for from, to := range renames {
			if v, ok := m[from]; ok {
				o[to] = v
			}
		}
		return o
	}
	switch typ {
	case "apiKey":
		return map[string]any{"apiKeySecurityScheme": pick(map[string]string{
			"description": "description", "in": "location", "name": "name"})}, nil
	case "http":
		return map[string]any{"httpAuthSecurityScheme": pick(map[string]string{
			"description": "description", "scheme": "scheme", "bearerFormat": "bearerFormat"})}, nil
	case "oauth2":
		o := pick(map[string]string{"description": "description", "oauth2MetadataUrl": "oauth2MetadataUrl"})
		flows, ok := m["flows"].(map[string]any)
		if !ok {
			return nil, conversionFailed(path+".flows", "%s.flows is missing or not an object", path)
		}
		for _, f := range oauthFlowOrder {
			if fv, ok := flows[f]; ok && fv != nil {
				o["flows"] = map[string]any{f: fv}
				break
			}
		}
		if o["flows"] == nil {
			return nil, conversionFailed(path+".flows", "%s.flows names no supported flow", path)
		}
		return map[string]any{"oauth2SecurityScheme": o}, nil
	case "openIdConnect":
		return map[string]any{"openIdConnectSecurityScheme": pick(map[string]string{
			"description": "description", "openIdConnectUrl": "openIdConnectUrl"})}, nil
	case "mutualTLS":
		return map[string]any{"mtlsSecurityScheme": pick(map[string]string{"description": "description"})}, nil
	case "":
		return nil, conversionFailed(path+".type", "%s.type is missing", path)
	default:
		return nil, conversionFailed(path+".type", "unknown security scheme type %q", typ)
	}
}
