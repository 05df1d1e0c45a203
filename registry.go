package caunoi

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

//go:generate go run registry_nfc_gen.go

// RowError is one rejected line of an imported file.
type RowError struct {
	Line int
	Msg  string
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ImportError lists every rejected line of an import. It wraps ErrInvalid.
type ImportError struct {
	Rows []RowError
}

func (e *ImportError) Error() string {
	lines := make([]string, len(e.Rows))
	for i, r := range e.Rows {
		lines[i] = r.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns ErrInvalid.
func (e *ImportError) Unwrap() error { return ErrInvalid }

// Commune code and name limits.
const (
	maxCodeLen    = 16
	maxCommuneLen = 120
)

// communeColumns are the columns of a registry file; former is optional.
var communeColumns = []string{"code", "name", "province", "former"}

// ParseCommunesCSV reads a commune registry: a CSV file (UTF-8, with or
// without a byte order mark) whose header names the columns code, name,
// province and former, the last optional. Lines starting with "#" are
// comments. former lists the units merged
// into the commune, separated by ";". Names are trimmed, their inner spaces
// collapsed, and put in Unicode NFC. Codes are letters, digits and "-", and
// unique.
//
// It validates the whole file before returning anything: on any problem it
// returns nil and an *ImportError (wrapping ErrInvalid) that lists every bad
// line as "line N: message", Vietnamese first. A file without data rows is
// rejected too, so that an import never empties the registry by mistake.
func ParseCommunesCSV(r io.Reader) ([]Commune, error) {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	var problems []RowError
	bad := func(line int, format string, args ...any) {
		problems = append(problems, RowError{Line: line, Msg: fmt.Sprintf(format, args...)})
	}

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ImportError{Rows: []RowError{{Line: 1, Msg: "tệp rỗng, thiếu dòng tiêu đề code,name,province,former (empty file)"}}}
	}
	if err != nil {
		return nil, &ImportError{Rows: []RowError{csvRowError(err, 1)}}
	}
	hl, _ := cr.FieldPos(0)
	col := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF")
		}
		h = strings.ToLower(strings.TrimSpace(h))
		switch {
		case !slices.Contains(communeColumns, h):
			bad(hl, "cột %q không có trong mẫu code,name,province,former (unknown column)", h)
		case col[h] != 0:
			bad(hl, "cột %q bị lặp (duplicate column)", h)
		default:
			col[h] = i + 1 // 1-based, so that zero means absent
		}
	}
	for _, need := range communeColumns[:3] {
		if col[need] == 0 {
			bad(hl, "thiếu cột %q; tiêu đề phải là code,name,province,former (missing column)", need)
		}
	}
	if len(problems) > 0 {
		return nil, &ImportError{Rows: problems}
	}
	field := func(rec []string, name string) string {
		if i := col[name]; i > 0 && i <= len(rec) {
			return rec[i-1]
		}
		return ""
	}

	var out []Commune
	seen := map[string]int{} // code → line
	lastLine := hl
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A broken quote leaves the rest of the file unreadable.
			problems = append(problems, csvRowError(err, lastLine+1))
			break
		}
		line, _ := cr.FieldPos(0)
		lastLine = line
		if len(rec) != len(header) {
			bad(line, "có %d cột, cần %d như dòng tiêu đề (wrong number of fields)", len(rec), len(header))
			continue
		}
		if !utf8.ValidString(strings.Join(rec, "")) {
			bad(line, "không phải văn bản UTF-8; hãy lưu tệp dạng CSV UTF-8 (not UTF-8)")
			continue
		}
		c := Commune{
			Code:     strings.TrimSpace(field(rec, "code")),
			Name:     cleanName(field(rec, "name")),
			Province: cleanName(field(rec, "province")),
		}
		for _, f := range strings.Split(field(rec, "former"), ";") {
			if f = cleanName(f); f != "" {
				c.Former = append(c.Former, f)
			}
		}
		ok := true
		check := func(cond bool, format string, args ...any) {
			if !cond {
				bad(line, format, args...)
				ok = false
			}
		}
		check(c.Code != "", "thiếu mã xã (code is empty)")
		check(c.Code == "" || validCode(c.Code), "mã %q chỉ được gồm chữ, số và dấu gạch ngang, tối đa %d ký tự (bad code)", c.Code, maxCodeLen)
		check(c.Name != "", "thiếu tên xã, phường (name is empty)")
		check(utf8.RuneCountInString(c.Name) <= maxCommuneLen, "tên dài quá %d ký tự (name too long)", maxCommuneLen)
		check(c.Province != "", "thiếu tên tỉnh, thành phố (province is empty)")
		check(utf8.RuneCountInString(c.Province) <= maxCommuneLen, "tên tỉnh dài quá %d ký tự (province too long)", maxCommuneLen)
		if prev, dup := seen[c.Code]; dup && c.Code != "" {
			check(false, "mã %q trùng với dòng %d (duplicate code)", c.Code, prev)
		}
		if c.Code != "" {
			if _, dup := seen[c.Code]; !dup {
				seen[c.Code] = line
			}
		}
		if ok {
			out = append(out, c)
		}
	}
	if len(problems) == 0 && len(out) == 0 {
		bad(hl+1, "không có dòng dữ liệu nào sau dòng tiêu đề (no data rows)")
	}
	if len(problems) > 0 {
		return nil, &ImportError{Rows: problems}
	}
	return out, nil
}

func csvRowError(err error, line int) RowError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return RowError{Line: pe.Line, Msg: fmt.Sprintf("lỗi cú pháp CSV, thường do dấu ngoặc kép không đóng (%v)", pe.Err)}
	}
	return RowError{Line: line, Msg: fmt.Sprintf("không đọc được tệp (%v)", err)}
}

func validCode(s string) bool {
	if len(s) > maxCodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// cleanName trims s, collapses inner white space and puts it in NFC.
func cleanName(s string) string {
	return NFC(strings.Join(strings.Fields(s), " "))
}

// NFC returns s in Unicode Normalization Form C for Latin text, so that
// Vietnamese typed with combining marks (as some keyboards and Excel on a
// Mac produce) equals the precomposed form. Letters outside the Latin
// blocks are left as they are.
func NFC(s string) string {
	if !hasCombining(s) {
		return s
	}
	// Decompose fully, so that a mark typed after a precomposed letter
	// ("Ô" + horn) finds its canonical place.
	rs := make([]rune, 0, len(s))
	for _, r := range s {
		rs = appendDecomposed(rs, r)
	}
	// Put each run of combining marks in canonical order.
	for i := 0; i < len(rs); {
		if combiningClass[rs[i]] == 0 {
			i++
			continue
		}
		j := i
		for j < len(rs) && combiningClass[rs[j]] != 0 {
			j++
		}
		slices.SortStableFunc(rs[i:j], func(a, b rune) int {
			return int(combiningClass[a]) - int(combiningClass[b])
		})
		i = j
	}
	// Compose each mark with the preceding starter unless an earlier
	// uncomposed mark of the same or a higher class blocks it.
	out := make([]rune, 0, len(rs))
	starter, last := -1, uint8(0)
	for _, r := range rs {
		c := combiningClass[r]
		if starter >= 0 {
			adjacent := len(out)-1 == starter
			if adjacent || (last != 0 && last < c) {
				if comp, ok := nfcPairs[[2]rune{out[starter], r}]; ok {
					out[starter] = comp
					continue
				}
			}
		}
		if c == 0 {
			starter = len(out)
		}
		last = c
		out = append(out, r)
	}
	return string(out)
}

func hasCombining(s string) bool {
	for _, r := range s {
		if r >= 0x0300 && r <= 0x036F {
			return true
		}
	}
	return false
}

// nfcDecomp is the inverse of nfcPairs: a letter's canonical decomposition
// into a shorter letter and one mark.
var nfcDecomp = func() map[rune][2]rune {
	m := make(map[rune][2]rune, len(nfcPairs))
	for pair, r := range nfcPairs {
		m[r] = pair
	}
	return m
}()

// appendDecomposed appends r's full canonical decomposition to rs.
func appendDecomposed(rs []rune, r rune) []rune {
	if d, ok := nfcDecomp[r]; ok {
		return append(appendDecomposed(rs, d[0]), d[1])
	}
	return append(rs, r)
}
