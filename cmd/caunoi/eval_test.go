package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalCommandHandbook(t *testing.T) {
	files, _ := filepath.Glob("../../knowledge/testdata/eval/*.jsonl")
	if len(files) == 0 {
		t.Skip("no handbook question sets")
	}
	out, errOut, code := runHandbookCmd(t, append([]string{"eval", "--json"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(files) {
		t.Fatalf("%d lines for %d files:\n%s", len(lines), len(files), out)
	}
	for _, l := range lines {
		var r struct {
			File               string
			N                  int
			R1, R3, R10, MRR10 float64
			UncoveredLow       *float64 `json:"uncovered_low"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if r.N == 0 || r.R1 <= 0 || r.R1 > r.R3 || r.R3 > r.R10 || r.MRR10 < r.R1 || r.MRR10 > 1 {
			t.Errorf("implausible result %s", l)
		}
	}
}

func TestEvalCommandCorpus(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.jsonl")
	questions := filepath.Join(dir, "q.jsonl")
	os.WriteFile(corpus, []byte(`{"id":"luat-a:1","law_id":"a","article_id":"1","title":"Điều 1. Đăng ký khai sinh","text":"Trẻ em sinh ra được đăng ký khai sinh.","law_name":"Luật Hộ tịch","law_number":"60/2014/QH13","source":"x"}
{"id":"luat-a:2","law_id":"a","article_id":"2","title":"Điều 2. Đăng ký kết hôn","text":"Nam nữ đăng ký kết hôn tại ủy ban nhân dân.","law_name":"Luật Hộ tịch","law_number":"60/2014/QH13","source":"x"}
`), 0o644)
	os.WriteFile(questions, []byte(`{"qid":"1","question":"đăng ký kết hôn ở đâu","relevant":["luat-a:2"],"type":"Tự luận"}
{"qid":"2","question":"dang ky khai sinh cho tre","relevant":["luat-a:1"],"type":"Tự luận"}
`), 0o644)
	out, errOut, code := runHandbookCmd(t, "eval", "--corpus", corpus, questions)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.Contains(out, "q.jsonl") || !strings.Contains(out, "1.000") || !strings.Contains(out, "MRR@10") {
		t.Errorf("output:\n%s", out)
	}
}

func TestEvalCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"qid\":\"1\",\"question\":\"a\"}\nkhông phải json\n"), 0o644)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval"}, 2, "thiếu tệp câu hỏi"},
		{[]string{"eval", filepath.Join(dir, "khong-co.jsonl")}, 1, "không mở được tệp câu hỏi"},
		{[]string{"eval", bad}, 1, "bad.jsonl:2:"},
		{[]string{"eval", "--corpus", "x.jsonl", "--handbook", dir, bad}, 2, "chỉ dùng một"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errOut, code := runHandbookCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}
