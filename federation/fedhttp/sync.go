package fedhttp

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/httpapi"
)

// The sync routes served to peers (mutual TLS).
const (
	ChangesPath = "/federation/v1/changes"
	HintPath    = "/federation/v1/hint"
)

type changesInput struct {
	Since string `query:"since" maxLength:"64" doc:"The next_cursor of the previous page (none: from the beginning)"`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"500" doc:"Changes per page"`
}

type changesOutput struct {
	Body federation.ChangePage
}

// HintAnswer acknowledges a hint.
type HintAnswer struct {
	// Pulling says whether this registry pulls the hinting peer's feed now.
	Pulling bool `json:"pulling"`
}

type hintOutput struct {
	Body HintAnswer
}

// registerSync adds the change feed and the hint (when the handler has a feed).
func (h *Handler) registerSync(api huma.API) {
	if h.Feed == nil {
		return
	}
	httpapi.Register(api, op("federation-changes", http.MethodGet, ChangesPath,
		"This registry's own card changes, with tombstones, in order (mutual TLS with a peer registry's X.509-SVID)", http.StatusOK), h.changes)
	httpapi.Register(api, op("federation-hint", http.MethodPost, HintPath,
		"A peer registry says its cards changed: this registry pulls its feed now (mutual TLS)", http.StatusAccepted), h.hint)
}

func (h *Handler) changes(ctx context.Context, in *changesInput) (*changesOutput, error) {
	if _, err := h.Service.AuthorizeSync(ctx, httpapi.Subject(ctx)); err != nil {
		return nil, err
	}
	page, err := federation.Page(ctx, h.Feed, h.Fanout.Self, in.Since, in.Limit)
	if err != nil {
		return nil, err
	}
	return &changesOutput{Body: page}, nil
}

func (h *Handler) hint(ctx context.Context, _ *struct{}) (*hintOutput, error) {
	peer, err := h.Service.AuthorizeSync(ctx, httpapi.Subject(ctx))
	if err != nil {
		return nil, err
	}
	pulling := h.Syncer != nil && h.Syncer.Hint(peer.TrustDomain)
	return &hintOutput{Body: HintAnswer{Pulling: pulling}}, nil
}
