package agentcard

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzParse checks that Parse never panics and that every card it accepts survives Marshal and
// Parse unchanged.
func FuzzParse(f *testing.F) {
	f.Add(readFixture(f, "card_v1.json"))
	f.Add(readFixture(f, "card_v03.json"))
	f.Add([]byte(`{"url":"https://a.example","name":"a","description":"d","version":"1","capabilities":{},` +
		`"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],"skills":[{"id":"s","name":"n","description":"d","tags":["t"]}]}`))
	f.Add([]byte(`{"supportedInterfaces":[]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		p, err := Parse(ctx, data, nil)
		if err != nil {
			return
		}
		b, err := Marshal(p.Card)
		if err != nil {
			t.Fatalf("Marshal of an accepted card: %v", err)
		}
		again, err := Parse(ctx, b, nil)
		if err != nil {
			t.Fatalf("re-Parse of %s: %v", b, err)
		}
		if !proto.Equal(p.Card, again.Card) {
			t.Fatalf("card changed through Marshal and Parse:\n%v\n%v", p.Card, again.Card)
		}
		if _, err := Canonical(p.Card); err != nil {
			t.Fatalf("Canonical of an accepted card: %v", err)
		}
	})
}
