package bot

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// wellFormed reports whether s is Telegram HTML as we emit it: known tags,
// properly nested, entities complete.
func wellFormed(s string) bool {
	allowed := map[string]bool{"b": true, "i": true, "u": true, "s": true, "code": true, "pre": true, "a": true, "blockquote": true}
	var stack []string
	for _, t := range tokenizeHTML(s) {
		switch {
		case t.open != "":
			if !allowed[t.open] {
				return false
			}
			stack = append(stack, t.open)
		case t.close != "":
			if len(stack) == 0 || stack[len(stack)-1] != t.close {
				return false
			}
			stack = stack[:len(stack)-1]
		case t.s == "<" || strings.HasPrefix(t.s, "<") || t.s == ">":
			return false
		case strings.HasPrefix(t.s, "&"):
			switch t.s {
			case "&lt;", "&gt;", "&amp;", "&quot;":
			default:
				return false
			}
		}
	}
	return len(stack) == 0
}

func stripTags(s string) string {
	var b strings.Builder
	for _, t := range tokenizeHTML(s) {
		if t.open == "" && t.close == "" {
			b.WriteString(t.s)
		}
	}
	return b.String()
}

func TestEsc(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"},
		{"a & b", "a &amp; b"},
		{`"q"`, "&quot;q&quot;"},
		{"nul\x00here", "nulhere"},
		{"bell\x07", "bell"},
		{"dòng 1\ndòng 2\tTab", "dòng 1\ndòng 2\tTab"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"*đậm* _nghiêng_ [link](http://x)", "*đậm* _nghiêng_ [link](http://x)"},
		{"\u202eRTL", "\u202eRTL"}, // a format character is text to Telegram: kept
	}
	for _, tt := range tests {
		if got := esc(tt.in); got != tt.want {
			t.Errorf("esc(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitHTMLShort(t *testing.T) {
	s := "<b>Đăng ký khai sinh</b>\n\nHồ sơ gồm tờ khai."
	if got := splitHTML(s, maxMessageLen); len(got) != 1 || got[0] != s {
		t.Fatalf("splitHTML(short) = %q", got)
	}
}

func TestSplitHTMLParagraphs(t *testing.T) {
	var paras []string
	for i := 0; i < 60; i++ {
		paras = append(paras, "<b>Mục "+strings.Repeat("ệ", 3)+"</b> "+strings.Repeat("Thủ tục hành chính ở xã. ", 6))
	}
	s := strings.Join(paras, "\n\n")
	parts := splitHTML(s, 1000)
	if len(parts) < 2 {
		t.Fatalf("got %d parts, want several", len(parts))
	}
	for i, p := range parts {
		if u16len(p) > 1000 {
			t.Errorf("part %d: %d units, want ≤ 1000", i, u16len(p))
		}
		if !wellFormed(p) {
			t.Errorf("part %d not well-formed: %q", i, p)
		}
		if !strings.HasPrefix(p, "<b>Mục") {
			t.Errorf("part %d does not start at a paragraph: %.40q", i, p)
		}
	}
}

func TestSplitHTMLInsideTag(t *testing.T) {
	s := "<blockquote><b>" + strings.Repeat("chữ ký số &amp; đường truyền ", 400) + "</b></blockquote>"
	parts := splitHTML(s, maxMessageLen)
	if len(parts) < 2 {
		t.Fatalf("got %d parts", len(parts))
	}
	var text strings.Builder
	for i, p := range parts {
		if u16len(p) > maxMessageLen {
			t.Errorf("part %d: %d units", i, u16len(p))
		}
		if !wellFormed(p) {
			t.Errorf("part %d not well-formed: %.80q…%.80q", i, p, p[len(p)-80:])
		}
		text.WriteString(stripTags(p))
		text.WriteString(" ")
	}
	if got, want := strings.Join(strings.Fields(text.String()), " "), strings.Join(strings.Fields(stripTags(s)), " "); got != want {
		t.Errorf("text changed by splitting")
	}
}

func TestSplitHTMLRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"xã", "phường", "<", ">", "&", "🙏", "đất", "\n", "\n\n", "giấy chứng nhận", strings.Repeat("a", 50)}
	for n := 0; n < 200; n++ {
		var b strings.Builder
		for k := r.IntN(2000); k > 0; k-- {
			w := words[r.IntN(len(words))]
			if r.IntN(10) == 0 {
				b.WriteString("<b>" + esc(w) + "</b>")
			} else {
				b.WriteString(esc(w))
			}
			b.WriteString(" ")
		}
		s := b.String()
		limit := 200 + r.IntN(4000)
		for i, p := range splitHTML(s, limit) {
			if u16len(p) > limit || !wellFormed(p) {
				t.Fatalf("case %d part %d: len %d limit %d wellFormed %v", n, i, u16len(p), limit, wellFormed(p))
			}
		}
	}
}

func FuzzSplitHTML(f *testing.F) {
	f.Add("Hỏi: <script>alert(1)</script> & *bold*", 100)
	f.Add(strings.Repeat("ệ", 5000), 4096)
	f.Add("\x00\u202e\U0001F64F", 10)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 64 || limit > maxMessageLen {
			limit = maxMessageLen
		}
		s := "<b>" + esc(text) + "</b>\n\n<i>" + esc(text) + "</i>"
		for _, p := range splitHTML(s, limit) {
			if u16len(p) > limit {
				t.Fatalf("part of %d units over limit %d", u16len(p), limit)
			}
			if !wellFormed(p) {
				t.Fatalf("part not well-formed: %q", p)
			}
		}
	})
}
