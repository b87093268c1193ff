package registrysql_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/cardtemplate"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

type templateEnv struct {
	svc          *registry.Templates
	store        *registrysql.Templates
	alice, bob   policy.Subject
	admin        policy.Subject
	aliceKeyRead policy.Subject
}

func newTemplateEnv(t *testing.T, db *store.DB) *templateEnv {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	accounts := registrysql.NewAccounts(db)
	subject := func(id string, role registry.Role) policy.Subject {
		if err := accounts.InsertDeveloper(ctx, &registry.Developer{ID: id, Email: id + "@example.com", Name: id, Role: role,
			PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		roles := []string{policy.RoleDeveloper}
		if role == registry.RoleAdmin {
			roles = append(roles, policy.RoleAdmin)
		}
		return policy.Subject{Kind: policy.KindDeveloper, ID: id, Roles: roles, AuthMethod: policy.AuthSession,
			Scopes: []string{policy.ScopeRead, policy.ScopeWrite}, Verified: true}
	}
	st := registrysql.NewTemplates(db)
	svc, err := registry.NewTemplates(registry.TemplatesConfig{Store: st, Authz: policy.New(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e := &templateEnv{svc: svc, store: st, alice: subject("dev_alice", registry.RoleDeveloper),
		bob: subject("dev_bob", registry.RoleDeveloper), admin: subject("dev_admin", registry.RoleAdmin)}
	e.aliceKeyRead = e.alice
	e.aliceKeyRead.AuthMethod, e.aliceKeyRead.Scopes = policy.AuthAPIKey, []string{policy.ScopeRead}
	return e
}

func templateInput(name string) registry.TemplateInput {
	return registry.TemplateInput{
		Name: name, Description: "A test template.", Kind: cardtemplate.KindEcho,
		Parameters: []cardtemplate.Param{
			{Name: "name", Type: cardtemplate.TypeString, Default: "Test"},
			{Name: "tags", Type: cardtemplate.TypeStringList, Default: []any{"t"}},
		},
		Card: []byte(`{"name":"${name}","description":"d","version":"1","supportedInterfaces":[{"url":"http://localhost:9000/a2a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
			"capabilities":{"streaming":false},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
			"skills":[{"id":"s","name":"S","description":"d","tags":"${tags}"}]}`),
	}
}

func wantTemplateCode(t *testing.T, err error, code string) {
	t.Helper()
	if apperr.CodeOf(err) != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
}

func TestTemplateStore_CRUD(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newTemplateEnv(t, db)
		now := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
		tp := &cardtemplate.Template{Name: "alpha", Description: "d", Kind: cardtemplate.KindTool,
			Parameters: []cardtemplate.Param{{Name: "p", Type: cardtemplate.TypeInteger, Default: 3.0, Description: `with "quotes"`}},
			Card:       json.RawMessage(`{"name": "${p}"}`), OwnerID: e.alice.ID, Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := e.store.InsertTemplate(ctx, tp); err != nil {
			t.Fatal(err)
		}
		wantTemplateCode(t, e.store.InsertTemplate(ctx, tp), "TEMPLATE_EXISTS")
		got, err := e.store.Template(ctx, "alpha")
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != tp.Kind || got.OwnerID != tp.OwnerID || got.Version != 1 || !got.CreatedAt.Equal(now) ||
			string(got.Card) != string(tp.Card) || len(got.Parameters) != 1 || got.Parameters[0].Default != 3.0 || got.Parameters[0].Description != `with "quotes"` {
			t.Fatalf("read back %+v", got)
		}
		_, err = e.store.Template(ctx, "nope")
		wantTemplateCode(t, err, "TEMPLATE_NOT_FOUND")

		tp.Description, tp.Version = "d2", 2
		if err := e.store.UpdateTemplate(ctx, tp, 1); err != nil {
			t.Fatal(err)
		}
		wantTemplateCode(t, e.store.UpdateTemplate(ctx, tp, 1), "TEMPLATE_VERSION_MISMATCH")
		missing := *tp
		missing.Name = "missing"
		wantTemplateCode(t, e.store.UpdateTemplate(ctx, &missing, 1), "TEMPLATE_NOT_FOUND")

		// Names sort bytewise on both stores ('-' before digits before letters).
		for _, n := range []string{"a-b", "ab", "a0", "zz"} {
			c := *tp
			c.Name = n
			if err := e.store.InsertTemplate(ctx, &c); err != nil {
				t.Fatal(err)
			}
		}
		list, err := e.store.ListTemplates(ctx, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, x := range list {
			names = append(names, x.Name)
		}
		if got := strings.Join(names, ","); got != "a-b,a0,ab,alpha,zz" {
			t.Fatalf("list = %s", got)
		}
		if list, _ = e.store.ListTemplates(ctx, "ab", 2); len(list) != 2 || list[0].Name != "alpha" {
			t.Fatalf("page after ab = %v", list)
		}
		if n, err := e.store.CountTemplates(ctx, e.alice.ID); err != nil || n != 5 {
			t.Fatalf("count = %d, %v", n, err)
		}
		if err := e.store.DeleteTemplate(ctx, "alpha"); err != nil {
			t.Fatal(err)
		}
		wantTemplateCode(t, e.store.DeleteTemplate(ctx, "alpha"), "TEMPLATE_NOT_FOUND")
	})
}

func TestTemplates_Service(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newTemplateEnv(t, db)
		anon := policy.Subject{Kind: policy.KindAnonymous}

		// Create: authentication, validation, names.
		_, err := e.svc.Create(ctx, anon, templateInput("mine"))
		wantTemplateCode(t, err, "AUTHENTICATION_REQUIRED")
		_, err = e.svc.Create(ctx, e.aliceKeyRead, templateInput("mine"))
		wantTemplateCode(t, err, "FORBIDDEN")
		_, err = e.svc.Create(ctx, e.alice, templateInput("echo-agent"))
		wantTemplateCode(t, err, "TEMPLATE_EXISTS")
		bad := templateInput("mine")
		bad.Card = []byte(`{"name":"${nope}"}`)
		_, err = e.svc.Create(ctx, e.alice, bad)
		wantTemplateCode(t, err, "UNDECLARED_PLACEHOLDER")
		_, err = e.svc.Create(ctx, e.alice, templateInput("Bad Name"))
		wantTemplateCode(t, err, "INVALID_TEMPLATE_NAME")
		created, err := e.svc.Create(ctx, e.alice, templateInput("mine"))
		if err != nil {
			t.Fatal(err)
		}
		if created.OwnerID != e.alice.ID || created.Version != 1 || created.Builtin {
			t.Fatalf("created %+v", created)
		}
		_, err = e.svc.Create(ctx, e.bob, templateInput("mine"))
		wantTemplateCode(t, err, "TEMPLATE_EXISTS")

		// List merges built-ins and stored, by name, with paging.
		page, err := e.svc.List(ctx, "", 2)
		if err != nil || len(page) != 2 || page[0].Name != "echo-agent" || page[1].Name != "llm-agent" {
			t.Fatalf("page 1 = %v, %v", page, err)
		}
		page, err = e.svc.List(ctx, "llm-agent", 10)
		if err != nil || len(page) != 2 || page[0].Name != "mine" || page[1].Name != "tool-agent" {
			t.Fatalf("page 2 = %v, %v", page, err)
		}

		// Get and Render.
		if g, err := e.svc.Get(ctx, "tool-agent"); err != nil || !g.Builtin {
			t.Fatalf("get built-in: %v %v", g, err)
		}
		_, err = e.svc.Get(ctx, "absent")
		wantTemplateCode(t, err, "TEMPLATE_NOT_FOUND")
		_, err = e.svc.Get(ctx, "../etc")
		wantTemplateCode(t, err, "TEMPLATE_NOT_FOUND")
		out, err := e.svc.Render(ctx, "mine", map[string]any{"name": "Rendered"})
		if err != nil || !strings.Contains(string(out), `"name":"Rendered"`) {
			t.Fatalf("render = %s, %v", out, err)
		}
		_, err = e.svc.Render(ctx, "mine", map[string]any{"nope": 1})
		wantTemplateCode(t, err, "UNKNOWN_PARAMETER")

		// Update: owner, admin, not others; version; built-ins read-only.
		upd := templateInput("")
		upd.Description = "Changed."
		_, err = e.svc.Update(ctx, e.bob, "mine", upd, 0)
		wantTemplateCode(t, err, "FORBIDDEN")
		_, err = e.svc.Update(ctx, anon, "mine", upd, 0)
		wantTemplateCode(t, err, "AUTHENTICATION_REQUIRED")
		_, err = e.svc.Update(ctx, e.admin, "echo-agent", upd, 0)
		wantTemplateCode(t, err, "TEMPLATE_READ_ONLY")
		_, err = e.svc.Update(ctx, e.alice, "absent", upd, 0)
		wantTemplateCode(t, err, "TEMPLATE_NOT_FOUND")
		renamed := templateInput("other")
		_, err = e.svc.Update(ctx, e.alice, "mine", renamed, 0)
		wantTemplateCode(t, err, "INVALID_TEMPLATE_NAME")
		u, err := e.svc.Update(ctx, e.alice, "mine", upd, 1)
		if err != nil || u.Version != 2 || u.Description != "Changed." || u.OwnerID != e.alice.ID {
			t.Fatalf("update = %+v, %v", u, err)
		}
		_, err = e.svc.Update(ctx, e.alice, "mine", upd, 1)
		wantTemplateCode(t, err, "TEMPLATE_VERSION_MISMATCH")
		badUpd := upd
		badUpd.Kind = "rust"
		_, err = e.svc.Update(ctx, e.alice, "mine", badUpd, 0)
		wantTemplateCode(t, err, "INVALID_KIND")
		if u, err = e.svc.Update(ctx, e.admin, "mine", upd, 0); err != nil || u.Version != 3 {
			t.Fatalf("admin update = %+v, %v", u, err)
		}

		// Delete.
		wantTemplateCode(t, e.svc.Delete(ctx, e.bob, "mine"), "FORBIDDEN")
		wantTemplateCode(t, e.svc.Delete(ctx, e.alice, "llm-agent"), "TEMPLATE_READ_ONLY")
		if err := e.svc.Delete(ctx, e.alice, "mine"); err != nil {
			t.Fatal(err)
		}
		wantTemplateCode(t, e.svc.Delete(ctx, e.alice, "mine"), "TEMPLATE_NOT_FOUND")
	})
}

func TestTemplates_ConcurrentUpdatesLoseNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newTemplateEnv(t, db)
		if _, err := e.svc.Create(ctx, e.alice, templateInput("busy")); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := templateInput("")
				in.Description = fmt.Sprintf("writer %d", i)
				_, err := e.svc.Update(ctx, e.alice, "busy", in, 0)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			if err == nil {
				ok++
			} else if !errors.Is(err, registry.ErrTemplateChanged) {
				t.Errorf("update: %v", err)
			}
		}
		got, err := e.svc.Get(ctx, "busy")
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 1+ok {
			t.Fatalf("version %d after %d successful updates", got.Version, ok)
		}
	})
}

func TestTemplates_LimitPerOwner(t *testing.T) {
	ctx := context.Background()
	e := newTemplateEnv(t, storetest.SQLite(t))
	for i := range registry.MaxTemplatesPerOwner {
		if _, err := e.svc.Create(ctx, e.alice, templateInput(fmt.Sprintf("t-%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.svc.Create(ctx, e.alice, templateInput("one-more"))
	wantTemplateCode(t, err, "TOO_MANY_TEMPLATES")
}
