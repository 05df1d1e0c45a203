// Package knowledge turns the handbook into answers. Load reads and
// validates the Markdown entries, departments and glossary; the rest of the
// package indexes the passages and searches them.
package knowledge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	yamlparser "github.com/goccy/go-yaml/parser"
	"github.com/yuin/goldmark"
	mdast "github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	"golang.org/x/text/unicode/norm"

	"github.com/caunoi/caunoi"
)

// Names of the handbook's YAML files, at the root of the handbook directory.
const (
	DepartmentsFile = "departments.yaml"
	GlossaryFile    = "glossary.yaml"
)

// MaxFileSize is the largest handbook file Load accepts, in bytes.
const MaxFileSize = 1 << 20

// LeadAnchor is the anchor of the passage made from an entry's text before
// its first "##" heading.
const LeadAnchor = "tong-quan"

// dateLayout is how front matter writes dates.
const dateLayout = "2006-01-02"

// Entry is one handbook file: a procedure or topic, split into passages.
type Entry struct {
	ID, Title, Department, File string
	// Line is the line where the front matter starts (1).
	Line                           int
	Questions, LegalBasis, Aliases []string
	// Source records where a draft came from, such as a ticket number.
	Source            string
	Updated, ReviewBy time.Time
	// Passages are in document order. Each carries the entry's questions,
	// legal basis and dates.
	Passages []caunoi.Passage
}

// Stale reports whether the entry is past its review date at now.
func (e Entry) Stale(now time.Time) bool {
	return !e.ReviewBy.IsZero() && now.After(e.ReviewBy)
}

// Handbook is the loaded content. It is not modified after Load returns, so
// it is safe for concurrent reads.
type Handbook struct {
	// Entries are sorted by ID.
	Entries []Entry
	// Passages holds all passages: entry order, then document order.
	Passages    []caunoi.Passage
	Departments []caunoi.Department
	Glossary    Glossary
	// Version is the first 12 hex characters of a SHA-256 over the paths and
	// bytes of all loaded files, in path order.
	Version string
}

// Department returns the department with the given code.
func (h *Handbook) Department(code string) (caunoi.Department, bool) {
	for _, d := range h.Departments {
		if d.Code == code {
			return d, true
		}
	}
	return caunoi.Department{}, false
}

// Entry returns the entry with the given id.
func (h *Handbook) Entry(id string) (Entry, bool) {
	i := sort.Search(len(h.Entries), func(i int) bool { return h.Entries[i].ID >= id })
	if i < len(h.Entries) && h.Entries[i].ID == id {
		return h.Entries[i], true
	}
	return Entry{}, false
}

// Load reads a handbook from fsys, whose root is the handbook directory:
// departments.yaml and glossary.yaml at the root, entries as Markdown files
// with YAML front matter below it. It ignores files that are neither
// Markdown nor one of the two YAML files, every README.md, directories whose
// names start with "." or "_", and directories named "drafts".
//
// Load always returns every problem it found, sorted by file and line. The
// Handbook is nil when any problem is an error; warnings alone (an entry
// past its review_by date at now) still give a Handbook.
func Load(fsys fs.FS, now time.Time) (*Handbook, Problems) {
	l := &handbookLoader{fsys: fsys, now: now}
	h := l.load()
	sortProblems(l.problems)
	if len(l.problems.Errors()) > 0 {
		return nil, l.problems
	}
	return h, l.problems
}

// handbookLoader carries the state of one Load.
type handbookLoader struct {
	fsys     fs.FS
	now      time.Time
	problems Problems
	md       parser.Parser
}

func (l *handbookLoader) errorf(file string, line int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	l.problems = append(l.problems, Problem{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (l *handbookLoader) warnf(file string, line int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	l.problems = append(l.problems, Problem{File: file, Line: line, Warning: true, Message: fmt.Sprintf(format, args...)})
}

func (l *handbookLoader) load() *Handbook {
	paths := l.listFiles()
	hash := sha256.New()
	sources := make(map[string][]byte, len(paths))
	for _, p := range paths {
		raw, ok := l.readSource(p)
		if !ok {
			continue
		}
		fmt.Fprintf(hash, "%s\x00%d\x00", p, len(raw))
		hash.Write(raw)
		sources[p] = cleanSource(raw)
	}

	h := &Handbook{Version: hex.EncodeToString(hash.Sum(nil))[:12]}
	deptLines := map[string]int{}
	if src, ok := sources[DepartmentsFile]; ok {
		h.Departments, deptLines = l.parseDepartments(src)
	} else if !l.hasProblem(DepartmentsFile) {
		l.errorf(DepartmentsFile, 1, "không tìm thấy %s ở gốc sổ tay", DepartmentsFile)
	}
	if src, ok := sources[GlossaryFile]; ok {
		h.Glossary = l.parseGlossary(src)
	}

	l.md = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough)).Parser()
	firstID := map[string]parsedEntry{}
	for _, p := range paths {
		src, ok := sources[p]
		if !ok || !strings.HasSuffix(p, ".md") {
			continue
		}
		pe, ok := l.parseEntry(p, src)
		if e := pe.Entry; e.Department != "" && len(h.Departments) > 0 {
			if _, known := deptLines[e.Department]; !known {
				l.errorf(p, pe.keyLine("department"), "department %q không có trong %s; mã gần nhất: %s",
					e.Department, DepartmentsFile, strings.Join(nearestCodes(e.Department, h.Departments, 3), ", "))
			}
		}
		if pe.ID == "" {
			continue
		}
		if prev, dup := firstID[pe.ID]; dup {
			l.errorf(p, pe.keyLine("id"), "id %q trùng với mục %s:%d", pe.ID, prev.File, prev.keyLine("id"))
			continue
		}
		firstID[pe.ID] = pe
		if ok {
			h.Entries = append(h.Entries, pe.Entry)
		}
	}

	sort.Slice(h.Entries, func(i, j int) bool { return h.Entries[i].ID < h.Entries[j].ID })
	for _, e := range h.Entries {
		h.Passages = append(h.Passages, e.Passages...)
	}
	return h
}

func (l *handbookLoader) hasProblem(file string) bool {
	for _, p := range l.problems {
		if p.File == file {
			return true
		}
	}
	return false
}

// listFiles returns the paths Load reads, in lexical order.
func (l *handbookLoader) listFiles() []string {
	var paths []string
	err := fs.WalkDir(l.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			l.errorf(p, 1, "không đọc được: %v", err)
			if d != nil && d.IsDir() && p != "." {
				return fs.SkipDir
			}
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "drafts") {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case p == DepartmentsFile || p == GlossaryFile:
			paths = append(paths, p)
		case strings.HasSuffix(name, ".md") && name != "README.md" &&
			!strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_"):
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		l.errorf(".", 1, "không đọc được thư mục sổ tay: %v", err)
	}
	sort.Strings(paths)
	return paths
}

// readSource reads one file and checks that it is UTF-8 text of an
// acceptable size.
func (l *handbookLoader) readSource(p string) ([]byte, bool) {
	f, err := l.fsys.Open(p)
	if err != nil {
		l.errorf(p, 1, "không mở được tệp: %v", err)
		return nil, false
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		l.errorf(p, 1, "không đọc được tệp: %v", err)
		return nil, false
	}
	if len(raw) > MaxFileSize {
		l.errorf(p, 1, "tệp lớn hơn 1 MiB; hãy tách thành nhiều mục nhỏ")
		return nil, false
	}
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		l.errorf(p, lineAt(raw, i), "tệp chứa byte NUL, không phải văn bản thuần")
		return nil, false
	}
	if !utf8.Valid(raw) {
		l.errorf(p, lineAt(raw, invalidUTF8At(raw)), "tệp không phải UTF-8 hợp lệ; hãy lưu lại với mã hóa UTF-8")
		return nil, false
	}
	return raw, true
}

// cleanSource drops a byte order mark and turns CRLF line ends into LF;
// line numbers do not change.
func cleanSource(raw []byte) []byte {
	src := bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if bytes.Contains(src, []byte("\r\n")) {
		src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	}
	return src
}

// lineAt returns the 1-based line of byte offset i in b.
func lineAt(b []byte, i int) int {
	if i > len(b) {
		i = len(b)
	}
	return bytes.Count(b[:i], []byte("\n")) + 1
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// Front matter.

var frontMatterKeys = []string{"id", "title", "department", "questions", "legal_basis", "updated", "review_by", "aliases", "source"}

// entryIDPattern is what an entry id may look like: lowercase ASCII words
// separated by "/".
var entryIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$`)

// parsedEntry is an entry with the lines of its front matter keys.
type parsedEntry struct {
	Entry
	keyLines map[string]int
}

// keyLine returns the line of a front matter key, or the entry's first line
// when the key is absent.
func (pe parsedEntry) keyLine(key string) int {
	if n, ok := pe.keyLines[key]; ok {
		return n
	}
	return pe.Line
}

// splitFrontMatter separates the YAML front matter from the Markdown body.
// It returns the YAML text, the file line of the first YAML line, the body
// and the file line where the body starts.
func (l *handbookLoader) splitFrontMatter(file string, src []byte) (yml []byte, ymlLine int, body []byte, bodyLine int, ok bool) {
	first, rest, _ := bytes.Cut(src, []byte("\n"))
	if strings.TrimRight(string(first), " \t") != "---" {
		l.errorf(file, 1, "thiếu phần đầu (front matter): tệp phải bắt đầu bằng dòng \"---\"")
		return nil, 0, nil, 0, false
	}
	line := 2
	off := 0
	for off <= len(rest) {
		end := bytes.IndexByte(rest[off:], '\n')
		var cur []byte
		next := len(rest) + 1
		if end < 0 {
			cur = rest[off:]
		} else {
			cur = rest[off : off+end]
			next = off + end + 1
		}
		if t := strings.TrimRight(string(cur), " \t"); t == "---" || t == "..." {
			if next > len(rest) {
				next = len(rest)
			}
			return rest[:off], 2, rest[next:], line + 1, true
		}
		if end < 0 {
			break
		}
		off = next
		line++
	}
	l.errorf(file, 1, "phần đầu (front matter) mở ở dòng này nhưng không có dòng \"---\" đóng lại")
	return nil, 0, nil, 0, false
}

// parseEntry parses one Markdown file. It reports whether the entry is free
// of errors; a parsedEntry with a non-empty ID is returned even when it is
// not, so that later checks can name it.
func (l *handbookLoader) parseEntry(file string, src []byte) (parsedEntry, bool) {
	pe := parsedEntry{Entry: Entry{File: file, Line: 1}, keyLines: map[string]int{}}
	e := &pe.Entry
	yml, ymlLine, body, bodyLine, ok := l.splitFrontMatter(file, src)
	if !ok {
		return pe, false
	}
	before := len(l.problems.Errors())
	fields, ok := l.yamlMapping(file, yml, ymlLine)
	if !ok {
		return pe, false
	}
	notText := map[string]bool{}
	for _, kv := range fields {
		if _, dup := pe.keyLines[kv.key]; dup {
			l.errorf(file, kv.line, "khóa %q bị lặp", kv.key)
			continue
		}
		pe.keyLines[kv.key] = kv.line
		if _, scalar := yamlText(kv.value); !scalar {
			notText[kv.key] = true
		}
		switch kv.key {
		case "id":
			e.ID = l.yamlString(file, kv)
		case "title":
			e.Title = l.yamlString(file, kv)
		case "department":
			e.Department = l.yamlString(file, kv)
		case "questions":
			e.Questions = l.yamlStrings(file, kv)
		case "legal_basis":
			e.LegalBasis = l.yamlStrings(file, kv)
		case "aliases":
			e.Aliases = l.yamlStrings(file, kv)
		case "source":
			e.Source = l.yamlString(file, kv)
		case "updated":
			e.Updated = l.yamlDate(file, kv)
		case "review_by":
			e.ReviewBy = l.yamlDate(file, kv)
		default:
			msg := fmt.Sprintf("khóa %q không được dùng trong phần đầu", kv.key)
			if near := nearestWord(kv.key, frontMatterKeys); near != "" {
				msg += fmt.Sprintf("; có phải %q?", near)
			}
			l.errorf(file, kv.line, "%s (các khóa hợp lệ: %s)", msg, strings.Join(frontMatterKeys, ", "))
		}
	}
	if _, ok := pe.keyLines["id"]; !ok {
		e.ID = strings.TrimSuffix(file, ".md")
		if !entryIDPattern.MatchString(e.ID) {
			l.errorf(file, 1, "tên tệp cho id %q không hợp lệ; đặt tên tệp và thư mục bằng chữ thường không dấu, số và \"-\", hoặc khai \"id\"", e.ID)
		}
	} else if e.ID != "" && !entryIDPattern.MatchString(e.ID) {
		l.errorf(file, pe.keyLine("id"), "id %q không hợp lệ: chỉ dùng chữ thường không dấu, số, \"-\", \"_\", ngăn cách bằng \"/\"", e.ID)
	} else if e.ID == "" && !notText["id"] {
		l.errorf(file, pe.keyLine("id"), "\"id\" đang trống; bỏ dòng này để dùng đường dẫn tệp làm id")
	}
	if e.Title == "" && !notText["title"] {
		if n, ok := pe.keyLines["title"]; ok {
			l.errorf(file, n, "\"title\" đang trống")
		} else {
			l.errorf(file, 1, "thiếu \"title\"")
		}
	}
	if e.Department == "" && !notText["department"] {
		if n, ok := pe.keyLines["department"]; ok {
			l.errorf(file, n, "\"department\" đang trống")
		} else {
			l.errorf(file, 1, "thiếu \"department\"")
		}
	}
	if !e.Updated.IsZero() && !e.ReviewBy.IsZero() && e.ReviewBy.Before(e.Updated) {
		l.errorf(file, pe.keyLine("review_by"), "review_by %s trước ngày updated %s",
			e.ReviewBy.Format(dateLayout), e.Updated.Format(dateLayout))
	}

	passages, emptySections := l.parseBody(e, body, bodyLine)
	e.Passages = passages
	if len(passages) == 0 && emptySections == 0 {
		l.errorf(file, 1, "mục không có nội dung: hãy viết ít nhất một đoạn sau phần đầu")
	}
	if e.Stale(l.now) {
		l.warnf(file, pe.keyLine("review_by"), "review_by %s đã qua; hãy rà soát lại mục này", e.ReviewBy.Format(dateLayout))
	}
	return pe, len(l.problems.Errors()) == before
}

// YAML.

// yamlField is one key of a YAML mapping with its position.
type yamlField struct {
	key   string
	line  int
	value ast.Node
	// base turns a YAML line into a file line: file line = base + YAML line.
	base int
}

// parseYAML parses src, whose first line is line firstLine of file. It
// returns the document's body, nil for an empty document.
func (l *handbookLoader) parseYAML(file string, src []byte, firstLine int) (body ast.Node, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			l.errorf(file, firstLine, "YAML không đọc được")
			body, ok = nil, false
		}
	}()
	f, err := yamlparser.ParseBytes(src, 0)
	if err != nil {
		line := firstLine
		msg := err.Error()
		var ye yaml.Error
		if errors.As(err, &ye) {
			msg = ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line > 0 {
				line = firstLine - 1 + tk.Position.Line
			}
		}
		if strings.Contains(msg, "mapping value is not allowed") {
			msg += "; nếu giá trị có dấu \": \" hãy đặt cả giá trị trong ngoặc kép"
		}
		l.errorf(file, line, "YAML sai cú pháp: %s", msg)
		return nil, false
	}
	var docs []ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d.Body)
		}
	}
	switch len(docs) {
	case 0:
		return nil, true
	case 1:
		return unwrapYAML(docs[0]), true
	default:
		l.errorf(file, yamlNodeLine(docs[1], firstLine-1), "chỉ được có một tài liệu YAML")
		return nil, false
	}
}

// unwrapYAML looks through tags and anchors to the node they decorate.
func unwrapYAML(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		default:
			return n
		}
	}
}

func yamlNodeLine(n ast.Node, base int) int {
	if n == nil {
		return base + 1
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil || tk.Position.Line < 1 {
		return base + 1
	}
	return base + tk.Position.Line
}

// yamlMappingFields returns the fields of a mapping node in order.
func (l *handbookLoader) yamlMappingFields(file string, n ast.Node, base int, what string) ([]yamlField, bool) {
	var pairs []*ast.MappingValueNode
	switch v := unwrapYAML(n).(type) {
	case nil:
		return nil, true
	case *ast.MappingNode:
		pairs = v.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{v}
	case *ast.NullNode:
		return nil, true
	default:
		l.errorf(file, yamlNodeLine(n, base), "%s phải là các cặp \"khóa: giá trị\"", what)
		return nil, false
	}
	fields := make([]yamlField, 0, len(pairs))
	ok := true
	for _, p := range pairs {
		if p == nil || p.Key == nil {
			continue
		}
		line := yamlNodeLine(p.Key, base)
		key, isText := yamlText(p.Key)
		if !isText || key == "" {
			l.errorf(file, line, "khóa không hợp lệ trong %s", what)
			ok = false
			continue
		}
		fields = append(fields, yamlField{key: key, line: line, value: p.Value, base: base})
	}
	return fields, ok
}

// yamlMapping parses src as a mapping of keys to values.
func (l *handbookLoader) yamlMapping(file string, src []byte, firstLine int) ([]yamlField, bool) {
	body, ok := l.parseYAML(file, src, firstLine)
	if !ok {
		return nil, false
	}
	return l.yamlMappingFields(file, body, firstLine-1, "phần đầu")
}

// yamlText returns the text of a scalar node. A null is the empty string.
func yamlText(n ast.Node) (string, bool) {
	switch v := unwrapYAML(n).(type) {
	case nil, *ast.NullNode:
		return "", true
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", true
		}
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		if tk := v.GetToken(); tk != nil {
			return tk.Value, true
		}
	}
	return "", false
}

// yamlString returns the field's value as trimmed text, reporting a value
// that is not a scalar.
func (l *handbookLoader) yamlString(file string, f yamlField) string {
	s, ok := yamlText(f.value)
	if !ok {
		l.errorf(file, f.line, "%q phải là một chuỗi", f.key)
		return ""
	}
	return strings.TrimSpace(s)
}

// yamlStrings returns the field's value as a list of non-empty strings. A
// single string is a list of one.
func (l *handbookLoader) yamlStrings(file string, f yamlField) []string {
	v := unwrapYAML(f.value)
	if s, ok := yamlText(v); ok {
		if s = strings.TrimSpace(s); s != "" {
			return []string{s}
		}
		return nil
	}
	seq, ok := v.(*ast.SequenceNode)
	if !ok {
		l.errorf(file, f.line, "%q phải là danh sách chuỗi", f.key)
		return nil
	}
	out := make([]string, 0, len(seq.Values))
	for i, item := range seq.Values {
		s, ok := yamlText(item)
		line := yamlNodeLine(item, f.base)
		if item == nil {
			line = f.line
		}
		switch {
		case !ok:
			l.errorf(file, line, "%q: mục thứ %d không phải chuỗi (nếu có dấu \": \" hãy đặt cả câu trong ngoặc kép)", f.key, i+1)
		case strings.TrimSpace(s) == "":
			l.errorf(file, line, "%q: mục thứ %d đang trống", f.key, i+1)
		default:
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}

// yamlDate returns the field's value as a date, at midnight UTC.
func (l *handbookLoader) yamlDate(file string, f yamlField) time.Time {
	s, ok := yamlText(f.value)
	s = strings.TrimSpace(s)
	if !ok || s == "" {
		l.errorf(file, f.line, "%q phải là một ngày dạng YYYY-MM-DD", f.key)
		return time.Time{}
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		l.errorf(file, f.line, "%s: %q không phải ngày hợp lệ; viết theo dạng YYYY-MM-DD", f.key, s)
		return time.Time{}
	}
	return t
}

// Markdown.

// mdSection collects the rendered blocks of one "##" section.
type mdSection struct {
	heading string
	line    int
	parts   []string
	// content is true when the section has text other than sub-headings.
	content bool
}

// parseBody splits the Markdown body into passages. It returns the
// passages and how many empty sections it reported.
func (l *handbookLoader) parseBody(e *Entry, body []byte, bodyLine int) (passages []caunoi.Passage, empty int) {
	defer func() {
		if r := recover(); r != nil {
			l.errorf(e.File, bodyLine, "không đọc được nội dung Markdown")
			passages, empty = nil, 1
		}
	}()
	var lineStarts []int
	lineStarts = append(lineStarts, 0)
	for i, c := range body {
		if c == '\n' {
			lineStarts = append(lineStarts, i+1)
		}
	}
	lastLine := bodyLine
	lineOf := func(n mdast.Node) int {
		if p := n.Pos(); p >= 0 && p <= len(body) {
			lastLine = bodyLine + sort.SearchInts(lineStarts, p+1) - 1
		}
		return lastLine
	}

	doc := l.md.Parse(text.NewReader(body))
	r := mdRenderer{src: body}
	lead := &mdSection{}
	sections := []*mdSection{lead}
	cur := lead
	for c := doc.FirstChild(); c != nil; c = c.NextSibling() {
		if h, ok := c.(*mdast.Heading); ok && h.Level == 2 {
			cur = &mdSection{heading: r.inline(h), line: lineOf(h)}
			sections = append(sections, cur)
			continue
		}
		line := lineOf(c)
		t := r.block(c, "")
		if t == "" {
			continue
		}
		if cur.line == 0 {
			cur.line = line
		}
		cur.parts = append(cur.parts, t)
		if _, isHeading := c.(*mdast.Heading); !isHeading {
			cur.content = true
		}
	}

	used := map[string]bool{}
	for i, s := range sections {
		if i == 0 && !s.content {
			continue
		}
		if i > 0 && s.heading == "" {
			l.errorf(e.File, s.line, "tiêu đề \"##\" không có chữ")
			empty++
			continue
		}
		if !s.content {
			l.errorf(e.File, s.line, "phần \"## %s\" không có nội dung", s.heading)
			empty++
			continue
		}
		base := LeadAnchor
		titlePath := []string{e.Title}
		if i > 0 {
			base = anchorSlug(s.heading)
			titlePath = append(titlePath, s.heading)
		}
		anchor := base
		for n := 2; used[anchor]; n++ {
			anchor = base + "-" + strconv.Itoa(n)
		}
		used[anchor] = true
		passages = append(passages, caunoi.Passage{
			ID:         e.ID + "#" + anchor,
			EntryID:    e.ID,
			Anchor:     anchor,
			Title:      e.Title,
			Section:    s.heading,
			TitlePath:  titlePath,
			Text:       strings.Join(s.parts, "\n\n"),
			Department: e.Department,
			Questions:  e.Questions,
			LegalBasis: e.LegalBasis,
			Updated:    e.Updated,
			ReviewBy:   e.ReviewBy,
			File:       e.File,
			Line:       s.line,
		})
	}
	return passages, empty
}

// mdRenderer turns Markdown blocks into plain text.
type mdRenderer struct{ src []byte }

// block renders one block node; nested lines start with indent.
func (r mdRenderer) block(n mdast.Node, indent string) string {
	switch v := n.(type) {
	case *mdast.Paragraph, *mdast.TextBlock, *mdast.Heading:
		return r.inline(v)
	case *mdast.List:
		var lines []string
		num := v.Start
		for item := v.FirstChild(); item != nil; item = item.NextSibling() {
			marker := "- "
			if v.IsOrdered() {
				marker = strconv.Itoa(num) + ". "
				num++
			}
			body := r.children(item, indent+"  ", "\n")
			if body == "" {
				continue
			}
			lines = append(lines, indent+marker+strings.TrimPrefix(body, indent+"  "))
		}
		return strings.Join(lines, "\n")
	case *mdast.Blockquote:
		return r.children(v, indent, "\n\n")
	case *mdast.FencedCodeBlock, *mdast.CodeBlock:
		var b strings.Builder
		lines := v.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			b.Write(seg.Value(r.src))
		}
		return strings.TrimRight(b.String(), "\n")
	case *east.Table:
		var rows []string
		for row := v.FirstChild(); row != nil; row = row.NextSibling() {
			var cells []string
			for cell := row.FirstChild(); cell != nil; cell = cell.NextSibling() {
				cells = append(cells, r.inline(cell))
			}
			if line := strings.TrimSpace(strings.Join(cells, " | ")); line != "" && line != "|" {
				rows = append(rows, indent+strings.Join(cells, " | "))
			}
		}
		return strings.Join(rows, "\n")
	case *mdast.HTMLBlock, *mdast.ThematicBreak:
		return ""
	default:
		if n.Type() == mdast.TypeBlock {
			return r.children(n, indent, "\n\n")
		}
		return ""
	}
}

// children renders the block children of n, each non-empty one prefixed
// with indent after the first, joined by sep.
func (r mdRenderer) children(n mdast.Node, indent, sep string) string {
	var parts []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		t := r.block(c, indent)
		if t == "" {
			continue
		}
		if len(parts) > 0 && !strings.HasPrefix(t, indent) {
			t = indent + t
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, sep)
}

// inline renders the inline children of n as text without Markdown syntax.
func (r mdRenderer) inline(n mdast.Node) string {
	var b strings.Builder
	r.writeInline(&b, n)
	return strings.TrimSpace(b.String())
}

func (r mdRenderer) writeInline(b *strings.Builder, n mdast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch v := c.(type) {
		case *mdast.Text:
			val := v.Value(r.src)
			if !v.IsRaw() {
				if bytes.IndexByte(val, '&') >= 0 {
					val = util.ResolveEntityNames(util.ResolveNumericReferences(val))
				}
				if bytes.IndexByte(val, '\\') >= 0 {
					val = util.UnescapePunctuations(val)
				}
			}
			b.Write(val)
			switch {
			case v.HardLineBreak():
				b.WriteByte('\n')
			case v.SoftLineBreak():
				b.WriteByte(' ')
			}
		case *mdast.String:
			b.Write(v.Value)
		case *mdast.AutoLink:
			b.Write(v.Label(r.src))
		case *mdast.RawHTML:
		default:
			r.writeInline(b, c)
		}
	}
}

// anchorSlug turns a heading into an anchor: Vietnamese letters folded to
// ASCII, lower case, words joined by "-".
func anchorSlug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		}
		r = unicode.ToLower(r)
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "muc"
	}
	return b.String()
}

// Departments.

var (
	deptCodePattern   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	deptPrefixPattern = regexp.MustCompile(`^[A-Z]{2,5}$`)
	departmentKeys    = []string{"code", "prefix", "name", "answers"}
)

// parseDepartments parses departments.yaml. It returns the departments and
// the line of each code.
func (l *handbookLoader) parseDepartments(src []byte) ([]caunoi.Department, map[string]int) {
	const file = DepartmentsFile
	codes := map[string]int{}
	body, ok := l.parseYAML(file, src, 1)
	if !ok {
		return nil, codes
	}
	seq, isSeq := body.(*ast.SequenceNode)
	if !isSeq || len(seq.Values) == 0 {
		l.errorf(file, yamlNodeLine(body, 0), "%s phải là danh sách các sở, mỗi sở có code, prefix, name, answers", file)
		return nil, codes
	}
	var out []caunoi.Department
	prefixes := map[string]int{}
	for _, item := range seq.Values {
		itemLine := yamlNodeLine(item, 0)
		fields, ok := l.yamlMappingFields(file, item, 0, "mỗi sở")
		if !ok {
			continue
		}
		var d caunoi.Department
		lines := map[string]int{}
		for _, f := range fields {
			if _, dup := lines[f.key]; dup {
				l.errorf(file, f.line, "khóa %q bị lặp", f.key)
				continue
			}
			lines[f.key] = f.line
			switch f.key {
			case "code":
				d.Code = l.yamlString(file, f)
			case "prefix":
				d.Prefix = l.yamlString(file, f)
			case "name":
				d.Name = l.yamlString(file, f)
			case "answers":
				d.Answers = l.yamlString(file, f)
			default:
				l.errorf(file, f.line, "khóa %q không được dùng (các khóa hợp lệ: %s)", f.key, strings.Join(departmentKeys, ", "))
			}
		}
		line := func(key string) int {
			if n, ok := lines[key]; ok {
				return n
			}
			return itemLine
		}
		switch {
		case d.Code == "":
			l.errorf(file, line("code"), "sở thiếu \"code\"")
		case !deptCodePattern.MatchString(d.Code):
			l.errorf(file, line("code"), "code %q không hợp lệ: chỉ dùng chữ thường không dấu, số và \"-\"", d.Code)
		default:
			if prev, dup := codes[d.Code]; dup {
				l.errorf(file, line("code"), "code %q trùng với dòng %d", d.Code, prev)
			} else {
				codes[d.Code] = line("code")
			}
		}
		switch {
		case d.Prefix == "":
			l.errorf(file, line("prefix"), "sở thiếu \"prefix\"")
		case !deptPrefixPattern.MatchString(d.Prefix):
			l.errorf(file, line("prefix"), "prefix %q không hợp lệ: cần 2 đến 5 chữ cái in hoa không dấu", d.Prefix)
		default:
			if prev, dup := prefixes[d.Prefix]; dup {
				l.errorf(file, line("prefix"), "prefix %q trùng với dòng %d", d.Prefix, prev)
			} else {
				prefixes[d.Prefix] = line("prefix")
			}
		}
		if d.Name == "" {
			l.errorf(file, line("name"), "sở thiếu \"name\"")
		}
		out = append(out, d)
	}
	return out, codes
}

// nearestCodes returns up to n department codes closest to code.
func nearestCodes(code string, depts []caunoi.Department, n int) []string {
	codes := make([]string, len(depts))
	for i, d := range depts {
		codes[i] = d.Code
	}
	sort.SliceStable(codes, func(i, j int) bool {
		return wordDistance(code, codes[i]) < wordDistance(code, codes[j])
	})
	if len(codes) > n {
		codes = codes[:n]
	}
	return codes
}

// nearestWord returns the word closest to s when it is close enough to be a
// likely typo, else "".
func nearestWord(s string, words []string) string {
	best, bestD := "", 3
	for _, w := range words {
		if d := wordDistance(s, w); d < bestD {
			best, bestD = w, d
		}
	}
	return best
}

// wordDistance is the Levenshtein distance between a and b, over runes.
func wordDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
