package registryhttp

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/httpapi"
)

// Refusals of include_federated.
var (
	ErrFederationOff = apperr.New(apperr.BadRequest, "FEDERATION_UNAVAILABLE", "this registry does not federate")
	// ErrFederatedLocalOnly refuses the filters only this registry can apply (its owners,
	// its ledger's reputation) and paging, which a live query across registries does not offer.
	ErrFederatedLocalOnly = apperr.New(apperr.BadRequest, "FEDERATED_LOCAL_ONLY",
		"include_federated returns one merged page and cannot be combined with cursor, owned_only, min_reputation, tier, sort=reputation or status")
)

func (h *Cards) checkFederated(in *searchInput) error {
	if h.Federation == nil {
		return ErrFederationOff.With("field", "include_federated")
	}
	if in.Cursor != "" || in.OwnedOnly || in.MinReputation != "" || in.Tier != "" || in.Sort == "reputation" || len(in.rawQuery["status"]) > 0 {
		return ErrFederatedLocalOnly.With("field", "include_federated")
	}
	return nil
}

// federate replaces body's local items by the merged ranking of this registry's and its
// peers' hits, each tagged with its origin registry, and adds the peers section.
func (h *Cards) federate(ctx context.Context, q *discovery.Query, ranked bool, body *CardPage) error {
	local, err := h.hits(body.Items)
	if err != nil {
		return err
	}
	fq := federation.Query{Text: q.Text, Tags: q.Tags, Skills: q.Skills, Capabilities: q.Capabilities, Limit: q.Limit,
		Hops: h.Federation.StartHops()}
	res := h.Federation.Query(ctx, fq, local)
	items := make([]CardView, 0, len(res.Hits))
	for _, hit := range res.Hits {
		var v CardView
		if err := json.Unmarshal(hit.Doc, &v); err != nil || v.ID != hit.ID {
			continue // a peer's malformed item is dropped, not shown half-read
		}
		v.OriginRegistry, v.Score = hit.Origin, nil
		if ranked {
			s := hit.Score
			v.Score = &s
		}
		items = append(items, v)
	}
	body.Items, body.Peers, body.NextCursor = items, res.Peers, ""
	if body.Peers == nil {
		body.Peers = []federation.PeerOutcome{}
	}
	return nil
}

// hits are views as federation hits: this registry's own cards and the copies of its peers'
// cards, each with its origin.
func (h *Cards) hits(views []CardView) ([]federation.Hit, error) {
	out := make([]federation.Hit, 0, len(views))
	for _, v := range views {
		if v.OriginRegistry == "" { // a copy kept by sync keeps its origin
			v.OriginRegistry = h.Federation.Self
		}
		doc, err := json.Marshal(v)
		if err != nil {
			return nil, apperr.Internalf("marshal card view: %w", err)
		}
		score := 0
		if v.Score != nil {
			score = *v.Score
		}
		out = append(out, federation.Hit{Origin: v.OriginRegistry, ID: v.ID, Score: score, Doc: doc})
	}
	return out, nil
}

// LocalHits runs q as a discovery search of this registry alone (active cards, the query's
// text and filters, its limit) and returns the results as federation hits: the answer this
// registry gives a peer's live query.
func (h *Cards) LocalHits(ctx context.Context, q federation.Query) ([]federation.Hit, error) {
	raw := url.Values{"tag": q.Tags, "skill": q.Skills, "capability": q.Capabilities}
	in := &searchInput{Q: q.Text, Tag: q.Tags, Skill: q.Skills, Capability: q.Capabilities, rawQuery: raw,
		PageParams: httpapi.PageParams{Limit: max(q.Limit, 1)}}
	if q.Text != "" {
		raw.Set("q", q.Text)
	}
	raw.Set("limit", strconv.Itoa(in.Limit))
	out, err := h.search(ctx, in)
	if err != nil {
		return nil, err
	}
	return h.hits(out.Body.Items)
}

// federatedETag is the ETag of a federated page: weak, over the results and what each peer
// did (its status, results and reason) but not how long it took, so that the same answer
// (from the cache of federated answers, or asked again) has the same tag. If-None-Match
// matching it makes the answer a 304.
func federatedETag(ifNoneMatch string, body CardPage) (string, error) {
	type outcome struct {
		TD, Status, Reason, Via string
		Results                 int
	}
	peers := make([]outcome, len(body.Peers))
	for i, o := range body.Peers {
		peers[i] = outcome{o.TrustDomain, o.Status, o.Reason, o.Via, o.Results}
	}
	body.Peers = nil
	etag, err := httpapi.ETag(struct {
		Page  CardPage
		Peers []outcome
	}{body, peers})
	if err != nil {
		return "", err
	}
	etag = "W/" + etag
	if httpapi.Matches(ifNoneMatch, etag) {
		return "", httpapi.NotModified(etag)
	}
	return etag, nil
}
