package cardtemplate

import (
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"
)

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}$`)

// ValidName reports whether name is a valid template name: 2 to 63 characters, a lowercase
// letter and then lowercase letters, digits or '-'.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// Validate checks a template: its name, description and kind; that every parameter has a valid
// unique name, a known type, a default of that type (and enum values for an enum); that every
// placeholder of the card is well-formed and names a declared parameter; and that the card,
// rendered with the defaults (and an example value for each required parameter), is a valid
// agent card (agentcard.Parse's error passes through).
func Validate(t Template) error {
	if !ValidName(t.Name) {
		return fieldErr(ErrInvalidName, "name", "")
	}
	if t.Description == "" || len(t.Description) > MaxDescriptionLen || !utf8.ValidString(t.Description) {
		return fieldErr(ErrInvalidDescription, "description", "")
	}
	if !slices.Contains(Kinds, t.Kind) {
		return fieldErr(ErrInvalidKind, "kind", "")
	}
	if len(t.Parameters) > MaxParams {
		return fieldErr(ErrTooManyParameters, "parameters", "").With("limit", MaxParams)
	}
	seen := map[string]bool{}
	for i, p := range t.Parameters {
		if err := validateParam(i, p, seen); err != nil {
			return err
		}
	}
	tree, err := parseCard(t.Card)
	if err != nil {
		return err
	}
	_, _, err = substitute(tree, "card", func(path, name string) (any, bool, error) {
		if !seen[name] {
			return nil, false, fieldErr(ErrUndeclaredPlaceholder, path,
				fmt.Sprintf("%s: placeholder ${%s} names no declared parameter", path, name)).With("parameter", name)
		}
		return "", true, nil
	})
	if err != nil {
		return err
	}
	_, err = renderResolved(t, exampleValues(t))
	return err
}

func validateParam(i int, p Param, seen map[string]bool) error {
	field := func(f string) string { return fmt.Sprintf("parameters[%d].%s", i, f) }
	bad := func(f, msg string) error { return fieldErr(ErrInvalidParamDef, field(f), msg) }
	switch {
	case !paramNamePattern.MatchString(p.Name):
		return bad("name", "a parameter name is 1 to 63 characters: a lowercase letter, then lowercase letters, digits or '_'")
	case seen[p.Name]:
		return bad("name", fmt.Sprintf("parameter %q is declared twice", p.Name))
	case !slices.Contains(ParamTypes, p.Type):
		return bad("type", fmt.Sprintf("parameter %q: type must be one of string, integer, number, boolean, url, string_list, enum", p.Name))
	case len(p.Description) > MaxParamDescriptionLen || !utf8.ValidString(p.Description):
		return bad("description", fmt.Sprintf("parameter %q: the description is at most %d characters of UTF-8 text", p.Name, MaxParamDescriptionLen))
	case p.Type != TypeEnum && len(p.Enum) > 0:
		return bad("enum", fmt.Sprintf("parameter %q: only an enum parameter has enum values", p.Name))
	case p.Required && p.Default != nil:
		return bad("default", fmt.Sprintf("parameter %q: a required parameter has no default", p.Name))
	}
	seen[p.Name] = true
	if p.Type == TypeEnum {
		if len(p.Enum) == 0 || len(p.Enum) > MaxEnumValues {
			return bad("enum", fmt.Sprintf("parameter %q: an enum parameter lists 1 to %d values", p.Name, MaxEnumValues))
		}
		for j, e := range p.Enum {
			if e == "" || len(e) > MaxValueLen || !utf8.ValidString(e) || slices.Index(p.Enum, e) != j {
				return bad("enum", fmt.Sprintf("parameter %q: enum values are distinct, non-empty UTF-8 strings", p.Name))
			}
		}
	}
	if p.Default != nil {
		if _, err := coerce(p, p.Default); err != nil {
			return bad("default", fmt.Sprintf("parameter %q: the default does not fit the type: %v", p.Name, err))
		}
	}
	return nil
}

// exampleValues gives each required parameter (which has no default) a value of its type, so a
// template can be rendered to check its card.
func exampleValues(t Template) map[string]any {
	vals := map[string]any{}
	for _, p := range t.Parameters {
		var v any
		if p.Default != nil {
			v, _ = coerce(p, p.Default)
		} else if p.Required {
			switch p.Type {
			case TypeString:
				v = "example"
			case TypeURL:
				v = "http://localhost:9000/a2a"
			case TypeInteger:
				v = int64(1)
			case TypeNumber:
				v = 1.0
			case TypeBoolean:
				v = false
			case TypeStringList:
				v = []string{"example"}
			case TypeEnum:
				v = p.Enum[0]
			}
		}
		if v != nil {
			vals[p.Name] = v
		}
	}
	return vals
}
