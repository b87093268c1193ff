package cardtemplate

import "github.com/sovereign-stack/sovereign/apperr"

// The errors of rendering: a value for an undeclared parameter, no value for a required one, a
// value of the wrong type. Each carries the parameter in Details["field"] (and "parameter").
var (
	ErrUnknownParameter = apperr.New(apperr.Invalid, "UNKNOWN_PARAMETER", "the template has no such parameter")
	ErrMissingParameter = apperr.New(apperr.Invalid, "MISSING_PARAMETER", "a required parameter has no value")
	ErrInvalidParameter = apperr.New(apperr.Invalid, "INVALID_PARAMETER", "a parameter value does not fit its type")
)

// The errors of Validate: each names the offending field in Details["field"].
var (
	ErrInvalidName           = apperr.New(apperr.Invalid, "INVALID_TEMPLATE_NAME", "a template name is 2 to 63 characters: a lowercase letter, then lowercase letters, digits or '-'")
	ErrInvalidDescription    = apperr.New(apperr.Invalid, "INVALID_DESCRIPTION", "the description must be 1 to 1000 characters of UTF-8 text")
	ErrInvalidKind           = apperr.New(apperr.Invalid, "INVALID_KIND", `kind must be "echo", "llm" or "tool"`)
	ErrTooManyParameters     = apperr.New(apperr.Invalid, "TOO_MANY_PARAMETERS", "a template has at most 64 parameters")
	ErrInvalidParamDef       = apperr.New(apperr.Invalid, "INVALID_PARAMETER_DEFINITION", "a parameter definition is invalid")
	ErrInvalidCard           = apperr.New(apperr.Invalid, "INVALID_TEMPLATE_CARD", "the template card must be a JSON object")
	ErrCardTooLarge          = apperr.New(apperr.TooLarge, "TEMPLATE_CARD_TOO_LARGE", "the template card is larger than 64 KiB")
	ErrInvalidPlaceholder    = apperr.New(apperr.Invalid, "INVALID_PLACEHOLDER", `a placeholder is "${name}" with a parameter name; write "$${" for a literal "${"`)
	ErrUndeclaredPlaceholder = apperr.New(apperr.Invalid, "UNDECLARED_PLACEHOLDER", "a placeholder names a parameter the template does not declare")
)

// The errors of WriteProject.
var (
	ErrDirNotEmpty   = apperr.New(apperr.Conflict, "DIR_NOT_EMPTY", "the target directory exists and is not empty")
	ErrInvalidModule = apperr.New(apperr.Invalid, "INVALID_MODULE_PATH", "the module path must look like example.com/me/agent")
	ErrNoJSONRPC     = apperr.New(apperr.Invalid, "NO_JSONRPC_INTERFACE", "the card has no JSONRPC interface with an http(s) URL for the project to serve")
)

func invalidParam(base *apperr.Error, name, msg string) *apperr.Error {
	e := base.With("field", name).With("parameter", name)
	if msg != "" {
		e.Message = msg
	}
	return e
}

func fieldErr(base *apperr.Error, field, msg string) *apperr.Error {
	e := base.With("field", field)
	if msg != "" {
		e.Message = msg
	}
	return e
}
