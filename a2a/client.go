package a2a

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/tracing"
)

// Client is an A2A client: a Handler whose every call is a request to a remote agent over the
// JSON-RPC, the HTTP+JSON or the gRPC binding. Protocol errors of the agent come back as *Error values with
// their codes; transport failures as other errors. It speaks v1.0 (A2A-Version: 1.0) unless the
// chosen interface of the card says 0.3 or WithProtocolVersion says so, in which case it speaks
// v0.3 JSON-RPC (method names "message/send" …) or the v0.3 gRPC service (ListTasks
// unsupported on both). A Client is safe for
// concurrent use.
type Client struct {
	endpoint string
	binding  string
	version  string
	tenant   string
	hc       *http.Client
	auth     func(ctx context.Context, h http.Header) error
	nextID   atomic.Int64

	extensions []string         // sent in A2A-Extensions
	conn       *grpc.ClientConn // the BindingGRPC connection
	dialOpts   []grpc.DialOption
	tlsConfig  *tls.Config
}

var _ Handler = (*Client)(nil)

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client requests go through (a client without a timeout, since
// streams are long-lived, when unset).
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithAuth sets a hook called before every request to add credentials (an Authorization header,
// an API key) to its headers; an error from it fails the call.
func WithAuth(fn func(ctx context.Context, h http.Header) error) ClientOption {
	return func(c *Client) { c.auth = fn }
}

// WithProtocolVersion makes the client speak the given protocol version ("1.0" or "0.3")
// whatever the card says.
func WithProtocolVersion(v string) ClientOption {
	return func(c *Client) { c.version = v }
}

// Binding is the binding the client speaks (BindingJSONRPC, BindingHTTPJSON or BindingGRPC).
func (c *Client) Binding() string { return c.binding }

// Endpoint is the URL (or gRPC target) the client calls.
func (c *Client) Endpoint() string { return c.endpoint }

// WithExtensions makes the client ask for the extensions uris in every request (the
// A2A-Extensions header, or its gRPC metadata).
func WithExtensions(uris ...string) ClientOption {
	return func(c *Client) { c.extensions = append(c.extensions, uris...) }
}

// WithTenant sets the tenant put in requests that carry none (the card interface's tenant when
// built from a card).
func WithTenant(t string) ClientOption {
	return func(c *Client) { c.tenant = t }
}

// NewClient returns a client of the agent at endpoint over binding (BindingJSONRPC,
// BindingHTTPJSON or BindingGRPC, whose endpoint is host:port or a grpc://, grpcs://, http://,
// https:// URL: see WithGRPCDialOptions). The v0.3 protocol is available over JSON-RPC and gRPC
// (the v0.3 service a2a.v1.A2AService).
// Close releases a gRPC client's connection.
func NewClient(endpoint, binding string, opts ...ClientOption) (*Client, error) {
	c := &Client{endpoint: strings.TrimSuffix(endpoint, "/"), binding: normalizeBinding(binding)}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: tracing.Transport(nil)}
	}
	switch c.version {
	case "":
		c.version = ProtocolVersion
	case ProtocolVersion, ProtocolVersion03:
	default:
		v, err := clientVersion(c.version)
		if err != nil {
			return nil, err
		}
		c.version = v
	}
	if _, err := url.Parse(c.endpoint); (err != nil && c.binding != BindingGRPC) || c.endpoint == "" {
		// (a gRPC target such as 127.0.0.1:9000 is no URL: dialGRPC checks it)
		return nil, fmt.Errorf("a2a: invalid endpoint %q", endpoint)
	}
	switch {
	case c.binding == BindingJSONRPC:
	case c.binding == BindingHTTPJSON && c.version == ProtocolVersion:
	case c.binding == BindingGRPC:
		if tr, ok := c.hc.Transport.(*http.Transport); ok && c.tlsConfig == nil && tr.TLSClientConfig != nil {
			c.tlsConfig = tr.TLSClientConfig
		}
		if err := c.dialGRPC(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("a2a: binding %q with protocol version %s is not supported", binding, c.version)
	}
	return c, nil
}

// NewClientFromCard returns a client of the first interface of the card's supportedInterfaces the
// client can speak (JSON-RPC, HTTP+JSON or gRPC in v1.0, JSON-RPC or gRPC in v0.3), with that interface's
// tenant and protocol version: the card's order is the agent's preference.
func NewClientFromCard(card *a2apb.AgentCard, opts ...ClientOption) (*Client, error) {
	for _, i := range card.GetSupportedInterfaces() {
		binding := normalizeBinding(i.GetProtocolBinding())
		v, err := clientVersion(i.GetProtocolVersion())
		if err != nil {
			continue
		}
		if binding != BindingJSONRPC && binding != BindingGRPC && !(binding == BindingHTTPJSON && v == ProtocolVersion) {
			continue
		}
		pre := []ClientOption{WithProtocolVersion(v), WithTenant(i.GetTenant())}
		return NewClient(i.GetUrl(), binding, append(pre, opts...)...)
	}
	return nil, fmt.Errorf("a2a: agent card %q lists no interface this client speaks (JSONRPC, HTTP+JSON or GRPC in A2A 1.0; JSONRPC or GRPC in 0.3)", card.GetName())
}

// clientVersion maps an interface's protocolVersion to the version the client speaks.
func clientVersion(v string) (string, error) {
	switch {
	case v == "" || v == "1" || v == "1.0" || strings.HasPrefix(v, "1.0."):
		return ProtocolVersion, nil
	case v == "0.3" || strings.HasPrefix(v, "0.3."):
		return ProtocolVersion03, nil
	}
	return "", fmt.Errorf("a2a: protocol version %q not supported", v)
}

func normalizeBinding(b string) string {
	switch strings.ToUpper(strings.TrimSpace(b)) {
	case "JSONRPC", "JSON-RPC":
		return BindingJSONRPC
	case "HTTP+JSON", "REST", "HTTP":
		return BindingHTTPJSON
	case "GRPC":
		return BindingGRPC
	}
	return b
}

// --- Handler -------------------------------------------------------------------------------------

// SendMessage implements Handler.
func (c *Client) SendMessage(ctx context.Context, req *a2apb.SendMessageRequest) (*a2apb.SendMessageResponse, error) {
	res := &a2apb.SendMessageResponse{}
	return res, c.unary(ctx, methodSendMessage, c.withTenant(req), res)
}

// SendStreamingMessage implements Handler.
func (c *Client) SendStreamingMessage(ctx context.Context, req *a2apb.SendMessageRequest) iter.Seq2[*a2apb.StreamResponse, error] {
	return c.stream(ctx, methodSendStreamingMessage, c.withTenant(req))
}

// GetTask implements Handler.
func (c *Client) GetTask(ctx context.Context, req *a2apb.GetTaskRequest) (*a2apb.Task, error) {
	res := &a2apb.Task{}
	return res, c.unary(ctx, methodGetTask, c.withTenant(req), res)
}

// ListTasks implements Handler.
func (c *Client) ListTasks(ctx context.Context, req *a2apb.ListTasksRequest) (*a2apb.ListTasksResponse, error) {
	res := &a2apb.ListTasksResponse{}
	return res, c.unary(ctx, methodListTasks, c.withTenant(req), res)
}

// CancelTask implements Handler.
func (c *Client) CancelTask(ctx context.Context, req *a2apb.CancelTaskRequest) (*a2apb.Task, error) {
	res := &a2apb.Task{}
	return res, c.unary(ctx, methodCancelTask, c.withTenant(req), res)
}

// SubscribeToTask implements Handler.
func (c *Client) SubscribeToTask(ctx context.Context, req *a2apb.SubscribeToTaskRequest) iter.Seq2[*a2apb.StreamResponse, error] {
	return c.stream(ctx, methodSubscribeToTask, c.withTenant(req))
}

// CreateTaskPushNotificationConfig implements Handler.
func (c *Client) CreateTaskPushNotificationConfig(ctx context.Context, req *a2apb.TaskPushNotificationConfig) (*a2apb.TaskPushNotificationConfig, error) {
	res := &a2apb.TaskPushNotificationConfig{}
	return res, c.unary(ctx, methodCreatePushConfig, c.withTenant(req), res)
}

// GetTaskPushNotificationConfig implements Handler.
func (c *Client) GetTaskPushNotificationConfig(ctx context.Context, req *a2apb.GetTaskPushNotificationConfigRequest) (*a2apb.TaskPushNotificationConfig, error) {
	res := &a2apb.TaskPushNotificationConfig{}
	return res, c.unary(ctx, methodGetPushConfig, c.withTenant(req), res)
}

// ListTaskPushNotificationConfigs implements Handler.
func (c *Client) ListTaskPushNotificationConfigs(ctx context.Context, req *a2apb.ListTaskPushNotificationConfigsRequest) (*a2apb.ListTaskPushNotificationConfigsResponse, error) {
	res := &a2apb.ListTaskPushNotificationConfigsResponse{}
	return res, c.unary(ctx, methodListPushConfigs, c.withTenant(req), res)
}

// DeleteTaskPushNotificationConfig implements Handler.
func (c *Client) DeleteTaskPushNotificationConfig(ctx context.Context, req *a2apb.DeleteTaskPushNotificationConfigRequest) error {
	return c.unary(ctx, methodDeletePushConfig, c.withTenant(req), nil)
}

// GetExtendedAgentCard implements Handler.
func (c *Client) GetExtendedAgentCard(ctx context.Context, req *a2apb.GetExtendedAgentCardRequest) (*a2apb.AgentCard, error) {
	if req == nil {
		req = &a2apb.GetExtendedAgentCardRequest{}
	}
	res := &a2apb.AgentCard{}
	return res, c.unary(ctx, methodGetExtendedAgentCard, c.withTenant(req), res)
}

// withTenant returns req with the client's tenant when it has none (a copy: the caller's request
// is not changed).
func (c *Client) withTenant(req proto.Message) proto.Message {
	if c.tenant == "" || req == nil || !req.ProtoReflect().IsValid() {
		return req
	}
	f := req.ProtoReflect().Descriptor().Fields().ByName("tenant")
	if f == nil || req.ProtoReflect().Get(f).String() != "" {
		return req
	}
	cp := proto.Clone(req)
	cp.ProtoReflect().Set(f, protoreflect.ValueOfString(c.tenant))
	return cp
}

// --- Calls ---------------------------------------------------------------------------------------

// unary makes a request-response call, decoding the result into res (nil: result ignored).
func (c *Client) unary(ctx context.Context, name string, req, res proto.Message) error {
	if req == nil || !req.ProtoReflect().IsValid() {
		return &Error{Code: CodeInvalidParams, Message: "request is nil"}
	}
	switch c.binding {
	case BindingHTTPJSON:
		return c.restUnary(ctx, name, req, res)
	case BindingGRPC:
		return c.grpcUnary(ctx, name, req, res)
	}
	raw, err := c.rpcUnary(ctx, name, req)
	if err != nil || res == nil {
		return err
	}
	if c.version == ProtocolVersion03 {
		m, err := decodeResult03(name, raw)
		if err != nil {
			return err
		}
		proto.Merge(res, m)
		return nil
	}
	if err := unmarshalProto(raw, res); err != nil {
		return &Error{Code: CodeInvalidAgentResponse, Message: "invalid " + name + " result: " + err.Error()}
	}
	return nil
}

// stream makes a streaming call; the request is sent when the sequence is iterated.
func (c *Client) stream(ctx context.Context, name string, req proto.Message) iter.Seq2[*a2apb.StreamResponse, error] {
	return func(yield func(*a2apb.StreamResponse, error) bool) {
		if req == nil || !req.ProtoReflect().IsValid() {
			yield(nil, &Error{Code: CodeInvalidParams, Message: "request is nil"})
			return
		}
		if c.binding == BindingGRPC {
			c.grpcStream(ctx, name, req)(yield)
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var resp *http.Response
		var err error
		if c.binding == BindingHTTPJSON {
			resp, err = c.restSend(ctx, name, req, true)
		} else {
			resp, err = c.rpcSend(ctx, name, req, true)
		}
		if err != nil {
			yield(nil, err)
			return
		}
		defer resp.Body.Close()
		if !isSSE(resp) {
			// A single answer instead of a stream: an error, or a lone result.
			ev, err := c.singleStreamAnswer(name, resp)
			yield(ev, err)
			return
		}
		for data, err := range readSSE(resp.Body) {
			if err != nil {
				yield(nil, err)
				return
			}
			ev, err := c.decodeStreamEvent(name, data)
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

func isSSE(resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return resp.StatusCode == http.StatusOK && mt == contentTypeSSE
}

func (c *Client) decodeStreamEvent(name string, data []byte) (*a2apb.StreamResponse, error) {
	if c.binding == BindingHTTPJSON {
		if e := restErrorFrom(0, data); e != nil {
			return nil, e
		}
		ev := &a2apb.StreamResponse{}
		if err := unmarshalProto(data, ev); err != nil {
			return nil, &Error{Code: CodeInvalidAgentResponse, Message: "invalid stream event: " + err.Error()}
		}
		return ev, nil
	}
	raw, err := parseRPCResponse(data, nil)
	if err != nil {
		return nil, err
	}
	if c.version == ProtocolVersion03 {
		ev, err := streamFrom03(raw)
		if err != nil {
			return nil, &Error{Code: CodeInvalidAgentResponse, Message: "invalid stream event: " + err.Error()}
		}
		return ev, nil
	}
	ev := &a2apb.StreamResponse{}
	if err := unmarshalProto(raw, ev); err != nil {
		return nil, &Error{Code: CodeInvalidAgentResponse, Message: "invalid stream event: " + err.Error()}
	}
	return ev, nil
}

func (c *Client) singleStreamAnswer(name string, resp *http.Response) (*a2apb.StreamResponse, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("a2a: reading %s response: %w", name, err)
	}
	if c.binding == BindingHTTPJSON {
		if e := restErrorFrom(resp.StatusCode, body); e != nil {
			return nil, e
		}
		if resp.StatusCode != http.StatusOK {
			return nil, statusError(resp.StatusCode)
		}
	}
	return c.decodeStreamEvent(name, body)
}

// --- JSON-RPC ------------------------------------------------------------------------------------

func (c *Client) rpcSend(ctx context.Context, name string, req proto.Message, stream bool) (*http.Response, error) {
	method := name
	var params []byte
	var err error
	if c.version == ProtocolVersion03 {
		method = method03(name)
		if method == "" {
			return nil, &Error{Code: CodeUnsupportedOperation, Message: name + " does not exist in A2A 0.3"}
		}
		var p any
		if p, err = encodeParams03(req); err == nil {
			params, err = json.Marshal(p)
		}
	} else {
		params, err = marshalProto(req)
	}
	if err != nil {
		return nil, fmt.Errorf("a2a: encoding %s params: %w", name, err)
	}
	id := c.nextID.Add(1)
	body, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      int64           `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}{"2.0", id, method, params})
	if err != nil {
		return nil, fmt.Errorf("a2a: encoding %s request: %w", name, err)
	}
	return c.do(ctx, http.MethodPost, c.endpoint, body, stream)
}

func (c *Client) rpcUnary(ctx context.Context, name string, req proto.Message) (json.RawMessage, error) {
	resp, err := c.rpcSend(ctx, name, req, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("a2a: reading %s response: %w", name, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if resp.StatusCode == http.StatusOK && name == methodDeletePushConfig {
			return nil, nil // some v0.3 servers answer a delete with an empty body
		}
		return nil, statusError(resp.StatusCode)
	}
	return parseRPCResponse(body, &resp.StatusCode)
}

// parseRPCResponse reads a JSON-RPC response: its result, or its error as an *Error.
func parseRPCResponse(data []byte, status *int) (json.RawMessage, error) {
	var r struct {
		JSONRPC string          `json:"jsonrpc"`
		Result  json.RawMessage `json:"result"`
		Error   *struct {
			Code    int             `json:"code"`
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		if status != nil && *status != http.StatusOK {
			return nil, statusError(*status)
		}
		return nil, &Error{Code: CodeInvalidAgentResponse, Message: "response is not JSON-RPC: " + err.Error()}
	}
	if r.Error != nil {
		e := &Error{Code: r.Error.Code, Message: r.Error.Message}
		if len(r.Error.Data) > 0 {
			var d any
			if json.Unmarshal(r.Error.Data, &d) == nil {
				e.Data = d
			}
		}
		return nil, e
	}
	if status != nil && *status != http.StatusOK {
		return nil, statusError(*status)
	}
	return r.Result, nil
}

// --- HTTP+JSON -----------------------------------------------------------------------------------

// restCall is the HTTP method, path (with tenant prefix), query and body of a call.
func restCall(name string, req proto.Message) (method, path string, query url.Values, body proto.Message) {
	esc := url.PathEscape
	query = url.Values{}
	var tenant string
	switch r := req.(type) {
	case *a2apb.SendMessageRequest:
		tenant = r.GetTenant()
		method, body = http.MethodPost, r
		path = "/message:send"
		if name == methodSendStreamingMessage {
			path = "/message:stream"
		}
	case *a2apb.GetTaskRequest:
		tenant, method, path = r.GetTenant(), http.MethodGet, "/tasks/"+esc(r.GetId())
		if r.HistoryLength != nil {
			query.Set("historyLength", strconv.Itoa(int(*r.HistoryLength)))
		}
	case *a2apb.ListTasksRequest:
		tenant, method, path = r.GetTenant(), http.MethodGet, "/tasks"
		if r.GetContextId() != "" {
			query.Set("contextId", r.GetContextId())
		}
		if r.GetStatus() != a2apb.TaskState_TASK_STATE_UNSPECIFIED {
			query.Set("status", r.GetStatus().String())
		}
		if r.PageSize != nil {
			query.Set("pageSize", strconv.Itoa(int(*r.PageSize)))
		}
		if r.GetPageToken() != "" {
			query.Set("pageToken", r.GetPageToken())
		}
		if r.HistoryLength != nil {
			query.Set("historyLength", strconv.Itoa(int(*r.HistoryLength)))
		}
		if ts := r.GetStatusTimestampAfter(); ts != nil {
			query.Set("statusTimestampAfter", ts.AsTime().UTC().Format(time.RFC3339Nano))
		}
		if r.IncludeArtifacts != nil {
			query.Set("includeArtifacts", strconv.FormatBool(*r.IncludeArtifacts))
		}
	case *a2apb.CancelTaskRequest:
		tenant, method, path, body = r.GetTenant(), http.MethodPost, "/tasks/"+esc(r.GetId())+":cancel", r
	case *a2apb.SubscribeToTaskRequest:
		tenant, method, path = r.GetTenant(), http.MethodGet, "/tasks/"+esc(r.GetId())+":subscribe"
	case *a2apb.TaskPushNotificationConfig:
		tenant, method, path, body = r.GetTenant(), http.MethodPost, "/tasks/"+esc(r.GetTaskId())+"/pushNotificationConfigs", r
	case *a2apb.GetTaskPushNotificationConfigRequest:
		tenant, method, path = r.GetTenant(), http.MethodGet, "/tasks/"+esc(r.GetTaskId())+"/pushNotificationConfigs/"+esc(r.GetId())
	case *a2apb.ListTaskPushNotificationConfigsRequest:
		tenant, method, path = r.GetTenant(), http.MethodGet, "/tasks/"+esc(r.GetTaskId())+"/pushNotificationConfigs"
		if r.GetPageSize() != 0 {
			query.Set("pageSize", strconv.Itoa(int(r.GetPageSize())))
		}
		if r.GetPageToken() != "" {
			query.Set("pageToken", r.GetPageToken())
		}
	case *a2apb.DeleteTaskPushNotificationConfigRequest:
		tenant, method, path = r.GetTenant(), http.MethodDelete, "/tasks/"+esc(r.GetTaskId())+"/pushNotificationConfigs/"+esc(r.GetId())
	case *a2apb.GetExtendedAgentCardRequest:
		tenant, method, path = r.GetTenant(), http.MethodGet, "/extendedAgentCard"
	}
	if tenant != "" {
		path = "/" + esc(tenant) + path
	}
	return method, path, query, body
}

func (c *Client) restSend(ctx context.Context, name string, req proto.Message, stream bool) (*http.Response, error) {
	// Path parameters must be there: an empty task id would name another route.
	if err := validateRequest(req); err != nil {
		return nil, err
	}
	method, path, query, bodyMsg := restCall(name, req)
	if method == "" {
		return nil, fmt.Errorf("a2a: no HTTP+JSON route for %s", name)
	}
	u := c.endpoint + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body []byte
	if bodyMsg != nil {
		var err error
		if body, err = marshalProto(bodyMsg); err != nil {
			return nil, fmt.Errorf("a2a: encoding %s body: %w", name, err)
		}
	}
	return c.do(ctx, method, u, body, stream)
}

func (c *Client) restUnary(ctx context.Context, name string, req, res proto.Message) error {
	resp, err := c.restSend(ctx, name, req, false)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("a2a: reading %s response: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		if e := restErrorFrom(resp.StatusCode, body); e != nil {
			return e
		}
		return statusError(resp.StatusCode)
	}
	if res == nil {
		return nil
	}
	if err := unmarshalProto(body, res); err != nil {
		return &Error{Code: CodeInvalidAgentResponse, Message: "invalid " + name + " result: " + err.Error()}
	}
	return nil
}

// restErrorFrom reads a google.rpc.Status error body, or returns nil when data is not one. The
// code comes from the ErrorInfo reason, else from the HTTP status (status 0: from the body's code).
func restErrorFrom(status int, data []byte) *Error {
	var env struct {
		Error *struct {
			Code    int               `json:"code"`
			Status  string            `json:"status"`
			Message string            `json:"message"`
			Details []json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &env) != nil || env.Error == nil {
		return nil
	}
	if status == 0 {
		status = env.Error.Code
	}
	e := &Error{Code: statusError(status).Code, Message: env.Error.Message}
	if status == http.StatusBadRequest && env.Error.Status == "INVALID_ARGUMENT" {
		e.Code = CodeInvalidParams // a request that parsed but does not hold what the method needs
	}
	for _, d := range env.Error.Details {
		var info struct {
			Type     string            `json:"@type"`
			Reason   string            `json:"reason"`
			Metadata map[string]string `json:"metadata"`
		}
		if json.Unmarshal(d, &info) != nil || info.Type != errorInfoType {
			continue
		}
		if code, ok := codeOfReason(info.Reason); ok {
			e.Code = code
			if len(info.Metadata) > 0 {
				md := map[string]any{}
				for k, v := range info.Metadata {
					md[k] = v
				}
				e.Data = md
			}
		}
	}
	return e
}

// statusError is the error of an HTTP status without a readable error body.
func statusError(status int) *Error {
	code := CodeInternalError
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		code = CodeInvalidRequest
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		code = CodeMethodNotFound
	case http.StatusConflict:
		code = CodeTaskNotCancelable
	case http.StatusUnsupportedMediaType:
		code = CodeContentTypeNotSupported
	case http.StatusBadGateway:
		code = CodeInvalidAgentResponse
	case http.StatusUnauthorized:
		code = CodeUnauthenticated
	case http.StatusForbidden:
		code = CodePermissionDenied
	}
	return &Error{Code: code, Message: fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))}
}

// do sends one HTTP request with the A2A headers and the auth hook's.
func (c *Client) do(ctx context.Context, method, u string, body []byte, stream bool) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("a2a: building request: %w", err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if stream {
		hr.Header.Set("Accept", contentTypeSSE)
	} else {
		hr.Header.Set("Accept", "application/json")
	}
	hr.Header.Set(VersionHeader, c.version)
	if len(c.extensions) > 0 {
		hr.Header.Set(ExtensionsHeader, strings.Join(c.extensions, ", "))
	}
	if c.auth != nil {
		if err := c.auth(ctx, hr.Header); err != nil {
			return nil, fmt.Errorf("a2a: auth: %w", err)
		}
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("a2a: %s %s: %w", method, u, err)
	}
	recordEchoedExtensions(ctx, append(resp.Header.Values(ExtensionsHeader), resp.Header.Values(extensionsHeader03)...))
	return resp, nil
}

// --- v0.3 client side ------------------------------------------------------------------------------

// encodeParams03 is the v0.3 params object of a v1.0 request.
func encodeParams03(req proto.Message) (any, error) {
	switch r := req.(type) {
	case *a2apb.SendMessageRequest:
		return sendRequestTo03(r), nil
	case *a2apb.GetTaskRequest:
		return &taskQuery03{ID: r.GetId(), HistoryLength: r.HistoryLength}, nil
	case *a2apb.CancelTaskRequest:
		return &taskIDParams03{ID: r.GetId(), Metadata: structTo03(r.GetMetadata())}, nil
	case *a2apb.SubscribeToTaskRequest:
		return &taskIDParams03{ID: r.GetId()}, nil
	case *a2apb.TaskPushNotificationConfig:
		return pushTo03(r), nil
	case *a2apb.GetTaskPushNotificationConfigRequest:
		return &pushConfigParams03{ID: r.GetTaskId(), PushNotificationConfigID: r.GetId()}, nil
	case *a2apb.DeleteTaskPushNotificationConfigRequest:
		return &pushConfigParams03{ID: r.GetTaskId(), PushNotificationConfigID: r.GetId()}, nil
	case *a2apb.ListTaskPushNotificationConfigsRequest:
		return &pushConfigParams03{ID: r.GetTaskId()}, nil
	case *a2apb.GetExtendedAgentCardRequest:
		return struct{}{}, nil
	}
	return nil, errors.New("no v0.3 form")
}

// decodeResult03 reads a v0.3 result into the v1.0 result message of the method.
func decodeResult03(name string, raw json.RawMessage) (proto.Message, error) {
	invalid := func(err error) error {
		var e *Error
		if errors.As(err, &e) && e.Code == CodeInvalidAgentResponse {
			return e
		}
		return &Error{Code: CodeInvalidAgentResponse, Message: "invalid " + name + " result: " + err.Error()}
	}
	switch name {
	case methodSendMessage:
		r, err := sendResultFrom03(raw)
		if err != nil {
			return nil, invalid(err)
		}
		return r, nil
	case methodGetTask, methodCancelTask:
		t, err := taskFromResult03(raw)
		if err != nil {
			return nil, invalid(err)
		}
		return t, nil
	case methodCreatePushConfig, methodGetPushConfig:
		var p taskPushConfig03
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, invalid(err)
		}
		return pushFrom03(p.TaskID, p.PushNotificationConfig), nil
	case methodListPushConfigs:
		var list []taskPushConfig03
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, invalid(err)
		}
		out := &a2apb.ListTaskPushNotificationConfigsResponse{}
		for _, p := range list {
			out.Configs = append(out.Configs, pushFrom03(p.TaskID, p.PushNotificationConfig))
		}
		return out, nil
	case methodGetExtendedAgentCard:
		var card agentCard03
		if err := json.Unmarshal(raw, &card); err != nil {
			return nil, invalid(err)
		}
		return cardFrom03(&card), nil
	}
	return nil, &Error{Code: CodeUnsupportedOperation, Message: name + " does not exist in A2A 0.3"}
}
