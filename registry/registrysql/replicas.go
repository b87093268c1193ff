package registrysql

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/store"
)

// OwnCardChanges implements registry.CardStore.
func (s *Cards) OwnCardChanges(ctx context.Context, after int64, limit int) ([]*registry.AgentCard, int64, error) {
	head, err := s.CardHead(ctx)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+cardCols+` FROM agent_cards c
		WHERE c.seq > $1 AND c.origin_registry = '' ORDER BY c.seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := make([]*registry.AgentCard, 0, min(limit, 1024))
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, head, rows.Err()
}

// ensureReplicaOwner creates the owner of copies (registry.ReplicaOwner) if it is missing; its
// password hash is credential.UnusablePasswordHash: nobody signs in as it.
func ensureReplicaOwner(ctx context.Context, q store.Querier, at time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO developers (id, email, name, password_hash, role, created_at, updated_at)
		VALUES ($1, 'replicas@federation.invalid', 'Federation replicas', '!', 'developer', $2, $2) ON CONFLICT DO NOTHING`,
		registry.ReplicaOwner, store.Time(at))
	return err
}

// ApplyReplicas implements registry.CardStore.
func (s *Cards) ApplyReplicas(ctx context.Context, origin string, cards []*registry.AgentCard) (applied []*registry.AgentCard, stale int, foreign []string, err error) {
	if len(cards) == 0 {
		return nil, 0, nil, nil
	}
	text := analyzeAll(cards) // outside the transaction, on every core
	err = s.write(ctx, func(q store.Querier) error {
		applied, stale, foreign = applied[:0], 0, foreign[:0]
		if err := ensureReplicaOwner(ctx, q, time.Now().UTC()); err != nil {
			return err
		}
		seq, err := s.nextSeq(ctx, q)
		if err != nil {
			return err
		}
		stored, err := storedOrigins(ctx, q, cards)
		if err != nil {
			return err
		}
		pend := s.newFullTextBatch()
		for i, c := range cards {
			st, exists := stored[c.ID]
			have, haveSeq := st.origin, st.seq
			switch {
			case exists && have != origin:
				foreign = append(foreign, c.ID)
				continue
			case exists && c.OriginSeq <= haveSeq, !exists && c.DeletedAt != nil:
				stale++
				continue
			}
			if err := s.writeReplica(ctx, q, c, seq, exists, text[i], pend); err != nil {
				return err
			}
			c.Seq = seq
			seq++
			applied = append(applied, c)
			stored[c.ID] = storedOrigin{origin, c.OriginSeq} // a page may change a card twice
		}
		return pend.flush(ctx, q)
	})
	if err != nil {
		return nil, 0, nil, err
	}
	return applied, stale, foreign, nil
}

type storedOrigin struct {
	origin string
	seq    int64
}

// storedOrigins reads the origin and origin seq of the stored cards among cards, 500 ids a
// query.
func storedOrigins(ctx context.Context, q store.Querier, cards []*registry.AgentCard) (map[string]storedOrigin, error) {
	out := make(map[string]storedOrigin, len(cards))
	for start := 0; start < len(cards); start += 500 {
		part := cards[start:min(start+500, len(cards))]
		args := make([]any, len(part))
		ph := make([]string, len(part))
		for i, c := range part {
			args[i], ph[i] = c.ID, "$"+strconv.Itoa(i+1)
		}
		rows, err := q.QueryContext(ctx, `SELECT id, origin_registry, origin_seq FROM agent_cards WHERE id IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var o storedOrigin
			if err := rows.Scan(&id, &o.origin, &o.seq); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = o
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// analyzeAll analyzes the text of the live cards among cards, on every core.
func analyzeAll(cards []*registry.AgentCard) []analyzed {
	out := make([]analyzed, len(cards))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(cards)/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(cards); i += workers {
				if cards[i].DeletedAt == nil {
					out[i] = analyze(cards[i])
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// writeReplica inserts or replaces (exists) the copy c at seq (text: its analyzed text), or
// marks it deleted.
func (s *Cards) writeReplica(ctx context.Context, q store.Querier, c *registry.AgentCard, seq int64, exists bool, text analyzed, pend *fullTextBatch) error {
	if c.DeletedAt != nil {
		if err := s.unindexReplica(ctx, q, c.ID, pend); err != nil {
			return err
		}
		search := ""
		if s.db.Dialect() == store.Postgres {
			search = ", search = NULL"
		}
		_, err := q.ExecContext(ctx, `UPDATE agent_cards SET seq = $2, version = $3, origin_seq = $4, updated_at = $5, deleted_at = $5`+search+`
			WHERE id = $1`, c.ID, seq, c.Version, c.OriginSeq, store.Time(*c.DeletedAt))
		return err
	}
	if !exists {
		err := s.insertReplica(ctx, q, c, seq)
		if store.IsUniqueViolation(err) {
			// Two copies claiming one URN (a peer's mistake): the later one keeps its id in it.
			c.Slug = c.Origin + ":agent:" + c.ID
			err = s.insertReplica(ctx, q, c, seq)
		}
		if err != nil {
			return err
		}
		return s.indexReplica(ctx, q, c, text, pend)
	}
	_, err := q.ExecContext(ctx, `UPDATE agent_cards SET seq = $2, name = $3, description = $4, skill_text = $5, tags = $6,
		skills = $7, capabilities = $8, status = $9, version = $10, card = $11, etag = $12, source_version = $13,
		signature_status = $14, signatures = $15, signed_only = $16, created_at = $17, updated_at = $18, deleted_at = NULL,
		origin_reputation = $19, origin_seq = $20
		WHERE id = $1`,
		c.ID, seq, c.Name, c.Description, c.SkillText, joinList(c.Tags), joinList(c.Skills), joinList(c.Capabilities), c.Status,
		c.Version, c.JSON, c.ETag, c.SourceVersion, c.SignatureStatus, sigJSON(c), c.SignedOnly, store.Time(c.CreatedAt),
		store.Time(c.UpdatedAt), string(c.OriginReputation), c.OriginSeq)
	if err != nil {
		return err
	}
	if err := s.unindexReplica(ctx, q, c.ID, pend); err != nil {
		return err
	}
	return s.indexReplica(ctx, q, c, text, pend)
}

// fullTextBatch holds the full-text rows of a page of copies (SQLite), written by one
// statement a fullTextRowsPerInsert cards at the end of the page's transaction: FTS5 flushes
// the terms it holds in memory at the savepoint of every later statement of the transaction, so
// rows written one statement each between the other writes cost a flush each (a ninth of a cold
// sync's CPU). On PostgreSQL it is nil and the search vector is written in place.
type fullTextBatch struct {
	s    *Cards
	ids  []string
	text map[string]analyzed
}

// fullTextRowsPerInsert bounds the cards of one full-text insert (5 parameters each).
const fullTextRowsPerInsert = 100

func (s *Cards) newFullTextBatch() *fullTextBatch {
	if s.db.Dialect() != store.SQLite {
		return nil
	}
	return &fullTextBatch{s: s, text: map[string]analyzed{}}
}

// indexReplica writes a copy's filter rows now and its full-text row now or, with a batch, at
// its flush.
func (s *Cards) indexReplica(ctx context.Context, q store.Querier, c *registry.AgentCard, a analyzed, pend *fullTextBatch) error {
	if pend == nil {
		return s.indexNewText(ctx, q, c, a)
	}
	if _, ok := pend.text[c.ID]; !ok {
		pend.ids = append(pend.ids, c.ID)
	}
	pend.text[c.ID] = a
	return s.indexTerms(ctx, q, c)
}

// unindexReplica removes a copy's full-text and filter rows, and its full-text row still in
// the batch (a page that changes a card twice).
func (s *Cards) unindexReplica(ctx context.Context, q store.Querier, id string, pend *fullTextBatch) error {
	if pend != nil {
		if _, ok := pend.text[id]; ok {
			delete(pend.text, id)
			pend.ids = slices.DeleteFunc(pend.ids, func(x string) bool { return x == id })
		}
	}
	return s.unindex(ctx, q, id)
}

// flush writes the batch's full-text rows.
func (b *fullTextBatch) flush(ctx context.Context, q store.Querier) error {
	if b == nil {
		return nil
	}
	for start := 0; start < len(b.ids); start += fullTextRowsPerInsert {
		part := b.ids[start:min(start+fullTextRowsPerInsert, len(b.ids))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO agent_cards_fts (rowid, name, description, skills, tags)
			SELECT c.rid, v.column2, v.column3, v.column4, v.column5 FROM (VALUES `)
		args := make([]any, 0, 5*len(part))
		for i, id := range part {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := 5 * i
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5)
			a := b.text[id]
			args = append(args, id, a.name, a.desc, a.skills, a.tags)
		}
		sb.WriteString(`) AS v JOIN agent_cards c ON c.id = v.column1`)
		if _, err := q.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	b.ids, b.text = nil, map[string]analyzed{}
	return nil
}

func (s *Cards) insertReplica(ctx context.Context, q store.Querier, c *registry.AgentCard, seq int64) error {
	_, err := q.ExecContext(ctx, `INSERT INTO agent_cards (id, seq, owner_id, slug, name, description, skill_text, tags, skills,
		capabilities, status, version, card, etag, source_version, signature_status, signatures, signed_only, agent_did,
		spiffe_id, origin_registry, created_at, updated_at, origin_reputation, origin_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)`,
		c.ID, seq, c.OwnerID, c.Slug, c.Name, c.Description, c.SkillText, joinList(c.Tags), joinList(c.Skills),
		joinList(c.Capabilities), c.Status, c.Version, c.JSON, c.ETag, c.SourceVersion, c.SignatureStatus, sigJSON(c),
		c.SignedOnly, c.AgentDID, c.SPIFFEID, c.Origin, store.Time(c.CreatedAt), store.Time(c.UpdatedAt),
		string(c.OriginReputation), c.OriginSeq)
	return err
}

// ReplicaOrigins implements registry.CardStore.
func (s *Cards) ReplicaOrigins(ctx context.Context) ([]string, error) {
	return store.Strings(ctx, s.db.Read(), `SELECT DISTINCT origin_registry FROM agent_cards
		WHERE origin_registry <> '' AND deleted_at IS NULL ORDER BY origin_registry`)
}

// DropReplicas implements registry.CardStore.
func (s *Cards) DropReplicas(ctx context.Context, origin string, at time.Time) ([]string, error) {
	var gone []string
	err := s.write(ctx, func(q store.Querier) error {
		ids, err := store.Strings(ctx, q, `SELECT id FROM agent_cards WHERE origin_registry = $1 AND deleted_at IS NULL ORDER BY id`, origin)
		if err != nil {
			return err
		}
		seq, err := s.nextSeq(ctx, q)
		if err != nil {
			return err
		}
		for i, id := range ids {
			c := &registry.AgentCard{ID: id, DeletedAt: &at}
			if err := s.unindex(ctx, q, id); err != nil {
				return err
			}
			search := ""
			if s.db.Dialect() == store.Postgres {
				search = ", search = NULL"
			}
			if _, err := q.ExecContext(ctx, `UPDATE agent_cards SET seq = $2, updated_at = $3, deleted_at = $3`+search+` WHERE id = $1`,
				c.ID, seq+int64(i), store.Time(at)); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, `UPDATE agent_cards SET origin_seq = 0 WHERE origin_registry = $1`, origin); err != nil {
			return err
		}
		gone = ids
		return nil
	})
	return gone, err
}
