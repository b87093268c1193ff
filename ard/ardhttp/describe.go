package ardhttp

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/ard"
	"github.com/sovereign-stack/sovereign/httpapi"
)

// Describe adds the ARD routes Handler.Register mounts to api's OpenAPI document (they are served by
// plain handlers, with ARD error bodies {"errorCode","message"} rather than the envelope).
func Describe(api huma.API) {
	errs := func(extra map[int]string) map[int]string {
		m := map[int]string{http.StatusBadRequest: `INVALID_ARGUMENT: an ARD error body {"errorCode","message"}`,
			http.StatusTooManyRequests: "RESOURCE_EXHAUSTED: rate limited (Retry-After)"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	const tag = "ard"
	for _, r := range []httpapi.Route{
		{ID: "ard-search", Method: http.MethodPost, Path: Prefix + "search", Tag: tag, Summary: "ARD search: ranked agents for a natural-language query",
			Request: ard.SearchRequest{}, Body: ard.SearchResponse{}, Errors: errs(nil)},
		{ID: "ard-explore", Method: http.MethodPost, Path: Prefix + "explore", Tag: tag, Summary: "ARD explore: facet counts over the agents a query matches",
			Request: ard.ExploreRequest{}, Body: ard.ExploreResponse{}, Errors: errs(nil)},
		{ID: "ard-list-agents", Method: http.MethodGet, Path: Prefix + "agents", Tag: tag, Summary: "ARD list: the registry's agents as catalog entries, filtered and paged",
			Query: []string{"filter: an ARD filter expression", "orderBy: the sort order", "pageSize: 1 to 100 entries (0: the default)", "pageToken: from nextPageToken"},
			Body:  ard.ListResponse{}, Errors: errs(nil)},
		{ID: "ard-get-agent", Method: http.MethodGet, Path: Prefix + "agents/{urn}", Tag: tag, Summary: "ARD get: one agent's catalog entry by URN",
			Body: ard.CatalogEntry{}, Errors: errs(map[int]string{http.StatusNotFound: "AGENT_NOT_FOUND"})},
		{ID: "ard-manifest", Method: http.MethodGet, Path: ManifestPath, Tag: tag, Summary: "The registry's ARD manifest (ai-catalog.json)",
			Query: []string{"pageToken: the next page of the manifest's entries"}, Body: ard.Manifest{}, Errors: errs(nil)},
	} {
		httpapi.Describe(api, r)
	}
}
