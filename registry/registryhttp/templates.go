package registryhttp

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/cardtemplate"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/registry"
)

// Templates serves the agent-card template routes under /api/v1/templates. Reading and
// rendering are public; writing needs a developer (the service asks the policy).
type Templates struct {
	Service *registry.Templates
}

// ParamView is a template parameter as the API shows it.
type ParamView struct {
	Name        string   `json:"name" maxLength:"63" example:"model"`
	Type        string   `json:"type" maxLength:"16" doc:"string, integer, number, boolean, url, string_list or enum"`
	Description string   `json:"description,omitempty" maxLength:"2000"`
	Required    bool     `json:"required,omitempty"`
	Default     any      `json:"default,omitempty" doc:"A value of the parameter's type"`
	Enum        []string `json:"enum,omitempty" maxItems:"64"`
}

// TemplateView is an agent-card template as the API shows it.
type TemplateView struct {
	Name        string          `json:"name" example:"echo-agent"`
	Description string          `json:"description"`
	Kind        string          `json:"kind" enum:"echo,llm,tool" doc:"The project skeleton 'sovereign agent new' generates"`
	Parameters  []ParamView     `json:"parameters"`
	Card        json.RawMessage `json:"card" doc:"An A2A v1.0 agent card whose string values may hold ${param} placeholders"`
	Builtin     bool            `json:"builtin"`
	OwnerID     string          `json:"owner_id,omitempty"`
	Version     int             `json:"version"`
	CreatedAt   *time.Time      `json:"created_at,omitempty"`
	UpdatedAt   *time.Time      `json:"updated_at,omitempty"`
}

func templateView(t *cardtemplate.Template) TemplateView {
	v := TemplateView{Name: t.Name, Description: t.Description, Kind: string(t.Kind), Parameters: make([]ParamView, 0, len(t.Parameters)),
		Card: t.Card, Builtin: t.Builtin, OwnerID: t.OwnerID, Version: t.Version}
	for _, p := range t.Parameters {
		v.Parameters = append(v.Parameters, ParamView{Name: p.Name, Type: string(p.Type), Description: p.Description,
			Required: p.Required, Default: p.Default, Enum: p.Enum})
	}
	if !t.CreatedAt.IsZero() {
		c, u := t.CreatedAt, t.UpdatedAt
		v.CreatedAt, v.UpdatedAt = &c, &u
	}
	return v
}

// Template converts a view back to the domain's template (what `sovereign agent new
// --registry` renders from).
func (v TemplateView) Template() cardtemplate.Template {
	t := cardtemplate.Template{Name: v.Name, Description: v.Description, Kind: cardtemplate.Kind(v.Kind), Card: v.Card,
		Builtin: v.Builtin, OwnerID: v.OwnerID, Version: v.Version}
	t.Parameters = params(v.Parameters)
	if v.CreatedAt != nil {
		t.CreatedAt = *v.CreatedAt
	}
	if v.UpdatedAt != nil {
		t.UpdatedAt = *v.UpdatedAt
	}
	return t
}

// TemplateBody is a template as a developer writes it.
type TemplateBody struct {
	Name        string          `json:"name,omitempty" maxLength:"63" doc:"Required on create; on update it must be the path's name or absent"`
	Description string          `json:"description" maxLength:"4000"`
	Kind        string          `json:"kind" maxLength:"16" doc:"echo, llm or tool"`
	Parameters  []ParamView     `json:"parameters,omitempty" maxItems:"64"`
	Card        json.RawMessage `json:"card" doc:"An A2A v1.0 agent card (JSON object) whose string values may hold ${param} placeholders"`
}

func (b *TemplateBody) input() registry.TemplateInput {
	return registry.TemplateInput{Name: b.Name, Description: b.Description, Kind: cardtemplate.Kind(b.Kind), Card: b.Card,
		Parameters: params(b.Parameters)}
}

// params converts parameter views to the domain's parameters (nil for none).
func params(vs []ParamView) []cardtemplate.Param {
	var out []cardtemplate.Param
	for _, p := range vs {
		out = append(out, cardtemplate.Param{Name: p.Name, Type: cardtemplate.ParamType(p.Type),
			Description: p.Description, Required: p.Required, Default: p.Default, Enum: p.Enum})
	}
	return out
}

// TemplatePage is a page of templates.
type TemplatePage struct {
	Items      []TemplateView `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

type listTemplatesInput struct {
	httpapi.PageParams
	IfNoneMatch string `header:"If-None-Match"`
}

type templatePageOutput struct {
	ETag string `header:"ETag"`
	Body TemplatePage
}

type templateNameInput struct {
	Name string `path:"name" maxLength:"63"`
}

type getTemplateInput struct {
	Name        string `path:"name" maxLength:"63"`
	IfNoneMatch string `header:"If-None-Match"`
}

type templateOutput struct {
	ETag string `header:"ETag"`
	Body TemplateView
}

type createTemplateInput struct {
	Body TemplateBody
}

type updateTemplateInput struct {
	Name    string `path:"name" maxLength:"63"`
	IfMatch string `header:"If-Match" doc:"The ETag the template was read with: the update happens only if it is still current"`
	Body    TemplateBody
}

type renderInput struct {
	Name string `path:"name" maxLength:"63"`
	Body struct {
		Parameters map[string]any `json:"parameters,omitempty" doc:"Parameter values by name; defaults fill in the rest"`
	}
}

type renderOutput struct {
	Body struct {
		Card json.RawMessage `json:"card" doc:"The rendered, validated A2A v1.0 agent card"`
	}
}

var errTemplateChanged = registry.ErrTemplateChanged.With("hint", "If-Match does not match the template's current ETag")

func templateOp(id, method, path, summary string, status int, authenticated bool) huma.Operation {
	return operation("templates", id, method, path, summary, status, authenticated)
}

// Register adds the template routes to api.
func (h *Templates) Register(api huma.API) {
	const base = "/api/v1/templates"
	httpapi.Register(api, templateOp("list-templates", http.MethodGet, base, "Agent-card templates, built-in and stored", http.StatusOK, false), h.list)
	httpapi.Register(api, templateOp("get-template", http.MethodGet, base+"/{name}", "One agent-card template", http.StatusOK, false), h.get)
	httpapi.Register(api, templateOp("create-template", http.MethodPost, base, "Store a new agent-card template (you own it)", http.StatusCreated, true), h.create)
	httpapi.Register(api, templateOp("update-template", http.MethodPut, base+"/{name}", "Replace a stored template (owner or admin; built-ins are read-only)", http.StatusOK, true), h.update)
	httpapi.Register(api, templateOp("delete-template", http.MethodDelete, base+"/{name}", "Delete a stored template (owner or admin)", http.StatusNoContent, true), h.delete)
	httpapi.Register(api, templateOp("render-template", http.MethodPost, base+"/{name}/render", "Render a template into a validated agent card", http.StatusOK, false), h.render)
}

func (h *Templates) list(ctx context.Context, in *listTemplatesInput) (*templatePageOutput, error) {
	page, next, err := httpapi.PageByID(in.Cursor, in.Limit, func(after string, n int) ([]cardtemplate.Template, error) {
		return h.Service.List(ctx, after, n)
	}, func(t cardtemplate.Template) string { return t.Name })
	if err != nil {
		return nil, err
	}
	body := TemplatePage{Items: make([]TemplateView, 0, len(page)), NextCursor: next}
	for i := range page {
		body.Items = append(body.Items, templateView(&page[i]))
	}
	etag, err := httpapi.CheckETag(in.IfNoneMatch, body)
	if err != nil {
		return nil, err
	}
	return &templatePageOutput{ETag: etag, Body: body}, nil
}

func (h *Templates) get(ctx context.Context, in *getTemplateInput) (*templateOutput, error) {
	t, err := h.Service.Get(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	return templateWithETag(in.IfNoneMatch, t)
}

func templateWithETag(ifNoneMatch string, t *cardtemplate.Template) (*templateOutput, error) {
	v := templateView(t)
	etag, err := httpapi.CheckETag(ifNoneMatch, v)
	if err != nil {
		return nil, err
	}
	return &templateOutput{ETag: etag, Body: v}, nil
}

func (h *Templates) create(ctx context.Context, in *createTemplateInput) (*templateOutput, error) {
	t, err := h.Service.Create(ctx, httpapi.Subject(ctx), in.Body.input())
	if err != nil {
		return nil, err
	}
	return templateWithETag("", t)
}

func (h *Templates) update(ctx context.Context, in *updateTemplateInput) (*templateOutput, error) {
	ifVersion := 0
	if in.IfMatch != "" {
		// If-Match names the representation read; the service's compare-and-set on its version
		// keeps an update between this read and the write from being lost.
		cur, err := h.Service.Get(ctx, in.Name)
		if err != nil {
			return nil, err
		}
		etag, err := httpapi.ETag(templateView(cur))
		if err != nil {
			return nil, err
		}
		if !httpapi.Matches(in.IfMatch, etag) {
			return nil, errTemplateChanged.With("version", cur.Version)
		}
		ifVersion = cur.Version
	}
	t, err := h.Service.Update(ctx, httpapi.Subject(ctx), in.Name, in.Body.input(), ifVersion)
	if err != nil {
		return nil, err
	}
	return templateWithETag("", t)
}

func (h *Templates) delete(ctx context.Context, in *templateNameInput) (*struct{}, error) {
	return &struct{}{}, h.Service.Delete(ctx, httpapi.Subject(ctx), in.Name)
}

func (h *Templates) render(ctx context.Context, in *renderInput) (*renderOutput, error) {
	card, err := h.Service.Render(ctx, in.Name, in.Body.Parameters)
	if err != nil {
		return nil, err
	}
	out := &renderOutput{}
	out.Body.Card = card
	return out, nil
}
