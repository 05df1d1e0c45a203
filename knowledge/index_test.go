package knowledge

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/caunoi/caunoi"
)

var indexNow = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

const testDepartments = `- code: tu-phap
  prefix: TP
  name: Sở Tư pháp
  answers: Hộ tịch, chứng thực.
- code: cong-an
  prefix: CA
  name: Công an tỉnh
  answers: Cư trú, căn cước.
`

const testGlossary = `- term: CCCD
  means: [căn cước công dân]
- term: hộ khẩu
  means: [thường trú]
`

const testKhaiSinh = `---
id: ho-tich/khai-sinh
title: Đăng ký khai sinh
department: tu-phap
questions:
  - làm giấy khai sinh cần giấy tờ gì
  - khai sinh quá hạn có bị phạt không
legal_basis:
  - Luật Hộ tịch 2014, Điều 16
updated: 2025-07-01
review_by: 2027-07-01
---
Đăng ký khai sinh cho trẻ em mới sinh tại UBND xã.

## Hồ sơ
Tờ khai đăng ký khai sinh và giấy chứng sinh. Cha mẹ xuất trình căn cước công dân.

## Thời hạn
Cha mẹ có trách nhiệm đăng ký khai sinh cho con trong 60 ngày kể từ ngày sinh; quá hạn vẫn được đăng ký, không bị phạt.
`

const testThuongTru = `---
id: cu-tru/thuong-tru
title: Đăng ký thường trú
department: cong-an
questions:
  - nhập khẩu cho con về nhà ông bà
legal_basis:
  - Luật Cư trú 2020, Điều 20
updated: 2025-07-01
review_by: 2027-07-01
---
## Điều kiện
Công dân có chỗ ở hợp pháp thuộc quyền sở hữu của mình thì được đăng ký thường trú tại chỗ ở đó.

## Nơi nộp
Nộp hồ sơ tại Công an xã nơi có chỗ ở hợp pháp.
`

const testMaMa = `---
id: thu-nghiem/ma
title: Ghi chú chữ viết
department: tu-phap
updated: 2025-07-01
review_by: 2027-07-01
---
## Chữ có dấu
Câu này dùng chữ mà để nối hai vế của câu.

## Chữ không dấu
Đoạn này nói về con ma trong truyện kể dân gian.
`

// testFS is a small valid handbook.
func testFS() fstest.MapFS {
	return fstest.MapFS{
		"departments.yaml":     {Data: []byte(testDepartments)},
		"glossary.yaml":        {Data: []byte(testGlossary)},
		"ho-tich/khai-sinh.md": {Data: []byte(testKhaiSinh)},
		"cu-tru/thuong-tru.md": {Data: []byte(testThuongTru)},
		"thu-nghiem/ma.md":     {Data: []byte(testMaMa)},
	}
}

// MustOpenTestIndex indexes testFS and closes the index when the test ends.
func MustOpenTestIndex(tb testing.TB) *Index {
	tb.Helper()
	x, err := Open(context.Background(), testFS(), indexNow)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { x.Close() })
	return x
}

func TestSearchFindsEntry(t *testing.T) {
	x := MustOpenTestIndex(t)
	tests := []struct {
		query string
		want  string // entry id of the first hit
	}{
		{"đăng ký khai sinh cần giấy tờ gì", "ho-tich/khai-sinh"},
		{"dang ky khai sinh can giay to gi", "ho-tich/khai-sinh"},
		{"khai sinh quá hạn có bị phạt không, đúng hay sai?", "ho-tich/khai-sinh"},
		{"đăng ký khai sinh\u0301", "ho-tich/khai-sinh"},
		{"điều kiện đăng ký thường trú", "cu-tru/thuong-tru"},
		// The glossary: "hộ khẩu" is another name for "thường trú".
		{"điều kiện nhập hộ khẩu", "cu-tru/thuong-tru"},
		// One-letter typos in longer syllables.
		{"dieu kienn dang ky thuongg tru", "cu-tru/thuong-tru"},
		{"thuonh tru", "cu-tru/thuong-tru"},
		// Decomposed input.
		{"đăng ky\u0301 thươ\u0300ng tru\u0301", "cu-tru/thuong-tru"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res, err := x.Search(context.Background(), tt.query, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) == 0 {
				t.Fatalf("no hits; want %s", tt.want)
			}
			if got := res.Hits[0].Passage.EntryID; got != tt.want {
				t.Errorf("first hit %s (%s); want %s", got, res.Hits[0].Passage.ID, tt.want)
			}
			if res.Version == "" || res.Version != x.Version() {
				t.Errorf("version %q; want %q", res.Version, x.Version())
			}
		})
	}
}

func TestSearchGlossaryBothWays(t *testing.T) {
	x := MustOpenTestIndex(t)
	// "CCCD" is not in the text; "căn cước công dân" is.
	res, err := x.Search(context.Background(), "xuất trình CCCD", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) == 0 || res.Hits[0].Passage.ID != "ho-tich/khai-sinh#ho-so" {
		t.Fatalf("hits %v; want ho-tich/khai-sinh#ho-so first", hitIDs(res))
	}
	// The multi-syllable form leads to the same passage and highlights the
	// words it matched.
	res, err = x.Search(context.Background(), "căn cước công dân", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) == 0 || res.Hits[0].Passage.ID != "ho-tich/khai-sinh#ho-so" {
		t.Fatalf("hits %v; want ho-tich/khai-sinh#ho-so first", hitIDs(res))
	}
}

func TestSearchExactDiacriticsFirst(t *testing.T) {
	x := MustOpenTestIndex(t)
	res, err := x.Search(context.Background(), "mà", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) < 2 {
		t.Fatalf("hits %v; want both the passage with mà and the one with ma", hitIDs(res))
	}
	if got := res.Hits[0].Passage.ID; got != "thu-nghiem/ma#chu-co-dau" {
		t.Errorf("first hit for mà %s; want thu-nghiem/ma#chu-co-dau", got)
	}
	res, err = x.Search(context.Background(), "ma", 5)
	if err != nil {
		t.Fatal(err)
	}
	ids := strings.Join(hitIDs(res), " ")
	for _, want := range []string{"thu-nghiem/ma#chu-co-dau", "thu-nghiem/ma#chu-khong-dau"} {
		if !strings.Contains(ids, want) {
			t.Errorf("hits for ma %s; want %s among them", ids, want)
		}
	}
}

func hitIDs(res caunoi.SearchResult) []string {
	out := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = h.Passage.ID
	}
	return out
}

func TestSearchBadInput(t *testing.T) {
	x := MustOpenTestIndex(t)
	huge := strings.Repeat("khai sinh ", 1<<20) // 10 MB
	tests := []struct {
		name    string
		query   string
		limit   int
		invalid bool
	}{
		{"empty", "", 5, true},
		{"spaces", " \t\n  ", 5, true},
		{"punctuation", "?!… --", 5, true},
		{"NUL", "\x00\x00", 5, true},
		{"control chars", "khai\x00sinh\x07\x1b[31m", 5, false},
		{"invalid UTF-8", "khai \xff\xfe sinh", 5, false},
		{"lone combining marks", "\u0301\u0300", 5, true},
		{"10 MB", huge, 5, false},
		{"zero limit", "khai sinh", 0, true},
		{"huge limit", "khai sinh", 1 << 30, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := x.Search(context.Background(), tt.query, tt.limit)
			if tt.invalid {
				if !errors.Is(err, caunoi.ErrInvalid) {
					t.Fatalf("err %v; want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Query) > maxQueryBytes {
				t.Errorf("query kept %d bytes; want at most %d", len(res.Query), maxQueryBytes)
			}
			for _, h := range res.Hits {
				if n := len([]rune(h.Snippet)); n > snippetRunes {
					t.Errorf("snippet %d runes; want at most %d", n, snippetRunes)
				}
			}
		})
	}
}

func TestPassageAndHandbook(t *testing.T) {
	x := MustOpenTestIndex(t)
	p, err := x.Passage("cu-tru/thuong-tru#noi-nop")
	if err != nil {
		t.Fatal(err)
	}
	if p.EntryID != "cu-tru/thuong-tru" || p.Department != "cong-an" {
		t.Errorf("passage %+v", p)
	}
	if _, err := x.Passage("khong/co"); !errors.Is(err, caunoi.ErrNotFound) {
		t.Errorf("err %v; want ErrNotFound", err)
	}
	if h := x.Handbook(); h == nil || len(h.Entries) != 3 {
		t.Errorf("handbook %v; want 3 entries", h)
	}
}

func TestOpenBrokenHandbook(t *testing.T) {
	fsys := testFS()
	fsys["cu-tru/hong.md"] = &fstest.MapFile{Data: []byte("---\ntitle: [\n---\n")}
	_, err := Open(context.Background(), fsys, indexNow)
	if !errors.Is(err, caunoi.ErrInvalid) {
		t.Fatalf("err %v; want ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), "cu-tru/hong.md:") {
		t.Errorf("err %q; want it to name cu-tru/hong.md", err)
	}
}

func TestReloadFailureKeepsOld(t *testing.T) {
	x := MustOpenTestIndex(t)
	before := x.Version()
	broken := testFS()
	broken["cu-tru/hong.md"] = &fstest.MapFile{Data: []byte("---\ntitle: [\n---\n")}
	probs, err := x.Reload(context.Background(), broken, indexNow)
	if err == nil || probs.Err() == nil {
		t.Fatalf("Reload(broken) = %v, %v; want problems and an error", probs, err)
	}
	if got := x.Version(); got != before {
		t.Errorf("version %s after failed reload; want %s", got, before)
	}
	res, err := x.Search(context.Background(), "thường trú", 1)
	if err != nil || len(res.Hits) == 0 {
		t.Fatalf("search after failed reload: %v, %d hits", err, len(res.Hits))
	}
}

func TestReloadSwaps(t *testing.T) {
	x := MustOpenTestIndex(t)
	before := x.Version()
	edited := testFS()
	edited["cu-tru/tam-tru.md"] = &fstest.MapFile{Data: []byte("---\nid: cu-tru/tam-tru\ntitle: Đăng ký tạm trú\ndepartment: cong-an\nupdated: 2025-07-01\nreview_by: 2027-07-01\n---\nNgười đến sinh sống ngoài nơi thường trú từ 30 ngày phải đăng ký tạm trú.\n")}
	if _, err := x.Reload(context.Background(), edited, indexNow); err != nil {
		t.Fatal(err)
	}
	if x.Version() == before {
		t.Errorf("version unchanged after reload")
	}
	res, err := x.Search(context.Background(), "tạm trú", 1)
	if err != nil || len(res.Hits) == 0 || res.Hits[0].Passage.EntryID != "cu-tru/tam-tru" {
		t.Fatalf("search after reload: %v, %v", err, hitIDs(res))
	}
}

// TestReloadRace searches from several goroutines while Reload swaps the
// index again and again: no search may fail.
func TestReloadRace(t *testing.T) {
	x := MustOpenTestIndex(t)
	a, b := testFS(), testFS()
	b["ho-tich/them.md"] = &fstest.MapFile{Data: []byte("---\nid: ho-tich/them\ntitle: Đăng ký kết hôn\ndepartment: tu-phap\nupdated: 2025-07-01\nreview_by: 2027-07-01\n---\nHai bên nam nữ nộp tờ khai đăng ký kết hôn tại UBND xã.\n")}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var searches, failures atomic.Int64
	queries := []string{"khai sinh", "thuong tru", "đăng ký kết hôn", "CCCD"}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				res, err := x.Search(context.Background(), queries[(g+i)%len(queries)], 3)
				searches.Add(1)
				if err != nil || res.Version == "" {
					failures.Add(1)
					t.Errorf("search during reload: %v (version %q)", err, res.Version)
					return
				}
			}
		}(g)
	}
	for i := 0; i < 20; i++ {
		fsys := a
		if i%2 == 0 {
			fsys = b
		}
		if _, err := x.Reload(context.Background(), fsys, indexNow); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d of %d searches failed", failures.Load(), searches.Load())
	}
	t.Logf("%d searches during 20 reloads", searches.Load())
}

func TestClose(t *testing.T) {
	x, err := Open(context.Background(), testFS(), indexNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Search(context.Background(), "khai sinh", 1); err == nil {
		t.Error("search after Close succeeded")
	}
	if err := x.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestSearchCancelled(t *testing.T) {
	x := MustOpenTestIndex(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := x.Search(ctx, "khai sinh", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v; want context.Canceled", err)
	}
}
