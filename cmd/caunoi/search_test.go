package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSearchCommand(t *testing.T) {
	out, errOut, code := runHandbookCmd(t, "search", "--limit", "2", "lam giay khai sinh can gi")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"Độ tin cậy:", "1. ", "›", "«", "»", "Căn cứ:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\n3. ") {
		t.Errorf("more than 2 hits:\n%s", out)
	}
}

func TestSearchCommandJSON(t *testing.T) {
	out, errOut, code := runHandbookCmd(t, "search", "đăng ký khai sinh", "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("want one JSON line, got:\n%s", out)
	}
	var got struct {
		Query      string `json:"query"`
		Confidence string `json:"confidence"`
		Hits       []struct {
			ID, Title, Section, Department, Snippet string
			Score                                   float64
			LegalBasis                              []string `json:"legal_basis"`
		} `json:"hits"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Query != "đăng ký khai sinh" || len(got.Hits) == 0 {
		t.Fatalf("got %+v", got)
	}
	h := got.Hits[0]
	if strings.Contains(h.ID, "#") || h.Title == "" || h.Department == "" || h.Snippet == "" || h.Score <= 0 || h.LegalBasis == nil {
		t.Errorf("first hit %+v; want an entry id, title, department, snippet, score and legal basis", h)
	}
	switch got.Confidence {
	case "high", "low", "none":
	default:
		t.Errorf("confidence %q", got.Confidence)
	}
}

func TestSearchCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"search"}, 2, "thiếu câu hỏi"},
		{[]string{"search", "--limit", "0", "khai sinh"}, 2, "--limit phải từ 1 đến 100"},
		{[]string{"search", "--limit", "x", "khai sinh"}, 2, "giá trị không hợp lệ"},
		{[]string{"search", "--bogus", "khai sinh"}, 2, "không có tham số"},
		{[]string{"search", "?!"}, 2, "không có chữ nào"},
		{[]string{"search", "--handbook", "/khong/co/thu/muc", "khai sinh"}, 1, "không mở được thư mục sổ tay"},
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

func TestSearchCommandBrokenHandbook(t *testing.T) {
	dir := writeHandbook(t, brokenHandbook)
	_, errOut, code := runHandbookCmd(t, "search", "--handbook", dir, "khai sinh")
	if code != 1 || !strings.Contains(errOut, "ho-tich/c.md:") {
		t.Errorf("exit %d, stderr %q; want exit 1 and the problems", code, errOut)
	}
}

func TestSearchHelp(t *testing.T) {
	out, _, code := runHandbookCmd(t, "search", "--help")
	if code != 0 || !strings.Contains(out, "Cách dùng: caunoi search") {
		t.Errorf("exit %d, output %q", code, out)
	}
}
