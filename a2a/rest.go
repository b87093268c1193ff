package a2a

import (
	"cmp"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/tracing"
)

// NewRESTHandler serves h over the HTTP+JSON binding, the routes of the proto's google.api.http
// options, each also under an optional leading /{tenant} segment:
//
//	POST   /message:send                                 SendMessage
//	POST   /message:stream                               SendStreamingMessage (SSE)
//	GET    /tasks/{id}                                   GetTask (?historyLength=)
//	GET    /tasks                                        ListTasks (query parameters)
//	POST   /tasks/{id}:cancel                            CancelTask
//	GET    /tasks/{id}:subscribe                         SubscribeToTask (SSE; POST accepted too)
//	POST   /tasks/{taskId}/pushNotificationConfigs       CreateTaskPushNotificationConfig
//	GET    /tasks/{taskId}/pushNotificationConfigs       ListTaskPushNotificationConfigs
//	GET    /tasks/{taskId}/pushNotificationConfigs/{id}  GetTaskPushNotificationConfig
//	DELETE /tasks/{taskId}/pushNotificationConfigs/{id}  DeleteTaskPushNotificationConfig
//	GET    /extendedAgentCard                            GetExtendedAgentCard
//
// Bodies and results are ProtoJSON; a stream is SSE with one StreamResponse per event. An error
// is the google.rpc.Status JSON {"error": {code, status, message, details}} with the HTTP status
// of HTTPStatus and, for an A2A error, a google.rpc.ErrorInfo naming it; an error in the middle
// of a stream is sent as an event of that shape. A2A-Version 1.0 (or no header) is served.
//
// The v0.3 HTTP+JSON routes are served beside them (serve03): the same routes under /v1/ (and
// GET /v1/card) for a request without A2A-Version or with 0.3, the v0.3 proto's messages as
// ProtoJSON. With A2A-Version 1.0, /v1/ is an ordinary tenant; 0.3 elsewhere, and any other
// version, gets VersionNotSupported.
func NewRESTHandler(h Handler, opts ...BindingOption) http.Handler {
	return tracing.NamedHandler(&restHandler{h: h, cfg: newBindingConfig(opts)}, "a2a.rest")
}

type restHandler struct {
	h   Handler
	cfg bindingConfig
}

// restRoute is a matched route: the method's v1.0 name and the path parameters.
type restRoute struct {
	name              string
	tenant, id, child string
	only03            bool // GET /v1/card, a route of v0.3 alone
}

// ServeHTTP implements http.Handler.
func (s *restHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := withHTTPExtensions(r)
	v := strings.TrimSpace(r.Header.Get(VersionHeader))
	version := ProtocolVersion
	if v != "" {
		got, err := negotiateVersion(v)
		if err != nil {
			s.writeError(ctx, w, err)
			return
		}
		version = got
	}
	route, allowed := matchREST(r.Method, r.URL)
	if isRoute03(r.URL) && (v == "" || version == ProtocolVersion03) {
		if route != nil || allowed != "" {
			s.serve03(ctx, w, r, route, allowed)
			return
		}
	} else if version != ProtocolVersion || route != nil && route.only03 {
		s.writeError(ctx, w, &Error{Code: CodeVersionNotSupported,
			Message: "the HTTP+JSON binding serves A2A-Version 1.0, and v0.3 under /v1/ only", Data: map[string]any{"requestedVersion": v}})
		return
	}
	if route == nil {
		if allowed != "" {
			w.Header().Set("Allow", allowed)
			s.writeErrorStatus(ctx, w, http.StatusMethodNotAllowed, &Error{Code: CodeMethodNotFound, Message: "method not allowed"})
			return
		}
		s.writeError(ctx, w, &Error{Code: CodeMethodNotFound, Message: "no such route: " + r.URL.Path})
		return
	}
	m := rpcMethods[route.name]
	req, err := s.buildRequest(w, r, route, m)
	s.respond(ctx, w, m, req, err, marshalStream, nil)
}

// respond answers a built request (or the error of building it): validates it, calls the
// Handler, and writes the result, or the stream with each event encoded by encode. conv, when
// not nil, translates a unary result for another proto version.
func (s *restHandler) respond(ctx context.Context, w http.ResponseWriter, m rpcMethod, req proto.Message, err error,
	encode func(*a2apb.StreamResponse) ([]byte, error), conv func(proto.Message) (proto.Message, error)) {
	if err == nil {
		err = validateRequest(req)
	}
	if err != nil {
		if e, ok := err.(*Error); ok && e.Code == CodeInvalidRequest && strings.HasPrefix(e.Message, "request body exceeds") {
			s.writeErrorStatus(ctx, w, http.StatusRequestEntityTooLarge, err)
			return
		}
		s.writeError(ctx, w, err)
		return
	}
	if m.streaming() {
		s.stream(ctx, w, safeStream(ctx, s.cfg.logger, s.h, m, req), encode)
		return
	}
	res, err := safeCall(ctx, s.cfg.logger, s.h, m, req)
	if err == nil && conv != nil {
		res, err = conv(res)
	}
	var data []byte
	if err == nil {
		data, err = marshalProto(res)
	}
	if err != nil {
		s.writeError(ctx, w, err)
		return
	}
	echoExtensions(ctx, w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// matchREST finds the route of a request. When the path matches but the method does not, it
// returns nil and the allowed methods.
func matchREST(method string, u *url.URL) (*restRoute, string) {
	segs, ok := splitPath(u)
	if !ok {
		return nil, ""
	}
	if rt, allowed := matchSegments(method, segs); rt != nil || allowed != "" {
		return rt, allowed
	}
	if len(segs) == 2 && segs[0] == "v1" && segs[1] == "card" {
		if method != http.MethodGet {
			return nil, http.MethodGet
		}
		return &restRoute{name: methodGetExtendedAgentCard, tenant: "v1", only03: true}, ""
	}
	if len(segs) > 1 && segs[0] != "" {
		rt, allowed := matchSegments(method, segs[1:])
		if rt != nil {
			rt.tenant = segs[0]
		}
		return rt, allowed
	}
	return nil, ""
}

// splitPath is the unescaped segments of u's path (without the leading slash).
func splitPath(u *url.URL) ([]string, bool) {
	p := strings.TrimPrefix(u.EscapedPath(), "/")
	p = strings.TrimSuffix(p, "/")
	raw := strings.Split(p, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		v, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs[i] = v
	}
	return segs, true
}

func matchSegments(method string, segs []string) (*restRoute, string) {
	is := func(want string, name string) (*restRoute, string) {
		if method == want {
			return &restRoute{name: name}, ""
		}
		return nil, want
	}
	switch {
	case len(segs) == 1 && segs[0] == "message:send":
		return is(http.MethodPost, methodSendMessage)
	case len(segs) == 1 && segs[0] == "message:stream":
		return is(http.MethodPost, methodSendStreamingMessage)
	case len(segs) == 1 && segs[0] == "extendedAgentCard":
		return is(http.MethodGet, methodGetExtendedAgentCard)
	case len(segs) == 1 && segs[0] == "tasks":
		return is(http.MethodGet, methodListTasks)
	case len(segs) == 2 && segs[0] == "tasks" && segs[1] != "":
		id := segs[1]
		if base, ok := strings.CutSuffix(id, ":cancel"); ok && base != "" {
			rt, allowed := is(http.MethodPost, methodCancelTask)
			if rt != nil {
				rt.id = base
			}
			return rt, allowed
		}
		if base, ok := strings.CutSuffix(id, ":subscribe"); ok && base != "" {
			if method == http.MethodGet || method == http.MethodPost {
				return &restRoute{name: methodSubscribeToTask, id: base}, ""
			}
			return nil, "GET, POST"
		}
		rt, allowed := is(http.MethodGet, methodGetTask)
		if rt != nil {
			rt.id = id
		}
		return rt, allowed
	case len(segs) == 3 && segs[0] == "tasks" && segs[1] != "" && segs[2] == "pushNotificationConfigs":
		switch method {
		case http.MethodPost:
			return &restRoute{name: methodCreatePushConfig, id: segs[1]}, ""
		case http.MethodGet:
			return &restRoute{name: methodListPushConfigs, id: segs[1]}, ""
		}
		return nil, "GET, POST"
	case len(segs) == 4 && segs[0] == "tasks" && segs[1] != "" && segs[2] == "pushNotificationConfigs" && segs[3] != "":
		switch method {
		case http.MethodGet:
			return &restRoute{name: methodGetPushConfig, id: segs[1], child: segs[3]}, ""
		case http.MethodDelete:
			return &restRoute{name: methodDeletePushConfig, id: segs[1], child: segs[3]}, ""
		}
		return nil, "GET, DELETE"
	}
	return nil, ""
}

// buildRequest makes the request message of a route from its body, path and query.
func (s *restHandler) buildRequest(w http.ResponseWriter, r *http.Request, rt *restRoute, m rpcMethod) (proto.Message, error) {
	req := m.newReq()
	if r.Method == http.MethodPost {
		body, err := readBody(w, r, s.cfg.maxBody)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(string(body)) != "" {
			if err := unmarshalProto(body, req); err != nil {
				return nil, &Error{Code: CodeInvalidParams, Message: "invalid request body: " + err.Error()}
			}
		} else if rt.name == methodSendMessage || rt.name == methodSendStreamingMessage || rt.name == methodCreatePushConfig {
			return nil, &Error{Code: CodeInvalidParams, Message: "request body is required"}
		}
	}
	q := r.URL.Query()
	qs := func(names ...string) string {
		for _, n := range names {
			if v := q.Get(n); v != "" {
				return v
			}
		}
		return ""
	}
	qi := func(dst **int32, names ...string) error {
		v := qs(names...)
		if v == "" {
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return &Error{Code: CodeInvalidParams, Message: names[0] + " must be an integer"}
		}
		n32 := int32(n)
		*dst = &n32
		return nil
	}
	switch x := req.(type) {
	case *a2apb.SendMessageRequest:
		x.Tenant = cmp.Or(rt.tenant, x.Tenant)
	case *a2apb.GetTaskRequest:
		x.Tenant, x.Id = rt.tenant, rt.id
		if err := qi(&x.HistoryLength, "historyLength", "history_length"); err != nil {
			return nil, err
		}
	case *a2apb.CancelTaskRequest:
		x.Tenant, x.Id = cmp.Or(rt.tenant, x.Tenant), rt.id
	case *a2apb.SubscribeToTaskRequest:
		x.Tenant, x.Id = cmp.Or(rt.tenant, x.Tenant), rt.id
	case *a2apb.ListTasksRequest:
		x.Tenant = rt.tenant
		x.ContextId = qs("contextId", "context_id")
		x.PageToken = qs("pageToken", "page_token")
		if v := qs("status"); v != "" {
			st, ok := a2apb.TaskState_value[v]
			if !ok {
				return nil, &Error{Code: CodeInvalidParams, Message: "unknown status " + strconv.Quote(v)}
			}
			x.Status = a2apb.TaskState(st)
		}
		if err := qi(&x.PageSize, "pageSize", "page_size"); err != nil {
			return nil, err
		}
		if err := qi(&x.HistoryLength, "historyLength", "history_length"); err != nil {
			return nil, err
		}
		if v := qs("statusTimestampAfter", "status_timestamp_after"); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return nil, &Error{Code: CodeInvalidParams, Message: "statusTimestampAfter must be an RFC 3339 time"}
			}
			x.StatusTimestampAfter = timestamppb.New(t)
		}
		if v := qs("includeArtifacts", "include_artifacts"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, &Error{Code: CodeInvalidParams, Message: "includeArtifacts must be a boolean"}
			}
			x.IncludeArtifacts = &b
		}
	case *a2apb.TaskPushNotificationConfig:
		x.Tenant, x.TaskId = cmp.Or(rt.tenant, x.Tenant), rt.id
	case *a2apb.GetTaskPushNotificationConfigRequest:
		x.Tenant, x.TaskId, x.Id = rt.tenant, rt.id, rt.child
	case *a2apb.DeleteTaskPushNotificationConfigRequest:
		x.Tenant, x.TaskId, x.Id = rt.tenant, rt.id, rt.child
	case *a2apb.ListTaskPushNotificationConfigsRequest:
		x.Tenant, x.TaskId = rt.tenant, rt.id
		x.PageToken = qs("pageToken", "page_token")
		var ps *int32
		if err := qi(&ps, "pageSize", "page_size"); err != nil {
			return nil, err
		}
		if ps != nil {
			x.PageSize = *ps
		}
	case *a2apb.GetExtendedAgentCardRequest:
		x.Tenant = rt.tenant
	}
	return req, nil
}

// marshalStream is the ProtoJSON of a v1.0 stream event.
func marshalStream(ev *a2apb.StreamResponse) ([]byte, error) { return marshalProto(ev) }

// stream answers with an SSE stream of StreamResponses, each encoded by encode; an error ends it
// as an event holding the error envelope. An error before the first event is a plain error
// response (its HTTP status and error body), not a stream.
func (s *restHandler) stream(ctx context.Context, w http.ResponseWriter, seq iter.Seq2[*a2apb.StreamResponse, error], encode func(*a2apb.StreamResponse) ([]byte, error)) {
	var sse *sseWriter
	for ev, err := range seq {
		if sse == nil && err != nil {
			s.writeError(ctx, w, err)
			return
		}
		if err == nil && ev == nil {
			continue
		}
		var data []byte
		if err == nil {
			var merr error
			if data, merr = encode(ev); merr != nil {
				err = merr
			}
		}
		if err != nil {
			_, data = s.errorBody(ctx, err)
		}
		compact, cerr := compactJSON(data)
		if cerr != nil {
			return
		}
		if sse == nil {
			echoExtensions(ctx, w.Header())
			sse = startSSE(w)
		}
		if werr := sse.event(compact); werr != nil || err != nil {
			return
		}
	}
	if sse == nil { // an empty stream
		startSSE(w)
	}
}

func compactJSON(data []byte) ([]byte, error) {
	var v json.RawMessage
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// restStatus is the google.rpc.Status JSON of an HTTP+JSON error.
type restStatus struct {
	Code    int              `json:"code"`
	Status  string           `json:"status"`
	Message string           `json:"message"`
	Details []map[string]any `json:"details,omitempty"`
}

// errorBody is the HTTP status and JSON body of err.
func (s *restHandler) errorBody(ctx context.Context, err error) (int, []byte) {
	e := publicError(ctx, s.cfg.logger, err)
	status := HTTPStatus(e)
	return status, restErrorJSON(status, e)
}

func restErrorJSON(status int, e *Error) []byte {
	st := restStatus{Code: status, Status: grpcStatus(e.Code), Message: e.Message}
	if info := errorInfo(e); info != nil {
		st.Details = []map[string]any{info}
	}
	data, err := json.Marshal(map[string]any{"error": st})
	if err != nil {
		data = []byte(`{"error":{"code":500,"status":"INTERNAL","message":"internal error"}}`)
	}
	return data
}

func (s *restHandler) writeError(ctx context.Context, w http.ResponseWriter, err error) {
	status, body := s.errorBody(ctx, err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeErrorStatus writes err with an HTTP status other than HTTPStatus's (405, 413).
func (s *restHandler) writeErrorStatus(ctx context.Context, w http.ResponseWriter, status int, err error) {
	e := publicError(ctx, s.cfg.logger, err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(restErrorJSON(status, e))
}
