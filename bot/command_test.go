package bot

import (
	"testing"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"
)

// cmdEntity returns a bot_command entity for the first occurrence of word in
// text, with offsets in UTF-16 code units as Telegram sends them.
func cmdEntity(t testing.TB, text, word string) models.MessageEntity {
	t.Helper()
	r := []rune(text)
	w := []rune(word)
	for i := 0; i+len(w) <= len(r); i++ {
		if string(r[i:i+len(w)]) == word {
			off := len(utf16.Encode(r[:i]))
			return models.MessageEntity{Type: models.MessageEntityTypeBotCommand, Offset: off, Length: len(utf16.Encode(w))}
		}
	}
	t.Fatalf("%q not in %q", word, text)
	return models.MessageEntity{}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		word     string // the entity's text; empty means no entity
		wantOK   bool
		wantName string
		wantArgs string
	}{
		{"plain", "/help", "/help", true, "help", ""},
		{"with args", "/start AbC_123-x", "/start", true, "start", "AbC_123-x"},
		{"addressed to us", "/help@CauNoiBot", "/help@CauNoiBot", true, "help", ""},
		{"addressed to us, case", "/phieu@caunoibot TP-2025-000001", "/phieu@caunoibot", true, "phieu", "TP-2025-000001"},
		{"addressed to another bot", "/help@otherbot", "/help@otherbot", false, "", ""},
		{"after Vietnamese text", "Cho tôi hỏi về đăng ký khai sinh /huy", "/huy", true, "huy", ""},
		{"after emoji", "🙏🙏 xin chào /phieu", "/phieu", true, "phieu", ""},
		{"args with diacritics", "/reload sổ tay mới", "/reload", true, "reload", "sổ tay mới"},
		{"no entity, leading slash", "/thongke 7d", "", true, "thongke", "7d"},
		{"no entity, newline", "/help\nthêm", "", true, "help", "thêm"},
		{"not a command", "hỏi về /đất", "", false, "", ""},
		{"slash only", "/", "", false, "", ""},
		{"non-ascii name", "/đăngký", "", false, "", ""},
		{"uppercase folded", "/HELP", "/HELP", true, "help", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ents []models.MessageEntity
			if tt.word != "" {
				ents = append(ents, cmdEntity(t, tt.text, tt.word))
			}
			got, ok := parseCommand(tt.text, ents, "CauNoiBot")
			if ok != tt.wantOK {
				t.Fatalf("parseCommand(%q) ok = %v, want %v", tt.text, ok, tt.wantOK)
			}
			if got.Name != tt.wantName || got.Args != tt.wantArgs {
				t.Errorf("parseCommand(%q) = %+v, want name %q args %q", tt.text, got, tt.wantName, tt.wantArgs)
			}
		})
	}
}

func TestParseCommandBadEntities(t *testing.T) {
	text := "xin chào /help"
	for _, e := range []models.MessageEntity{
		{Type: models.MessageEntityTypeBotCommand, Offset: -1, Length: 3},
		{Type: models.MessageEntityTypeBotCommand, Offset: 9, Length: 100},
		{Type: models.MessageEntityTypeBotCommand, Offset: 0, Length: 0},
		{Type: models.MessageEntityTypeBotCommand, Offset: 3, Length: 4}, // points at "chào", no slash
	} {
		if got, ok := parseCommand(text, []models.MessageEntity{e}, "b"); ok {
			t.Errorf("entity %+v: got %+v, want no command", e, got)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add("/start abc", 0, 6)
	f.Add("Xin chào /help@bot", 9, 9)
	f.Add("🙏 /phieu", 3, 6)
	f.Add("", 0, 0)
	f.Fuzz(func(t *testing.T, text string, off, length int) {
		ents := []models.MessageEntity{{Type: models.MessageEntityTypeBotCommand, Offset: off, Length: length}}
		c, ok := parseCommand(text, ents, "bot")
		if ok && (c.Name == "" || len(c.Name) > maxCommandLen) {
			t.Fatalf("bad command %+v from %q", c, text)
		}
	})
}
