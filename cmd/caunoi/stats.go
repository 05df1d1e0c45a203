package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/knowledge"
)

func init() {
	register("stats", "thống kê phiếu hỏi và câu hỏi theo sở", runStats)
}

const statsUsage = `Cách dùng: caunoi stats [--department MÃ_SỞ] [--since 7d | --from NGÀY --to NGÀY]
                    [--json] [--store ĐỊA_CHỈ]

Thống kê phiếu hỏi tạo trong kỳ (theo trạng thái, thời gian phản hồi và giải
quyết tính theo giờ làm việc, tỷ lệ trễ hạn, đánh giá) và câu hỏi trong kỳ (tỷ lệ
sổ tay trả lời được mà không phải chuyển sở, mục sổ tay và từ khóa hay gặp).

Tham số:
  --department MÃ_SỞ   chỉ một sở, ví dụ tu-phap (mặc định: tất cả các sở)
  --since KHOẢNG       kỳ tính đến hiện tại: 7d (ngày) hoặc 48h (giờ); mặc định 7d
  --from NGÀY          ngày đầu kỳ, dạng YYYY-MM-DD (giờ Việt Nam)
  --to NGÀY            ngày cuối kỳ, tính cả ngày đó (mặc định: hôm nay)
  --json               in kết quả dạng JSON
  --store ĐỊA_CHỈ      nơi lưu dữ liệu (mặc định: biến STORE hoặc REDIS_URL,
                       nếu không có thì bolt:caunoi.db)
  -h, --help           in hướng dẫn này

Ngày nghỉ lễ lấy từ biến HOLIDAYS; sổ tay từ HANDBOOK_DIR (mặc định: sổ tay đóng gói).

Câu hỏi được tính cho một sở khi nó đã thành phiếu của sở đó, hoặc khi mục sổ tay
khớp nhất thuộc sở đó. "Sổ tay trả lời được": không thành phiếu, và cán bộ xã bấm
"Đã rõ", hoặc sổ tay khớp cao mà cán bộ xã không bấm "Chưa đúng ý".

Ví dụ: caunoi stats --department tu-phap --from 2026-01-01 --to 2026-03-31 --json
`

type statsArgs struct {
	department string
	from, to   time.Time
	json       bool
	store      string
}

// parseStatsArgs reads the flags; now is the current time, for --since and
// the default --to.
func parseStatsArgs(args []string, now time.Time) (statsArgs, bool, error) {
	var a statsArgs
	var since, from, to string
	var help bool
	spec := flagSpec{
		values:   map[string]*string{"department": &a.department, "since": &since, "from": &from, "to": &to, "store": &a.store},
		switches: map[string]*bool{"json": &a.json, "h": &help, "help": &help},
	}
	pos, err := spec.parse(args)
	if err != nil || help {
		return a, help, err
	}
	if len(pos) > 0 {
		return a, false, fmt.Errorf("không nhận tham số %q", pos[0])
	}
	if a.department != "" {
		deps, err := departments()
		if err != nil {
			return a, false, err
		}
		if !slicesContainsCode(deps, a.department) {
			return a, false, fmt.Errorf("không có sở mã %q; các mã: %s", a.department, departmentCodes(deps))
		}
	}
	zone := caunoi.VietnamZone()
	switch {
	case since != "" && (from != "" || to != ""):
		return a, false, errors.New("dùng --since hoặc --from/--to, không dùng cả hai")
	case from == "" && to != "":
		return a, false, errors.New("--to cần đi kèm --from")
	case from != "":
		f, err := time.ParseInLocation("2006-01-02", from, zone)
		if err != nil {
			return a, false, fmt.Errorf("--from %q: cần ngày dạng YYYY-MM-DD", from)
		}
		t := now.In(zone)
		if to != "" {
			if t, err = time.ParseInLocation("2006-01-02", to, zone); err != nil {
				return a, false, fmt.Errorf("--to %q: cần ngày dạng YYYY-MM-DD", to)
			}
		}
		y, m, d := t.Date()
		a.from, a.to = f, time.Date(y, m, d+1, 0, 0, 0, 0, zone)
		if !a.to.After(a.from) {
			return a, false, errors.New("--to phải từ ngày --from trở đi")
		}
	default:
		d, err := parseStatsSince(since)
		if err != nil {
			return a, false, err
		}
		a.from, a.to = now.Add(-d), now
	}
	return a, false, nil
}

// parseStatsSince reads "7d" or a Go duration such as "48h"; empty means 7 days.
func parseStatsSince(s string) (time.Duration, error) {
	if s == "" {
		return 7 * 24 * time.Hour, nil
	}
	bad := fmt.Errorf("--since %q: cần dạng 7d (ngày) hoặc 48h (giờ)", s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 3660 {
			return 0, bad
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

func runStats(ctx context.Context, m *Main, args []string) error {
	a, help, err := parseStatsArgs(trimArgs(args), time.Now())
	if err != nil {
		return badUsage(m.Stderr, "stats", statsUsage, err)
	}
	if help {
		fmt.Fprint(m.Stdout, statsUsage)
		return nil
	}
	var holidays []string
	if v := strings.TrimSpace(m.Getenv("HOLIDAYS")); v != "" {
		for _, h := range strings.Split(v, ",") {
			holidays = append(holidays, strings.TrimSpace(h))
		}
	}
	cal, err := caunoi.NewCalendar(holidays, nil)
	if err != nil {
		return failf("HOLIDAYS: %v", err)
	}
	hfs, err := handbookFS(strings.TrimSpace(m.Getenv("HANDBOOK_DIR")))
	if err != nil {
		return failf("sổ tay: %v", err)
	}
	// Only the entries' departments are needed; problems in the handbook
	// leave the entries that loaded.
	h, _ := knowledge.Load(hfs, time.Now())
	entryDept := map[string]string{}
	if h != nil {
		for _, e := range h.Entries {
			entryDept[e.ID] = e.Department
		}
	}
	desk, s, err := openDesk(ctx, storeURL(m, a.store))
	if err != nil {
		return err
	}
	defer s.Close()
	desk.Calendar = cal
	st, err := desk.StatsFor(ctx, caunoi.Operator, caunoi.StatsQuery{
		Department:   a.department,
		From:         a.from,
		To:           a.to,
		DepartmentOf: func(c caunoi.Candidate) string { return entryDept[c.EntryID] },
	})
	if err != nil {
		return failf("không tính được thống kê: %v", err)
	}
	if a.json {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(statsDoc(st))
	}
	name := "tất cả các sở"
	if d, ok := desk.Department(st.Department); ok {
		name = d.Name + " (" + d.Code + ")"
	}
	return printStats(m.Stdout, st, name)
}

// statsJSON is the JSON form of caunoi.Stats: durations in working hours,
// shares between 0 and 1.
type statsJSON struct {
	Department    string         `json:"department"`
	From          time.Time      `json:"from"`
	To            time.Time      `json:"to"`
	Tickets       int            `json:"tickets"`
	ByStatus      map[string]int `json:"by_status"`
	Overdue       int            `json:"overdue"`
	FirstResponse durationsJSON  `json:"first_response"`
	Resolution    durationsJSON  `json:"resolution"`
	Deadlines     struct {
		Response   deadlinesJSON `json:"response"`
		Resolution deadlinesJSON `json:"resolution"`
	} `json:"deadlines"`
	Questions struct {
		Asked          int     `json:"asked"`
		Deflected      int     `json:"deflected"`
		Escalated      int     `json:"escalated"`
		DeflectionRate float64 `json:"deflection_rate"`
	} `json:"questions"`
	TopEntries  []entryJSON   `json:"top_entries"`
	Unmatched   int           `json:"unmatched"`
	TopKeywords []keywordJSON `json:"top_keywords"`
	Rating      struct {
		Count int     `json:"count"`
		Mean  float64 `json:"mean"`
	} `json:"rating"`
}

type durationsJSON struct {
	Count       int     `json:"count"`
	MedianHours float64 `json:"median_hours"`
	P90Hours    float64 `json:"p90_hours"`
}

type deadlinesJSON struct {
	Settled     int     `json:"settled"`
	Missed      int     `json:"missed"`
	MissedShare float64 `json:"missed_share"`
}

type entryJSON struct {
	EntryID string `json:"entry_id"`
	Title   string `json:"title"`
	Tickets int    `json:"tickets"`
}

type keywordJSON struct {
	Keyword string `json:"keyword"`
	Tickets int    `json:"tickets"`
}

func hours(d time.Duration) float64 { return d.Round(time.Minute).Hours() }

func statsDoc(s caunoi.Stats) statsJSON {
	var j statsJSON
	j.Department, j.From, j.To = s.Department, s.From.UTC(), s.To.UTC()
	j.Tickets, j.Overdue = s.Tickets, s.Overdue
	j.ByStatus = map[string]int{}
	for st, n := range s.ByStatus {
		j.ByStatus[string(st)] = n
	}
	j.FirstResponse = durationsJSON{s.Responded, hours(s.MedianFirstResponse), hours(s.P90FirstResponse)}
	j.Resolution = durationsJSON{s.Resolved, hours(s.MedianResolution), hours(s.P90Resolution)}
	j.Deadlines.Response = deadlinesJSON{s.ResponseDeadlines, s.ResponseMissed, s.ResponseMissRate()}
	j.Deadlines.Resolution = deadlinesJSON{s.ResolutionDeadlines, s.ResolutionMissed, s.ResolutionMissRate()}
	j.Questions.Asked, j.Questions.Deflected, j.Questions.Escalated = s.Questions, s.Deflected, s.Escalated
	j.Questions.DeflectionRate = s.DeflectionRate()
	j.TopEntries = []entryJSON{}
	for _, e := range s.TopEntries {
		j.TopEntries = append(j.TopEntries, entryJSON{e.Key, e.Title, e.Count})
	}
	j.Unmatched = s.Unmatched
	j.TopKeywords = []keywordJSON{}
	for _, k := range s.TopKeywords {
		j.TopKeywords = append(j.TopKeywords, keywordJSON{k.Key, k.Count})
	}
	j.Rating.Count, j.Rating.Mean = s.Rated, s.MeanRating
	return j
}

// printStats writes the report for a person at the terminal.
func printStats(w io.Writer, s caunoi.Stats, name string) error {
	pct := func(x float64) string { return strconv.FormatFloat(x*100, 'f', 0, 64) + "%" }
	hrs := func(d time.Duration) string {
		return strings.Replace(strconv.FormatFloat(hours(d), 'f', 1, 64), ".", ",", 1) + " giờ"
	}
	ew := &errWriter{w: w}
	ew.printf("Thống kê %s\n", name)
	ew.printf("Kỳ: %s – %s (giờ Việt Nam)\n\n", vnTime(s.From), vnTime(s.To))
	ew.printf("Phiếu hỏi tạo trong kỳ: %d\n", s.Tickets)
	for _, st := range caunoi.Statuses {
		if n := s.ByStatus[st]; n > 0 {
			ew.printf("  %-26s %d\n", st.Label(), n)
		}
	}
	ew.printf("Đang quá hạn: %d\n\n", s.Overdue)
	ew.printf("Thời gian, tính theo giờ làm việc:\n")
	if s.Responded == 0 {
		ew.printf("  phản hồi đầu    chưa có phiếu nào được phản hồi\n")
	} else {
		ew.printf("  phản hồi đầu    trung vị %s, 90%% trong %s (%d phiếu)\n", hrs(s.MedianFirstResponse), hrs(s.P90FirstResponse), s.Responded)
	}
	if s.Resolved == 0 {
		ew.printf("  giải quyết xong chưa có phiếu nào được xác nhận đã giải quyết\n\n")
	} else {
		ew.printf("  giải quyết xong trung vị %s, 90%% trong %s (%d phiếu)\n\n", hrs(s.MedianResolution), hrs(s.P90Resolution), s.Resolved)
	}
	ew.printf("Trễ hạn:\n")
	ew.printf("  hạn phản hồi    %d/%d (%s)\n", s.ResponseMissed, s.ResponseDeadlines, pct(s.ResponseMissRate()))
	ew.printf("  hạn giải quyết  %d/%d (%s)\n\n", s.ResolutionMissed, s.ResolutionDeadlines, pct(s.ResolutionMissRate()))
	ew.printf("Câu hỏi trong kỳ: %d; sổ tay trả lời được %d (%s); chuyển thành phiếu %d\n",
		s.Questions, s.Deflected, pct(s.DeflectionRate()), s.Escalated)
	if len(s.TopEntries) > 0 || s.Unmatched > 0 {
		ew.printf("\nMục sổ tay có nhiều câu hỏi phải chuyển sở:\n")
		for i, e := range s.TopEntries {
			ew.printf("  %d. %s (%s): %d phiếu\n", i+1, e.Title, e.Key, e.Count)
		}
		if s.Unmatched > 0 {
			ew.printf("  sổ tay không có mục liên quan: %d phiếu\n", s.Unmatched)
		}
	}
	if len(s.TopKeywords) > 0 {
		var ks []string
		for _, k := range s.TopKeywords {
			ks = append(ks, fmt.Sprintf("%s (%d)", k.Key, k.Count))
		}
		ew.printf("Từ khóa thường gặp: %s\n", strings.Join(ks, ", "))
	}
	if s.Rated > 0 {
		ew.printf("\nĐánh giá trung bình: %s/5 (%d lượt)\n", strings.Replace(strconv.FormatFloat(s.MeanRating, 'f', 1, 64), ".", ",", 1), s.Rated)
	} else {
		ew.printf("\nĐánh giá: chưa có lượt nào.\n")
	}
	return ew.err
}

// errWriter keeps the first write error, so that a report is written with
// plain calls and checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
