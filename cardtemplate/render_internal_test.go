package cardtemplate

import (
	"encoding/json"
	"testing"
)

// AgentCard has no number fields, so typed numbers are checked on the tree substitution itself.
func TestSubstitute_ExactPlaceholderBecomesTypedValue(t *testing.T) {
	tree, err := parseCard(json.RawMessage(`{"i":"${i}","f":"${f}","b":"${b}","l":"${l}","s":"${s}","gone":"${none}","arr":["${none}","x"],"n":7}`))
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{"i": int64(42), "f": 2.5, "b": true, "l": []string{"a"}, "s": `"}`}
	out, _, err := substitute(tree, "card", func(_, name string) (any, bool, error) { v, ok := vals[name]; return v, ok, nil })
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(out)
	if want := `{"arr":["x"],"b":true,"f":2.5,"i":42,"l":["a"],"n":7,"s":"\"}"}`; string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
