package telegramtest

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMarkdownV2(t *testing.T) {
	tests := []struct {
		in       string
		text     string
		entities []MessageEntity
	}{
		{`*Hồ sơ* cần nộp\.`, "Hồ sơ cần nộp.", []MessageEntity{{Type: "bold", Offset: 0, Length: 5}}},
		{`_nghiêng_ __gạch__ ~xoá~ ||ẩn||`, "nghiêng gạch xoá ẩn", []MessageEntity{
			{Type: "italic", Offset: 0, Length: 7}, {Type: "underline", Offset: 8, Length: 4},
			{Type: "strikethrough", Offset: 13, Length: 3}, {Type: "spoiler", Offset: 17, Length: 2},
		}},
		{`*đậm _cả hai_*`, "đậm cả hai", []MessageEntity{{Type: "bold", Offset: 0, Length: 10}, {Type: "italic", Offset: 4, Length: 6}}},
		{`👋 [Luật Hộ tịch](https://vbpl.vn/a\)b)`, "👋 Luật Hộ tịch", []MessageEntity{{Type: "text_link", Offset: 3, Length: 12, URL: "https://vbpl.vn/a)b"}}},
		{"`a_b.c` và ```go\nx := 1\n```", "a_b.c và x := 1\n", []MessageEntity{
			{Type: "code", Offset: 0, Length: 5}, {Type: "pre", Offset: 9, Length: 7, Language: "go"},
		}},
		{"![👍](tg://emoji?id=5368324170671202286)", "👍", []MessageEntity{{Type: "custom_emoji", Offset: 0, Length: 2, CustomEmojiID: "5368324170671202286"}}},
		{">dòng một\n>dòng hai\nhết", "dòng một\ndòng hai\nhết", []MessageEntity{{Type: "blockquote", Offset: 0, Length: 17}}},
		{"**>ẩn bớt\n>còn nữa||", "ẩn bớt\ncòn nữa", []MessageEntity{{Type: "expandable_blockquote", Offset: 0, Length: 14}}},
		{`1 \+ 1 \= 2`, "1 + 1 = 2", nil},
	}
	for _, tt := range tests {
		text, entities, err := parseMarkdownV2(tt.in)
		if err != nil {
			t.Errorf("parseMarkdownV2(%q): %v", tt.in, err)
			continue
		}
		if text != tt.text || !reflect.DeepEqual(entities, tt.entities) {
			t.Errorf("parseMarkdownV2(%q) = %q %+v, want %q %+v", tt.in, text, entities, tt.text, tt.entities)
		}
	}
}

func TestParseMarkdownV2Errors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hết.", `Character '.' is reserved and must be escaped with the preceding '\'`},
		{"1-2", `Character '-' is reserved`},
		{"*đậm", "Can't find end of Bold entity at byte offset 0"},
		{"a |b", `Character '|' is reserved`},
		{"`code", "Can't find end of Code entity at byte offset 0"},
		{"[a](https://x.vn", "Can't find end of a URL"},
		{"[a](javascript:x)", "Wrong URL"},
	}
	for _, tt := range tests {
		_, _, err := parseMarkdownV2(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseMarkdownV2(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestParseMarkdown(t *testing.T) {
	text, entities, err := parseMarkdown("*Đậm* _nghiêng_ `mã` [Sở](https://sotp.vn) a\\_b")
	if err != nil {
		t.Fatal(err)
	}
	want := []MessageEntity{
		{Type: "bold", Offset: 0, Length: 3}, {Type: "italic", Offset: 4, Length: 7},
		{Type: "code", Offset: 12, Length: 2}, {Type: "text_link", Offset: 15, Length: 2, URL: "https://sotp.vn"},
	}
	if text != "Đậm nghiêng mã Sở a_b" || !reflect.DeepEqual(entities, want) {
		t.Errorf("parseMarkdown = %q %+v", text, entities)
	}
	if _, _, err := parseMarkdown("*mở mà không đóng"); err == nil || !strings.Contains(err.Error(), "Can't find end of the entity starting at byte offset 0") {
		t.Errorf("unclosed: err = %v", err)
	}
}
