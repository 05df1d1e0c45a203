package knowledge_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/knowledge"
)

func TestGapKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Đăng ký khai sinh quá hạn?", "dang ky khai sinh qua han"},
		{"dang ky khai sinh qua han", "dang ky khai sinh qua han"},
		// NFD input folds like NFC.
		{"Đa\u0306ng ky\u0301", "dang ky"},
		{"  ĐẤT   đai  ", "dat dai"},
		{"???", ""},
	}
	for _, tt := range tests {
		if got := knowledge.GapKey(tt.in); got != tt.want {
			t.Errorf("GapKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func helpful(b bool) *bool { return &b }

// gapLog is a week of questions: three topics the handbook misses, asked in
// several wordings, and questions that are not gaps.
func gapLog() []caunoi.QuestionRecord {
	at := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	n := 0
	q := func(text, commune string, c caunoi.Confidence) caunoi.QuestionRecord {
		n++
		return caunoi.QuestionRecord{ID: fmt.Sprint(n), Text: text, Commune: commune, Confidence: c, At: at.Add(time.Duration(n) * time.Hour)}
	}
	top := func(r caunoi.QuestionRecord, passage string, score float64) caunoi.QuestionRecord {
		r.Top = []caunoi.Candidate{{PassageID: passage, EntryID: passage, Title: passage, Score: score}}
		return r
	}
	unhelpful := q("cấp lại sổ đỏ bị cháy cần giấy tờ gì", "x03", caunoi.ConfidenceHigh)
	unhelpful.Helpful = helpful(false)
	escalated := q("Cấp lại sổ đỏ bị cháy cần những giấy tờ gì?", "x04", caunoi.ConfidenceHigh)
	escalated.Escalated = "TNMT-2025-000001"
	answered := q("cap lai so do bi chay can giay to gi", "x05", caunoi.ConfidenceHigh)
	answered.Helpful = helpful(true)
	return []caunoi.QuestionRecord{
		top(q("cấp lại sổ đỏ bị cháy", "x01", caunoi.ConfidenceLow), "dat-dai/cap-lai#ho-so", 2),
		top(q("cap lai so do bi chay", "x02", caunoi.ConfidenceLow), "dat-dai/cap-lai#ho-so", 4),
		unhelpful,
		escalated,
		answered, // confident and helpful: not a gap
		q("chữ ký số cho công chức xã mới chuyển về", "x01", caunoi.ConfidenceNone),
		q("chu ky so cho cong chuc xa moi chuyen ve", "x01", caunoi.ConfidenceNone),
		top(q("đăng ký tạm trú cho người nước ngoài", "x02", caunoi.ConfidenceLow), "cu-tru/tam-tru#ho-so", 1),
		q("máy in của xã hỏng", "", caunoi.ConfidenceNone),
	}
}

func TestGapsClusters(t *testing.T) {
	log := gapLog()
	got := knowledge.Gaps(log, 0, 0)
	type summary struct {
		Count                           int
		Communes                        []string
		Low, None, Unhelpful, Escalated int
		Example                         string
		Nearest                         string
	}
	var sums []summary
	for _, g := range got {
		sums = append(sums, summary{g.Count, g.Communes, g.Low, g.None, g.Unhelpful, g.Escalated, g.Example, g.Nearest.PassageID})
	}
	want := []summary{
		{4, []string{"x01", "x02", "x03", "x04"}, 2, 0, 1, 1, "cấp lại sổ đỏ bị cháy", "dat-dai/cap-lai#ho-so"},
		{2, []string{"x01"}, 0, 2, 0, 0, "chữ ký số cho công chức xã mới chuyển về", ""},
		{1, []string{"x02"}, 1, 0, 0, 0, "đăng ký tạm trú cho người nước ngoài", "cu-tru/tam-tru#ho-so"},
		{1, nil, 0, 1, 0, 0, "máy in của xã hỏng", ""},
	}
	if !reflect.DeepEqual(sums, want) {
		t.Errorf("Gaps:\ngot  %+v\nwant %+v", sums, want)
	}
	// The unhelpful record was made first, the second low one last.
	if g := got[0]; len(g.Questions) != 4 || !g.First.Equal(log[2].At) || !g.Last.Equal(log[1].At) {
		t.Errorf("first cluster: questions %q, first %v, last %v", g.Questions, g.First, g.Last)
	}
	if s := got[0].Nearest.Score; s != 3 {
		t.Errorf("nearest score = %v, want the mean 3", s)
	}
	if lim := knowledge.Gaps(log, 0, 2); len(lim) != 2 || lim[0].Count != 4 {
		t.Errorf("limit 2: got %d clusters", len(lim))
	}
}

// TestGapsDeterministic shuffles the log: the report does not change.
func TestGapsDeterministic(t *testing.T) {
	log := gapLog()
	want := knowledge.Gaps(log, 0, 0)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		shuffled := append([]caunoi.QuestionRecord(nil), log...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := knowledge.Gaps(shuffled, 0, 0); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d changed the report:\ngot  %+v\nwant %+v", i, got, want)
		}
	}
}

func TestGapsThreshold(t *testing.T) {
	recs := []caunoi.QuestionRecord{
		{Text: "đăng ký khai sinh quá hạn", Confidence: caunoi.ConfidenceLow},
		{Text: "khai sinh quá hạn cần gì", Confidence: caunoi.ConfidenceLow},
		{Text: "đăng ký kết hôn với người nước ngoài", Confidence: caunoi.ConfidenceLow},
	}
	tests := []struct {
		sim  float64
		want []int
	}{
		{0.5, []int{2, 1}}, // 3 shared pairs of 6
		{0.6, []int{1, 1, 1}},
		{0.15, []int{2, 1}}, // "dang ky" alone is 1 pair of 10: still apart
	}
	for _, tt := range tests {
		var counts []int
		for _, g := range knowledge.Gaps(recs, tt.sim, 0) {
			counts = append(counts, g.Count)
		}
		if !reflect.DeepEqual(counts, tt.want) {
			t.Errorf("similarity %v: cluster sizes %v, want %v", tt.sim, counts, tt.want)
		}
	}
}

func BenchmarkGaps(b *testing.B) {
	topics := []string{"cấp lại sổ đỏ bị cháy", "chữ ký số cho công chức xã", "đăng ký tạm trú người nước ngoài",
		"chuyển mục đích sử dụng đất vườn", "thanh lý máy móc sau sáp nhập", "khai sinh quá hạn cho trẻ",
		"hòa giải tranh chấp ranh giới đất", "tài khoản phần mềm hộ tịch bị khóa"}
	tails := []string{"", " thì làm sao", " cần giấy tờ gì", " ở xã mới", " hết bao lâu", " theo luật mới"}
	var recs []caunoi.QuestionRecord
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 5000; i++ {
		text := topics[r.IntN(len(topics))] + tails[r.IntN(len(tails))] + fmt.Sprintf(" %d", r.IntN(300))
		recs = append(recs, caunoi.QuestionRecord{Text: text, Commune: fmt.Sprintf("x%03d", r.IntN(200)), Confidence: caunoi.ConfidenceLow})
	}
	b.ReportAllocs()
	for b.Loop() {
		knowledge.Gaps(recs, 0, 20)
	}
}
