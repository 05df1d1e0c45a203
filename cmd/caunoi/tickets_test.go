package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// runCLI runs the program with args and returns what it printed.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	err = m.Run(context.Background(), args)
	return out.String(), errOut.String(), err
}

// tempStoreURL returns the address of a fresh bbolt file.
func tempStoreURL(t *testing.T) string {
	t.Helper()
	return "bolt:" + filepath.Join(t.TempDir(), "caunoi.db")
}

// withStore opens the store at url, runs fn and closes it, so that the
// program can open the file afterwards.
func withStore(t *testing.T, url string, fn func(s caunoi.Store)) {
	t.Helper()
	s, err := openStore(context.Background(), url)
	if err != nil {
		t.Fatalf("openStore(%s): %v", url, err)
	}
	defer s.Close()
	fn(s)
}

const (
	seedOfficial caunoi.UserID = 1001
	seedStaff    caunoi.UserID = 2001
)

// formulaQuestion would run as a formula in a spreadsheet if exported as is.
const formulaQuestion = "=HYPERLINK(\"http://x\") trụ sở cũ dùng thế nào?"

// multilineQuestion has a comma, quotes and a line break, which CSV must keep.
const multilineQuestion = "Khai sinh cho trẻ, cha mẹ \"chưa đăng ký kết hôn\"\nthì làm sao?"

// seedTickets stores three tickets: two for Sở Tư pháp (one answered), one
// for Công an tỉnh. It returns their numbers, oldest first.
func seedTickets(t *testing.T, url string) []string {
	t.Helper()
	deps, err := departments()
	if err != nil {
		t.Fatal(err)
	}
	var numbers []string
	withStore(t, url, func(s caunoi.Store) {
		ctx := context.Background()
		now := time.Date(2025, 7, 7, 9, 0, 0, 0, caunoi.VietnamZone())
		d := &caunoi.Desk{Store: s, Departments: deps, Now: func() time.Time { return now }}
		for _, p := range []caunoi.Official{
			{ID: seedOfficial, Name: "Lò Văn Minh", Commune: "LCH-01", Roles: []caunoi.Role{caunoi.RoleOfficial}},
			{ID: seedStaff, Name: "Nguyễn Thị Lan", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}},
		} {
			if err := s.PutOfficial(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		for i, q := range []struct{ text, dept string }{
			{multilineQuestion, "tu-phap"},
			{formulaQuestion, "tu-phap"},
			{"Tài khoản VNeID của người dân bị khóa thì xã hỗ trợ thế nào?", "cong-an"},
		} {
			now = now.Add(time.Duration(i) * time.Hour)
			out, err := d.Escalate(ctx, seedOfficial, caunoi.EscalateRequest{Text: q.text, Department: q.dept, Key: q.text})
			if err != nil {
				t.Fatalf("Escalate: %v", err)
			}
			numbers = append(numbers, out.Ticket.Number)
		}
		now = now.Add(30 * time.Minute)
		if _, err := d.Claim(ctx, seedStaff, numbers[0], "c1"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Reply(ctx, seedStaff, numbers[0], "r1", caunoi.Note{Text: "Đăng ký khai sinh theo Điều 15 Luật Hộ tịch."}); err != nil {
			t.Fatal(err)
		}
	})
	return numbers
}

func TestTicketsList(t *testing.T) {
	url := tempStoreURL(t)
	numbers := seedTickets(t, url)
	tests := []struct {
		name string
		args []string
		want []string // numbers expected in the output
	}{
		{"all", nil, numbers},
		{"department", []string{"--department", "tu-phap"}, numbers[:2]},
		{"status", []string{"--status=answered"}, numbers[:1]},
		{"open", []string{"--status", "open", "--department", "cong-an"}, numbers[2:]},
		{"several statuses", []string{"--status", "new,answered"}, numbers},
		{"limit", []string{"--limit", "1"}, numbers[2:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"tickets", "list", "--store", url}, tt.args...)
			out, errOut, err := runCLI(t, args...)
			if err != nil {
				t.Fatalf("err = %v; stderr:\n%s", err, errOut)
			}
			for _, n := range numbers {
				if got, want := strings.Contains(out, n), contains(tt.want, n); got != want {
					t.Errorf("output lists %s: %v, want %v\n%s", n, got, want, out)
				}
			}
		})
	}
	out, _, err := runCLI(t, "tickets", "list", "--store", url, "--status", "closed")
	if err != nil || !strings.Contains(out, "Không có phiếu") {
		t.Errorf("empty list: err %v, output %q", err, out)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestTicketsBadInput(t *testing.T) {
	url := tempStoreURL(t)
	seedTickets(t, url)
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no subcommand", []string{"tickets"}, "thiếu lệnh"},
		{"unknown subcommand", []string{"tickets", "delete"}, "không có lệnh"},
		{"unknown status", []string{"tickets", "list", "--status", "done"}, "trạng thái \"done\""},
		{"unknown department", []string{"tickets", "list", "--department", "so-gi-do"}, "không có sở mã"},
		{"zero limit", []string{"tickets", "list", "--limit", "0"}, "--limit"},
		{"bad limit", []string{"tickets", "list", "--limit", "mười"}, "--limit"},
		{"unknown flag", []string{"tickets", "list", "--all"}, "không có tham số --all"},
		{"missing value", []string{"tickets", "list", "--status"}, "thiếu giá trị"},
		{"show without number", []string{"tickets", "show"}, "một số phiếu"},
		{"show with filter", []string{"tickets", "show", "TP-2025-000001", "--status", "new"}, "không dùng bộ lọc"},
		{"export without --csv", []string{"tickets", "export"}, "--csv"},
		{"list with --csv", []string{"tickets", "list", "--csv"}, "--csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args, "--store", url)
			out, errOut, err := runCLI(t, args...)
			if !errors.Is(err, errUsage) {
				t.Fatalf("err = %v, want usage error", err)
			}
			if !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, "Cách dùng") {
				t.Errorf("stderr = %q, want %q and the usage", errOut, tt.want)
			}
			if out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
		})
	}
}

func TestTicketsShow(t *testing.T) {
	url := tempStoreURL(t)
	numbers := seedTickets(t, url)
	out, errOut, err := runCLI(t, "tickets", "show", numbers[0], "--store", url)
	if err != nil {
		t.Fatalf("err = %v; stderr %s", err, errOut)
	}
	for _, want := range []string{
		"Phiếu " + numbers[0], "Sở Tư pháp (tu-phap)", "đã trả lời, chờ xác nhận",
		"cha mẹ \"chưa đăng ký kết hôn\"", "Diễn biến:", "07/07/2025 09:00  1001 — gửi câu hỏi [mới]",
		"2001 — nhận xử lý [đang xử lý]", "Đăng ký khai sinh theo Điều 15 Luật Hộ tịch.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	_, _, err = runCLI(t, "tickets", "show", "TP-2025-999999", "--store", url)
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "không có phiếu TP-2025-999999") {
		t.Errorf("unknown ticket: err = %v (exit %d)", err, exitCode(err))
	}
}

func TestTicketsExport(t *testing.T) {
	url := tempStoreURL(t)
	numbers := seedTickets(t, url)
	out, errOut, err := runCLI(t, "tickets", "export", "--csv", "--store", url, "--department", "tu-phap")
	if err != nil {
		t.Fatalf("err = %v; stderr %s", err, errOut)
	}
	if !strings.HasPrefix(out, "\uFEFF") {
		t.Fatal("export does not start with a UTF-8 byte order mark")
	}
	if !strings.Contains(out, "\r\n") {
		t.Error("export lines do not end in CRLF")
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatalf("export is not valid CSV: %v", err)
	}
	if len(recs) != 3 {
		t.Fatalf("export has %d records, want header + 2", len(recs))
	}
	if recs[0][0] != "Số phiếu" || len(recs[0]) != len(exportHeader) {
		t.Errorf("header = %q", recs[0])
	}
	byNumber := map[string][]string{}
	for _, r := range recs[1:] {
		byNumber[r[0]] = r
	}
	first, second := byNumber[numbers[0]], byNumber[numbers[1]]
	if first == nil || second == nil {
		t.Fatalf("export lacks %s or %s: %q", numbers[0], numbers[1], recs)
	}
	if first[7] != strings.ReplaceAll(multilineQuestion, "\n", "\r\n") && first[7] != multilineQuestion {
		t.Errorf("question = %q, want %q", first[7], multilineQuestion)
	}
	if first[4] != "answered" || first[13] != "2001" || first[2] != "Sở Tư pháp" {
		t.Errorf("first record = %q", first)
	}
	if second[7] != "'"+formulaQuestion {
		t.Errorf("formula question exported as %q, want a leading quote", second[7])
	}
}
