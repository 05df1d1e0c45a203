package knowledge

import (
	"context"
	"errors"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/caunoi/caunoi"
)

var (
	fuzzIndexOnce sync.Once
	fuzzIndex     *Index
	fuzzIndexErr  error
)

// FuzzSearch checks that no query breaks Search: it returns hits or
// ErrInvalid, never panics, and its snippets and highlights stay in bounds.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{
		"khai sinh", "dang ky thuong tru", "CCCD", "đúng hay sai?", "", "\x00", "\u0301",
		"e\u0323\u0302", "hộ khẩu, đúng hay sai?", "\xff\xfe", "ma mà má mạ",
	} {
		f.Add(s, 5)
	}
	fuzzIndexOnce.Do(func() {
		fuzzIndex, fuzzIndexErr = Open(context.Background(), testFS(), indexNow)
	})
	if fuzzIndexErr != nil {
		f.Fatal(fuzzIndexErr)
	}
	x := fuzzIndex
	f.Fuzz(func(t *testing.T, q string, limit int) {
		res, err := x.Search(context.Background(), q, limit)
		if err != nil {
			if !errors.Is(err, caunoi.ErrInvalid) {
				t.Fatalf("Search(%q, %d): %v", q, limit, err)
			}
			return
		}
		if len(res.Hits) > limit {
			t.Fatalf("%d hits; limit %d", len(res.Hits), limit)
		}
		for _, h := range res.Hits {
			n := utf8.RuneCountInString(h.Snippet)
			if n > snippetRunes {
				t.Fatalf("snippet of %d runes", n)
			}
			end := 0
			for _, s := range h.Highlights {
				if s.Start < end || s.End <= s.Start || s.End > n {
					t.Fatalf("span %v in a snippet of %d runes", s, n)
				}
				end = s.End
			}
		}
	})
}
