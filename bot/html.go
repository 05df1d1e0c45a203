package bot

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxMessageLen is Telegram's limit on a message's text. The splitter counts
// the HTML source in UTF-16 code units, tags included, which is never less
// than what Telegram counts after parsing, so every part fits.
const maxMessageLen = 4096

// esc makes untrusted text safe inside Telegram HTML: it escapes the three
// characters the parser treats specially (and the quote, for attributes),
// drops NUL and other control characters except newline and tab, and
// replaces invalid UTF-8.
func esc(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune('\uFFFD')
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r):
			// dropped: NUL and friends have no place in a chat message
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// u16len is the length of s in UTF-16 code units, as Telegram counts.
func u16len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// htmlToken is a piece of HTML source: a tag, an entity, or one rune of text.
type htmlToken struct {
	s     string
	open  string // tag name when s opens a tag
	close string // tag name when s closes a tag
}

func tokenizeHTML(s string) []htmlToken {
	var toks []htmlToken
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				toks = append(toks, htmlToken{s: s[i:]})
				return toks
			}
			tag := s[i : i+j+1]
			t := htmlToken{s: tag}
			inner := strings.TrimSuffix(strings.TrimPrefix(tag, "<"), ">")
			if name, ok := strings.CutPrefix(inner, "/"); ok {
				t.close = strings.ToLower(strings.TrimSpace(name))
			} else {
				name, _, _ := strings.Cut(inner, " ")
				t.open = strings.ToLower(name)
			}
			toks = append(toks, t)
			i += j + 1
		case '&':
			j := strings.IndexByte(s[i:], ';')
			if j < 0 || j > 10 {
				toks = append(toks, htmlToken{s: "&"})
				i++
				continue
			}
			toks = append(toks, htmlToken{s: s[i : i+j+1]})
			i += j + 1
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			toks = append(toks, htmlToken{s: s[i : i+size]})
			i += size
		}
	}
	return toks
}

// splitHTML cuts well-formed Telegram HTML into parts of at most limit
// UTF-16 units. It prefers to cut between paragraphs, then between lines,
// then between words; it never cuts inside a tag or an entity, and it closes
// the tags open at a cut and reopens them in the next part, so every part is
// well-formed on its own.
func splitHTML(s string, limit int) []string {
	if u16len(s) <= limit {
		return []string{s}
	}
	toks := tokenizeHTML(s)
	var parts []string
	var stack []htmlToken // open tags at the current position
	for start := 0; start < len(toks); {
		prefix := ""
		for _, t := range stack {
			prefix += t.s
		}
		budget := limit - u16len(prefix)
		// Walk forward, tracking the best cut point of each kind.
		var (
			used                           int
			local                          = append([]htmlToken(nil), stack...)
			cutPara, cutLine, cutWord, cut = -1, -1, -1, -1
			stackAt                        = map[int][]htmlToken{}
			closeLen                       = func(st []htmlToken) int {
				n := 0
				for _, t := range st {
					n += len(t.open) + 3
				}
				return n
			}
		)
		i := start
		for ; i < len(toks); i++ {
			t := toks[i]
			next := local
			if t.open != "" {
				next = append(append([]htmlToken(nil), local...), t)
			} else if t.close != "" && len(local) > 0 {
				next = local[:len(local)-1]
			}
			if used+u16len(t.s)+closeLen(next) > budget {
				break
			}
			used += u16len(t.s)
			local = next
			// A cut after token i is possible anywhere; prefer whitespace.
			snapshot := append([]htmlToken(nil), local...)
			stackAt[i+1] = snapshot
			cut = i + 1
			switch {
			case t.s == "\n" && i > start && toks[i-1].s == "\n":
				cutPara = i + 1
			case t.s == "\n":
				cutLine = i + 1
			case t.s == " ":
				cutWord = i + 1
			}
		}
		if i == len(toks) {
			parts = appendVisible(parts, prefix+joinTokens(toks[start:]))
			break
		}
		end := cut
		for _, c := range []int{cutPara, cutLine, cutWord} {
			if c > start && c*4 >= (start+cut)*2 { // use a soft cut unless it wastes over half the part
				end = c
				break
			}
		}
		if end <= start {
			// A single token larger than the budget: cannot happen for our
			// output, but never loop forever.
			end = start + 1
		}
		st := stackAt[end]
		var b strings.Builder
		b.WriteString(prefix)
		b.WriteString(joinTokens(toks[start:end]))
		for k := len(st) - 1; k >= 0; k-- {
			b.WriteString("</" + st[k].open + ">")
		}
		parts = appendVisible(parts, strings.TrimRight(b.String(), " \n"))
		stack = st
		start = end
		for start < len(toks) && (toks[start].s == "\n" || toks[start].s == " ") {
			start++
		}
	}
	return parts
}

// appendVisible appends part unless it shows nothing but white space:
// Telegram refuses an empty message, and a run of blank lines can fill a
// part of its own.
func appendVisible(parts []string, part string) []string {
	for _, t := range tokenizeHTML(part) {
		if t.open == "" && t.close == "" && strings.TrimSpace(t.s) != "" {
			return append(parts, part)
		}
	}
	return parts
}

func joinTokens(toks []htmlToken) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.s)
	}
	return b.String()
}
