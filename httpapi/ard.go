package httpapi

import (
	"context"
	"net/http"
)

// ARD error codes: the errorCode of an Agentic Resource Discovery (ARD) error body
// {"errorCode","message"}, one per HTTP status the ARD routes answer with.
const (
	ARDInvalidArgument   = "INVALID_ARGUMENT"
	ARDUnauthenticated   = "UNAUTHENTICATED"
	ARDPermissionDenied  = "PERMISSION_DENIED"
	ARDNotFound          = "NOT_FOUND"
	ARDAborted           = "ABORTED"
	ARDPayloadTooLarge   = "PAYLOAD_TOO_LARGE"
	ARDResourceExhausted = "RESOURCE_EXHAUSTED"
	ARDUnavailable       = "UNAVAILABLE"
	ARDInternal          = "INTERNAL"
)

// ARDError is err as the ARD routes report it: the status from the one mapping of this package
// (FromError), except that a rule-breaking input (422) is a 400, the only client-input status ARD
// defines; the ARD code of that status; the message of the application error ("internal error"
// for anything else, whose cause goes to the access log as with FromError); and the headers the
// response needs (Retry-After, WWW-Authenticate). The request id is recorded as for envelopes.
func ARDError(ctx context.Context, err error) (status int, code, message string, header http.Header) {
	env := FromError(ctx, err)
	status = env.status
	if status == http.StatusUnprocessableEntity {
		status = http.StatusBadRequest
	}
	return status, ardCode(status), env.Body.Message, env.headers.Clone()
}

// ardCode is the ARD error code of an HTTP status.
func ardCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return ARDInvalidArgument
	case http.StatusUnauthorized:
		return ARDUnauthenticated
	case http.StatusForbidden:
		return ARDPermissionDenied
	case http.StatusNotFound:
		return ARDNotFound
	case http.StatusConflict:
		return ARDAborted
	case http.StatusRequestEntityTooLarge:
		return ARDPayloadTooLarge
	case http.StatusTooManyRequests:
		return ARDResourceExhausted
	case http.StatusServiceUnavailable:
		return ARDUnavailable
	}
	if status >= 400 && status < 500 {
		return ARDInvalidArgument
	}
	return ARDInternal
}
