package registry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/policy"
)

// IDPrefixAgent prefixes agent (and agent card) ids.
const IDPrefixAgent = "agt"

// Signature states of a stored card.
const (
	SignatureUnsigned = "unsigned"
	SignatureVerified = "verified"
	SignatureInvalid  = "invalid"
)

// Card changes recorded in a card's history.
const (
	ChangeCreated = "created"
	ChangeUpdated = "updated"
	ChangeDeleted = "deleted"
)

// Errors of the card service.
var (
	ErrCardNotFound        = apperr.New(apperr.NotFound, "CARD_NOT_FOUND", "no agent card with this id")
	ErrCardVersionConflict = apperr.New(apperr.Conflict, "VERSION_CONFLICT", "the card changed since the version you read; fetch it and retry")
	ErrCardUnsigned        = apperr.New(apperr.Invalid, "SIGNATURE_REQUIRED", "signed_only is set but no signature of the card verifies")
	ErrSlugTaken           = apperr.New(apperr.Conflict, "NAME_TAKEN", "another card already uses this name's URN")
	ErrCardAgentSuspended  = apperr.New(apperr.Conflict, "AGENT_SUSPENDED", "the card's agent is suspended: the card keeps the agent's status until the agent is reactivated (POST /api/v1/agents/{id}/status)").With("field", "status")
	ErrCardAgentRevoked    = apperr.New(apperr.Conflict, "AGENT_REVOKED", "the card's agent is revoked: the card stays revoked").With("field", "status")
)

// CheckCardStatus is the rule the card of a registered agent follows: while the agent is
// suspended or revoked the card has the agent's status, so no card update can publish it again
// (409 AGENT_SUSPENDED or AGENT_REVOKED; an update that leaves the status alone keeps the
// agent's). agentStatus is "" for a card no agent is registered with. Stores call it inside
// the transaction that writes the card, with the agent's status as it is then.
func CheckCardStatus(agentStatus, cardStatus string) error {
	switch {
	case agentStatus == AgentSuspended && cardStatus != AgentSuspended:
		return ErrCardAgentSuspended
	case agentStatus == AgentRevoked && cardStatus != AgentRevoked:
		return ErrCardAgentRevoked
	}
	return nil
}

// AgentCard is a published card and what the registry keeps around it.
type AgentCard struct {
	ID      string
	OwnerID string
	// Slug is the card's name in URNs (urn:air:<host>:agent:<slug>), fixed at creation.
	Slug string
	// Name, Description and SkillText are the card's name, description and skills' text.
	Name        string
	Description string
	SkillText   string
	// Card is the parsed card when the record was built from one (Create, Update); records read
	// from the store leave it nil until Proto is called.
	Card *a2apb.AgentCard `json:"-"`
	// JSON is the card's canonical ProtoJSON (agentcard.Marshal), served as is.
	JSON          []byte
	ETag          string
	SourceVersion string
	Status        string
	Version       int
	// SignatureStatus sums up Signatures: verified when one verifies, invalid when there are
	// signatures and none verifies, else unsigned.
	SignatureStatus string
	Signatures      []agentcard.SignatureResult
	SignedOnly      bool
	AgentDID        string
	SPIFFEID        string
	// Origin is the trust domain of the federation peer a copy came from ("" for this
	// registry's own cards); copies are read-only (ErrCardReplica).
	Origin string
	// OriginReputation is a copy's signed portable reputation as its origin sent it.
	OriginReputation []byte
	// OriginSeq is the position of a copy's last change in its origin's feed.
	OriginSeq       int64
	Tags            []string
	Skills          []string
	Capabilities    []string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DeletedAt       *time.Time
	LastHeartbeatAt *time.Time
	// Seq is the position of the card's last change in the change feed.
	Seq int64
	// Revision moves with every change of the card's row, heartbeats included (the store's
	// trigger): the version a cache of cards keeps the newest of.
	Revision int64
}

// Doc is the card as discovery indexes it.
func (c *AgentCard) Doc() *discovery.Doc {
	return &discovery.Doc{ID: c.ID, OwnerID: c.OwnerID, Name: c.Name, Description: c.Description,
		SkillText: c.SkillText, Tags: c.Tags, Skills: c.Skills, Capabilities: c.Capabilities, Status: c.Status,
		UpdatedAt: c.UpdatedAt}
}

// DisambiguateSlug makes the slug unique after a clash with another card's: the name's slug
// plus the end of the card's id.
func (c *AgentCard) DisambiguateSlug() {
	c.Slug += "-" + strings.ToLower(c.ID[len(c.ID)-8:])
}

// Proto returns the parsed card, parsing JSON on first use (discovery pages do not parse the
// cards they list: the API serves JSON as stored). A stored card was validated when it was
// published, so it parses; should it not, Proto returns an empty card.
func (c *AgentCard) Proto() *a2apb.AgentCard {
	if c.Card == nil {
		c.Card = &a2apb.AgentCard{}
		_ = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(c.JSON, c.Card)
	}
	return c.Card
}

// CardVersion is one entry of a card's history.
type CardVersion struct {
	CardID    string
	Version   int
	Change    string
	JSON      []byte
	ChangedBy string
	CreatedAt time.Time
}

// CardChange is one entry of the change feed: the card after the change (Deleted: a tombstone).
type CardChange struct {
	Seq int64
	Doc *discovery.Doc
	// Version is the card's version after the change; Deleted marks a tombstone.
	Version int
	Deleted bool
	// Revision is the card row's revision when the change was read (AgentCard.Revision).
	Revision int64
}

// CardStore keeps agent cards. Writes of one card are serialized by the store (seq order is
// commit order).
type CardStore interface {
	// InsertCard stores a new card with its first version; it sets c.Seq. A taken slug is
	// ErrSlugTaken.
	InsertCard(ctx context.Context, c *AgentCard, by string) error
	// UpdateCard replaces the card when its stored version is c.Version-1 (else
	// ErrCardVersionConflict) and c.Status passes CheckCardStatus against the status of the
	// agent registered with the card, if any, in the same transaction; it records the version
	// and sets c.Seq.
	UpdateCard(ctx context.Context, c *AgentCard, by string) error
	// DeleteCard marks the card deleted at c.DeletedAt when its stored version is c.Version-1.
	DeleteCard(ctx context.Context, c *AgentCard, by string) error
	// Card returns a card, deleted ones included; ErrCardNotFound if there is none.
	Card(ctx context.Context, id string) (*AgentCard, error)
	// CardBySlug returns the card with slug, deleted ones included.
	CardBySlug(ctx context.Context, slug string) (*AgentCard, error)
	// Cards returns the (not deleted) cards with these ids, in the order given, skipping
	// missing ones.
	Cards(ctx context.Context, ids []string) ([]*AgentCard, error)
	// CardHistory returns up to limit versions after version `after`, oldest first.
	CardHistory(ctx context.Context, id string, after, limit int) ([]CardVersion, error)
	// SearchCards answers a discovery query with the store's own full-text index.
	SearchCards(ctx context.Context, q *discovery.Query) (discovery.Result, error)
	// CardChanges returns up to limit changes with seq > after, in seq order.
	CardChanges(ctx context.Context, after int64, limit int) ([]CardChange, error)
	// CardHead is the seq of the last change (0 when there is none).
	CardHead(ctx context.Context) (int64, error)
	// CardDocs returns up to limit cards that are not deleted with id > after, in id order,
	// as discovery indexes them.
	CardDocs(ctx context.Context, after string, limit int) ([]*discovery.Doc, error)
	// OwnCardChanges returns up to limit of this registry's own cards (Origin "", deleted ones
	// included) whose last change has seq > after, in seq order, and the head (CardHead) read
	// before them.
	OwnCardChanges(ctx context.Context, after int64, limit int) ([]*AgentCard, int64, error)
	// ApplyReplicas writes copies of origin's cards (Origin set; DeletedAt set for a
	// tombstone) in one transaction, each with a new seq: a copy is written when its
	// OriginSeq is above the stored one's, else counted stale; an id stored as a card of this
	// registry or of another origin is left alone and returned in foreign. A tombstone of a
	// card never copied is stale. It returns the cards written.
	ApplyReplicas(ctx context.Context, origin string, cards []*AgentCard) (applied []*AgentCard, stale int, foreign []string, err error)
	// DropReplicas marks every live copy of origin's cards deleted at `at`, forgets the
	// OriginSeq of all of them (a feed that restarted applies from its beginning again) and
	// returns the ids of the live ones.
	DropReplicas(ctx context.Context, origin string, at time.Time) ([]string, error)
	// ReplicaOrigins lists the origins of the live copies, in order.
	ReplicaOrigins(ctx context.Context) ([]string, error)
}

// Cards is the agent-card service: publishing, versions, discovery. Writes are authorized by
// the policy; reads are public. Discovery answers from an in-memory index (discovery.Index)
// kept in step with the store's change feed, or from the store's full-text index until the
// in-memory one is loaded.
type Cards struct {
	store CardStore
	authz policy.Decider
	keys  agentcard.KeyResolver
	log   *slog.Logger
	now   func() time.Time
	host  string
	// standings gives discovery the agents' reputation (nil: none).
	standings Standings
	// cache holds card documents (nil: none; see CardCache); revs, when set, is what each
	// cached card is checked against before it is served (ValidateCache).
	cache CardCache
	revs  CardRevisionReader
	// pageRecheck and checked: with revs, a discovery page serves a cached card checked
	// against the store within pageRecheck without checking it again (checked holds when each
	// card's cached revision was last found current).
	pageRecheck time.Duration
	checked     checkedRevisions

	// onLocal hears of each change of this registry's own cards (OnLocalChange).
	onLocal func()

	index    *discovery.Index
	syncMu   sync.Mutex
	seq      int64
	ready    chan struct{}
	readyOne sync.Once
}

// CardsConfig configures NewCards.
type CardsConfig struct {
	Store CardStore
	Authz policy.Decider
	// Host names this registry in URNs (urn:air:<host>:agent:<slug>).
	Host string
	// Keys resolves the keys of card signatures (nil: keys embedded in the signatures).
	Keys   agentcard.KeyResolver
	Logger *slog.Logger
	Now    func() time.Time
	// NoIndex answers discovery from the store's full-text index only.
	NoIndex bool
	// Standings, when set, gives discovery the agents' reputation (filters, sort, and each
	// result's score and tier).
	Standings Standings
	// Cache, when set, caches card documents (see CardCache). It follows the change feed with
	// the in-memory index, so it is used only with the index (not with NoIndex).
	Cache CardCache
	// ValidateCache checks each cached card against the store's current revision before
	// serving it (Store must implement CardRevisionReader; ignored otherwise): for a cache
	// that other replicas' writes do not reach (in process).
	ValidateCache bool
	// PageRecheck, with ValidateCache, lets a discovery page serve a cached card that was
	// found current in the store within this long without checking it again (0: every hit is
	// checked). The server sets the index's sync interval: a page then lags other replicas'
	// writes no more than the index that chose it does. Reads of one card are always checked.
	PageRecheck time.Duration
}

// NewCards returns the card service. Call Load (or Run) to fill the in-memory index.
func NewCards(c CardsConfig) *Cards {
	s := &Cards{store: c.Store, authz: c.Authz, keys: c.Keys, log: c.Logger, now: c.Now, host: c.Host,
		ready: make(chan struct{}), standings: c.Standings}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if !c.NoIndex {
		s.index = discovery.NewIndex()
		s.cache = c.Cache
		if r, ok := c.Store.(CardRevisionReader); ok && c.ValidateCache && c.Cache != nil {
			s.revs = r
			s.pageRecheck = c.PageRecheck
		}
	}
	return s
}

// OnLocalChange sets fn to be called after each change of this registry's own cards made
// through this service (not the copies sync writes): federation hints its peers. Set it
// before serving.
func (s *Cards) OnLocalChange(fn func()) { s.onLocal = fn }

// changedLocal puts this process's own write in the index and tells OnLocalChange's hook.
func (s *Cards) changedLocal(ctx context.Context, c *AgentCard) {
	s.written(ctx, []*AgentCard{c})
	if s.onLocal != nil {
		s.onLocal()
	}
}

// Host is the registry host in this service's URNs.
func (s *Cards) Host() string { return s.host }

// URN is the card's ARD identifier (a copy's is its origin's).
func (s *Cards) URN(c *AgentCard) string {
	if c.Origin != "" {
		return "urn:air:" + c.Slug
	}
	return "urn:air:" + s.host + ":agent:" + c.Slug
}

// CardInput is a card as a client publishes it.
type CardInput struct {
	// JSON is the A2A card (v1.0, or v0.3 to be converted).
	JSON []byte
	// SignedOnly refuses the card unless one of its signatures verifies.
	SignedOnly bool
	// Status is the card's status; empty keeps it (active for a new card).
	Status string
}

// Validate parses and checks a card without storing it.
func (s *Cards) Validate(ctx context.Context, data []byte) (*agentcard.Parsed, error) {
	return agentcard.Parse(ctx, data, s.keys)
}

func (s *Cards) authorize(ctx context.Context, subject policy.Subject, action string, res policy.Resource) error {
	return policy.Authorize(ctx, s.authz, policy.Input{Subject: subject, Action: action, Resource: res, Context: policy.Context{Time: s.now()}})
}

// signedIn reports whether caller came with credentials: the test policy.Authorize makes before
// it answers 401, for the few calls that must answer it before any policy question or read.
func signedIn(caller policy.Subject) bool {
	return caller.Kind != "" && caller.Kind != policy.KindAnonymous && caller.ID != ""
}

// build fills c's card-derived fields from the parsed input.
func (s *Cards) build(ctx context.Context, c *AgentCard, in CardInput) error {
	p, err := agentcard.Parse(ctx, in.JSON, s.keys)
	if err != nil {
		return err
	}
	status := SignatureUnsigned
	if len(p.Signatures) > 0 {
		status = SignatureInvalid
		for _, r := range p.Signatures {
			if r.Verified {
				status = SignatureVerified
			}
		}
	}
	if in.SignedOnly && status != SignatureVerified {
		e := ErrCardUnsigned
		if len(p.Signatures) > 0 {
			e = e.With("signatures", p.Signatures)
		}
		return e
	}
	if in.Status != "" {
		if !slices.Contains(discovery.Statuses, in.Status) {
			return apperr.Errorf(apperr.Invalid, "INVALID_FIELD", "status must be one of %s", strings.Join(discovery.Statuses, ", ")).With("field", "status")
		}
		c.Status = in.Status
	}
	js, err := agentcard.Marshal(p.Card)
	if err != nil {
		return apperr.Internalf("marshal card: %w", err)
	}
	c.Card, c.JSON, c.SourceVersion = p.Card, js, p.SourceVersion
	c.Name, c.Description, c.SkillText = p.Card.GetName(), p.Card.GetDescription(), skillText(p.Card)
	c.SignatureStatus, c.Signatures, c.SignedOnly = status, p.Signatures, in.SignedOnly
	c.Tags, c.Skills, c.Capabilities = cardTerms(p.Card)
	return nil
}

// Create publishes a new card owned by the caller.
func (s *Cards) Create(ctx context.Context, caller policy.Subject, in CardInput) (*AgentCard, error) {
	if err := s.authorize(ctx, caller, policy.ActionAgentCardCreate, policy.Resource{Kind: "agent_card"}); err != nil {
		return nil, err
	}
	c, err := s.NewCard(ctx, caller.ID, in)
	if err != nil {
		return nil, err
	}
	err = s.store.InsertCard(ctx, c, caller.ID)
	if err == ErrSlugTaken {
		// Same name as another card: the URN keeps the name and adds part of the id.
		c.DisambiguateSlug()
		err = s.store.InsertCard(ctx, c, caller.ID)
	}
	if err != nil {
		return nil, err
	}
	s.changedLocal(ctx, c)
	return c, nil
}

// NewCard validates a new card owned by ownerID and builds its record without storing it (bulk
// imports store many at once; Create stores one).
func (s *Cards) NewCard(ctx context.Context, ownerID string, in CardInput) (*AgentCard, error) {
	now := s.now().UTC()
	c := &AgentCard{ID: ids.NewAt(IDPrefixAgent, now), OwnerID: ownerID, Status: discovery.StatusActive, Version: 1,
		CreatedAt: now, UpdatedAt: now}
	if err := s.build(ctx, c, in); err != nil {
		return nil, err
	}
	c.ETag = etag(c)
	c.Slug = Slug(c.Name)
	return c, nil
}

// Get returns a published card (not deleted), from the card cache when it holds it.
func (s *Cards) Get(ctx context.Context, id string) (*AgentCard, error) {
	return published(s.readCard(ctx, id))
}

// GetBySlug returns the published card with this URN name.
func (s *Cards) GetBySlug(ctx context.Context, slug string) (*AgentCard, error) {
	return published(s.store.CardBySlug(ctx, slug))
}

// published passes on a card read from the store unless it is deleted (ErrCardNotFound).
func published(c *AgentCard, err error) (*AgentCard, error) {
	if err != nil {
		return nil, err
	}
	if c.DeletedAt != nil {
		return nil, ErrCardNotFound
	}
	return c, nil
}

// Update replaces a card's content; the owner or an admin may. ifVersion, when not 0, must be
// the current version (optimistic concurrency).
func (s *Cards) Update(ctx context.Context, caller policy.Subject, id string, in CardInput, ifVersion int) (*AgentCard, error) {
	c, err := published(s.store.Card(ctx, id)) // the store's, not the cache's: the version must be current
	if err != nil {
		return nil, err
	}
	if signedIn(caller) {
		// Copies are nobody's to change: say so before the owner check would.
		if err := checkWritable(c); err != nil {
			return nil, err
		}
	}
	if err := s.authorize(ctx, caller, policy.ActionAgentCardUpdate, policy.Resource{Kind: "agent_card", ID: id, Owner: c.OwnerID}); err != nil {
		return nil, err
	}
	if ifVersion != 0 && ifVersion != c.Version {
		return nil, ErrCardVersionConflict.With("current_version", c.Version)
	}
	if err := s.build(ctx, c, in); err != nil {
		return nil, err
	}
	c.Version++
	c.UpdatedAt = s.now().UTC()
	c.ETag = etag(c)
	if err := s.store.UpdateCard(ctx, c, caller.ID); err != nil {
		return nil, err
	}
	s.changedLocal(ctx, c)
	return c, nil
}

// Delete withdraws a card (soft: its history stays, its URN is never reused).
func (s *Cards) Delete(ctx context.Context, caller policy.Subject, id string) error {
	c, err := published(s.store.Card(ctx, id)) // the store's, not the cache's: the version must be current
	if err != nil {
		return err
	}
	if signedIn(caller) {
		// Copies are nobody's to change: say so before the owner check would.
		if err := checkWritable(c); err != nil {
			return err
		}
	}
	if err := s.authorize(ctx, caller, policy.ActionAgentCardDelete, policy.Resource{Kind: "agent_card", ID: id, Owner: c.OwnerID}); err != nil {
		return err
	}
	now := s.now().UTC()
	c.Version++
	c.UpdatedAt, c.DeletedAt = now, &now
	if err := s.store.DeleteCard(ctx, c, caller.ID); err != nil {
		return err
	}
	s.changedLocal(ctx, c)
	return nil
}

// History lists a card's versions after version `after`, oldest first (deleted cards too, so
// that an owner can see what was withdrawn).
func (s *Cards) History(ctx context.Context, id string, after, limit int) ([]CardVersion, error) {
	if _, err := s.store.Card(ctx, id); err != nil {
		return nil, err
	}
	return s.store.CardHistory(ctx, id, after, limit)
}

// SearchResult is a page of discovery results.
type SearchResult struct {
	Cards []*AgentCard
	// Scores are the cards' raw ranking scores, Relevance the same on the 0–100 scale (both 0
	// without text).
	Scores    []float64
	Relevance []int
	Next      *discovery.Position
	// DidYouMean is the query with misspelled words corrected, when some were.
	DidYouMean string
}

// Search answers a discovery query. OwnedOnly narrows it to the caller's cards (and needs a
// caller).
func (s *Cards) Search(ctx context.Context, caller policy.Subject, q discovery.Query, ownedOnly bool) (*SearchResult, error) {
	if ownedOnly {
		if !signedIn(caller) {
			return nil, policy.ErrAuthRequired
		}
		q.OwnerID = caller.ID
	}
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	var res discovery.Result
	if s.indexReady() {
		res = s.index.Search(&q)
	} else {
		var err error
		if res, err = s.store.SearchCards(ctx, &q); err != nil {
			return nil, err
		}
	}
	idList := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		idList[i] = h.ID
	}
	cards, err := s.readCards(ctx, idList)
	if err != nil {
		return nil, err
	}
	out := &SearchResult{Cards: cards, Next: res.Next, DidYouMean: res.DidYouMean}
	byID := make(map[string]discovery.Hit, len(res.Hits))
	for _, h := range res.Hits {
		byID[h.ID] = h
	}
	for _, c := range cards {
		out.Scores = append(out.Scores, byID[c.ID].Score)
		out.Relevance = append(out.Relevance, byID[c.ID].Relevance)
	}
	return out, nil
}

// Facets counts facet values over the cards matching q (in-memory index only; until it is
// loaded the answer is Unavailable).
func (s *Cards) Facets(ctx context.Context, q discovery.Query, fields []string) (map[string][]discovery.FacetCount, error) {
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	if !s.indexReady() {
		return nil, apperr.New(apperr.Unavailable, "INDEX_LOADING", "the discovery index is still loading; retry shortly")
	}
	return s.index.Facets(&q, fields), nil
}

// Changes returns the change feed after seq (for replicas and federation peers).
func (s *Cards) Changes(ctx context.Context, after int64, limit int) ([]CardChange, error) {
	return s.store.CardChanges(ctx, after, limit)
}

func (s *Cards) indexReady() bool {
	if s.index == nil {
		return false
	}
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

// IndexReady reports whether discovery answers from the loaded in-memory index.
func (s *Cards) IndexReady() bool { return s.indexReady() }

// written brings the card cache and the index up to cards this process has just written
// (deleted ones as tombstones): each is written through to the cache and put in the index at
// once (read-your-writes); the change feed brings them again, harmlessly.
func (s *Cards) written(ctx context.Context, cards []*AgentCard) {
	if s.cache != nil {
		ids := make([]string, len(cards))
		for i, c := range cards {
			ids[i] = c.ID
		}
		s.refreshCards(ctx, ids...)
	}
	s.applyAll(cards)
}

// applyAll puts written cards in the index, in batches. It waits for a Sync in flight: one that
// read the feed before these writes would otherwise put the older versions back over them
// until the next sync. Before the index has loaded it does nothing, since the load follows the
// feed past these writes.
func (s *Cards) applyAll(cards []*AgentCard) {
	if !s.indexReady() {
		return
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	var put []*discovery.Doc
	for _, c := range cards {
		if c.DeletedAt == nil {
			put = append(put, c.Doc())
			continue
		}
		if len(put) > 0 {
			s.index.PutAll(put)
			put = put[:0]
		}
		s.index.Remove(c.ID)
	}
	s.index.PutAll(put)
}

// Sync applies the store's changes since the last one seen to the index and returns how many
// it applied; the first call loads every card.
func (s *Cards) Sync(ctx context.Context) (int, error) {
	if s.index == nil {
		return 0, nil
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	n := 0
	if !s.indexReady() {
		// The first load reads the cards in id order (the index's own order, so loading is
		// appending), then follows the feed from where it stood before.
		head, err := s.store.CardHead(ctx)
		if err != nil {
			return 0, err
		}
		after := ""
		for {
			docs, err := s.store.CardDocs(ctx, after, 10000)
			if err != nil {
				return n, err
			}
			s.index.PutAll(docs)
			n += len(docs)
			if len(docs) < 10000 {
				break
			}
			after = docs[len(docs)-1].ID
		}
		s.seq = head
	}
	for {
		ch, err := s.store.CardChanges(ctx, s.seq, 10000)
		if err != nil {
			return n, err
		}
		var put []*discovery.Doc
		for _, c := range ch {
			if c.Deleted {
				if len(put) > 0 {
					s.index.PutAll(put)
					put = put[:0]
				}
				s.index.Remove(c.Doc.ID)
			} else {
				put = append(put, c.Doc)
			}
		}
		s.index.PutAll(put)
		s.invalidateChanges(ctx, ch)
		n += len(ch)
		if len(ch) > 0 {
			s.seq = ch[len(ch)-1].Seq
		}
		if len(ch) < 10000 {
			break
		}
	}
	s.readyOne.Do(func() { close(s.ready) })
	return n, nil
}

// Run loads the index and then follows the change feed every interval until ctx ends (the
// changes other replicas write).
func (s *Cards) Run(ctx context.Context, interval time.Duration) {
	if s.index == nil {
		return
	}
	start := s.now()
	if n, err := s.Sync(ctx); err != nil {
		s.log.Error("discovery index load failed", "err", err)
	} else {
		s.log.Info("discovery index loaded", "cards", n, "ms", s.now().Sub(start).Milliseconds())
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Sync(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("discovery index sync failed", "err", err)
			}
		}
	}
}

// etag is the strong entity tag of a card version.
func etag(c *AgentCard) string {
	h := sha256.Sum256(c.JSON)
	return `"` + base64.RawURLEncoding.EncodeToString(h[:12]) + `"`
}

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

// Slug is the URN name of a card name: lowercase letters, digits and single hyphens
// ("Recipe Agent!" → "recipe-agent"), at most 64 characters, "agent" when nothing is left.
func Slug(name string) string {
	s := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(discovery.SearchText(name)), "-"), "-")
	if len(s) > 64 {
		s = strings.TrimRight(s[:64], "-")
	}
	if s == "" {
		s = "agent"
	}
	return s
}

// cardTerms are the exact-match filter values of a card: its tags (skills' tags, deduplicated),
// skill ids, and capabilities.
func cardTerms(c *a2apb.AgentCard) (tags, skills, caps []string) {
	seen := map[string]bool{}
	for _, sk := range c.GetSkills() {
		skills = append(skills, sk.GetId())
		for _, t := range sk.GetTags() {
			if !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
	}
	cp := c.GetCapabilities()
	if cp.GetStreaming() {
		caps = append(caps, "streaming")
	}
	if cp.GetPushNotifications() {
		caps = append(caps, "push_notifications")
	}
	if cp.GetExtendedAgentCard() {
		caps = append(caps, "extended_agent_card")
	}
	for _, e := range cp.GetExtensions() {
		caps = append(caps, e.GetUri())
	}
	return tags, skills, caps
}

// skillText is the searchable text of a card's skills.
func skillText(c *a2apb.AgentCard) string {
	var b strings.Builder
	for _, sk := range c.GetSkills() {
		b.WriteString(sk.GetName())
		b.WriteByte(' ')
		b.WriteString(sk.GetDescription())
		b.WriteByte(' ')
		for _, e := range sk.GetExamples() {
			b.WriteString(e)
			b.WriteByte(' ')
		}
	}
	return b.String()
}
