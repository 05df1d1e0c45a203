package knowledge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/handbook"
	"github.com/caunoi/caunoi/knowledge"
)

// Targets for the embedded handbook and its question sets in
// testdata/eval. They are what the product promises; lower them only with
// a reason an editor can read.
const (
	qualityMinEntries      = 60
	qualityMinQuestions    = 3
	qualityMinGlossary     = 80
	qualityMinEvalQs       = 150
	qualityMinPlainShare   = 1.0 / 3
	qualityMinR1           = 0.85
	qualityMinR3           = 0.95
	qualityMinUncoveredLow = 0.90
)

// qualityNow is a fixed clock for loading: review dates do not affect
// whether the handbook loads without errors.
var qualityNow = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// qualitySections are the six sections every entry has, in order. Each
// lists the headings accepted for it: the first is the usual one, the
// others are substitutes for topics that are not a procedure.
var qualitySections = [][]string{
	{"Là gì"},
	{"Ai thực hiện"},
	{"Hồ sơ", "Việc cần làm", "Văn bản cần có", "Việc cần làm khi gặp lỗi", "Kiểm tra hồ sơ khi tiếp nhận", "Hồ sơ báo lỗi"},
	{"Các bước và thời hạn"},
	{"Lỗi thường gặp"},
	{"Hỏi ai"},
}

// qualityNoLegalBasis lists the entries that may have no legal basis: guides
// to people and tools, not to a rule. It is empty while every entry cites one.
var qualityNoLegalBasis = map[string]bool{}

// hasVietnameseMarks reports whether s has a letter with a diacritic or đ.
func hasVietnameseMarks(s string) bool {
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) || r == 'đ' || r == 'Đ' {
			return true
		}
	}
	return false
}

var qualityWord = regexp.MustCompile(`[\p{L}\p{N}]+`)

// hasAbbreviation reports whether q has an all-capital token of at least two
// letters (UBND, ĐKKS, GCN) or a glossary form as whole words.
func hasAbbreviation(q string, forms []string) bool {
	for _, w := range qualityWord.FindAllString(q, -1) {
		letters, upper := 0, true
		for _, r := range w {
			if unicode.IsLetter(r) {
				letters++
				if !unicode.IsUpper(r) {
					upper = false
				}
			}
		}
		if letters >= 2 && upper {
			return true
		}
	}
	padded := " " + strings.Join(qualityWord.FindAllString(knowledge.GlossaryKey(q), -1), " ") + " "
	for _, f := range forms {
		if strings.Contains(padded, " "+f+" ") {
			return true
		}
	}
	return false
}

// glossaryForms returns the glossary's terms, as lower-case words joined by
// single spaces.
func glossaryForms(g knowledge.Glossary) []string {
	var out []string
	for _, e := range g {
		if f := strings.Join(qualityWord.FindAllString(knowledge.GlossaryKey(e.Term), -1), " "); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// MustLoadEmbedded loads the embedded handbook and fails on any error.
func MustLoadEmbedded(tb testing.TB) *knowledge.Handbook {
	tb.Helper()
	h, ps := knowledge.Load(handbook.FS(), qualityNow)
	if errs := ps.Errors(); len(errs) > 0 || h == nil {
		var b strings.Builder
		for _, p := range errs {
			fmt.Fprintf(&b, "\n%s", p)
		}
		tb.Fatalf("the embedded handbook has errors:%s", b.String())
	}
	return h
}

// readEvalSets reads every question file in testdata/eval.
func readEvalSets(tb testing.TB) map[string][]knowledge.EvalQuestion {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "eval", "*.jsonl"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no question files in testdata/eval: %v", err)
	}
	sets := make(map[string][]knowledge.EvalQuestion, len(files))
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		qs, err := knowledge.ReadQuestions(r, f)
		r.Close()
		if err != nil {
			tb.Fatalf("read %s: %v", f, err)
		}
		sets[f] = qs
	}
	return sets
}

func TestHandbookQualityEntries(t *testing.T) {
	h := MustLoadEmbedded(t)
	if len(h.Entries) < qualityMinEntries {
		t.Errorf("entries: got %d, want at least %d", len(h.Entries), qualityMinEntries)
	}
	forms := glossaryForms(h.Glossary)
	for _, e := range h.Entries {
		where := fmt.Sprintf("%s (%s)", e.ID, e.File)
		if len(e.Questions) < qualityMinQuestions {
			t.Errorf("%s: %d questions, want at least %d", where, len(e.Questions), qualityMinQuestions)
		}
		plain, abbr := false, false
		for _, q := range e.Questions {
			plain = plain || !hasVietnameseMarks(q)
			abbr = abbr || hasAbbreviation(q, forms)
		}
		if !plain {
			t.Errorf("%s: no question written without diacritics", where)
		}
		if !abbr {
			t.Errorf("%s: no question with an abbreviation or a glossary term", where)
		}
		if len(e.LegalBasis) == 0 && !qualityNoLegalBasis[e.ID] {
			t.Errorf("%s: legal_basis is empty", where)
		}
		if e.Updated.IsZero() || e.ReviewBy.IsZero() {
			t.Errorf("%s: updated %v, review_by %v: both must be set", where, e.Updated, e.ReviewBy)
		} else if e.ReviewBy.Before(e.Updated) {
			t.Errorf("%s: review_by %s is before updated %s", where, e.ReviewBy.Format(time.DateOnly), e.Updated.Format(time.DateOnly))
		}
		var got []string
		for _, p := range e.Passages {
			if p.Section != "" {
				got = append(got, p.Section)
			}
		}
		if !sectionsInOrder(got) {
			t.Errorf("%s: sections %q, want the six sections in order: %q", where, got, qualitySections)
		}
		for _, p := range e.Passages {
			if strings.TrimSpace(p.Text) == "" {
				t.Errorf("%s: section %q is empty", where, p.Section)
			}
		}
	}
}

// sectionsInOrder reports whether the six sections appear in got in order;
// other sections may come between them.
func sectionsInOrder(got []string) bool {
	i := 0
	for _, s := range got {
		if i == len(qualitySections) {
			break
		}
		for _, alt := range qualitySections[i] {
			if s == alt {
				i++
				break
			}
		}
	}
	return i == len(qualitySections)
}

func TestHandbookQualityGlossary(t *testing.T) {
	h := MustLoadEmbedded(t)
	if len(h.Glossary) < qualityMinGlossary {
		t.Errorf("glossary: got %d entries, want at least %d", len(h.Glossary), qualityMinGlossary)
	}
	// An abbreviation with one meaning: no form may be the term of two
	// entries. (Load already rejects loops and duplicate terms.)
	seen := map[string]int{}
	for _, e := range h.Glossary {
		k := knowledge.GlossaryKey(e.Term)
		if line, ok := seen[k]; ok {
			t.Errorf("glossary.yaml:%d: term %q already defined at line %d", e.Line, e.Term, line)
		}
		seen[k] = e.Line
	}
}

func TestHandbookQualityEvalSets(t *testing.T) {
	h := MustLoadEmbedded(t)
	sets := readEvalSets(t)
	total, plain, uncovered := 0, 0, 0
	qids := map[string]string{}
	for f, qs := range sets {
		for _, q := range qs {
			total++
			if !hasVietnameseMarks(q.Question) {
				plain++
			}
			if len(q.Relevant) == 0 {
				uncovered++
			}
			if prev, ok := qids[q.QID]; ok {
				t.Errorf("%s: qid %q also in %s", f, q.QID, prev)
			}
			qids[q.QID] = f
			for _, id := range q.Relevant {
				if _, ok := h.Entry(id); !ok {
					t.Errorf("%s: %s: relevant id %q is not an entry", f, q.QID, id)
				}
			}
		}
	}
	t.Logf("eval questions: %d, without diacritics %d (%.2f), uncovered %d", total, plain, float64(plain)/float64(total), uncovered)
	if total < qualityMinEvalQs {
		t.Errorf("eval questions: got %d, want at least %d", total, qualityMinEvalQs)
	}
	if share := float64(plain) / float64(total); share < qualityMinPlainShare {
		t.Errorf("eval questions without diacritics: got %.2f, want at least %.2f", share, qualityMinPlainShare)
	}
	if uncovered == 0 {
		t.Errorf("eval questions: none uncovered; want some with \"relevant\": []")
	}
}

func TestHandbookQualityRetrieval(t *testing.T) {
	ctx := context.Background()
	x, err := knowledge.Open(ctx, handbook.FS(), qualityNow)
	if err != nil {
		t.Fatalf("open the embedded handbook: %v", err)
	}
	defer x.Close()
	sets := readEvalSets(t)
	files := make([]string, 0, len(sets))
	for f := range sets {
		files = append(files, f)
	}
	sort.Strings(files)

	var n, unc int
	var r1, r3, r10, mrr, uncLow float64
	for _, f := range files {
		qs := sets[f]
		res, err := x.Evaluate(ctx, f, qs, nil)
		if err != nil {
			t.Fatalf("evaluate %s: %v", f, err)
		}
		t.Logf("%s: covered %d R@1 %.3f R@3 %.3f R@10 %.3f MRR@10 %.3f; uncovered %d, low or none %.3f",
			filepath.Base(f), res.N, res.R1, res.R3, res.R10, res.MRR10, res.Uncovered, res.UncoveredLow)
		n += res.N
		r1 += res.R1 * float64(res.N)
		r3 += res.R3 * float64(res.N)
		r10 += res.R10 * float64(res.N)
		mrr += res.MRR10 * float64(res.N)
		unc += res.Uncovered
		uncLow += res.UncoveredLow * float64(res.Uncovered)
		for i, o := range res.Outcomes {
			q := qs[i]
			switch {
			case o.Covered && o.Rank != 1:
				t.Logf("  miss %s rank %d: %q want %v", o.QID, o.Rank, q.Question, q.Relevant)
			case !o.Covered && o.Confidence == caunoi.ConfidenceHigh:
				t.Logf("  sure %s: %q has no answer but got high confidence", o.QID, q.Question)
			}
		}
	}
	if n == 0 {
		t.Fatal("no covered questions")
	}
	r1, r3, r10, mrr = r1/float64(n), r3/float64(n), r10/float64(n), mrr/float64(n)
	t.Logf("all: covered %d R@1 %.3f R@3 %.3f R@10 %.3f MRR@10 %.3f", n, r1, r3, r10, mrr)
	if r1 < qualityMinR1 {
		t.Errorf("R@1: got %.3f, want at least %.2f", r1, qualityMinR1)
	}
	if r3 < qualityMinR3 {
		t.Errorf("R@3: got %.3f, want at least %.2f", r3, qualityMinR3)
	}
	if unc > 0 {
		uncLow /= float64(unc)
		t.Logf("all: uncovered %d, answered with low or no confidence %.3f", unc, uncLow)
		if uncLow < qualityMinUncoveredLow {
			t.Errorf("uncovered answered with low or no confidence: got %.3f, want at least %.2f", uncLow, qualityMinUncoveredLow)
		}
	}
}
