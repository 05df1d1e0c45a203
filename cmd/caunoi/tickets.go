package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/caunoi/caunoi"
)

func init() {
	register("tickets", "xem và xuất phiếu hỏi", runTickets)
}

const ticketsUsage = `Cách dùng: caunoi tickets LỆNH [tham số]

Các lệnh:
  list [bộ lọc]            liệt kê phiếu, mới nhất trước
  show SỐ_PHIẾU            xem một phiếu và toàn bộ diễn biến
  export --csv [bộ lọc]    xuất phiếu ra CSV (UTF-8 có BOM, mở được bằng Excel)

Bộ lọc:
  --department MÃ_SỞ       chỉ phiếu của một sở, ví dụ tu-phap
  --status TRẠNG_THÁI      new, claimed, waiting_official, answered, resolved,
                           reopened, transferred, closed; nhiều trạng thái cách nhau
                           bằng dấu phẩy, hoặc open cho mọi phiếu chưa xong
  --limit N                tối đa N phiếu (list mặc định 50; export mặc định tất cả)

Tham số chung:
  --store ĐỊA_CHỈ          nơi lưu dữ liệu (mặc định: biến STORE hoặc REDIS_URL,
                           nếu không có thì bolt:caunoi.db)
  -h, --help               in hướng dẫn này

Ví dụ: caunoi tickets export --csv --department tu-phap > phieu-tu-phap.csv
`

// defaultListLimit bounds "tickets list" unless --limit says otherwise.
const defaultListLimit = 50

type ticketsArgs struct {
	sub    string
	pos    []string
	filter caunoi.TicketFilter
	csv    bool
	store  string
}

func parseTicketsArgs(args []string) (ticketsArgs, bool, error) {
	var a ticketsArgs
	var department, status, limit string
	var help bool
	spec := flagSpec{
		values:   map[string]*string{"department": &department, "status": &status, "limit": &limit, "store": &a.store},
		switches: map[string]*bool{"csv": &a.csv, "h": &help, "help": &help},
	}
	pos, err := spec.parse(args)
	if err != nil || help {
		return a, help, err
	}
	if len(pos) == 0 {
		return a, false, errors.New("thiếu lệnh (list, show hoặc export)")
	}
	a.sub, a.pos = pos[0], pos[1:]
	if department != "" {
		deps, err := departments()
		if err != nil {
			return a, false, err
		}
		if !slicesContainsCode(deps, department) {
			return a, false, fmt.Errorf("không có sở mã %q; các mã: %s", department, departmentCodes(deps))
		}
		a.filter.Department = department
	}
	if status != "" {
		for _, s := range strings.Split(status, ",") {
			s = strings.TrimSpace(s)
			switch {
			case s == "open":
				for _, st := range caunoi.Statuses {
					if st.Open() {
						a.filter.Statuses = append(a.filter.Statuses, st)
					}
				}
			case slices.Contains(caunoi.Statuses, caunoi.Status(s)):
				a.filter.Statuses = append(a.filter.Statuses, caunoi.Status(s))
			default:
				return a, false, fmt.Errorf("trạng thái %q không có; xem danh sách ở dưới", s)
			}
		}
	}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 {
			return a, false, fmt.Errorf("--limit %q phải là số nguyên dương", limit)
		}
		a.filter.Limit = n
	}
	return a, false, nil
}

func runTickets(ctx context.Context, m *Main, args []string) error {
	a, help, err := parseTicketsArgs(trimArgs(args))
	if err != nil {
		return badUsage(m.Stderr, "tickets", ticketsUsage, err)
	}
	if help {
		fmt.Fprint(m.Stdout, ticketsUsage)
		return nil
	}
	hasFilter := a.filter.Department != "" || len(a.filter.Statuses) > 0 || a.filter.Limit > 0
	switch a.sub {
	case "list":
		if len(a.pos) > 0 {
			return badUsage(m.Stderr, "tickets", ticketsUsage, fmt.Errorf("lệnh list không nhận %q", a.pos[0]))
		}
		if a.csv {
			return badUsage(m.Stderr, "tickets", ticketsUsage, errors.New("--csv chỉ dùng với lệnh export"))
		}
		if a.filter.Limit == 0 {
			a.filter.Limit = defaultListLimit
		}
	case "show":
		if len(a.pos) != 1 {
			return badUsage(m.Stderr, "tickets", ticketsUsage, errors.New("lệnh show cần đúng một số phiếu, ví dụ TP-2025-000042"))
		}
		if a.csv || hasFilter {
			return badUsage(m.Stderr, "tickets", ticketsUsage, errors.New("lệnh show không dùng bộ lọc hay --csv"))
		}
	case "export":
		if len(a.pos) > 0 {
			return badUsage(m.Stderr, "tickets", ticketsUsage, fmt.Errorf("lệnh export không nhận %q", a.pos[0]))
		}
		if !a.csv {
			return badUsage(m.Stderr, "tickets", ticketsUsage, errors.New("lệnh export cần --csv (định dạng duy nhất hiện có)"))
		}
	default:
		return badUsage(m.Stderr, "tickets", ticketsUsage, fmt.Errorf("không có lệnh %q", a.sub))
	}

	desk, s, err := openDesk(ctx, storeURL(m, a.store))
	if err != nil {
		return err
	}
	defer s.Close()
	switch a.sub {
	case "show":
		return showTicket(ctx, m.Stdout, desk, a.pos[0])
	case "export":
		ts, err := desk.Tickets(ctx, caunoi.Operator, a.filter)
		if err != nil {
			return failf("không đọc được phiếu: %v", err)
		}
		return exportTickets(m.Stdout, desk, ts)
	}
	ts, err := desk.Tickets(ctx, caunoi.Operator, a.filter)
	if err != nil {
		return failf("không đọc được phiếu: %v", err)
	}
	return listTickets(m.Stdout, ts)
}

// shorten cuts s to n characters on one line.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func listTickets(w io.Writer, ts []caunoi.Ticket) error {
	if len(ts) == 0 {
		fmt.Fprintln(w, "Không có phiếu nào khớp bộ lọc.")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SỐ PHIẾU\tSỞ\tTRẠNG THÁI\tXÃ\tTẠO LÚC\tHẠN GIẢI QUYẾT\tCÂU HỎI")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Number, t.Department, t.Status.Label(),
			t.Commune, vnTime(t.Created), vnTime(t.ResolutionDue), shorten(t.Question, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nCộng: %d phiếu\n", len(ts))
	return nil
}

func showTicket(ctx context.Context, w io.Writer, desk *caunoi.Desk, number string) error {
	t, events, err := desk.Ticket(ctx, caunoi.Operator, number)
	if errors.Is(err, caunoi.ErrNotFound) {
		return failf("không có phiếu %s", number)
	}
	if err != nil {
		return failf("không đọc được phiếu %s: %v", number, err)
	}
	dep := t.Department
	if d, ok := desk.Department(t.Department); ok {
		dep = d.Name + " (" + d.Code + ")"
	}
	fmt.Fprintf(w, "Phiếu %s\n", t.Number)
	fmt.Fprintf(w, "Sở:              %s\n", dep)
	fmt.Fprintf(w, "Trạng thái:      %s (%s)\n", t.Status.Label(), t.Status)
	fmt.Fprintf(w, "Người hỏi:       %d, xã %s\n", t.Asker, t.Commune)
	if t.Assignee != 0 {
		fmt.Fprintf(w, "Cán bộ xử lý:    %d\n", t.Assignee)
	}
	fmt.Fprintf(w, "Tạo lúc:         %s\n", vnTime(t.Created))
	fmt.Fprintf(w, "Hạn phản hồi:    %s\n", vnTime(t.FirstResponseDue))
	fmt.Fprintf(w, "Hạn giải quyết:  %s\n", vnTime(t.ResolutionDue))
	if !t.FirstResponse.IsZero() {
		fmt.Fprintf(w, "Phản hồi đầu:    %s\n", vnTime(t.FirstResponse))
	}
	if !t.ResolvedAt.IsZero() {
		fmt.Fprintf(w, "Kết thúc:        %s\n", vnTime(t.ResolvedAt))
	}
	if t.Rating > 0 {
		fmt.Fprintf(w, "Đánh giá:        %d/5\n", t.Rating)
	}
	fmt.Fprintf(w, "\nCâu hỏi:\n  %s\n", strings.ReplaceAll(t.Question, "\n", "\n  "))
	if len(t.Results) > 0 {
		fmt.Fprintln(w, "\nSổ tay đã gợi ý:")
		for _, c := range t.Results {
			title := c.Title
			if c.Section != "" {
				title += " › " + c.Section
			}
			fmt.Fprintf(w, "  - %s (%s, độ tin cậy %s)\n", title, c.PassageID, c.Confidence)
		}
	}
	if len(t.Attachments) > 0 {
		fmt.Fprintf(w, "\nTệp đính kèm: %d\n", len(t.Attachments))
	}
	fmt.Fprintln(w, "\nDiễn biến:")
	for _, ev := range events {
		line := fmt.Sprintf("  %s  %s — %s", vnTime(ev.At), actorName(ev.Actor), ev.Kind.Label())
		if ev.Kind == caunoi.EventTransferred && ev.Department != "" {
			line += " sang " + ev.Department
		}
		if ev.To != "" && ev.To != ev.From {
			line += " [" + ev.To.Label() + "]"
		}
		fmt.Fprintln(w, line)
		if ev.Text != "" && ev.Kind != caunoi.EventCreated {
			fmt.Fprintf(w, "      %s\n", strings.ReplaceAll(ev.Text, "\n", "\n      "))
		}
		if len(ev.Attachments) > 0 {
			fmt.Fprintf(w, "      (kèm %d tệp)\n", len(ev.Attachments))
		}
	}
	return nil
}

func actorName(id caunoi.UserID) string {
	if id == caunoi.Operator {
		return "quản trị"
	}
	return strconv.FormatInt(int64(id), 10)
}

// exportHeader names the CSV columns, in Vietnamese for the people who open
// the file in a spreadsheet.
var exportHeader = []string{
	"Số phiếu", "Mã sở", "Tên sở", "Trạng thái", "Mã trạng thái", "Người hỏi", "Mã xã",
	"Câu hỏi", "Tạo lúc", "Hạn phản hồi", "Phản hồi đầu", "Hạn giải quyết",
	"Kết thúc", "Cán bộ xử lý", "Đánh giá",
}

func exportTickets(w io.Writer, desk *caunoi.Desk, ts []caunoi.Ticket) error {
	// The byte order mark tells Excel that the file is UTF-8.
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180
	if err := cw.Write(exportHeader); err != nil {
		return err
	}
	for _, t := range ts {
		depName := ""
		if d, ok := desk.Department(t.Department); ok {
			depName = d.Name
		}
		assignee, rating := "", ""
		if t.Assignee != 0 {
			assignee = strconv.FormatInt(int64(t.Assignee), 10)
		}
		if t.Rating > 0 {
			rating = strconv.Itoa(t.Rating)
		}
		rec := []string{
			t.Number, t.Department, depName, t.Status.Label(), string(t.Status),
			strconv.FormatInt(int64(t.Asker), 10), t.Commune, spreadsheetSafe(t.Question),
			vnTime(t.Created), vnTime(t.FirstResponseDue), vnTime(t.FirstResponse),
			vnTime(t.ResolutionDue), vnTime(t.ResolvedAt), assignee, rating,
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// spreadsheetSafe keeps a spreadsheet from reading text that people typed
// as a formula: a leading =, +, -, @ or control character gets a quote.
func spreadsheetSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
