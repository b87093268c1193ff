// Package cardtemplate is the domain of agent-card templates: named A2A agent cards whose string
// values may hold ${param} placeholders for typed parameters, rendered into valid cards, and the
// runnable Go agent projects generated from them (WriteProject).
//
// Rendering substitutes on the parsed JSON tree, never on the text: a string that is exactly
// "${p}" becomes p's typed value (a number, a boolean, an array), a placeholder inside a longer
// string is replaced by the value's string form, and whatever a value contains stays inside its
// JSON string. Every rendered card is validated by agentcard.Parse.
//
// The package does no network I/O; WriteProject writes files. Every failure is an *apperr.Error
// with a stable code.
package cardtemplate

import (
	"encoding/json"
	"time"
)

// Kind names the project skeleton a template generates.
type Kind string

// The project skeletons.
const (
	KindEcho Kind = "echo" // replies with what it was sent
	KindLLM  Kind = "llm"  // forwards the message to an OpenAI-compatible chat/completions API
	KindTool Kind = "tool" // deterministic tools (calculate, word_count, uuid) chosen by skill
)

// Kinds lists every Kind, in a stable order.
var Kinds = []Kind{KindEcho, KindLLM, KindTool}

// ParamType is the type of a template parameter.
type ParamType string

// The parameter types.
const (
	TypeString     ParamType = "string"      // any string up to MaxValueLen bytes
	TypeInteger    ParamType = "integer"     // a whole number within ±2^53
	TypeNumber     ParamType = "number"      // a finite number
	TypeBoolean    ParamType = "boolean"     // true or false
	TypeURL        ParamType = "url"         // an absolute http or https URL
	TypeStringList ParamType = "string_list" // an array of strings
	TypeEnum       ParamType = "enum"        // one of the parameter's Enum strings
)

// ParamTypes lists every ParamType, in a stable order.
var ParamTypes = []ParamType{TypeString, TypeInteger, TypeNumber, TypeBoolean, TypeURL, TypeStringList, TypeEnum}

// Limits on templates and the values they are rendered with.
const (
	MaxDescriptionLen      = 1000
	MaxParams              = 64
	MaxParamDescriptionLen = 500
	MaxEnumValues          = 64
	MaxValueLen            = 4096 // bytes of one string value (or of one list item)
	MaxListItems           = 64
	MaxCardSize            = 64 << 10 // bytes of a template's card JSON
	maxSafeInteger         = 1 << 53
)

// Param is a typed template parameter. A parameter that is not Required and has no Default
// may be left out: a string that is exactly its placeholder is then removed from the card
// (the object member or array element disappears), and inside a longer string it becomes "".
type Param struct {
	Name        string    `json:"name"`
	Type        ParamType `json:"type"`
	Description string    `json:"description,omitempty"`
	Required    bool      `json:"required,omitempty"`
	// Default is used when no value is given; it must have the parameter's type.
	Default any `json:"default,omitempty"`
	// Enum lists the allowed values of an enum parameter (only of one).
	Enum []string `json:"enum,omitempty"`
}

// Template is a named agent-card template. Built-in templates (Builtin, OwnerID "") ship with
// the binary and are read-only; stored ones belong to the developer OwnerID, and only the owner
// or an admin may change or delete them. Version starts at 1 and grows by one on each update.
type Template struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Kind        Kind            `json:"kind"`
	Parameters  []Param         `json:"parameters"`
	Card        json.RawMessage `json:"card"`
	OwnerID     string          `json:"owner_id,omitempty"`
	Builtin     bool            `json:"builtin,omitempty"`
	Version     int             `json:"version,omitempty"`
	CreatedAt   time.Time       `json:"created_at,omitzero"`
	UpdatedAt   time.Time       `json:"updated_at,omitzero"`
}

// Param returns the parameter named name.
func (t *Template) Param(name string) (Param, bool) {
	for _, p := range t.Parameters {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}
