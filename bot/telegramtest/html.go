package telegramtest

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Len is the length of s in UTF-16 code units, the unit of Telegram's
// offsets and length limits.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// entityError is a parse failure, worded after Telegram's
// "can't parse entities: ..." descriptions.
type entityError struct{ msg string }

func (e *entityError) Error() string { return e.msg }

func entityErrorf(format string, args ...any) *entityError {
	return &entityError{msg: fmt.Sprintf(format, args...)}
}

// htmlTag describes a tag of Telegram's HTML subset.
type htmlTag struct {
	entity string // entity type it produces
}

var htmlTags = map[string]htmlTag{
	"b": {"bold"}, "strong": {"bold"},
	"i": {"italic"}, "em": {"italic"},
	"u": {"underline"}, "ins": {"underline"},
	"s": {"strikethrough"}, "strike": {"strikethrough"}, "del": {"strikethrough"},
	"tg-spoiler": {"spoiler"}, "span": {"spoiler"},
	"a":          {"text_link"},
	"code":       {"code"},
	"pre":        {"pre"},
	"blockquote": {"blockquote"},
	"tg-emoji":   {"custom_emoji"},
}

type openTag struct {
	name      string
	offset    int // UTF-16 offset in the output text
	entity    MessageEntity
	byteStart int
}

// parseHTML turns text written in Telegram's HTML parse mode into plain text
// and entities. It accepts exactly the documented subset: the tags b, strong,
// i, em, u, ins, s, strike, del, a href, code, pre (optionally holding one
// code with class="language-x"), tg-spoiler, span class="tg-spoiler",
// blockquote (optionally expandable) and tg-emoji emoji-id; the named
// entities &lt; &gt; &amp; &quot; and numeric entities. Tags must nest
// properly, and code and pre hold no other tags. Anything else is an error.
func parseHTML(src string) (string, []MessageEntity, error) {
	var out strings.Builder
	pos := 0 // UTF-16 length of out
	var stack []openTag
	var entities []MessageEntity

	i := 0
	for i < len(src) {
		c := src[i]
		switch c {
		case '<':
			end := strings.IndexByte(src[i:], '>')
			if end < 0 {
				return "", nil, entityErrorf("Unclosed start tag at byte offset %d", i)
			}
			raw := src[i+1 : i+end]
			if strings.HasPrefix(raw, "/") {
				name := strings.ToLower(strings.TrimSpace(raw[1:]))
				if len(stack) == 0 {
					return "", nil, entityErrorf("Unexpected end tag at byte offset %d", i)
				}
				top := stack[len(stack)-1]
				if name != top.name {
					return "", nil, entityErrorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", i, top.name, name)
				}
				stack = stack[:len(stack)-1]
				e := top.entity
				e.Offset = top.offset
				e.Length = pos - top.offset
				if e.Type == "code" && len(stack) > 0 && stack[len(stack)-1].name == "pre" {
					// <pre><code class="language-x"> gives the language to pre.
					stack[len(stack)-1].entity.Language = e.Language
				} else if e.Length > 0 {
					entities = append(entities, e)
				}
			} else {
				name, attrs, err := parseStartTag(raw, i)
				if err != nil {
					return "", nil, err
				}
				if _, ok := htmlTags[name]; !ok {
					return "", nil, entityErrorf("Unsupported start tag \"%s\" at byte offset %d", name, i)
				}
				e, err := tagEntity(name, attrs, i)
				if err != nil {
					return "", nil, err
				}
				if len(stack) > 0 {
					parent := stack[len(stack)-1].name
					if parent == "code" || (parent == "pre" && name != "code") {
						return "", nil, entityErrorf("Can't use tag \"%s\" inside \"%s\" at byte offset %d", name, parent, i)
					}
					if name == "blockquote" {
						for _, o := range stack {
							if o.name == "blockquote" {
								return "", nil, entityErrorf("Can't nest blockquote entities at byte offset %d", i)
							}
						}
					}
				}
				stack = append(stack, openTag{name: name, offset: pos, entity: e, byteStart: i})
			}
			i += end + 1
		case '&':
			r, n, err := parseHTMLEntity(src[i:], i)
			if err != nil {
				return "", nil, err
			}
			out.WriteRune(r)
			pos += utf16.RuneLen(r)
			i += n
		default:
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				return "", nil, entityErrorf("Strings must be encoded in UTF-8")
			}
			out.WriteRune(r)
			pos += utf16.RuneLen(r)
			i += n
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return "", nil, entityErrorf("Can't find end tag corresponding to start tag \"%s\"", top.name)
	}
	sortEntities(entities)
	return out.String(), entities, nil
}

// parseStartTag splits "name attr=value ..." into the lower-cased name and
// attributes. Values may be double-quoted, single-quoted or bare; they may
// hold HTML entities.
func parseStartTag(raw string, at int) (string, map[string]string, error) {
	raw = strings.TrimSuffix(raw, "/")
	j := 0
	for j < len(raw) && !isSpace(raw[j]) {
		j++
	}
	name := strings.ToLower(raw[:j])
	if name == "" {
		return "", nil, entityErrorf("Empty tag name at byte offset %d", at)
	}
	attrs := map[string]string{}
	rest := raw[j:]
	for {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if rest == "" {
			break
		}
		k := 0
		for k < len(rest) && rest[k] != '=' && !isSpace(rest[k]) {
			k++
		}
		key := strings.ToLower(rest[:k])
		rest = strings.TrimLeftFunc(rest[k:], unicode.IsSpace)
		if !strings.HasPrefix(rest, "=") {
			attrs[key] = ""
			continue
		}
		rest = strings.TrimLeftFunc(rest[1:], unicode.IsSpace)
		var val string
		if rest != "" && (rest[0] == '"' || rest[0] == '\'') {
			q := rest[0]
			end := strings.IndexByte(rest[1:], q)
			if end < 0 {
				return "", nil, entityErrorf("Unclosed attribute value in tag \"%s\" at byte offset %d", name, at)
			}
			val = rest[1 : 1+end]
			rest = rest[2+end:]
		} else {
			k := 0
			for k < len(rest) && !isSpace(rest[k]) {
				k++
			}
			val = rest[:k]
			rest = rest[k:]
		}
		decoded, err := decodeAttr(val, at)
		if err != nil {
			return "", nil, err
		}
		attrs[key] = decoded
	}
	return name, attrs, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func decodeAttr(v string, at int) (string, error) {
	if !strings.Contains(v, "&") {
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		if v[i] == '&' {
			r, n, err := parseHTMLEntity(v[i:], at)
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
			i += n
			continue
		}
		b.WriteByte(v[i])
		i++
	}
	return b.String(), nil
}

// tagEntity builds the entity a start tag opens, checking its attributes.
func tagEntity(name string, attrs map[string]string, at int) (MessageEntity, error) {
	e := MessageEntity{Type: htmlTags[name].entity}
	switch name {
	case "span":
		if attrs["class"] != "tg-spoiler" {
			return e, entityErrorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", at)
		}
	case "a":
		href, ok := attrs["href"]
		if !ok || href == "" {
			return e, entityErrorf("Tag \"a\" must have attribute \"href\" at byte offset %d", at)
		}
		if !validLink(href) {
			return e, entityErrorf("Wrong URL \"%s\" in tag \"a\" at byte offset %d", href, at)
		}
		e.URL = href
	case "code":
		if lang, ok := strings.CutPrefix(attrs["class"], "language-"); ok {
			e.Language = lang
		}
	case "blockquote":
		if _, ok := attrs["expandable"]; ok {
			e.Type = "expandable_blockquote"
		}
	case "tg-emoji":
		id := attrs["emoji-id"]
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return e, entityErrorf("Invalid custom emoji identifier specified at byte offset %d", at)
		}
		e.CustomEmojiID = id
	}
	return e, nil
}

// validLink accepts the link forms Telegram accepts in text_link entities.
func validLink(href string) bool {
	u, err := url.Parse(href)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ftp":
		return u.Host != ""
	case "tg":
		return true
	case "":
		// Telegram prefixes bare domains with http://.
		return strings.Contains(href, ".") && !strings.ContainsAny(href, " \t\n")
	}
	return false
}

// parseHTMLEntity decodes the entity at the start of s. It accepts &lt;
// &gt; &amp; &quot; and numeric entities.
func parseHTMLEntity(s string, at int) (rune, int, error) {
	end := strings.IndexByte(s, ';')
	if end < 0 || end > 12 {
		return 0, 0, entityErrorf("Unsupported HTML entity at byte offset %d", at)
	}
	name := s[1:end]
	switch name {
	case "lt":
		return '<', end + 1, nil
	case "gt":
		return '>', end + 1, nil
	case "amp":
		return '&', end + 1, nil
	case "quot":
		return '"', end + 1, nil
	}
	if num, ok := strings.CutPrefix(name, "#"); ok && num != "" {
		base := 10
		if h, ok := strings.CutPrefix(strings.ToLower(num), "x"); ok {
			num, base = h, 16
		}
		n, err := strconv.ParseUint(num, base, 32)
		if err == nil && n > 0 && n <= unicode.MaxRune && !(n >= 0xD800 && n <= 0xDFFF) {
			return rune(n), end + 1, nil
		}
	}
	return 0, 0, entityErrorf("Unsupported HTML entity \"&%s;\" at byte offset %d", name, at)
}

// trimText removes leading and trailing white space from text, as Telegram
// does, and moves the entities with it.
func trimText(text string, entities []MessageEntity) (string, []MessageEntity) {
	trimmed := strings.TrimLeftFunc(text, unicode.IsSpace)
	lead := utf16Len(text[:len(text)-len(trimmed)])
	trimmed = strings.TrimRightFunc(trimmed, unicode.IsSpace)
	total := utf16Len(trimmed)
	var out []MessageEntity
	for _, e := range entities {
		start := max(e.Offset-lead, 0)
		end := min(e.Offset+e.Length-lead, total)
		if end <= start {
			continue
		}
		e.Offset, e.Length = start, end-start
		out = append(out, e)
	}
	return trimmed, out
}

// commandEntities finds the bot commands and @mentions a client marks in a
// user's text: "/cmd" or "/cmd@botname" at the start or after white space.
func commandEntities(text string) []MessageEntity {
	var out []MessageEntity
	pos := 0
	prev := ' '
	runes := []rune(text)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		if (r == '/' || r == '@') && (unicode.IsSpace(prev) || i == 0) {
			j := i + 1
			for j < len(runes) && isCommandRune(runes[j]) {
				j++
			}
			kind := "bot_command"
			if r == '@' {
				kind = "mention"
			}
			if r == '/' && j < len(runes) && runes[j] == '@' {
				k := j + 1
				for k < len(runes) && isCommandRune(runes[k]) {
					k++
				}
				if k-j-1 >= 3 {
					j = k
				}
			}
			n := j - i - 1
			valid := n >= 1 && n <= 64
			if r == '@' {
				valid = n >= 4 && n <= 32
			}
			if valid && (j == len(runes) || !isCommandRune(runes[j])) {
				length := utf16Len(string(runes[i:j]))
				out = append(out, MessageEntity{Type: kind, Offset: pos, Length: length})
				for ; i < j; i++ {
					pos += utf16.RuneLen(runes[i])
				}
				i--
				prev = runes[i]
				continue
			}
		}
		pos += utf16.RuneLen(r)
		prev = r
	}
	return out
}

func isCommandRune(r rune) bool {
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}
