package knowledge

import (
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/caunoi/caunoi"
)

// Ranking.
//
// bleve finds candidates by folded syllables and the ranker's pair
// postings by syllable pairs (a small index skips this: see
// index_direct.go); the ranker orders them by BM25 computed per field
// (body, title, sample questions, section heading) over folded syllables
// and syllable pairs, plus an exact-diacritics term for words typed with
// marks and the evidence of the best paragraph. The heading also counts
// on its own because it names what the whole passage is about.
// bleve's own scores only help choose candidates: its BM25 multiplies the
// idf in twice, takes the square root of term frequencies and scales by
// the share of query clauses matched, which favours long passages that
// share many common words with the question.

// candidates is how many passages the ranker orders; bleve is asked for
// twice as many.
const candidates = 100

// Ranked fields.
const (
	rBody  = iota // section heading and body text
	rTitle        // entry title
	rQuest        // sample questions and aliases
	rExact        // section heading and body, exact forms
	rSect         // section heading
	nRank
)

// Separators inside a field. Ids below zero are never terms: no pair spans
// a separator, and each one ends a paragraph for the ranker. sepLine
// separates the lines of a passage's text, which the confidence features
// read as one run of words (a pair across a line break counts there).
const (
	sep     int32 = -1
	sepLine int32 = -2
)

// pairTable maps syllable pairs to document frequencies: keys sorted, df
// beside them. It takes 12 bytes a pair, a third of a Go map's.
type pairTable struct {
	keys []uint64
	df   []int32
}

// get returns the document frequency of pair k, 0 when no passage has it.
func (t *pairTable) get(k uint64) int32 {
	i, ok := slices.BinarySearch(t.keys, k)
	if !ok {
		return 0
	}
	return t.df[i]
}

// newPairTable counts, from every passage's distinct pairs listed one
// after another, how many passages hold each pair. It sorts all in place.
func newPairTable(all []uint64) pairTable {
	slices.Sort(all)
	var t pairTable
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j] == all[i] {
			j++
		}
		t.keys = append(t.keys, all[i])
		t.df = append(t.df, int32(j-i))
		i = j
	}
	return t
}

type fieldStats struct {
	uni   []int32 // term id → document frequency
	bi    pairTable
	total int64 // summed field lengths
	avg   float64
}

// ranker holds, for every passage, its fields as term ids, and the
// statistics BM25 needs. Term ids of all passages share one backing array.
type ranker struct {
	dict   map[string]int32 // folded syllable → id
	xdict  map[string]int32 // exact syllable → id
	docs   [][nRank][]int32
	st     [nRank]fieldStats
	pp     pairPostings
	direct *directIndex // only when n <= directMax
	n      int
	pool   sync.Pool // of *rankQuery
	// numbering marks the folded ids that number a paragraph: digits or
	// one ASCII letter ("1", "a").
	numbering []bool
	la        int32 // id of "la" (là), or -1
	// textAt is where each passage's text begins in its body field.
	textAt []int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// tokenIDs caches the folded and exact ids of each syllable as written.
type tokenIDs struct{ f, x int32 }

// rankBuilder turns text into term ids, folding each written form once.
type rankBuilder struct {
	r    *ranker
	seen map[string]tokenIDs
}

func (b *rankBuilder) ids(w string) tokenIDs {
	if t, ok := b.seen[w]; ok {
		return t
	}
	t := tokenIDs{f: b.r.id(b.r.dict, fold(w)), x: b.r.id(b.r.xdict, exact(w))}
	b.seen[strings.Clone(w)] = t
	return t
}

// appendText appends the folded ids of the syllables of s to dst and, when
// xdst is not nil, their exact ids to *xdst.
func (b *rankBuilder) appendText(dst []int32, xdst *[]int32, s string) []int32 {
	for _, x := range syllables(s) {
		t := b.ids(s[x.start:x.end])
		dst = append(dst, t.f)
		if xdst != nil {
			*xdst = append(*xdst, t.x)
		}
	}
	return dst
}

func newRanker(ps []caunoi.Passage, aliases map[string][]string) *ranker {
	r := &ranker{
		dict:   make(map[string]int32, 1<<12),
		xdict:  make(map[string]int32, 1<<12),
		docs:   make([][nRank][]int32, len(ps)),
		textAt: make([]int32, len(ps)),
		n:      len(ps),
	}
	b := &rankBuilder{r: r, seen: make(map[string]tokenIDs, 1<<12)}
	// One backing array for all passages' ids; a field is a slice of it.
	arena := make([]int32, 0, 1<<16)
	type fieldRange [nRank][2]int
	ranges := make([]fieldRange, len(ps))
	var pairs [nRank][]uint64
	lastSeen := [nRank][]int32{}
	var docPairs []uint64
	// Distinct pairs of each passage's body and questions, for postings.
	var candPairs []uint64
	candStart := make([]int, 0, len(ps)+1)
	var fbuf [nRank][]int32
	for i := range ps {
		p := &ps[i]
		for f := range fbuf {
			fbuf[f] = fbuf[f][:0]
		}
		body, ex := fbuf[rBody], fbuf[rExact]
		body = b.appendText(body, &ex, p.Section)
		if len(body) > 0 {
			body = append(body, sep)
		}
		r.textAt[i] = int32(len(body))
		for para := range strings.SplitSeq(p.Text, "\n") {
			if body = b.appendText(body, &ex, para); len(body) > 0 && body[len(body)-1] >= 0 {
				body = append(body, sepLine)
			}
		}
		fbuf[rBody], fbuf[rExact] = body, ex
		fbuf[rTitle] = b.appendText(fbuf[rTitle], nil, p.Title)
		fbuf[rSect] = b.appendText(fbuf[rSect], nil, p.Section)
		for _, q := range p.Questions {
			fbuf[rQuest] = append(b.appendText(fbuf[rQuest], nil, q), sep)
		}
		for _, a := range aliases[p.EntryID] {
			fbuf[rQuest] = append(b.appendText(fbuf[rQuest], nil, a), sep)
		}
		for f := range fbuf {
			st := &r.st[f]
			d := fbuf[f]
			ranges[i][f] = [2]int{len(arena), len(arena) + len(d)}
			arena = append(arena, d...)
			if n := len(r.dict); f != rExact && len(st.uni) < n {
				st.uni = append(st.uni, make([]int32, n-len(st.uni))...)
				lastSeen[f] = append(lastSeen[f], make([]int32, n-len(lastSeen[f]))...)
			} else if n := len(r.xdict); f == rExact && len(st.uni) < n {
				st.uni = append(st.uni, make([]int32, n-len(st.uni))...)
				lastSeen[f] = append(lastSeen[f], make([]int32, n-len(lastSeen[f]))...)
			}
			docPairs = docPairs[:0]
			prev := sep
			for _, t := range d {
				if t >= 0 {
					st.total++
					if lastSeen[f][t] != int32(i+1) {
						lastSeen[f][t] = int32(i + 1)
						st.uni[t]++
					}
					if prev >= 0 && f != rExact {
						docPairs = append(docPairs, pairKey(prev, t))
					}
				}
				prev = t
			}
			slices.Sort(docPairs)
			docPairs = slices.Compact(docPairs)
			pairs[f] = append(pairs[f], docPairs...)
		}
		candStart = append(candStart, len(candPairs))
		prev := sep
		for _, f := range [...]int{rBody, rQuest} {
			for _, t := range fbuf[f] {
				if prev >= 0 && t >= 0 {
					candPairs = append(candPairs, pairKey(prev, t))
				}
				prev = t
			}
			prev = sep
		}
		c := candPairs[candStart[i]:]
		slices.Sort(c)
		candPairs = candPairs[:candStart[i]+len(slices.Compact(c))]
	}
	candStart = append(candStart, len(candPairs))
	r.pp = newPairPostings(candPairs, candStart)
	candPairs = nil
	for i := range ps {
		for f := range ranges[i] {
			rg := ranges[i][f]
			r.docs[i][f] = arena[rg[0]:rg[1]:rg[1]]
		}
	}
	for f := range r.st {
		r.st[f].bi = newPairTable(pairs[f])
		pairs[f] = nil
		if r.n > 0 {
			r.st[f].avg = float64(r.st[f].total) / float64(r.n)
		}
	}
	r.numbering = make([]bool, len(r.dict))
	for w, id := range r.dict {
		r.numbering[id] = isNumbering(w)
	}
	r.la = -1
	if id, ok := r.dict["la"]; ok {
		r.la = id
	}
	if r.n <= directMax {
		r.direct = r.newDirectIndex()
	}
	r.newQueryPool()
	return r
}

// isNumbering reports whether the folded syllable w numbers a paragraph:
// all digits, or one ASCII letter.
func isNumbering(w string) bool {
	if len(w) == 1 && w[0] >= 'a' && w[0] <= 'z' {
		return true
	}
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return w != ""
}

// df returns the document frequency of folded term id t in field f.
func (r *ranker) df(f int, t int32) int32 {
	if t < 0 || int(t) >= len(r.st[f].uni) {
		return 0
	}
	return r.st[f].uni[t]
}

// bodyDF returns the number of passages whose body holds the folded
// syllable term.
func (r *ranker) bodyDF(term string) int32 {
	id, ok := r.dict[term]
	if !ok {
		return 0
	}
	return r.df(rBody, id)
}

// pairPostings lists, for each syllable pair of a body or the sample
// questions, the passages that hold it: keys sorted, the passages of
// keys[j] in docs[off[j]:off[j+1]], in passage order.
type pairPostings struct {
	keys []uint64
	off  []int32
	docs []int32
}

// newPairPostings builds the postings from every passage's distinct pairs,
// listed one passage after another; start[i] is where passage i's begin,
// and start has one more element, the end.
func newPairPostings(all []uint64, start []int) pairPostings {
	sorted := slices.Clone(all)
	slices.Sort(sorted)
	var pp pairPostings
	pp.off = append(pp.off, 0)
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		pp.keys = append(pp.keys, sorted[i])
		pp.off = append(pp.off, int32(j))
		i = j
	}
	pp.docs = make([]int32, len(all))
	fill := slices.Clone(pp.off[:len(pp.keys)])
	for d := 0; d+1 < len(start); d++ {
		for _, k := range all[start[d]:start[d+1]] {
			j, _ := slices.BinarySearch(pp.keys, k)
			pp.docs[fill[j]] = int32(d)
			fill[j]++
		}
	}
	return pp
}

// postings returns the passages holding pair k.
func (pp *pairPostings) postings(k uint64) []int32 {
	j, ok := slices.BinarySearch(pp.keys, k)
	if !ok {
		return nil
	}
	return pp.docs[pp.off[j]:pp.off[j+1]]
}

// pairScores returns, for each passage holding some of the query's
// syllable pairs, the summed idf of those pairs (glossary pairs weighted by
// expansion). Pairs in more than maxDF passages are left out: they would
// cost much and choose little.
func (r *ranker) pairScores(aq *analyzedQuery, expansion float64, maxDF int32) map[int32]float64 {
	acc := make(map[int32]float64, 256)
	seen := make(map[uint64]bool, len(aq.bigrams)+len(aq.expBigrams))
	add := func(b string, w float64) {
		k, ok := r.pairID(b)
		if !ok || seen[k] {
			return
		}
		seen[k] = true
		ds := r.pp.postings(k)
		if len(ds) == 0 || int32(len(ds)) > maxDF {
			return
		}
		idf := w * r.idf(int32(len(ds)))
		for _, d := range ds {
			acc[d] += idf
		}
	}
	for _, b := range aq.bigrams {
		add(b, 1)
	}
	for _, b := range aq.expBigrams {
		add(b, expansion)
	}
	return acc
}

// pairID returns the key of the folded pair b ("ho khau"), if both
// syllables are known.
func (r *ranker) pairID(b string) (uint64, bool) {
	x, y, ok := cutSpace(b)
	if !ok {
		return 0, false
	}
	ix, ok1 := r.dict[x]
	iy, ok2 := r.dict[y]
	if !ok1 || !ok2 {
		return 0, false
	}
	return pairKey(ix, iy), true
}

func (r *ranker) id(m map[string]int32, s string) int32 {
	if id, ok := m[s]; ok {
		return id
	}
	id := int32(len(m))
	m[s] = id
	return id
}

// rankWeights weigh each field's BM25 in the final score.
type rankWeights struct {
	Field [nRank]float64
	// Pair weighs a syllable pair against a single syllable.
	Pair float64
	// Expansion weighs glossary expansions; Typo a dictionary neighbour of
	// a word no passage has.
	Expansion, Typo float64
	// Para weighs the best paragraph of the body: the idf-weighted sum of
	// the distinct query syllables and pairs it holds. Questions usually
	// point at one clause of a long passage.
	Para float64
	// K1 and B are the BM25 parameters.
	K1, B float64
	// Define weighs, for a question that asks what something is, a body
	// paragraph that opens by defining it ("1. Hoa lợi là …"), times the
	// summed idf of the subject's syllables. It is looked for in the best
	// RefineTop passages.
	Define    float64
	RefineTop int
}

var defaultRankWeights = rankWeights{
	Field:     [nRank]float64{rBody: 1, rTitle: 0.5, rQuest: 1, rExact: 0.5, rSect: 0.5},
	Pair:      1.5,
	Para:      1,
	K1:        1.2,
	B:         0.75,
	Expansion: 0.6,
	Typo:      0.5,
	Define:    8,
	RefineTop: 20,
}

func cutSpace(b string) (string, string, bool) {
	for i := 0; i < len(b); i++ {
		if b[i] == ' ' {
			return b[:i], b[i+1:], true
		}
	}
	return "", "", false
}

func (r *ranker) idf(df int32) float64 {
	n := float64(r.n)
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

func (r *ranker) bm25(w *rankWeights, tf float64, f int, dl int) float64 {
	avg := r.st[f].avg
	if avg == 0 {
		return 0
	}
	return tf * (w.K1 + 1) / (tf + w.K1*(1-w.B+w.B*float64(dl)/avg))
}

// neighbour returns the most frequent indexed syllable one edit away from
// f (a deletion, insertion, substitution or swap of ASCII letters or
// digits), or "" when f is short or has none.
func (r *ranker) neighbour(f string) string {
	if len(f) < fuzzyMinRunes || len(f) > 12 {
		return ""
	}
	for i := 0; i < len(f); i++ {
		if f[i] >= 0x80 {
			return ""
		}
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	best, bestDF := "", int32(-1)
	try := func(c string) {
		if id, ok := r.dict[c]; ok {
			if df := r.df(rBody, id); df > bestDF || df == bestDF && c < best {
				best, bestDF = c, df
			}
		}
	}
	b := []byte(f)
	buf := make([]byte, 0, len(f)+1)
	for i := range b {
		try(string(append(append(buf[:0], b[:i]...), b[i+1:]...)))
		for k := 0; k < len(alphabet); k++ {
			if alphabet[k] == b[i] {
				continue
			}
			buf = append(append(append(buf[:0], b[:i]...), alphabet[k]), b[i+1:]...)
			try(string(buf))
		}
		if i+1 < len(b) && b[i] != b[i+1] {
			buf = append(buf[:0], b...)
			buf[i], buf[i+1] = buf[i+1], buf[i]
			try(string(buf))
		}
	}
	for i := 0; i <= len(b); i++ {
		for k := 0; k < len(alphabet); k++ {
			buf = append(append(append(buf[:0], b[:i]...), alphabet[k]), b[i:]...)
			try(string(buf))
		}
	}
	return best
}
