package knowledge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/caunoi/caunoi"
)

// Index is the searchable handbook: an in-memory bleve index over the
// handbook's passages, with Vietnamese analysis. It is safe for concurrent
// use; Reload swaps in a new build while searches go on.
type Index struct {
	cfg      config
	cur      atomic.Pointer[snapshot]
	reloadMu sync.Mutex
}

var _ caunoi.Searcher = (*Index)(nil)

// Option configures an Index.
type Option func(*config)

type config struct {
	logger    *slog.Logger
	batchSize int
	w         weights
	rw        rankWeights
}

// WithLogger sets the logger for builds and reloads. By default nothing is
// logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

func newConfig(opts []Option) config {
	c := config{logger: slog.New(slog.DiscardHandler), batchSize: 5000, w: defaultWeights, rw: defaultRankWeights}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// snapshot is one build: the bleve index and what searches need beside it.
// A search holds mu for reading; retiring a snapshot takes it for writing,
// so an index is closed only after the searches using it have finished.
type snapshot struct {
	mu       sync.RWMutex
	closed   bool
	idx      bleve.Index
	hb       *Handbook
	passages []caunoi.Passage
	byID     map[string]int
	aliases  map[string][]string // entry id → aliases
	syn      *synonyms
	vocab    map[string]map[string]uint32 // field → term → document frequency
	docs     int
	version  string
	w        weights
	rw       rankWeights
	rk       *ranker
}

// Field names in the bleve index. Each text field has a folded variant;
// the body also has an exact-diacritics variant; most have bigrams.
const (
	fTitle       = "title"
	fTitleB      = "title_b"
	fSection     = "section"
	fSectionB    = "section_b"
	fText        = "text"
	fTextX       = "text_x"
	fTextB       = "text_b"
	fQuestions   = "questions"
	fQuestionsB  = "questions_b"
	fAliases     = "aliases"
	fLegal       = "legal"
	docType      = "passage"
	maxHitsLimit = 100
)

// weights are the boosts of the query clauses, per field.
type weights struct {
	Text, TextExact, TextB float64
	Title, TitleB          float64
	Section, SectionB      float64
	Questions, QuestionsB  float64
	Aliases, Legal         float64
	Expansion, Fuzzy       float64
	// CommonDF: a syllable in more than this share of passages is searched
	// in the body only, not in headings; its pairs still count in full.
	CommonDF float64
	// DropDF: a syllable in more than this share of passages is not
	// searched alone at all; its pairs with other syllables still are.
	DropDF float64
	// HeadInBody indexes the section heading as part of the body too.
	HeadInBody bool
}

// defaultWeights: headings and the sample questions of an entry say what
// a passage is about, so they weigh more than the body; bigrams capture
// compound words; an exact-diacritics match adds to the folded one.
var defaultWeights = weights{
	Text: 1.0, TextExact: 0.35, TextB: 1.1,
	Title: 0.7, TitleB: 0.7,
	Section: 1.2, SectionB: 1.2,
	Questions: 1.4, QuestionsB: 1.4,
	Aliases: 1.2, Legal: 0.4,
	Expansion: 0.6, Fuzzy: 0.25,
	CommonDF: 0.02, DropDF: 0.05,
}

// Below these document frequencies a syllable is never treated as common:
// in a small index common syllables cost little and still help.
const (
	commonFloor = 200
	dropFloor   = 500
)

// fuzzyMinRunes is the shortest folded syllable that is matched with one
// edit when no passage has it.
const fuzzyMinRunes = 5

func newMapping() mapping.IndexMapping {
	im := bleve.NewIndexMapping()
	im.ScoringModel = index.BM25Scoring
	im.DefaultAnalyzer = analyzerFold
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false

	field := func(name, analyzer string) *mapping.FieldMapping {
		fm := bleve.NewTextFieldMapping()
		fm.Name = name
		fm.Analyzer = analyzer
		fm.Store = false
		fm.IncludeTermVectors = false
		fm.IncludeInAll = false
		fm.DocValues = false
		return fm
	}
	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt("title", field(fTitle, analyzerFold), field(fTitleB, analyzerBigram))
	dm.AddFieldMappingsAt("section", field(fSection, analyzerFold), field(fSectionB, analyzerBigram))
	dm.AddFieldMappingsAt("text", field(fText, analyzerFold), field(fTextX, analyzerExact), field(fTextB, analyzerBigram))
	dm.AddFieldMappingsAt("questions", field(fQuestions, analyzerFold), field(fQuestionsB, analyzerBigram))
	dm.AddFieldMappingsAt("aliases", field(fAliases, analyzerFold))
	dm.AddFieldMappingsAt("legal", field(fLegal, analyzerFold))
	im.AddDocumentMapping(docType, dm)
	im.DefaultMapping = dm
	return im
}

// vocabFields are the fields whose dictionaries are kept, so that a query
// skips terms that cannot match.
var vocabFields = []string{fTitle, fTitleB, fSection, fSectionB, fText, fTextX, fTextB, fQuestions, fQuestionsB, fAliases, fLegal}

// Build indexes a loaded handbook. It returns an error when ctx ends or the
// index cannot be built.
func Build(ctx context.Context, h *Handbook, opts ...Option) (*Index, error) {
	if h == nil {
		return nil, fmt.Errorf("build index: no handbook: %w", caunoi.ErrInvalid)
	}
	x := &Index{cfg: newConfig(opts)}
	s, err := buildSnapshot(ctx, h, h.Passages, h.Glossary.Expansions(), x.cfg)
	if err != nil {
		return nil, err
	}
	x.cur.Store(s)
	return x, nil
}

// BuildPassages indexes passages that do not come from a handbook, such as
// a benchmark corpus. expansions is a glossary's Expansions() or nil. The
// index's Handbook holds the passages and no entries.
func BuildPassages(ctx context.Context, ps []caunoi.Passage, expansions map[string][]string, opts ...Option) (*Index, error) {
	x := &Index{cfg: newConfig(opts)}
	h := &Handbook{Passages: ps, Version: fmt.Sprintf("passages-%d", len(ps))}
	s, err := buildSnapshot(ctx, h, ps, expansions, x.cfg)
	if err != nil {
		return nil, err
	}
	x.cur.Store(s)
	return x, nil
}

// Open loads the handbook in fsys and indexes it. When the handbook has
// errors, it returns them as the error (matching caunoi.ErrInvalid).
func Open(ctx context.Context, fsys fs.FS, now time.Time, opts ...Option) (*Index, error) {
	h, probs := Load(fsys, now)
	if err := probs.Err(); err != nil {
		return nil, fmt.Errorf("load handbook: %w", err)
	}
	return Build(ctx, h, opts...)
}

// Reload loads the handbook in fsys again, builds a new index and swaps it
// in. Searches running during the swap finish on the old index; later ones
// use the new one. When loading or building fails, the old index keeps
// serving and Reload returns the problems and the error. Reloads are
// serialised.
func (x *Index) Reload(ctx context.Context, fsys fs.FS, now time.Time) (Problems, error) {
	x.reloadMu.Lock()
	defer x.reloadMu.Unlock()
	start := time.Now()
	h, probs := Load(fsys, now)
	if err := probs.Err(); err != nil {
		return probs, fmt.Errorf("reload handbook: %w", err)
	}
	s, err := buildSnapshot(ctx, h, h.Passages, h.Glossary.Expansions(), x.cfg)
	if err != nil {
		return probs, fmt.Errorf("reload handbook: %w", err)
	}
	old := x.cur.Swap(s)
	if old != nil {
		old.retire()
	}
	x.cfg.logger.Info("handbook reloaded", "version", s.version, "passages", len(s.passages),
		"duration_ms", time.Since(start).Milliseconds())
	return probs, nil
}

// Close releases the index. Searches after Close return an error.
func (x *Index) Close() error {
	x.reloadMu.Lock()
	defer x.reloadMu.Unlock()
	old := x.cur.Swap(nil)
	if old == nil {
		return nil
	}
	return old.retire()
}

// errClosed is returned by searches on a closed Index.
var errClosed = errors.New("knowledge: index closed")

// acquire returns the current snapshot, read-locked. The caller must call
// s.mu.RUnlock.
func (x *Index) acquire() (*snapshot, error) {
	for {
		s := x.cur.Load()
		if s == nil {
			return nil, errClosed
		}
		s.mu.RLock()
		if !s.closed {
			return s, nil
		}
		s.mu.RUnlock()
	}
}

// retire waits for searches on s to finish, then closes its index.
func (s *snapshot) retire() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.idx.Close()
}

// Version identifies the handbook build now serving.
func (x *Index) Version() string {
	s, err := x.acquire()
	if err != nil {
		return ""
	}
	defer s.mu.RUnlock()
	return s.version
}

// Handbook returns the handbook now serving, or nil after Close. Callers
// must not modify it.
func (x *Index) Handbook() *Handbook {
	s, err := x.acquire()
	if err != nil {
		return nil
	}
	defer s.mu.RUnlock()
	return s.hb
}

// Passage returns the passage with the given id, or caunoi.ErrNotFound.
func (x *Index) Passage(id string) (caunoi.Passage, error) {
	s, err := x.acquire()
	if err != nil {
		return caunoi.Passage{}, err
	}
	defer s.mu.RUnlock()
	i, ok := s.byID[id]
	if !ok {
		return caunoi.Passage{}, fmt.Errorf("passage %q: %w", id, caunoi.ErrNotFound)
	}
	return s.passages[i], nil
}

// document is what bleve indexes for one passage.
type document struct {
	Title     string `json:"title"`
	Section   string `json:"section"`
	Text      string `json:"text"`
	Questions string `json:"questions"`
	Aliases   string `json:"aliases"`
	Legal     string `json:"legal"`
}

// Type tells bleve which document mapping applies.
func (document) Type() string { return docType }

func buildSnapshot(ctx context.Context, h *Handbook, ps []caunoi.Passage, exp map[string][]string, cfg config) (*snapshot, error) {
	start := time.Now()
	idx, err := bleve.NewUsing("", newMapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("create index: %w", err)
	}
	s := &snapshot{
		idx:      idx,
		hb:       h,
		passages: ps,
		byID:     make(map[string]int, len(ps)),
		aliases:  make(map[string][]string),
		syn:      compileSynonyms(exp),
		docs:     len(ps),
		version:  h.Version,
		w:        cfg.w,
		rw:       cfg.rw,
	}
	for _, e := range h.Entries {
		if len(e.Aliases) > 0 {
			s.aliases[e.ID] = e.Aliases
		}
	}
	fail := func(err error) (*snapshot, error) {
		idx.Close()
		return nil, err
	}
	b := idx.NewBatch()
	for i, p := range ps {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return fail(fmt.Errorf("build index: %w", err))
			}
		}
		if _, dup := s.byID[p.ID]; dup {
			return fail(fmt.Errorf("build index: passage %q twice: %w", p.ID, caunoi.ErrInvalid))
		}
		s.byID[p.ID] = i
		d := document{
			Title:     p.Title,
			Section:   p.Section,
			Text:      body(p, cfg.w.HeadInBody),
			Questions: strings.Join(p.Questions, "\n"),
			Aliases:   strings.Join(s.aliases[p.EntryID], "\n"),
			Legal:     strings.Join(p.LegalBasis, "\n"),
		}
		if err := b.Index(p.ID, d); err != nil {
			return fail(fmt.Errorf("index passage %q: %w", p.ID, err))
		}
		if b.Size() >= cfg.batchSize {
			if err := idx.Batch(b); err != nil {
				return fail(fmt.Errorf("build index: %w", err))
			}
			b.Reset()
		}
	}
	if b.Size() > 0 {
		if err := idx.Batch(b); err != nil {
			return fail(fmt.Errorf("build index: %w", err))
		}
	}
	s.rk = newRanker(ps, s.aliases)
	s.vocab = make(map[string]map[string]uint32, len(vocabFields))
	for _, f := range vocabFields {
		d, err := idx.FieldDict(f)
		if err != nil {
			return fail(fmt.Errorf("read dictionary %s: %w", f, err))
		}
		m := make(map[string]uint32)
		for {
			e, err := d.Next()
			if err != nil {
				d.Close()
				return fail(fmt.Errorf("read dictionary %s: %w", f, err))
			}
			if e == nil {
				break
			}
			m[e.Term] = uint32(e.Count)
		}
		d.Close()
		s.vocab[f] = m
	}
	if s.version == "" {
		s.version = fmt.Sprintf("%d-passages", len(ps))
	}
	cfg.logger.Debug("index built", "passages", len(ps), "duration_ms", time.Since(start).Milliseconds())
	return s, nil
}

// Search finds the passages that best answer query: at most limit hits,
// best first, one per passage, with snippets and confidence. It returns an
// error wrapping caunoi.ErrInvalid for an empty or unusable query or a
// limit below 1. Queries longer than 4,096 bytes are cut.
func (x *Index) Search(ctx context.Context, q string, limit int) (caunoi.SearchResult, error) {
	if limit < 1 {
		return caunoi.SearchResult{}, fmt.Errorf("search: limit %d: %w", limit, caunoi.ErrInvalid)
	}
	if limit > maxHitsLimit {
		limit = maxHitsLimit
	}
	s, err := x.acquire()
	if err != nil {
		return caunoi.SearchResult{}, fmt.Errorf("search: %w", err)
	}
	defer s.mu.RUnlock()
	aq, err := analyzeQuery(q, s.syn)
	if err != nil {
		return caunoi.SearchResult{}, fmt.Errorf("search: %w", err)
	}
	res := caunoi.SearchResult{Query: aq.text, Version: s.version}
	bq := s.buildQuery(aq)
	if bq == nil {
		return res, nil
	}
	idx, scores, err := s.ranked(ctx, aq, bq, limit)
	if err != nil {
		return caunoi.SearchResult{}, err
	}
	res.Hits = make([]caunoi.Hit, 0, len(idx))
	for j, i := range idx {
		p := s.passages[i]
		snip, spans := snippet(p.Text, aq)
		res.Hits = append(res.Hits, caunoi.Hit{Passage: p, Score: scores[j], Snippet: snip, Highlights: spans})
	}
	s.assess(aq, &res)
	return res, nil
}

// buildQuery turns an analysed query into the disjunction of term clauses
// that finds the candidates for the ranker, skipping terms that no passage
// has and leaving out syllables so common that they only slow the search
// (the ranker still counts them). It returns nil when nothing can match.
func (s *snapshot) buildQuery(aq *analyzedQuery) query.Query {
	var qs []query.Query
	add := func(field, term string, boost float64) {
		if boost <= 0 || s.vocab[field][term] == 0 {
			return
		}
		t := query.NewTermQuery(term)
		t.SetField(field)
		t.SetBoost(boost)
		qs = append(qs, t)
	}
	W := s.w
	common := max(uint32(W.CommonDF*float64(s.docs)), commonFloor)
	drop := max(uint32(W.DropDF*float64(s.docs)), dropFloor)
	unigram := func(term string, w float64) {
		if s.vocab[fText][term] > drop {
			return
		}
		add(fText, term, w*W.Text)
		if s.vocab[fText][term] > common {
			return
		}
		add(fTitle, term, w*W.Title)
		add(fSection, term, w*W.Section)
		add(fQuestions, term, w*W.Questions)
		add(fAliases, term, w*W.Aliases)
		add(fLegal, term, w*W.Legal)
	}
	// Pairs in headings and exact forms are left to the ranker: candidates
	// need only the body and the sample questions.
	bigram := func(term string, w float64) {
		add(fTextB, term, w*W.TextB)
		add(fQuestionsB, term, w*W.QuestionsB)
	}
	for _, t := range aq.terms {
		unigram(t.fold, 1)
		if s.vocab[fText][t.fold] == 0 && s.vocab[fTitle][t.fold] == 0 && s.vocab[fQuestions][t.fold] == 0 && W.Fuzzy > 0 {
			// A word no passage has may be a typo: search its most frequent
			// neighbour one edit away, at a low weight.
			if nb := s.rk.neighbour(t.fold); nb != "" {
				unigram(nb, W.Fuzzy)
			}
		}
	}
	for _, b := range aq.bigrams {
		bigram(b, 1)
	}
	for _, t := range aq.expTerms {
		unigram(t, W.Expansion)
	}
	for _, b := range aq.expBigrams {
		bigram(b, W.Expansion)
	}
	if len(qs) == 0 {
		return nil
	}
	return query.NewDisjunctionQuery(qs)
}

// ranked returns the indexes of the best passages for aq, at most n,
// with their rank scores: bleve finds candidates, the ranker orders them.
func (s *snapshot) ranked(ctx context.Context, aq *analyzedQuery, bq query.Query, n int) ([]int, []float64, error) {
	req := bleve.NewSearchRequestOptions(bq, max(n, candidates), 0, false)
	sr, err := s.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, nil, fmt.Errorf("search: %w", err)
	}
	cands := make([]int, 0, len(sr.Hits))
	for _, dm := range sr.Hits {
		if i, ok := s.byID[dm.ID]; ok {
			cands = append(cands, i)
		}
	}
	idx, scores := s.rk.rerank(cands, aq, s.rw, n)
	return idx, scores, nil
}

// body is what the text field indexes: the passage text, after its heading
// when head is set.
func body(p caunoi.Passage, head bool) string {
	if !head || p.Section == "" {
		return p.Text
	}
	return p.Section + "\n\n" + p.Text
}
