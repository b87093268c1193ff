package policy

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestInputValueIsTheJSONEncoding: the input a policy sees is exactly encoding/json's view of
// Input, so `sovereign policy eval --input file.json` and Rego tests see what services send.
func TestInputValueIsTheJSONEncoding(t *testing.T) {
	for _, in := range []Input{
		{},
		typicalInput(),
		{
			Subject: Subject{Kind: KindAgent, ID: "agt_1", SPIFFEID: "spiffe://x/agent/1", DID: "did:key:z6Mk", Roles: []string{}, AuthMethod: "jwt_svid",
				Scopes: []string{"a", "b"}, Verified: true, Tier: TierElite, Reputation: -3, Stake: "1000.5", CredentialID: "c"},
			Action:   ActionTokenTransfer,
			Resource: Resource{Kind: "wallet", ID: "agt_1", Owner: "agt_1", SuspendedBy: AuthorityAdmin},
			Context:  Context{Time: time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600)), RequestID: "req", Amount: "1.5"},
		},
		{Subject: Subject{Kind: KindAnonymous, Reputation: 950}, Context: Context{Time: time.Unix(1, 0).UTC()}},
	} {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			t.Fatal(err)
		}
		want, err := ast.InterfaceToValue(generic)
		if err != nil {
			t.Fatal(err)
		}
		if got := inputValue(in); got.Compare(want) != 0 {
			t.Errorf("inputValue:\n got %v\nwant %v", got, want)
		}
		canonical, _ := json.Marshal(generic)
		if doc, _ := json.Marshal(inputDoc(in)); string(doc) != string(canonical) {
			t.Errorf("inputDoc:\n got %s\nwant %s", doc, canonical)
		}
	}
}

func TestMaskSecrets(t *testing.T) {
	var in any
	_ = json.Unmarshal([]byte(`{"subject": {"id": "dev_a", "credential_id": "ses_1"}, "action": "x",
		"resource": {"Password": "p", "nested": [{"api_key": "k"}, {"token": "t", "refresh_token": "r"}], "id": "ok"},
		"context": {"client_secret": "s", "tokens": "kept"}}`), &in)
	masked := maskSecrets(in)
	want := []string{"/input/context/client_secret", "/input/resource/Password", "/input/resource/nested/0/api_key",
		"/input/resource/nested/1/refresh_token", "/input/resource/nested/1/token", "/input/subject/credential_id"}
	if !reflect.DeepEqual(masked, want) {
		t.Errorf("masked %v\nwant   %v", masked, want)
	}
	b, _ := json.Marshal(in)
	for _, secret := range []string{`"ses_1"`, `"p"`, `"k"`, `"t"`, `"r"`, `"s"`} {
		if strings.Contains(string(b), secret) {
			t.Errorf("%s left in %s", secret, b)
		}
	}
	for _, kept := range []string{`"dev_a"`, `"ok"`, `"kept"`} {
		if !strings.Contains(string(b), kept) {
			t.Errorf("%s masked in %s", kept, b)
		}
	}
}

func TestCacheable(t *testing.T) {
	p, err := embeddedPolicy()
	if err != nil {
		t.Fatal(err)
	}
	if !p.cacheable {
		t.Fatal("the embedded policy should be cacheable: it reads no per-request field")
	}
	for src, want := range map[string]bool{
		`allow if input.subject.id == input.resource.owner`:           true,
		`allow if input.context.amount == "1"`:                        true,
		`allow if time.parse_rfc3339_ns(input.context.time) > 0`:      false,
		`allow if input.context.request_id != ""`:                     false,
		`allow if { c := input.context; c.time }`:                     false,
		`allow if { some k; input.context[k] == "x" }`:                false,
		`allow if { some k; input[k].time }`:                          false,
		`allow if count(input) > 0`:                                   false,
		`allow if time.now_ns() > 0`:                                  false,
		`allow if { x := time.now_ns(); x > 0 }`:                      false,
		`allow if rand.intn("x", 10) > 3`:                             false,
		`allow if f(input.subject)` + "\nf(s) if s.kind == \"agent\"": true,
	} {
		files := map[string]string{"p.rego": "package sovereign.authz\n\n" + src + "\n"}
		c, err := compile(context.Background(), files, "r")
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if c.cacheable != want {
			t.Errorf("%s: cacheable = %v, want %v", src, c.cacheable, want)
		}
	}
}

func TestDecisionCacheIsBounded(t *testing.T) {
	c := newDecisionCache(64)
	for i := range 10000 {
		in := typicalInput()
		in.Subject.ID = string(rune('a'+i%26)) + string(rune(i))
		c.put(appendKey(nil, &in, true), cachedDecision{allow: true})
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].m)
	}
	if n > 64 {
		t.Fatalf("%d entries in a cache of 64", n)
	}
}

func TestCacheKeysDiffer(t *testing.T) {
	a, b := typicalInput(), typicalInput()
	a.Subject.Roles, b.Subject.Roles = []string{"ab"}, []string{"a", "b"}
	if string(appendKey(nil, &a, true)) == string(appendKey(nil, &b, true)) {
		t.Fatal("roles [ab] and [a b] share a key")
	}
	a, b = typicalInput(), typicalInput()
	a.Subject.ID, a.Resource.Kind = "x", "yz"
	b.Subject.ID, b.Resource.Kind = "xy", "z"
	if string(appendKey(nil, &a, true)) == string(appendKey(nil, &b, true)) {
		t.Fatal("shifted fields share a key")
	}
	a, b = typicalInput(), typicalInput()
	b.Context.Time, b.Context.RequestID = time.Now(), "req_other"
	if string(appendKey(nil, &a, true)) != string(appendKey(nil, &b, true)) {
		t.Fatal("time and request id are in the key")
	}
}

// eachField calls f with in changed in one field (recursively), for every field of Input.
func eachField(t *testing.T, f func(name string, changed Input)) {
	base := reflect.TypeOf(Input{})
	var visit func(prefix string, idx []int, typ reflect.Type)
	visit = func(prefix string, idx []int, typ reflect.Type) {
		for i := range typ.NumField() {
			fl := typ.Field(i)
			path := append(append([]int{}, idx...), i)
			name := prefix + fl.Name
			if fl.Type.Kind() == reflect.Struct && fl.Type != reflect.TypeOf(time.Time{}) {
				visit(name+".", path, fl.Type)
				continue
			}
			in := typicalInput()
			v := reflect.ValueOf(&in).Elem().FieldByIndex(path)
			switch v.Kind() {
			case reflect.String:
				v.SetString(v.String() + "·changed")
			case reflect.Slice:
				v.Set(reflect.Append(v, reflect.ValueOf("changed")))
			case reflect.Bool:
				v.SetBool(!v.Bool())
			case reflect.Int:
				v.SetInt(v.Int() + 7)
			case reflect.Struct: // time.Time
				v.Set(reflect.ValueOf(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
			default:
				t.Fatalf("field %s of kind %s: teach the cache key, inputValue and inputDoc about it", name, v.Kind())
			}
			f(name, in)
		}
	}
	visit("", nil, base)
}

// TestEveryInputFieldReachesThePolicy guards against a field added to Input but not to the
// cache key, inputValue or inputDoc: the cache would then answer for the wrong input.
func TestEveryInputFieldReachesThePolicy(t *testing.T) {
	base := typicalInput()
	baseKey := string(appendKey(nil, &base, true))
	baseVal := inputValue(base)
	n := 0
	eachField(t, func(name string, in Input) {
		n++
		volatile := name == "Context.Time" || name == "Context.RequestID"
		if key := string(appendKey(nil, &in, true)); (key == baseKey) != volatile {
			t.Errorf("%s: in the cache key = %v, want %v", name, key != baseKey, !volatile)
		}
		if inputValue(in).Compare(baseVal) == 0 {
			t.Errorf("%s: not in the policy input", name)
		}
		b, _ := json.Marshal(in)
		var generic any
		_ = json.Unmarshal(b, &generic)
		want, _ := ast.InterfaceToValue(generic)
		if inputValue(in).Compare(want) != 0 {
			t.Errorf("%s: inputValue differs from the JSON encoding", name)
		}
		canonical, _ := json.Marshal(generic)
		if doc, _ := json.Marshal(inputDoc(in)); string(doc) != string(canonical) {
			t.Errorf("%s: inputDoc differs from the JSON encoding", name)
		}
	})
	if n < 18 {
		t.Fatalf("only %d fields visited", n)
	}
}

func TestCacheKeyLeavesOutAnAmountNoRuleReads(t *testing.T) {
	a, b := typicalInput(), typicalInput()
	a.Context.Amount, b.Context.Amount = "1", "2"
	if string(appendKey(nil, &a, false)) != string(appendKey(nil, &b, false)) {
		t.Fatal("the amount is in the key of a policy that does not read it")
	}
	if string(appendKey(nil, &a, true)) == string(appendKey(nil, &b, true)) {
		t.Fatal("the amount is not in the key of a policy that reads it")
	}
}

func TestReadsContext(t *testing.T) {
	for _, c := range []struct {
		rule  string
		reads bool
	}{
		{`allow if input.subject.kind == "agent"`, false},
		{`allow if input.context.time != ""`, false},
		{`allow if to_number(input.context.amount) < 10`, true},
		{`allow if input.context[k] == "1"`, true},
		{`allow if count(input.context) > 0`, true},
		{`allow if input[k].amount == "1"`, true},
		{`allow if input == {}`, true},
	} {
		p, err := compile(context.Background(), map[string]string{"x.rego": "package sovereign.authz\n\n" + c.rule + "\n"}, "test")
		if err != nil {
			t.Fatalf("%s: %v", c.rule, err)
		}
		if p.readsAmount != c.reads {
			t.Errorf("%s: readsAmount = %v, want %v", c.rule, p.readsAmount, c.reads)
		}
	}
	if p, err := compile(context.Background(), embeddedSources(t), "embedded"); err != nil || p.readsAmount {
		t.Fatalf("the embedded policy reads context.amount (%v): its decisions would not share cache entries across amounts", err)
	}
}

func embeddedSources(t *testing.T) map[string]string {
	files, _, err := readSources(embeddedFS())
	if err != nil {
		t.Fatal(err)
	}
	return files
}
