package main

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// seedGapLog stores a week of questions in a real bbolt file: three topics
// the handbook misses, asked in several wordings from several communes, a
// well answered question, and one older than the period.
func seedGapLog(t *testing.T, url string) {
	t.Helper()
	now := time.Now()
	f := false
	tr := true
	top := []caunoi.Candidate{{PassageID: "dat-dai/cap-lai-giay-chung-nhan-bi-mat#ho-so", EntryID: "dat-dai/cap-lai-giay-chung-nhan-bi-mat",
		Title: "Cấp lại giấy chứng nhận bị mất", Section: "Hồ sơ", Score: 3, Confidence: caunoi.ConfidenceLow}}
	recs := []caunoi.QuestionRecord{
		{Text: "cấp lại sổ đỏ bị cháy", Commune: "00001", Confidence: caunoi.ConfidenceLow, Top: top},
		{Text: "cap lai so do bi chay", Commune: "00002", Confidence: caunoi.ConfidenceLow, Top: top},
		{Text: "Cấp lại sổ đỏ bị cháy cần giấy tờ gì?", Commune: "00003", Confidence: caunoi.ConfidenceHigh, Helpful: &f, Top: top},
		{Text: "cấp lại sổ đỏ bị cháy cần giấy tờ gì", Commune: "00003", Confidence: caunoi.ConfidenceHigh, Escalated: "NNMT-2026-000003"},
		{Text: "chữ ký số cho công chức mới chuyển về xã", Commune: "00001", Confidence: caunoi.ConfidenceNone},
		{Text: "chu ky so cho cong chuc moi chuyen ve xa", Commune: "00004", Confidence: caunoi.ConfidenceNone},
		{Text: "thanh lý máy phát điện cũ của xã", Commune: "00002", Confidence: caunoi.ConfidenceLow},
		// Answered well: not a gap.
		{Text: "đăng ký khai sinh cần giấy tờ gì", Commune: "00001", Confidence: caunoi.ConfidenceHigh, Helpful: &tr},
	}
	withStore(t, url, func(s caunoi.Store) {
		ctx := context.Background()
		for i, r := range recs {
			r.At = now.Add(-time.Duration(len(recs)-i) * time.Hour)
			if _, err := s.LogQuestion(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		old := caunoi.QuestionRecord{Text: "cấp lại sổ đỏ bị cháy", Commune: "00009", Confidence: caunoi.ConfidenceNone, At: now.Add(-10 * 24 * time.Hour)}
		if _, err := s.LogQuestion(ctx, old); err != nil {
			t.Fatal(err)
		}
	})
}

func TestGapsCommandJSON(t *testing.T) {
	url := tempStoreURL(t)
	seedGapLog(t, url)
	out, errOut, err := runCLI(t, "gaps", "--since", "7d", "--store", url, "--json")
	if err != nil {
		t.Fatalf("gaps: %v\n%s", err, errOut)
	}
	var rep gapsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if rep.Questions != 7 || rep.Clusters != 3 {
		t.Errorf("questions %d, clusters %d; want 7 and 3", rep.Questions, rep.Clusters)
	}
	type row struct {
		Count    int
		Communes []string
		Sources  gapSources
		Example  string
		Nearest  string
	}
	var got []row
	for _, g := range rep.Gaps {
		r := row{g.Count, g.Communes, g.Sources, g.Example, ""}
		if g.Nearest != nil {
			r.Nearest = g.Nearest.PassageID
		}
		got = append(got, r)
	}
	want := []row{
		{4, []string{"00001", "00002", "00003"}, gapSources{Low: 2, Unhelpful: 1, Escalated: 1}, "cấp lại sổ đỏ bị cháy", "dat-dai/cap-lai-giay-chung-nhan-bi-mat#ho-so"},
		{2, []string{"00001", "00004"}, gapSources{None: 2}, "chữ ký số cho công chức mới chuyển về xã", ""},
		{1, []string{"00002"}, gapSources{Low: 1}, "thanh lý máy phát điện cũ của xã", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("clusters:\ngot  %+v\nwant %+v", got, want)
	}

	out, _, err = runCLI(t, "gaps", "--since", "30d", "--store", url, "--json", "--limit", "1")
	if err != nil {
		t.Fatal(err)
	}
	rep = gapsReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// Thirty days reach the older question, which joins the first cluster.
	if len(rep.Gaps) != 1 || rep.Clusters != 3 || rep.Gaps[0].Count != 5 {
		t.Errorf("--since 30d --limit 1: %d shown of %d clusters, first has %d questions", len(rep.Gaps), rep.Clusters, rep.Gaps[0].Count)
	}
}

func TestGapsCommandText(t *testing.T) {
	url := tempStoreURL(t)
	seedGapLog(t, url)
	out, _, err := runCLI(t, "gaps", "--store", url)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"7 câu hỏi chưa được trả lời tốt, 3 nhóm",
		"1. 4 câu hỏi · 3 xã, phường (00001, 00002, 00003)",
		"kết quả chưa chắc: 2 · chưa đúng ý: 1 · chuyển sở: 1",
		"Ví dụ: «cấp lại sổ đỏ bị cháy»",
		"Mục gần nhất: Cấp lại giấy chứng nhận bị mất › Hồ sơ",
		"2. 2 câu hỏi · 2 xã, phường",
		"sổ tay chưa có mục nào liên quan",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	empty := tempStoreURL(t)
	withStore(t, empty, func(caunoi.Store) {})
	out, _, err = runCLI(t, "gaps", "--store", empty)
	if err != nil || !strings.Contains(out, "không có câu hỏi nào") {
		t.Errorf("empty log: %v\n%s", err, out)
	}
}

func TestGapsCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"gaps", "--since", "tuần trước"},
		{"gaps", "--since", "0d"},
		{"gaps", "--limit", "0"},
		{"gaps", "--bogus"},
		{"gaps", "extra"},
	} {
		_, errOut, err := runCLI(t, args...)
		if !errors.Is(err, errUsage) || !strings.Contains(errOut, "caunoi gaps:") {
			t.Errorf("%q: err %v, stderr %q; want a usage error", args, err, errOut)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"2w", now.Add(-14 * 24 * time.Hour)},
		{"36h", now.Add(-36 * time.Hour)},
		{"2026-03-01", time.Date(2026, 3, 1, 0, 0, 0, 0, caunoi.VietnamZone())},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "d", "-3d", "2026-04-01", "soon"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}
