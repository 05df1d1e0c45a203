package knowledge

import (
	"cmp"
	"math/bits"
	"slices"
)

// Direct scoring.
//
// A small index (up to directMax passages) is scored term at a time from
// the ranker's own postings, without bleve: every passage with a positive
// score is ranked. Each posting holds a term's frequency in one passage's
// field and, in the body, the set of paragraphs that hold it, so that the
// best paragraph's evidence is summed per paragraph without reading the
// passage. The scores are those of ranker.score, summed in another order.

// directMax is the largest index scored directly. Up to a few thousand
// passages that is cheaper than bleve's search.
const directMax = 2000

// maxParas is the number of body paragraphs a posting can point at; the
// best paragraph of a passage with more is found by reading the passage.
const maxParas = 64

// posting is one term or pair in one passage's field.
type posting struct {
	doc   int32
	tf    int32
	paras uint64 // body only: bit p is set when paragraph p holds it
}

// postList is the postings of a field's terms: those of term t are
// p[off[t]:off[t+1]], in passage order.
type postList struct {
	off []int32
	p   []posting
}

func (l *postList) of(t int32) []posting {
	if t < 0 || int(t)+1 >= len(l.off) {
		return nil
	}
	return l.p[l.off[t]:l.off[t+1]]
}

// pairPostList is the postings of a field's pairs: keys sorted, those of
// keys[j] in p[off[j]:off[j+1]], in passage order.
type pairPostList struct {
	keys []uint64
	off  []int32
	p    []posting
}

func (l *pairPostList) of(k uint64) []posting {
	j, ok := slices.BinarySearch(l.keys, k)
	if !ok {
		return nil
	}
	return l.p[l.off[j]:l.off[j+1]]
}

// directIndex holds the postings of every ranked field.
type directIndex struct {
	uni [nRank]postList
	bi  [nRank]pairPostList // not for rExact
	dl  [nRank][]int32      // field length of each passage
	// manyParas marks the passages with more than maxParas body
	// paragraphs.
	manyParas []bool
}

// newDirectIndex builds the postings from the ranker's passages.
func (r *ranker) newDirectIndex() *directIndex {
	x := &directIndex{manyParas: make([]bool, r.n)}
	type pairOcc struct {
		key   uint64
		doc   int32
		paras uint64
	}
	for f := 0; f < nRank; f++ {
		nt := len(r.dict)
		if f == rExact {
			nt = len(r.xdict)
		}
		x.dl[f] = make([]int32, r.n)
		// Per term: the passage it was last seen in and its posting there.
		last := make([]int32, nt)
		at := make([]int32, nt)
		ps := make([]posting, 0, r.st[f].total)
		terms := make([]int32, 0, r.st[f].total) // term of each posting
		var pairs []pairOcc
		if f != rExact {
			pairs = make([]pairOcc, 0, r.st[f].total)
		}
		for d := range r.docs {
			para := 0
			prev := int32(-1)
			dl := int32(0)
			first := len(pairs)
			for _, t := range r.docs[d][f] {
				if t < 0 {
					para++
					prev = -1
					continue
				}
				dl++
				var bit uint64
				if f == rBody {
					if para >= maxParas {
						x.manyParas[d] = true
					} else {
						bit = 1 << para
					}
				}
				if last[t] != int32(d+1) {
					last[t] = int32(d + 1)
					at[t] = int32(len(ps))
					ps = append(ps, posting{doc: int32(d)})
					terms = append(terms, t)
				}
				p := &ps[at[t]]
				p.tf++
				p.paras |= bit
				if prev >= 0 && f != rExact {
					pairs = append(pairs, pairOcc{pairKey(prev, t), int32(d), bit})
				}
				prev = t
			}
			x.dl[f][d] = dl
			// Merge the passage's repeated pairs: sort them by key.
			slices.SortStableFunc(pairs[first:], func(a, b pairOcc) int { return cmp.Compare(a.key, b.key) })
		}
		x.uni[f] = newPostList(ps, terms, nt)
		if f != rExact {
			x.bi[f] = newPairPostList(pairs, func(o pairOcc) (uint64, int32, uint64) { return o.key, o.doc, o.paras })
		}
	}
	return x
}

// newPostList groups postings, listed passage after passage, by term.
func newPostList(ps []posting, terms []int32, nt int) postList {
	l := postList{off: make([]int32, nt+1), p: make([]posting, len(ps))}
	for _, t := range terms {
		l.off[t+1]++
	}
	for t := 1; t <= nt; t++ {
		l.off[t] += l.off[t-1]
	}
	fill := slices.Clone(l.off[:nt])
	for i, t := range terms {
		l.p[fill[t]] = ps[i]
		fill[t]++
	}
	return l
}

// newPairPostList builds pair postings from pair occurrences listed
// passage after passage, each passage's sorted by key: an occurrence's
// key, passage and paragraph bit.
func newPairPostList[T any](occ []T, get func(T) (uint64, int32, uint64)) pairPostList {
	// Merge each passage's occurrences of a pair into one posting.
	type keyed struct {
		key uint64
		p   posting
	}
	ks := make([]keyed, 0, len(occ))
	for _, o := range occ {
		k, d, bit := get(o)
		if n := len(ks); n > 0 && ks[n-1].key == k && ks[n-1].p.doc == d {
			ks[n-1].p.tf++
			ks[n-1].p.paras |= bit
			continue
		}
		ks = append(ks, keyed{k, posting{doc: d, tf: 1, paras: bit}})
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	l := pairPostList{p: make([]posting, len(ks))}
	for i := range ks {
		if i == 0 || ks[i].key != ks[i-1].key {
			l.keys = append(l.keys, ks[i].key)
			l.off = append(l.off, int32(i))
		}
		l.p[i] = ks[i].p
	}
	l.off = append(l.off, int32(len(ks)))
	return l
}

// paraPart is one term's or pair's evidence in a passage's body: its
// paragraphs and weight; next chains the parts of one passage.
type paraPart struct {
	paras uint64
	wt    float64
	next  int32
}

// directScratch is per-query scratch for scoring a small index, indexed by
// passage.
type directScratch struct {
	on      []bool
	acc     []float64
	head    []int32 // first paraPart of a passage, plus one
	touched []int32
	parts   []paraPart
}

// scoreAll returns the indexes of the passages with a positive score for
// q, at most limit, best first (ties by passage order), with their scores.
func (r *ranker) scoreAll(q *rankQuery, w rankWeights, limit int) ([]int, []float64) {
	x := r.direct
	sc := &q.direct
	if len(sc.acc) != r.n {
		sc.on = make([]bool, r.n)
		sc.acc = make([]float64, r.n)
		sc.head = make([]int32, r.n)
	}
	on, acc, head := sc.on, sc.acc, sc.head
	touched, parts := sc.touched[:0], sc.parts[:0]
	touch := func(d int32, v float64) {
		if !on[d] {
			on[d] = true
			touched = append(touched, d)
		}
		acc[d] += v
	}
	doPara := w.Para > 0 && w.Field[rBody] != 0
	add := func(f int, ps []posting, wt float64) {
		fw := w.Field[f]
		dl := x.dl[f]
		for _, p := range ps {
			touch(p.doc, fw*wt*r.bm25(&w, float64(p.tf), f, int(dl[p.doc])))
			if f == rBody && doPara {
				parts = append(parts, paraPart{paras: p.paras, wt: wt, next: head[p.doc]})
				head[p.doc] = int32(len(parts))
			}
		}
	}
	for f := 0; f < nRank; f++ {
		if w.Field[f] == 0 || !q.live[f] {
			continue
		}
		uw := q.uw[f]
		ids := q.ids
		if f == rExact {
			ids = q.xids
		}
		for s, id := range ids {
			if uw[s] > 0 {
				add(f, x.uni[f].of(id), uw[s])
			}
		}
		if f == rExact {
			continue
		}
		bw := q.bw[f]
		for p, e := range q.pairs {
			if bw[p] > 0 {
				add(f, x.bi[f].of(pairKey(q.ids[e.a], q.ids[e.b])), bw[p])
			}
		}
	}
	out := make([]scored, 0, len(touched))
	for _, d := range touched {
		s := acc[d]
		if doPara && head[d] != 0 {
			if x.manyParas[d] {
				s = r.score(int(d), q, &w)
			} else {
				s += w.Field[rBody] * w.Para * bestPara(parts, head[d])
			}
		}
		on[d], acc[d], head[d] = false, 0, 0
		out = append(out, scored{int(d), s})
	}
	sc.touched, sc.parts = touched, parts
	out = best(out, max(limit, w.RefineTop))
	r.refine(out, q, &w)
	if len(out) > limit {
		out = out[:limit]
	}
	idx := make([]int, len(out))
	scores := make([]float64, len(out))
	for j, o := range out {
		idx[j], scores[j] = o.i, o.s
	}
	return idx, scores
}

// bestPara returns the largest sum of weights that one paragraph collects
// from the parts chained from head.
func bestPara(parts []paraPart, head int32) float64 {
	var sum [maxParas]float64
	var used uint64
	for i := head; i != 0; i = parts[i-1].next {
		pt := &parts[i-1]
		used |= pt.paras
		for m := pt.paras; m != 0; m &= m - 1 {
			sum[bits.TrailingZeros64(m)] += pt.wt
		}
	}
	best := 0.0
	for m := used; m != 0; m &= m - 1 {
		best = max(best, sum[bits.TrailingZeros64(m)])
	}
	return best
}
