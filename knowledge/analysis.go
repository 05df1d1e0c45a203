package knowledge

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/token/shingle"
	"github.com/blevesearch/bleve/v2/registry"
	"golang.org/x/text/unicode/norm"
)

// Vietnamese analysis.
//
// Text is cut into syllables: maximal runs of letters, digits and combining
// marks, so that decomposed (NFD) text stays whole. Each syllable has two
// forms: the exact form (NFC, lower case) and the folded form (no marks,
// đ→d, lower case). bleve indexes folded syllables; the ranker keeps
// folded syllables, exact syllables and folded syllable pairs. Queries are
// analysed by the same functions, so index and query always agree. The
// exact and pair analyzers are registered too, though no field of the
// index uses them now.

// Names of the analyzers registered with bleve.
const (
	analyzerFold   = "caunoi_vi_fold"
	analyzerExact  = "caunoi_vi_exact"
	analyzerBigram = "caunoi_vi_bigram"
)

func init() {
	reg := func(name string, a analysis.Analyzer) {
		err := registry.RegisterAnalyzer(name, func(map[string]interface{}, *registry.Cache) (analysis.Analyzer, error) {
			return a, nil
		})
		if err != nil {
			panic("knowledge: " + err.Error())
		}
	}
	reg(analyzerFold, &analysis.DefaultAnalyzer{Tokenizer: syllableTokenizer{}, TokenFilters: []analysis.TokenFilter{foldFilter{}}})
	reg(analyzerExact, &analysis.DefaultAnalyzer{Tokenizer: syllableTokenizer{}, TokenFilters: []analysis.TokenFilter{exactFilter{}}})
	reg(analyzerBigram, &analysis.DefaultAnalyzer{Tokenizer: syllableTokenizer{}, TokenFilters: []analysis.TokenFilter{
		foldFilter{}, shingle.NewShingleFilter(2, 2, false, " ", ""),
	}})
}

// isWordRune reports whether r belongs inside a syllable.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// span is one syllable of a text: byte offsets into the text.
type span struct{ start, end int }

// syllables returns the byte spans of the syllables of s, in order. A run of
// combining marks with no base letter before it is not a syllable.
func syllables(s string) []span {
	out := make([]span, 0, len(s)/5+1)
	start := -1
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				if r >= utf8.RuneSelf && unicode.Is(unicode.Mn, r) {
					continue
				}
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, span{start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, span{start, len(s)})
	}
	return out
}

// syllableTokenizer is the bleve tokenizer: one token per syllable, the
// term being the syllable as written.
type syllableTokenizer struct{}

func (syllableTokenizer) Tokenize(b []byte) analysis.TokenStream {
	sp := syllables(string(b))
	out := make(analysis.TokenStream, len(sp))
	toks := make([]analysis.Token, len(sp))
	for i, x := range sp {
		toks[i] = analysis.Token{Start: x.start, End: x.end, Term: b[x.start:x.end], Position: i + 1, Type: analysis.AlphaNumeric}
		out[i] = &toks[i]
	}
	return out
}

// foldFilter replaces each term by its folded form; offsets are kept.
type foldFilter struct{}

func (foldFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		t.Term = []byte(fold(string(t.Term)))
	}
	return in
}

// exactFilter replaces each term by its exact form; offsets are kept.
type exactFilter struct{}

func (exactFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		t.Term = []byte(exact(string(t.Term)))
	}
	return in
}

// foldTable maps precomposed Latin letters to their lower-case base letter.
var foldTable = func() map[rune]rune {
	m := make(map[rune]rune, 600)
	add := func(lo, hi rune) {
		for r := lo; r <= hi; r++ {
			if !unicode.IsLetter(r) {
				continue
			}
			d := norm.NFD.String(string(r))
			base, _ := utf8.DecodeRuneInString(d)
			m[r] = unicode.ToLower(base)
		}
	}
	add(0x00C0, 0x024F) // Latin-1 Supplement, Latin Extended-A and -B
	add(0x1E00, 0x1EFF) // Latin Extended Additional (Vietnamese)
	m['đ'], m['Đ'] = 'd', 'd'
	return m
}()

// fold returns the folded form of a syllable: lower case, combining marks
// dropped, đ→d. NFC and NFD spellings fold alike.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c >= 'A' && c <= 'Z' {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var buf [64]byte
	return string(appendFold(buf[:0], s))
}

// appendFold appends the folded form of s to dst.
func appendFold(dst []byte, s string) []byte {
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			dst = append(dst, byte(unicode.ToLower(r)))
		case unicode.Is(unicode.Mn, r):
		default:
			if f, ok := foldTable[r]; ok {
				dst = utf8.AppendRune(dst, f)
				continue
			}
			d := norm.NFD.String(string(r))
			for _, x := range d {
				if !unicode.Is(unicode.Mn, x) {
					dst = utf8.AppendRune(dst, unicode.ToLower(x))
				}
			}
		}
	}
	return dst
}

// exact returns the exact form of a syllable: NFC, lower case.
func exact(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	return strings.ToLower(norm.NFC.String(s))
}

// hasMarks reports whether the syllable carries any diacritic or đ.
func hasMarks(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// stopWords are pure function words: they join or point but carry no
// meaning a question is about. Words that change meaning ("không", "được",
// "có", "chưa", "phải", "bị") are never here. Keys are exact forms.
var stopWords = map[string]bool{
	"của": true, "và": true, "các": true, "những": true, "là": true, "thì": true,
	"với": true, "này": true, "đó": true, "ấy": true, "rằng": true, "hoặc": true,
	"hay": true, "cũng": true, "nhé": true, "ạ": true, "à": true, "ơi": true,
	"vậy": true, "thế": true, "nào": true, "gì": true, "đã": true, "đang": true,
	"sẽ": true, "cái": true, "nhưng": true,
}

// stopFolded holds the folded forms of stop words whose folded form is not
// also a common content syllable, for queries typed without marks: "thi"
// (thì, but also thi hành), "cung" (cũng, cung cấp), "the" (thế, thẻ),
// "da" (đã, đa, da) and "vay" (vậy, vay) are left out.
var stopFolded = map[string]bool{
	"cua": true, "va": true, "cac": true, "nhung": true, "la": true,
	"voi": true, "nay": true, "ay": true, "rang": true, "hoac": true,
	"nhe": true, "nao": true, "gi": true, "se": true,
}

// isStop reports whether a query syllable is a pure function word. t is the
// syllable as typed: with marks it is matched exactly, without marks by its
// folded form.
func isStop(t string) bool {
	e := exact(t)
	if stopWords[e] {
		return true
	}
	if !hasMarks(e) {
		return stopFolded[e]
	}
	return false
}
