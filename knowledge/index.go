package knowledge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime/debug"
	"sort"
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
	docs     int
	version  string
	w        weights
	rw       rankWeights
	rk       *ranker
}

// Field names in the bleve index. bleve only finds candidates, from folded
// syllables; the ranker scores them with its own statistics, pairs and
// exact forms included.
const (
	fBody        = "body" // section heading and text
	fHead        = "head" // title, sample questions, aliases, legal basis
	docType      = "passage"
	maxHitsLimit = 100
)

// weights are the boosts of the candidate query's clauses.
type weights struct {
	Body, Head float64
	// Pairs weighs the pair score against bleve's in choosing candidates.
	Pairs            float64
	Expansion, Fuzzy float64
	// CommonDF: a syllable in more than this share of passages is searched
	// in the body only, not in the other fields.
	CommonDF float64
	// DropDF: a syllable in more than this share of passages is not
	// searched at all; the ranker still counts it and its pairs.
	DropDF float64
}

// defaultWeights: titles, sample questions and aliases say what a passage
// is about, so they weigh more than the body.
var defaultWeights = weights{
	Body: 1.0, Head: 1.3, Pairs: 1.0,
	Expansion: 0.6, Fuzzy: 0.25,
	CommonDF: 0.02, DropDF: 0.05,
}

// freeAfter is the number of passages from which a build returns its
// garbage to the system at once.
const freeAfter = 5000

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
	dm.AddFieldMappingsAt(fBody, field(fBody, analyzerFold))
	dm.AddFieldMappingsAt(fHead, field(fHead, analyzerFold))
	im.AddDocumentMapping(docType, dm)
	im.DefaultMapping = dm
	return im
}

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
	Body string `json:"body"`
	Head string `json:"head"`
}

// Type tells bleve which document mapping applies.
func (document) Type() string { return docType }

func buildSnapshot(ctx context.Context, h *Handbook, ps []caunoi.Passage, exp map[string][]string, cfg config) (*snapshot, error) {
	start := time.Now()
	s := &snapshot{
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
	for i, p := range ps {
		if _, dup := s.byID[p.ID]; dup {
			return nil, fmt.Errorf("build index: passage %q twice: %w", p.ID, caunoi.ErrInvalid)
		}
		s.byID[p.ID] = i
	}
	// The ranker's statistics are built beside bleve's index, on the other
	// core.
	rkDone := make(chan *ranker, 1)
	go func() { rkDone <- newRanker(ps, s.aliases) }()
	idx, err := s.index(ctx, cfg.batchSize)
	s.rk = <-rkDone
	if err != nil {
		return nil, err
	}
	s.idx = idx
	if len(ps) >= freeAfter {
		// A large build leaves several times the index's size in garbage;
		// hand it back to the system now rather than keep it resident.
		debug.FreeOSMemory()
	}
	if s.version == "" {
		s.version = fmt.Sprintf("%d-passages", len(ps))
	}
	cfg.logger.Debug("index built", "passages", len(ps), "duration_ms", time.Since(start).Milliseconds())
	return s, nil
}

// index builds the bleve index of the snapshot's passages.
func (s *snapshot) index(ctx context.Context, batchSize int) (bleve.Index, error) {
	idx, err := bleve.NewUsing("", newMapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("create index: %w", err)
	}
	fail := func(err error) (bleve.Index, error) {
		idx.Close()
		return nil, err
	}
	b := idx.NewBatch()
	var head strings.Builder
	for i := range s.passages {
		p := &s.passages[i]
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return fail(fmt.Errorf("build index: %w", err))
			}
		}
		head.Reset()
		for _, parts := range [][]string{{p.Title}, p.Questions, s.aliases[p.EntryID], p.LegalBasis} {
			for _, t := range parts {
				head.WriteString(t)
				head.WriteByte('\n')
			}
		}
		d := document{Body: p.Section + "\n" + p.Text, Head: head.String()}
		if err := b.Index(p.ID, d); err != nil {
			return fail(fmt.Errorf("index passage %q: %w", p.ID, err))
		}
		if b.Size() >= batchSize {
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
	return idx, nil
}

// Search finds the passages that best answer query: at most limit hits,
// best first, one per passage, with snippets and confidence. It returns an
// error wrapping caunoi.ErrInvalid for an empty or unusable query or a
// limit below 1. Queries longer than 4,096 bytes are cut.
func (x *Index) Search(ctx context.Context, q string, limit int) (caunoi.SearchResult, error) {
	return x.search(ctx, q, limit, true)
}

// WithoutSnippets returns x as a caunoi.Searcher whose hits carry no
// Snippet and no Highlights, for callers that show a passage whole, as the
// bot does: building the snippets is about half of a handbook search.
// Ranking and confidence are Search's.
func (x *Index) WithoutSnippets() caunoi.Searcher { return bareIndex{x} }

type bareIndex struct{ x *Index }

func (b bareIndex) Search(ctx context.Context, q string, limit int) (caunoi.SearchResult, error) {
	return b.x.search(ctx, q, limit, false)
}

func (x *Index) search(ctx context.Context, q string, limit int, snippets bool) (caunoi.SearchResult, error) {
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
	rq := s.rk.compile(aq, s.rw)
	defer rq.release()
	idx, scores, err := s.top(ctx, aq, rq, limit)
	if err != nil {
		return caunoi.SearchResult{}, err
	}
	if idx == nil {
		return res, nil
	}
	res.Hits = make([]caunoi.Hit, 0, len(idx))
	var want map[string]int32
	if snippets {
		want = matchSet(aq)
	}
	for j, i := range idx {
		h := caunoi.Hit{Passage: s.passages[i], Score: scores[j]}
		if snippets {
			h.Snippet, h.Highlights = s.rk.snippet(i, h.Passage.Text, rq, want)
		}
		res.Hits = append(res.Hits, h)
	}
	s.assess(rq, idx, &res)
	return res, nil
}

// top returns the indexes of the best passages for aq, at most n, with
// their rank scores, best first; nil or empty when nothing matches. A
// small index ranks every passage with a positive score; a large one ranks
// the candidates that bleve and the pair postings find.
func (s *snapshot) top(ctx context.Context, aq *analyzedQuery, q *rankQuery, n int) ([]int, []float64, error) {
	if s.rk.direct != nil {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("search: %w", err)
		}
		idx, scores := s.rk.scoreAll(q, s.rw, n)
		return idx, scores, nil
	}
	// When every word is common ("tình thế cấp thiết là gì"), bq is nil
	// and the candidates come from the pairs alone.
	return s.ranked(ctx, aq, s.buildQuery(aq), q, n)
}

// buildQuery turns an analysed query into the disjunction of term clauses
// that finds the candidates for the ranker, skipping terms that no passage
// has and leaving out syllables so common that they only slow the search
// (the ranker still counts them). It returns nil when no syllable is left.
func (s *snapshot) buildQuery(aq *analyzedQuery) query.Query {
	var qs []query.Query
	add := func(field, term string, boost float64) {
		t := query.NewTermQuery(term)
		t.SetField(field)
		t.SetBoost(boost)
		qs = append(qs, t)
	}
	W := s.w
	common := max(int32(W.CommonDF*float64(s.docs)), commonFloor)
	drop := max(int32(W.DropDF*float64(s.docs)), dropFloor)
	seen := make(map[string]bool, len(aq.terms)+len(aq.expTerms))
	unigram := func(term string, w float64) {
		if seen[term] {
			return
		}
		seen[term] = true
		df := s.rk.bodyDF(term)
		if df > drop {
			return
		}
		if df > 0 {
			add(fBody, term, w*W.Body)
		}
		if df <= common {
			add(fHead, term, w*W.Head)
		}
	}
	for _, t := range aq.terms {
		if _, ok := s.rk.dict[t.fold]; !ok && W.Fuzzy > 0 {
			// A word no passage has may be a typo: search its most frequent
			// neighbour one edit away, at a low weight.
			if nb := s.rk.neighbour(t.fold); nb != "" {
				unigram(nb, W.Fuzzy)
				continue
			}
		}
		unigram(t.fold, 1)
	}
	for _, t := range aq.expTerms {
		unigram(t, W.Expansion)
	}
	if len(qs) == 0 {
		return nil
	}
	return query.NewDisjunctionQuery(qs)
}

// ranked returns the indexes of the best passages for aq, at most n,
// with their rank scores. bleve scores passages by syllables (bq; nil
// skips it) and the ranker's pair postings by syllable pairs; each score
// is scaled by its best, the two are summed, and the ranker orders the
// best of the sums.
func (s *snapshot) ranked(ctx context.Context, aq *analyzedQuery, bq query.Query, q *rankQuery, n int) ([]int, []float64, error) {
	sr := &bleve.SearchResult{}
	if bq != nil {
		req := bleve.NewSearchRequestOptions(bq, max(n, 2*candidates), 0, false)
		var err error
		if sr, err = s.idx.SearchInContext(ctx, req); err != nil {
			return nil, nil, fmt.Errorf("search: %w", err)
		}
	} else if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("search: %w", err)
	}
	maxDF := max(int32(s.w.DropDF*float64(s.docs)), dropFloor)
	acc := s.rk.pairScores(aq, s.w.Expansion, maxDF)
	joint := make(map[int]float64, len(sr.Hits)+len(acc))
	if sr.MaxScore > 0 {
		for _, dm := range sr.Hits {
			if i, ok := s.byID[dm.ID]; ok {
				joint[i] += dm.Score / sr.MaxScore
			}
		}
	}
	maxP := 0.0
	for _, v := range acc {
		maxP = max(maxP, v)
	}
	if maxP > 0 {
		for d, v := range acc {
			if _, ok := joint[int(d)]; ok || v >= maxP*minPairShare {
				joint[int(d)] += s.w.Pairs * v / maxP
			}
		}
	}
	cands := topKeys(joint, max(n, candidates))
	idx, scores := s.rk.rerank(cands, q, s.rw, n)
	return idx, scores, nil
}

// minPairShare: a passage that bleve did not return is a candidate only if
// its pair score is at least this share of the best.
const minPairShare = 0.25

// topKeys returns the k keys of m with the highest values, best first, ties
// by the lower key.
func topKeys(m map[int]float64, k int) []int {
	keys := make([]int, 0, len(m))
	for i := range m {
		keys = append(keys, i)
	}
	sort.Slice(keys, func(a, b int) bool {
		if m[keys[a]] != m[keys[b]] {
			return m[keys[a]] > m[keys[b]]
		}
		return keys[a] < keys[b]
	})
	if len(keys) > k {
		keys = keys[:k]
	}
	return keys
}
