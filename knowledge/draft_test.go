package knowledge_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/knowledge"
)

func TestDraftSlug(t *testing.T) {
	tests := []struct{ ticket, title, want string }{
		{"TP-2025-000042", "Khai sinh quá hạn cho trẻ ở với ông bà", "tp-2025-000042-khai-sinh-qua-han-cho-tre-o-voi-ong-ba"},
		{"TP-2025-000042", "../../etc/passwd", "tp-2025-000042-etc-passwd"},
		{"../../etc/passwd", "", "etc-passwd"},
		{"/", "..", "ban-nhap"},
		{"TP-1", "Đất đai: ĐĂNG KÝ biến động\\lần 2", "tp-1-dat-dai-dang-ky-bien-dong-lan-2"},
		{"TP-2025-000042", strings.Repeat("rất dài ", 40), "tp-2025-000042-rat-dai-rat-dai-rat-dai-rat-dai-rat-dai-rat-dai"},
	}
	for _, tt := range tests {
		got := knowledge.DraftSlug(tt.ticket, tt.title)
		if got != tt.want {
			t.Errorf("DraftSlug(%q, %q) = %q, want %q", tt.ticket, tt.title, got, tt.want)
		}
		if len(got) > knowledge.MaxDraftSlug {
			t.Errorf("DraftSlug(%q, %q) is %d bytes, over %d", tt.ticket, tt.title, len(got), knowledge.MaxDraftSlug)
		}
		for _, r := range got {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Errorf("DraftSlug(%q, %q) = %q holds %q", tt.ticket, tt.title, got, r)
			}
		}
	}
}

func TestDraftTitle(t *testing.T) {
	tests := []struct{ in, want string }{
		{"khai sinh quá hạn thì làm sao?", "Khai sinh quá hạn thì làm sao"},
		{"  đất   lấn chiếm\nchi tiết ở dòng sau", "Đất lấn chiếm"},
		{"", "Câu hỏi chưa có tiêu đề"},
	}
	for _, tt := range tests {
		if got := knowledge.DraftTitle(tt.in); got != tt.want {
			t.Errorf("DraftTitle(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

var draftNow = time.Date(2025, 9, 30, 20, 0, 0, 0, time.UTC) // 1 October in Vietnam

func draftSource(question string, answers ...string) caunoi.DraftSource {
	src := caunoi.DraftSource{
		Ticket:     caunoi.Ticket{Number: "TP-2025-000042", Department: "tu-phap", Question: question, Status: caunoi.StatusResolved},
		Department: caunoi.Department{Code: "tu-phap", Name: "Sở Tư pháp"},
	}
	for _, a := range answers {
		src.Answers = append(src.Answers, caunoi.Event{Kind: caunoi.EventReplied, Text: a})
	}
	return src
}

// goodWith returns testdata/good with extra files laid over it.
func goodWith(tb testing.TB, extra map[string][]byte) fstest.MapFS {
	tb.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS("testdata/good"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join("testdata/good", filepath.FromSlash(p)))
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	for p, b := range extra {
		m[p] = &fstest.MapFile{Data: b}
	}
	return m
}

// TestRenderDraftLoads moves a rendered draft into a handbook: Load accepts
// it, and the text people wrote stays text even when it looks like
// Markdown structure or front matter.
func TestRenderDraftLoads(t *testing.T) {
	src := draftSource("Trẻ sinh ở nước ngoài về nước, \"khai sinh\" ở xã được không?\n---\nid: gia-mao",
		"Được. Hồ sơ gồm:\n- giấy chứng sinh đã hợp pháp hóa;\n- bản dịch có chứng thực.\n## Không phải tiêu đề\n```\n<script>",
		"Bổ sung: thời hạn 3 ngày làm việc.\n===")
	src.Answers[0].Attachments = []caunoi.Attachment{{Kind: "document", Ref: "f1"}}
	md := knowledge.RenderDraft(src, "tp-2025-000042-tre-sinh", draftNow)
	h, ps := knowledge.Load(goodWith(t, map[string][]byte{"ho-tich/tp-2025-000042-tre-sinh.md": md}), testNow)
	if len(ps.Errors()) > 0 || h == nil {
		t.Fatalf("Load with the draft: %v\n%s", ps, md)
	}
	e, ok := h.Entry("drafts/tp-2025-000042-tre-sinh")
	if !ok {
		t.Fatalf("no entry drafts/tp-2025-000042-tre-sinh in\n%s", md)
	}
	if e.Title != "Trẻ sinh ở nước ngoài về nước, \"khai sinh\" ở xã được không" {
		t.Errorf("title = %q", e.Title)
	}
	if e.Department != "tu-phap" || e.Source != "TP-2025-000042" {
		t.Errorf("department %q, source %q", e.Department, e.Source)
	}
	if len(e.Questions) != 1 || !strings.HasPrefix(e.Questions[0], "Trẻ sinh ở nước ngoài") {
		t.Errorf("questions = %q", e.Questions)
	}
	if !e.Updated.Equal(date(2025, 10, 1)) || !e.ReviewBy.Equal(date(2026, 10, 1)) {
		t.Errorf("updated %v, review_by %v", e.Updated, e.ReviewBy)
	}
	var sections []string
	for _, p := range e.Passages {
		sections = append(sections, p.Section)
	}
	want := []string{"Tình huống", "Hướng dẫn của Sở Tư pháp (1)", "Hướng dẫn của Sở Tư pháp (2)"}
	if strings.Join(sections, "|") != strings.Join(want, "|") {
		t.Errorf("sections %q, want %q", sections, want)
	}
	if len(e.Passages) == 3 {
		for _, s := range []string{"## Không phải tiêu đề", "<script>", "giấy chứng sinh đã hợp pháp hóa", "Kèm 1 tệp"} {
			if !strings.Contains(e.Passages[1].Text, s) {
				t.Errorf("answer passage lacks %q:\n%s", s, e.Passages[1].Text)
			}
		}
		if !strings.Contains(e.Passages[0].Text, "id: gia-mao") {
			t.Errorf("question passage lost its text:\n%s", e.Passages[0].Text)
		}
	}
}

func TestWriteDraftNeverOverwrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "drafts") // created on demand
	src := draftSource("Khai sinh quá hạn", "Nộp tờ khai và giấy chứng sinh.")
	var names []string
	for i := 0; i < 3; i++ {
		name, err := knowledge.WriteDraft(dir, src, draftNow)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	want := []string{"tp-2025-000042-khai-sinh-qua-han.md", "tp-2025-000042-khai-sinh-qua-han-2.md", "tp-2025-000042-khai-sinh-qua-han-3.md"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("names %q, want %q", names, want)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if id := "id: drafts/" + strings.TrimSuffix(n, ".md") + "\n"; !strings.Contains(string(b), id) {
			t.Errorf("%s lacks %q", n, id)
		}
	}
	// A file an editor already keeps under the name is left alone.
	keep := filepath.Join(dir, "tp-2025-000042-khac.md")
	if err := os.WriteFile(keep, []byte("biên tập viên đang sửa"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := draftSource("khác", "Trả lời.")
	name, err := knowledge.WriteDraft(dir, other, draftNow)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(keep); string(b) != "biên tập viên đang sửa" || name != "tp-2025-000042-khac-2.md" {
		t.Errorf("wrote %s; the editor's file now holds %q", name, b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestWriteDraftTraversal forges the ticket number and the title: the file
// lands inside the drafts directory, and a symbolic link planted there
// cannot lead the write outside.
func TestWriteDraftTraversal(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "data", "drafts")
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	src := draftSource("../../outside/pwned", "x")
	src.Ticket.Number = "../../outside/pwned"
	// The name the slug gives is planted as a link to a file outside.
	if err := os.Symlink(filepath.Join(outside, "target.md"), filepath.Join(dir, "outside-pwned-outside-pwned.md")); err != nil {
		t.Fatal(err)
	}
	name, err := knowledge.WriteDraft(dir, src, draftNow)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") {
		t.Errorf("name %q can leave the directory", name)
	}
	if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
		t.Errorf("draft not in the drafts directory: %v", err)
	}
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Errorf("file written outside the drafts directory: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(outside, "target.md")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the link's target was created: %v", err)
	}
}
