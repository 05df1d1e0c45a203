package telegramtest

import (
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// mdReserved are the characters MarkdownV2 reserves outside code.
const mdReserved = "_*[]()~`>#+-=|{}.!"

// mdWriter accumulates output text and its UTF-16 length.
type mdWriter struct {
	b   strings.Builder
	pos int
}

func (w *mdWriter) rune(r rune) {
	w.b.WriteRune(r)
	w.pos += utf16.RuneLen(r)
}

type mdOpen struct {
	kind   string // entity type
	offset int
	at     int // byte offset of the opening mark
	lang   string
}

// entityTitle is the name Telegram uses for an entity type in parse errors.
var entityTitle = map[string]string{
	"bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
	"spoiler": "Spoiler", "code": "Code", "pre": "Pre", "text_link": "TextUrl", "custom_emoji": "CustomEmoji",
}

// parseMarkdownV2 turns text in Telegram's MarkdownV2 parse mode into plain
// text and entities: *bold*, _italic_, __underline__, ~strikethrough~,
// ||spoiler||, [text](url), ![emoji](tg://emoji?id=N), `code`, ```pre```,
// and block quotations (lines starting with ">", or "**>" for an expandable
// one closed by "||"). Reserved characters must be escaped with "\".
func parseMarkdownV2(src string) (string, []MessageEntity, error) {
	var w mdWriter
	var stack []mdOpen
	var entities []MessageEntity
	quote := -1 // UTF-16 offset where the current block quotation began
	quoteExpandable := false

	closeQuote := func(end int) {
		if quote >= 0 && end > quote {
			t := "blockquote"
			if quoteExpandable {
				t = "expandable_blockquote"
			}
			entities = append(entities, MessageEntity{Type: t, Offset: quote, Length: end - quote})
		}
		quote, quoteExpandable = -1, false
	}
	top := func() string {
		if len(stack) == 0 {
			return ""
		}
		return stack[len(stack)-1].kind
	}

	for i := 0; i < len(src); {
		inCode := top() == "code" || top() == "pre"
		lineStart := i == 0 || src[i-1] == '\n'
		if lineStart && !inCode {
			switch {
			case strings.HasPrefix(src[i:], "**>"):
				closeQuote(w.pos - 1)
				quote, quoteExpandable = w.pos, true
				i += 3
				continue
			case src[i] == '>':
				if quote < 0 {
					quote = w.pos
				}
				i++
				continue
			case quote >= 0:
				// The line before ended the quotation; its newline is outside.
				closeQuote(w.pos - 1)
			}
		}
		c := src[i]
		if c == '\\' && i+1 < len(src) && src[i+1] >= 1 && src[i+1] <= 126 {
			w.rune(rune(src[i+1]))
			i += 2
			continue
		}
		reserved := mdReserved
		if inCode {
			reserved = "`"
		}
		if strings.IndexByte(reserved, c) < 0 {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				return "", nil, entityErrorf("Strings must be encoded in UTF-8")
			}
			w.rune(r)
			i += n
			continue
		}
		// The expandability mark "||" ends an expandable quotation's line.
		if quoteExpandable && c == '|' && strings.HasPrefix(src[i:], "||") && top() != "spoiler" &&
			(i+2 == len(src) || src[i+2] == '\n') {
			i += 2
			continue
		}
		if end, n := mdClosing(top(), src[i:]); end {
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			e := MessageEntity{Type: o.kind, Offset: o.offset, Length: w.pos - o.offset, Language: o.lang}
			i += n
			if o.kind == "text_link" || o.kind == "custom_emoji" {
				if !strings.HasPrefix(src[i:], "(") {
					if o.kind == "custom_emoji" {
						return "", nil, entityErrorf("Custom emoji entity must contain a tg://emoji URL")
					}
					continue // [text] without a URL is plain text
				}
				url, m, err := mdLinkTarget(src[i:], i)
				if err != nil {
					return "", nil, err
				}
				i += m
				if o.kind == "custom_emoji" {
					id, ok := strings.CutPrefix(url, "tg://emoji?id=")
					if !ok || id == "" || strings.Trim(id, "0123456789") != "" {
						return "", nil, entityErrorf("Custom emoji URL must have an emoji identifier")
					}
					e.CustomEmojiID = id
				} else {
					if !validLink(url) {
						return "", nil, entityErrorf("Wrong URL \"%s\" at byte offset %d", url, o.at)
					}
					e.URL = url
				}
			}
			if e.Length > 0 {
				entities = append(entities, e)
			}
			continue
		}
		o := mdOpen{offset: w.pos, at: i}
		switch c {
		case '*':
			o.kind = "bold"
			i++
		case '_':
			o.kind = "italic"
			i++
			if strings.HasPrefix(src[i:], "_") {
				o.kind = "underline"
				i++
			}
		case '~':
			o.kind = "strikethrough"
			i++
		case '|':
			if !strings.HasPrefix(src[i:], "||") {
				return "", nil, reservedError(c)
			}
			o.kind = "spoiler"
			i += 2
		case '[':
			o.kind = "text_link"
			i++
		case '!':
			if !strings.HasPrefix(src[i:], "![") {
				return "", nil, reservedError(c)
			}
			o.kind = "custom_emoji"
			i += 2
		case '`':
			if strings.HasPrefix(src[i:], "```") {
				o.kind = "pre"
				i += 3
				// The rest of the opening line names the language.
				if nl := strings.IndexByte(src[i:], '\n'); nl >= 0 {
					lang := src[i : i+nl]
					if lang != "" && !strings.ContainsAny(lang, " `\\") {
						o.lang = lang
						i += nl + 1
					}
				}
			} else {
				o.kind = "code"
				i++
			}
		default:
			return "", nil, reservedError(c)
		}
		stack = append(stack, o)
	}
	if len(stack) > 0 {
		o := stack[len(stack)-1]
		return "", nil, entityErrorf("Can't find end of %s entity at byte offset %d", entityTitle[o.kind], o.at)
	}
	closeQuote(w.pos)
	sortEntities(entities)
	return w.b.String(), entities, nil
}

func reservedError(c byte) error {
	return entityErrorf("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
}

// mdClosing reports whether s starts with the mark that ends the innermost
// open entity, and the mark's length.
func mdClosing(kind, s string) (bool, int) {
	switch kind {
	case "bold":
		return s[0] == '*', 1
	case "italic":
		return s[0] == '_' && !strings.HasPrefix(s, "__"), 1
	case "underline":
		return strings.HasPrefix(s, "__"), 2
	case "strikethrough":
		return s[0] == '~', 1
	case "spoiler":
		return strings.HasPrefix(s, "||"), 2
	case "code":
		return s[0] == '`', 1
	case "pre":
		return strings.HasPrefix(s, "```"), 3
	case "text_link", "custom_emoji":
		return s[0] == ']', 1
	}
	return false, 0
}

// mdLinkTarget reads "(url)" at the start of s, where ")" and "\" are
// escaped with "\".
func mdLinkTarget(s string, at int) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case ')':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, entityErrorf("Can't find end of a URL at byte offset %d", at)
}

// parseMarkdown handles the legacy Markdown parse mode: *bold*, _italic_,
// `code`, ```pre``` and [text](url), without nesting. Outside entities the
// characters _ * ` [ may be escaped with "\".
func parseMarkdown(src string) (string, []MessageEntity, error) {
	var w mdWriter
	var entities []MessageEntity
	for i := 0; i < len(src); {
		c := src[i]
		if c == '\\' && i+1 < len(src) && strings.IndexByte("_*`[", src[i+1]) >= 0 {
			w.rune(rune(src[i+1]))
			i += 2
			continue
		}
		var kind, end string
		switch {
		case strings.HasPrefix(src[i:], "```"):
			kind, end = "pre", "```"
		case c == '*':
			kind, end = "bold", "*"
		case c == '_':
			kind, end = "italic", "_"
		case c == '`':
			kind, end = "code", "`"
		case c == '[':
			kind, end = "text_link", "]"
		}
		if kind == "" {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				return "", nil, entityErrorf("Strings must be encoded in UTF-8")
			}
			w.rune(r)
			i += n
			continue
		}
		start := i
		i += len(end)
		j := strings.Index(src[i:], end)
		if j < 0 {
			return "", nil, entityErrorf("Can't find end of the entity starting at byte offset %d", start)
		}
		inner := src[i : i+j]
		i += j + len(end)
		e := MessageEntity{Type: kind, Offset: w.pos}
		if kind == "pre" {
			if nl := strings.IndexByte(inner, '\n'); nl > 0 && !strings.ContainsAny(inner[:nl], " ") {
				e.Language, inner = inner[:nl], inner[nl+1:]
			}
		}
		for _, r := range inner {
			w.rune(r)
		}
		e.Length = w.pos - e.Offset
		if kind == "text_link" {
			if !strings.HasPrefix(src[i:], "(") {
				continue
			}
			k := strings.IndexByte(src[i:], ')')
			if k < 0 {
				return "", nil, entityErrorf("Can't find end of a URL at byte offset %d", i)
			}
			e.URL = src[i+1 : i+k]
			i += k + 1
			if !validLink(e.URL) {
				continue
			}
		}
		if e.Length > 0 {
			entities = append(entities, e)
		}
	}
	sortEntities(entities)
	return w.b.String(), entities, nil
}

// sortEntities orders entities as Telegram returns them: by offset, and the
// longer first at equal offsets.
func sortEntities(es []MessageEntity) {
	sort.SliceStable(es, func(a, b int) bool {
		if es[a].Offset != es[b].Offset {
			return es[a].Offset < es[b].Offset
		}
		return es[a].Length > es[b].Length
	})
}
