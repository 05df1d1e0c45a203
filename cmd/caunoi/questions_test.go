package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// TestQuestionsPrune deletes the questions older than --keep from a real
// bbolt file, with progress on the way, and leaves the newer ones.
func TestQuestionsPrune(t *testing.T) {
	url := tempStoreURL(t)
	now := time.Now()
	ages := map[int]int{400: 5600, 200: 3, 10: 4} // days ago → records
	withStore(t, url, func(s caunoi.Store) {
		for days, n := range ages {
			for i := range n {
				_, err := s.LogQuestion(context.Background(), caunoi.QuestionRecord{Asker: 1001, Text: fmt.Sprintf("hỏi %d ngày trước, câu %d", days, i), At: now.AddDate(0, 0, -days).Add(time.Duration(i) * time.Second)})
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	remaining := func() map[int]int {
		t.Helper()
		got := map[int]int{}
		withStore(t, url, func(s caunoi.Store) {
			qs, err := s.Questions(context.Background(), now.AddDate(-2, 0, 0), now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range qs {
				got[int(now.Sub(q.At).Hours()/24+0.5)]++
			}
		})
		return got
	}

	// Bad input: refused with a reason, nothing deleted.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"questions", "prune", "--store", url}, "thiếu --keep"},
		{[]string{"questions", "prune", "--keep", "9d", "--store", url}, "từ 90d đến 36500d"},
		{[]string{"questions", "prune", "--keep", "365", "--store", url}, "cần số ngày kèm chữ d"},
		{[]string{"questions", "prune", "--keep", "forever", "--store", url}, "không xóa gì"},
		{[]string{"questions", "xoa", "--keep", "365d", "--store", url}, `không có lệnh "xoa"`},
		{[]string{"questions", "--keep", "365d", "--store", url}, "thiếu lệnh (prune)"},
	} {
		_, errOut, err := runCLI(t, tc.args...)
		if exitCode(err) != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args[1:], exitCode(err), errOut, tc.want)
		}
	}
	if got := remaining(); got[400] != 5600 || got[200] != 3 || got[10] != 4 {
		t.Fatalf("after refused commands: %v, want everything", got)
	}

	out, errOut, err := runCLI(t, "questions", "prune", "--keep", "365d", "--store", url)
	if err != nil {
		t.Fatalf("prune: %v; stderr %s", err, errOut)
	}
	if !strings.Contains(out, "Đã xóa 5600 câu hỏi gửi trước") || !strings.Contains(errOut, "đã xóa 5000 câu hỏi…") {
		t.Errorf("prune printed %q, progress %q", out, errOut)
	}
	if got := remaining(); got[400] != 0 || got[200] != 3 || got[10] != 4 {
		t.Errorf("after --keep 365d: %v, want the 3 and 4 newer records", got)
	}
	out, _, err = runCLI(t, "questions", "prune", "--keep", "90d", "--store", url)
	if err != nil || !strings.Contains(out, "Đã xóa 3 câu hỏi") {
		t.Errorf("--keep 90d: %q, %v; want 3 deleted", out, err)
	}
	out, _, err = runCLI(t, "questions", "prune", "--keep", "90d", "--store", url)
	if err != nil || !strings.Contains(out, "Không có câu hỏi nào") {
		t.Errorf("again: %q, %v; want nothing to delete", out, err)
	}
	if got := remaining(); got[10] != 4 || len(got) != 1 {
		t.Errorf("at the end: %v, want the 4 records of 10 days ago", got)
	}
}

func TestKeepQuestions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true}, {"forever", 0, true}, {" Forever ", 0, true},
		{"90d", 90 * 24 * time.Hour, true}, {"730D", 730 * 24 * time.Hour, true}, {"36500d", 36500 * 24 * time.Hour, true},
		{"89d", 0, false}, {"36501d", 0, false}, {"730", 0, false}, {"2y", 0, false}, {"-100d", 0, false}, {"d", 0, false}, {"off", 0, false},
	} {
		got, err := keepQuestions(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("keepQuestions(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
