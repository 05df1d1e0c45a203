package knowledge

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/handbook"
)

// TestDirectScoresMatchWalk checks that scoring a small index from its
// postings gives every passage the score that reading the passage gives,
// and ranks exactly the passages with a positive score.
func TestDirectScoresMatchWalk(t *testing.T) {
	h, probs := Load(handbook.FS(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	aliases := make(map[string][]string)
	for _, e := range h.Entries {
		if len(e.Aliases) > 0 {
			aliases[e.ID] = e.Aliases
		}
	}
	gen := benchPassages(300)
	// One passage with more body paragraphs than a posting can point at,
	// its best paragraph past them.
	var long strings.Builder
	for i := 0; i < maxParas+20; i++ {
		fmt.Fprintf(&long, "dòng %d: đăng ký khai sinh cho trẻ em\n", i)
		if i == maxParas+5 {
			long.WriteString("nộp giấy chứng sinh bản chính khi đăng ký khai sinh\n")
		}
	}
	gen[17].Text = long.String()
	gen[17].Section = "đăng ký"
	tests := []struct {
		name    string
		ps      []caunoi.Passage
		aliases map[string][]string
		qs      []string
	}{
		{"handbook", h.Passages, aliases, handbookQueries},
		{"generated", gen, nil, append(benchQueries(gen, 40), "nộp giấy chứng sinh bản chính đăng ký khai sinh", "dang ky khai sinh tre em")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRanker(tt.ps, tt.aliases)
			if r.direct == nil {
				t.Fatalf("%d passages: no postings", len(tt.ps))
			}
			for _, q := range tt.qs {
				aq, err := analyzeQuery(q, nil)
				if err != nil {
					t.Fatal(err)
				}
				w := defaultRankWeights
				w.Define = 0 // read from the passages, after scoring
				rq := r.compile(aq, w)
				idx, scores := r.scoreAll(rq, w, len(tt.ps))
				got := make(map[int]float64, len(idx))
				for j, i := range idx {
					got[i] = scores[j]
					if j > 0 && scores[j] > scores[j-1] {
						t.Errorf("%q: rank %d scores %v above rank %d's %v", q, j+1, scores[j], j, scores[j-1])
					}
				}
				for i := range tt.ps {
					want := r.score(i, rq, &w)
					g, ok := got[i]
					switch {
					case want > 0 && !ok:
						t.Errorf("%q: passage %d (score %v) not ranked", q, i, want)
					case want == 0 && ok:
						t.Errorf("%q: passage %d ranked with %v; its score is 0", q, i, g)
					case ok && math.Abs(g-want) > 1e-9*max(1, want):
						t.Errorf("%q: passage %d scores %v; reading it gives %v", q, i, g, want)
					}
				}
				rq.release()
			}
		})
	}
}

// TestDirectOnlySmall checks that only small indexes keep the postings.
func TestDirectOnlySmall(t *testing.T) {
	for _, n := range []int{1, directMax, directMax + 1} {
		r := newRanker(benchPassages(n), nil)
		if got, want := r.direct != nil, n <= directMax; got != want {
			t.Errorf("%d passages: postings %v; want %v", n, got, want)
		}
	}
}

func TestSearchEmptyIndex(t *testing.T) {
	x, err := BuildPassages(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	res, err := x.Search(context.Background(), "khai sinh", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 0 || res.Confidence != caunoi.ConfidenceNone {
		t.Errorf("got %d hits, confidence %v; want none", len(res.Hits), res.Confidence)
	}
}

// TestSearchAllWordsCommon checks that a large index still answers a
// question whose every word is in most passages, through its pairs.
func TestSearchAllWordsCommon(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 2,100 passages")
	}
	ps := benchPassages(directMax + 100)
	for i := range ps {
		ps[i].Text += "\nthiết bị cấp cho tình nguyện viên"
	}
	ps[5].Text += "\nkhi gặp tình thế cấp thiết thì báo ngay"
	x, err := BuildPassages(context.Background(), ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	res, err := x.Search(context.Background(), "tình thế cấp thiết là gì?", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) == 0 || res.Hits[0].Passage.ID != ps[5].ID {
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.Passage.ID)
		}
		t.Errorf("hits %v; want %s first", got, ps[5].ID)
	}
}

// TestSearchPrefersDefinition checks that a question asking what
// something is finds the paragraph that defines it before passages that
// only use the term.
func TestSearchPrefersDefinition(t *testing.T) {
	ps := []caunoi.Passage{
		{ID: "luat:5", EntryID: "luat:5", Title: "Luật Lao động", Section: "Điều 5. Quyền của người lao động",
			Text: "1. Người lao động có quyền làm việc, tự do lựa chọn việc làm.\n2. Người lao động có quyền hưởng lương phù hợp với trình độ của người lao động."},
		{ID: "luat:3", EntryID: "luat:3", Title: "Luật Lao động", Section: "Điều 3. Giải thích từ ngữ",
			Text: "Trong Luật này, các từ ngữ dưới đây được hiểu như sau:\n1. Người lao động là người làm việc cho người sử dụng theo thỏa thuận, được trả lương.\n2. Người sử dụng là doanh nghiệp, cơ quan, tổ chức có thuê mướn."},
		{ID: "luat:7", EntryID: "luat:7", Title: "Luật Lao động", Section: "Điều 7. Tiền lương",
			Text: "Tiền lương của người lao động do hai bên thỏa thuận."},
	}
	for i, topic := range []string{"khai sinh", "kết hôn", "thường trú", "đất đai", "thuế", "hộ chiếu"} {
		id := fmt.Sprintf("khac:%d", i)
		ps = append(ps, caunoi.Passage{ID: id, EntryID: id, Title: "Hướng dẫn " + topic, Section: "Hồ sơ " + topic,
			Text: "Hồ sơ " + topic + " nộp tại Ủy ban nhân dân xã."})
	}
	x, err := BuildPassages(context.Background(), ps, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for _, q := range []string{`Định nghĩa của "người lao động"?`, "nguoi lao dong la gi"} {
		res, err := x.Search(context.Background(), q, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) == 0 || res.Hits[0].Passage.ID != "luat:3" {
			var got []string
			for _, h := range res.Hits {
				got = append(got, h.Passage.ID)
			}
			t.Errorf("%q: hits %v; want luat:3 first", q, got)
		}
	}
}

// TestSnippetByIDsMatchesText checks that snippets cut with the passages'
// term ids equal those cut by folding the text.
func TestSnippetByIDsMatchesText(t *testing.T) {
	h, probs := Load(handbook.FS(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err := probs.Err(); err != nil {
		t.Fatal(err)
	}
	ps := append([]caunoi.Passage(nil), h.Passages...)
	odd := []string{
		"Đăng ký khai sinh\n\n- - -\n\u0301khai sinh quá hạn\r\nnộp tại xã",
		norm.NFD.String("Giấy chứng sinh, căn cước công dân.\nKhai sinh cho trẻ em."),
		"",
		"…",
	}
	for i, text := range odd {
		id := fmt.Sprintf("odd:%d", i)
		ps = append(ps, caunoi.Passage{ID: id, EntryID: id, Title: "Khai sinh", Section: "Hồ sơ", Text: text})
	}
	r := newRanker(ps, nil)
	for _, q := range append(handbookQueries, "giấy chứng sinh khai sinh", "cccd") {
		aq, err := analyzeQuery(q, nil)
		if err != nil {
			t.Fatal(err)
		}
		rq := r.compile(aq, defaultRankWeights)
		want := matchSet(aq)
		for i, p := range ps {
			gs, gsp := r.snippet(i, p.Text, rq, want)
			ws, wsp := snippetOf(p.Text, want)
			if gs != ws || !reflect.DeepEqual(gsp, wsp) {
				t.Errorf("%q in %s: snippet %q %v; want %q %v", q, p.ID, gs, gsp, ws, wsp)
			}
		}
		rq.release()
	}
}

func TestBestMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 5, 20, 21, 300} {
		for _, k := range []int{1, 5, 20, 100} {
			in := make([]scored, n)
			for i := range in {
				// Few distinct scores, so that ties are ordered by passage.
				in[i] = scored{i: rng.IntN(1000), s: float64(rng.IntN(8))}
			}
			want := slices.Clone(in)
			slices.SortFunc(want, byScore)
			want = want[:min(k, n)]
			if got := best(slices.Clone(in), k); !slices.Equal(got, want) {
				t.Errorf("n=%d k=%d: best %v; want %v", n, k, got, want)
			}
		}
	}
}

// TestWithoutSnippets checks that the searcher without snippets finds what
// Search finds, with the same scores and confidence, only without the
// snippets.
func TestWithoutSnippets(t *testing.T) {
	ctx := context.Background()
	x, err := Open(ctx, handbook.FS(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	bare := x.WithoutSnippets()
	for _, q := range append(handbookQueries, "giay chung sinh khai sinh", "cccd", "thủ tục", "xyz") {
		want, err := x.Search(ctx, q, 5)
		if err != nil {
			t.Fatal(err)
		}
		got, err := bare.Search(ctx, q, 5)
		if err != nil {
			t.Fatal(err)
		}
		snippets := 0
		for i := range want.Hits {
			if want.Hits[i].Snippet != "" {
				snippets++
			}
			want.Hits[i].Snippet, want.Hits[i].Highlights = "", nil
		}
		if len(want.Hits) > 0 && snippets == 0 {
			t.Errorf("%q: Search gave no snippets", q)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: without snippets\n got %+v\nwant %+v", q, got, want)
		}
	}
}
