package a2a

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"log/slog"
	"net/http"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/tracing"
)

// The v1.0 JSON-RPC method names: the RPC names of A2AService.
const (
	methodSendMessage          = "SendMessage"
	methodSendStreamingMessage = "SendStreamingMessage"
	methodGetTask              = "GetTask"
	methodListTasks            = "ListTasks"
	methodCancelTask           = "CancelTask"
	methodSubscribeToTask      = "SubscribeToTask"
	methodCreatePushConfig     = "CreateTaskPushNotificationConfig"
	methodGetPushConfig        = "GetTaskPushNotificationConfig"
	methodListPushConfigs      = "ListTaskPushNotificationConfigs"
	methodDeletePushConfig     = "DeleteTaskPushNotificationConfig"
	methodGetExtendedAgentCard = "GetExtendedAgentCard"
)

// rpcMethod is one operation of Handler as the bindings see it: how to make its request
// message, and how to call it (unary) or open it (stream).
type rpcMethod struct {
	newReq func() proto.Message
	call   func(ctx context.Context, h Handler, req proto.Message) (proto.Message, error)
	open   func(ctx context.Context, h Handler, req proto.Message) iter.Seq2[*a2apb.StreamResponse, error]
}

func (m rpcMethod) streaming() bool { return m.open != nil }

// rpcMethods are the operations by v1.0 method name.
var rpcMethods = map[string]rpcMethod{
	methodSendMessage: {
		newReq: func() proto.Message { return &a2apb.SendMessageRequest{} },
		call: func(ctx context.Context, h Handler, r proto.Message) (proto.Message, error) {
			return h.SendMessage(ctx, r.(*a2apb.SendMessageRequest))
		},
	},
	methodSendStreamingMessage: {
		newReq: func() proto.Message { return &a2apb.SendMessageRequest{} },
		open: func(ctx context.Context, h Handler, r proto.Message) iter.Seq2[*a2apb.StreamResponse, error] {
			return h.SendStreamingMessage(ctx, r.(*a2apb.SendMessageRequest))
		},
	},
	methodGetTask: {
		newReq: func() proto.Message { return &a2apb.GetTaskRequest{} },
		call: func(ctx context.Context, h Handler, r proto.Message) (proto.Message, error) {
			return h.GetTask(ctx, r.(*a2apb.GetTaskRequest))
		},
	},
	methodListTasks: {
		newReq: func() proto.Message { return &a2apb.ListTasksRequest{} },
		call: func(ctx context.Context, h Handler, r proto.Message) (proto.Message, error) {
			return h.ListTasks(ctx, r.(*a2apb.ListTasksRequest))
		},
	},
	methodCancelTask: {
		newReq: func() proto.Message { return &a2apb.CancelTaskRequest{} },
		call: func(ctx context.Context, h Handler, r proto.Message) (proto.Message, error) {
			return h.CancelTask(ctx, r.(*a2apb.CancelTaskRequest))
		},
	},
	methodSubscribeToTask: {
		newReq: func() proto.Message { return &a2apb.SubscribeToTaskRequest{} },
		open: func(ctx context.Context, h Handler, r proto.Message) iter.Seq2[*a2apb.StreamResponse, error] {
			return h.SubscribeToTask(ctx, r.(*a2apb.SubscribeToTaskRequest))
		},
	},
	methodCreatePushConfig: {
		newReq: func() proto.Message { return &a2apb.TaskPushNotificationConfig{} },
		call: func(ctx context.Context, h Handler, r proto.Message) (proto.Message, error) {
			return h.CreateTaskPushNotificationConfig(ctx, r.(*a2apb.TaskPushNotificationConfig))
		},
	},
	methodGetPushConfig: {
		newReq: func() proto.Message { return &a2apb.GetTaskPushNotificationConfigRequest{} },
		call: func(ctx context.Context, h Handler, r proto.Message) (proto.Message, error) {
			return h.GetTaskPushNotificationConfig(ctx, r.(*a2apb.GetTaskPushNotificationConfigRequest))
		},
	},
	methodListPushConfigs: {
		newReq: func() proto.Message { return &a2apb.ListTaskPushNotificationConfigsRequest{} },
		call: func(ctx context.Context, h Handler, r proto.Message) (proto.Message, error) {
			return h.ListTaskPushNotificationConfigs(ctx, r.(*a2apb.ListTaskPushNotificationConfigsRequest))
		},
	},
	methodDeletePushConfig: {
		newReq: func() proto.Message { return &a2apb.DeleteTaskPushNotificationConfigRequest{} },
		call: func(ctx context.Context, h Handler, r proto.Message) (proto.Message, error) {
			return &emptypb.Empty{}, h.DeleteTaskPushNotificationConfig(ctx, r.(*a2apb.DeleteTaskPushNotificationConfigRequest))
		},
	},
	methodGetExtendedAgentCard: {
		newReq: func() proto.Message { return &a2apb.GetExtendedAgentCardRequest{} },
		call: func(ctx context.Context, h Handler, r proto.Message) (proto.Message, error) {
			return h.GetExtendedAgentCard(ctx, r.(*a2apb.GetExtendedAgentCardRequest))
		},
	},
}

// validateRequest checks the fields the proto marks REQUIRED that a handler cannot do without.
func validateRequest(req proto.Message) error {
	missing := func(field string) error {
		return &Error{Code: CodeInvalidParams, Message: field + " is required"}
	}
	switch r := req.(type) {
	case *a2apb.SendMessageRequest:
		if r.GetMessage() == nil {
			return missing("message")
		}
	case *a2apb.GetTaskRequest:
		if r.GetId() == "" {
			return missing("id")
		}
		if r.HistoryLength != nil && *r.HistoryLength < 0 {
			return &Error{Code: CodeInvalidParams, Message: "historyLength must not be negative"}
		}
	case *a2apb.CancelTaskRequest:
		if r.GetId() == "" {
			return missing("id")
		}
	case *a2apb.SubscribeToTaskRequest:
		if r.GetId() == "" {
			return missing("id")
		}
	case *a2apb.TaskPushNotificationConfig:
		if r.GetTaskId() == "" {
			return missing("taskId")
		}
		if r.GetUrl() == "" {
			return missing("url")
		}
	case *a2apb.GetTaskPushNotificationConfigRequest:
		// id may be empty: v0.3 made it optional (the task's first config is meant).
		if r.GetTaskId() == "" {
			return missing("taskId")
		}
	case *a2apb.DeleteTaskPushNotificationConfigRequest:
		if r.GetTaskId() == "" {
			return missing("taskId")
		}
		if r.GetId() == "" {
			return missing("id")
		}
	case *a2apb.ListTaskPushNotificationConfigsRequest:
		if r.GetTaskId() == "" {
			return missing("taskId")
		}
	}
	return nil
}

// safeCall calls m, turning a panic into an internal error.
func safeCall(ctx context.Context, log *slog.Logger, h Handler, m rpcMethod, req proto.Message) (res proto.Message, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "a2a: handler panic", "panic", p)
			res, err = nil, &Error{Code: CodeInternalError, Message: "internal error"}
		}
	}()
	return m.call(ctx, h, req)
}

// safeStream opens m's stream, ending it with an internal error if the handler panics.
func safeStream(ctx context.Context, log *slog.Logger, h Handler, m rpcMethod, req proto.Message) iter.Seq2[*a2apb.StreamResponse, error] {
	return func(yield func(*a2apb.StreamResponse, error) bool) {
		stopped := false
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "a2a: handler panic", "panic", p)
				if !stopped {
					yield(nil, &Error{Code: CodeInternalError, Message: "internal error"})
				}
			}
		}()
		seq := m.open(ctx, h, req)
		if seq == nil {
			return
		}
		for ev, err := range seq {
			if !yield(ev, err) {
				stopped = true
				return
			}
			if err != nil {
				stopped = true
				return
			}
		}
	}
}

// NewJSONRPCHandler serves h over the JSON-RPC 2.0 binding: one request object per HTTP POST,
// parameters and results in ProtoJSON, SendStreamingMessage and SubscribeToTask answered with a
// Server-Sent Events stream whose every event is a JSON-RPC response. Requests with A2A-Version
// 1.0 use the v1.0 method names; requests without the header (or with 0.3) are served by the v0.3
// compatibility layer ("message/send", … and the v0.3 JSON shapes); other versions get
// VersionNotSupported (-32009). Batches, notifications (requests without an id), a wrong
// "jsonrpc", unknown methods, parameters of the wrong shape, bodies over the limit and handler
// panics are all answered with the JSON-RPC error the specification names, never a crash.
func NewJSONRPCHandler(h Handler, opts ...BindingOption) http.Handler {
	return tracing.NamedHandler(&jsonrpcHandler{h: h, cfg: newBindingConfig(opts)}, "a2a.jsonrpc")
}

type jsonrpcHandler struct {
	h   Handler
	cfg bindingConfig
}

// rpcRequest is a JSON-RPC request with its members undecoded, so each can be checked.
type rpcRequest struct {
	JSONRPC json.RawMessage `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  json.RawMessage `json:"method"`
	Params  json.RawMessage `json:"params"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

var nullID = json.RawMessage("null")

// ServeHTTP implements http.Handler.
func (j *jsonrpcHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := withHTTPExtensions(r)
	version := ProtocolVersion
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		j.reply(w, http.StatusMethodNotAllowed, j.errorResponse(ctx, nullID, version, &Error{Code: CodeInvalidRequest, Message: "JSON-RPC requests must be POSTed"}))
		return
	}
	body, err := readBody(w, r, j.cfg.maxBody)
	if err != nil {
		j.reply(w, http.StatusOK, j.errorResponse(ctx, nullID, version, err))
		return
	}
	id, req, err := parseRPCRequest(body)
	if err != nil {
		j.reply(w, http.StatusOK, j.errorResponse(ctx, id, version, err))
		return
	}
	version, err = negotiateVersion(r.Header.Get(VersionHeader))
	if err != nil {
		j.reply(w, http.StatusOK, j.errorResponse(ctx, id, ProtocolVersion, err))
		return
	}
	var method string
	if err := json.Unmarshal(req.Method, &method); err != nil {
		j.reply(w, http.StatusOK, j.errorResponse(ctx, id, version, &Error{Code: CodeInvalidRequest, Message: "method must be a string"}))
		return
	}
	name := method
	if version == ProtocolVersion03 {
		name = methods03[method]
	}
	m, ok := rpcMethods[name]
	if !ok {
		j.reply(w, http.StatusOK, j.errorResponse(ctx, id, version, &Error{Code: CodeMethodNotFound, Message: fmt.Sprintf("method %q not found (A2A-Version %s)", method, version)}))
		return
	}
	params, err := decodeParams(version, name, m, req.Params)
	if err == nil {
		err = validateRequest(params)
	}
	if err != nil {
		j.reply(w, http.StatusOK, j.errorResponse(ctx, id, version, err))
		return
	}
	if len(req.ID) == 0 {
		// A2A has no notifications: the method and params were checked first, so a bad one
		// is reported as such; a good one is refused here.
		j.reply(w, http.StatusOK, j.errorResponse(ctx, id, version, &Error{Code: CodeInvalidRequest, Message: "notifications (requests without an id) are not supported"}))
		return
	}
	if m.streaming() {
		j.stream(ctx, w, id, version, name, safeStream(ctx, j.cfg.logger, j.h, m, params))
		return
	}
	res, err := safeCall(ctx, j.cfg.logger, j.h, m, params)
	if err != nil {
		j.reply(w, http.StatusOK, j.errorResponse(ctx, id, version, err))
		return
	}
	result, err := encodeResult(version, name, res)
	if err != nil {
		j.reply(w, http.StatusOK, j.errorResponse(ctx, id, version, err))
		return
	}
	echoExtensions(ctx, w.Header())
	j.reply(w, http.StatusOK, &rpcResponse{JSONRPC: "2.0", ID: id, Result: result})
}

// parseRPCRequest checks a body is a single JSON-RPC 2.0 request. It returns the id to answer
// with (null when there is none usable) and an *Error for a bad request. A request without an
// id (a notification) passes: ServeHTTP refuses it once its method and params are checked.
func parseRPCRequest(body []byte) (json.RawMessage, *rpcRequest, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if !json.Valid(body) {
		return nullID, nil, &Error{Code: CodeParseError, Message: "invalid JSON"}
	}
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return nullID, nil, &Error{Code: CodeInvalidRequest, Message: "batch requests are not supported"}
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nullID, nil, &Error{Code: CodeInvalidRequest, Message: "request must be a JSON object"}
	}
	var req rpcRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nullID, nil, &Error{Code: CodeParseError, Message: "invalid JSON"}
	}
	id := nullID
	if validID(req.ID) {
		id = req.ID
	}
	var version string
	if json.Unmarshal(req.JSONRPC, &version) != nil || version != "2.0" {
		return id, nil, &Error{Code: CodeInvalidRequest, Message: `jsonrpc must be "2.0"`}
	}
	if len(req.ID) != 0 && !validID(req.ID) {
		return id, nil, &Error{Code: CodeInvalidRequest, Message: "id must be a string or a number"}
	}
	if len(req.Method) == 0 {
		return id, nil, &Error{Code: CodeInvalidRequest, Message: "method is required"}
	}
	return id, &req, nil
}

// validID reports whether raw is a JSON string or number.
func validID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		return json.Unmarshal(raw, &s) == nil
	case c == '-' || (c >= '0' && c <= '9'):
		var n json.Number
		return json.Unmarshal(raw, &n) == nil
	}
	return false
}

// decodeParams reads the params of a request for the v1.0 method name in the given version.
func decodeParams(version, name string, m rpcMethod, raw json.RawMessage) (proto.Message, error) {
	if isNull(raw) {
		raw = json.RawMessage("{}")
	}
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, &Error{Code: CodeInvalidParams, Message: "params must be a JSON object"}
	}
	if version == ProtocolVersion03 {
		return decodeParams03(name, raw)
	}
	req := m.newReq()
	if err := unmarshalProto(raw, req); err != nil {
		return nil, &Error{Code: CodeInvalidParams, Message: "invalid params: " + err.Error()}
	}
	return req, nil
}

// decodeParams03 reads v0.3 params into the v1.0 request of the method.
func decodeParams03(name string, raw json.RawMessage) (proto.Message, error) {
	bad := func(err error) error {
		return &Error{Code: CodeInvalidParams, Message: "invalid params: " + err.Error()}
	}
	switch name {
	case methodSendMessage, methodSendStreamingMessage:
		var p sendParams03
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, bad(err)
		}
		return sendRequestFrom03(&p)
	case methodGetTask:
		var p taskQuery03
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, bad(err)
		}
		return &a2apb.GetTaskRequest{Id: p.ID, HistoryLength: p.HistoryLength}, nil
	case methodCancelTask, methodSubscribeToTask:
		var p taskIDParams03
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, bad(err)
		}
		if name == methodSubscribeToTask {
			return &a2apb.SubscribeToTaskRequest{Id: p.ID}, nil
		}
		md, err := structFrom03(p.Metadata)
		if err != nil {
			return nil, err
		}
		return &a2apb.CancelTaskRequest{Id: p.ID, Metadata: md}, nil
	case methodCreatePushConfig:
		var p taskPushConfig03
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, bad(err)
		}
		return pushFrom03(p.TaskID, p.PushNotificationConfig), nil
	case methodGetPushConfig, methodDeletePushConfig, methodListPushConfigs:
		var p pushConfigParams03
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, bad(err)
		}
		switch name {
		case methodGetPushConfig:
			return &a2apb.GetTaskPushNotificationConfigRequest{TaskId: p.ID, Id: p.PushNotificationConfigID}, nil
		case methodDeletePushConfig:
			return &a2apb.DeleteTaskPushNotificationConfigRequest{TaskId: p.ID, Id: p.PushNotificationConfigID}, nil
		}
		return &a2apb.ListTaskPushNotificationConfigsRequest{TaskId: p.ID}, nil
	case methodGetExtendedAgentCard:
		return &a2apb.GetExtendedAgentCardRequest{}, nil
	}
	return nil, &Error{Code: CodeMethodNotFound, Message: "method not found"}
}

// encodeResult is the JSON of a method's result in the given version.
func encodeResult(version, name string, res proto.Message) (json.RawMessage, error) {
	if version != ProtocolVersion03 {
		return marshalProto(res)
	}
	var v any
	switch r := res.(type) {
	case *a2apb.SendMessageResponse:
		v = sendResultTo03(r)
	case *a2apb.Task:
		v = taskTo03(r)
	case *a2apb.TaskPushNotificationConfig:
		v = pushTo03(r)
	case *a2apb.ListTaskPushNotificationConfigsResponse:
		list := make([]*taskPushConfig03, 0, len(r.GetConfigs()))
		for _, c := range r.GetConfigs() {
			list = append(list, pushTo03(c))
		}
		v = list
	case *a2apb.AgentCard:
		v = cardTo03(r)
	case *a2apb.StreamResponse:
		v = streamTo03(r)
	case *emptypb.Empty:
		return json.RawMessage("null"), nil
	default:
		return nil, fmt.Errorf("a2a: no v0.3 form for %T", res)
	}
	return json.Marshal(v)
}

// stream answers with an SSE stream, one JSON-RPC response per event; an error ends it. An
// error before the first event (task not found, streaming not supported …) is a plain JSON-RPC
// error response, not a stream.
func (j *jsonrpcHandler) stream(ctx context.Context, w http.ResponseWriter, id json.RawMessage, version, name string, seq iter.Seq2[*a2apb.StreamResponse, error]) {
	var sse *sseWriter
	for ev, err := range seq {
		if sse == nil && err != nil {
			j.reply(w, http.StatusOK, j.errorResponse(ctx, id, version, err))
			return
		}
		var resp *rpcResponse
		if err == nil && ev == nil {
			continue
		}
		if err == nil {
			var result json.RawMessage
			result, err = encodeResult(version, name, ev)
			resp = &rpcResponse{JSONRPC: "2.0", ID: id, Result: result}
		}
		if err != nil {
			resp = j.errorResponse(ctx, id, version, err)
		}
		data, merr := json.Marshal(resp)
		if merr != nil {
			j.cfg.logger.ErrorContext(ctx, "a2a: encoding stream event", "err", merr)
			return
		}
		if sse == nil {
			echoExtensions(ctx, w.Header())
			sse = startSSE(w)
		}
		if werr := sse.event(data); werr != nil || err != nil {
			return
		}
	}
	if sse == nil { // an empty stream
		startSSE(w)
	}
}

// errorResponse is the JSON-RPC response carrying err. In v1.0 the error data is a list holding a
// google.rpc.ErrorInfo; v0.3 peers get the error's own data when it is an object.
func (j *jsonrpcHandler) errorResponse(ctx context.Context, id json.RawMessage, version string, err error) *rpcResponse {
	e := publicError(ctx, j.cfg.logger, err)
	re := &rpcError{Code: e.Code, Message: e.Message}
	if version == ProtocolVersion03 {
		if m, ok := e.Data.(map[string]any); ok {
			re.Data = m
		}
	} else if info := errorInfo(e); info != nil {
		re.Data = []any{info}
	} else if e.Data != nil {
		re.Data = e.Data
	}
	return &rpcResponse{JSONRPC: "2.0", ID: id, Error: re}
}

func (j *jsonrpcHandler) reply(w http.ResponseWriter, status int, resp *rpcResponse) {
	data, err := json.Marshal(resp)
	if err != nil {
		// The error's data could not be encoded: send it without.
		if resp.Error != nil {
			resp.Error.Data = nil
		}
		data, _ = json.Marshal(resp)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
