package a2a

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an A2A protocol error: a JSON-RPC error code (the JSON-RPC 2.0 standard codes and the
// A2A codes -32001 … -32009), a message, and optional data.
type Error struct {
	Code    int
	Message string
	Data    any
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("a2a %d: %s", e.Code, e.Message) }

// Is makes errors.Is compare A2A errors by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// JSON-RPC 2.0 standard error codes.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// A2A error codes (v1.0).
const (
	CodeTaskNotFound                   = -32001
	CodeTaskNotCancelable              = -32002
	CodePushNotificationNotSupported   = -32003
	CodeUnsupportedOperation           = -32004
	CodeContentTypeNotSupported        = -32005
	CodeInvalidAgentResponse           = -32006
	CodeExtendedAgentCardNotConfigured = -32007
	CodeExtensionSupportRequired       = -32008
	CodeVersionNotSupported            = -32009
)

// Error codes of the auth middleware (Authenticator). A2A v1.0 names none, so they are
// implementation-defined server errors (the JSON-RPC range -32000 … -32099), answered with
// HTTP 401 and 403 in both bindings.
const (
	CodeUnauthenticated  = -32040 // no valid credential where the card requires one
	CodePermissionDenied = -32043 // the caller is known but the Authorize hook refused it
)

// Errorf returns an *Error with code and a formatted message.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinel errors with the protocol's default messages (compare with errors.Is).
var (
	ErrTaskNotFound                   = &Error{Code: CodeTaskNotFound, Message: "task not found"}
	ErrTaskNotCancelable              = &Error{Code: CodeTaskNotCancelable, Message: "task cannot be canceled"}
	ErrPushNotificationNotSupported   = &Error{Code: CodePushNotificationNotSupported, Message: "push notifications are not supported"}
	ErrUnsupportedOperation           = &Error{Code: CodeUnsupportedOperation, Message: "this operation is not supported"}
	ErrContentTypeNotSupported        = &Error{Code: CodeContentTypeNotSupported, Message: "incompatible content types"}
	ErrInvalidAgentResponse           = &Error{Code: CodeInvalidAgentResponse, Message: "invalid agent response"}
	ErrExtendedAgentCardNotConfigured = &Error{Code: CodeExtendedAgentCardNotConfigured, Message: "extended agent card is not configured"}
	ErrExtensionSupportRequired       = &Error{Code: CodeExtensionSupportRequired, Message: "a required extension is not supported by the client"}
	ErrVersionNotSupported            = &Error{Code: CodeVersionNotSupported, Message: "A2A protocol version not supported"}
)

// HTTPStatus is the HTTP status of an error in the HTTP+JSON binding.
func HTTPStatus(err error) int {
	var e *Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	switch e.Code {
	case CodeTaskNotFound:
		return http.StatusNotFound
	case CodeTaskNotCancelable:
		return http.StatusConflict
	case CodeContentTypeNotSupported:
		return http.StatusUnsupportedMediaType
	case CodeInvalidAgentResponse:
		return http.StatusBadGateway
	case CodeParseError, CodeInvalidRequest, CodeInvalidParams, CodePushNotificationNotSupported,
		CodeUnsupportedOperation, CodeExtendedAgentCardNotConfigured, CodeExtensionSupportRequired, CodeVersionNotSupported:
		return http.StatusBadRequest
	case CodeMethodNotFound:
		return http.StatusNotFound
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodePermissionDenied:
		return http.StatusForbidden
	default:
		return http.StatusInternalServerError
	}
}
