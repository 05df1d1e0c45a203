package knowledge_test

import (
	"reflect"
	"testing"

	"github.com/caunoi/caunoi/knowledge"
)

func TestGlossaryKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"CCCD", "cccd"},
		{"  Hộ   khẩu ", "hộ khẩu"},
		// "ộ" written as o + combining circumflex + combining dot below (NFD).
		{"Ho\u0302\u0323 khẩu", "hộ khẩu"},
		{"ĐĂNG KÝ", "đăng ký"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := knowledge.GlossaryKey(tt.in); got != tt.want {
			t.Errorf("GlossaryKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpansions(t *testing.T) {
	tests := []struct {
		name string
		g    knowledge.Glossary
		want map[string][]string
	}{
		{"empty", nil, map[string][]string{}},
		{"both directions", knowledge.Glossary{
			{Term: "CCCD", Means: []string{"căn cước công dân", "Thẻ căn cước"}},
		}, map[string][]string{
			"cccd":              {"căn cước công dân", "thẻ căn cước"},
			"căn cước công dân": {"cccd", "thẻ căn cước"},
			"thẻ căn cước":      {"cccd", "căn cước công dân"},
		}},
		{"transitive through a shared meaning", knowledge.Glossary{
			{Term: "GCN", Means: []string{"giấy chứng nhận"}},
			{Term: "sổ đỏ", Means: []string{"Giấy chứng nhận"}},
			{Term: "UBND", Means: []string{"ủy ban nhân dân"}},
		}, map[string][]string{
			"gcn":             {"giấy chứng nhận", "sổ đỏ"},
			"giấy chứng nhận": {"gcn", "sổ đỏ"},
			"sổ đỏ":           {"gcn", "giấy chứng nhận"},
			"ubnd":            {"ủy ban nhân dân"},
			"ủy ban nhân dân": {"ubnd"},
		}},
		{"chain", knowledge.Glossary{
			{Term: "một cửa", Means: []string{"bộ phận một cửa"}},
			{Term: "bộ phận một cửa", Means: []string{"bộ phận tiếp nhận và trả kết quả"}},
		}, map[string][]string{
			"một cửa":         {"bộ phận một cửa", "bộ phận tiếp nhận và trả kết quả"},
			"bộ phận một cửa": {"bộ phận tiếp nhận và trả kết quả", "một cửa"},
			"bộ phận tiếp nhận và trả kết quả": {"bộ phận một cửa", "một cửa"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.g.Expansions(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestGlossaryLoaded(t *testing.T) {
	h := MustLoadGood(t)
	want := knowledge.GlossaryEntry{Term: "UBND", Means: []string{"ủy ban nhân dân"},
		Note: "Viết tắt thông dụng trong văn bản hành chính.", File: "glossary.yaml", Line: 3}
	if !reflect.DeepEqual(h.Glossary[1], want) {
		t.Errorf("glossary[1] = %+v, want %+v", h.Glossary[1], want)
	}
	exp := h.Glossary.Expansions()
	if got, want := exp["thường trú"], []string{"hộ khẩu"}; !reflect.DeepEqual(got, want) {
		t.Errorf(`Expansions()["thường trú"] = %q, want %q`, got, want)
	}
	if got, want := exp["sổ đỏ"], []string{"gcn", "giấy chứng nhận"}; !reflect.DeepEqual(got, want) {
		t.Errorf(`Expansions()["sổ đỏ"] = %q, want %q`, got, want)
	}
}
