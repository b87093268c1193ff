package a2a

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// ExtensionsHeader lists the extension URIs a client asks for (comma-separated), and in an
// answer those the agent activated. The gRPC binding carries it as the metadata key
// "a2a-extensions"; v0.3 clients send "X-A2A-Extensions", read as well.
const ExtensionsHeader = "A2A-Extensions"

// extensionsHeader03 is the v0.3 name of ExtensionsHeader.
const extensionsHeader03 = "X-A2A-Extensions"

type extensionsKey struct{}

// extensionState is the extensions of one request: asked for by the client, activated by the
// agent.
type extensionState struct {
	requested []string
	mu        sync.Mutex
	activated []string
}

// withRequestedExtensions returns ctx carrying the extensions named by the header values
// (each a comma-separated list), ready to record the activated ones.
func withRequestedExtensions(ctx context.Context, values []string) context.Context {
	return context.WithValue(ctx, extensionsKey{}, &extensionState{requested: addExtensions(nil, values)})
}

// addExtensions appends to list the URIs of header values (each a comma-separated list) it
// does not hold yet.
func addExtensions(list []string, values []string) []string {
	for _, v := range values {
		for _, uri := range strings.Split(v, ",") {
			if uri = strings.TrimSpace(uri); uri != "" && !slices.Contains(list, uri) {
				list = append(list, uri)
			}
		}
	}
	return list
}

// EchoedExtensions collects, on the client side, the extensions an agent says it activated:
// the A2A-Extensions header of its answers (X-A2A-Extensions from v0.3 agents; the gRPC
// response header "a2a-extensions").
type EchoedExtensions struct {
	mu   sync.Mutex
	uris []string
}

// URIs returns the extensions echoed so far, in order, without duplicates.
func (e *EchoedExtensions) URIs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.uris)
}

// Has reports whether the agent echoed extension uri.
func (e *EchoedExtensions) Has(uri string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(e.uris, uri)
}

type echoedKey struct{}

// CaptureExtensions returns a context for Client calls and the EchoedExtensions that collects
// what the agent answers to them activated:
//
//	ctx, echoed := a2a.CaptureExtensions(ctx)
//	res, err := client.SendMessage(ctx, req) // a2a.WithExtensions(uri) asked for it
//	if echoed.Has(uri) { … the agent applied it … }
//
// A stream's echo is known once its first event has arrived.
func CaptureExtensions(ctx context.Context) (context.Context, *EchoedExtensions) {
	e := &EchoedExtensions{}
	return context.WithValue(ctx, echoedKey{}, e), e
}

// recordEchoedExtensions adds the header values of an answer to the EchoedExtensions of ctx.
func recordEchoedExtensions(ctx context.Context, values []string) {
	e, ok := ctx.Value(echoedKey{}).(*EchoedExtensions)
	if !ok || len(values) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.uris = addExtensions(e.uris, values)
}

// withHTTPExtensions is withRequestedExtensions for the A2A-Extensions headers of r.
func withHTTPExtensions(r *http.Request) context.Context {
	return withRequestedExtensions(r.Context(), append(r.Header.Values(ExtensionsHeader), r.Header.Values(extensionsHeader03)...))
}

// WithRequestedExtensions returns ctx as a binding would make it for a request whose
// A2A-Extensions header names uris: for calling a Server directly (tests, in-process agents).
func WithRequestedExtensions(ctx context.Context, uris ...string) context.Context {
	return withRequestedExtensions(ctx, []string{strings.Join(uris, ",")})
}

// RequestedExtensions returns the extension URIs the client asked for (A2A-Extensions), in
// its order, without duplicates; nil when it asked for none.
func RequestedExtensions(ctx context.Context) []string {
	if st, ok := ctx.Value(extensionsKey{}).(*extensionState); ok {
		return slices.Clone(st.requested)
	}
	return nil
}

// ActivateExtension records that the agent applied extension uri to this request: the binding
// echoes it in the answer's A2A-Extensions. The Server activates by itself every requested
// extension its card declares; an Executor calls this for the others it honours. It does
// nothing when ctx is not a request's.
func ActivateExtension(ctx context.Context, uri string) {
	st, ok := ctx.Value(extensionsKey{}).(*extensionState)
	if !ok || uri == "" {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !slices.Contains(st.activated, uri) {
		st.activated = append(st.activated, uri)
	}
}

// ActivatedExtensions returns the extensions activated so far for the request of ctx.
func ActivatedExtensions(ctx context.Context) []string {
	st, ok := ctx.Value(extensionsKey{}).(*extensionState)
	if !ok {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.activated)
}

// echoExtensions sets the A2A-Extensions header of an HTTP answer to the activated extensions.
func echoExtensions(ctx context.Context, h http.Header) {
	if exts := ActivatedExtensions(ctx); len(exts) > 0 {
		h.Set(ExtensionsHeader, strings.Join(exts, ", "))
	}
}

// checkExtensions refuses a request that does not ask for an extension the card marks
// required (ExtensionSupportRequired, naming it), and activates the requested extensions the
// card declares.
func (s *Server) checkExtensions(ctx context.Context) error {
	requested := RequestedExtensions(ctx)
	for _, ext := range s.cfg.Card.GetCapabilities().GetExtensions() {
		uri := ext.GetUri()
		switch {
		case slices.Contains(requested, uri):
			ActivateExtension(ctx, uri)
		case ext.GetRequired():
			return &Error{Code: CodeExtensionSupportRequired,
				Message: "the agent requires extension " + uri + ": list it in the " + ExtensionsHeader + " header",
				Data:    map[string]any{"extension": uri}}
		}
	}
	return nil
}
