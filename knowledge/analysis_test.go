package knowledge

import (
	"reflect"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/registry"
	"golang.org/x/text/unicode/norm"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Việt", "viet"},
		{"ĐĂNG", "dang"},
		{"đ", "d"},
		{"Đ", "d"},
		{norm.NFD.String("thường"), "thuong"},
		// "ệ": precomposed, and e + dot below + circumflex in both orders.
		{"ệ", "e"},
		{"e\u0323\u0302", "e"},
		{"e\u0302\u0323", "e"},
		{"quý", "quy"},
		{"2025", "2025"},
		{"ABC", "abc"},
	}
	for _, tt := range tests {
		if got := fold(tt.in); got != tt.want {
			t.Errorf("fold(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestExactFormsAgree(t *testing.T) {
	// NFC, NFD and both orders of stacked marks give one exact form.
	forms := []string{"Nghệ", norm.NFD.String("Nghệ"), "Nghe\u0323\u0302", "Nghe\u0302\u0323"}
	for _, f := range forms {
		if got := exact(f); got != "nghệ" {
			t.Errorf("exact(%q) = %q; want nghệ", f, got)
		}
	}
	if exact("mà") == exact("ma") {
		t.Error("exact forms of mà and ma are equal")
	}
}

func TestSyllablesKeepMarks(t *testing.T) {
	s := norm.NFD.String("Đăng ký, thường trú!")
	var got []string
	for _, x := range syllables(s) {
		got = append(got, norm.NFC.String(s[x.start:x.end]))
	}
	want := []string{"Đăng", "ký", "thường", "trú"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("syllables = %q; want %q", got, want)
	}
}

// analyze runs a registered analyzer on s and returns its terms.
func analyze(t *testing.T, name, s string) []string {
	t.Helper()
	c := registry.NewCache()
	a, err := c.AnalyzerNamed(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tok := range a.Analyze([]byte(s)) {
		out = append(out, string(tok.Term))
		if tok.End > len(s) || tok.Start > tok.End {
			t.Errorf("token %q offsets %d..%d outside %d bytes", tok.Term, tok.Start, tok.End, len(s))
		}
	}
	return out
}

func TestAnalyzersNFCAndNFD(t *testing.T) {
	text := "Hộ khẩu được thay bằng Cơ sở dữ liệu về cư trú"
	tests := []struct {
		analyzer string
		want     []string
	}{
		{analyzerFold, strings.Fields("ho khau duoc thay bang co so du lieu ve cu tru")},
		{analyzerExact, strings.Fields("hộ khẩu được thay bằng cơ sở dữ liệu về cư trú")},
		{analyzerBigram, []string{"ho khau", "khau duoc", "duoc thay", "thay bang", "bang co", "co so", "so du", "du lieu", "lieu ve", "ve cu", "cu tru"}},
	}
	for _, tt := range tests {
		for _, form := range []string{norm.NFC.String(text), norm.NFD.String(text)} {
			if got := analyze(t, tt.analyzer, form); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s(%q) = %q; want %q", tt.analyzer, form, got, tt.want)
			}
		}
	}
}

func TestAnalyzerOffsetsOnNFD(t *testing.T) {
	s := norm.NFD.String("Giấy khai sinh")
	c := registry.NewCache()
	a, err := c.AnalyzerNamed(analyzerFold)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Giấy", "khai", "sinh"}
	toks := a.Analyze([]byte(s))
	if len(toks) != len(want) {
		t.Fatalf("%d tokens; want %d", len(toks), len(want))
	}
	for i, tok := range toks {
		if got := norm.NFC.String(s[tok.Start:tok.End]); got != want[i] {
			t.Errorf("token %d covers %q; want %q", i, got, want[i])
		}
	}
}

func termsOf(aq *analyzedQuery) []string {
	var out []string
	for _, t := range aq.terms {
		out = append(out, t.fold)
	}
	return out
}

func TestStopWords(t *testing.T) {
	aq, err := analyzeQuery("Người chưa đủ tuổi có được không phải là của và các", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(termsOf(aq), " ")
	if want := "nguoi chua du tuoi co duoc khong phai"; got != want {
		t.Errorf("terms %q; want %q", got, want)
	}
	// A query of function words only keeps them rather than nothing.
	aq, err = analyzeQuery("của và", nil)
	if err != nil || len(aq.terms) != 2 {
		t.Errorf("analyzeQuery(của và) = %v, %v; want two terms", termsOf(aq), err)
	}
}

func TestBoilerplate(t *testing.T) {
	plain := "Người dưới 14 tuổi được cấp thẻ căn cước"
	tests := []string{
		plain + ", đúng hay sai?",
		plain + ". Đúng hay sai?",
		"Nhận định sau đúng hay sai: " + plain,
		"nhan dinh sau day dung hay sai: " + fold(plain),
		plain + " có đúng không?",
		plain + ", đúng hay không",
	}
	base, err := analyzeQuery(plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range tests {
		aq, err := analyzeQuery(q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := termsOf(aq), termsOf(base); !reflect.DeepEqual(got, want) {
			t.Errorf("terms of %q = %q; want %q", q, got, want)
		}
		if !reflect.DeepEqual(aq.bigrams, base.bigrams) {
			t.Errorf("bigrams of %q = %q; want %q", q, aq.bigrams, base.bigrams)
		}
	}
	// Only boilerplate: it is searched as typed rather than rejected.
	if aq, err := analyzeQuery("Đúng hay sai?", nil); err != nil || len(aq.terms) == 0 {
		t.Errorf("analyzeQuery(Đúng hay sai?) = %v, %v", aq, err)
	}
}

func TestDefinedSubject(t *testing.T) {
	tests := []struct {
		q, want string
	}{
		{"Tình thế cấp thiết là gì?", "tinh the cap thiet"},
		{"tinh the cap thiet la gi", "tinh the cap thiet"},
		{"Theo Bộ luật Dân sự 2015, hoa lợi được hiểu như thế nào?", "hoa loi"},
		{`Định nghĩa của "Người lao động"?`, "nguoi lao dong"},
		{"Thế nào là tạm trú, theo Luật Cư trú?", "tam tru"},
		{"Khái niệm hộ tịch", "ho tich"},
		// Not a question of what something is.
		{"thủ tục đăng ký khai sinh", ""},
		{"Trách nhiệm của Bộ Y tế là gì? Trả lời: tổ chức giám định", ""},
		// A subject too long to be a term.
		{"Người từ đủ 14 tuổi đến dưới 16 tuổi phải chịu trách nhiệm hình sự về tội gì là gì", ""},
		{"là gì", ""},
	}
	for _, tt := range tests {
		aq, err := analyzeQuery(tt.q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(aq.defines, " "); got != tt.want {
			t.Errorf("subject of %q = %q; want %q", tt.q, got, tt.want)
		}
	}
}

func TestGlossaryExpansion(t *testing.T) {
	syn := compileSynonyms(map[string][]string{
		"cccd":              {"căn cước công dân"},
		"căn cước công dân": {"cccd"},
		"hộ khẩu":           {"thường trú"},
		"thường trú":        {"hộ khẩu"},
	})
	tests := []struct {
		query          string
		terms, bigrams []string
	}{
		{"làm CCCD", []string{"can", "cuoc", "cong", "dan"}, []string{"can cuoc", "cuoc cong", "cong dan"}},
		{"làm căn cước công dân", []string{"cccd"}, nil},
		{"lam can cuoc cong dan", []string{"cccd"}, nil},
		{"nhập hộ khẩu", []string{"thuong", "tru"}, []string{"thuong tru"}},
		{"đăng ký thường trú", []string{"ho", "khau"}, []string{"ho khau"}},
		{"khai sinh", nil, nil},
	}
	for _, tt := range tests {
		aq, err := analyzeQuery(tt.query, syn)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(aq.expTerms, tt.terms) {
			t.Errorf("%q: expanded terms %q; want %q", tt.query, aq.expTerms, tt.terms)
		}
		if !reflect.DeepEqual(aq.expBigrams, tt.bigrams) {
			t.Errorf("%q: expanded pairs %q; want %q", tt.query, aq.expBigrams, tt.bigrams)
		}
	}
}

func TestCleanQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"  khai sinh  ", "khai sinh"},
		{"khai\x00sinh", "khai sinh"},
		{"khai\u200bsinh", "khaisinh"},
		{"\x1b[31mkhai", "[31mkhai"},
		{"khai \xff sinh", "khai   sinh"},
	}
	for _, tt := range tests {
		if got := cleanQuery(tt.in); got != tt.want {
			t.Errorf("cleanQuery(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	// A long query is cut at a rune boundary.
	long := strings.Repeat("ệ", maxQueryBytes) // 3 bytes each
	got := cleanQuery(long)
	if len(got) > maxQueryBytes || !strings.HasPrefix(long, got) || len(got) < maxQueryBytes-3 {
		t.Errorf("cleanQuery cut a long query to %d bytes", len(got))
	}
}

func TestTypoNeighbour(t *testing.T) {
	r := newRanker(nil, nil)
	for _, w := range []string{"thuong", "truong", "khai", "sinh", "nguoi"} {
		r.id(r.dict, w)
	}
	tests := []struct{ in, want string }{
		{"thuongg", "thuong"}, // insertion
		{"thuonh", "thuong"},  // substitution
		{"thung", "thuong"},   // deletion
		{"nguio", "nguoi"},    // swap
		{"truonq", "truong"},  // substitution
		{"nguoiii", ""},       // two edits
		{"khaii", "khai"},     // insertion, short result
		{"sinh", ""},          // too short to guess
	}
	for _, tt := range tests {
		if got := r.neighbour(tt.in); got != tt.want {
			t.Errorf("neighbour(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
