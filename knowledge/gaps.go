package knowledge

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/caunoi/caunoi"
)

// DefaultGapSimilarity is the Jaccard similarity of two questions'
// syllable-pair sets from which Gaps puts them in one group.
const DefaultGapSimilarity = 0.5

// GapKey is the normalised form of a question that Gaps compares: its
// syllables folded (marks dropped, đ→d, lower case), function words
// removed, joined by single spaces. Two wordings with the same key are the
// same question.
func GapKey(q string) string {
	text := cleanQuery(q)
	var words []string
	for _, sp := range syllables(text) {
		w := text[sp.start:sp.end]
		if isStop(w) {
			continue
		}
		words = append(words, fold(w))
	}
	return strings.Join(words, " ")
}

// gapShingles returns the set of adjacent syllable pairs of a key, or the
// single syllable of a one-word key.
func gapShingles(key string) []string {
	w := strings.Fields(key)
	if len(w) < 2 {
		return w
	}
	set := make(map[string]bool, len(w)-1)
	out := make([]string, 0, len(w)-1)
	for i := 0; i+1 < len(w); i++ {
		b := w[i] + " " + w[i+1]
		if !set[b] {
			set[b] = true
			out = append(out, b)
		}
	}
	sort.Strings(out)
	return out
}

// jaccard returns |a∩b| / |a∪b| of two sorted, duplicate-free lists.
func jaccard(a, b []int32) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	inter := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// gapForm is one normalised wording and the records that have it.
type gapForm struct {
	key     string
	shingle []int32 // ids of the key's pairs, sorted
	recs    []int
}

// Gaps groups the questions among records that are gaps (see
// caunoi.QuestionRecord.Gap) into clusters of near-identical questions.
// Each question is reduced to GapKey; two questions join one cluster when
// the Jaccard similarity of their syllable-pair sets is at least
// similarity (DefaultGapSimilarity when it is not in (0, 1]), and clusters
// are closed under that link. Records without words are skipped.
//
// The result is ordered largest cluster first, then by the number of
// communes, then by the example; it depends only on the records and
// similarity, not on their order. limit > 0 keeps the first limit clusters.
func Gaps(records []caunoi.QuestionRecord, similarity float64, limit int) []caunoi.KnowledgeGap {
	if similarity <= 0 || similarity > 1 {
		similarity = DefaultGapSimilarity
	}
	byKey := map[string]int{}
	ids := map[string]int32{}
	intern := func(key string) []int32 {
		sh := gapShingles(key)
		out := make([]int32, len(sh))
		for i, s := range sh {
			id, ok := ids[s]
			if !ok {
				id = int32(len(ids))
				ids[s] = id
			}
			out[i] = id
		}
		slices.Sort(out)
		return out
	}
	var forms []gapForm
	for i, r := range records {
		if !r.Gap() {
			continue
		}
		key := GapKey(r.Text)
		if key == "" {
			continue
		}
		f, ok := byKey[key]
		if !ok {
			f = len(forms)
			byKey[key] = f
			forms = append(forms, gapForm{key: key, shingle: intern(key)})
		}
		forms[f].recs = append(forms[f].recs, i)
	}
	// Process forms in key order so that the result does not depend on the
	// order of records.
	sort.Slice(forms, func(i, j int) bool { return forms[i].key < forms[j].key })

	// Union-find over forms; only forms sharing a pair are compared.
	parent := make([]int, len(forms))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	posting := map[int32][]int{}
	// seen[j] == i+1 when form j was compared with form i already.
	seen := make([]int, len(forms))
	for i, f := range forms {
		for _, s := range f.shingle {
			for _, j := range posting[s] {
				if seen[j] == i+1 {
					continue
				}
				seen[j] = i + 1
				a, b := find(i), find(j)
				if a == b || jaccard(f.shingle, forms[j].shingle) < similarity {
					continue
				}
				if b < a {
					a, b = b, a
				}
				parent[b] = a
			}
			posting[s] = append(posting[s], i)
		}
	}

	groups := map[int][]int{}
	var roots []int
	for i := range forms {
		r := find(i)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], i)
	}
	out := make([]caunoi.KnowledgeGap, 0, len(roots))
	for _, r := range roots {
		out = append(out, gapOf(records, forms, groups[r]))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if len(a.Communes) != len(b.Communes) {
			return len(a.Communes) > len(b.Communes)
		}
		return a.Example < b.Example
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// gapOf summarises one cluster: the forms (indexes into forms) it holds.
func gapOf(records []caunoi.QuestionRecord, forms []gapForm, members []int) caunoi.KnowledgeGap {
	var g caunoi.KnowledgeGap
	communes := map[string]bool{}
	// byForm counts the records of each form; wording counts each trimmed
	// text and first notes when it was first asked; nearest counts each
	// first candidate.
	byForm := map[string]int{}
	wording := map[string]int{}
	first := map[string]time.Time{}
	formOf := map[string]string{}
	type near struct {
		c     caunoi.Candidate
		n     int
		score float64
	}
	nearest := map[string]*near{}
	for _, f := range members {
		for _, i := range forms[f].recs {
			r := records[i]
			g.Count++
			byForm[forms[f].key]++
			if r.Commune != "" {
				communes[r.Commune] = true
			}
			switch r.Confidence {
			case caunoi.ConfidenceNone:
				g.None++
			case caunoi.ConfidenceLow:
				g.Low++
			}
			if r.Helpful != nil && !*r.Helpful {
				g.Unhelpful++
			}
			if r.Escalated != "" {
				g.Escalated++
			}
			w := strings.Join(strings.Fields(r.Text), " ")
			wording[w]++
			formOf[w] = forms[f].key
			if at, ok := first[w]; !ok || r.At.Before(at) {
				first[w] = r.At
			}
			if g.First.IsZero() || r.At.Before(g.First) {
				g.First = r.At
			}
			if r.At.After(g.Last) {
				g.Last = r.At
			}
			if len(r.Top) > 0 && r.Top[0].PassageID != "" {
				c := r.Top[0]
				n := nearest[c.PassageID]
				if n == nil {
					n = &near{c: c}
					nearest[c.PassageID] = n
				}
				n.n++
				n.score += c.Score
			}
		}
	}
	for c := range communes {
		g.Communes = append(g.Communes, c)
	}
	sort.Strings(g.Communes)
	for w := range wording {
		g.Questions = append(g.Questions, w)
	}
	// The most asked form first, then its most asked wording, then the
	// earliest asked.
	sort.Slice(g.Questions, func(i, j int) bool {
		a, b := g.Questions[i], g.Questions[j]
		fa, fb := formOf[a], formOf[b]
		switch {
		case byForm[fa] != byForm[fb]:
			return byForm[fa] > byForm[fb]
		case fa != fb:
			return fa < fb
		case wording[a] != wording[b]:
			return wording[a] > wording[b]
		case !first[a].Equal(first[b]):
			return first[a].Before(first[b])
		}
		return a < b
	})
	if len(g.Questions) > 0 {
		g.Example = g.Questions[0]
	}
	var best *near
	for _, n := range nearest {
		if best == nil || n.n > best.n || n.n == best.n && (n.score > best.score || n.score == best.score && n.c.PassageID < best.c.PassageID) {
			best = n
		}
	}
	if best != nil {
		g.Nearest = best.c
		g.Nearest.Score = best.score / float64(best.n)
	}
	return g
}
