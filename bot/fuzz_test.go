package bot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// telegramText parses s as Telegram's HTML parse mode does and returns the
// visible text, trimmed of surrounding white space as Telegram trims it. It
// accepts Telegram's documented subset only: the formatting tags, a with a
// usable href, span only as a spoiler, tg-emoji with a numeric id, proper
// nesting, nothing inside code or pre but pre's one code, no blockquote in
// a blockquote, the entities &lt; &gt; &amp; &quot; and numeric ones, and
// valid UTF-8. It is written to be at least as strict as the emulator.
func telegramText(s string) (string, error) {
	tags := map[string]bool{
		"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true, "s": true, "strike": true, "del": true,
		"tg-spoiler": true, "span": true, "a": true, "code": true, "pre": true, "blockquote": true, "tg-emoji": true,
	}
	if !utf8.ValidString(s) {
		return "", errors.New("not UTF-8")
	}
	var out strings.Builder
	var open []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				return "", fmt.Errorf("byte %d: unclosed tag", i)
			}
			raw := s[i+1 : i+j]
			i += j + 1
			if name, ok := strings.CutPrefix(raw, "/"); ok {
				if len(open) == 0 || open[len(open)-1] != strings.ToLower(strings.TrimSpace(name)) {
					return "", fmt.Errorf("end tag %q does not close %v", name, open)
				}
				open = open[:len(open)-1]
				continue
			}
			name, attrs, _ := strings.Cut(strings.TrimSuffix(raw, "/"), " ")
			name = strings.ToLower(name)
			if !tags[name] {
				return "", fmt.Errorf("tag %q", name)
			}
			if err := checkAttrs(name, attrs); err != nil {
				return "", err
			}
			if n := len(open); n > 0 && (open[n-1] == "code" || open[n-1] == "pre" && name != "code") {
				return "", fmt.Errorf("tag %q inside %q", name, open[n-1])
			}
			if name == "blockquote" {
				for _, o := range open {
					if o == "blockquote" {
						return "", errors.New("nested blockquote")
					}
				}
			}
			open = append(open, name)
		case '&':
			r, n, err := htmlEntity(s[i:])
			if err != nil {
				return "", fmt.Errorf("byte %d: %w", i, err)
			}
			out.WriteRune(r)
			i += n
		default:
			out.WriteByte(s[i])
			i++
		}
	}
	if len(open) > 0 {
		return "", fmt.Errorf("unclosed %v", open)
	}
	return strings.TrimFunc(out.String(), unicode.IsSpace), nil
}

func checkAttrs(name, attrs string) error {
	attr := func(key string) string {
		for _, f := range strings.Fields(attrs) {
			if k, v, ok := strings.Cut(f, "="); ok && strings.ToLower(k) == key {
				return strings.Trim(v, `"'`)
			}
		}
		return ""
	}
	switch name {
	case "a":
		u, err := url.Parse(attr("href"))
		if err != nil || !(u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "tg") || u.Scheme != "tg" && u.Host == "" {
			return fmt.Errorf("a href %q", attr("href"))
		}
	case "span":
		if attr("class") != "tg-spoiler" {
			return errors.New("span without class tg-spoiler")
		}
	case "tg-emoji":
		if _, err := strconv.ParseInt(attr("emoji-id"), 10, 64); err != nil {
			return errors.New("tg-emoji without emoji-id")
		}
	}
	return nil
}

func htmlEntity(s string) (rune, int, error) {
	end := strings.IndexByte(s, ';')
	if end < 0 || end > 10 {
		return 0, 0, errors.New("bare &")
	}
	switch name := s[1:end]; name {
	case "lt":
		return '<', end + 1, nil
	case "gt":
		return '>', end + 1, nil
	case "amp":
		return '&', end + 1, nil
	case "quot":
		return '"', end + 1, nil
	default:
		num, ok := strings.CutPrefix(name, "#")
		base := 10
		if h, hex := strings.CutPrefix(strings.ToLower(num), "x"); hex {
			num, base = h, 16
		}
		n, err := strconv.ParseUint(num, base, 32)
		if !ok || err != nil || n == 0 || n > unicode.MaxRune || n >= 0xD800 && n <= 0xDFFF {
			return 0, 0, fmt.Errorf("entity &%s;", name)
		}
		return rune(n), end + 1, nil
	}
}

// checkPart fails unless part is a message Telegram takes: valid HTML,
// not empty once trimmed, at most 4096 UTF-16 units of visible text.
func checkPart(t *testing.T, what, part string) {
	t.Helper()
	text, err := telegramText(part)
	switch {
	case err != nil:
		t.Fatalf("%s: not Telegram HTML (%v): %q", what, err, part)
	case text == "":
		t.Fatalf("%s: empty message: %q", what, part)
	case len(utf16.Encode([]rune(text))) > maxMessageLen:
		t.Fatalf("%s: %d characters, over %d", what, len(utf16.Encode([]rune(text))), maxMessageLen)
	}
}

// renderInput is what the renderers show that people or editors wrote.
type renderInput struct {
	title, section, text, legal string // a handbook passage
	question, name, note        string // a ticket: question, asker, a reply
	repeat                      uint16 // how often the passage text and question repeat, to reach the splitter
}

var renderNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// renderAll renders in by every renderer and returns each message with a
// name, as the bot would hand it to splitHTML.
func renderAll(in renderInput) map[string]string {
	// Repeated up to about 5000 characters: past the 4096 limit, without
	// making each run slow.
	n := int(in.repeat) % 64
	text := strings.Repeat(in.text+" ", min(n, 5000/(utf8.RuneCountInString(in.text)+1))+1)
	question := strings.Repeat(in.question+" ", min(n, 5000/(utf8.RuneCountInString(in.question)+1))+1)
	p := caunoi.Passage{
		ID: "e#s", EntryID: "e", Title: in.title, Section: in.section, Text: text, Department: "tu-phap",
		LegalBasis: []string{in.legal, in.title}, Updated: renderNow.AddDate(0, -8, 0), ReviewBy: renderNow.AddDate(0, -1, 0),
	}
	hits := []caunoi.Hit{{Passage: p}, {Passage: caunoi.Passage{Title: in.section, Section: in.title}}, {Passage: caunoi.Passage{Title: in.legal}}, {Passage: p}}
	tk := caunoi.Ticket{
		Number: "TP-2026-" + in.section, Department: "tu-phap", Question: question, Status: caunoi.Status(in.note),
		FirstResponseDue: renderNow.Add(4 * time.Hour), ResolutionDue: renderNow.Add(72 * time.Hour),
		Results: []caunoi.Candidate{{Title: in.title, Section: in.section, Confidence: caunoi.ConfidenceLow}, {Title: in.legal}},
	}
	v := ticketView{T: tk, Department: in.legal, Asker: in.name, Commune: in.section, Actor: in.name}
	out := map[string]string{
		"answer":       renderAnswer(caunoi.Hit{Passage: p}, renderNow),
		"full":         renderFull(p, renderNow),
		"unsure":       renderUnsure(caunoi.SearchResult{Hits: hits}),
		"unsure-empty": renderUnsure(caunoi.SearchResult{}),
		"card":         renderCard(v),
		"ticket line":  esc(txtMyTickets) + "\n" + renderTicketLine(tk),
	}
	for _, kind := range []caunoi.NoticeKind{
		caunoi.NoticeTicketOpened, caunoi.NoticeClaimed, caunoi.NoticeReplied, caunoi.NoticeInfoRequested,
		caunoi.NoticeTransferred, caunoi.NoticeResolved, caunoi.NoticeClosed, caunoi.NoticeNewTicket,
		caunoi.NoticeFollowUp, caunoi.NoticeTransferredOut, caunoi.NoticeConfirmed, caunoi.NoticeReopened, caunoi.NoticeRated,
	} {
		for _, to := range []caunoi.UserID{0, 42} {
			nt := caunoi.Notice{Kind: kind, To: to, Department: "tu-phap", Ticket: tk.Number, Text: in.note + question, Rating: int(in.repeat % 7)}
			if s, ok := renderNotice(nt, v); ok {
				out[fmt.Sprintf("notice %s to %d", kind, to)] = s
			}
		}
	}
	b := &Bot{
		desk: &caunoi.Desk{Departments: []caunoi.Department{{Code: "tu-phap", Name: in.legal}}},
		sign: &signer{key: []byte("fuzz-signing-key-0123456789")}, log: slog.New(slog.DiscardHandler),
	}
	d := draft{Question: "q1", Text: question, Department: "tu-phap", Key: "k"}
	out["draft"], _ = b.renderDraft(42, d)
	d.Attachments = make([]caunoi.Attachment, int(in.repeat%3))
	out["draft with files"], _ = b.renderDraft(42, d)
	return out
}

// FuzzRenderHTML renders fuzzed handbook and ticket text with every
// renderer and splits the result as the bot does: every part must be a
// message Telegram takes.
func FuzzRenderHTML(f *testing.F) {
	f.Add("Đăng ký khai sinh", "Hồ sơ", "Tờ khai & giấy chứng sinh.\n\nNộp tại UBND xã.", "Luật Hộ tịch 2014", "khai sinh quá hạn", "Lan", "Đã trả lời", uint16(0))
	f.Add("<b>", "</i>", "&amp; &#0; &#xD800; &bogus; <a href=\"javascript:x\">", "*x* [y](tg://z)", "<blockquote>", "\x00\u202e", "<pre><code>", uint16(39))
	f.Add("🙏🏽", "👨‍👩‍👧", strings.Repeat("ệ", 300), "\n\n\n", strings.Repeat("<&>", 400), " ", "\t", uint16(20))
	f.Add("", "", "", "", "", "", "", uint16(63))
	f.Add("a", "b", strings.Repeat(" ", 200)+"x", "c", strings.Repeat("\n", 300), "d", "e", uint16(30))
	f.Fuzz(func(t *testing.T, title, section, text, legal, question, name, note string, repeat uint16) {
		in := renderInput{title, section, text, legal, question, name, note, repeat}
		for what, msg := range renderAll(in) {
			for i, part := range splitHTML(msg, maxMessageLen) {
				checkPart(t, fmt.Sprintf("%s, part %d", what, i+1), part)
			}
		}
	})
}

// hostileRenderInputs are inputs that the emulator judges in
// TestRenderedPartsPassEmulator.
var hostileRenderInputs = []renderInput{
	{"Đăng ký khai sinh", "Hồ sơ", "Tờ khai & giấy chứng sinh.", "Luật Hộ tịch 2014", "khai sinh quá hạn", "Lan", "Đã trả lời", 0},
	{"<b>", "</i>", "&amp; &#0; <a href=\"javascript:x\">", "*x* [y](tg://z)", "<blockquote>", "\x00\u202e", "<pre><code>", 39},
	{"🙏🏽", "👨‍👩‍👧", strings.Repeat("ệ", 300), "\n\n\n", strings.Repeat("<&>", 400), " ", "\t", 20},
	{"a", "b", strings.Repeat(" ", 200) + "x", "c", strings.Repeat("\n", 300), "d", "e", 30},
	{"x", "y", strings.Repeat("chữ ký số &amp; ", 200), "z", strings.Repeat("\"", 1000), "\xff\xfe", "\x7f", 40},
}

// TestRenderedPartsPassEmulator sends every part of every rendering of
// hostile input to the emulator over HTTP, which parses it as Telegram
// does; and it checks that the local checker, which the fuzz target uses,
// refuses what the emulator refuses.
func TestRenderedPartsPassEmulator(t *testing.T) {
	srv := telegramtest.New(t)
	u := srv.AddUser(telegramtest.User{FirstName: "Lan"})
	if _, err := srv.SendText(u.ID, u.ID, "/start"); err != nil {
		t.Fatal(err)
	}
	send := func(text string) (ok bool, desc string) {
		body, _ := json.Marshal(map[string]any{"chat_id": u.ID, "text": text, "parse_mode": "HTML"})
		resp, err := http.Post(srv.URL()+"/bot"+srv.Token()+"/sendMessage", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct {
			OK          bool   `json:"ok"`
			Description string `json:"description"`
		}
		data, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("emulator answered %s", data)
		}
		return r.OK, r.Description
	}
	parts := 0
	for i, in := range hostileRenderInputs {
		for what, msg := range renderAll(in) {
			for k, part := range splitHTML(msg, maxMessageLen) {
				parts++
				if ok, desc := send(part); !ok {
					t.Errorf("input %d, %s, part %d: the emulator refused it: %s\n%q", i, what, k+1, desc, part)
				}
				if _, err := telegramText(part); err != nil {
					t.Errorf("input %d, %s, part %d: the checker refused what the emulator took: %v", i, what, k+1, err)
				}
			}
		}
	}
	t.Logf("%d parts accepted", parts)
	bad := []string{
		"<b>x", "x</b>", "<b>x</i>", "a & b", "&bogus;", "&#xD800;", "<x>y</x>", "<a>x</a>", `<a href="javascript:x">y</a>`,
		"<code><b>x</b></code>", "<blockquote><blockquote>x</blockquote></blockquote>", "<span>x</span>", "  \n ", "<b></b>",
		strings.Repeat("x", maxMessageLen+1), strings.Repeat("🙏", maxMessageLen/2+1),
	}
	for _, s := range bad {
		ok, _ := send(s)
		_, err := telegramText(s)
		if ok {
			t.Errorf("the emulator took %.40q; the case is wrong", s)
		}
		if err == nil && !ok {
			text, _ := telegramText(s)
			if text != "" && len(utf16.Encode([]rune(text))) <= maxMessageLen {
				t.Errorf("the checker takes %.40q, which the emulator refuses", s)
			}
		}
	}
}

// TestSplitHTMLDropsBlankParts is the case FuzzRenderHTML found: a quote
// holding a run of blank lines longer than a message split into a part
// that shows nothing, which Telegram refuses.
func TestSplitHTMLDropsBlankParts(t *testing.T) {
	s := "<b>Phiếu TP-1</b>\n\n<blockquote>a" + strings.Repeat("\n \n", 2000) + "</blockquote>"
	parts := splitHTML(s, maxMessageLen)
	if len(parts) != 1 {
		t.Errorf("got %d parts, want 1: %q", len(parts), parts)
	}
	for i, p := range parts {
		checkPart(t, fmt.Sprintf("part %d", i+1), p)
	}
}
