package knowledge

import (
	"slices"
	"sync"

	"github.com/caunoi/caunoi"
)

// Scoring a query.
//
// A query is compiled once against the ranker: each folded syllable it
// needs (its terms, the syllables of its pairs, the words the confidence
// features look for) gets a small slot number, and each exact form another.
// A per-query table maps term ids to slots, so that walking a passage costs
// one array read per syllable; weights, term frequencies and the
// paragraph's evidence are slices indexed by slot.

// qpair is one syllable pair of a compiled query.
type qpair struct {
	a, b int32 // slots of the two syllables
	// feat is the index of the pair among the query's own pairs counted by
	// the confidence features, or -1.
	feat int32
}

// succ is a pair seen from its first syllable: the second's slot and the
// pair's index.
type succ struct{ b, p int32 }

// rankQuery is a query compiled against one ranker. It borrows its tables
// from the ranker's pool; release returns them.
type rankQuery struct {
	r *ranker
	// slotOf maps a folded term id to its slot plus one (0: not in the
	// query); xslotOf does the same for exact ids. Both have the length of
	// the ranker's dictionaries and are zero again after release.
	slotOf, xslotOf []int32
	ids, xids       []int32 // term id of each slot
	uni             []float64
	hl              []bool // the slot's word is highlighted in snippets
	pairs           []qpair
	pairW           []float64
	next            [][]succ // slot → pairs starting with it
	uw              [nRank][]float64
	bw              [nRank][]float64
	live            [nRank]bool // the field holds some query term or pair
	// Confidence: the idf weight of each group of equivalent words and the
	// slots of its members; the number of the query's own pairs counted.
	groupW     []float64
	groupSlots [][]int32
	nFeatPairs int
	// Scratch for scoring, indexed by slot or pair.
	tfU, tfB     []float64
	seenU, seenB []uint32
	touchU       []int32
	touchB       []int32
	stamp        uint32
	featFound    []bool
	direct       directScratch
	// defIDs are the folded ids of the subject the question asks to
	// define, and defW their summed idf; nil when there is none.
	defIDs []int32
	defW   float64
}

// slot returns the slot of folded term id t, adding one if needed.
func (q *rankQuery) slot(t int32) int32 {
	if s := q.slotOf[t]; s > 0 {
		return s - 1
	}
	q.ids = append(q.ids, t)
	q.uni = append(q.uni, 0)
	q.hl = append(q.hl, false)
	q.next = append(q.next, nil)
	s := int32(len(q.ids))
	q.slotOf[t] = s
	return s - 1
}

// addPair adds the pair of folded ids (a, b) with weight wt, keeping the
// larger weight when it is there already, and returns its index.
func (q *rankQuery) addPair(a, b int32, wt float64) int32 {
	sa, sb := q.slot(a), q.slot(b)
	for _, e := range q.next[sa] {
		if e.b == sb {
			if q.pairW[e.p] < wt {
				q.pairW[e.p] = wt
			}
			return e.p
		}
	}
	p := int32(len(q.pairs))
	q.pairs = append(q.pairs, qpair{a: sa, b: sb, feat: -1})
	q.pairW = append(q.pairW, wt)
	q.next[sa] = append(q.next[sa], succ{sb, p})
	return p
}

// pairIDs returns the folded ids of the pair b ("ho khau"), if both
// syllables are known.
func (r *ranker) pairIDs(b string) (int32, int32, bool) {
	x, y, ok := cutSpace(b)
	if !ok {
		return 0, 0, false
	}
	ix, ok1 := r.dict[x]
	iy, ok2 := r.dict[y]
	return ix, iy, ok1 && ok2
}

// compile turns an analysed query into a rankQuery. The caller must call
// release when done with it.
func (r *ranker) compile(aq *analyzedQuery, w rankWeights) *rankQuery {
	q := r.pool.Get().(*rankQuery)
	addUni := func(id int32, wt float64) {
		s := q.slot(id)
		if q.uni[s] < wt {
			q.uni[s] = wt
		}
	}
	var xw []float64
	for _, t := range aq.terms {
		if id, ok := r.dict[t.fold]; ok {
			addUni(id, 1)
			q.hl[q.slot(id)] = true
		} else if nb := r.neighbour(t.fold); nb != "" {
			addUni(r.dict[nb], w.Typo)
		}
		if t.exact != "" {
			if id, ok := r.xdict[t.exact]; ok && q.xslotOf[id] == 0 {
				q.xids = append(q.xids, id)
				q.xslotOf[id] = int32(len(q.xids))
				xw = append(xw, 1)
			}
		}
	}
	for _, b := range aq.bigrams {
		p := int32(-1)
		if x, y, ok := r.pairIDs(b); ok {
			p = q.addPair(x, y, w.Pair)
		}
		first, second, _ := cutSpace(b)
		if !isStopFolded(first) && !isStopFolded(second) {
			if p >= 0 {
				q.pairs[p].feat = int32(q.nFeatPairs)
			}
			q.nFeatPairs++
		}
	}
	for _, t := range aq.expTerms {
		if id, ok := r.dict[t]; ok {
			addUni(id, w.Expansion)
			q.hl[q.slot(id)] = true
		}
	}
	for _, b := range aq.expBigrams {
		if x, y, ok := r.pairIDs(b); ok {
			q.addPair(x, y, w.Pair*w.Expansion)
		}
	}
	for _, g := range aq.groups {
		q.groupW = append(q.groupW, r.idf(r.bodyDF(g[0])))
		var slots []int32
		for _, f := range g {
			if id, ok := r.dict[f]; ok {
				slots = append(slots, q.slot(id))
			}
		}
		q.groupSlots = append(q.groupSlots, slots)
	}
	q.defIDs, q.defW = q.defIDs[:0], 0
	for _, f := range aq.defines {
		id, ok := r.dict[f]
		if !ok {
			q.defIDs, q.defW = q.defIDs[:0], 0
			break
		}
		q.defIDs = append(q.defIDs, id)
		q.defW += r.idf(r.df(rBody, id))
	}
	for f := 0; f < nRank; f++ {
		if f == rExact {
			q.uw[f] = grow(q.uw[f], len(q.xids))
			for s, id := range q.xids {
				if df := r.df(f, id); df > 0 {
					q.uw[f][s] = xw[s] * r.idf(df)
					q.live[f] = true
				}
			}
			continue
		}
		q.uw[f] = grow(q.uw[f], len(q.ids))
		for s, id := range q.ids {
			if wt := q.uni[s]; wt > 0 {
				if df := r.df(f, id); df > 0 {
					q.uw[f][s] = wt * r.idf(df)
					q.live[f] = true
				}
			}
		}
		q.bw[f] = grow(q.bw[f], len(q.pairs))
		for p, e := range q.pairs {
			if df := r.st[f].bi.get(pairKey(q.ids[e.a], q.ids[e.b])); df > 0 {
				q.bw[f][p] = q.pairW[p] * r.idf(df)
				q.live[f] = true
			}
		}
	}
	n := max(len(q.ids), len(q.xids))
	q.tfU = grow(q.tfU, n)
	q.tfB = grow(q.tfB, len(q.pairs))
	q.seenU = growU(q.seenU, n)
	q.seenB = growU(q.seenB, len(q.pairs))
	q.featFound = slices.Grow(q.featFound[:0], q.nFeatPairs)[:q.nFeatPairs]
	q.stamp = 0
	return q
}

// grow returns s with length n, all zero, reusing its array.
func grow(s []float64, n int) []float64 {
	s = slices.Grow(s[:0], n)[:n]
	clear(s)
	return s
}

func growU(s []uint32, n int) []uint32 {
	s = slices.Grow(s[:0], n)[:n]
	clear(s)
	return s
}

// release clears q's tables and returns them to the ranker's pool.
func (q *rankQuery) release() {
	for _, id := range q.ids {
		q.slotOf[id] = 0
	}
	for _, id := range q.xids {
		q.xslotOf[id] = 0
	}
	for i := range q.next {
		q.next[i] = nil
	}
	q.ids, q.xids, q.uni, q.next, q.hl = q.ids[:0], q.xids[:0], q.uni[:0], q.next[:0], q.hl[:0]
	q.pairs, q.pairW = q.pairs[:0], q.pairW[:0]
	q.groupW, q.groupSlots = q.groupW[:0], q.groupSlots[:0]
	q.nFeatPairs = 0
	q.live = [nRank]bool{}
	q.r.pool.Put(q)
}

// newQueryPool returns the pool of query tables for r.
func (r *ranker) newQueryPool() {
	r.pool = sync.Pool{New: func() any {
		return &rankQuery{
			r:       r,
			slotOf:  make([]int32, len(r.dict)),
			xslotOf: make([]int32, len(r.xdict)),
		}
	}}
}

// score computes the rank score of passage i: per field, BM25 over the
// query's syllables and pairs it holds, weighted by the field's weight,
// and in the body the evidence of the best paragraph.
func (r *ranker) score(i int, q *rankQuery, w *rankWeights) float64 {
	d := &r.docs[i]
	total := 0.0
	for f := 0; f < nRank; f++ {
		if w.Field[f] == 0 || !q.live[f] {
			continue
		}
		uw, bw := q.uw[f], q.bw[f]
		slotOf := q.slotOf
		if f == rExact {
			slotOf = q.xslotOf
		}
		doPara := f == rBody && w.Para > 0
		pairs := f != rExact && len(q.pairs) > 0
		tfU, tfB := q.tfU, q.tfB
		touchU, touchB := q.touchU[:0], q.touchB[:0]
		dl := 0
		prev := int32(-1)
		para, best := 0.0, 0.0
		q.stamp++
		for _, t := range d[f] {
			if t < 0 {
				if doPara {
					best = max(best, para)
					para = 0
					q.stamp++
				}
				prev = -1
				continue
			}
			dl++
			s := slotOf[t] - 1
			if s < 0 {
				prev = -1
				continue
			}
			if wt := uw[s]; wt > 0 {
				if tfU[s] == 0 {
					touchU = append(touchU, s)
				}
				tfU[s]++
				if doPara && q.seenU[s] != q.stamp {
					q.seenU[s] = q.stamp
					para += wt
				}
			}
			if prev >= 0 && pairs {
				for _, e := range q.next[prev] {
					if e.b != s {
						continue
					}
					if wt := bw[e.p]; wt > 0 {
						if tfB[e.p] == 0 {
							touchB = append(touchB, e.p)
						}
						tfB[e.p]++
						if doPara && q.seenB[e.p] != q.stamp {
							q.seenB[e.p] = q.stamp
							para += wt
						}
					}
					break
				}
			}
			prev = s
		}
		sc := 0.0
		if doPara {
			sc += w.Para * max(best, para)
		}
		for _, s := range touchU {
			sc += uw[s] * r.bm25(w, tfU[s], f, dl)
			tfU[s] = 0
		}
		for _, p := range touchB {
			sc += bw[p] * r.bm25(w, tfB[p], f, dl)
			tfB[p] = 0
		}
		q.touchU, q.touchB = touchU, touchB
		total += w.Field[f] * sc
	}
	return total
}

// rerank orders the candidate passages (indexes into the passages) by rank
// score and returns at most limit of them with their scores. Equal scores
// keep the candidates' order.
func (r *ranker) rerank(cands []int, q *rankQuery, w rankWeights, limit int) ([]int, []float64) {
	out := make([]scored, len(cands))
	for j, i := range cands {
		out[j] = scored{i, r.score(i, q, &w)}
	}
	slices.SortStableFunc(out, func(a, b scored) int { return cmpScore(a.s, b.s) })
	r.refine(out, q, &w)
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

// features computes the confidence features of passage i for q: the
// idf-weighted share of the query's word groups it holds and the share of
// the query's pairs it holds, over everything indexed for it in the ranked
// fields (title, section, text, sample questions and aliases).
func (r *ranker) features(q *rankQuery, i int) features {
	d := &r.docs[i]
	q.stamp++
	stamp := q.stamp
	clear(q.featFound)
	for _, f := range [...]int{rBody, rTitle, rQuest} {
		prev := int32(-1)
		for _, t := range d[f] {
			if t == sepLine {
				continue
			}
			if t < 0 {
				prev = -1
				continue
			}
			s := q.slotOf[t] - 1
			if s >= 0 {
				q.seenU[s] = stamp
				if prev >= 0 {
					for _, e := range q.next[prev] {
						if e.b == s {
							if ft := q.pairs[e.p].feat; ft >= 0 {
								q.featFound[ft] = true
							}
							break
						}
					}
				}
			}
			prev = s
		}
	}
	var have, total float64
	for g, w := range q.groupW {
		total += w
		for _, s := range q.groupSlots[g] {
			if q.seenU[s] == stamp {
				have += w
				break
			}
		}
	}
	var ft features
	if total > 0 {
		ft.coverage = have / total
	}
	if q.nFeatPairs > 0 {
		for _, ok := range q.featFound {
			if ok {
				ft.pairs++
			}
		}
		ft.pairs /= float64(q.nFeatPairs)
	} else {
		ft.pairs = ft.coverage
	}
	return ft
}

// scored is a passage and its rank score.
type scored struct {
	i int
	s float64
}

// cmpScore orders scores best first.
func cmpScore(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// best returns the k best of out in byScore order. It reorders out and
// returns a prefix of it.
func best(out []scored, k int) []scored {
	if len(out) <= k {
		slices.SortFunc(out, byScore)
		return out
	}
	// A heap of the k best so far, the worst of them at the root.
	h := out[:k]
	worse := func(i, j int) bool { return byScore(h[i], h[j]) > 0 }
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && worse(c+1, c) {
				c++
			}
			if !worse(c, i) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for _, x := range out[k:] {
		if byScore(x, h[0]) < 0 {
			h[0] = x
			down(0)
		}
	}
	slices.SortFunc(h, byScore)
	return h
}

// byScore orders by score, best first, then by passage.
func byScore(a, b scored) int {
	if c := cmpScore(a.s, b.s); c != 0 {
		return c
	}
	return a.i - b.i
}

// refine adds to the best w.RefineTop passages of out, sorted best first,
// the evidence that needs reading them, and sorts those again; their order
// with the rest holds, as the evidence only adds.
func (r *ranker) refine(out []scored, q *rankQuery, w *rankWeights) {
	if w.Define == 0 || len(q.defIDs) == 0 || r.la < 0 {
		return
	}
	top := out[:min(len(out), w.RefineTop)]
	changed := false
	for j := range top {
		if r.defines(top[j].i, q.defIDs) {
			top[j].s += w.Define * q.defW
			changed = true
		}
	}
	if changed {
		slices.SortStableFunc(top, func(a, b scored) int { return cmpScore(a.s, b.s) })
	}
}

// defines reports whether a paragraph of passage i's body opens, after
// its numbering, with the syllables def followed by "là".
func (r *ranker) defines(i int, def []int32) bool {
	body := r.docs[i][rBody]
	start := true
	for j := 0; j < len(body); j++ {
		t := body[j]
		if t < 0 {
			start = true
			continue
		}
		if !start {
			continue
		}
		if r.numbering[t] {
			continue
		}
		start = false
		k := j + len(def)
		if k < len(body) && body[k] == r.la && slices.Equal(body[j:k], def) {
			return true
		}
	}
	return false
}

// snippet cuts the snippet of passage i for q, finding the query's words
// by the term ids of the passage's text.
func (r *ranker) snippet(i int, text string, q *rankQuery, want map[string]int32) (string, []caunoi.Span) {
	sp := syllables(text)
	body := r.docs[i][rBody][r.textAt[i]:]
	n := 0
	for _, t := range body {
		if t >= 0 {
			n++
		}
	}
	if n != len(sp) {
		return snippetOf(text, want)
	}
	at := 0
	return snippetBy(text, sp, len(q.ids), func(int, string) int32 {
		for body[at] < 0 {
			at++
		}
		t := body[at]
		at++
		if s := q.slotOf[t] - 1; s >= 0 && q.hl[s] {
			return s
		}
		return -1
	})
}
