package knowledge

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/caunoi/caunoi"
)

// maxQueryBytes bounds the part of a query that is analysed; the rest is
// ignored. A question typed in a chat is far shorter.
const maxQueryBytes = 4096

// maxQueryTerms bounds the distinct syllables and pairs searched, which
// bounds the cost of a query.
const maxQueryTerms = 64

// qterm is one query syllable.
type qterm struct {
	fold  string // folded form
	exact string // exact form when typed with marks, else ""
}

// analyzedQuery is a query reduced to the terms that are searched.
type analyzedQuery struct {
	// text is the cleaned query.
	text string
	// terms are the content syllables, deduplicated, in query order.
	terms []qterm
	// bigrams are folded adjacent-syllable pairs ("ho khau"), deduplicated.
	bigrams []string
	// expTerms and expBigrams come from the glossary: other spellings of
	// phrases found in the query.
	expTerms   []string
	expBigrams []string
	// groups lists, for each content term, the folded forms that count as
	// covering it (itself and glossary equivalents); used for confidence.
	groups [][]string
	// defines holds, for a question that asks what something is ("X là
	// gì?", "định nghĩa X"), the folded syllables of X.
	defines []string
}

// cleanQuery bounds the query to maxQueryBytes at a rune boundary, replaces
// invalid UTF-8 and control characters by spaces, drops invisible format
// characters and trims.
func cleanQuery(q string) string {
	if len(q) > maxQueryBytes {
		i := maxQueryBytes
		for i > 0 && !utf8.RuneStart(q[i]) {
			i--
		}
		q = q[:i]
	}
	q = strings.ToValidUTF8(q, " ")
	q = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r):
			return ' '
		case unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, q)
	return strings.TrimSpace(q)
}

// boilerplate are folded phrases that wrap a question without adding to it:
// the framing of true/false and multiple-choice questions.
var boilerplate = func() [][]string {
	phrases := []string{
		"nhan dinh sau day dung hay sai",
		"nhan dinh sau dung hay sai",
		"nhan dinh tren dung hay sai",
		"nhan dinh nay dung hay sai",
		"khang dinh sau dung hay sai",
		"dung hay sai",
		"co dung khong",
		"dung hay khong",
		"chon cau tra loi dung nhat",
		"chon dap an dung nhat",
		"chon dap an dung",
	}
	out := make([][]string, len(phrases))
	for i, p := range phrases {
		out[i] = strings.Fields(p)
	}
	// Longest first, so that the longest framing is removed whole.
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}()

// stripBoilerplate returns the indexes of syllables that are not part of a
// boilerplate phrase. When everything is boilerplate, it keeps everything.
func stripBoilerplate(folded []string) []int {
	keep := make([]int, 0, len(folded))
	for i := 0; i < len(folded); {
		n := matchAny(folded[i:], boilerplate)
		if n > 0 {
			i += n
			continue
		}
		keep = append(keep, i)
		i++
	}
	if len(keep) == 0 {
		for i := range folded {
			keep = append(keep, i)
		}
	}
	return keep
}

func matchAny(s []string, phrases [][]string) int {
	for _, p := range phrases {
		if hasPrefix(s, p) {
			return len(p)
		}
	}
	return 0
}

func hasPrefix(s, p []string) bool {
	if len(p) > len(s) {
		return false
	}
	for i := range p {
		if s[i] != p[i] {
			return false
		}
	}
	return true
}

// synonyms is a compiled glossary: phrases (folded syllables) and the other
// forms they may be written in.
type synonyms struct {
	byFirst map[string][]synRule
}

type synRule struct {
	key  []string   // folded syllables of the phrase
	alts [][]string // folded syllables of each other form
}

// compileSynonyms compiles a glossary's expansions (form → other forms).
func compileSynonyms(exp map[string][]string) *synonyms {
	s := &synonyms{byFirst: make(map[string][]synRule, len(exp))}
	for k, others := range exp {
		key := foldedSyllables(k)
		if len(key) == 0 {
			continue
		}
		r := synRule{key: key}
		for _, o := range others {
			if f := foldedSyllables(o); len(f) > 0 && !equalStrings(f, key) {
				r.alts = append(r.alts, f)
			}
		}
		if len(r.alts) > 0 {
			s.byFirst[key[0]] = append(s.byFirst[key[0]], r)
		}
	}
	for k := range s.byFirst {
		rs := s.byFirst[k]
		sort.Slice(rs, func(i, j int) bool {
			if len(rs[i].key) != len(rs[j].key) {
				return len(rs[i].key) > len(rs[j].key)
			}
			return strings.Join(rs[i].key, " ") < strings.Join(rs[j].key, " ")
		})
	}
	return s
}

func foldedSyllables(s string) []string {
	sp := syllables(s)
	out := make([]string, len(sp))
	for i, x := range sp {
		out[i] = fold(s[x.start:x.end])
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// analyzeQuery cleans and analyses a query. It returns an error wrapping
// caunoi.ErrInvalid when nothing searchable is left.
func analyzeQuery(q string, syn *synonyms) (*analyzedQuery, error) {
	text := cleanQuery(q)
	sp := syllables(text)
	if len(sp) == 0 {
		return nil, fmt.Errorf("query has no words: %w", caunoi.ErrInvalid)
	}
	raw := make([]string, len(sp))
	folded := make([]string, len(sp))
	for i, x := range sp {
		raw[i] = text[x.start:x.end]
		folded[i] = fold(raw[i])
	}
	keep := stripBoilerplate(folded)
	raw2 := make([]string, len(keep))
	fold2 := make([]string, len(keep))
	for i, k := range keep {
		raw2[i], fold2[i] = raw[k], folded[k]
	}
	aq := &analyzedQuery{text: text}
	breaks := make([]bool, len(keep)) // a clause ends before syllable i
	for i := 1; i < len(keep); i++ {
		breaks[i] = keep[i] != keep[i-1]+1 ||
			strings.ContainsAny(text[sp[keep[i-1]].end:sp[keep[i]].start], ",;:.?!()\"“”")
	}
	aq.defines = definedSubject(fold2, breaks)

	stop := make([]bool, len(raw2))
	allStop := true
	for i, r := range raw2 {
		stop[i] = isStop(r)
		allStop = allStop && stop[i]
	}
	seenTerm := map[qterm]bool{}
	seenFold := map[string]int{}
	for i, r := range raw2 {
		if stop[i] && !allStop {
			continue
		}
		t := qterm{fold: fold2[i]}
		if hasMarks(r) {
			t.exact = exact(r)
		}
		if !seenTerm[t] && len(aq.terms) < maxQueryTerms {
			seenTerm[t] = true
			aq.terms = append(aq.terms, t)
		}
		if _, ok := seenFold[t.fold]; !ok && seenTerm[t] {
			seenFold[t.fold] = len(aq.groups)
			aq.groups = append(aq.groups, []string{t.fold})
		}
	}
	seenBi := map[string]bool{}
	for i := 0; i+1 < len(fold2); i++ {
		if stop[i] && stop[i+1] {
			continue
		}
		b := fold2[i] + " " + fold2[i+1]
		if !seenBi[b] && len(aq.bigrams) < maxQueryTerms {
			seenBi[b] = true
			aq.bigrams = append(aq.bigrams, b)
		}
	}
	if syn != nil {
		seenExp := map[string]bool{}
		for i := 0; i < len(fold2); i++ {
			for _, r := range syn.byFirst[fold2[i]] {
				if !hasPrefix(fold2[i:], r.key) {
					continue
				}
				for _, alt := range r.alts {
					for j, a := range alt {
						if !seenFold2(seenFold, a) && !seenExp[a] && !stopFolded[a] {
							seenExp[a] = true
							aq.expTerms = append(aq.expTerms, a)
						}
						if j+1 < len(alt) {
							b := a + " " + alt[j+1]
							if !seenBi[b] && !seenExp[b] {
								seenExp[b] = true
								aq.expBigrams = append(aq.expBigrams, b)
							}
						}
					}
					// Every syllable of the matched phrase is also covered by
					// the alternative's syllables.
					for _, k := range r.key {
						if g, ok := seenFold[k]; ok {
							aq.groups[g] = append(aq.groups[g], alt...)
						}
					}
				}
			}
		}
	}
	return aq, nil
}

// Framings of a question that asks what something is, folded: after the
// subject ("X là gì", "X được hiểu như thế nào") or before it ("định nghĩa
// X", "thế nào là X").
var (
	defineAfter = foldedPhrases(
		"là gì", "nghĩa là gì", "được hiểu là gì", "được hiểu như thế nào",
		"được hiểu thế nào", "hiểu như thế nào", "được định nghĩa như thế nào",
		"được giải thích như thế nào", "là như thế nào", "là thế nào")
	defineBefore = foldedPhrases(
		"định nghĩa của", "định nghĩa về", "định nghĩa", "thế nào là",
		"khái niệm về", "khái niệm", "giải thích từ ngữ")
)

// maxDefined bounds the syllables of a defined subject.
const maxDefined = 8

func foldedPhrases(ps ...string) [][]string {
	out := make([][]string, len(ps))
	for i, p := range ps {
		out[i] = foldedSyllables(p)
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// definedSubject returns the subject of a question that asks what
// something is: the clause just before a trailing framing or just after a
// leading one, at most maxDefined syllables; nil for other questions.
// breaks[i] tells that a clause ends before syllable i.
func definedSubject(f []string, breaks []bool) []string {
	clause := func(from, to int) []string {
		if to-from < 1 || to-from > maxDefined {
			return nil
		}
		return slices.Clone(f[from:to])
	}
	// Trailing framing: the clause that ends where it begins.
	for _, p := range defineAfter {
		at := len(f) - len(p)
		if at < 1 || !hasPrefix(f[at:], p) {
			continue
		}
		from := at
		for from > 0 && !breaks[from] {
			from--
		}
		return clause(from, at)
	}
	// Leading framing, at the start of a clause.
	for i := range f {
		if i > 0 && !breaks[i] {
			continue
		}
		for _, p := range defineBefore {
			if !hasPrefix(f[i:], p) {
				continue
			}
			from := i + len(p)
			to := from
			for to < len(f) && (to == from || !breaks[to]) {
				to++
			}
			return clause(from, to)
		}
	}
	return nil
}

func seenFold2(m map[string]int, s string) bool {
	_, ok := m[s]
	return ok
}
