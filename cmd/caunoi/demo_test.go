package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi/bot/telegramtest"
)

var updateTranscript = flag.Bool("update-transcript", false, "rewrite testdata/demo/transcript.txt from a run of the full-ticket script")

const (
	demoDir = "testdata/demo"
	// smallHandbook is a one-entry handbook, quick to index, for the tests
	// that are about the command rather than about the content.
	smallHandbook  = "testdata/demo/so-tay-nho"
	transcriptFile = "testdata/demo/transcript.txt"
	// transcriptScript is the script whose transcript the README shows.
	transcriptScript = "gui-so-kem-anh.demo"
)

// runDemoMain runs `caunoi args...` with stdin and returns its output.
func runDemoMain(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	err = m.Run(context.Background(), args)
	return out.String(), errOut.String(), err
}

// writeDemoScript writes a script into a temporary directory.
func writeDemoScript(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDemoScripts replays every script in testdata/demo, in one run of the
// command, through the real bot, the emulator over HTTP and a bbolt file;
// every expect must hold. The full-ticket script runs first, in a fresh
// world, so its part of the output is what running it alone prints; its
// shape is compared with the kept transcript.
func TestDemoScripts(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join(demoDir, "*.demo"))
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) < 6 {
		t.Fatalf("found %d scripts in %s, want at least 6", len(scripts), demoDir)
	}
	first := filepath.Join(demoDir, transcriptScript)
	args := []string{"demo", "--script", first}
	for _, path := range scripts {
		if path != first {
			args = append(args, "--script", path)
		}
	}
	if len(args) != 2*len(scripts)+1 {
		t.Fatalf("%s is not among the scripts", first)
	}
	out, errOut, err := runDemoMain(t, "", args...)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s\ntranscript:\n%s", err, errOut, out)
	}
	sections := map[string]string{}
	for _, part := range strings.Split(out, "\n══ Kịch bản ")[1:] {
		name, body, _ := strings.Cut(part, " ══\n")
		sections[name] = body
	}
	for _, path := range scripts {
		body, ok := sections[path]
		if !ok {
			t.Errorf("transcript has no section for %s", path)
			continue
		}
		if !strings.Contains(body, "kiểm tra đều đạt") {
			t.Errorf("%s did not end with the summary:\n%s", path, body)
		}
	}
	checkNoDuplicates(t, out)
	if *updateTranscript {
		alone, errOut, err := runDemoMain(t, "", "demo", "--script", first)
		if err != nil {
			t.Fatalf("%v\nstderr:\n%s", err, errOut)
		}
		if err := os.WriteFile(transcriptFile, []byte(alone), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	checkTranscript(t, sections[first])
}

// checkNoDuplicates fails the test when, within one step, the bot sent the
// same message twice to the same chat: every step of the scripts calls for
// distinct messages, so a repeat is a message delivered twice.
func checkNoDuplicates(t *testing.T, transcript string) {
	t.Helper()
	for _, d := range duplicateMessages(transcript) {
		t.Error(d)
	}
}

// duplicateMessages describes each message sent twice within a step.
func duplicateMessages(transcript string) []string {
	var dups []string
	var step, chat string
	var body []string
	seen := map[string]bool{}
	flush := func() {
		if chat == "" {
			return
		}
		key := chat + "\n" + strings.Join(body, "\n")
		if seen[key] {
			dups = append(dups, fmt.Sprintf("the bot sent the same message twice to %s at %s:\n%s", chat, step, strings.Join(body, "\n")))
		}
		seen[key] = true
		chat, body = "", nil
	}
	for _, line := range strings.Split(transcript, "\n") {
		switch {
		case strings.HasPrefix(line, "    ") && chat != "":
			body = append(body, line)
			continue
		case strings.HasPrefix(line, "▶ "):
			flush()
			step, seen = line, map[string]bool{}
			continue
		}
		flush()
		if rest, ok := strings.CutPrefix(line, "  🤖 → "); ok {
			chat, _, _ = strings.Cut(rest, " · tin #")
		}
	}
	flush()
	return dups
}

func TestDuplicateMessages(t *testing.T) {
	transcript := `
▶ 1 │ official [Đã giải quyết]
  (Nguyễn Thị Lan bấm [✅ Đã giải quyết] ở tin #14)
  🤖 → nhóm Sở Tư pháp · tin #8
    🎉 Phiếu TP-1: xác nhận.
  🤖 → Nguyễn Thị Lan · tin #15
    🎉 Phiếu TP-1: xác nhận.
  🤖 → nhóm Sở Tư pháp · tin #9
    🎉 Phiếu TP-1: xác nhận.

▶ 2 │ official [5]
  🤖 → nhóm Sở Tư pháp · tin #10
    🎉 Phiếu TP-1: xác nhận.
`
	got := duplicateMessages(transcript)
	if len(got) != 1 || !strings.Contains(got[0], "twice to nhóm Sở Tư pháp at ▶ 1") {
		t.Errorf("duplicateMessages = %q, want one repeat in the staff group at step 1", got)
	}
}

// checkTranscript compares the shape of a run with the transcript kept for
// the README: the same steps, the same people acting on the same messages,
// the same messages from the bot. Times, dates and handbook wording may
// differ between runs.
func checkTranscript(t *testing.T, got string) {
	t.Helper()
	want, err := os.ReadFile(transcriptFile)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./cmd/caunoi -run TestDemoScripts -update-transcript)", err)
	}
	g, w := transcriptShape(got), transcriptShape(string(want))
	if strings.Join(g, "\n") == strings.Join(w, "\n") {
		return
	}
	for i := 0; i < max(len(g), len(w)); i++ {
		gl, wl := "", ""
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("transcript differs from %s at structural line %d:\ngot:  %s\nwant: %s\n(regenerate with -update-transcript if the change is intended)", transcriptFile, i+1, gl, wl)
		}
	}
}

var (
	dateTimeRE = regexp.MustCompile(`\d{2}:\d{2} \d{2}/\d{2}/\d{4}`)
	yearRE     = regexp.MustCompile(`-\d{4}-`)
)

// transcriptShape keeps the lines that say who did what: steps, actions,
// which messages the bot sent to whom, and verdicts. Message bodies and
// buttons depend on the handbook and are left out.
func transcriptShape(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "▶"), strings.HasPrefix(trim, "🤖"), strings.HasPrefix(trim, "("),
			strings.HasPrefix(trim, "✓"), strings.HasPrefix(trim, "✗"):
			trim = dateTimeRE.ReplaceAllString(trim, "HH:MM DD/MM/YYYY")
			out = append(out, yearRE.ReplaceAllString(trim, "-YYYY-"))
		}
	}
	return out
}

// TestDemoTranscriptFile checks the kept transcript itself: it is a passing
// run of the full-ticket script, with every kind of step in it.
func TestDemoTranscriptFile(t *testing.T) {
	b, err := os.ReadFile(transcriptFile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		"official attach", "staff [Nhận xử lý]", "staff [Cần thêm thông tin]", "official reply>",
		"🆕 Phiếu TP-", "[ảnh] 📎 TP-", "[1⭐] [2⭐] [3⭐] [4⭐] [5⭐]", "được chấm 5/5", "kiểm tra đều đạt",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %q", transcriptFile, want)
		}
	}
	if strings.Contains(s, "✗") || strings.Contains(s, os.TempDir()) {
		t.Errorf("%s shows a failure or a temporary path", transcriptFile)
	}
}

func TestDemoFailedExpect(t *testing.T) {
	path := writeDemoScript(t, "sai.demo", `# the answer is about marriage, not land
official> dang ky ket hon can giay to gi
expect official: giấy chứng nhận quyền sử dụng đất
official [Đã rõ]
`)
	good := writeDemoScript(t, "dung.demo", "official> dang ky ket hon can giay to gi\nexpect official: ket hon\n")
	out, _, err := runDemoMain(t, "", "demo", "--handbook", smallHandbook, "--script", path, "--script", good)
	if err == nil {
		t.Fatalf("a failing expect returned no error; transcript:\n%s", out)
	}
	if got := exitCode(err); got != 1 {
		t.Errorf("exit code = %d, want 1", got)
	}
	if want := path + ":3: expect official: không thấy «giấy chứng nhận quyền sử dụng đất»"; !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
	if !strings.Contains(out, "▶ 3 │") || !strings.Contains(out, "✗") {
		t.Errorf("transcript does not show the failed step:\n%s", out)
	}
	if strings.Contains(out, "▶ 4 │") {
		t.Errorf("steps after the failure ran:\n%s", out)
	}
	if strings.Contains(err.Error(), good) || !strings.Contains(out, "Xong: 2 bước, 1 kiểm tra đều đạt.") {
		t.Errorf("the script after the failing one did not run and pass; err = %v\n%s", err, out)
	}
}

func TestDemoParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		wantErr []string // each as "FILE:LINE: text"
	}{
		{"unknown actor", "official> xin chào\nadmin> reset\n", []string{":2: dòng phải bắt đầu bằng official, staff hoặc expect"}},
		{"missing bracket", "# chú thích\n\nofficial [Đã rõ\n", []string{":3: thiếu dấu ]"}},
		{"empty text", "official>\n", []string{":1: thiếu nội dung sau official>"}},
		{"expect whom", "official> a\nexpect editor: b\n", []string{":2: expect \"editor\""}},
		{"expect colon", "expect official b\n", []string{":1: thiếu dấu :"}},
		{"staff attach", "staff attach a.png\n", []string{":1: chỉ cán bộ xã gửi tệp"}},
		{"missing file", "official attach khong-co.png\n", []string{":1: không có tệp"}},
		{"every bad line", "official [\nofficial> ổn\nstaff [ ]\nofficial nói gì đó\n", []string{":1: thiếu dấu ]", ":3: nhãn nút trống", ":4: không hiểu bước"}},
		{"nothing to do", "# chỉ có chú thích\n", []string{"kịch bản không có bước nào"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeDemoScript(t, "k.demo", tt.script)
			// A good script before the bad one must not run either.
			good := writeDemoScript(t, "dung.demo", "official> xin chào\n")
			out, _, err := runDemoMain(t, "", "demo", "--script", good, "--script", path)
			if got := exitCode(err); err == nil || got != 2 {
				t.Fatalf("err = %v (exit %d), want exit 2", err, got)
			}
			for _, w := range tt.wantErr {
				if strings.HasPrefix(w, ":") {
					w = path + w
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %q\nwant it to contain %q", err, w)
				}
			}
			if out != "" {
				t.Errorf("something ran before the script was rejected:\n%s", out)
			}
		})
	}
}

func TestDemoUsage(t *testing.T) {
	_, errOut, err := runDemoMain(t, "", "demo", "--bogus")
	if exitCode(err) != 2 || !strings.Contains(errOut, "Cách dùng: caunoi demo") {
		t.Errorf("bad flag: err = %v, stderr = %q", err, errOut)
	}
	out, _, err := runDemoMain(t, "", "demo", "--help")
	if err != nil || !strings.Contains(out, "--script TỆP") {
		t.Errorf("--help: err = %v, stdout = %q", err, out)
	}
	_, _, err = runDemoMain(t, "", "demo", "--script", filepath.Join(t.TempDir(), "khong-co.demo"))
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "không mở được kịch bản") {
		t.Errorf("missing script: err = %v", err)
	}
}

// TestDemoInteractive types a session: a question without the step
// grammar, a button, a bad line, an expect, and /quit.
func TestDemoInteractive(t *testing.T) {
	in := "dang ky ket hon can giay to gi\nofficial [Hỏi cán bộ]\nofficial [Không có nút này]\nstaff> chưa có phiếu\nexpect official: gui cau hoi toi so tu phap\n/quit\nofficial> sau khi thoát\n"
	out, errOut, err := runDemoMain(t, in, "demo", "--handbook", smallHandbook)
	if err != nil {
		t.Fatalf("demo: %v\nstderr: %s\nstdout:\n%s", err, errOut, out)
	}
	for _, want := range []string{
		"Gõ câu hỏi rồi Enter",
		"🤖 → Nguyễn Thị Lan",
		"Đăng ký kết hôn",
		"bấm [🙋 Hỏi cán bộ Sở]",
		"Gửi câu hỏi tới Sở Tư pháp?",
		"[📨 Gửi câu hỏi]",
		"✗ không tin nào của bot gửi cán bộ xã có nút «Không có nút này»",
		"✗ chưa có phiếu nào được gửi tới nhóm cán bộ Sở",
		"✓ đạt",
		"Tạm biệt.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "sau khi thoát") {
		t.Errorf("a line after /quit was sent:\n%s", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("ANSI escapes written to a buffer that is not a terminal")
	}
}

func TestParseDemoLine(t *testing.T) {
	tests := []struct {
		line  string
		actor demoActor
		op    demoOp
		arg   string
	}{
		{"official> Xin chào", actorOfficial, opSay, "Xin chào"},
		{"official>không cách", actorOfficial, opSay, "không cách"},
		{"official [🙋 Hỏi cán bộ]", actorOfficial, opPress, "🙋 Hỏi cán bộ"},
		{"official[5]", actorOfficial, opPress, "5"},
		{"official reply> thêm: a > b", actorOfficial, opReply, "thêm: a > b"},
		{"official attach anh chup.png", actorOfficial, opAttach, "anh chup.png"},
		{"staff> Trả lời: được", actorStaff, opSay, "Trả lời: được"},
		{"staff [Chuyển Sở]", actorStaff, opPress, "Chuyển Sở"},
		{"expect official: Số phiếu: TP-", actorOfficial, opExpect, "Số phiếu: TP-"},
		{"expect   staff :  🆕 Phiếu", actorStaff, opExpect, "🆕 Phiếu"},
	}
	for _, tt := range tests {
		st, err := parseDemoLine(tt.line)
		if err != nil {
			t.Errorf("parseDemoLine(%q): %v", tt.line, err)
			continue
		}
		if st.Actor != tt.actor || st.Op != tt.op || st.Arg != tt.arg {
			t.Errorf("parseDemoLine(%q) = %s %d %q, want %s %d %q", tt.line, st.Actor, st.Op, st.Arg, tt.actor, tt.op, tt.arg)
		}
	}
	for _, line := range []string{"cho hỏi thủ tục khai sinh", "officially yes", "staffing", "/help"} {
		if _, err := parseDemoLine(line); err != errNotStep {
			t.Errorf("parseDemoLine(%q) err = %v, want errNotStep", line, err)
		}
	}
}

func TestDemoMatching(t *testing.T) {
	labels := []struct {
		label, want string
		match       bool
	}{
		{"🙋 Hỏi cán bộ Sở", "Hỏi cán bộ", true},
		{"🙋 Hỏi cán bộ Sở", "hoi can bo so", true},
		{"🙋 Hỏi cán bộ Sở", "🙋 HỎI", true},
		{"✅ Đã giải quyết", "da giai quyet", true},
		{"↩️ Chưa, hỏi thêm", "Chưa", true},
		{"5⭐", "5", true},
		{"1. Đăng ký khai sinh", "1.", true},
		{"📨 Gửi câu hỏi", "Hỏi", false},
		{"✅ Đã rõ", "Đã rõ hết", false},
		{"✅ Đã rõ", "⭐", false},
	}
	for _, tt := range labels {
		if got := labelMatches(tt.label, tt.want); got != tt.match {
			t.Errorf("labelMatches(%q, %q) = %v, want %v", tt.label, tt.want, got, tt.match)
		}
	}
	texts := []struct {
		text, want string
		match      bool
	}{
		{"📨 Câu hỏi đã được gửi tới Sở Tư pháp.\nSố phiếu: TP-2026-000001", "so phieu: tp-2026", true},
		{"Đường giao thông", "duong giao", true},
		{"Cảm ơn   anh/chị\nđã phản hồi", "cảm ơn anh/chị đã phản hồi", true},
		{"Giải quyết", "giai quyet xong", false},
	}
	for _, tt := range texts {
		if got := containsFolded(tt.text, tt.want); got != tt.match {
			t.Errorf("containsFolded(%q, %q) = %v, want %v", tt.text, tt.want, got, tt.match)
		}
	}
}

func TestDemoStyleText(t *testing.T) {
	// "Phiếu TP-1" with the number in bold, then a quote on two lines.
	text := "📨 Phiếu TP-1\nhai dòng\ntrích dẫn"
	ents := []telegramtest.MessageEntity{
		{Type: "bold", Offset: 9, Length: 4},         // "TP-1": 📨 counts two UTF-16 units
		{Type: "blockquote", Offset: 14, Length: 17}, // "hai dòng\ntrích dẫn"
	}
	tests := []struct {
		style bool
		want  string
	}{
		{false, "📨 Phiếu TP-1\n┃ hai dòng\n┃ trích dẫn"},
		{true, "📨 Phiếu \x1b[1mTP-1\x1b[0m\n┃ hai dòng\n┃ trích dẫn"},
	}
	for _, tt := range tests {
		if got := styleText(text, ents, tt.style); got != tt.want {
			t.Errorf("styleText(style=%v) = %q, want %q", tt.style, got, tt.want)
		}
	}
}

// signalBuffer is an output that closes seen once it holds want. It is safe
// for concurrent use.
type signalBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *signalBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *signalBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestDemoInterrupt stops an interactive demo the way Ctrl-C does, while it
// waits for the next line: it ends cleanly, without an error.
func TestDemoInterrupt(t *testing.T) {
	in, typing := io.Pipe()
	t.Cleanup(func() { typing.Close() })
	out := &signalBuffer{want: "🤖 → Nguyễn Thị Lan", seen: make(chan struct{})}
	m := &Main{Stdin: in, Stdout: out, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"demo", "--handbook", smallHandbook}) }()
	go func() { _, _ = io.WriteString(typing, "dang ky ket hon can giay to gi\n") }()
	select {
	case <-out.seen:
	case err := <-done:
		t.Fatalf("demo ended before answering: %v\n%s", err, out)
	case <-time.After(30 * time.Second):
		t.Fatalf("no answer from the bot in 30 s:\n%s", out)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after an interrupt: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("demo did not stop within 30 s of the interrupt:\n%s", out)
	}
	if !strings.Contains(out.String(), "Đã dừng.") {
		t.Errorf("output does not say it stopped:\n%s", out)
	}
}
