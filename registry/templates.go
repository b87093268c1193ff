package registry

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/cardtemplate"
	"github.com/sovereign-stack/sovereign/policy"
)

// MaxTemplatesPerOwner is how many card templates one developer may store.
const MaxTemplatesPerOwner = 100

// Errors of the template service.
var (
	ErrTemplateNotFound  = apperr.New(apperr.NotFound, "TEMPLATE_NOT_FOUND", "no template has this name")
	ErrTemplateExists    = apperr.New(apperr.Conflict, "TEMPLATE_EXISTS", "a template with this name exists")
	ErrTemplateReadOnly  = apperr.New(apperr.Forbidden, "TEMPLATE_READ_ONLY", "built-in templates cannot be changed or deleted")
	ErrTemplateChanged   = apperr.New(apperr.Conflict, "TEMPLATE_VERSION_MISMATCH", "the template changed since you read it; read it again and retry")
	ErrTooManyTemplates  = apperr.New(apperr.Conflict, "TOO_MANY_TEMPLATES", "you have as many templates as one developer may store; delete one first")
	errTemplateNameField = cardtemplate.ErrInvalidName.With("field", "name")
)

// TemplateStore is the storage the template service needs: stored (not built-in) templates,
// keyed by name. Template, UpdateTemplate and DeleteTemplate return ErrTemplateNotFound when no
// template has the name; InsertTemplate returns ErrTemplateExists for a taken name;
// UpdateTemplate is compare-and-set on the version: it writes t only while the stored version is
// prevVersion, else returns ErrTemplateChanged.
type TemplateStore interface {
	// TemplateTx runs fn with a store whose calls all happen in one serializable transaction.
	TemplateTx(ctx context.Context, fn func(TemplateStore) error) error
	InsertTemplate(ctx context.Context, t *cardtemplate.Template) error
	Template(ctx context.Context, name string) (*cardtemplate.Template, error)
	UpdateTemplate(ctx context.Context, t *cardtemplate.Template, prevVersion int) error
	DeleteTemplate(ctx context.Context, name string) error
	// ListTemplates returns up to limit stored templates with name > after, in name order.
	ListTemplates(ctx context.Context, after string, limit int) ([]cardtemplate.Template, error)
	CountTemplates(ctx context.Context, ownerID string) (int, error)
}

// Templates is the agent-card template service. Reading and rendering templates is public;
// any developer may create one (which it then owns); only the owner or an admin may change or
// delete a stored template, and nobody the built-in ones. Every template written passes
// cardtemplate.Validate, so every stored template renders.
type Templates struct {
	store TemplateStore
	authz policy.Decider
	now   func() time.Time
}

// TemplatesConfig configures NewTemplates.
type TemplatesConfig struct {
	Store TemplateStore
	Authz policy.Decider
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewTemplates returns the template service.
func NewTemplates(c TemplatesConfig) (*Templates, error) {
	if c.Store == nil || c.Authz == nil {
		return nil, errors.New("registry: NewTemplates needs a store and an authorizer")
	}
	t := &Templates{store: c.Store, authz: c.Authz, now: c.Now}
	if t.now == nil {
		t.now = time.Now
	}
	return t, nil
}

func (s *Templates) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Templates) authorize(ctx context.Context, caller policy.Subject, action, owner, name string) error {
	return policy.Authorize(ctx, s.authz, policy.Input{Subject: caller, Action: action,
		Resource: policy.Resource{Kind: "template", ID: name, Owner: owner}, Context: policy.Context{Time: s.clock()}})
}

// List returns up to limit templates, built-in and stored alike, with name > after, in name
// order.
func (s *Templates) List(ctx context.Context, after string, limit int) ([]cardtemplate.Template, error) {
	if limit <= 0 {
		return nil, nil
	}
	stored, err := s.store.ListTemplates(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := stored
	for _, b := range cardtemplate.Builtins() {
		if b.Name > after {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b cardtemplate.Template) int { return strings.Compare(a.Name, b.Name) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Get returns the template named name, built-in or stored.
func (s *Templates) Get(ctx context.Context, name string) (*cardtemplate.Template, error) {
	if b, ok := cardtemplate.Builtin(name); ok {
		return &b, nil
	}
	if !cardtemplate.ValidName(name) {
		return nil, ErrTemplateNotFound
	}
	return s.store.Template(ctx, name)
}

// TemplateInput is the content of a template as a developer writes it.
type TemplateInput struct {
	Name        string
	Description string
	Kind        cardtemplate.Kind
	Parameters  []cardtemplate.Param
	Card        []byte
}

// Create stores a new template owned by the caller. A name taken by a built-in or a stored
// template is TEMPLATE_EXISTS.
func (s *Templates) Create(ctx context.Context, caller policy.Subject, in TemplateInput) (*cardtemplate.Template, error) {
	if err := s.authorize(ctx, caller, policy.ActionTemplateCreate, caller.ID, in.Name); err != nil {
		return nil, err
	}
	now := s.clock()
	t := &cardtemplate.Template{Name: in.Name, Description: in.Description, Kind: in.Kind, Parameters: in.Parameters,
		Card: in.Card, OwnerID: caller.ID, Version: 1, CreatedAt: now, UpdatedAt: now}
	if t.Parameters == nil {
		t.Parameters = []cardtemplate.Param{}
	}
	if err := cardtemplate.Validate(*t); err != nil {
		return nil, err
	}
	if _, ok := cardtemplate.Builtin(t.Name); ok {
		return nil, ErrTemplateExists.With("field", "name")
	}
	err := s.store.TemplateTx(ctx, func(st TemplateStore) error {
		n, err := st.CountTemplates(ctx, caller.ID)
		if err != nil {
			return err
		}
		if n >= MaxTemplatesPerOwner {
			return ErrTooManyTemplates.With("limit", MaxTemplatesPerOwner)
		}
		return st.InsertTemplate(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Update replaces the description, kind, parameters and card of the stored template named name
// (in.Name must be empty or name) and increments its version. With ifVersion > 0 the update
// happens only while the template is at that version (else TEMPLATE_VERSION_MISMATCH). Built-in
// templates are TEMPLATE_READ_ONLY.
func (s *Templates) Update(ctx context.Context, caller policy.Subject, name string, in TemplateInput, ifVersion int) (*cardtemplate.Template, error) {
	if err := s.checkWritable(caller, name); err != nil {
		return nil, err
	}
	if in.Name != "" && in.Name != name {
		return nil, errTemplateNameField.With("hint", "a template cannot be renamed; create a new one")
	}
	var out *cardtemplate.Template
	err := s.store.TemplateTx(ctx, func(st TemplateStore) error {
		cur, err := st.Template(ctx, name)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, caller, policy.ActionTemplateUpdate, cur.OwnerID, name); err != nil {
			return err
		}
		if ifVersion > 0 && cur.Version != ifVersion {
			return ErrTemplateChanged.With("version", cur.Version)
		}
		t := &cardtemplate.Template{Name: name, Description: in.Description, Kind: in.Kind, Parameters: in.Parameters, Card: in.Card,
			OwnerID: cur.OwnerID, Version: cur.Version + 1, CreatedAt: cur.CreatedAt, UpdatedAt: s.clock()}
		if t.Parameters == nil {
			t.Parameters = []cardtemplate.Param{}
		}
		if err := cardtemplate.Validate(*t); err != nil {
			return err
		}
		if err := st.UpdateTemplate(ctx, t, cur.Version); err != nil {
			return err
		}
		out = t
		return nil
	})
	return out, err
}

// Delete removes the stored template named name for good. Built-in templates are
// TEMPLATE_READ_ONLY.
func (s *Templates) Delete(ctx context.Context, caller policy.Subject, name string) error {
	if err := s.checkWritable(caller, name); err != nil {
		return err
	}
	return s.store.TemplateTx(ctx, func(st TemplateStore) error {
		cur, err := st.Template(ctx, name)
		if err != nil {
			return err
		}
		if err := s.authorize(ctx, caller, policy.ActionTemplateDelete, cur.OwnerID, name); err != nil {
			return err
		}
		return st.DeleteTemplate(ctx, name)
	})
}

// checkWritable refuses anonymous callers (401) and built-in names (403), before any read.
func (s *Templates) checkWritable(caller policy.Subject, name string) error {
	if !signedIn(caller) {
		return policy.ErrAuthRequired
	}
	if _, ok := cardtemplate.Builtin(name); ok {
		return ErrTemplateReadOnly.With("template", name)
	}
	if !cardtemplate.ValidName(name) {
		return ErrTemplateNotFound
	}
	return nil
}

// Render renders the template named name with values into a validated agent card (see
// cardtemplate.Render for the errors).
func (s *Templates) Render(ctx context.Context, name string, values map[string]any) ([]byte, error) {
	t, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return cardtemplate.Render(*t, values)
}
