package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/handbook"
	"github.com/caunoi/caunoi/knowledge"
)

func init() {
	register("search", "tìm trong sổ tay như bot sẽ trả lời", runSearch)
}

const searchUsage = `Cách dùng: caunoi search [--json] [--handbook THƯ_MỤC] [--limit N] CÂU_HỎI

Tìm trong sổ tay nghiệp vụ các đoạn trả lời câu hỏi, xếp từ phù hợp nhất,
kèm mức độ tin cậy, điểm, đoạn trích và căn cứ pháp lý.

Tham số:
  --json              in một đối tượng JSON thay cho bảng
  --handbook THƯ_MỤC  dùng sổ tay trong thư mục này (mặc định: sổ tay
                      đóng gói sẵn trong chương trình)
  --limit N           số kết quả tối đa, từ 1 đến 100 (mặc định 5)
  -h, --help          in hướng dẫn này
`

func runSearch(ctx context.Context, m *Main, args []string) error {
	fset := flag.NewFlagSet("search", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	asJSON := fset.Bool("json", false, "")
	dir := fset.String("handbook", "", "")
	limit := fset.Int("limit", 5, "")
	help := fset.Bool("help", false, "")
	fset.BoolVar(help, "h", false, "")
	if err := fset.Parse(reorderFlags(args, map[string]bool{"handbook": true, "limit": true})); err != nil {
		fmt.Fprintf(m.Stderr, "caunoi search: %s\n\n%s", flagError(err), searchUsage)
		return errUsage
	}
	if *help {
		fmt.Fprint(m.Stdout, searchUsage)
		return nil
	}
	q := strings.TrimSpace(strings.Join(fset.Args(), " "))
	if q == "" {
		fmt.Fprintf(m.Stderr, "caunoi search: thiếu câu hỏi\n\n%s", searchUsage)
		return errUsage
	}
	if *limit < 1 || *limit > 100 {
		fmt.Fprintf(m.Stderr, "caunoi search: --limit phải từ 1 đến 100, không phải %d\n", *limit)
		return errUsage
	}
	x, err := openIndex(ctx, m, *dir)
	if err != nil {
		return err
	}
	defer x.Close()
	res, err := x.Search(ctx, q, *limit)
	if errors.Is(err, caunoi.ErrInvalid) {
		fmt.Fprintln(m.Stderr, "caunoi search: câu hỏi không có chữ nào để tìm")
		return errUsage
	}
	if err != nil {
		return fmt.Errorf("tìm kiếm: %w", err)
	}
	if *asJSON {
		return writeSearchJSON(m.Stdout, x.Handbook(), res)
	}
	writeSearchText(m.Stdout, res)
	return nil
}

// openIndex loads and indexes the handbook in dir, or the embedded one.
// A broken handbook prints its problems and returns exit status 1.
func openIndex(ctx context.Context, m *Main, dir string) (*knowledge.Index, error) {
	var fsys fs.FS = handbook.FS()
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil || !st.IsDir() {
			fmt.Fprintf(m.Stderr, "caunoi: không mở được thư mục sổ tay %q\n", dir)
			return nil, &exitError{code: 1, err: errUsage}
		}
		fsys = os.DirFS(dir)
	}
	h, probs := knowledge.Load(fsys, time.Now())
	if probs.Err() != nil {
		for _, p := range probs.Errors() {
			fmt.Fprintln(m.Stderr, p.String())
		}
		fmt.Fprintln(m.Stderr, "caunoi: sổ tay có lỗi, hãy sửa rồi chạy lại (xem: caunoi handbook check)")
		return nil, &exitError{code: 1, err: errUsage}
	}
	x, err := knowledge.Build(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("lập chỉ mục sổ tay: %w", err)
	}
	return x, nil
}

// confidenceVi names a confidence for people.
func confidenceVi(c caunoi.Confidence) string {
	switch c {
	case caunoi.ConfidenceHigh:
		return "cao"
	case caunoi.ConfidenceLow:
		return "thấp"
	default:
		return "không tìm thấy"
	}
}

func writeSearchText(w io.Writer, res caunoi.SearchResult) {
	fmt.Fprintf(w, "Câu hỏi: %s\nĐộ tin cậy: %s\n", res.Query, confidenceVi(res.Confidence))
	if len(res.Hits) == 0 {
		fmt.Fprintln(w, "\nSổ tay chưa có đoạn nào trả lời câu hỏi này.")
		return
	}
	for i, h := range res.Hits {
		p := h.Passage
		head := p.Title
		if p.Section != "" {
			head += " › " + p.Section
		}
		fmt.Fprintf(w, "\n%d. %s\n   độ tin cậy: %s · điểm: %.2f · mã: %s\n", i+1, head, confidenceVi(h.Confidence), h.Score, p.ID)
		fmt.Fprintf(w, "   %s\n", markSpans(h.Snippet, h.Highlights, "«", "»"))
		if len(p.LegalBasis) > 0 {
			fmt.Fprintf(w, "   Căn cứ: %s\n", strings.Join(p.LegalBasis, "; "))
		}
	}
}

// markSpans wraps the rune spans of s in open and close marks.
func markSpans(s string, spans []caunoi.Span, open, close string) string {
	r := []rune(s)
	var b strings.Builder
	at := 0
	for _, sp := range spans {
		if sp.Start < at || sp.End > len(r) || sp.Start >= sp.End {
			continue
		}
		b.WriteString(string(r[at:sp.Start]))
		b.WriteString(open)
		b.WriteString(string(r[sp.Start:sp.End]))
		b.WriteString(close)
		at = sp.End
	}
	b.WriteString(string(r[at:]))
	return b.String()
}

type searchJSON struct {
	Query      string          `json:"query"`
	Confidence string          `json:"confidence"`
	Hits       []searchHitJSON `json:"hits"`
}

type searchHitJSON struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Section    string   `json:"section"`
	Department string   `json:"department"`
	Score      float64  `json:"score"`
	Snippet    string   `json:"snippet"`
	LegalBasis []string `json:"legal_basis"`
}

func writeSearchJSON(w io.Writer, h *knowledge.Handbook, res caunoi.SearchResult) error {
	out := searchJSON{Query: res.Query, Confidence: res.Confidence.String(), Hits: []searchHitJSON{}}
	for _, hit := range res.Hits {
		p := hit.Passage
		title := p.Title
		if h != nil {
			if e, ok := h.Entry(p.EntryID); ok {
				title = e.Title
			}
		}
		lb := p.LegalBasis
		if lb == nil {
			lb = []string{}
		}
		score, _ := strconv.ParseFloat(strconv.FormatFloat(hit.Score, 'f', 4, 64), 64)
		out.Hits = append(out.Hits, searchHitJSON{
			ID: p.EntryID, Title: title, Section: p.Section, Department: p.Department,
			Score: score, Snippet: hit.Snippet, LegalBasis: lb,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("ghi kết quả: %w", err)
	}
	return nil
}

// reorderFlags moves flags before the positional arguments, so that
// "caunoi search câu hỏi --json" works as well; valued lists the flags that
// take a value. Everything after "--" stays positional.
func reorderFlags(args []string, valued map[string]bool) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' && !isNumber(a) {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && valued[name] && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		rest = append(rest, a)
	}
	return append(append(flags, "--"), rest...)
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// flagError words a flag parsing error in Vietnamese.
func flagError(err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined: "):
		return "không có tham số " + strings.TrimPrefix(msg, "flag provided but not defined: ")
	case strings.HasPrefix(msg, "flag needs an argument: "):
		return "thiếu giá trị cho " + strings.TrimPrefix(msg, "flag needs an argument: ")
	case strings.HasPrefix(msg, "invalid value "):
		return "giá trị không hợp lệ: " + strings.TrimPrefix(msg, "invalid value ")
	}
	return msg
}
