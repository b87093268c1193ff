// Package apperr is the application error type shared by every domain package.
//
// A domain function returns an *Error with a Kind (what class of failure it is) and a stable
// upper-snake Code (which failure exactly, e.g. "EMAIL_TAKEN"). The HTTP layer maps Kind to a
// status code in exactly one place (package httpapi); domain code never mentions HTTP.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error; each Kind maps to one HTTP status in httpapi.
type Kind int

// The kinds of application errors.
const (
	Internal        Kind = iota // a bug or an unavailable dependency; details are logged, never shown
	Invalid                     // the input is well-formed but breaks a rule (422)
	BadRequest                  // the input is malformed (400)
	Unauthenticated             // no or bad credentials (401)
	Forbidden                   // the caller may not do this (403)
	NotFound                    // the thing does not exist (404)
	Conflict                    // the thing exists or changed underneath (409)
	TooLarge                    // the request is too big (413)
	TooManyRequests             // a rate limit was hit (429)
	Unavailable                 // a dependency is down; try again (503)
)

// Error is an application error with a stable code. Message is safe to show to the caller;
// Err (the cause) is only logged.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Details map[string]any
	Err     error
}

// New returns an error of kind with code and message.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Errorf returns an error of kind with code and a formatted message.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internalf wraps a cause as an internal error; the caller sees only "internal error".
func Internalf(format string, args ...any) *Error {
	return &Error{Kind: Internal, Code: "INTERNAL", Message: "internal error", Err: fmt.Errorf(format, args...)}
}

// With returns a copy of e with one more detail set.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code, so sentinel errors compare by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns the code of the *Error in err's chain, "INTERNAL" for any other non-nil error,
// and "" for nil.
func CodeOf(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok {
		return e.Code
	}
	return "INTERNAL"
}

// KindOf returns the kind of the *Error in err's chain, Internal for any other error.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}
