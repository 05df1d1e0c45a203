package knowledge

import (
	"math"
	"sort"
	"strings"

	"github.com/caunoi/caunoi"
)

// Ranking.
//
// bleve finds the candidates; the ranker orders them by BM25 computed per
// field over folded syllables and syllable pairs, plus an exact-diacritics
// term for words typed with marks and the evidence of the best paragraph.
// bleve's own
// scores are not used for the order: its BM25 multiplies the idf in twice,
// takes the square root of term frequencies and scales by the share of
// query clauses matched, which favours long passages that share many
// common words with the question.

// candidates is how many passages bleve returns for reranking.
const candidates = 100

// Ranked fields.
const (
	rBody  = iota // section heading and body text
	rHead         // section heading
	rTitle        // entry title
	rQuest        // sample questions and aliases
	rExact        // body, exact forms
	nRank
)

// sep separates phrases inside a field, so that no pair spans two of them.
const sep int32 = -1

type fieldStats struct {
	uni   map[int32]int32  // term id → document frequency
	bi    map[uint64]int32 // pair → document frequency
	total int64            // summed field lengths
	avg   float64
}

// ranker holds, for every passage, its fields as term ids, and the
// statistics BM25 needs.
type ranker struct {
	dict  map[string]int32 // folded syllable → id
	xdict map[string]int32 // exact syllable → id
	docs  [][nRank][]int32
	st    [nRank]fieldStats
	n     int
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func newRanker(ps []caunoi.Passage, aliases map[string][]string) *ranker {
	r := &ranker{
		dict:  make(map[string]int32, 1<<14),
		xdict: make(map[string]int32, 1<<14),
		docs:  make([][nRank][]int32, len(ps)),
		n:     len(ps),
	}
	for f := range r.st {
		r.st[f] = fieldStats{uni: make(map[int32]int32, 1<<12), bi: make(map[uint64]int32, 1<<14)}
	}
	seenU := make(map[int32]bool, 256)
	seenB := make(map[uint64]bool, 256)
	for i := range ps {
		p := &ps[i]
		var d [nRank][]int32
		d[rBody] = r.appendText(nil, p.Section, false)
		if len(d[rBody]) > 0 {
			d[rBody] = append(d[rBody], sep)
		}
		for _, para := range strings.Split(p.Text, "\n") {
			if d[rBody] = r.appendText(d[rBody], para, false); len(d[rBody]) > 0 && d[rBody][len(d[rBody])-1] != sep {
				d[rBody] = append(d[rBody], sep)
			}
		}
		d[rHead] = r.appendText(nil, p.Section, false)
		d[rTitle] = r.appendText(nil, p.Title, false)
		for _, q := range p.Questions {
			d[rQuest] = append(r.appendText(d[rQuest], q, false), sep)
		}
		for _, a := range aliases[p.EntryID] {
			d[rQuest] = append(r.appendText(d[rQuest], a, false), sep)
		}
		d[rExact] = r.appendText(nil, p.Section+"\n"+p.Text, true)
		for f := range d {
			clear(seenU)
			clear(seenB)
			st := &r.st[f]
			prev := sep
			for _, t := range d[f] {
				if t != sep {
					st.total++
					if !seenU[t] {
						seenU[t] = true
						st.uni[t]++
					}
					if prev != sep {
						k := pairKey(prev, t)
						if !seenB[k] {
							seenB[k] = true
							st.bi[k]++
						}
					}
				}
				prev = t
			}
		}
		r.docs[i] = d
	}
	for f := range r.st {
		if r.n > 0 {
			r.st[f].avg = float64(r.st[f].total) / float64(r.n)
		}
	}
	return r
}

func (r *ranker) appendText(dst []int32, s string, exactForm bool) []int32 {
	for _, x := range syllables(s) {
		w := s[x.start:x.end]
		if exactForm {
			dst = append(dst, r.id(r.xdict, exact(w)))
		} else {
			dst = append(dst, r.id(r.dict, fold(w)))
		}
	}
	return dst
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
}

var defaultRankWeights = rankWeights{
	Field:     [nRank]float64{rBody: 1, rHead: 0, rTitle: 0.5, rQuest: 1, rExact: 0.5},
	Pair:      1.5,
	Para:      1,
	K1:        1.2,
	B:         0.75,
	Expansion: 0.6,
	Typo:      0.5,
}

// rankQuery is a query as term ids with weights.
type rankQuery struct {
	uni   map[int32]float64
	bi    map[uint64]float64
	exact map[int32]float64
}

func (r *ranker) compile(aq *analyzedQuery, w rankWeights) rankQuery {
	q := rankQuery{uni: map[int32]float64{}, bi: map[uint64]float64{}, exact: map[int32]float64{}}
	addUni := func(f string, wt float64) {
		if id, ok := r.dict[f]; ok && q.uni[id] < wt {
			q.uni[id] = wt
		}
	}
	addBi := func(b string, wt float64) {
		a, c, ok := cutSpace(b)
		if !ok {
			return
		}
		ia, ok1 := r.dict[a]
		ic, ok2 := r.dict[c]
		if ok1 && ok2 {
			k := pairKey(ia, ic)
			if q.bi[k] < wt {
				q.bi[k] = wt
			}
		}
	}
	for _, t := range aq.terms {
		if _, ok := r.dict[t.fold]; ok {
			addUni(t.fold, 1)
		} else if nb := r.neighbour(t.fold); nb != "" {
			addUni(nb, w.Typo)
		}
		if t.exact != "" {
			if id, ok := r.xdict[t.exact]; ok {
				q.exact[id] = 1
			}
		}
	}
	for _, b := range aq.bigrams {
		addBi(b, w.Pair)
	}
	for _, t := range aq.expTerms {
		addUni(t, w.Expansion)
	}
	for _, b := range aq.expBigrams {
		addBi(b, w.Pair*w.Expansion)
	}
	return q
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

// score computes the rank score of passage i.
func (r *ranker) score(i int, q *rankQuery, w *rankWeights, tfU map[int32]float64, tfB map[uint64]float64) float64 {
	d := &r.docs[i]
	total := 0.0
	for f := 0; f < nRank; f++ {
		if w.Field[f] == 0 {
			continue
		}
		clear(tfU)
		clear(tfB)
		uq := q.uni
		if f == rExact {
			uq = q.exact
		}
		if len(uq) == 0 {
			continue
		}
		dl := 0
		prev := sep
		st := &r.st[f]
		para, best := 0.0, 0.0
		doPara := f == rBody && w.Para > 0
		var seen map[uint64]bool
		if doPara {
			seen = make(map[uint64]bool, 16)
		}
		for _, t := range d[f] {
			if t == sep {
				if doPara {
					best = max(best, para)
					para = 0
					clear(seen)
				}
				prev = sep
				continue
			}
			if doPara {
				if wt, ok := uq[t]; ok && !seen[uint64(uint32(t))] {
					seen[uint64(uint32(t))] = true
					para += wt * r.idf(st.uni[t])
				}
				if prev != sep {
					k := pairKey(prev, t)
					if wt, ok := q.bi[k]; ok && !seen[k|1<<63] {
						seen[k|1<<63] = true
						para += wt * r.idf(st.bi[k])
					}
				}
			}
			dl++
			if _, ok := uq[t]; ok {
				tfU[t]++
			}
			if prev != sep && f != rExact {
				k := pairKey(prev, t)
				if _, ok := q.bi[k]; ok {
					tfB[k]++
				}
			}
			prev = t
		}
		s := 0.0
		if doPara {
			s += w.Para * max(best, para)
		}
		for t, tf := range tfU {
			s += uq[t] * r.idf(st.uni[t]) * r.bm25(w, tf, f, dl)
		}
		for k, tf := range tfB {
			s += q.bi[k] * r.idf(st.bi[k]) * r.bm25(w, tf, f, dl)
		}
		total += w.Field[f] * s
	}
	return total
}

// rerank orders the candidate passages (indexes into the passages) by rank
// score and returns at most limit of them with their scores.
func (r *ranker) rerank(cands []int, aq *analyzedQuery, w rankWeights, limit int) ([]int, []float64) {
	q := r.compile(aq, w)
	tfU := make(map[int32]float64, 32)
	tfB := make(map[uint64]float64, 32)
	type scored struct {
		i int
		s float64
	}
	out := make([]scored, len(cands))
	for j, i := range cands {
		out[j] = scored{i, r.score(i, &q, &w, tfU, tfB)}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].s > out[b].s })
	if len(out) > limit {
		out = out[:limit]
	}
	idx := make([]int, len(out))
	sc := make([]float64, len(out))
	for j, o := range out {
		idx[j], sc[j] = o.i, o.s
	}
	return idx, sc
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
			if df := r.st[rBody].uni[id]; df > bestDF || df == bestDF && c < best {
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
