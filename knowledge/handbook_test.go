package knowledge_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/handbook"
	"github.com/caunoi/caunoi/knowledge"
)

// testNow is before every review_by date in testdata/good.
var testNow = time.Date(2025, 10, 1, 9, 0, 0, 0, time.UTC)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// MustLoadGood loads testdata/good and fails on any problem.
func MustLoadGood(tb testing.TB) *knowledge.Handbook {
	tb.Helper()
	h, ps := knowledge.Load(os.DirFS("testdata/good"), testNow)
	if len(ps) > 0 || h == nil {
		tb.Fatalf("Load(testdata/good): problems %v", ps)
	}
	return h
}

// brokenFS returns the case directory testdata/broken/name laid over
// testdata/broken/_base, which holds valid departments and glossary files.
func brokenFS(tb testing.TB, name string) fstest.MapFS {
	tb.Helper()
	m := fstest.MapFS{}
	for _, dir := range []string{"_base", name} {
		root := filepath.Join("testdata", "broken", dir)
		err := fs.WalkDir(os.DirFS(root), ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
			m[p] = &fstest.MapFile{Data: b}
			return err
		})
		if err != nil {
			tb.Fatalf("read fixture %s: %v", root, err)
		}
	}
	return m
}

func TestLoadGood(t *testing.T) {
	h := MustLoadGood(t)

	var ids []string
	for _, e := range h.Entries {
		ids = append(ids, e.ID)
	}
	wantIDs := []string{"dat-dai/cap-giay-chung-nhan-lan-dau", "ho-tich/dang-ky-khai-sinh", "mot-cua/tiep-nhan-ho-so"}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Fatalf("entry ids = %q, want %q (README.md, drafts/, _mau/ and .txt files are ignored)", ids, wantIDs)
	}

	ks, ok := h.Entry("ho-tich/dang-ky-khai-sinh")
	if !ok {
		t.Fatal(`Entry("ho-tich/dang-ky-khai-sinh") not found`)
	}
	if ks.Title != "Đăng ký khai sinh" || ks.Department != "tu-phap" || ks.File != "ho-tich/dang-ky-khai-sinh.md" || ks.Line != 1 {
		t.Errorf("entry = %q %q %q line %d", ks.Title, ks.Department, ks.File, ks.Line)
	}
	if want := []string{"làm giấy khai sinh cần giấy tờ gì", "khai sinh quá hạn có bị phạt không"}; !reflect.DeepEqual(ks.Questions, want) {
		t.Errorf("questions = %q, want %q", ks.Questions, want)
	}
	if want := []string{"Luật Hộ tịch 2014, Điều 16", "Nghị định 123/2015/NĐ-CP"}; !reflect.DeepEqual(ks.LegalBasis, want) {
		t.Errorf("legal_basis = %q, want %q", ks.LegalBasis, want)
	}
	if !ks.Updated.Equal(date(2025, 7, 1)) || !ks.ReviewBy.Equal(date(2026, 7, 1)) {
		t.Errorf("dates = %v, %v", ks.Updated, ks.ReviewBy)
	}

	title := "Đăng ký khai sinh"
	want := []caunoi.Passage{
		{Anchor: "tong-quan", Section: "", TitlePath: []string{title}, Line: 13,
			Text: "Trẻ em sinh ra phải được đăng ký khai sinh trong 60 ngày kể từ ngày sinh."},
		{Anchor: "ho-so-can-nop", Section: "Hồ sơ cần nộp", TitlePath: []string{title, "Hồ sơ cần nộp"}, Line: 16,
			Text: "- Tờ khai theo mẫu.\n" +
				"- Giấy chứng sinh; nếu không có thì văn bản của người làm chứng.\n" +
				"- Giấy tờ tùy thân của người đi đăng ký (CCCD hoặc hộ chiếu).\n\n" +
				"Trường hợp đặc biệt\n\n" +
				"Trẻ bị bỏ rơi cần thêm biên bản xác nhận việc trẻ bị bỏ rơi."},
		{Anchor: "thoi-han-giai-quyet", Section: "Thời hạn giải quyết", TitlePath: []string{title, "Thời hạn giải quyết"}, Line: 26,
			Text: "Trường hợp | Thời hạn\nHồ sơ đủ | Trong ngày\nCần xác minh | 3 ngày làm việc"},
		{Anchor: "ho-so-can-nop-2", Section: "Hồ sơ cần nộp", TitlePath: []string{title, "Hồ sơ cần nộp"}, Line: 33,
			Text: "1. Bản chính giấy tờ đối chiếu.\n2. Bản sao không cần chứng thực nếu nộp trực tuyến."},
	}
	if len(ks.Passages) != len(want) {
		t.Fatalf("got %d passages, want %d: %+v", len(ks.Passages), len(want), ks.Passages)
	}
	for i, w := range want {
		w.ID = ks.ID + "#" + w.Anchor
		w.EntryID = ks.ID
		w.Title = title
		w.Department = "tu-phap"
		w.Questions = ks.Questions
		w.LegalBasis = ks.LegalBasis
		w.Updated, w.ReviewBy = ks.Updated, ks.ReviewBy
		w.File = ks.File
		if got := ks.Passages[i]; !reflect.DeepEqual(got, w) {
			t.Errorf("passage %d:\ngot  %+v\nwant %+v", i, got, w)
		}
	}

	gcn, _ := h.Entry("dat-dai/cap-giay-chung-nhan-lan-dau")
	if gcn.File != "dat-dai/cap-gcn-lan-dau.md" {
		t.Errorf("explicit id: file = %q", gcn.File)
	}
	if want := []string{"sổ đỏ", "GCN lần đầu"}; !reflect.DeepEqual(gcn.Aliases, want) {
		t.Errorf("aliases = %q, want %q", gcn.Aliases, want)
	}
	if want := []string{"Luật Đất đai 2024, Điều 137"}; !reflect.DeepEqual(gcn.LegalBasis, want) {
		t.Errorf("a single legal_basis string: got %q, want %q", gcn.LegalBasis, want)
	}
	if !gcn.ReviewBy.IsZero() {
		t.Errorf("review_by absent: got %v, want zero", gcn.ReviewBy)
	}
	if got, want := gcn.Passages[1].Text, "Xem hướng dẫn tại https://dichvucong.gov.vn và mẫu 04a/ĐK."; got != want {
		t.Errorf("links and code spans: got %q, want %q", got, want)
	}
	mc, _ := h.Entry("mot-cua/tiep-nhan-ho-so")
	if mc.Source != "VP-2025-000012" {
		t.Errorf("source = %q", mc.Source)
	}

	var all []string
	for _, e := range h.Entries {
		for _, p := range e.Passages {
			all = append(all, p.ID)
		}
	}
	var got []string
	for _, p := range h.Passages {
		got = append(got, p.ID)
	}
	if !reflect.DeepEqual(got, all) {
		t.Errorf("Handbook.Passages = %q, want entry order then document order %q", got, all)
	}

	d, ok := h.Department("nong-nghiep-moi-truong")
	if !ok || d.Prefix != "NNMT" || d.Name != "Sở Nông nghiệp và Môi trường" {
		t.Errorf("Department(nong-nghiep-moi-truong) = %+v, %v", d, ok)
	}
	if _, ok := h.Department("khong-co"); ok {
		t.Error("Department(khong-co) found")
	}
	if _, ok := h.Entry("khong-co"); ok {
		t.Error("Entry(khong-co) found")
	}
	if len(h.Departments) != 3 || len(h.Glossary) != 4 {
		t.Errorf("got %d departments and %d glossary entries, want 3 and 4", len(h.Departments), len(h.Glossary))
	}
	if len(h.Version) != 12 || strings.Trim(h.Version, "0123456789abcdef") != "" {
		t.Errorf("version = %q, want 12 hex characters", h.Version)
	}
}

func TestLoadVersion(t *testing.T) {
	base := brokenFS(t, "stale")
	h1, _ := knowledge.Load(base, testNow)
	h2, _ := knowledge.Load(base, testNow)
	if h1 == nil || h2 == nil {
		t.Fatal("fixture does not load")
	}
	if h1.Version != h2.Version {
		t.Errorf("same files, versions %q and %q", h1.Version, h2.Version)
	}
	edited := fstest.MapFS{}
	for k, v := range base {
		edited[k] = v
	}
	edited["ho-tich/a.md"] = &fstest.MapFile{Data: append([]byte(nil), base["ho-tich/a.md"].Data...)}
	edited["ho-tich/a.md"].Data = append(edited["ho-tich/a.md"].Data, "\nThêm một câu.\n"...)
	edited["ho-tich/ghi-chu.txt"] = &fstest.MapFile{Data: []byte("không phải Markdown")}
	h3, _ := knowledge.Load(edited, testNow)
	if h3 == nil || h3.Version == h1.Version {
		t.Errorf("an edited entry must change the version: %v", h3)
	}
	delete(edited, "ho-tich/a.md")
	edited["ho-tich/a.md"] = base["ho-tich/a.md"]
	h4, _ := knowledge.Load(edited, testNow)
	if h4 == nil || h4.Version != h1.Version {
		t.Error("an ignored file must not change the version")
	}
}

func TestLoadStaleAtNow(t *testing.T) {
	tests := []struct {
		now      time.Time
		warnings int
	}{
		{now: date(2025, 12, 31), warnings: 0},
		{now: date(2026, 1, 1), warnings: 0},
		{now: date(2026, 1, 1).Add(time.Hour), warnings: 1},
		{now: date(2026, 8, 1), warnings: 2},
	}
	for _, tt := range tests {
		h, ps := knowledge.Load(os.DirFS("testdata/good"), tt.now)
		if h == nil {
			t.Fatalf("now %v: %v", tt.now, ps)
		}
		if got := len(ps.Warnings()); got != tt.warnings || len(ps.Errors()) != 0 {
			t.Errorf("now %v: got %d warnings (%v), want %d", tt.now, got, ps, tt.warnings)
		}
		stale := 0
		for _, e := range h.Entries {
			if e.Stale(tt.now) {
				stale++
			}
		}
		if stale != tt.warnings {
			t.Errorf("now %v: %d stale entries, want %d", tt.now, stale, tt.warnings)
		}
	}
}

// want is one expected problem: exact position and a fragment of the
// message.
type want struct {
	file    string
	line    int
	warning bool
	frag    string
}

func TestLoadBroken(t *testing.T) {
	tests := []struct {
		dir  string
		want []want
	}{
		{"fm-bad-yaml", []want{{"ho-tich/a.md", 3, false, "YAML sai cú pháp"}}},
		{"fm-colon", []want{{"ho-tich/a.md", 3, false, "ngoặc kép"}}},
		{"fm-missing", []want{{"ho-tich/a.md", 1, false, "thiếu phần đầu"}}},
		{"fm-unterminated", []want{{"ho-tich/a.md", 1, false, `không có dòng "---" đóng lại`}}},
		{"unknown-key", []want{
			{"ho-tich/a.md", 1, false, `thiếu "department"`},
			{"ho-tich/a.md", 3, false, `khóa "departmnet" không được dùng trong phần đầu; có phải "department"?`},
		}},
		{"missing-fields", []want{
			{"ho-tich/khong-so.md", 1, false, `thiếu "department"`},
			{"ho-tich/khong-tieu-de.md", 1, false, `thiếu "title"`},
			{"ho-tich/tieu-de-trong.md", 2, false, `"title" đang trống`},
		}},
		{"unknown-department", []want{{"ho-tich/a.md", 3, false, `department "tu-phapp" không có trong departments.yaml; mã gần nhất: tu-phap`}}},
		{"duplicate-id", []want{
			{"ho-tich/b.md", 2, false, `id "ho-tich/chung" trùng với mục ho-tich/a.md:2`},
			{"ho-tich/chung.md", 1, false, `id "ho-tich/chung" trùng với mục ho-tich/a.md:2`},
		}},
		{"bad-id", []want{
			{"ho-tich/Khai_Sinh.md", 1, false, `tên tệp cho id "ho-tich/Khai_Sinh" không hợp lệ`},
			{"ho-tich/a.md", 2, false, `id "Hộ tịch/Khai sinh" không hợp lệ`},
		}},
		{"departments-duplicate", []want{
			{"departments.yaml", 4, false, `code "tu-phap" trùng với dòng 1`},
			{"departments.yaml", 8, false, `prefix "TP" trùng với dòng 2`},
			{"departments.yaml", 10, false, `code "Y Te" không hợp lệ`},
			{"departments.yaml", 11, false, `prefix "yt" không hợp lệ`},
			{"departments.yaml", 13, false, `sở thiếu "name"`},
			{"departments.yaml", 15, false, `khóa "ten" không được dùng`},
		}},
		{"departments-bad-yaml", []want{{"departments.yaml", 4, false, "YAML sai cú pháp"}}},
		{"empty-section", []want{
			{"ho-tich/a.md", 5, false, `phần "## Hồ sơ" không có nội dung`},
			{"ho-tich/a.md", 11, false, `phần "## Lệ phí" không có nội dung`},
			{"ho-tich/a.md", 15, false, `tiêu đề "##" không có chữ`},
		}},
		{"no-text", []want{
			{"ho-tich/chi-phan-dau.md", 1, false, "mục không có nội dung"},
			{"ho-tich/chi-tieu-de.md", 1, false, "mục không có nội dung"},
		}},
		{"glossary-loop-2", []want{{"glossary.yaml", 3, false, "thuật ngữ lặp vòng: thường trú → hộ khẩu → thường trú"}}},
		{"glossary-loop-3", []want{{"glossary.yaml", 7, false,
			"thuật ngữ lặp vòng: bộ phận tiếp nhận và trả kết quả → một cửa → bộ phận một cửa → bộ phận tiếp nhận và trả kết quả"}}},
		{"glossary-loop-self", []want{{"glossary.yaml", 3, false, "thuật ngữ lặp vòng: vneid → vneid"}}},
		{"glossary-empty-term", []want{
			{"glossary.yaml", 1, false, `"term" đang trống`},
			{"glossary.yaml", 3, false, `thiếu "term"`},
			{"glossary.yaml", 4, false, `"BHXH": "means" đang trống`},
		}},
		{"glossary-duplicate", []want{{"glossary.yaml", 5, false, `term "ubnd" trùng với mục ở dòng 1`}}},
		{"glossary-bad-yaml", []want{{"glossary.yaml", 3, false, "YAML sai cú pháp"}}},
		{"dates", []want{
			{"ho-tich/sai-ngay.md", 4, false, `updated: "2025-13-01" không phải ngày hợp lệ`},
			{"ho-tich/sai-ngay.md", 5, false, `review_by: "01/07/2026" không phải ngày hợp lệ`},
			{"ho-tich/truoc.md", 5, false, "review_by 2025-01-01 trước ngày updated 2025-07-01"},
			{"ho-tich/truoc.md", 5, true, "review_by 2025-01-01 đã qua"},
		}},
		{"stale", []want{{"ho-tich/a.md", 5, true, "review_by 2025-01-01 đã qua"}}},
		{"not-text", []want{
			{"ho-tich/latin1.md", 3, false, "không phải UTF-8"},
			{"ho-tich/nul.md", 5, false, "byte NUL"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			h, ps := knowledge.Load(brokenFS(t, tt.dir), testNow)
			checkProblems(t, h, ps, tt.want)
		})
	}
}

// checkProblems asserts that ps holds exactly the wanted problems, in order,
// and that the handbook is nil exactly when there are errors.
func checkProblems(t *testing.T, h *knowledge.Handbook, ps knowledge.Problems, wants []want) {
	t.Helper()
	if len(ps) != len(wants) {
		t.Errorf("got %d problems, want %d:\n%s", len(ps), len(wants), problemLines(ps))
	}
	for i := 0; i < len(ps) && i < len(wants); i++ {
		p, w := ps[i], wants[i]
		if p.File != w.file || p.Line != w.line || p.Warning != w.warning || !strings.Contains(p.Message, w.frag) {
			t.Errorf("problem %d:\ngot  %s\nwant %s:%d (warning %v) containing %q", i, p, w.file, w.line, w.warning, w.frag)
		}
	}
	hasErr := false
	for _, w := range wants {
		hasErr = hasErr || !w.warning
	}
	if hasErr != (h == nil) {
		t.Errorf("handbook nil = %v, want %v", h == nil, hasErr)
	}
	if hasErr != (ps.Err() != nil) {
		t.Errorf("Err() = %v, want an error: %v", ps.Err(), hasErr)
	}
}

func problemLines(ps knowledge.Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func TestLoadLimits(t *testing.T) {
	entry := "---\ntitle: Đăng ký khai sinh\ndepartment: tu-phap\n---\n"
	big := entry + strings.Repeat("Tờ khai và giấy chứng sinh.\n", knowledge.MaxFileSize/20)
	tests := []struct {
		name  string
		files map[string]string
		want  []want
	}{
		{"over 1 MiB", map[string]string{"ho-tich/lon.md": big},
			[]want{{"ho-tich/lon.md", 1, false, "lớn hơn 1 MiB"}}},
		{"no departments.yaml", map[string]string{"departments.yaml": "", "ho-tich/a.md": entry + "Tờ khai.\n"},
			[]want{{"departments.yaml", 1, false, "phải là danh sách các sở"}}},
		{"CRLF and BOM", map[string]string{"ho-tich/a.md": "\ufeff" + strings.ReplaceAll(entry+"## Hồ sơ\n\nTờ khai.\n\n##\n", "\n", "\r\n")},
			[]want{{"ho-tich/a.md", 9, false, `tiêu đề "##" không có chữ`}}},
		{"key repeated", map[string]string{"ho-tich/a.md": "---\ntitle: A\ntitle: B\ndepartment: tu-phap\n---\nTờ khai.\n"},
			[]want{{"ho-tich/a.md", 3, false, "YAML sai cú pháp"}}},
		{"list item is a mapping", map[string]string{"ho-tich/a.md": "---\ntitle: A\ndepartment: tu-phap\nquestions:\n  - đúng\n  - hỏi: sai\n---\nTờ khai.\n"},
			[]want{{"ho-tich/a.md", 6, false, `"questions": mục thứ 2 không phải chuỗi`}}},
		{"front matter is a list", map[string]string{"ho-tich/a.md": "---\n- title\n---\nTờ khai.\n"},
			[]want{{"ho-tich/a.md", 2, false, "phần đầu phải là các cặp"}}},
		{"id is a list", map[string]string{"ho-tich/a.md": "---\nid: [a, b]\ntitle: A\ndepartment: tu-phap\n---\nTờ khai.\n"},
			[]want{{"ho-tich/a.md", 2, false, `"id" phải là một chuỗi`}}},
		{"department is a list", map[string]string{"ho-tich/a.md": "---\ntitle: A\ndepartment: [tu-phap, cong-an]\n---\nTờ khai.\n"},
			[]want{{"ho-tich/a.md", 3, false, `"department" phải là một chuỗi`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := brokenFS(t, "stale")
			delete(m, "ho-tich/a.md")
			for name, data := range tt.files {
				m[name] = &fstest.MapFile{Data: []byte(data)}
			}
			h, ps := knowledge.Load(m, testNow)
			checkProblems(t, h, ps, tt.want)
		})
	}
}

func TestLoadMissingDepartments(t *testing.T) {
	m := fstest.MapFS{"ho-tich/a.md": {Data: []byte("---\ntitle: A\ndepartment: tu-phap\n---\nTờ khai.\n")}}
	h, ps := knowledge.Load(m, testNow)
	checkProblems(t, h, ps, []want{{"departments.yaml", 1, false, "không tìm thấy departments.yaml"}})
}

func TestProblems(t *testing.T) {
	ps := knowledge.Problems{
		{File: "ho-tich/a.md", Line: 3, Message: `thiếu "title"`},
		{File: "ho-tich/a.md", Line: 9, Warning: true, Message: "review_by 2025-01-01 đã qua"},
		{File: "glossary.yaml", Line: 4, Message: "thuật ngữ lặp vòng"},
	}
	tests := []struct{ got, want string }{
		{ps[0].String(), `ho-tich/a.md:3: thiếu "title"`},
		{ps[1].String(), "ho-tich/a.md:9: cảnh báo: review_by 2025-01-01 đã qua"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if got := ps.Errors(); len(got) != 2 || got[0] != ps[0] || got[1] != ps[2] {
		t.Errorf("Errors() = %v", got)
	}
	err := ps.Err()
	if err == nil || !errors.Is(err, caunoi.ErrInvalid) {
		t.Fatalf("Err() = %v, want an error matching ErrInvalid", err)
	}
	if want := "ho-tich/a.md:3: thiếu \"title\"\nglossary.yaml:4: thuật ngữ lặp vòng"; err.Error() != want {
		t.Errorf("Err().Error() = %q, want %q", err.Error(), want)
	}
	if err := ps[1:2].Err(); err != nil {
		t.Errorf("warnings only: Err() = %v, want nil", err)
	}
}

func BenchmarkLoad(b *testing.B) {
	fsys := os.DirFS("testdata/good")
	for b.Loop() {
		if h, ps := knowledge.Load(fsys, testNow); h == nil {
			b.Fatal(ps)
		}
	}
}

// BenchmarkLoadEmbedded loads the handbook that ships in the binary.
func BenchmarkLoadEmbedded(b *testing.B) {
	fsys := handbook.FS()
	files := 0
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files++
		}
		return nil
	})
	b.ReportMetric(float64(files), "files")
	for b.Loop() {
		knowledge.Load(fsys, testNow)
	}
}

func TestLoadEmbedded(t *testing.T) {
	h, ps := knowledge.Load(handbook.FS(), testNow)
	if h == nil {
		t.Fatalf("the embedded handbook has errors:\n%s", problemLines(ps))
	}
	if len(h.Entries) == 0 || len(h.Departments) == 0 {
		t.Errorf("embedded handbook: %d entries, %d departments", len(h.Entries), len(h.Departments))
	}
}
