package telegramtest

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseHTML(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		text     string
		entities []MessageEntity
	}{
		{"plain", "Xin chào", "Xin chào", nil},
		{"bold", "<b>Hồ sơ</b> cần nộp", "Hồ sơ cần nộp", []MessageEntity{{Type: "bold", Offset: 0, Length: 5}}},
		{"aliases", "<strong>a</strong><em>b</em><ins>c</ins><del>d</del><strike>e</strike>",
			"abcde", []MessageEntity{
				{Type: "bold", Offset: 0, Length: 1}, {Type: "italic", Offset: 1, Length: 1},
				{Type: "underline", Offset: 2, Length: 1}, {Type: "strikethrough", Offset: 3, Length: 1},
				{Type: "strikethrough", Offset: 4, Length: 1},
			}},
		{"nested", "<b>đậm <i>nghiêng</i></b>", "đậm nghiêng", []MessageEntity{
			{Type: "bold", Offset: 0, Length: 11}, {Type: "italic", Offset: 4, Length: 7},
		}},
		{"utf16 offsets after emoji", "👋 <b>Xin</b>", "👋 Xin", []MessageEntity{{Type: "bold", Offset: 3, Length: 3}}},
		{"link", `<a href="https://thuvienphapluat.vn/?a=1&amp;b=2">Luật</a>`, "Luật",
			[]MessageEntity{{Type: "text_link", Offset: 0, Length: 4, URL: "https://thuvienphapluat.vn/?a=1&b=2"}}},
		{"user link", `<a href='tg://user?id=42'>Lan</a>`, "Lan",
			[]MessageEntity{{Type: "text_link", Offset: 0, Length: 3, URL: "tg://user?id=42"}}},
		{"entities", "a &lt;b&gt; &amp; &quot;c&quot; &#273; &#x1F600;", `a <b> & "c" đ 😀`, nil},
		{"pre with language", `<pre><code class="language-go">x := 1</code></pre>`, "x := 1",
			[]MessageEntity{{Type: "pre", Offset: 0, Length: 6, Language: "go"}}},
		{"code", "<code>/start</code>", "/start", []MessageEntity{{Type: "code", Offset: 0, Length: 6}}},
		{"spoilers", `<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>`, "xy",
			[]MessageEntity{{Type: "spoiler", Offset: 0, Length: 1}, {Type: "spoiler", Offset: 1, Length: 1}}},
		{"blockquote", "<blockquote expandable>trích dẫn</blockquote>", "trích dẫn",
			[]MessageEntity{{Type: "expandable_blockquote", Offset: 0, Length: 9}}},
		{"custom emoji", `<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`, "👍",
			[]MessageEntity{{Type: "custom_emoji", Offset: 0, Length: 2, CustomEmojiID: "5368324170671202286"}}},
		{"upper-case tag", "<B>x</B>", "x", []MessageEntity{{Type: "bold", Offset: 0, Length: 1}}},
		{"greater-than is text", "1 > 0", "1 > 0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, entities, err := parseHTML(tt.in)
			if err != nil {
				t.Fatalf("parseHTML(%q): %v", tt.in, err)
			}
			if text != tt.text {
				t.Errorf("text = %q, want %q", text, tt.text)
			}
			if !reflect.DeepEqual(entities, tt.entities) {
				t.Errorf("entities = %+v, want %+v", entities, tt.entities)
			}
		})
	}
}

func TestParseHTMLErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // part of the error
	}{
		{"<b>chưa đóng", `Can't find end tag corresponding to start tag "b"`},
		{"<b><i>x</b></i>", `Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`},
		{"x</b>", "Unexpected end tag at byte offset 1"},
		{"<div>x</div>", `Unsupported start tag "div" at byte offset 0`},
		{"<br>", `Unsupported start tag "br"`},
		{"a < b", "Unclosed start tag at byte offset 2"},
		{"<b", "Unclosed start tag"},
		{"&nbsp;", `Unsupported HTML entity "&nbsp;"`},
		{"AT&T", "Unsupported HTML entity"},
		{"&#xD800;", "Unsupported HTML entity"},
		{"<a>x</a>", `Tag "a" must have attribute "href"`},
		{`<a href="javascript:alert(1)">x</a>`, "Wrong URL"},
		{"<span>x</span>", `Tag "span" must have class "tg-spoiler"`},
		{"<code><b>x</b></code>", `Can't use tag "b" inside "code"`},
		{"<pre><i>x</i></pre>", `Can't use tag "i" inside "pre"`},
		{"<blockquote><b><blockquote>x</blockquote></b></blockquote>", "Can't nest blockquote"},
		{`<tg-emoji emoji-id="abc">x</tg-emoji>`, "Invalid custom emoji identifier"},
		{`<a href="https://x.vn>x</a>`, "Unclosed attribute value"},
		{"\xff", "UTF-8"},
	}
	for _, tt := range tests {
		_, _, err := parseHTML(tt.in)
		if err == nil {
			t.Errorf("parseHTML(%q) = nil error, want %q", tt.in, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseHTML(%q) = %q, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestTrimText(t *testing.T) {
	text, entities := trimText("  \n<x> đậm  ", []MessageEntity{
		{Type: "bold", Offset: 0, Length: 6}, {Type: "italic", Offset: 10, Length: 2},
	})
	if text != "<x> đậm" {
		t.Errorf("text = %q, want %q", text, "<x> đậm")
	}
	want := []MessageEntity{{Type: "bold", Offset: 0, Length: 3}}
	if !reflect.DeepEqual(entities, want) {
		t.Errorf("entities = %+v, want %+v", entities, want)
	}
}

func TestCommandEntities(t *testing.T) {
	tests := []struct {
		in   string
		want []MessageEntity
	}{
		{"/start", []MessageEntity{{Type: "bot_command", Offset: 0, Length: 6}}},
		{"/help@caunoi_test_bot", []MessageEntity{{Type: "bot_command", Offset: 0, Length: 21}}},
		{"Xin chào 👋 /hoi thủ tục", []MessageEntity{{Type: "bot_command", Offset: 12, Length: 4}}},
		{"hỏi @caunoi_bot giúp", []MessageEntity{{Type: "mention", Offset: 4, Length: 11}}},
		{"a/b và 1/2", nil},
		{"/", nil},
		{"/đăng_ký", nil},
	}
	for _, tt := range tests {
		if got := commandEntities(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("commandEntities(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
