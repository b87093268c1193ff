// Package auditorhttp serves the auditor over HTTP (/api/v1/auditor/…): its flags and their
// review (acknowledge, resolve, escalate) and its rules' parameters. It decodes requests, calls
// auditor.Service with the authenticated subject, and encodes the answers; the rules live in
// package auditor and the policy (admins only).
package auditorhttp

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/auditor"
	"github.com/sovereign-stack/sovereign/httpapi"
)

// Auditor serves the auditor routes.
type Auditor struct {
	Service *auditor.Service
}

type flagsInput struct {
	Status  string `query:"status" maxLength:"32" doc:"Only flags in this status: NEW, ACKNOWLEDGED, RESOLVED or ESCALATED"`
	Rule    string `query:"rule" maxLength:"64" doc:"Only flags of this rule"`
	Subject string `query:"subject" maxLength:"128" doc:"Only flags about this agent"`
	httpapi.PageParams
}

// FlagPage is a page of flags, newest first.
type FlagPage struct {
	Items      []auditor.Flag `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

type flagsOutput struct{ Body FlagPage }

type flagInput struct {
	ID string `path:"id" maxLength:"64" doc:"The flag's id"`
}

type flagOutput struct{ Body auditor.Flag }

type ackInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Note string `json:"note,omitempty" maxLength:"4096" doc:"At most 1000 bytes"`
	}
}

type resolveInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Resolution string `json:"resolution" maxLength:"32" doc:"confirmed (it counts against the implicated agents' reputation) or dismissed"`
		Note       string `json:"note,omitempty" maxLength:"4096" doc:"At most 1000 bytes"`
	}
}

type escalateInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		To   string `json:"to" maxLength:"32" doc:"suspension (the flag's subject is suspended, its wallet frozen) or dispute (filed by the system)"`
		Note string `json:"note,omitempty" maxLength:"4096" doc:"At most 1000 bytes"`
	}
}

// ConsumerView is where the auditor's consumer is in the ledger's event log.
type ConsumerView struct {
	Cursor     uint64     `json:"cursor" doc:"The last ledger event audited"`
	CursorTime *time.Time `json:"cursor_time,omitempty" doc:"When that event was applied"`
	Holder     string     `json:"holder,omitempty" doc:"The replica holding the consumer's lease"`
}

// RulesView are the rules' parameters in force and the consumer's position.
type RulesView struct {
	Rules    []auditor.Rule `json:"rules" doc:"Every rule"`
	Params   auditor.Params `json:"params"`
	Consumer ConsumerView   `json:"consumer"`
}

type rulesOutput struct{ Body RulesView }

type setRulesInput struct {
	Body auditor.Params
}

func op(id, method, path, summary string) huma.Operation {
	return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"auditor"}, Security: httpapi.Authenticated}
}

// Register adds the auditor routes to api.
func (h *Auditor) Register(api huma.API) {
	httpapi.Register(api, op("auditor-flags", http.MethodGet, "/api/v1/auditor/flags", "The auditor's flags, newest first (admin)"), h.flags)
	httpapi.Register(api, op("auditor-flag", http.MethodGet, "/api/v1/auditor/flags/{id}", "One flag (admin)"), h.flag)
	httpapi.Register(api, op("auditor-flag-ack", http.MethodPost, "/api/v1/auditor/flags/{id}/acknowledge", "Acknowledge a NEW flag (admin)"), h.ack)
	httpapi.Register(api, op("auditor-flag-resolve", http.MethodPost, "/api/v1/auditor/flags/{id}/resolve",
		"Resolve a flag as confirmed or dismissed (admin)"), h.resolve)
	httpapi.Register(api, op("auditor-flag-escalate", http.MethodPost, "/api/v1/auditor/flags/{id}/escalate",
		"Escalate a flag: suspend its subject, or file a dispute (admin)"), h.escalate)
	httpapi.Register(api, op("auditor-rules", http.MethodGet, "/api/v1/auditor/rules", "The rules' thresholds, which are enabled, and the consumer's position (admin)"), h.rules)
	httpapi.Register(api, op("auditor-rules-set", http.MethodPut, "/api/v1/auditor/rules", "Replace the rules' thresholds and enable or disable rules (admin)"), h.setRules)
}

type flagCursor struct {
	ID string `json:"i"`
}

func (h *Auditor) flags(ctx context.Context, in *flagsInput) (*flagsOutput, error) {
	q := auditor.FlagQuery{Status: auditor.Status(in.Status), Rule: auditor.Rule(in.Rule), Subject: in.Subject, Limit: in.Limit + 1}
	if in.Cursor != "" {
		var c flagCursor
		if err := httpapi.DecodeCursor(in.Cursor, &c); err != nil {
			return nil, err
		}
		q.Before = c.ID
	}
	items, err := h.Service.Flags(ctx, httpapi.Subject(ctx), q)
	if err != nil {
		return nil, err
	}
	page, next := httpapi.Paginate(items, in.Limit, func(f auditor.Flag) any { return flagCursor{ID: f.ID} })
	return &flagsOutput{Body: FlagPage{Items: page, NextCursor: next}}, nil
}

func (h *Auditor) flag(ctx context.Context, in *flagInput) (*flagOutput, error) {
	f, err := h.Service.Flag(ctx, httpapi.Subject(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &flagOutput{Body: f}, nil
}

func (h *Auditor) ack(ctx context.Context, in *ackInput) (*flagOutput, error) {
	f, err := h.Service.Acknowledge(ctx, httpapi.Subject(ctx), in.ID, in.Body.Note)
	if err != nil {
		return nil, err
	}
	return &flagOutput{Body: f}, nil
}

func (h *Auditor) resolve(ctx context.Context, in *resolveInput) (*flagOutput, error) {
	f, err := h.Service.Resolve(ctx, httpapi.Subject(ctx), in.ID, in.Body.Resolution, in.Body.Note)
	if err != nil {
		return nil, err
	}
	return &flagOutput{Body: f}, nil
}

func (h *Auditor) escalate(ctx context.Context, in *escalateInput) (*flagOutput, error) {
	f, err := h.Service.Escalate(ctx, httpapi.Subject(ctx), in.ID, in.Body.To, in.Body.Note)
	if err != nil {
		return nil, err
	}
	return &flagOutput{Body: f}, nil
}

func (h *Auditor) rulesView(ctx context.Context, p auditor.Params) (*rulesOutput, error) {
	cp, err := h.Service.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	v := RulesView{Rules: auditor.Rules, Params: p, Consumer: ConsumerView{Cursor: cp.Cursor, Holder: cp.Holder}}
	if !cp.CursorTime.IsZero() {
		v.Consumer.CursorTime = &cp.CursorTime
	}
	return &rulesOutput{Body: v}, nil
}

func (h *Auditor) rules(ctx context.Context, _ *struct{}) (*rulesOutput, error) {
	p, err := h.Service.Params(ctx, httpapi.Subject(ctx))
	if err != nil {
		return nil, err
	}
	return h.rulesView(ctx, p)
}

func (h *Auditor) setRules(ctx context.Context, in *setRulesInput) (*rulesOutput, error) {
	p, err := h.Service.SetParams(ctx, httpapi.Subject(ctx), in.Body)
	if err != nil {
		return nil, err
	}
	return h.rulesView(ctx, p)
}
