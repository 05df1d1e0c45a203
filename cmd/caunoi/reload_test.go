package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot"
	"github.com/caunoi/caunoi/handbook"
	"github.com/caunoi/caunoi/knowledge"
)

// testHandbook is a small handbook on disk: two departments, two entries.
var testHandbook = map[string]string{
	"departments.yaml": `- code: tu-phap
  prefix: TP
  name: Sở Tư pháp
  answers: Hộ tịch, chứng thực.
- code: noi-vu
  prefix: NV
  name: Sở Nội vụ
  answers: Cán bộ, công chức xã.
`,
	"ho-tich/ket-hon.md": `---
title: Đăng ký kết hôn
department: tu-phap
questions:
  - đăng ký kết hôn ở xã cần giấy tờ gì
legal_basis:
  - Luật Hộ tịch 2014, Điều 17–18
updated: 2025-07-01
review_by: 2027-07-01
---
Hai bên nam, nữ cùng có mặt tại UBND xã nơi một trong hai người cư trú.

## Giấy tờ

- Tờ khai đăng ký kết hôn theo mẫu.
- Giấy tờ tùy thân của hai bên.
`,
	"ho-tich/khai-sinh.md": `---
title: Đăng ký khai sinh
department: tu-phap
questions:
  - làm giấy khai sinh cần giấy tờ gì
updated: 2025-07-01
review_by: 2027-07-01
---
## Hồ sơ

Tờ khai đăng ký khai sinh và giấy chứng sinh.
`,
}

// brokenEntry has no title: line 1 of the file is reported.
const brokenEntry = `---
department: tu-phap
---
Nội dung.
`

// writeFiles writes files under dir, creating folders.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// MustOpenEditorial opens the test handbook in a temporary directory and
// returns its editorial, the directory and the index.
func MustOpenEditorial(t testing.TB, now func() time.Time) (*editorial, string) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, testHandbook)
	fsys := os.DirFS(dir)
	idx, err := knowledge.Open(context.Background(), fsys, now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	return newEditorial(dir, fsys, idx, filepath.Join(t.TempDir(), "drafts"), discardLogger(), now), dir
}

// TestReloadUnderLoad reloads again and again while searches run in other
// goroutines: no search fails, and each reload serves the new content.
func TestReloadUnderLoad(t *testing.T) {
	ed, dir := MustOpenEditorial(t, time.Now)
	ctx := context.Background()
	var searches, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qs := []string{"đăng ký kết hôn", "giấy khai sinh", "chung thuc ban sao", "kết hôn cần giấy tờ gì"}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := ed.index.Search(ctx, qs[i%len(qs)], 5); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				searches.Add(1)
			}
		}()
	}
	versions := map[string]bool{ed.index.Version(): true}
	const reloads = 12
	for i := 0; i < reloads; i++ {
		writeFiles(t, dir, map[string]string{"ho-tich/chung-thuc.md": fmt.Sprintf(`---
title: Chứng thực bản sao
department: tu-phap
---
## Thẩm quyền

Lần sửa %d: UBND xã chứng thực bản sao từ bản chính.
`, i)})
		rep, err := ed.Reload(ctx)
		if err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if versions[rep.Version] {
			t.Errorf("reload %d serves version %s again", i, rep.Version)
		}
		versions[rep.Version] = true
		if rep.Version != ed.index.Version() || rep.Passages != 4 {
			t.Errorf("reload %d: report %+v, index version %s", i, rep, ed.index.Version())
		}
		res, err := ed.index.Search(ctx, "chứng thực bản sao", 1)
		if err != nil || len(res.Hits) == 0 || !strings.Contains(res.Hits[0].Passage.Text, fmt.Sprintf("Lần sửa %d:", i)) {
			t.Errorf("after reload %d the search does not find the new text: %v %+v", i, err, res.Hits)
		}
	}
	close(stop)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d searches failed during reloads; first: %v", n, searches.Load(), firstErr.Load())
	}
	t.Logf("%d searches during %d reloads", searches.Load(), reloads)
}

// TestReloadBrokenKeepsOld breaks a file: the reload reports file:line,
// the old version keeps serving, and fixing the file reloads.
func TestReloadBrokenKeepsOld(t *testing.T) {
	clock := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	ed, dir := MustOpenEditorial(t, now)
	ctx := context.Background()
	old, loaded := ed.index.Version(), ed.LoadedAt()

	clock = clock.Add(time.Hour)
	writeFiles(t, dir, map[string]string{"ho-tich/ket-hon.md": brokenEntry})
	rep, err := ed.Reload(ctx)
	if !errors.Is(err, caunoi.ErrInvalid) {
		t.Fatalf("reload of a broken handbook: err %v, want ErrInvalid", err)
	}
	if len(rep.Errors) != 1 || !strings.HasPrefix(rep.Errors[0], "ho-tich/ket-hon.md:1: ") {
		t.Errorf("errors %q, want one at ho-tich/ket-hon.md:1", rep.Errors)
	}
	if rep.Version != old || ed.index.Version() != old || !rep.LoadedAt.Equal(loaded) || !ed.LoadedAt().Equal(loaded) {
		t.Errorf("after a failed reload: report %s at %v, index %s; want the old %s at %v", rep.Version, rep.LoadedAt, ed.index.Version(), old, loaded)
	}
	if res, err := ed.index.Search(ctx, "đăng ký kết hôn", 3); err != nil || len(res.Hits) == 0 {
		t.Errorf("the old handbook does not answer: %v", err)
	}

	clock = clock.Add(time.Hour)
	writeFiles(t, dir, map[string]string{"ho-tich/ket-hon.md": testHandbook["ho-tich/ket-hon.md"] + "\n## Lệ phí\n\nMiễn lệ phí.\n"})
	rep, err = ed.Reload(ctx)
	if err != nil || rep.Version == old || !rep.LoadedAt.Equal(clock) || !ed.LoadedAt().Equal(clock) {
		t.Errorf("reload after the fix: %+v, %v", rep, err)
	}
}

func TestReloadEmbedded(t *testing.T) {
	ed, _ := MustOpenEditorial(t, time.Now)
	ed.dir = ""
	if _, err := ed.Reload(context.Background()); !errors.Is(err, bot.ErrNoHandbookDir) {
		t.Errorf("reload of the embedded handbook: %v, want ErrNoHandbookDir", err)
	}
}

// watchResult is one reload the watcher made.
type watchResult struct {
	rep bot.ReloadReport
	err error
}

// startWatch runs the watcher until the test ends and returns its reloads
// and the reports it handed on as failures.
func startWatch(t *testing.T, ed *editorial) (<-chan watchResult, <-chan bot.ReloadReport) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan watchResult, 64)
	failed := make(chan bot.ReloadReport, 64)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- ed.watchReady(ctx, 30*time.Millisecond, func(_ context.Context, rep bot.ReloadReport) error {
			failed <- rep
			return nil
		}, func(rep bot.ReloadReport, err error) { results <- watchResult{rep, err} }, ready)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("watch: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("watch ended before it started: %v", err)
	}
	return results, failed
}

// next waits for a reload that satisfies ok.
func next(t *testing.T, results <-chan watchResult, what string, ok func(watchResult) bool) watchResult {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case r := <-results:
			if ok(r) {
				return r
			}
		case <-deadline:
			t.Fatalf("no reload %s", what)
		}
	}
}

// TestWatchReloads edits the handbook on disk: a new folder with a new
// entry is picked up, a broken file keeps the old version and reaches the
// editors as file:line, and the fix is picked up again.
func TestWatchReloads(t *testing.T) {
	ed, dir := MustOpenEditorial(t, time.Now)
	old := ed.index.Version()
	results, failed := startWatch(t, ed)

	writeFiles(t, dir, map[string]string{"chung-thuc/ban-sao.md": `---
title: Chứng thực bản sao
department: tu-phap
---
UBND xã chứng thực bản sao từ bản chính giấy tờ do cơ quan Việt Nam cấp.
`})
	r := next(t, results, "with the new entry", func(r watchResult) bool {
		_, ok := ed.index.Handbook().Entry("chung-thuc/ban-sao")
		return r.err == nil && ok
	})
	if r.rep.Version == old {
		t.Errorf("version unchanged after a new entry")
	}
	good := r.rep.Version

	writeFiles(t, dir, map[string]string{"chung-thuc/ban-sao.md": brokenEntry})
	r = next(t, results, "that fails", func(r watchResult) bool { return r.err != nil })
	if ed.index.Version() != good {
		t.Errorf("a broken file replaced the index: %s, want %s", ed.index.Version(), good)
	}
	select {
	case rep := <-failed:
		if len(rep.Errors) == 0 || !strings.HasPrefix(rep.Errors[0], "chung-thuc/ban-sao.md:1: ") {
			t.Errorf("editors told %q, want chung-thuc/ban-sao.md:1", rep.Errors)
		}
	default:
		t.Errorf("the failed reload was not handed to the editors")
	}

	if err := os.Remove(filepath.Join(dir, "chung-thuc", "ban-sao.md")); err != nil {
		t.Fatal(err)
	}
	next(t, results, "after the fix", func(r watchResult) bool {
		_, ok := ed.index.Handbook().Entry("chung-thuc/ban-sao")
		return r.err == nil && !ok
	})
}

func TestWatchRelevant(t *testing.T) {
	for name, want := range map[string]bool{
		"ho-tich/ket-hon.md": true, "departments.yaml": true, "ho-tich": true,
		"ho-tich/.ket-hon.md.swp": false, "ho-tich/ket-hon.md~": false, ".git": false, "drafts/x.tmp": false,
	} {
		if got := relevant(name); got != want {
			t.Errorf("relevant(%q) = %v, want %v", name, got, want)
		}
	}
}

// BenchmarkReloadHandbook reloads the whole embedded handbook from a
// directory on disk: what an editor waits for after /reload or a save.
func BenchmarkReloadHandbook(b *testing.B) {
	dir := b.TempDir()
	err := fs.WalkDir(handbook.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(handbook.FS(), p)
		if err != nil {
			return err
		}
		writeFiles(b, dir, map[string]string{p: string(data)})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	fsys := os.DirFS(dir)
	idx, err := knowledge.Open(context.Background(), fsys, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	ed := newEditorial(dir, fsys, idx, b.TempDir(), discardLogger(), time.Now)
	b.ResetTimer()
	for b.Loop() {
		if _, err := ed.Reload(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(idx.Handbook().Passages)), "passages")
}
