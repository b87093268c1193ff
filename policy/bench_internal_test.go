package policy

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// typicalInput is the common question: a developer, logged in, reading their own account.
func typicalInput() Input {
	return Input{
		Subject:  Subject{Kind: KindDeveloper, ID: "dev_01JD4M9V7Q", Roles: []string{RoleDeveloper}, AuthMethod: AuthSession, Scopes: []string{ScopeRead, ScopeWrite}, Verified: true, CredentialID: "ses_01JD4M9V7Q"},
		Action:   ActionDeveloperRead,
		Resource: Resource{Kind: "developer", ID: "dev_01JD4M9V7Q", Owner: "dev_01JD4M9V7Q"},
		Context:  Context{RequestID: "req_01JD4M9V7Q"},
	}
}

// BenchmarkDecideParts splits a decision into its costs and compares the ways of passing input.
func BenchmarkDecideParts(b *testing.B) {
	e := New()
	p := e.policy()
	in := typicalInput()
	ctx := context.Background()
	check := func(b *testing.B, rs rego.ResultSet, err error) {
		if err != nil {
			b.Fatal(err)
		}
		if allow, reason, _ := decisionOf(rs); !allow {
			b.Fatal("denied: ", reason)
		}
	}
	b.Run("input=ast/EvalParsedInput", func(b *testing.B) {
		for b.Loop() {
			rs, err := p.decision.Eval(ctx, rego.EvalParsedInput(inputValue(in)))
			check(b, rs, err)
		}
	})
	b.Run("input=map/EvalInput", func(b *testing.B) {
		for b.Loop() {
			rs, err := p.decision.Eval(ctx, rego.EvalInput(inputDoc(in)))
			check(b, rs, err)
		}
	})
	b.Run("input=struct/EvalInput", func(b *testing.B) {
		for b.Loop() {
			rs, err := p.decision.Eval(ctx, rego.EvalInput(in))
			check(b, rs, err)
		}
	})
	b.Run("eval-only", func(b *testing.B) {
		v := inputValue(in)
		for b.Loop() {
			rs, err := p.decision.Eval(ctx, rego.EvalParsedInput(v))
			check(b, rs, err)
		}
	})
	b.Run("inputValue", func(b *testing.B) {
		for b.Loop() {
			_ = inputValue(in)
		}
	})
	b.Run("decisionID", func(b *testing.B) {
		for b.Loop() {
			_ = newDecisionID()
		}
	})
}

// BenchmarkCompileEmbedded is what New costs the first time (and a reload costs).
func BenchmarkCompileEmbedded(b *testing.B) {
	files, digest, err := readSources(embeddedFS())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := compile(context.Background(), files, digest); err != nil {
			b.Fatal(err)
		}
	}
}
