package knowledge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/caunoi/caunoi"
)

// DraftsDir is the folder of the handbook's entry ids that drafts use; Load
// skips directories with this name, so a draft is not served until an
// editor moves it into the handbook.
const DraftsDir = "drafts"

// Limits of draft names and titles.
const (
	// MaxDraftSlug bounds the base name of a draft file, in bytes, before
	// the "-2" suffix and ".md".
	MaxDraftSlug = 64
	// maxDraftTitle bounds the title taken from the question, in characters.
	maxDraftTitle = 100
	// maxDraftTries bounds the numbered names tried when names are taken.
	maxDraftTries = 1000
	// draftReview is how long after its date a draft is due for review.
	draftReview = 365 * 24 * time.Hour
)

// vnZone is the zone of the dates written into drafts.
var vnZone = time.FixedZone("ICT", 7*3600)

// DraftSlug returns the base name of the draft of ticket with title: the
// ticket number and the title, folded to ASCII, lower case, words joined by
// "-", at most MaxDraftSlug bytes. It holds only [a-z0-9-], so it can never
// name another directory.
func DraftSlug(ticket, title string) string {
	s := strings.Trim(anchorSlugOrEmpty(ticket)+"-"+anchorSlugOrEmpty(title), "-")
	if len(s) > MaxDraftSlug {
		s = s[:MaxDraftSlug]
		if i := strings.LastIndexByte(s, '-'); i > MaxDraftSlug/2 {
			s = s[:i]
		}
		s = strings.Trim(s, "-")
	}
	if s == "" {
		return "ban-nhap"
	}
	return s
}

// anchorSlugOrEmpty is anchorSlug, but empty for text without letters or
// digits.
func anchorSlugOrEmpty(s string) string {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return anchorSlug(s)
		}
	}
	return ""
}

// DraftTitle makes an entry title from a question: its first line, spaces
// collapsed, the first letter upper case, a final "?" dropped, at most 100
// characters.
func DraftTitle(question string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(question), "\n")
	line = strings.Join(strings.Fields(line), " ")
	line = strings.TrimRight(line, " ?")
	if utf8.RuneCountInString(line) > maxDraftTitle {
		r := []rune(line)[:maxDraftTitle-1]
		cut := string(r)
		if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
			cut = cut[:i]
		}
		line = strings.TrimRight(cut, " ,;:") + "…"
	}
	if line == "" {
		return "Câu hỏi chưa có tiêu đề"
	}
	r, n := utf8.DecodeRuneInString(line)
	return string(unicode.ToUpper(r)) + line[n:]
}

// RenderDraft returns the Markdown of a handbook entry drafted from src,
// with the entry id "drafts/"+name: front matter (id, title, department,
// the question under questions, source, updated and review_by from now,
// in Vietnam's time) and the department's answers as sections. The result
// passes Load once the file is moved into the handbook; text people wrote
// is escaped so that it cannot add front matter or headings.
func RenderDraft(src caunoi.DraftSource, name string, now time.Time) []byte {
	t := src.Ticket
	day := now.In(vnZone)
	updated := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("---\n")
	b.WriteString("id: " + path.Join(DraftsDir, name) + "\n")
	b.WriteString("title: " + yamlQuote(DraftTitle(t.Question)) + "\n")
	b.WriteString("department: " + yamlQuote(t.Department) + "\n")
	b.WriteString("questions:\n")
	b.WriteString("  - " + yamlQuote(strings.Join(strings.Fields(t.Question), " ")) + "\n")
	b.WriteString("source: " + yamlQuote(t.Number) + "\n")
	b.WriteString("updated: " + updated.Format(dateLayout) + "\n")
	b.WriteString("review_by: " + updated.Add(draftReview).Format(dateLayout) + "\n")
	b.WriteString("---\n")
	b.WriteString("## Tình huống\n\n")
	b.WriteString(mdEscape(t.Question) + "\n")
	who := src.Department.Name
	if who == "" {
		who = t.Department
	}
	for i, ev := range src.Answers {
		heading := "Hướng dẫn của " + who
		if len(src.Answers) > 1 {
			heading += " (" + strconv.Itoa(i+1) + ")"
		}
		b.WriteString("\n## " + mdEscapeLine(heading) + "\n\n")
		b.WriteString(mdEscape(ev.Text) + "\n")
		if n := len(ev.Attachments); n > 0 {
			fmt.Fprintf(&b, "\n*Kèm %d tệp trong phiếu %s.*\n", n, mdEscapeLine(t.Number))
		}
	}
	return []byte(b.String())
}

// yamlQuote writes s as a YAML double-quoted scalar.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// mdEscape makes text written by a person safe as Markdown paragraphs:
// control characters are dropped, and no line can start a heading, a
// setext underline, front matter or raw HTML.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = mdEscapeLine(l)
	}
	return strings.Join(lines, "\n")
}

// mdEscapeLine escapes one line; see mdEscape.
func mdEscapeLine(l string) string {
	l = strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) || r == 0xfeff {
			return -1
		}
		return r
	}, l)
	t := strings.TrimLeft(l, " ")
	if t == "" {
		return ""
	}
	switch {
	case t[0] == '#' || t[0] == '<' || strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~"):
		// Headings, raw HTML and code fences would change the structure; a
		// backslash keeps the character as text.
		return `\` + t
	case strings.Trim(t, "-=*_+ ") == "":
		// A thematic break or a setext underline.
		return `\` + t
	}
	return t
}

// WriteDraft writes the draft of src into dir as a new file and returns its
// name. The name is DraftSlug of the ticket number and title, then "-2",
// "-3"… when taken, then ".md"; an existing file is never replaced. The
// file is written to a temporary name, synced, and linked into place in one
// step, so that readers see either no file or all of it. dir is created if
// missing; nothing is written outside it.
func WriteDraft(dir string, src caunoi.DraftSource, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write draft: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("write draft: %w", err)
	}
	defer root.Close()
	base := DraftSlug(src.Ticket.Number, DraftTitle(src.Ticket.Question))
	for n := 1; n <= maxDraftTries; n++ {
		slug := base
		if n > 1 {
			slug += "-" + strconv.Itoa(n)
		}
		name := slug + ".md"
		if _, err := root.Lstat(name); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("write draft %s: %w", name, err)
		}
		err := writeExclusive(root, name, RenderDraft(src, slug, now))
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("write draft %s: %w", name, err)
		}
		return name, nil
	}
	return "", fmt.Errorf("write draft of %s: %d names taken: %w", src.Ticket.Number, maxDraftTries, caunoi.ErrConflict)
}

// writeExclusive writes data to name in root atomically, failing with an
// error matching fs.ErrExist when name exists.
func writeExclusive(root *os.Root, name string, data []byte) (err error) {
	tmp := "." + name + "." + strconv.FormatInt(time.Now().UnixNano(), 36) + ".tmp"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := root.Remove(tmp); rerr != nil && err == nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = rerr
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// A hard link never replaces an existing name, unlike rename.
	if err := root.Link(tmp, name); err != nil {
		return err
	}
	if d, err := root.Open("."); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
