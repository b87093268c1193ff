package agentcard

import (
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/apperr"
)

// Limits of a valid card. Lengths count Unicode code points.
const (
	MaxNameLen         = 200  // name, skill name, provider organization
	MaxDescriptionLen  = 8192 // description, skill description, scheme and extension descriptions
	MaxVersionLen      = 64   // version
	MaxURLLen          = 2048 // every URL
	MaxSkills          = 256  // skills
	MaxTags            = 64   // tags per skill
	MaxTagLen          = 64   // one tag
	MaxExamples        = 32   // examples per skill
	MaxExampleLen      = 1024 // one example
	MaxInterfaces      = 32   // supportedInterfaces
	MaxBindingLen      = 64   // protocolBinding
	MaxTenantLen       = 256  // tenant
	MaxModes           = 32   // input or output modes, card or skill
	MaxMediaTypeLen    = 255  // one media type
	MaxSecuritySchemes = 32   // securitySchemes
	MaxRequirements    = 32   // securityRequirements (card or skill), schemes per requirement
	MaxScopes          = 64   // scopes per requirement or per OAuth flow
	MaxShortLen        = 256  // scheme names, scopes, API key names, bearer formats, extension URIs
	MaxExtensions      = 32   // capabilities.extensions
	MaxSignatures      = 16   // signatures
)

// The protocol bindings A2A v1.0 defines; others are allowed (the set is open) if they are
// tokens (see bindingRE).
const (
	BindingJSONRPC  = "JSONRPC"
	BindingGRPC     = "GRPC"
	BindingHTTPJSON = "HTTP+JSON"
)

var (
	skillIDRE         = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	protocolVersionRE = regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`)
	bindingRE         = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._/-]*$`)
)

// Validate checks c against the rules of a v1.0 agent card and returns the first broken rule as
// an *apperr.Error of kind Invalid with Details["field"] set to the ProtoJSON path of the field:
//
//   - MISSING_FIELD: a field the proto marks REQUIRED is empty: name, description,
//     supportedInterfaces (≥ 1, each with url, protocolBinding, protocolVersion), version,
//     capabilities, defaultInputModes (≥ 1), defaultOutputModes (≥ 1), skills (≥ 1, each with id,
//     name, description and ≥ 1 tag), provider url and organization (when there is a provider),
//     each signature's protected and signature, and the required members of security schemes
//     (apiKey location and name, http scheme, oauth2 flows and their URLs, OIDC URL); also an
//     extension without uri and a security scheme with no variant set. Skills are required as
//     A2A requires them: an agent with nothing to offer has nothing to register.
//   - INVALID_URL: a URL that is not absolute http or https with a host, has user info, or is
//     longer than MaxURLLen. Plain http is allowed (local and test agents); policy on TLS belongs
//     to the caller.
//   - INVALID_FIELD: a protocolBinding that is not a token of at most MaxBindingLen, a
//     protocolVersion not like "1.0" or "0.3", a skill id not matching
//     ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$, an empty tag, a media type mime.ParseMediaType rejects
//     or without a subtype, an API key location other than query, header or cookie.
//   - FIELD_TOO_LONG / TOO_MANY_ITEMS: the limits above (MaxNameLen, MaxSkills, …).
//   - DUPLICATE_SKILL_ID: two skills with the same id.
//   - UNKNOWN_SECURITY_SCHEME: a security requirement (card or skill) naming a scheme that is not
//     a key of securitySchemes.
func Validate(c *a2apb.AgentCard) error {
	if c == nil {
		return apperr.New(apperr.Invalid, "INVALID_CARD", "agent card is nil")
	}
	v := &validator{}
	v.card(c)
	if v.err != nil {
		return v.err
	}
	return nil
}

// validator keeps the first error; every check is a no-op once one is set.
type validator struct{ err *apperr.Error }

func (v *validator) fail(code, field, format string, args ...any) {
	if v.err == nil {
		v.err = apperr.Errorf(apperr.Invalid, code, format, args...).With("field", field)
	}
}

func (v *validator) required(s, field string) bool {
	if s == "" {
		v.fail("MISSING_FIELD", field, "%s is required", field)
		return false
	}
	return true
}

func (v *validator) maxLen(s, field string, limit int) {
	if n := utf8.RuneCountInString(s); n > limit {
		v.fail("FIELD_TOO_LONG", field, "%s is %d characters long; the limit is %d", field, n, limit)
	}
}

func (v *validator) maxItems(n int, field string, limit int) {
	if n > limit {
		v.fail("TOO_MANY_ITEMS", field, "%s has %d items; the limit is %d", field, n, limit)
	}
}

// text checks a required string with a length limit.
func (v *validator) text(s, field string, limit int) {
	if v.required(s, field) {
		v.maxLen(s, field, limit)
	}
}

// url checks an absolute http(s) URL with a host.
func (v *validator) url(s, field string) {
	v.urlOf(s, field, "http", "https")
}

// urlOf checks an absolute URL of one of schemes with a host.
func (v *validator) urlOf(s, field string, schemes ...string) {
	if len(s) > MaxURLLen {
		v.fail("INVALID_URL", field, "%s is longer than %d characters", field, MaxURLLen)
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.fail("INVALID_URL", field, "%s is not a URL", field)
	case !slices.Contains(schemes, u.Scheme):
		v.fail("INVALID_URL", field, "%s must be an absolute %s or %s URL", field,
			strings.Join(schemes[:len(schemes)-1], ", "), schemes[len(schemes)-1])
	case u.Host == "" || u.Hostname() == "":
		v.fail("INVALID_URL", field, "%s has no host", field)
	case u.User != nil:
		v.fail("INVALID_URL", field, "%s must not contain user info", field)
	}
}

// requiredURL checks a required URL.
func (v *validator) requiredURL(s, field string) {
	if v.required(s, field) {
		v.url(s, field)
	}
}

// modes checks a list of media types.
func (v *validator) modes(list []string, field string) {
	v.maxItems(len(list), field, MaxModes)
	for i, m := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(m) > MaxMediaTypeLen {
			v.fail("FIELD_TOO_LONG", f, "%s is longer than %d bytes", f, MaxMediaTypeLen)
			continue
		}
		mt, _, err := mime.ParseMediaType(m)
		if err != nil || !strings.Contains(mt, "/") {
			v.fail("INVALID_FIELD", f, "%s: %q is not a media type", f, m)
		}
	}
}

func (v *validator) card(c *a2apb.AgentCard) {
	v.text(c.GetName(), "name", MaxNameLen)
	v.text(c.GetDescription(), "description", MaxDescriptionLen)

	if len(c.GetSupportedInterfaces()) == 0 {
		v.fail("MISSING_FIELD", "supportedInterfaces", "supportedInterfaces needs at least one interface")
	}
	v.maxItems(len(c.GetSupportedInterfaces()), "supportedInterfaces", MaxInterfaces)
	for i, in := range c.GetSupportedInterfaces() {
		v.iface(in, fmt.Sprintf("supportedInterfaces[%d]", i))
	}

	if p := c.GetProvider(); p != nil {
		v.requiredURL(p.GetUrl(), "provider.url")
		v.text(p.GetOrganization(), "provider.organization", MaxNameLen)
	}
	v.text(c.GetVersion(), "version", MaxVersionLen)
	if c.DocumentationUrl != nil {
		v.url(c.GetDocumentationUrl(), "documentationUrl")
	}
	if c.IconUrl != nil {
		v.url(c.GetIconUrl(), "iconUrl")
	}

	if c.GetCapabilities() == nil {
		v.fail("MISSING_FIELD", "capabilities", "capabilities is required")
	}
	exts := c.GetCapabilities().GetExtensions()
	v.maxItems(len(exts), "capabilities.extensions", MaxExtensions)
	for i, e := range exts {
		f := fmt.Sprintf("capabilities.extensions[%d]", i)
		v.text(e.GetUri(), f+".uri", MaxShortLen)
		v.maxLen(e.GetDescription(), f+".description", MaxDescriptionLen)
	}

	v.schemes(c.GetSecuritySchemes())
	v.requirements(c.GetSecurityRequirements(), "securityRequirements", c.GetSecuritySchemes())

	if len(c.GetDefaultInputModes()) == 0 {
		v.fail("MISSING_FIELD", "defaultInputModes", "defaultInputModes needs at least one media type")
	}
	v.modes(c.GetDefaultInputModes(), "defaultInputModes")
	if len(c.GetDefaultOutputModes()) == 0 {
		v.fail("MISSING_FIELD", "defaultOutputModes", "defaultOutputModes needs at least one media type")
	}
	v.modes(c.GetDefaultOutputModes(), "defaultOutputModes")

	if len(c.GetSkills()) == 0 {
		v.fail("MISSING_FIELD", "skills", "skills needs at least one skill")
	}
	v.maxItems(len(c.GetSkills()), "skills", MaxSkills)
	ids := make(map[string]int, len(c.GetSkills()))
	for i, s := range c.GetSkills() {
		f := fmt.Sprintf("skills[%d]", i)
		v.skill(s, f, c.GetSecuritySchemes())
		if j, dup := ids[s.GetId()]; dup && s.GetId() != "" {
			v.fail("DUPLICATE_SKILL_ID", f+".id", "skill id %q is used by skills[%d] and %s", s.GetId(), j, f)
		}
		ids[s.GetId()] = i
	}

	v.maxItems(len(c.GetSignatures()), "signatures", MaxSignatures)
	for i, s := range c.GetSignatures() {
		f := fmt.Sprintf("signatures[%d]", i)
		v.required(s.GetProtected(), f+".protected")
		v.required(s.GetSignature(), f+".signature")
	}
}

func (v *validator) iface(in *a2apb.AgentInterface, f string) {
	if strings.EqualFold(in.GetProtocolBinding(), "GRPC") {
		// A gRPC interface is a host:port reached with or without TLS: grpc:// and grpcs://
		// (as the SDK's cards write it) besides http:// and https://.
		if v.required(in.GetUrl(), f+".url") {
			v.urlOf(in.GetUrl(), f+".url", "http", "https", "grpc", "grpcs")
		}
	} else {
		v.requiredURL(in.GetUrl(), f+".url")
	}
	if b := in.GetProtocolBinding(); v.required(b, f+".protocolBinding") {
		if len(b) > MaxBindingLen || !bindingRE.MatchString(b) {
			v.fail("INVALID_FIELD", f+".protocolBinding",
				"%s must be a token of at most %d characters (e.g. JSONRPC, GRPC, HTTP+JSON)", f+".protocolBinding", MaxBindingLen)
		}
	}
	if pv := in.GetProtocolVersion(); v.required(pv, f+".protocolVersion") && !protocolVersionRE.MatchString(pv) {
		v.fail("INVALID_FIELD", f+".protocolVersion", "%s must look like \"1.0\"", f+".protocolVersion")
	}
	v.maxLen(in.GetTenant(), f+".tenant", MaxTenantLen)
}

func (v *validator) skill(s *a2apb.AgentSkill, f string, schemes map[string]*a2apb.SecurityScheme) {
	if id := s.GetId(); v.required(id, f+".id") && !skillIDRE.MatchString(id) {
		v.fail("INVALID_FIELD", f+".id", "%s must match %s", f+".id", skillIDRE)
	}
	v.text(s.GetName(), f+".name", MaxNameLen)
	v.text(s.GetDescription(), f+".description", MaxDescriptionLen)
	if len(s.GetTags()) == 0 {
		v.fail("MISSING_FIELD", f+".tags", "%s.tags needs at least one tag", f)
	}
	v.maxItems(len(s.GetTags()), f+".tags", MaxTags)
	for i, t := range s.GetTags() {
		tf := fmt.Sprintf("%s.tags[%d]", f, i)
		if strings.TrimSpace(t) == "" {
			v.fail("INVALID_FIELD", tf, "%s must not be empty", tf)
		}
		v.maxLen(t, tf, MaxTagLen)
	}
	v.maxItems(len(s.GetExamples()), f+".examples", MaxExamples)
	for i, e := range s.GetExamples() {
		v.maxLen(e, fmt.Sprintf("%s.examples[%d]", f, i), MaxExampleLen)
	}
	v.modes(s.GetInputModes(), f+".inputModes")
	v.modes(s.GetOutputModes(), f+".outputModes")
	v.requirements(s.GetSecurityRequirements(), f+".securityRequirements", schemes)
}

// schemes checks the security schemes, in name order so the first error is stable.
func (v *validator) schemes(schemes map[string]*a2apb.SecurityScheme) {
	v.maxItems(len(schemes), "securitySchemes", MaxSecuritySchemes)
	names := make([]string, 0, len(schemes))
	for n := range schemes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := "securitySchemes." + n
		if n == "" || utf8.RuneCountInString(n) > MaxShortLen {
			v.fail("INVALID_FIELD", f, "security scheme names must be 1 to %d characters", MaxShortLen)
		}
		switch s := schemes[n].GetScheme().(type) {
		case *a2apb.SecurityScheme_ApiKeySecurityScheme:
			k, kf := s.ApiKeySecurityScheme, f+".apiKeySecurityScheme"
			if loc := k.GetLocation(); v.required(loc, kf+".location") && loc != "query" && loc != "header" && loc != "cookie" {
				v.fail("INVALID_FIELD", kf+".location", "%s must be query, header or cookie", kf+".location")
			}
			v.text(k.GetName(), kf+".name", MaxShortLen)
			v.maxLen(k.GetDescription(), kf+".description", MaxDescriptionLen)
		case *a2apb.SecurityScheme_HttpAuthSecurityScheme:
			h, hf := s.HttpAuthSecurityScheme, f+".httpAuthSecurityScheme"
			v.text(h.GetScheme(), hf+".scheme", MaxShortLen)
			v.maxLen(h.GetBearerFormat(), hf+".bearerFormat", MaxShortLen)
			v.maxLen(h.GetDescription(), hf+".description", MaxDescriptionLen)
		case *a2apb.SecurityScheme_Oauth2SecurityScheme:
			o, of := s.Oauth2SecurityScheme, f+".oauth2SecurityScheme"
			v.maxLen(o.GetDescription(), of+".description", MaxDescriptionLen)
			if o.GetOauth2MetadataUrl() != "" {
				v.url(o.GetOauth2MetadataUrl(), of+".oauth2MetadataUrl")
			}
			v.flows(o.GetFlows(), of+".flows")
		case *a2apb.SecurityScheme_OpenIdConnectSecurityScheme:
			o, of := s.OpenIdConnectSecurityScheme, f+".openIdConnectSecurityScheme"
			v.requiredURL(o.GetOpenIdConnectUrl(), of+".openIdConnectUrl")
			v.maxLen(o.GetDescription(), of+".description", MaxDescriptionLen)
		case *a2apb.SecurityScheme_MtlsSecurityScheme:
			v.maxLen(s.MtlsSecurityScheme.GetDescription(), f+".mtlsSecurityScheme.description", MaxDescriptionLen)
		default:
			v.fail("MISSING_FIELD", f, "%s names no scheme (apiKeySecurityScheme, httpAuthSecurityScheme, oauth2SecurityScheme, openIdConnectSecurityScheme or mtlsSecurityScheme)", f)
		}
	}
}

// flows checks the one OAuth flow of an OAuth2 scheme.
func (v *validator) flows(fl *a2apb.OAuthFlows, f string) {
	optURL := func(s, field string) {
		if s != "" {
			v.url(s, field)
		}
	}
	switch x := fl.GetFlow().(type) {
	case *a2apb.OAuthFlows_AuthorizationCode:
		a, af := x.AuthorizationCode, f+".authorizationCode"
		v.requiredURL(a.GetAuthorizationUrl(), af+".authorizationUrl")
		v.requiredURL(a.GetTokenUrl(), af+".tokenUrl")
		optURL(a.GetRefreshUrl(), af+".refreshUrl")
		v.scopes(a.GetScopes(), af+".scopes")
	case *a2apb.OAuthFlows_ClientCredentials:
		c, cf := x.ClientCredentials, f+".clientCredentials"
		v.requiredURL(c.GetTokenUrl(), cf+".tokenUrl")
		optURL(c.GetRefreshUrl(), cf+".refreshUrl")
		v.scopes(c.GetScopes(), cf+".scopes")
	case *a2apb.OAuthFlows_DeviceCode:
		d, df := x.DeviceCode, f+".deviceCode"
		v.requiredURL(d.GetDeviceAuthorizationUrl(), df+".deviceAuthorizationUrl")
		v.requiredURL(d.GetTokenUrl(), df+".tokenUrl")
		optURL(d.GetRefreshUrl(), df+".refreshUrl")
		v.scopes(d.GetScopes(), df+".scopes")
	case *a2apb.OAuthFlows_Implicit:
		i, inf := x.Implicit, f+".implicit"
		optURL(i.GetAuthorizationUrl(), inf+".authorizationUrl")
		optURL(i.GetRefreshUrl(), inf+".refreshUrl")
		v.scopes(i.GetScopes(), inf+".scopes")
	case *a2apb.OAuthFlows_Password:
		p, pf := x.Password, f+".password"
		optURL(p.GetTokenUrl(), pf+".tokenUrl")
		optURL(p.GetRefreshUrl(), pf+".refreshUrl")
		v.scopes(p.GetScopes(), pf+".scopes")
	default:
		v.fail("MISSING_FIELD", f, "%s needs one flow", f)
	}
}

func (v *validator) scopes(scopes map[string]string, f string) {
	v.maxItems(len(scopes), f, MaxScopes)
	names := make([]string, 0, len(scopes))
	for k := range scopes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v.maxLen(k, f, MaxShortLen)
		v.maxLen(scopes[k], f+"."+k, MaxDescriptionLen)
	}
}

// requirements checks that security requirements name only declared schemes.
func (v *validator) requirements(reqs []*a2apb.SecurityRequirement, f string, schemes map[string]*a2apb.SecurityScheme) {
	v.maxItems(len(reqs), f, MaxRequirements)
	for i, r := range reqs {
		rf := fmt.Sprintf("%s[%d].schemes", f, i)
		v.maxItems(len(r.GetSchemes()), rf, MaxRequirements)
		names := make([]string, 0, len(r.GetSchemes()))
		for n := range r.GetSchemes() {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if _, ok := schemes[n]; !ok {
				v.fail("UNKNOWN_SECURITY_SCHEME", rf+"."+n, "%s names security scheme %q, which securitySchemes does not declare", rf, n)
			}
			scopes := r.GetSchemes()[n].GetList()
			v.maxItems(len(scopes), rf+"."+n, MaxScopes)
			for j, s := range scopes {
				v.maxLen(s, fmt.Sprintf("%s.%s.list[%d]", rf, n, j), MaxShortLen)
			}
		}
	}
}
