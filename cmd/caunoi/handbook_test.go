package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi/knowledge"
)

// runHandbookCmd runs caunoi with args through Main.Run and returns what it
// printed and its exit status.
func runHandbookCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), args); err != nil {
		code = exitCode(err)
	}
	return out.String(), errb.String(), code
}

const goodHandbook = "../../knowledge/testdata/good"

// writeHandbook writes files under a new temporary directory and returns it.
func writeHandbook(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var brokenHandbook = map[string]string{
	"departments.yaml": "- code: tu-phap\n  prefix: TP\n  name: Sở Tư pháp\n",
	"ho-tich/a.md":     "---\ntitle: Đăng ký khai sinh\ndepartment: tu-phap\nreview_by: 2025-01-01\n---\nTờ khai.\n",
	"ho-tich/b.md":     "---\ntitle: Đăng ký khai tử\ndepartment: tu-phap\n---\n## Hồ sơ\n\n## Lệ phí\n\nMiễn lệ phí.\n",
	"ho-tich/c.md":     "---\ntitle: Đăng ký kết hôn\ndepartmnet: tu-phap\n---\nTờ khai.\n",
}

// goodVersion is the version of the handbook in goodHandbook.
func goodVersion(t *testing.T) string {
	t.Helper()
	h, ps := knowledge.Load(os.DirFS(goodHandbook), time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC))
	if h == nil {
		t.Fatalf("load %s: %v", goodHandbook, ps)
	}
	return h.Version
}

func TestHandbookCheck(t *testing.T) {
	broken := writeHandbook(t, brokenHandbook)
	version := goodVersion(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		outFrags []string
	}{
		{
			name:   "good",
			args:   []string{"handbook", "check", goodHandbook, "--now", "2025-10-01"},
			stdout: "Sổ tay: 3 mục, 7 đoạn, 4 thuật ngữ, 0 lỗi, 0 cảnh báo (phiên bản " + version + ").\n",
		},
		{
			name: "stale entries are warnings",
			args: []string{"handbook", "check", "--now=2026-03-01", goodHandbook},
			stdout: "mot-cua/tiep-nhan-ho-so.md:7: cảnh báo: review_by 2026-01-01 đã qua; hãy rà soát lại mục này\n" +
				"Sổ tay: 3 mục, 7 đoạn, 4 thuật ngữ, 0 lỗi, 1 cảnh báo (phiên bản " + version + ").\n",
		},
		{
			name: "errors",
			args: []string{"handbook", "check", "--now", "2025-10-01", broken},
			code: 1,
			stdout: "ho-tich/a.md:4: cảnh báo: review_by 2025-01-01 đã qua; hãy rà soát lại mục này\n" +
				"ho-tich/b.md:5: phần \"## Hồ sơ\" không có nội dung\n" +
				"ho-tich/c.md:1: thiếu \"department\"\n" +
				"ho-tich/c.md:3: khóa \"departmnet\" không được dùng trong phần đầu; có phải \"department\"? (các khóa hợp lệ: id, title, department, questions, legal_basis, updated, review_by, aliases, source)\n" +
				"Sổ tay: 3 lỗi, 1 cảnh báo. Sổ tay chưa dùng được; hãy sửa các lỗi trên rồi chạy lại.\n",
		},
		{
			name:     "embedded handbook is valid",
			args:     []string{"handbook", "check"},
			outFrags: []string{", 0 lỗi, "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runHandbookCmd(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d; stderr %q", code, tt.code, stderr)
			}
			if tt.stdout != "" && stdout != tt.stdout {
				t.Errorf("stdout:\ngot  %q\nwant %q", stdout, tt.stdout)
			}
			for _, f := range tt.outFrags {
				if !strings.Contains(stdout, f) {
					t.Errorf("stdout %q does not contain %q", stdout, f)
				}
			}
			if strings.Contains(stdout, "departments.yaml") {
				t.Errorf("departments.yaml must load: %s", stdout)
			}
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}

func TestHandbookStats(t *testing.T) {
	stdout, stderr, code := runHandbookCmd(t, "handbook", "stats", goodHandbook, "--now", "2026-03-01")
	if code != 0 || stderr != "" {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	want := "Sổ tay phiên bản " + goodVersion(t) + `
Mục:                    3
Đoạn:                   7
Câu hỏi mẫu:            4
Mục có căn cứ pháp lý:  2
Mục quá hạn rà soát:    1
Thuật ngữ:              4
Sở, ngành:              3

Theo sở:
  mã                      mục  đoạn  tên
  tu-phap                 1    4     Sở Tư pháp
  nong-nghiep-moi-truong  1    2     Sở Nông nghiệp và Môi trường
  van-phong-ubnd          1    1     Văn phòng UBND tỉnh

Theo lĩnh vực (thư mục):
  thư mục  mục  đoạn
  dat-dai  1    2
  ho-tich  1    4
  mot-cua  1    1

Mục quá hạn rà soát:
  mot-cua/tiep-nhan-ho-so (mot-cua/tiep-nhan-ho-so.md:1, review_by 2026-01-01)
`
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}

	stdout, stderr, code = runHandbookCmd(t, "handbook", "stats", writeHandbook(t, brokenHandbook))
	if code != 1 || stdout != "" || !strings.Contains(stderr, "ho-tich/c.md:1: thiếu \"department\"\n") {
		t.Errorf("broken handbook: exit status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestHandbookUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		stdout  string
		errFrag string
	}{
		{"help", []string{"handbook", "--help"}, 0, "Cách dùng: caunoi handbook", ""},
		{"check help", []string{"handbook", "check", "-h"}, 0, "--now YYYY-MM-DD", ""},
		{"stats help", []string{"handbook", "stats", "--help"}, 0, "Cách dùng: caunoi handbook", ""},
		{"no subcommand", []string{"handbook"}, 2, "", "Cách dùng: caunoi handbook"},
		{"unknown subcommand", []string{"handbook", "kiemtra"}, 2, "", `không có lệnh "kiemtra"`},
		{"bad date", []string{"handbook", "check", "--now", "1/7/2025"}, 2, "", `--now "1/7/2025" không phải ngày dạng YYYY-MM-DD`},
		{"missing date", []string{"handbook", "check", "--now"}, 2, "", "thiếu ngày sau --now"},
		{"unknown flag", []string{"handbook", "stats", "--json"}, 2, "", "không có tham số --json"},
		{"two directories", []string{"handbook", "check", "a", "b"}, 2, "", "chỉ nhận một thư mục"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runHandbookCmd(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit status %d, want %d", code, tt.code)
			}
			if tt.stdout == "" && stdout != "" || !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q, want it to contain %q", stdout, tt.stdout)
			}
			if tt.errFrag == "" && stderr != "" || !strings.Contains(stderr, tt.errFrag) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tt.errFrag)
			}
		})
	}
}

func TestHandbookMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "khong-co")
	file := writeHandbook(t, map[string]string{"a.txt": "x"})
	tests := []struct{ arg, frag string }{
		{dir, "không có thư mục"},
		{filepath.Join(file, "a.txt"), "không phải là thư mục"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		err := m.Run(context.Background(), []string{"handbook", "check", tt.arg})
		if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), tt.frag) {
			t.Errorf("check %s: error %v (exit status %d), want exit status 1 and %q", tt.arg, err, exitCode(err), tt.frag)
		}
	}
}
