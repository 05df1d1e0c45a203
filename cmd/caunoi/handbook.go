package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caunoi/caunoi/handbook"
	"github.com/caunoi/caunoi/knowledge"
)

func init() {
	register("handbook", "kiểm tra và thống kê sổ tay nghiệp vụ", runHandbook)
}

const handbookUsage = `Cách dùng: caunoi handbook LỆNH [--now YYYY-MM-DD] [THƯ_MỤC]

Kiểm tra và thống kê sổ tay nghiệp vụ. Không nêu THƯ_MỤC thì dùng sổ tay
đóng gói sẵn trong chương trình.

Các lệnh:
  check   kiểm tra toàn bộ sổ tay; mỗi lỗi in một dòng "tệp:dòng: nội dung",
          mục quá hạn rà soát in thành cảnh báo. Trả mã 1 khi có lỗi.
  stats   đếm mục, đoạn, câu hỏi mẫu, căn cứ pháp lý, thuật ngữ,
          theo sở và theo lĩnh vực.

Tham số:
  --now YYYY-MM-DD   ngày dùng để xét hạn rà soát (mặc định: hôm nay)
  -h, --help         in hướng dẫn này
`

// handbookArgs are the parsed arguments of a handbook subcommand.
type handbookArgs struct {
	dir  string
	now  time.Time
	help bool
}

func runHandbook(ctx context.Context, m *Main, args []string) error {
	args = trimArgs(args)
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, handbookUsage)
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(m.Stdout, handbookUsage)
		return nil
	case "check", "stats":
	default:
		fmt.Fprintf(m.Stderr, "caunoi handbook: không có lệnh %q\n\n", args[0])
		fmt.Fprint(m.Stderr, handbookUsage)
		return errUsage
	}
	a, err := parseHandbookArgs(args[1:])
	if err != nil {
		fmt.Fprintf(m.Stderr, "caunoi handbook %s: %v\n\n", args[0], err)
		fmt.Fprint(m.Stderr, handbookUsage)
		return errUsage
	}
	if a.help {
		fmt.Fprint(m.Stdout, handbookUsage)
		return nil
	}
	fsys, err := handbookFS(a.dir)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	h, problems := knowledge.Load(fsys, a.now)
	if args[0] == "check" {
		return handbookCheck(m.Stdout, h, problems)
	}
	return handbookStats(m.Stdout, m.Stderr, h, problems, a.now)
}

// parseHandbookArgs reads flags and at most one directory, in any order.
func parseHandbookArgs(args []string) (handbookArgs, error) {
	a := handbookArgs{now: time.Now()}
	var dirs []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		switch {
		case arg == "--":
			dirs = append(dirs, args[i+1:]...)
			i = len(args)
		case !strings.HasPrefix(arg, "-"):
			dirs = append(dirs, arg)
		case name == "h" || name == "help":
			a.help = true
		case name == "now":
			if !hasValue {
				if i+1 >= len(args) {
					return a, errors.New("thiếu ngày sau --now")
				}
				i++
				value = args[i]
			}
			t, err := time.Parse("2006-01-02", value)
			if err != nil {
				return a, fmt.Errorf("--now %q không phải ngày dạng YYYY-MM-DD", value)
			}
			a.now = t
		default:
			return a, fmt.Errorf("không có tham số %s", arg)
		}
	}
	if len(dirs) > 1 {
		return a, fmt.Errorf("chỉ nhận một thư mục, có %d: %s", len(dirs), strings.Join(dirs, " "))
	}
	if len(dirs) == 1 {
		a.dir = dirs[0]
	}
	return a, nil
}

// handbookFS returns the handbook in dir, or the embedded one when dir is
// empty.
func handbookFS(dir string) (fs.FS, error) {
	if dir == "" {
		return handbook.FS(), nil
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("không có thư mục %s", dir)
	case err != nil:
		return nil, fmt.Errorf("không mở được thư mục %s: %w", dir, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("%s không phải là thư mục", dir)
	}
	return os.DirFS(dir), nil
}

// handbookCheck prints every problem and a summary line.
func handbookCheck(w io.Writer, h *knowledge.Handbook, problems knowledge.Problems) error {
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
	nerr, nwarn := len(problems.Errors()), len(problems.Warnings())
	if nerr > 0 {
		fmt.Fprintf(w, "Sổ tay: %d lỗi, %d cảnh báo. Sổ tay chưa dùng được; hãy sửa các lỗi trên rồi chạy lại.\n", nerr, nwarn)
		return &exitError{code: 1, err: fmt.Errorf("sổ tay có %d lỗi", nerr)}
	}
	fmt.Fprintf(w, "Sổ tay: %d mục, %d đoạn, %d thuật ngữ, 0 lỗi, %d cảnh báo (phiên bản %s).\n",
		len(h.Entries), len(h.Passages), len(h.Glossary), nwarn, h.Version)
	return nil
}

// handbookStats prints the handbook's coverage numbers.
func handbookStats(w, errw io.Writer, h *knowledge.Handbook, problems knowledge.Problems, now time.Time) error {
	if h == nil {
		for _, p := range problems.Errors() {
			fmt.Fprintln(errw, p)
		}
		n := len(problems.Errors())
		return &exitError{code: 1, err: fmt.Errorf("sổ tay có %d lỗi; sửa theo danh sách trên (caunoi handbook check) rồi thống kê lại", n)}
	}
	byDept := map[string]*count{}
	byFolder := map[string]*count{}
	questions, legal := 0, 0
	var stale []knowledge.Entry
	for _, e := range h.Entries {
		folder, _, found := strings.Cut(e.File, "/")
		if !found {
			folder = "(gốc)"
		}
		for _, c := range []*count{countFor(byDept, e.Department), countFor(byFolder, folder)} {
			c.entries++
			c.passages += len(e.Passages)
		}
		questions += len(e.Questions)
		if len(e.LegalBasis) > 0 {
			legal++
		}
		if e.Stale(now) {
			stale = append(stale, e)
		}
	}

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Sổ tay phiên bản %s\n", h.Version)
	fmt.Fprintf(tw, "Mục:\t%d\n", len(h.Entries))
	fmt.Fprintf(tw, "Đoạn:\t%d\n", len(h.Passages))
	fmt.Fprintf(tw, "Câu hỏi mẫu:\t%d\n", questions)
	fmt.Fprintf(tw, "Mục có căn cứ pháp lý:\t%d\n", legal)
	fmt.Fprintf(tw, "Mục quá hạn rà soát:\t%d\n", len(stale))
	fmt.Fprintf(tw, "Thuật ngữ:\t%d\n", len(h.Glossary))
	fmt.Fprintf(tw, "Sở, ngành:\t%d\n", len(h.Departments))
	tw.Flush()

	fmt.Fprintln(w, "\nTheo sở:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  mã\tmục\tđoạn\ttên")
	for _, d := range h.Departments {
		c := byDept[d.Code]
		if c == nil {
			c = &count{}
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\n", d.Code, c.entries, c.passages, d.Name)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nTheo lĩnh vực (thư mục):")
	folders := make([]string, 0, len(byFolder))
	for f := range byFolder {
		folders = append(folders, f)
	}
	sort.Strings(folders)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  thư mục\tmục\tđoạn")
	for _, f := range folders {
		fmt.Fprintf(tw, "  %s\t%d\t%d\n", f, byFolder[f].entries, byFolder[f].passages)
	}
	tw.Flush()

	if len(stale) > 0 {
		fmt.Fprintln(w, "\nMục quá hạn rà soát:")
		for _, e := range stale {
			fmt.Fprintf(w, "  %s (%s:%d, review_by %s)\n", e.ID, e.File, e.Line, e.ReviewBy.Format("2006-01-02"))
		}
	}
	return nil
}

// count is how many entries and passages fall in one group.
type count struct{ entries, passages int }

// countFor returns the group's count, adding it to m when new.
func countFor(m map[string]*count, key string) *count {
	c := m[key]
	if c == nil {
		c = &count{}
		m[key] = c
	}
	return c
}
