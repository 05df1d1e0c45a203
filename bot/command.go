package bot

import (
	"strings"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"
)

// command is a bot command found in a message: "/phieu@caunoi_bot TP-2025-1"
// gives name "phieu" and args "TP-2025-1".
type command struct {
	Name string
	Args string
}

// maxCommandLen bounds a command name; Telegram allows 32 characters.
const maxCommandLen = 32

// parseCommand finds the first bot command in text. Telegram reports entity
// offsets in UTF-16 code units, so text is indexed in those units: a command
// after Vietnamese or emoji text is found where byte offsets would miss it.
// A command addressed to another bot ("/help@otherbot") is not ours and is
// ignored. When entities are absent (a forwarded text, a test), a leading "/"
// is parsed directly.
func parseCommand(text string, entities []models.MessageEntity, botName string) (command, bool) {
	units := utf16.Encode([]rune(text))
	for _, e := range entities {
		if e.Type != models.MessageEntityTypeBotCommand {
			continue
		}
		if e.Offset < 0 || e.Length < 2 || e.Offset+e.Length > len(units) {
			continue
		}
		word := string(utf16.Decode(units[e.Offset : e.Offset+e.Length]))
		rest := string(utf16.Decode(units[e.Offset+e.Length:]))
		return splitCommand(word, rest, botName)
	}
	if strings.HasPrefix(text, "/") {
		word, rest, _ := strings.Cut(text, " ")
		if i := strings.IndexAny(word, "\n\t"); i >= 0 {
			rest = word[i:] + " " + rest
			word = word[:i]
		}
		return splitCommand(word, rest, botName)
	}
	return command{}, false
}

func splitCommand(word, rest, botName string) (command, bool) {
	name, ok := strings.CutPrefix(word, "/")
	if !ok {
		return command{}, false
	}
	if n, target, found := strings.Cut(name, "@"); found {
		if botName == "" || !strings.EqualFold(target, botName) {
			return command{}, false
		}
		name = n
	}
	if name == "" || len(name) > maxCommandLen {
		return command{}, false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return command{}, false
		}
	}
	return command{Name: strings.ToLower(name), Args: strings.TrimSpace(rest)}, true
}
