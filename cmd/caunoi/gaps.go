package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/knowledge"
)

func init() {
	register("gaps", "khoảng trống của sổ tay: câu hỏi chưa được trả lời tốt, theo nhóm", runGaps)
}

const gapsUsage = `Cách dùng: caunoi gaps [--since THỜI_GIAN] [--limit N] [--json] [--store ĐỊA_CHỈ]

Liệt kê các câu hỏi mà sổ tay trả lời chưa tốt (không có kết quả, kết quả chưa
chắc chắn, cán bộ xã bấm «Chưa đúng ý», hoặc đã chuyển thành phiếu hỏi sở),
gộp các câu hỏi gần giống nhau thành nhóm, nhóm lớn nhất trước. Mỗi nhóm là
một mục biên tập viên nên viết tiếp.

Tham số:
  --since THỜI_GIAN    từ bao lâu trước đến nay: 7d (ngày), 2w (tuần), 36h (giờ),
                       hoặc một ngày YYYY-MM-DD; mặc định 7d
  --limit N            tối đa N nhóm (mặc định 20)
  --json               in JSON cho công cụ khác đọc
  --store ĐỊA_CHỈ      nơi lưu dữ liệu (mặc định: biến STORE hoặc REDIS_URL,
                       nếu không có thì bolt:caunoi.db)
  -h, --help           in hướng dẫn này

Ví dụ: caunoi gaps --since 30d --limit 10
`

// defaultGapsLimit bounds the report unless --limit says otherwise.
const defaultGapsLimit = 20

// parseSince reads "7d", "2w", a Go duration such as "36h", or a date
// YYYY-MM-DD (midnight in Vietnam), and returns the start of the period
// that ends at now.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.ParseInLocation("2006-01-02", s, caunoi.VietnamZone()); err == nil {
		if !t.Before(now) {
			return time.Time{}, fmt.Errorf("--since %s là ngày chưa tới", s)
		}
		return t, nil
	}
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		unit = 7 * 24 * time.Hour
	}
	var d time.Duration
	if unit != 0 {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n < 1 || n > 3660 {
			return time.Time{}, fmt.Errorf("--since %q: cần số ngày hoặc tuần dương, ví dụ 7d hoặc 2w", s)
		}
		d = time.Duration(n) * unit
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			return time.Time{}, fmt.Errorf("--since %q: viết như 7d, 2w, 36h hoặc YYYY-MM-DD", s)
		}
	}
	return now.Add(-d), nil
}

// gapJSON is one cluster in the --json output.
type gapJSON struct {
	Count     int          `json:"count"`
	Communes  []string     `json:"communes"`
	Sources   gapSources   `json:"sources"`
	Example   string       `json:"example"`
	Questions []string     `json:"questions"`
	Nearest   *nearestJSON `json:"nearest,omitempty"`
	First     time.Time    `json:"first_asked"`
	Last      time.Time    `json:"last_asked"`
}

type gapSources struct {
	None      int `json:"none"`
	Low       int `json:"low"`
	Unhelpful int `json:"unhelpful"`
	Escalated int `json:"escalated"`
}

type nearestJSON struct {
	PassageID string `json:"passage_id"`
	EntryID   string `json:"entry_id"`
	Title     string `json:"title"`
	Section   string `json:"section,omitempty"`
}

type gapsReport struct {
	Since     time.Time `json:"since"`
	Until     time.Time `json:"until"`
	Questions int       `json:"questions"`
	Clusters  int       `json:"clusters"`
	Gaps      []gapJSON `json:"gaps"`
}

func runGaps(ctx context.Context, m *Main, args []string) error {
	var since, limit, store string
	var asJSON, help bool
	spec := flagSpec{
		values:   map[string]*string{"since": &since, "limit": &limit, "store": &store},
		switches: map[string]*bool{"json": &asJSON, "h": &help, "help": &help},
	}
	pos, err := spec.parse(trimArgs(args))
	if err != nil {
		return badUsage(m.Stderr, "gaps", gapsUsage, err)
	}
	if help {
		fmt.Fprint(m.Stdout, gapsUsage)
		return nil
	}
	if len(pos) > 0 {
		return badUsage(m.Stderr, "gaps", gapsUsage, fmt.Errorf("không nhận tham số %q", pos[0]))
	}
	now := time.Now()
	if since == "" {
		since = "7d"
	}
	from, err := parseSince(since, now)
	if err != nil {
		return badUsage(m.Stderr, "gaps", gapsUsage, err)
	}
	n := defaultGapsLimit
	if limit != "" {
		if n, err = strconv.Atoi(limit); err != nil || n < 1 {
			return badUsage(m.Stderr, "gaps", gapsUsage, fmt.Errorf("--limit %q phải là số nguyên dương", limit))
		}
	}
	desk, s, err := openDesk(ctx, storeURL(m, store))
	if err != nil {
		return err
	}
	defer s.Close()
	qs, err := desk.GapQuestions(ctx, caunoi.Operator, from, now)
	if err != nil {
		return failf("không đọc được nhật ký câu hỏi: %v", err)
	}
	all := knowledge.Gaps(qs, knowledge.DefaultGapSimilarity, 0)
	shown := all
	if len(shown) > n {
		shown = shown[:n]
	}
	if asJSON {
		return writeGapsJSON(m.Stdout, from, now, len(qs), len(all), shown)
	}
	return writeGaps(m.Stdout, from, now, len(qs), len(all), shown)
}

func writeGapsJSON(w io.Writer, from, until time.Time, questions, clusters int, gaps []caunoi.KnowledgeGap) error {
	rep := gapsReport{Since: from.UTC(), Until: until.UTC(), Questions: questions, Clusters: clusters, Gaps: []gapJSON{}}
	for _, g := range gaps {
		j := gapJSON{
			Count: g.Count, Communes: g.Communes, Example: g.Example, Questions: g.Questions,
			Sources: gapSources{None: g.None, Low: g.Low, Unhelpful: g.Unhelpful, Escalated: g.Escalated},
			First:   g.First.UTC(), Last: g.Last.UTC(),
		}
		if j.Communes == nil {
			j.Communes = []string{}
		}
		if c := g.Nearest; c.PassageID != "" {
			j.Nearest = &nearestJSON{PassageID: c.PassageID, EntryID: c.EntryID, Title: c.Title, Section: c.Section}
		}
		rep.Gaps = append(rep.Gaps, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// maxOtherWordings is how many other wordings the text report shows per
// cluster.
const maxOtherWordings = 3

func writeGaps(w io.Writer, from, until time.Time, questions, clusters int, gaps []caunoi.KnowledgeGap) error {
	if questions == 0 {
		_, err := fmt.Fprintf(w, "Từ %s đến %s không có câu hỏi nào mà sổ tay trả lời chưa tốt.\n", vnTime(from), vnTime(until))
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Khoảng trống của sổ tay từ %s đến %s: %d câu hỏi chưa được trả lời tốt, %d nhóm.\n",
		vnTime(from), vnTime(until), questions, clusters)
	for i, g := range gaps {
		fmt.Fprintf(&b, "\n%d. %d câu hỏi · %d xã, phường", i+1, g.Count, len(g.Communes))
		if len(g.Communes) > 0 {
			list := g.Communes
			more := ""
			if len(list) > 5 {
				list, more = list[:5], ", …"
			}
			fmt.Fprintf(&b, " (%s%s)", strings.Join(list, ", "), more)
		}
		b.WriteString("\n   " + gapSourcesText(g) + "\n")
		fmt.Fprintf(&b, "   Ví dụ: «%s»\n", shorten(g.Example, 160))
		for j, q := range g.Questions[1:] {
			if j == maxOtherWordings {
				fmt.Fprintf(&b, "   … và %d cách hỏi khác\n", len(g.Questions)-1-j)
				break
			}
			fmt.Fprintf(&b, "   Cách hỏi khác: «%s»\n", shorten(q, 160))
		}
		if c := g.Nearest; c.PassageID != "" {
			title := c.Title
			if c.Section != "" {
				title += " › " + c.Section
			}
			fmt.Fprintf(&b, "   Mục gần nhất: %s (%s)\n", title, c.PassageID)
		} else {
			b.WriteString("   Mục gần nhất: sổ tay chưa có mục nào liên quan\n")
		}
	}
	if rest := clusters - len(gaps); rest > 0 {
		fmt.Fprintf(&b, "\nCòn %d nhóm nhỏ hơn; dùng --limit để xem thêm.\n", rest)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// gapSourcesText says why a cluster's questions are gaps.
func gapSourcesText(g caunoi.KnowledgeGap) string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", what, n))
		}
	}
	add(g.None, "không có kết quả")
	add(g.Low, "kết quả chưa chắc")
	add(g.Unhelpful, "chưa đúng ý")
	add(g.Escalated, "chuyển sở")
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " · ")
}
