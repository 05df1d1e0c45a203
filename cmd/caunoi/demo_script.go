package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// demoActor is who performs a demo step.
type demoActor string

const (
	actorOfficial demoActor = "official"
	actorStaff    demoActor = "staff"
)

// demoOp is what a demo step does.
type demoOp int

const (
	opSay    demoOp = iota + 1 // official> TEXT, staff> TEXT
	opReply                    // official reply> TEXT
	opPress                    // official [LABEL], staff [LABEL]
	opAttach                   // official attach PATH
	opExpect                   // expect official: TEXT, expect staff: TEXT
)

// demoStep is one line of a demo script.
type demoStep struct {
	Line  int
	Src   string // the line as written, trimmed
	Actor demoActor
	Op    demoOp
	// Arg is the text to send, the button label, the file path (resolved
	// against the script's directory) or the expected text.
	Arg string
}

// demoGrammar is the script grammar, for error messages and help.
const demoGrammar = `  official> NỘI DUNG          cán bộ xã gửi NỘI DUNG cho bot
  official reply> NỘI DUNG    cán bộ xã trả lời (reply) tin mới nhất của bot về phiếu
  official [NHÃN]             cán bộ xã bấm nút có nhãn bắt đầu bằng NHÃN
  official attach ĐƯỜNG_DẪN   cán bộ xã gửi ảnh hoặc tệp (đường dẫn tính từ
                              thư mục của kịch bản)
  staff> NỘI DUNG             cán bộ Sở trả lời (reply) thẻ phiếu mới nhất, hoặc
                              lời nhắc «cần bổ sung» của phiếu đó nếu chưa trả lời
  staff [NHÃN]                cán bộ Sở bấm nút trên thẻ phiếu mới nhất (hoặc tin
                              bot trả lời thẻ đó, như danh sách sở để chuyển)
  expect official: CHỮ        tin mới nhất bot gửi cán bộ xã (hoặc thông báo nhanh
                              sau lần bấm nút vừa rồi) có chứa CHỮ
  expect staff: CHỮ           tin mới nhất trong nhóm của sở có phiếu mới nhất
                              có chứa CHỮ
  So sánh không phân biệt hoa thường và dấu; nhãn nút bỏ qua biểu tượng đầu.
`

// errNotStep reports a line that does not use the step grammar; in the
// interactive demo such a line is the official's question.
var errNotStep = errors.New("not a step")

// parseDemoLine reads one non-blank, non-comment line. It returns
// errNotStep when the line does not start with official, staff or expect,
// and a Vietnamese error for a malformed step.
func parseDemoLine(line string) (demoStep, error) {
	s := strings.TrimSpace(line)
	head, rest := s, ""
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '>' || r == '[' || r == ':' }); i >= 0 {
		head, rest = s[:i], s[i:]
	}
	st := demoStep{Src: s}
	switch head {
	case "official", "staff":
		st.Actor = demoActor(head)
	case "expect":
		return parseExpect(st, rest)
	default:
		return demoStep{}, errNotStep
	}
	rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
	switch {
	case strings.HasPrefix(rest, ">"):
		st.Op, st.Arg = opSay, strings.TrimSpace(rest[1:])
		if st.Arg == "" {
			return demoStep{}, fmt.Errorf("thiếu nội dung sau %s>", head)
		}
	case strings.HasPrefix(rest, "["):
		if !strings.HasSuffix(rest, "]") {
			return demoStep{}, fmt.Errorf("thiếu dấu ] sau nhãn nút (dạng: %s [Nhãn nút])", head)
		}
		st.Op, st.Arg = opPress, strings.TrimSpace(rest[1:len(rest)-1])
		if foldDemo(st.Arg) == "" {
			return demoStep{}, errors.New("nhãn nút trống")
		}
	case hasWord(rest, "reply"):
		if st.Actor != actorOfficial {
			return demoStep{}, errors.New("dùng staff> để cán bộ Sở trả lời thẻ phiếu")
		}
		r := strings.TrimLeftFunc(rest[len("reply"):], unicode.IsSpace)
		if !strings.HasPrefix(r, ">") {
			return demoStep{}, errors.New("thiếu dấu > (dạng: official reply> NỘI DUNG)")
		}
		st.Op, st.Arg = opReply, strings.TrimSpace(r[1:])
		if st.Arg == "" {
			return demoStep{}, errors.New("thiếu nội dung sau official reply>")
		}
	case hasWord(rest, "attach"):
		if st.Actor != actorOfficial {
			return demoStep{}, errors.New("chỉ cán bộ xã gửi tệp kèm theo (official attach ĐƯỜNG_DẪN)")
		}
		st.Op, st.Arg = opAttach, strings.TrimSpace(rest[len("attach"):])
		if st.Arg == "" {
			return demoStep{}, errors.New("thiếu đường dẫn tệp sau attach")
		}
	default:
		return demoStep{}, fmt.Errorf("không hiểu bước %q; các dạng hợp lệ:\n%s", s, demoGrammar)
	}
	return st, nil
}

// hasWord reports whether s starts with word followed by a space, ">" or
// the end.
func hasWord(s, word string) bool {
	if !strings.HasPrefix(s, word) {
		return false
	}
	r := s[len(word):]
	return r == "" || r[0] == '>' || unicode.IsSpace(rune(r[0]))
}

func parseExpect(st demoStep, rest string) (demoStep, error) {
	st.Op = opExpect
	rest = strings.TrimSpace(rest)
	who, want, ok := strings.Cut(rest, ":")
	if !ok {
		return demoStep{}, errors.New("thiếu dấu : (dạng: expect official: CHỮ hoặc expect staff: CHỮ)")
	}
	switch strings.TrimSpace(who) {
	case "official":
		st.Actor = actorOfficial
	case "staff":
		st.Actor = actorStaff
	default:
		return demoStep{}, fmt.Errorf("expect %q: chỉ có expect official: hoặc expect staff:", strings.TrimSpace(who))
	}
	st.Arg = strings.TrimSpace(want)
	if foldDemo(st.Arg) == "" {
		return demoStep{}, errors.New("thiếu nội dung cần kiểm tra sau expect")
	}
	return st, nil
}

// parseDemoScript reads a whole script. name is the file's path: error
// messages start with it, and attached files are resolved against its
// directory and must exist. Every bad line is reported, one per line, as
// "name:line: message".
func parseDemoScript(r io.Reader, name string) ([]demoStep, error) {
	var steps []demoStep
	var problems []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		st, err := parseDemoLine(line)
		if errors.Is(err, errNotStep) {
			err = fmt.Errorf("dòng phải bắt đầu bằng official, staff hoặc expect; các dạng hợp lệ:\n%s", demoGrammar)
		}
		if err == nil && st.Op == opAttach {
			st.Arg, err = resolveAttach(filepath.Dir(name), st.Arg)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", name, n, err))
			continue
		}
		st.Line = n
		steps = append(steps, st)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: đọc kịch bản: %w", name, err)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("%s: kịch bản không có bước nào", name)
	}
	return steps, nil
}

// resolveAttach returns path joined to dir unless absolute, and checks that
// it is a readable regular file.
func resolveAttach(dir, path string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("không có tệp %s", path)
	case err != nil:
		return "", fmt.Errorf("không đọc được tệp %s: %v", path, err)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("%s không phải là tệp", path)
	case fi.Size() == 0:
		return "", fmt.Errorf("tệp %s rỗng", path)
	}
	return path, nil
}

// foldDemo lowers s, drops diacritics (NFD, combining marks removed, đ → d)
// and collapses white space, so that "Hỏi cán bộ" matches "hoi can bo".
func foldDemo(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// foldLabel is foldDemo without any leading emoji, symbols or punctuation,
// for comparing button labels.
func foldLabel(s string) string {
	f := foldDemo(s)
	return strings.TrimLeftFunc(f, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// labelMatches reports whether a button labelled label answers to the
// label written in a script: equal or a prefix, after folding.
func labelMatches(label, want string) bool {
	w := foldLabel(want)
	return w != "" && strings.HasPrefix(foldLabel(label), w)
}

// containsFolded reports whether text contains want, ignoring case,
// diacritics and differences in white space.
func containsFolded(text, want string) bool {
	return strings.Contains(foldDemo(text), foldDemo(want))
}
