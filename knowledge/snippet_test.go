package knowledge

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func mustAnalyze(t *testing.T, q string) *analyzedQuery {
	t.Helper()
	aq, err := analyzeQuery(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	return aq
}

func TestSnippetHighlightsNFCAndNFD(t *testing.T) {
	text := "Hồ sơ gồm tờ khai đăng ký khai sinh và giấy chứng sinh do cơ sở y tế cấp."
	for _, form := range []string{norm.NFC.String(text), norm.NFD.String(text)} {
		snip, spans := snippet(form, mustAnalyze(t, "giấy chứng sinh"))
		if snip != strings.Join(strings.Fields(form), " ") {
			t.Errorf("snippet %q; want the whole short text", snip)
		}
		var got []string
		r := []rune(snip)
		for _, s := range spans {
			if s.Start < 0 || s.End > len(r) || s.Start >= s.End {
				t.Fatalf("span %v outside snippet of %d runes", s, len(r))
			}
			got = append(got, norm.NFC.String(string(r[s.Start:s.End])))
		}
		want := []string{"sinh", "giấy", "chứng", "sinh"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("highlighted %q; want %q", got, want)
		}
	}
}

func TestSnippetLongText(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 200; i++ {
		b.WriteString("Nội dung chung của văn bản hướng dẫn nghiệp vụ. ")
		if i == 120 {
			b.WriteString("Lệ phí đăng ký kết hôn được miễn.\n\n")
		}
	}
	text := b.String()
	snip, spans := snippet(text, mustAnalyze(t, "lệ phí kết hôn"))
	if n := utf8.RuneCountInString(snip); n > snippetRunes {
		t.Fatalf("snippet has %d runes; want at most %d", n, snippetRunes)
	}
	if !strings.HasPrefix(snip, "…") || !strings.HasSuffix(snip, "…") {
		t.Errorf("snippet %q; want … at both ends", snip)
	}
	if !strings.Contains(snip, "Lệ phí đăng ký kết hôn được miễn.") {
		t.Errorf("snippet %q misses the matching sentence", snip)
	}
	if strings.Contains(snip, "\n") {
		t.Errorf("snippet %q keeps a newline", snip)
	}
	r := []rune(snip)
	var got []string
	for _, s := range spans {
		got = append(got, fold(string(r[s.Start:s.End])))
	}
	if strings.Join(got, " ") != "le phi ket hon" {
		t.Errorf("highlighted %q; want le phi ket hon", got)
	}
	// Words are never cut: the snippet starts and ends on word boundaries.
	inner := strings.TrimSuffix(strings.TrimPrefix(snip, "…"), "…")
	if !strings.Contains(strings.Join(strings.Fields(text), " "), inner) {
		t.Errorf("snippet body %q is not a piece of the text", inner)
	}
}

func TestSnippetNoMatch(t *testing.T) {
	text := strings.Repeat("Văn bản không liên quan. ", 40)
	snip, spans := snippet(text, mustAnalyze(t, "thuế"))
	if len(spans) != 0 {
		t.Errorf("spans %v; want none", spans)
	}
	if !strings.HasPrefix(snip, "Văn bản") || utf8.RuneCountInString(snip) > snippetRunes {
		t.Errorf("snippet %q; want the start of the text, at most %d runes", snip, snippetRunes)
	}
}

func TestSnippetHugeWord(t *testing.T) {
	text := strings.Repeat("a", 1000) + " thuế"
	snip, _ := snippet(text, mustAnalyze(t, "aaaa"))
	if n := utf8.RuneCountInString(snip); n > snippetRunes {
		t.Errorf("snippet has %d runes; want at most %d", n, snippetRunes)
	}
}
