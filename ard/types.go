// Package ard is the registry's side of Agentic Resource Discovery (ARD v0.9, the OpenAPI and
// schemas in ard/testdata): the wire types of the search, explore and list APIs and of the
// ai-catalog.json manifest, their strict decoding (unknown fields and wrong types are
// INVALID_ARGUMENT errors that name the field), the mapping of an A2A agent card to a catalog
// entry (Entry), the mapping of ARD queries and filter expressions to discovery queries
// (Selection, ParseFilter, ParseOrderBy), relevance scores and page tokens bound to their query.
//
// The package does no I/O; ard/ardhttp serves it. Every input error is an *apperr.Error of kind
// BadRequest with code INVALID_ARGUMENT (see docs/ARD.md for what is supported).
package ard

import (
	"encoding/json"

	"github.com/sovereign-stack/sovereign/apperr"
)

// MediaTypeA2A is the catalog-entry type of an A2A agent card, the only type this registry holds.
const MediaTypeA2A = "application/a2a-agent-card+json"

// SpecVersion is the ai-catalog.json specVersion this package writes.
const SpecVersion = "1.0"

// CodeInvalidArgument is the code of every input error of this package.
const CodeInvalidArgument = "INVALID_ARGUMENT"

// Federation modes of a search request. This registry has no peers: every mode answers from the
// local catalog and returns no referrals.
const (
	FederationAuto      = "auto"
	FederationReferrals = "referrals"
	FederationNone      = "none"
)

// Limits of requests and pages.
const (
	// MaxBodyBytes is the largest request body of the POST routes.
	MaxBodyBytes = 64 << 10
	// DefaultSearchPageSize and DefaultListPageSize are the page sizes when none is asked for.
	DefaultSearchPageSize = 10
	DefaultListPageSize   = 20
	// MaxPageSize is the largest page of search and list (a larger search pageSize is cut to it;
	// a larger list pageSize breaks the schema and is refused).
	MaxPageSize = 100
	// MaxManifestEntries is the largest page of the ai-catalog.json manifest.
	MaxManifestEntries = 1000
	// MaxTextBytes is the longest query text.
	MaxTextBytes = 1024
	// MaxFilterBytes is the longest filter expression of GET /agents.
	MaxFilterBytes = 2048
	// MaxFilterTerms is the most terms of one filter expression.
	MaxFilterTerms = 32
	// MaxFilterValues is the most values of one filter field (discovery's limit).
	MaxFilterValues = 16
	// MaxFilterValueBytes is the longest filter value.
	MaxFilterValueBytes = 256
	// MaxFacets is the most facets of one explore request.
	MaxFacets = 10
	// DefaultFacetLimit and MaxFacetLimit bound the buckets of one facet.
	DefaultFacetLimit = 20
	MaxFacetLimit     = 1000
	// MaxPageTokenBytes is the longest page token accepted.
	MaxPageTokenBytes = 512
)

// QueryModel is the query of search and explore: free text and exact-match filters. Filter
// maps a field to the values required (a scalar in JSON is a one-value list).
type QueryModel struct {
	Text   string              `json:"text,omitempty"`
	Filter map[string][]string `json:"filter,omitempty"`
}

// SearchRequest is the body of POST /search. Text is required (it may be empty).
type SearchRequest struct {
	Query      QueryModel `json:"query"`
	Federation string     `json:"federation,omitempty"`
	PageSize   int        `json:"pageSize,omitempty"`
	PageToken  string     `json:"pageToken,omitempty"`
}

// SearchResponse is the body of a search answer. Referrals are only ever set in referrals mode.
type SearchResponse struct {
	Results   []SearchResultItem `json:"results"`
	Referrals []RegistryReferral `json:"referrals,omitempty"`
	PageToken string             `json:"pageToken,omitempty"`
}

// SearchResultItem is a catalog entry with its relevance (0–100) and the registry that holds it.
type SearchResultItem struct {
	CatalogEntry
	Score  int    `json:"score"`
	Source string `json:"source"`
}

// RegistryReferral names another registry a client may ask.
type RegistryReferral struct {
	Identifier  string `json:"identifier"`
	DisplayName string `json:"displayName"`
	Type        string `json:"type"`
	URL         string `json:"url"`
}

// ExploreRequest is the body of POST /explore: facet counts over the cards a query matches.
type ExploreRequest struct {
	Query      QueryModel `json:"query"`
	ResultType ResultType `json:"resultType"`
}

// ResultType asks explore for facets.
type ResultType struct {
	Facets []FacetRequest `json:"facets"`
}

// FacetRequest asks for the counts of one field; the decoder fills Limit and MinCount defaults.
type FacetRequest struct {
	Field    string `json:"field"`
	Limit    int    `json:"limit,omitempty"`
	MinCount int    `json:"minCount,omitempty"`
}

// ExploreResponse is the body of an explore answer; Facets is keyed by the requested field.
type ExploreResponse struct {
	ResultType string                 `json:"resultType"`
	Facets     map[string]FacetResult `json:"facets"`
}

// FacetResult holds a facet's buckets, most frequent first; OtherCount sums the counts of the
// values left out (by limit or minCount).
type FacetResult struct {
	Buckets    []Bucket `json:"buckets"`
	OtherCount int      `json:"otherCount,omitempty"`
}

// Bucket is one value of a facet and how many matching cards have it.
type Bucket struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// ListResponse is the body of GET /agents.
type ListResponse struct {
	Items     []CatalogEntry `json:"items"`
	Total     *int           `json:"total,omitempty"`
	PageToken string         `json:"pageToken,omitempty"`
}

// CatalogEntry is one artifact of a catalog. Exactly one of URL and Data is set.
type CatalogEntry struct {
	Identifier            string          `json:"identifier"`
	DisplayName           string          `json:"displayName"`
	Type                  string          `json:"type"`
	URL                   string          `json:"url,omitempty"`
	Data                  json.RawMessage `json:"data,omitempty"`
	Description           string          `json:"description,omitempty"`
	Tags                  []string        `json:"tags,omitempty"`
	Capabilities          []string        `json:"capabilities,omitempty"`
	RepresentativeQueries []string        `json:"representativeQueries,omitempty"`
	Version               string          `json:"version,omitempty"`
	UpdatedAt             string          `json:"updatedAt,omitempty"`
	// Metadata holds scalar values only (string, number, boolean, null).
	Metadata      map[string]any `json:"metadata,omitempty"`
	TrustManifest *TrustManifest `json:"trustManifest,omitempty"`
}

// Identity types of a trust manifest.
const (
	IdentitySPIFFE = "spiffe"
	IdentityDID    = "did"
	IdentityHTTPS  = "https"
	IdentityOther  = "other"
)

// TrustManifest is the identity envelope of an entry (the subset this registry fills).
type TrustManifest struct {
	Identity     string `json:"identity"`
	IdentityType string `json:"identityType,omitempty"`
	Signature    string `json:"signature,omitempty"`
}

// Manifest is an ai-catalog.json document.
type Manifest struct {
	SpecVersion string         `json:"specVersion"`
	Host        *Host          `json:"host,omitempty"`
	Entries     []CatalogEntry `json:"entries"`
}

// Host is the publisher of a manifest.
type Host struct {
	DisplayName      string `json:"displayName"`
	Identifier       string `json:"identifier,omitempty"`
	DocumentationURL string `json:"documentationUrl,omitempty"`
}

// Error is the body of every ARD error response.
type Error struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// invalid is an input error: 400 INVALID_ARGUMENT with a message naming the problem.
func invalid(format string, args ...any) *apperr.Error {
	return apperr.Errorf(apperr.BadRequest, CodeInvalidArgument, format, args...)
}
