package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/hotcache"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/registry/registrysql"
	"github.com/sovereign-stack/sovereign/store"
)

func newBenchDiscovery() *cobra.Command {
	var (
		dsn                  string
		cards, queries, conc int
		limit                int
		engine               string
		cardCache            bool
		prof                 benchProfiles
	)
	c := &cobra.Command{
		Use:   "discovery",
		Short: "Seed synthetic agent cards and measure discovery queries",
		Long: `bench discovery opens --store (default: a fresh SQLite file in a temporary directory),
seeds it up to --cards synthetic agent cards (names, descriptions, skills and tags drawn from a
vocabulary of 40 domains, with skewed word frequencies; a store that already holds enough cards
is reused), loads the discovery index, then --concurrency goroutines run --queries mixed queries
through the card service (text of one or two words, a tag, a skill, text with a tag, a request
in natural language of 5 to 10 words, some misspelled) and fetch
each page of --limit cards from the store. --engine store answers from the store's full-text
index (FTS5 / tsvector) instead of the in-memory index. The cards of each page are read through
the card cache the server uses without Redis (in memory, each hit checked against the card's
revision in the store; --card-cache=false reads every card from the store). --cpuprofile and --trace record the
query phase alone (not seeding or loading). It prints, last:
queries/s=… p50_ms=… p99_ms=… cards=…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cards < 1 || queries < 1 || conc < 1 || limit < 1 || limit > 500 {
				return fmt.Errorf("bench discovery: need --cards ≥ 1, --queries ≥ 1, --concurrency ≥ 1, --limit 1..500")
			}
			if engine != "index" && engine != "store" {
				return fmt.Errorf("bench discovery: --engine is index or store, not %q", engine)
			}
			ctx := cmd.Context()
			dsn, cleanup, err := benchDSN(dsn)
			if err != nil {
				return err
			}
			defer cleanup()
			return benchDiscovery(ctx, cmd.OutOrStdout(), dsn, cards, queries, conc, limit, engine == "store", cardCache, prof)
		},
	}
	f := c.Flags()
	f.StringVar(&dsn, "store", "", "store DSN (sqlite://PATH or postgres://…); default a temporary SQLite file")
	f.IntVar(&cards, "cards", 100000, "cards in the store")
	f.IntVar(&queries, "queries", 20000, "queries to run")
	f.IntVar(&conc, "concurrency", 8, "concurrent clients")
	f.IntVar(&limit, "limit", 20, "page size of each query")
	f.StringVar(&engine, "engine", "index", "index (in-memory BM25) or store (FTS5 / tsvector)")
	f.BoolVar(&cardCache, "card-cache", true, "read the pages' cards through the in-memory card cache")
	f.StringVar(&prof.cpu, "cpuprofile", "", "write a CPU profile of the query phase to `FILE`, for go tool pprof")
	f.StringVar(&prof.trace, "trace", "", "write an execution trace of the query phase to `FILE`, for go tool trace")
	return c
}

func benchDiscovery(ctx context.Context, out io.Writer, dsn string, nCards, nQueries, conc, limit int, storeOnly, cardCache bool, prof benchProfiles) error {
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	st := registrysql.NewCards(db)
	var cache *hotcache.Instrumented[*registry.AgentCard]
	var cacheStats hotcache.Stats
	cfg := registry.CardsConfig{Store: st, Authz: policy.New(), Host: "bench.local", NoIndex: storeOnly}
	if cardCache {
		// As the server without Redis has it (server.hotCardEntries; each hit checked against
		// the card's revision in the store, a page's at most once a second).
		cache = hotcache.Instrument[*registry.AgentCard](hotcache.NewMemory[*registry.AgentCard](50_000, 0), &cacheStats)
		cfg.Cache, cfg.ValidateCache, cfg.PageRecheck = cache, true, time.Second
	}
	svc := registry.NewCards(cfg)
	have, err := st.CountCards(ctx)
	if err != nil {
		return err
	}
	if have < nCards {
		t0 := time.Now()
		if err := seedCards(ctx, db, st, svc, have, nCards-have); err != nil {
			return err
		}
		el := time.Since(t0)
		fmt.Fprintf(out, "seeded %d cards in %.1fs (%.0f cards/s)\n", nCards-have, el.Seconds(), float64(nCards-have)/el.Seconds())
	}
	if !storeOnly {
		t0 := time.Now()
		n, err := svc.Sync(ctx)
		if err != nil {
			return err
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(out, "loaded the index: %d cards in %.1fs, heap %d MiB\n", n, time.Since(t0).Seconds(), ms.HeapAlloc>>20)
	}
	qs := benchQueries(nQueries, limit)
	kindLabels := make([]pprof.LabelSet, len(benchQueryKinds))
	for k, name := range benchQueryKinds {
		kindLabels[k] = pprof.Labels("kind", name)
	}
	lat := make([]time.Duration, len(qs))
	sums := make([]uint64, len(qs))
	var next atomic.Int64
	var hits atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	stop, err := prof.start()
	if err != nil {
		return err
	}
	defer stop()
	t0 := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(qs) {
					return
				}
				s := time.Now()
				var res *registry.SearchResult
				var err error
				search := func(ctx context.Context) { res, err = svc.Search(ctx, policy.Subject{}, qs[i], false) }
				if prof.cpu != "" { // each sample labelled with its query's kind (pprof -tagfocus kind=…)
					pprof.Do(ctx, kindLabels[i%len(kindLabels)], search)
				} else {
					search(ctx)
				}
				lat[i] = time.Since(s)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				hits.Add(int64(len(res.Cards)))
				sums[i] = resultSum(res)
				// Yield between queries, as a server's request goroutine does when it waits for
				// the next request on its connection. Without it a client loops on its core
				// until the scheduler preempts it (every 10 ms), and the queries of the other
				// clients on that core wait out whole time slices: the measured tail was the
				// slices (p99 60 ms at 8 clients, 6 ms at 1), not the queries.
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	stop()
	if firstErr != nil {
		return firstErr
	}
	var kinds []string
	for k, name := range benchQueryKinds {
		var l []time.Duration
		for i := k; i < len(lat); i += len(benchQueryKinds) {
			l = append(l, lat[i])
		}
		if len(l) > 0 {
			slices.Sort(l)
			kinds = append(kinds, fmt.Sprintf("%s p99 %.3f ms", name, float64(quantile(l, 0.99).Microseconds())/1000))
		}
	}
	digest := fnv.New64a()
	for _, v := range sums {
		digest.Write(binary.LittleEndian.AppendUint64(nil, v))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(quantile(lat, p).Microseconds()) / 1000 }
	fmt.Fprintf(out, "by kind: %s\n", strings.Join(kinds, ", "))
	if cache != nil && !storeOnly {
		h, m := cacheStats.Hits.Load(), cacheStats.Misses.Load()
		fmt.Fprintf(out, "card cache: %d hits, %d misses (%.1f %% hits)\n", h, m, 100*float64(h)/float64(max(1, h+m)))
	}
	fmt.Fprintf(out, "%d queries, %d concurrent, %.1f cards a page on average, results digest %016x\n", len(qs), conc, float64(hits.Load())/float64(len(qs)), digest.Sum64())
	fmt.Fprintf(out, "queries/s=%.0f p50_ms=%.3f p99_ms=%.3f cards=%d\n", float64(len(qs))/el.Seconds(), pct(0.5), pct(0.99), max(nCards, 0))
	return nil
}

// resultSum is a hash of a page's cards, scores and relevances, in order: the same queries on
// the same store give the same digest whatever the code's speed.
func resultSum(res *registry.SearchResult) uint64 {
	h := fnv.New64a()
	for i, c := range res.Cards {
		fmt.Fprintf(h, "%s %s %x %d\n", c.ID, c.ETag, math.Float64bits(res.Scores[i]), res.Relevance[i])
	}
	if res.Next != nil {
		fmt.Fprintf(h, "next %s %x\n", res.Next.ID, math.Float64bits(res.Next.Score))
	}
	fmt.Fprintf(h, "%s", res.DidYouMean)
	return h.Sum64()
}

// seedCards adds n synthetic cards (numbered from `from`), validated like published ones and
// stored in batches; several goroutines build cards while one writes.
func seedCards(ctx context.Context, db *store.DB, st *registrysql.Cards, svc *registry.Cards, from, n int) error {
	owners, err := benchOwners(ctx, db, 200)
	if err != nil {
		return err
	}
	const batch = 2000
	jobs := make(chan int)
	built := make(chan []*registry.AgentCard, 4)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var buildErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < max(1, runtime.NumCPU()); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := range jobs {
				var cs []*registry.AgentCard
				for i := start; i < min(start+batch, from+n); i++ {
					r := rand.New(rand.NewPCG(uint64(i), 7))
					c, err := svc.NewCard(ctx, owners[i%len(owners)], registry.CardInput{JSON: syntheticCard(r, i)})
					if err != nil {
						once.Do(func() { buildErr = fmt.Errorf("synthetic card %d: %w", i, err); cancel() })
						return
					}
					cs = append(cs, c)
				}
				select {
				case built <- cs:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for s := from; s < from+n; s += batch {
			select {
			case jobs <- s:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(built) }()
	for cs := range built {
		if err := st.ImportCards(ctx, cs, "bench"); err != nil {
			cancel()
			return err
		}
	}
	return buildErr
}

// benchOwners makes sure n verified bench developers exist and returns their ids.
func benchOwners(ctx context.Context, db *store.DB, n int) ([]string, error) {
	acc := registrysql.NewAccounts(db)
	now := time.Now().UTC()
	var out []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("dev_bench%05d", i)
		if _, err := acc.Developer(ctx, id); err != nil {
			d := &registry.Developer{ID: id, Email: id + "@bench.invalid", Name: "Bench " + id, Role: registry.RoleDeveloper,
				PasswordHash: "!", CreatedAt: now, UpdatedAt: now, EmailVerifiedAt: &now}
			if err := acc.InsertDeveloper(ctx, d); err != nil {
				return nil, err
			}
		}
		out = append(out, id)
	}
	return out, nil
}

// benchDomain is a field agents work in: the words of its names, descriptions, skills and tags.
type benchDomain struct {
	noun   string
	words  []string
	skills []string
}

var benchDomains = []benchDomain{
	{"weather", []string{"forecast", "rain", "temperature", "storm", "wind", "climate", "humidity", "radar", "snow", "alerts"}, []string{"forecast-lookup", "storm-alerts", "climate-report"}},
	{"travel", []string{"flight", "hotel", "booking", "itinerary", "airport", "visa", "luggage", "trip", "fare", "train"}, []string{"flight-search", "hotel-booking", "itinerary-planning"}},
	{"finance", []string{"invoice", "budget", "expense", "ledger", "payment", "tax", "audit", "forecast", "cash", "portfolio"}, []string{"invoice-processing", "expense-review", "tax-filing"}},
	{"legal", []string{"contract", "clause", "compliance", "privacy", "gdpr", "litigation", "patent", "nda", "policy", "review"}, []string{"contract-review", "compliance-check", "nda-drafting"}},
	{"health", []string{"symptom", "appointment", "medication", "clinic", "diagnosis", "nutrition", "fitness", "sleep", "patient", "triage"}, []string{"symptom-triage", "appointment-booking", "medication-reminder"}},
	{"code", []string{"review", "refactor", "bug", "test", "python", "golang", "typescript", "deploy", "lint", "repository"}, []string{"code-review", "test-generation", "bug-triage"}},
	{"translation", []string{"french", "spanish", "german", "japanese", "chinese", "localize", "subtitle", "glossary", "language", "document"}, []string{"translate-text", "localize-app", "subtitle-sync"}},
	{"image", []string{"resize", "caption", "photo", "thumbnail", "ocr", "diagram", "logo", "background", "color", "render"}, []string{"image-caption", "ocr-extract", "background-removal"}},
	{"audio", []string{"transcribe", "speech", "podcast", "music", "voice", "noise", "meeting", "dictation", "speaker", "audio"}, []string{"transcription", "voice-synthesis", "noise-reduction"}},
	{"data", []string{"csv", "sql", "dashboard", "chart", "etl", "warehouse", "query", "schema", "pipeline", "analytics"}, []string{"sql-generation", "chart-building", "etl-pipeline"}},
	{"security", []string{"vulnerability", "scan", "phishing", "malware", "firewall", "incident", "threat", "password", "audit", "encryption"}, []string{"vulnerability-scan", "phishing-detection", "incident-response"}},
	{"marketing", []string{"campaign", "seo", "social", "newsletter", "brand", "copy", "audience", "ads", "email", "content"}, []string{"seo-audit", "ad-copywriting", "campaign-planning"}},
	{"sales", []string{"lead", "crm", "pipeline", "quote", "prospect", "deal", "outreach", "forecast", "territory", "renewal"}, []string{"lead-scoring", "quote-generation", "outreach-drafting"}},
	{"support", []string{"ticket", "helpdesk", "refund", "faq", "chat", "escalation", "customer", "warranty", "return", "complaint"}, []string{"ticket-triage", "refund-processing", "faq-answering"}},
	{"education", []string{"tutor", "quiz", "lesson", "math", "homework", "exam", "flashcard", "curriculum", "grading", "reading"}, []string{"quiz-generation", "homework-help", "essay-grading"}},
	{"research", []string{"paper", "citation", "literature", "summary", "arxiv", "experiment", "dataset", "hypothesis", "survey", "abstract"}, []string{"paper-summary", "citation-search", "literature-review"}},
	{"recipes", []string{"recipe", "cooking", "ingredient", "vegan", "baking", "meal", "diet", "kitchen", "wine", "dessert"}, []string{"recipe-search", "meal-planning", "wine-pairing"}},
	{"shopping", []string{"price", "product", "deal", "coupon", "cart", "compare", "review", "order", "delivery", "stock"}, []string{"price-comparison", "order-tracking", "coupon-finder"}},
	{"hr", []string{"hiring", "resume", "interview", "onboarding", "payroll", "benefits", "candidate", "job", "leave", "performance"}, []string{"resume-screening", "interview-scheduling", "payroll-check"}},
	{"logistics", []string{"shipment", "warehouse", "route", "inventory", "freight", "tracking", "customs", "fleet", "delivery", "supplier"}, []string{"route-optimization", "shipment-tracking", "inventory-forecast"}},
	{"real-estate", []string{"property", "listing", "mortgage", "rent", "appraisal", "tenant", "lease", "house", "apartment", "valuation"}, []string{"listing-search", "mortgage-calc", "lease-review"}},
	{"energy", []string{"solar", "grid", "battery", "consumption", "tariff", "meter", "carbon", "emissions", "wind", "efficiency"}, []string{"usage-analysis", "tariff-compare", "carbon-report"}},
	{"gaming", []string{"game", "quest", "npc", "level", "strategy", "player", "guild", "loot", "speedrun", "mod"}, []string{"quest-design", "npc-dialogue", "strategy-tips"}},
	{"news", []string{"headline", "article", "digest", "politics", "sports", "markets", "breaking", "feed", "editorial", "fact"}, []string{"news-digest", "fact-check", "headline-writing"}},
	{"calendar", []string{"meeting", "schedule", "reminder", "timezone", "agenda", "invite", "availability", "event", "booking", "deadline"}, []string{"meeting-scheduling", "agenda-drafting", "reminder-setting"}},
	{"email", []string{"inbox", "draft", "reply", "summarize", "spam", "thread", "follow-up", "signature", "attachment", "priority"}, []string{"email-drafting", "inbox-triage", "thread-summary"}},
	{"devops", []string{"kubernetes", "docker", "terraform", "monitoring", "alert", "incident", "cluster", "deploy", "logs", "scaling"}, []string{"incident-triage", "terraform-plan", "log-analysis"}},
	{"crypto", []string{"wallet", "token", "blockchain", "defi", "staking", "swap", "nft", "gas", "ledger", "exchange"}, []string{"wallet-analysis", "token-swap", "staking-advice"}},
	{"agriculture", []string{"crop", "soil", "irrigation", "harvest", "livestock", "pest", "yield", "farm", "seed", "fertilizer"}, []string{"crop-planning", "pest-detection", "yield-forecast"}},
	{"automotive", []string{"car", "repair", "diagnostic", "parts", "insurance", "ev", "charging", "maintenance", "tire", "engine"}, []string{"diagnostic-read", "parts-lookup", "charging-planner"}},
	{"writing", []string{"essay", "story", "blog", "grammar", "proofread", "outline", "poem", "novel", "headline", "tone"}, []string{"proofreading", "story-writing", "blog-outline"}},
	{"math", []string{"equation", "calculus", "algebra", "statistics", "proof", "matrix", "probability", "geometry", "integral", "solver"}, []string{"equation-solving", "statistics-help", "proof-checking"}},
	{"home", []string{"thermostat", "lights", "security", "camera", "vacuum", "garden", "appliance", "energy", "lock", "smart"}, []string{"device-control", "garden-care", "energy-saving"}},
	{"music", []string{"playlist", "chord", "lyrics", "song", "genre", "artist", "beat", "mixing", "concert", "instrument"}, []string{"playlist-curation", "chord-finder", "lyrics-writing"}},
	{"sports", []string{"score", "match", "team", "league", "training", "fantasy", "odds", "player", "stats", "coach"}, []string{"score-updates", "fantasy-advice", "training-plans"}},
	{"government", []string{"permit", "benefits", "tax", "form", "voting", "license", "passport", "regulation", "public", "records"}, []string{"form-filling", "permit-guide", "benefits-check"}},
	{"insurance", []string{"claim", "policy", "premium", "coverage", "quote", "underwriting", "risk", "damage", "adjuster", "renewal"}, []string{"claim-filing", "quote-compare", "coverage-check"}},
	{"manufacturing", []string{"quality", "defect", "assembly", "maintenance", "sensor", "production", "cnc", "supply", "safety", "yield"}, []string{"defect-detection", "maintenance-prediction", "production-planning"}},
	{"pets", []string{"dog", "cat", "vet", "training", "food", "adoption", "grooming", "health", "walk", "breed"}, []string{"vet-triage", "training-tips", "adoption-search"}},
	{"science", []string{"chemistry", "physics", "biology", "molecule", "simulation", "lab", "protein", "genome", "telescope", "data"}, []string{"molecule-search", "lab-protocols", "simulation-setup"}},
}

var (
	benchAdjectives = []string{"Swift", "Smart", "Trusty", "Clever", "Rapid", "Precise", "Friendly", "Quiet", "Bold", "Nimble", "Open", "Secure", "Lucid", "Agile", "Prime"}
	benchRoles      = []string{"Agent", "Assistant", "Helper", "Bot", "Advisor", "Copilot", "Analyst", "Planner", "Scout", "Concierge"}
	benchGeneric    = []string{"fast", "reliable", "accurate", "simple", "automated", "secure", "private", "realtime", "multilingual", "enterprise", "free", "open", "smart", "api", "data", "report", "daily", "global", "local", "team"}
)

// skewed picks from n items with a heavy head (item 0 the most frequent).
func skewed(r *rand.Rand, n int) int {
	f := r.Float64()
	return int(float64(n)*f*f) % n
}

// syntheticCard is the JSON of a plausible A2A v1.0 card, the same for the same i.
func syntheticCard(r *rand.Rand, i int) []byte {
	d := benchDomains[skewed(r, len(benchDomains))]
	word := func() string { return d.words[skewed(r, len(d.words))] }
	name := fmt.Sprintf("%s %s %s %d", benchAdjectives[r.IntN(len(benchAdjectives))], title(d.noun), benchRoles[r.IntN(len(benchRoles))], i)
	desc := fmt.Sprintf("A %s %s agent for %s and %s: it handles %s, %s and %s for %s teams.",
		benchGeneric[skewed(r, len(benchGeneric))], d.noun, word(), word(), word(), word(), word(), benchGeneric[skewed(r, len(benchGeneric))])
	var skills []map[string]any
	for _, k := range r.Perm(len(d.skills))[:1+r.IntN(len(d.skills))] {
		sk := d.skills[k]
		tags := []string{d.noun, word()}
		if r.IntN(3) == 0 {
			tags = append(tags, benchGeneric[skewed(r, len(benchGeneric))])
		}
		skills = append(skills, map[string]any{"id": sk, "name": title(strings.ReplaceAll(sk, "-", " ")),
			"description": fmt.Sprintf("%s using %s data", title(strings.ReplaceAll(sk, "-", " ")), word()),
			"tags":        tags, "examples": []string{fmt.Sprintf("help me with %s %s", word(), word()), fmt.Sprintf("what about %s?", word())}})
	}
	b, _ := json.Marshal(map[string]any{
		"name": name, "description": desc, "version": fmt.Sprintf("1.%d.0", r.IntN(10)),
		"supportedInterfaces": []map[string]any{{"url": fmt.Sprintf("https://agents%d.example.com/a2a/%d", i%97, i), "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}},
		"provider":            map[string]any{"organization": "Org " + fmt.Sprint(i%500), "url": "https://example.com"},
		"capabilities":        map[string]any{"streaming": r.IntN(2) == 0, "pushNotifications": r.IntN(4) == 0},
		"defaultInputModes":   []string{"text/plain"}, "defaultOutputModes": []string{"text/plain", "application/json"},
		"skills": skills,
	})
	return b
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// benchQueryKinds names the kinds of benchQueries, by index modulo 5.
var benchQueryKinds = []string{"one word", "two words", "tag or skill", "word and tag", "sentence"}

// benchQueries is the query mix: a fifth each of one-word text, two-word text, a tag or a
// skill, text with a tag, and a request in natural language of 5 to 10 words (one in four with
// a misspelled word).
func benchQueries(n, limit int) []discovery.Query {
	r := rand.New(rand.NewPCG(42, 42))
	qs := make([]discovery.Query, n)
	for i := range qs {
		d := benchDomains[skewed(r, len(benchDomains))]
		word := func() string { return d.words[skewed(r, len(d.words))] }
		q := discovery.Query{Limit: limit}
		switch i % 5 {
		case 0:
			q.Text = word()
			if r.IntN(5) == 0 {
				q.Text = benchRoles[r.IntN(len(benchRoles))] // a word most cards share
			}
		case 1:
			q.Text = d.noun + " " + word()
		case 2:
			if r.IntN(2) == 0 {
				q.Tags = []string{word()}
			} else {
				q.Skills = []string{d.skills[r.IntN(len(d.skills))]}
			}
		case 3:
			q.Text = word()
			q.Tags = []string{d.noun}
		default:
			q.Text = benchSentence(r, d)
		}
		qs[i] = q
	}
	return qs
}

// benchSentences are requests as people and agents write them: %[1]s and %[2]s are words of a
// domain, %[3]s its noun, %[4]s a generic word.
var benchSentences = []string{
	"can you help me find an agent for %[1]s and %[2]s",
	"I need someone who can handle %[1]s for my %[4]s team",
	"what is the best %[3]s assistant to check %[1]s",
	"looking for a %[4]s tool that does %[1]s with %[2]s data",
	"which agent can do %[3]s %[1]s and %[2]s reports every week",
	"please find a %[3]s agent that handles %[1]s",
	"who can help with %[1]s %[2]s for a %[4]s %[3]s project",
}

// benchSentence is a natural-language request about domain d, one in four with a typo.
func benchSentence(r *rand.Rand, d benchDomain) string {
	word := func() string { return d.words[skewed(r, len(d.words))] }
	w1 := word()
	if r.IntN(4) == 0 && len(w1) >= 5 {
		k := 1 + r.IntN(len(w1)-2)
		w1 = w1[:k] + w1[k+1:] // a letter left out
	}
	return fmt.Sprintf(benchSentences[r.IntN(len(benchSentences))], w1, word(), d.noun, benchGeneric[skewed(r, len(benchGeneric))])
}
