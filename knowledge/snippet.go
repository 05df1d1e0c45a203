package knowledge

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/caunoi/caunoi"
)

// snippetRunes is the longest snippet, in runes, ellipses included.
const snippetRunes = 300

// matchSet numbers the folded forms a snippet highlights: the query's
// content terms and their glossary expansions.
func matchSet(aq *analyzedQuery) map[string]int32 {
	m := make(map[string]int32, len(aq.terms)+len(aq.expTerms))
	add := func(f string) {
		if _, ok := m[f]; !ok {
			m[f] = int32(len(m))
		}
	}
	for _, t := range aq.terms {
		add(t.fold)
	}
	for _, t := range aq.expTerms {
		add(t)
	}
	return m
}

// snippet cuts from text a plain-text window of at most snippetRunes runes
// that holds the most distinct query terms, cut at syllable boundaries and
// marked with "…" where text was left out. Runs of white space become one
// space. It returns the rune spans of the matched syllables in the snippet;
// a syllable's span includes its combining marks, so spans are right for
// decomposed (NFD) text too.
func snippet(text string, aq *analyzedQuery) (string, []caunoi.Span) {
	return snippetOf(text, matchSet(aq))
}

// snippetOf is snippet for the folded forms numbered in want.
func snippetOf(text string, want map[string]int32) (string, []caunoi.Span) {
	var buf [64]byte
	return snippetBy(text, syllables(text), len(want), func(_ int, syl string) int32 {
		if k, ok := want[string(appendFold(buf[:0], syl))]; ok {
			return k
		}
		return -1
	})
}

// snippetBy is snippet for the syllables sp of text, where match(i, syl),
// called once for each syllable in order, returns the number (below n) of
// the query term that syllable i matches, or -1.
func snippetBy(text string, sp []span, n int, match func(i int, syl string) int32) (string, []caunoi.Span) {
	if text == "" {
		return "", nil
	}
	if len(sp) == 0 {
		return trimRunes(collapseSpace(text), snippetRunes), nil
	}
	// Rune offset of each syllable start and end in text, and the number
	// of the query term it matches (-1: none).
	rs := make([]int, len(sp))
	re := make([]int, len(sp))
	key := make([]int32, len(sp))
	runes, prev := 0, 0
	for i, x := range sp {
		runes += utf8.RuneCountInString(text[prev:x.start])
		rs[i] = runes
		runes += utf8.RuneCountInString(text[x.start:x.end])
		re[i] = runes
		prev = x.end
		key[i] = match(i, text[x.start:x.end])
	}
	budget := snippetRunes - 2 // room for two ellipses
	// Slide a window over syllables; keep the one with the most distinct
	// terms, then the most matches.
	bestI, bestJ, bestD, bestN := 0, 0, -1, -1
	count := make([]int, n)
	distinct, matches := 0, 0
	j := 0
	for i := range sp {
		for j < len(sp) && re[j]-rs[i] <= budget {
			if k := key[j]; k >= 0 {
				if count[k] == 0 {
					distinct++
				}
				count[k]++
				matches++
			}
			j++
		}
		if distinct > bestD || distinct == bestD && matches > bestN {
			bestI, bestJ, bestD, bestN = i, j, distinct, matches
		}
		if k := key[i]; k >= 0 && i < j {
			count[k]--
			if count[k] == 0 {
				distinct--
			}
			matches--
		}
	}
	if bestD > 0 {
		// Shrink to the matches, then add context around them.
		for key[bestI] < 0 {
			bestI++
		}
		for key[bestJ-1] < 0 {
			bestJ--
		}
	}
	if bestJ <= bestI {
		bestJ = bestI + 1
	}
	// Spread the slack: about half of it goes to context before the
	// first match, the rest after the last one.
	back := (budget - (re[bestJ-1] - rs[bestI])) / 2
	for bestI > 0 && rs[bestI]-rs[bestI-1] <= back {
		back -= rs[bestI] - rs[bestI-1]
		bestI--
	}
	for bestJ < len(sp) && re[bestJ]-rs[bestI] <= budget {
		bestJ++
	}
	startB, endB := sp[bestI].start, sp[bestJ-1].end
	if bestI == 0 {
		startB = 0
	}
	if bestJ == len(sp) {
		endB = len(text)
	}

	var b strings.Builder
	var spans []caunoi.Span
	out := 0
	if bestI > 0 {
		b.WriteString("…")
		out++
	}
	si := bestI
	space := false
	pos := startB
	for pos < endB {
		if si < bestJ && pos == sp[si].start {
			if space {
				b.WriteByte(' ')
				out++
				space = false
			}
			word := text[sp[si].start:sp[si].end]
			n := utf8.RuneCountInString(word)
			if key[si] >= 0 {
				spans = append(spans, caunoi.Span{Start: out, End: out + n})
			}
			b.WriteString(word)
			out += n
			pos = sp[si].end
			si++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[pos:])
		pos += size
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = out > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			out++
			space = false
		}
		b.WriteRune(r)
		out++
	}
	if bestJ < len(sp) {
		b.WriteString("…")
		out++
	}
	if out > snippetRunes {
		// A single syllable longer than the budget: cut it.
		kept := spans[:0]
		for _, x := range spans {
			if x.End <= snippetRunes-1 {
				kept = append(kept, x)
			}
		}
		return trimRunes(b.String(), snippetRunes), kept
	}
	return b.String(), spans
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func trimRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
