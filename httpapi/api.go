package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// Security scheme names used in the OpenAPI document.
const (
	SchemeBearer = "bearer"
	SchemeAPIKey = "apiKey"
	// SchemeClientBasic is OAuth2 client authentication with HTTP Basic (RFC 6749 §2.3.1), on
	// the operations that set MetaClientBasicAuth.
	SchemeClientBasic = "clientBasic"
)

// Operation metadata keys.
const (
	// MetaRateClass names the rate-limit class of an operation ("" = the default class).
	MetaRateClass = "rate_class"
	// MetaClientBasicAuth (true) marks an operation that reads "Authorization: Basic" client
	// credentials itself (ClientBasicAuth); Authenticate lets that header through to it.
	MetaClientBasicAuth = "client_basic_auth"
)

// NewAPI returns a huma API on mux that serves the OpenAPI 3.1 document at /openapi.json (and
// /openapi.yaml), speaks JSON only, rejects unknown body fields (schemas are closed), and writes
// every error as an Envelope. It serves no interactive docs page, which would need a CDN.
func NewAPI(mux *http.ServeMux, title, version string) huma.API {
	cfg := huma.DefaultConfig(title, version)
	cfg.CreateHooks = nil // no $schema links in bodies
	cfg.DocsPath = ""
	cfg.SchemasPath = ""
	cfg.OpenAPIPath = "/openapi"
	cfg.Formats = map[string]huma.Format{"application/json": huma.DefaultJSONFormat, "json": huma.DefaultJSONFormat}
	cfg.Info.Description = "Sovereign Stack: registry and token economy APIs. Errors are always " +
		`{"error":{"code","message","details","request_id"}}.`
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		SchemeBearer: {Type: "http", Scheme: "bearer", BearerFormat: "JWT access token, or an avreg_ API key",
			Description: "Authorization: Bearer <access token | avreg_ API key>"},
		SchemeAPIKey: {Type: "apiKey", In: "header", Name: "X-Api-Key", Description: "An avreg_ API key"},
		SchemeClientBasic: {Type: "http", Scheme: "basic",
			Description: "OAuth2 client authentication (RFC 6749 §2.3.1): client_id and client_secret, each form-urlencoded, as user and password"},
	}
	api := humago.New(mux, cfg)
	// An operation's own MaxBodyBytes replaces the default limit Handler applies.
	api.UseMiddleware(func(hctx huma.Context, next func(huma.Context)) {
		if op := hctx.Operation(); op != nil {
			setBodyLimit(hctx.Context(), op.MaxBodyBytes)
		}
		next(hctx)
	})
	return api
}

// Authenticated is the security requirement of operations that need a caller.
var Authenticated = []map[string][]string{{SchemeBearer: {}}, {SchemeAPIKey: {}}}

// Operation is an operation of the API tagged tag, answering status on success, that needs an
// authenticated caller unless public.
func Operation(id, method, path, summary, tag string, status int, public bool) huma.Operation {
	o := huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{tag}, DefaultStatus: status, Security: Authenticated}
	if public {
		o.Security = nil
	}
	return o
}

// Register adds an operation whose handler returns domain errors; they become envelopes here.
// Operations default to a 1 MiB body limit.
func Register[I, O any](api huma.API, op huma.Operation, handler func(context.Context, *I) (*O, error)) {
	if op.MaxBodyBytes == 0 {
		op.MaxBodyBytes = MaxBodyBytes
	}
	huma.Register(api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := handler(ctx, in)
		if err != nil {
			return nil, FromError(ctx, err)
		}
		return out, nil
	})
}

// writeHuma writes err as an envelope from inside a huma middleware.
func writeHuma(hctx huma.Context, err error) {
	env := FromError(hctx.Context(), err)
	for k, vs := range env.headers {
		for _, v := range vs {
			hctx.AppendHeader(k, v)
		}
	}
	hctx.SetHeader("Content-Type", "application/json")
	hctx.SetStatus(env.status)
	_, _ = hctx.BodyWriter().Write(append(mustJSON(env), '\n'))
}

func unwrapRequest(hctx huma.Context) (r *http.Request, ok bool) {
	defer func() {
		if recover() != nil {
			r, ok = nil, false
		}
	}()
	r, _ = humago.Unwrap(hctx)
	return r, r != nil
}
