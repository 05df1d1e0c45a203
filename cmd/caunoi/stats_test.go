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

// seedStatsWeek stores, on Monday 2 March 2026, two tickets for Sở Tư pháp
// (one answered within an hour and confirmed, one left alone) and two
// questions that did not become tickets. The candidates are entries of the
// embedded handbook.
func seedStatsWeek(t *testing.T, url string) {
	t.Helper()
	deps, err := departments()
	if err != nil {
		t.Fatal(err)
	}
	zone := caunoi.VietnamZone()
	day := func(hh, mm int) time.Time { return time.Date(2026, 3, 2, hh, mm, 0, 0, zone) }
	withStore(t, url, func(s caunoi.Store) {
		ctx := context.Background()
		var now time.Time
		desk := &caunoi.Desk{Store: s, Departments: deps, Now: func() time.Time { return now }}
		for _, o := range []caunoi.Official{
			{ID: seedOfficial, Name: "Lò Thị Hoa", Commune: "03001", Roles: []caunoi.Role{caunoi.RoleOfficial}},
			{ID: seedStaff, Name: "Trần Văn Bình", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}},
		} {
			if err := s.PutOfficial(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		candidate := func(entry, title string, c caunoi.Confidence) []caunoi.Candidate {
			return []caunoi.Candidate{{PassageID: entry + "#ho-so", EntryID: entry, Title: title, Confidence: c}}
		}
		logQ := func(at time.Time, text string, top []caunoi.Candidate, c caunoi.Confidence) string {
			q, err := s.LogQuestion(ctx, caunoi.QuestionRecord{Asker: seedOfficial, Commune: "03001", Text: text, Confidence: c, Top: top, At: at})
			if err != nil {
				t.Fatal(err)
			}
			return q.ID
		}
		escalate := func(at time.Time, q string) string {
			now = at
			out, err := desk.Escalate(ctx, seedOfficial, caunoi.EscalateRequest{QuestionID: q, Department: "tu-phap"})
			if err != nil {
				t.Fatal(err)
			}
			return out.Ticket.Number
		}
		step := func(at time.Time, f func() error) {
			now = at
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		chungThuc := candidate("ho-tich/chung-thuc-ban-sao", "Chứng thực bản sao từ bản chính", caunoi.ConfidenceLow)
		giamHo := candidate("ho-tich/dang-ky-giam-ho", "Đăng ký giám hộ", caunoi.ConfidenceLow)

		t1 := escalate(day(8, 0), logQ(day(8, 0), "chứng thực bản sao giấy khai sinh", chungThuc, caunoi.ConfidenceLow))
		step(day(9, 0), func() error { _, err := desk.Claim(ctx, seedStaff, t1, "c1"); return err })
		step(day(10, 0), func() error {
			_, err := desk.Reply(ctx, seedStaff, t1, "r1", caunoi.Note{Text: "Mang bản chính để đối chiếu."})
			return err
		})
		step(day(10, 30), func() error { _, err := desk.Confirm(ctx, seedOfficial, t1, "f1"); return err })
		step(day(10, 40), func() error { _, err := desk.Rate(ctx, seedOfficial, t1, "s1", 4); return err })
		escalate(day(9, 0), logQ(day(9, 0), "đăng ký giám hộ cho người già", giamHo, caunoi.ConfidenceLow))

		sure := candidate("ho-tich/chung-thuc-ban-sao", "Chứng thực bản sao từ bản chính", caunoi.ConfidenceHigh)
		logQ(day(13, 30), "chứng thực bản sao ở đâu", sure, caunoi.ConfidenceHigh)
		q4 := logQ(day(14, 0), "giám hộ cần giấy tờ gì", giamHo, caunoi.ConfidenceLow)
		if err := desk.Feedback(ctx, seedOfficial, q4, false); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStatsCommandJSON(t *testing.T) {
	url := tempStoreURL(t)
	seedStatsWeek(t, url)
	out, errOut, err := runCLI(t, "stats", "--store", url, "--department", "tu-phap", "--from", "2026-03-02", "--to", "2026-03-06", "--json")
	if err != nil {
		t.Fatalf("stats: %v\n%s", err, errOut)
	}
	var got statsJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	var want statsJSON
	want.Department = "tu-phap"
	want.From = time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
	want.To = time.Date(2026, 3, 6, 17, 0, 0, 0, time.UTC)
	want.Tickets, want.Overdue = 2, 1
	want.ByStatus = map[string]int{"resolved": 1, "new": 1}
	want.FirstResponse = durationsJSON{Count: 1, MedianHours: 1, P90Hours: 1}
	want.Resolution = durationsJSON{Count: 1, MedianHours: 2.5, P90Hours: 2.5}
	want.Deadlines.Response = deadlinesJSON{Settled: 2, Missed: 1, MissedShare: 0.5}
	want.Deadlines.Resolution = deadlinesJSON{Settled: 2, Missed: 1, MissedShare: 0.5}
	want.Questions.Asked, want.Questions.Deflected, want.Questions.Escalated = 4, 1, 2
	want.Questions.DeflectionRate = 0.25
	want.TopEntries = []entryJSON{
		{"ho-tich/chung-thuc-ban-sao", "Chứng thực bản sao từ bản chính", 1},
		{"ho-tich/dang-ky-giam-ho", "Đăng ký giám hộ", 1},
	}
	want.TopKeywords = []keywordJSON{{"ban sao", 1}, {"chung thuc", 1}, {"dang ky", 1}, {"giam ho", 1}, {"giay khai", 1}}
	want.Rating.Count, want.Rating.Mean = 1, 4
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("stats --json:\n got %s\nwant %s", g, w)
	}
}

func TestStatsCommandText(t *testing.T) {
	url := tempStoreURL(t)
	seedStatsWeek(t, url)
	out, errOut, err := runCLI(t, "stats", "--store", url, "--from", "2026-03-02", "--to", "2026-03-02")
	if err != nil {
		t.Fatalf("stats: %v\n%s", err, errOut)
	}
	for _, w := range []string{
		"Thống kê tất cả các sở",
		"Kỳ: 02/03/2026 00:00 – 03/03/2026 00:00",
		"Phiếu hỏi tạo trong kỳ: 2",
		"phản hồi đầu    trung vị 1,0 giờ, 90% trong 1,0 giờ (1 phiếu)",
		"hạn phản hồi    1/2 (50%)",
		"Câu hỏi trong kỳ: 4; sổ tay trả lời được 1 (25%); chuyển thành phiếu 2",
		"1. Chứng thực bản sao từ bản chính (ho-tich/chung-thuc-ban-sao): 1 phiếu",
		"Đánh giá trung bình: 4,0/5 (1 lượt)",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestStatsCommandUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"since and from", []string{"--since", "7d", "--from", "2026-03-01"}, "không dùng cả hai"},
		{"to alone", []string{"--to", "2026-03-01"}, "--to cần đi kèm --from"},
		{"bad date", []string{"--from", "02/03/2026"}, "YYYY-MM-DD"},
		{"reversed", []string{"--from", "2026-03-05", "--to", "2026-03-01"}, "--to phải từ ngày --from trở đi"},
		{"bad since", []string{"--since", "tuần"}, "--since"},
		{"unknown department", []string{"--department", "khong-co"}, "không có sở mã"},
		{"stray argument", []string{"tu-phap"}, "không nhận tham số"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := runCLI(t, append([]string{"stats", "--store", tempStoreURL(t)}, tt.args...)...)
			if !errors.Is(err, errUsage) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "Cách dùng: caunoi stats") {
				t.Errorf("stderr lacks %q and the usage:\n%s", tt.want, errOut)
			}
		})
	}
}

func TestParseStatsSince(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, caunoi.VietnamZone())
	a, _, err := parseStatsArgs([]string{"--since", "48h"}, now)
	if err != nil || !a.from.Equal(now.Add(-48*time.Hour)) || !a.to.Equal(now) {
		t.Errorf("--since 48h: %v – %v, %v", a.from, a.to, err)
	}
	a, _, err = parseStatsArgs(nil, now)
	if err != nil || !a.from.Equal(now.AddDate(0, 0, -7)) {
		t.Errorf("default period starts %v, %v; want 7 days back", a.from, err)
	}
	a, _, err = parseStatsArgs([]string{"--from", "2026-03-01"}, now)
	if err != nil || !a.to.Equal(time.Date(2026, 3, 11, 0, 0, 0, 0, caunoi.VietnamZone())) {
		t.Errorf("--from without --to ends %v, %v; want the end of today", a.to, err)
	}
}
