package registrysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/store"
)

// Cards implements registry.CardStore on SQLite (FTS5 for full text) and PostgreSQL (tsvector).
type Cards struct {
	db *store.DB
}

var _ registry.CardStore = (*Cards)(nil)

// NewCards returns the card store over db.
func NewCards(db *store.DB) *Cards { return &Cards{db: db} }

// sep joins list columns (tags, skills, capabilities).
const sep = "\x1f"

func joinList(v []string) string { return strings.Join(v, sep) }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

const cardCols = `c.id, c.seq, c.owner_id, c.slug, c.name, c.description, c.skill_text, c.status, c.version, c.card, c.etag, c.source_version,
	c.signature_status, c.signatures, c.signed_only, c.agent_did, c.spiffe_id, c.origin_registry, c.tags, c.skills,
	c.capabilities, c.created_at, c.updated_at, c.deleted_at, c.last_heartbeat_at, c.origin_reputation, c.origin_seq, c.revision`

func scanCard(sc interface{ Scan(...any) error }) (*registry.AgentCard, error) {
	var c registry.AgentCard
	var sigs, tags, skills, caps, rep string
	if err := sc.Scan(&c.ID, &c.Seq, &c.OwnerID, &c.Slug, &c.Name, &c.Description, &c.SkillText, &c.Status, &c.Version, &c.JSON, &c.ETag, &c.SourceVersion,
		&c.SignatureStatus, &sigs, &c.SignedOnly, &c.AgentDID, &c.SPIFFEID, &c.Origin, &tags, &skills, &caps,
		store.ScanTime(&c.CreatedAt), store.ScanTime(&c.UpdatedAt), store.ScanNullTime(&c.DeletedAt),
		store.ScanNullTime(&c.LastHeartbeatAt), &rep, &c.OriginSeq, &c.Revision); err != nil {
		return nil, err
	}
	if rep != "" {
		c.OriginReputation = []byte(rep)
	}
	c.Tags, c.Skills, c.Capabilities = splitList(tags), splitList(skills), splitList(caps)
	if sigs != "" && sigs != "null" {
		if err := json.Unmarshal([]byte(sigs), &c.Signatures); err != nil {
			return nil, fmt.Errorf("registrysql: stored signatures of %s: %w", c.ID, err)
		}
	}
	return &c, nil
}

// nextSeq takes the card-change lock (PostgreSQL: a transaction advisory lock, so changes
// commit in seq order; SQLite has one writer) and returns the next seq.
func (s *Cards) nextSeq(ctx context.Context, q store.Querier) (int64, error) {
	if s.db.Dialect() == store.Postgres {
		if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7243901)`); err != nil {
			return 0, err
		}
	}
	var seq int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM agent_cards`).Scan(&seq)
	return seq, err
}

func (s *Cards) write(ctx context.Context, fn func(q store.Querier) error) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error { return fn(s.db.TxQuerier(tx)) })
}

// searchArgs are the full-text columns of a card, analyzed as discovery analyzes cards (terms:
// stems without stop words).
func searchArgs(c *registry.AgentCard) (name, desc, skills, tags string) {
	return discovery.AnalyzedText(c.Name), discovery.AnalyzedText(c.Description), discovery.AnalyzedText(c.SkillText), discovery.AnalyzedText(c.Tags...)
}

func sigJSON(c *registry.AgentCard) string {
	if len(c.Signatures) == 0 {
		return ""
	}
	b, _ := json.Marshal(c.Signatures)
	return string(b)
}

// InsertCard implements registry.CardStore.
func (s *Cards) InsertCard(ctx context.Context, c *registry.AgentCard, by string) error {
	return s.write(ctx, func(q store.Querier) error {
		seq, err := s.nextSeq(ctx, q)
		if err != nil {
			return err
		}
		return s.insert(ctx, q, c, seq, by)
	})
}

// ImportCards stores many new cards in one transaction (bulk seeding and imports); a taken
// slug fails the whole batch with registry.ErrSlugTaken.
func (s *Cards) ImportCards(ctx context.Context, cards []*registry.AgentCard, by string) error {
	return s.write(ctx, func(q store.Querier) error {
		seq, err := s.nextSeq(ctx, q)
		if err != nil {
			return err
		}
		for i, c := range cards {
			if err := s.insert(ctx, q, c, seq+int64(i), by); err != nil {
				return err
			}
		}
		return nil
	})
}

// CountCards counts the cards that are not deleted.
func (s *Cards) CountCards(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT count(*) FROM agent_cards WHERE deleted_at IS NULL`).Scan(&n)
	return n, err
}

func (s *Cards) insert(ctx context.Context, q store.Querier, c *registry.AgentCard, seq int64, by string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO agent_cards (id, seq, owner_id, slug, name, description, skill_text, tags, skills,
		capabilities, status, version, card, etag, source_version, signature_status, signatures, signed_only, agent_did,
		spiffe_id, origin_registry, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`,
		c.ID, seq, c.OwnerID, c.Slug, c.Name, c.Description, c.SkillText, joinList(c.Tags), joinList(c.Skills),
		joinList(c.Capabilities), c.Status, c.Version, c.JSON, c.ETag, c.SourceVersion, c.SignatureStatus, sigJSON(c),
		c.SignedOnly, c.AgentDID, c.SPIFFEID, c.Origin, store.Time(c.CreatedAt), store.Time(c.UpdatedAt))
	if store.IsUniqueViolation(err) {
		return registry.ErrSlugTaken
	}
	if err != nil {
		return err
	}
	if err := s.indexNew(ctx, q, c); err != nil {
		return err
	}
	c.Seq = seq
	return s.version(ctx, q, c, registry.ChangeCreated, by)
}

// index writes the card's full-text and filter rows (after removing old ones).
func (s *Cards) index(ctx context.Context, q store.Querier, c *registry.AgentCard) error {
	if err := s.unindex(ctx, q, c.ID); err != nil {
		return err
	}
	return s.indexNew(ctx, q, c)
}

// indexNew writes the full-text and filter rows of a card that has none.
func (s *Cards) indexNew(ctx context.Context, q store.Querier, c *registry.AgentCard) error {
	return s.indexNewText(ctx, q, c, analyze(c))
}

// analyzed is a card's full-text columns as searchArgs makes them.
type analyzed struct{ name, desc, skills, tags string }

func analyze(c *registry.AgentCard) analyzed {
	var a analyzed
	a.name, a.desc, a.skills, a.tags = searchArgs(c)
	return a
}

// indexNewText is indexNew with the card's text already analyzed.
func (s *Cards) indexNewText(ctx context.Context, q store.Querier, c *registry.AgentCard, a analyzed) error {
	if err := s.indexFullText(ctx, q, c.ID, a); err != nil {
		return err
	}
	return s.indexTerms(ctx, q, c)
}

// indexFullText writes a card's full-text row (SQLite) or search vector (PostgreSQL).
func (s *Cards) indexFullText(ctx context.Context, q store.Querier, id string, a analyzed) error {
	var err error
	if s.db.Dialect() == store.Postgres {
		_, err = q.ExecContext(ctx, `UPDATE agent_cards SET search = setweight(to_tsvector('simple', $2), 'A') ||
			setweight(to_tsvector('simple', $3), 'B') || setweight(to_tsvector('simple', $4), 'B') ||
			setweight(to_tsvector('simple', $5), 'D') WHERE id = $1`, id, a.name, a.skills, a.tags, a.desc)
	} else {
		_, err = q.ExecContext(ctx, `INSERT INTO agent_cards_fts (rowid, name, description, skills, tags)
			SELECT rid, $2, $3, $4, $5 FROM agent_cards WHERE id = $1`, id, a.name, a.desc, a.skills, a.tags)
	}
	return err
}

// indexTerms writes a card's filter rows (tags, skills, capabilities).
func (s *Cards) indexTerms(ctx context.Context, q store.Querier, c *registry.AgentCard) error {
	var args []any
	for _, t := range []struct {
		kind string
		v    []string
	}{{"t", c.Tags}, {"s", c.Skills}, {"c", c.Capabilities}} {
		seen := map[string]bool{}
		for _, v := range t.v {
			if seen[v] {
				continue
			}
			seen[v] = true
			args = append(args, t.kind, v, c.ID)
		}
	}
	// Several rows a statement (one text per row count up to termsPerInsert, each prepared once).
	for len(args) > 0 {
		n := min(len(args)/3, termsPerInsert)
		if _, err := q.ExecContext(ctx, termsInsert(n), args[:3*n]...); err != nil {
			return err
		}
		args = args[3*n:]
	}
	return nil
}

// termsPerInsert bounds the rows of one insert of filter terms.
const termsPerInsert = 32

// termsInserts holds the texts of termsInsert by row count.
var termsInserts [termsPerInsert + 1]atomic.Pointer[string]

// termsInsert is the text of an insert of n rows of agent_card_terms.
func termsInsert(n int) string {
	if q := termsInserts[n].Load(); q != nil {
		return *q
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO agent_card_terms (kind, value, card_id) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "($%d, $%d, $%d)", 3*i+1, 3*i+2, 3*i+3)
	}
	q := b.String()
	termsInserts[n].Store(&q)
	return q
}

func (s *Cards) unindex(ctx context.Context, q store.Querier, id string) error {
	if s.db.Dialect() == store.SQLite {
		if _, err := q.ExecContext(ctx, `DELETE FROM agent_cards_fts WHERE rowid = (SELECT rid FROM agent_cards WHERE id = $1)`, id); err != nil {
			return err
		}
	}
	_, err := q.ExecContext(ctx, `DELETE FROM agent_card_terms WHERE card_id = $1`, id)
	return err
}

func (s *Cards) version(ctx context.Context, q store.Querier, c *registry.AgentCard, change, by string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO agent_card_versions (card_id, version, change, card, changed_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.Version, change, c.JSON, by, store.Time(c.UpdatedAt))
	return err
}

// UpdateCard implements registry.CardStore.
func (s *Cards) UpdateCard(ctx context.Context, c *registry.AgentCard, by string) error {
	return s.write(ctx, func(q store.Querier) error {
		seq, err := s.nextSeq(ctx, q)
		if err != nil {
			return err
		}
		// After nextSeq's lock, which agent status changes take too: the status read is the
		// one this write follows.
		agentStatus, err := store.Strings(ctx, q, `SELECT status FROM agents WHERE id = $1`, c.ID)
		if err != nil {
			return err
		}
		if len(agentStatus) == 1 {
			if err := registry.CheckCardStatus(agentStatus[0], c.Status); err != nil {
				return err
			}
		}
		res, err := q.ExecContext(ctx, `UPDATE agent_cards SET seq = $3, name = $4, description = $5, skill_text = $6, tags = $7,
			skills = $8, capabilities = $9, status = $10, version = $11, card = $12, etag = $13, source_version = $14,
			signature_status = $15, signatures = $16, signed_only = $17, updated_at = $18
			WHERE id = $1 AND version = $2 AND deleted_at IS NULL`,
			c.ID, c.Version-1, seq, c.Name, c.Description, c.SkillText, joinList(c.Tags), joinList(c.Skills),
			joinList(c.Capabilities), c.Status, c.Version, c.JSON, c.ETag, c.SourceVersion, c.SignatureStatus, sigJSON(c),
			c.SignedOnly, store.Time(c.UpdatedAt))
		if err := mustAffect(res, err, registry.ErrCardVersionConflict); err != nil {
			return err
		}
		if err := s.index(ctx, q, c); err != nil {
			return err
		}
		c.Seq = seq
		return s.version(ctx, q, c, registry.ChangeUpdated, by)
	})
}

// DeleteCard implements registry.CardStore.
func (s *Cards) DeleteCard(ctx context.Context, c *registry.AgentCard, by string) error {
	return s.write(ctx, func(q store.Querier) error {
		seq, err := s.nextSeq(ctx, q)
		if err != nil {
			return err
		}
		if err := s.unindex(ctx, q, c.ID); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `UPDATE agent_cards SET seq = $3, version = $4, updated_at = $5, deleted_at = $5
			WHERE id = $1 AND version = $2 AND deleted_at IS NULL`, c.ID, c.Version-1, seq, c.Version, store.Time(*c.DeletedAt))
		if err := mustAffect(res, err, registry.ErrCardVersionConflict); err != nil {
			return err
		}
		if s.db.Dialect() == store.Postgres {
			if _, err := q.ExecContext(ctx, `UPDATE agent_cards SET search = NULL WHERE id = $1`, c.ID); err != nil {
				return err
			}
		}
		c.Seq = seq
		return s.version(ctx, q, c, registry.ChangeDeleted, by)
	})
}

// Card implements registry.CardStore.
func (s *Cards) Card(ctx context.Context, id string) (*registry.AgentCard, error) {
	c, err := scanCard(s.db.Read().QueryRowContext(ctx, `SELECT `+cardCols+` FROM agent_cards c WHERE c.id = $1`, id))
	return c, notFound(err, registry.ErrCardNotFound)
}

// CardBySlug implements registry.CardStore.
func (s *Cards) CardBySlug(ctx context.Context, slug string) (*registry.AgentCard, error) {
	c, err := scanCard(s.db.Read().QueryRowContext(ctx, `SELECT `+cardCols+` FROM agent_cards c WHERE c.slug = $1`, slug))
	return c, notFound(err, registry.ErrCardNotFound)
}

// cardsByID and revisions hold the query texts of Cards and CardRevisions (PostgreSQL, SQLite)
// by the number of ids (1..500).
var (
	cardsByID [501]atomic.Pointer[string]
	revisions [2][501]atomic.Pointer[string]
)

// cardsByIDQuery is the text of the query reading n cards by id.
func cardsByIDQuery(n int) string {
	return inQuery(&cardsByID, `SELECT `+cardCols+` FROM agent_cards c WHERE c.deleted_at IS NULL AND c.id IN (`, n)
}

// inQuery is head followed by n placeholders and ")", made once per n in texts.
func inQuery(texts *[501]atomic.Pointer[string], head string, n int) string {
	if q := texts[n].Load(); q != nil {
		return *q
	}
	var b strings.Builder
	b.WriteString(head)
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "$%d", i)
	}
	b.WriteByte(')')
	q := b.String()
	texts[n].Store(&q)
	return q
}

// CardRevisions returns the revisions of the cards with these ids (at most 500; deleted ones
// included, missing ones absent), read from the index on (id, revision) alone, from the read
// replica when there is one (as Cards): what a cache of card documents checks its entries
// against (registry.CardRevisionReader).
func (s *Cards) CardRevisions(ctx context.Context, idList []string) (map[string]int64, error) {
	if len(idList) == 0 || len(idList) > 500 {
		return nil, fmt.Errorf("registrysql: %d card ids, 1 to 500 allowed", len(idList))
	}
	return store.ReadReplica(ctx, s.db, func(q store.Querier) (map[string]int64, error) {
		args := make([]any, len(idList))
		for i, id := range idList {
			args[i] = id
		}
		// SQLite would rather probe the unique index on id and then read the row: told to
		// read the covering index, one probe a card.
		texts, head := &revisions[0], `SELECT id, revision FROM agent_cards WHERE id IN (`
		if s.db.Dialect() == store.SQLite {
			texts, head = &revisions[1], `SELECT id, revision FROM agent_cards INDEXED BY agent_cards_id_revision WHERE id IN (`
		}
		rows, err := q.QueryContext(ctx, inQuery(texts, head, len(idList)), args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := make(map[string]int64, len(idList))
		for rows.Next() {
			var id string
			var rev int64
			if err := rows.Scan(&id, &rev); err != nil {
				return nil, err
			}
			out[id] = rev
		}
		return out, rows.Err()
	})
}

// Cards implements registry.CardStore.
func (s *Cards) Cards(ctx context.Context, idList []string) ([]*registry.AgentCard, error) {
	return store.ReadReplica(ctx, s.db, func(q store.Querier) ([]*registry.AgentCard, error) {
		if len(idList) == 0 {
			return nil, nil
		}
		byID := make(map[string]*registry.AgentCard, len(idList))
		for start := 0; start < len(idList); start += 500 {
			chunk := idList[start:min(start+500, len(idList))]
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			// Prepared once per list length (at most 500 texts; a page is usually one length):
			// parsing the statement was an eighth of a search's CPU on SQLite.
			rows, err := q.QueryContext(ctx, cardsByIDQuery(len(chunk)), args...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				c, err := scanCard(rows)
				if err != nil {
					rows.Close()
					return nil, err
				}
				byID[c.ID] = c
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
		out := make([]*registry.AgentCard, 0, len(idList))
		for _, id := range idList {
			if c, ok := byID[id]; ok {
				out = append(out, c)
			}
		}
		return out, nil
	})
}

// CardHistory implements registry.CardStore.
func (s *Cards) CardHistory(ctx context.Context, id string, after, limit int) ([]registry.CardVersion, error) {
	return store.ReadReplica(ctx, s.db, func(q store.Querier) ([]registry.CardVersion, error) {
		rows, err := q.QueryContext(ctx, `SELECT card_id, version, change, card, changed_by, created_at FROM agent_card_versions
		WHERE card_id = $1 AND version > $2 ORDER BY version LIMIT $3`, id, after, limit)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []registry.CardVersion
		for rows.Next() {
			var v registry.CardVersion
			if err := rows.Scan(&v.CardID, &v.Version, &v.Change, &v.JSON, &v.ChangedBy, store.ScanTime(&v.CreatedAt)); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	})
}

// CardHead implements registry.CardStore.
func (s *Cards) CardHead(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.Read().QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM agent_cards`).Scan(&seq)
	return seq, err
}

// docCols are the columns of a card as discovery indexes it (scanDoc).
const docCols = `id, owner_id, name, description, skill_text, tags, skills, capabilities, status, updated_at`

// scanDoc reads docCols and then extra.
func scanDoc(sc interface{ Scan(...any) error }, extra ...any) (*discovery.Doc, error) {
	d := &discovery.Doc{}
	var tags, skills, caps string
	dest := append([]any{&d.ID, &d.OwnerID, &d.Name, &d.Description, &d.SkillText, &tags, &skills, &caps, &d.Status,
		store.ScanTime(&d.UpdatedAt)}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	d.Tags, d.Skills, d.Capabilities = splitList(tags), splitList(skills), splitList(caps)
	return d, nil
}

// CardDocs implements registry.CardStore.
func (s *Cards) CardDocs(ctx context.Context, after string, limit int) ([]*discovery.Doc, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+docCols+` FROM agent_cards WHERE id > $1 AND deleted_at IS NULL
		ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]*discovery.Doc, 0, min(limit, 1024))
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// CardChanges implements registry.CardStore.
func (s *Cards) CardChanges(ctx context.Context, after int64, limit int) ([]registry.CardChange, error) {
	return store.ReadReplica(ctx, s.db, func(q store.Querier) ([]registry.CardChange, error) {
		rows, err := q.QueryContext(ctx, `SELECT `+docCols+`, seq, version, deleted_at IS NOT NULL, revision FROM agent_cards
		WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := make([]registry.CardChange, 0, min(limit, 1024))
		for rows.Next() {
			var ch registry.CardChange
			if ch.Doc, err = scanDoc(rows, &ch.Seq, &ch.Version, &ch.Deleted, &ch.Revision); err != nil {
				return nil, err
			}
			out = append(out, ch)
		}
		return out, rows.Err()
	})
}

// SearchCards implements registry.CardStore with the store's full-text index, the fallback
// while the in-memory index loads: the query's terms (analyzed as discovery analyzes them) are
// matched with OR, ranked by FTS5 bm25 with the index's column weights on SQLite and ts_rank
// with the same weights on PostgreSQL; Relevance is each score against the page's best. It has
// none of the index's typo tolerance, prefixes, synonyms or relevance floor.
func (s *Cards) SearchCards(ctx context.Context, q *discovery.Query) (discovery.Result, error) {
	toks := discovery.QueryTerms(q.Text)
	ranked := len(toks) > 0
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	pg := s.db.Dialect() == store.Postgres
	from := `agent_cards c`
	score := `0.0`
	if ranked {
		if pg {
			tsq := arg(strings.Join(toks, " | "))
			from = `agent_cards c, to_tsquery('simple', ` + tsq + `) tq`
			where = append(where, `c.search @@ tq`)
			score = `ts_rank('{0.1, 0.0, 0.4, 1.0}', c.search, tq)::float8`
		} else {
			quoted := make([]string, len(toks))
			for i, t := range toks {
				quoted[i] = `"` + t + `"`
			}
			from = `agent_cards_fts f JOIN agent_cards c ON c.rid = f.rowid`
			where = append(where, `agent_cards_fts MATCH `+arg(strings.Join(quoted, " OR ")))
			score = fmt.Sprintf(`-bm25(agent_cards_fts, %d.0, %d.0, %d.0, %d.0)`, discovery.WeightName,
				discovery.WeightDescription, discovery.WeightSkills, discovery.WeightTags)
		}
	}
	where = append(where, `c.deleted_at IS NULL`)
	st := make([]string, len(q.Statuses))
	for i, v := range q.Statuses {
		st[i] = arg(v)
	}
	where = append(where, `c.status IN (`+strings.Join(st, ",")+`)`)
	if q.OwnerID != "" {
		where = append(where, `c.owner_id = `+arg(q.OwnerID))
	}
	for _, f := range []struct {
		kind string
		v    []string
	}{{"t", q.Tags}, {"s", q.Skills}, {"c", q.Capabilities}} {
		for _, v := range f.v {
			where = append(where, `EXISTS (SELECT 1 FROM agent_card_terms t WHERE t.kind = '`+f.kind+`' AND t.value = `+arg(v)+` AND t.card_id = c.id)`)
		}
	}
	if q.After != nil {
		if ranked {
			sc, id := arg(q.After.Score), arg(q.After.ID)
			where = append(where, `(`+score+` < `+sc+` OR (`+score+` = `+sc+` AND c.id > `+id+`))`)
		} else {
			where = append(where, `c.id > `+arg(q.After.ID))
		}
	}
	order := `c.id`
	if ranked {
		order = `score DESC, c.id`
	}
	query := `SELECT c.id, ` + score + ` AS score FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + order + ` LIMIT ` + arg(q.Limit+1)
	rows, err := s.db.Reader().QueryContext(ctx, query, args...)
	if err != nil {
		return discovery.Result{}, apperr.Internalf("search cards: %w", err)
	}
	defer rows.Close()
	var hits []discovery.Hit
	for rows.Next() {
		var h discovery.Hit
		if err := rows.Scan(&h.ID, &h.Score); err != nil {
			return discovery.Result{}, err
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return discovery.Result{}, err
	}
	if ranked && len(hits) > 0 {
		top := hits[0].Score
		if q.After != nil {
			top = max(top, q.After.Score)
		}
		for i := range hits {
			hits[i].Relevance = min(100, max(1, int(100*hits[i].Score/top)))
		}
	}
	return discovery.Page(hits, q.Limit, ranked), nil
}
