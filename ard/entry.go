package ard

import (
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/registry"
)

// Metadata keys of a catalog entry.
const (
	MetaRegistryID = "registryId"
	MetaStatus     = "status"
	MetaSignature  = "signature"
	// MetaOrigin is the trust domain of the federation peer a copy of a card came from.
	MetaOrigin = "originRegistry"
)

// Entry is the catalog entry of a card: identifier urn; displayName, description and version
// from the card; type MediaTypeA2A; url cardURL (where the registry serves the card — an entry
// references its card, it never embeds it); tags the card's tags; capabilities its skill ids;
// representativeQueries its skills' examples when there are at least 2 (the first 5: the
// schema allows 2 to 5); updatedAt in RFC 3339 (UTC); metadata the registry id, status and
// signature status (and, for a copy of a federation peer's card, its origin registry); and a trust manifest only when the card has an identity (its SPIFFE ID,
// else its DID).
func Entry(c *registry.AgentCard, urn, cardURL string) CatalogEntry {
	card := c.Proto()
	e := CatalogEntry{
		Identifier:   urn,
		DisplayName:  card.GetName(),
		Type:         MediaTypeA2A,
		URL:          cardURL,
		Description:  card.GetDescription(),
		Tags:         nonEmpty(c.Tags),
		Capabilities: nonEmpty(c.Skills),
		Version:      card.GetVersion(),
		Metadata:     map[string]any{MetaRegistryID: c.ID, MetaStatus: c.Status, MetaSignature: c.SignatureStatus},
	}
	if c.Origin != "" {
		e.Metadata[MetaOrigin] = c.Origin
	}
	if !c.UpdatedAt.IsZero() {
		e.UpdatedAt = c.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	var examples []string
	for _, sk := range card.GetSkills() {
		for _, ex := range sk.GetExamples() {
			if strings.TrimSpace(ex) != "" {
				examples = append(examples, ex)
			}
		}
	}
	if len(examples) >= 2 {
		e.RepresentativeQueries = examples[:min(len(examples), 5)]
	}
	switch {
	case c.SPIFFEID != "":
		e.TrustManifest = &TrustManifest{Identity: c.SPIFFEID, IdentityType: IdentitySPIFFE}
	case c.AgentDID != "":
		e.TrustManifest = &TrustManifest{Identity: c.AgentDID, IdentityType: IdentityDID}
	}
	return e
}

// nonEmpty drops empty values and returns nil for an empty list (the schema's arrays, per the
// CDDL, hold at least one value when present).
func nonEmpty(v []string) []string {
	var out []string
	for _, s := range v {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
