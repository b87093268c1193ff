package registrysql

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/cardtemplate"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/store"
)

// Templates implements registry.TemplateStore: stored agent-card templates in the
// card_templates table, parameters and card as JSON text.
type Templates struct {
	db   *store.DB
	w, r store.Querier
	tx   bool
}

var _ registry.TemplateStore = (*Templates)(nil)

// NewTemplates returns the template store over db.
func NewTemplates(db *store.DB) *Templates {
	return &Templates{db: db, w: db.Write(), r: db.Read()}
}

// TemplateTx runs fn in one serializable transaction (retried as a whole on conflict). Calling
// TemplateTx inside fn joins the outer transaction.
func (s *Templates) TemplateTx(ctx context.Context, fn func(registry.TemplateStore) error) error {
	if s.tx {
		return fn(s)
	}
	return s.db.InSerializableTx(ctx, func(tx *sql.Tx) error {
		q := s.db.TxQuerier(tx)
		return fn(&Templates{db: s.db, w: q, r: q, tx: true})
	})
}

const templateCols = `name, description, kind, parameters, card, owner_id, version, created_at, updated_at`

func scanTemplate(sc interface{ Scan(...any) error }) (*cardtemplate.Template, error) {
	var t cardtemplate.Template
	var kind, params, card string
	if err := sc.Scan(&t.Name, &t.Description, &kind, &params, &card, &t.OwnerID, &t.Version,
		store.ScanTime(&t.CreatedAt), store.ScanTime(&t.UpdatedAt)); err != nil {
		return nil, err
	}
	t.Kind = cardtemplate.Kind(kind)
	if err := json.Unmarshal([]byte(params), &t.Parameters); err != nil {
		return nil, apperr.Internalf("template %s: stored parameters: %w", t.Name, err)
	}
	if t.Parameters == nil {
		t.Parameters = []cardtemplate.Param{}
	}
	t.Card = json.RawMessage(card)
	return &t, nil
}

func templateParams(t *cardtemplate.Template) (string, error) {
	ps := t.Parameters
	if ps == nil {
		ps = []cardtemplate.Param{}
	}
	b, err := json.Marshal(ps)
	if err != nil {
		return "", apperr.Internalf("template %s: encode parameters: %w", t.Name, err)
	}
	return string(b), nil
}

// InsertTemplate stores a new template; a taken name is registry.ErrTemplateExists.
func (s *Templates) InsertTemplate(ctx context.Context, t *cardtemplate.Template) error {
	params, err := templateParams(t)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO card_templates (`+templateCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.Name, t.Description, string(t.Kind), params, string(t.Card), t.OwnerID, t.Version, store.Time(t.CreatedAt), store.Time(t.UpdatedAt))
	if store.IsUniqueViolation(err) {
		return registry.ErrTemplateExists.With("field", "name")
	}
	return err
}

// Template returns the stored template named name.
func (s *Templates) Template(ctx context.Context, name string) (*cardtemplate.Template, error) {
	t, err := scanTemplate(s.r.QueryRowContext(ctx, `SELECT `+templateCols+` FROM card_templates WHERE name = $1`, name))
	return t, notFound(err, registry.ErrTemplateNotFound)
}

// UpdateTemplate writes t while the stored version is prevVersion: registry.ErrTemplateChanged
// when it is not, registry.ErrTemplateNotFound when there is no such template.
func (s *Templates) UpdateTemplate(ctx context.Context, t *cardtemplate.Template, prevVersion int) error {
	params, err := templateParams(t)
	if err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE card_templates SET description = $2, kind = $3, parameters = $4, card = $5, version = $6, updated_at = $7
		WHERE name = $1 AND version = $8`,
		t.Name, t.Description, string(t.Kind), params, string(t.Card), t.Version, store.Time(t.UpdatedAt), prevVersion)
	if err := mustAffect(res, err, errNotFound); apperr.KindOf(err) == apperr.NotFound {
		if _, gerr := s.Template(ctx, t.Name); gerr != nil {
			return gerr
		}
		return registry.ErrTemplateChanged
	} else if err != nil {
		return err
	}
	return nil
}

// DeleteTemplate removes the template named name.
func (s *Templates) DeleteTemplate(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM card_templates WHERE name = $1`, name)
	return mustAffect(res, err, registry.ErrTemplateNotFound)
}

// ListTemplates returns up to limit templates with name > after, in name order.
func (s *Templates) ListTemplates(ctx context.Context, after string, limit int) ([]cardtemplate.Template, error) {
	rows, err := s.db.Replica(ctx).QueryContext(ctx, `SELECT `+templateCols+` FROM card_templates WHERE name > $1 ORDER BY name LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cardtemplate.Template
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// CountTemplates counts the templates ownerID owns.
func (s *Templates) CountTemplates(ctx context.Context, ownerID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM card_templates WHERE owner_id = $1`, ownerID).Scan(&n)
	return n, err
}
