package a2a

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The A2A-Version header and the protocol versions the bindings speak.
const (
	// VersionHeader carries the protocol version of a request ("1.0"); a request without it is
	// taken to be v0.3.
	VersionHeader = "A2A-Version"
	// ProtocolVersion is the version this package implements natively.
	ProtocolVersion = "1.0"
	// ProtocolVersion03 is the earlier version served by the compatibility layer of the JSON-RPC
	// binding (method names such as "message/send", JSON objects with "kind" discriminators).
	ProtocolVersion03 = "0.3"
)

// Protocol binding names as they appear in AgentInterface.protocol_binding.
const (
	BindingJSONRPC  = "JSONRPC"
	BindingHTTPJSON = "HTTP+JSON"
	BindingGRPC     = "GRPC"
)

// Limits of the bindings.
const (
	// DefaultMaxBodyBytes is the default limit on a request body (1 MiB).
	DefaultMaxBodyBytes = 1 << 20
	// maxSSEEventBytes bounds one server-sent event read by the client (16 MiB).
	maxSSEEventBytes = 16 << 20
	// maxResponseBytes bounds a non-streaming response read by the client (64 MiB).
	maxResponseBytes = 64 << 20
)

// BindingOption configures NewJSONRPCHandler and NewRESTHandler.
type BindingOption func(*bindingConfig)

type bindingConfig struct {
	maxBody int64
	logger  *slog.Logger
}

// WithMaxBodyBytes sets the largest request body a binding accepts (DefaultMaxBodyBytes when
// unset or not positive). A larger body is answered with an Invalid Request error.
func WithMaxBodyBytes(n int64) BindingOption {
	return func(c *bindingConfig) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// WithLogger sets where a binding logs internal errors (the errors a caller sees only as
// "internal error"); slog.Default() when unset.
func WithLogger(l *slog.Logger) BindingOption {
	return func(c *bindingConfig) {
		if l != nil {
			c.logger = l
		}
	}
}

func newBindingConfig(opts []BindingOption) bindingConfig {
	c := bindingConfig{maxBody: DefaultMaxBodyBytes, logger: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// negotiateVersion maps an A2A-Version header to the version served: "1.0" (also "1", "1.0.x")
// natively, "" and "0.3" (also "0.3.x") by the v0.3 layer, anything else an error.
func negotiateVersion(h string) (string, error) {
	v := strings.TrimSpace(h)
	switch {
	case v == "":
		return ProtocolVersion03, nil
	case v == "1" || v == "1.0" || strings.HasPrefix(v, "1.0."):
		return ProtocolVersion, nil
	case v == "0.3" || strings.HasPrefix(v, "0.3."):
		return ProtocolVersion03, nil
	}
	return "", &Error{Code: CodeVersionNotSupported, Message: fmt.Sprintf("A2A protocol version %q not supported (supported: 1.0, 0.3)", v),
		Data: map[string]any{"requestedVersion": v}}
}

// errBodyTooLarge is the answer to a request body over the limit.
func errBodyTooLarge(limit int64) *Error {
	return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("request body exceeds %d bytes", limit)}
}

// readBody reads at most limit bytes of r's body; more is an *Error (Invalid Request).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errBodyTooLarge(limit)
		}
		return nil, &Error{Code: CodeInvalidRequest, Message: "cannot read request body"}
	}
	return body, nil
}

// ProtoJSON options: camelCase names and enum names on output.
var pjMarshal = protojson.MarshalOptions{}

// unmarshalProto decodes ProtoJSON into m. Unknown fields are ignored, so that a newer peer's
// additions do not break an older one; an unknown enum name is still an error when the message
// has no unknown field (protojson cannot ignore the one without the other).
func unmarshalProto(data []byte, m proto.Message) error {
	err := protojson.Unmarshal(data, m)
	if err != nil && strings.Contains(err.Error(), "unknown field") {
		proto.Reset(m)
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, m)
	}
	return err
}

// marshalProto encodes m as ProtoJSON; a nil message encodes as {}.
func marshalProto(m proto.Message) ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	return pjMarshal.Marshal(m)
}

// publicError is what a binding tells a caller about err: the *Error itself, or for any other
// error a generic internal error (the cause is logged, not sent).
func publicError(ctx context.Context, log *slog.Logger, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeInternalError, Message: "request canceled"}
	}
	log.ErrorContext(ctx, "a2a: internal error", "err", err)
	return &Error{Code: CodeInternalError, Message: "internal error"}
}

// errorReasons are the google.rpc.ErrorInfo reasons of the A2A error codes.
var errorReasons = map[int]string{
	CodeTaskNotFound:                   "TASK_NOT_FOUND",
	CodeTaskNotCancelable:              "TASK_NOT_CANCELABLE",
	CodePushNotificationNotSupported:   "PUSH_NOTIFICATION_NOT_SUPPORTED",
	CodeUnsupportedOperation:           "UNSUPPORTED_OPERATION",
	CodeContentTypeNotSupported:        "CONTENT_TYPE_NOT_SUPPORTED",
	CodeInvalidAgentResponse:           "INVALID_AGENT_RESPONSE",
	CodeExtendedAgentCardNotConfigured: "EXTENDED_AGENT_CARD_NOT_CONFIGURED",
	CodeExtensionSupportRequired:       "EXTENSION_SUPPORT_REQUIRED",
	CodeVersionNotSupported:            "VERSION_NOT_SUPPORTED",
}

// codeOfReason is the inverse of errorReasons.
func codeOfReason(reason string) (int, bool) {
	for c, r := range errorReasons {
		if r == reason {
			return c, true
		}
	}
	return 0, false
}

// errorInfoType is the @type of a google.rpc.ErrorInfo detail; errorDomain its domain.
const (
	errorInfoType = "type.googleapis.com/google.rpc.ErrorInfo"
	errorDomain   = "a2a-protocol.org"
)

// errorInfo is the google.rpc.ErrorInfo detail naming e's A2A error, or nil for a JSON-RPC
// standard error. String-valued entries of a map Data become its metadata.
func errorInfo(e *Error) map[string]any {
	reason, ok := errorReasons[e.Code]
	if !ok {
		return nil
	}
	info := map[string]any{"@type": errorInfoType, "reason": reason, "domain": errorDomain}
	if m, ok := e.Data.(map[string]any); ok {
		md := map[string]string{}
		for k, v := range m {
			if s, ok := v.(string); ok {
				md[k] = s
			}
		}
		if len(md) > 0 {
			info["metadata"] = md
		}
	}
	return info
}

// grpcStatus is the google.rpc.Code name of an A2A or JSON-RPC error code, used in the
// "status" field of HTTP+JSON errors.
func grpcStatus(code int) string {
	switch code {
	case CodeTaskNotFound, CodeMethodNotFound:
		return "NOT_FOUND"
	case CodeTaskNotCancelable, CodeExtendedAgentCardNotConfigured, CodeExtensionSupportRequired:
		return "FAILED_PRECONDITION"
	case CodePushNotificationNotSupported, CodeUnsupportedOperation, CodeVersionNotSupported:
		return "UNIMPLEMENTED"
	case CodeParseError, CodeInvalidRequest, CodeInvalidParams, CodeContentTypeNotSupported:
		return "INVALID_ARGUMENT"
	case CodeUnauthenticated:
		return "UNAUTHENTICATED"
	case CodePermissionDenied:
		return "PERMISSION_DENIED"
	default:
		return "INTERNAL"
	}
}
