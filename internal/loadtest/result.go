package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/caunoi/caunoi/bot/telegramtest"
)

// Result is what a run measured and checked.
type Result struct {
	Questions int `json:"questions"`
	Answers   int `json:"answers"`
	// Missing questions got no answer; Extra answers came beyond one per
	// question. Of the extra, Resent repeat a question number already
	// answered (the same message sent again), Rehandled carry a new one
	// (the update was handled twice).
	Missing    int `json:"missing"`
	Extra      int `json:"extra"`
	Resent     int `json:"resent"`
	Rehandled  int `json:"rehandled"`
	OutOfOrder int `json:"out_of_order"` // answers whose question number is below the previous one in the chat

	Escalations   int `json:"escalations"`    // tickets the officials opened
	ExtraOpened   int `json:"extra_opened"`   // "sent" notices beyond one per ticket
	ExtraCards    int `json:"extra_cards"`    // cards beyond one per ticket
	MissingCards  int `json:"missing_cards"`  // tickets without a card in the group
	StaffReplies  int `json:"staff_replies"`  // replies staff posted on cards
	Delivered     int `json:"delivered"`      // staff replies that reached the official
	ExtraDelivery int `json:"extra_delivery"` // staff replies that reached the official more than once

	Updates    int           `json:"updates"`        // updates officials and staff produced
	Elapsed    time.Duration `json:"elapsed_ns"`     // first question to the last bot message
	Throughput float64       `json:"updates_per_s"`  // Updates over Elapsed
	AnswerTime time.Duration `json:"answer_time_ns"` // first question to the last answer
	AnswerRate float64       `json:"answers_per_s"`  // Answers over AnswerTime

	// Latency is question (emulator's creation time) to answer (emulator's
	// receive time), over the questions answered exactly once.
	Latency Percentiles `json:"latency"`
	// Escalation is the answer's arrival to the staff reply reaching the
	// official: two button presses, the card, the staff reply.
	Escalation Percentiles `json:"escalation"`
	// FirstAnswer and LastAnswer are, per chat, when its first and last
	// answers arrived after the run started: a backlog drains fairly when
	// every chat's first answer comes early.
	FirstAnswer Percentiles `json:"first_answer"`
	LastAnswer  Percentiles `json:"last_answer"`

	Other  map[string]int `json:"other_messages,omitempty"`
	Errors []string       `json:"errors,omitempty"`
}

// Percentiles summarise durations.
type Percentiles struct {
	N   int           `json:"n"`
	P50 time.Duration `json:"p50_ns"`
	P90 time.Duration `json:"p90_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// Summarise computes percentiles of ds; ds is reordered.
func Summarise(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) time.Duration {
		i := int(q*float64(len(ds))+0.5) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return Percentiles{N: len(ds), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ds[len(ds)-1]}
}

func (r *Run) result() *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{Updates: r.updates, Other: map[string]int{}}
	var lat, first, last, esc []time.Duration
	for _, c := range r.chats {
		res.Questions += len(c.asks)
		res.Answers += len(c.answers)
		if d := len(c.asks) - len(c.answers); d > 0 {
			res.Missing += d
		}
		seen := map[int64]bool{}
		var prev int64
		for _, a := range c.answers {
			if a.qid != 0 && seen[a.qid] {
				res.Resent++
			}
			if a.qid != 0 && a.qid < prev {
				res.OutOfOrder++
			}
			seen[a.qid] = true
			prev = max(prev, a.qid)
		}
		if d := len(c.answers) - len(c.asks); d > 0 {
			res.Extra += d
			res.Rehandled += max(0, d-countResent(c.answers))
		}
		if len(c.answers) == len(c.asks) {
			for i, a := range c.answers {
				lat = append(lat, a.at.Sub(c.asks[i].at))
			}
		}
		if len(c.answers) > 0 {
			first = append(first, c.answers[0].at.Sub(r.origin))
			last = append(last, c.answers[len(c.answers)-1].at.Sub(r.origin))
		}
		for k, n := range c.other {
			res.Other[k] += n
		}
	}
	for _, t := range r.tickets {
		res.Escalations++
		res.ExtraOpened += max(0, t.opened-1)
		res.ExtraCards += max(0, t.cards-1)
		if t.cards == 0 {
			res.MissingCards++
		}
		res.StaffReplies += t.replied
		if t.delivered > 0 {
			res.Delivered++
		}
		res.ExtraDelivery += max(0, t.delivered-1)
		if !t.escAt.IsZero() && !t.doneAt.IsZero() {
			esc = append(esc, t.doneAt.Sub(t.escAt))
		}
	}
	for _, g := range r.groups {
		if g.other > 0 {
			res.Other["group notices"] += g.other
		}
	}
	if len(res.Other) == 0 {
		res.Other = nil
	}
	res.Latency, res.FirstAnswer, res.LastAnswer, res.Escalation = Summarise(lat), Summarise(first), Summarise(last), Summarise(esc)
	if !r.last.IsZero() {
		res.Elapsed = r.last.Sub(r.start)
		res.AnswerTime = r.lastAns.Sub(r.start)
	}
	if s := res.Elapsed.Seconds(); s > 0 {
		res.Throughput = float64(res.Updates) / s
	}
	if s := res.AnswerTime.Seconds(); s > 0 {
		res.AnswerRate = float64(res.Answers) / s
	}
	for _, e := range r.errs {
		res.Errors = append(res.Errors, e.Error())
	}
	return res
}

func countResent(as []answer) int {
	seen := map[int64]bool{}
	n := 0
	for _, a := range as {
		if a.qid != 0 && seen[a.qid] {
			n++
		}
		seen[a.qid] = true
	}
	return n
}

// Problems lists every way the run broke a promise: a question without
// exactly one answer, an answer out of order, an escalation without exactly
// one ticket card, a staff reply lost or doubled.
func (res *Result) Problems() []string {
	var p []string
	if res.Missing > 0 {
		p = append(p, fmt.Sprintf("%d questions got no answer", res.Missing))
	}
	if res.Extra > 0 {
		p = append(p, fmt.Sprintf("%d answers too many (%d the same message again, %d from an update handled twice)", res.Extra, res.Resent, res.Rehandled))
	}
	if res.OutOfOrder > 0 {
		p = append(p, fmt.Sprintf("%d answers out of order", res.OutOfOrder))
	}
	if res.MissingCards > 0 || res.ExtraCards > 0 || res.ExtraOpened > 0 {
		p = append(p, fmt.Sprintf("tickets: %d without a card, %d extra cards, %d extra notices to the official", res.MissingCards, res.ExtraCards, res.ExtraOpened))
	}
	if res.Delivered < res.Escalations || res.ExtraDelivery > 0 {
		p = append(p, fmt.Sprintf("staff replies: %d of %d tickets delivered, %d delivered twice", res.Delivered, res.Escalations, res.ExtraDelivery))
	}
	return p
}

// RateCheck is what the emulator's request log says about the bot's
// sending rates.
type RateCheck struct {
	Sends      int           `json:"sends"`         // message-sending calls that reached the emulator
	MaxPerSec  int           `json:"max_per_s"`     // most sends in any one-second window
	MinGap     time.Duration `json:"min_chat_gap"`  // smallest gap between two sends to one chat
	MaxPerMin  int           `json:"max_group_min"` // most sends to one group in any minute
	Throttled  int           `json:"throttled"`     // 429 answers the emulator gave on its own limits
	Violations []string      `json:"violations,omitempty"`
}

// CheckRates measures the sends in reqs (every call of a message-sending
// method that the emulator answered, whatever the answer) against Telegram's
// limits: perSec overall, gap between two sends to one chat, perMin to one
// group.
func CheckRates(reqs []telegramtest.Request, groups map[int64]bool, perSec int, gap time.Duration, perMin int) RateCheck {
	var rc RateCheck
	var all []time.Time
	byChat := map[int64][]time.Time{}
	for _, q := range reqs {
		switch q.Method {
		case "sendMessage", "sendPhoto", "sendDocument", "copyMessage":
		default:
			continue
		}
		if q.Status == 0 {
			continue // dropped before it was answered: Telegram never saw it
		}
		rc.Sends++
		if q.Status == 429 && !q.Fault {
			rc.Throttled++
		}
		all = append(all, q.Time)
		byChat[q.ChatID] = append(byChat[q.ChatID], q.Time)
	}
	sortTimes(all)
	rc.MaxPerSec = maxInWindow(all, time.Second)
	rc.MinGap = -1
	for chat, ts := range byChat {
		sortTimes(ts)
		for i := 1; i < len(ts); i++ {
			if g := ts[i].Sub(ts[i-1]); rc.MinGap < 0 || g < rc.MinGap {
				rc.MinGap = g
			}
		}
		if groups[chat] {
			rc.MaxPerMin = max(rc.MaxPerMin, maxInWindow(ts, time.Minute))
		}
	}
	if rc.MaxPerSec > perSec {
		rc.Violations = append(rc.Violations, fmt.Sprintf("%d sends in one second, limit %d", rc.MaxPerSec, perSec))
	}
	if rc.MinGap >= 0 && rc.MinGap < gap {
		rc.Violations = append(rc.Violations, fmt.Sprintf("two sends to one chat %s apart, limit %s", rc.MinGap, gap))
	}
	if rc.MaxPerMin > perMin {
		rc.Violations = append(rc.Violations, fmt.Sprintf("%d sends to one group in a minute, limit %d", rc.MaxPerMin, perMin))
	}
	return rc
}

func sortTimes(ts []time.Time) { sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) }) }

// maxInWindow is the largest number of times in any half-open window of
// length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// Report is a whole run: what was asked of it, and what it measured.
type Report struct {
	Mode      string     `json:"mode"`
	Store     string     `json:"store"`
	Limits    string     `json:"limits"`
	Fsync     string     `json:"redis_appendfsync,omitempty"`
	Officials int        `json:"officials"`
	Communes  int        `json:"communes"`
	Rate      float64    `json:"offered_rate"`
	Result    *Result    `json:"result"`
	Rates     *RateCheck `json:"rates,omitempty"`
	RSS       *RSSSeries `json:"rss,omitempty"`
	BotTime   *BotTime   `json:"bot_time,omitempty"`
	Sustained *Sustained `json:"sustained,omitempty"`
	CPU       *CPUUse    `json:"cpu,omitempty"`
	Problems  []string   `json:"problems,omitempty"`
}

// CPUUse is the CPU time each process of a run used, start to finish.
type CPUUse struct {
	Serve   time.Duration `json:"serve_ns"`
	Harness time.Duration `json:"harness_ns"` // the emulator and the simulated people
	Redis   time.Duration `json:"redis_ns,omitempty"`
	// RedisCommands is how many commands Redis processed during the run.
	RedisCommands int64 `json:"redis_commands,omitempty"`
}

// Backlog is one second's reading of the work the bot had: the updates the
// officials and staff had produced, and the updates serve had finished (its
// own count, caunoi_update_handle_seconds).
type Backlog struct {
	Produced int
	Handled  int64
}

// Sustained is how fast the bot finished updates while it had more than
// it could do: over the seconds at whose start and end the updates
// produced and not yet finished were more than the bot finished in that
// second, so that it never waited for work. Unlike Throughput, it leaves out
// the start of a run, before a queue forms, and its end, when the last
// escalations trickle in one button press at a time.
type Sustained struct {
	Seconds int     `json:"seconds"`
	Rate    float64 `json:"updates_per_s"`
}

// SustainedRate computes Sustained from readings taken a second apart; nil
// when the bot never had a queue.
func SustainedRate(loads []Backlog) *Sustained {
	var s Sustained
	var handled int64
	for i := 1; i < len(loads); i++ {
		a, b := loads[i-1], loads[i]
		done := b.Handled - a.Handled
		if int64(a.Produced)-a.Handled > done && int64(b.Produced)-b.Handled > done {
			s.Seconds++
			handled += done
		}
	}
	if s.Seconds == 0 {
		return nil
	}
	s.Rate = float64(handled) / float64(s.Seconds)
	return &s
}

// RSSSeries is the serve process's resident memory over the run.
type RSSSeries struct {
	Samples []int64 `json:"samples_bytes"` // one a second
	// Growth compares the last sample with the first after warm-up (the
	// first tenth of the run), in percent.
	Growth float64 `json:"growth_pct"`
}

// Finish computes Growth from the samples.
func (s *RSSSeries) Finish() {
	if len(s.Samples) < 2 {
		return
	}
	base := s.Samples[len(s.Samples)/10]
	if base > 0 {
		s.Growth = 100 * float64(s.Samples[len(s.Samples)-1]-base) / float64(base)
	}
}

// JSON writes the report as indented JSON.
func (rep *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// Table writes the report for people, in Vietnamese.
func (rep *Report) Table(w io.Writer) {
	r := rep.Result
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "  %-44s %s\n", k, v) }
	store := rep.Store
	if store == "redis" && rep.Fsync != "" {
		store += ", appendfsync " + rep.Fsync
	}
	fmt.Fprintf(&b, "Kết quả thử tải (%s, kho %s, giới hạn gửi %s)\n", rep.Mode, store, rep.Limits)
	row("cán bộ / xã", fmt.Sprintf("%d / %d", rep.Officials, rep.Communes))
	if rep.Rate > 0 {
		row("tốc độ hỏi đặt ra", fmt.Sprintf("%.0f câu/giây", rep.Rate))
	} else {
		row("tốc độ hỏi đặt ra", "nhanh nhất có thể (dồn hàng đợi)")
	}
	row("câu hỏi / câu trả lời", fmt.Sprintf("%d / %d", r.Questions, r.Answers))
	row("cập nhật (hỏi, bấm nút, cán bộ Sở trả lời)", fmt.Sprintf("%d", r.Updates))
	row("thời gian tới câu trả lời cuối", r.AnswerTime.Round(time.Millisecond).String())
	row("thông lượng trả lời", fmt.Sprintf("%.1f câu trả lời/giây", r.AnswerRate))
	row("thời gian tới tin cuối (cả phiếu)", r.Elapsed.Round(time.Millisecond).String())
	row("thông lượng mọi cập nhật", fmt.Sprintf("%.1f cập nhật/giây", r.Throughput))
	row("độ trễ hỏi → trả lời p50 / p90 / p99 / max", fmt.Sprintf("%s / %s / %s / %s", ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99), ms(r.Latency.Max)))
	if r.Escalation.N > 0 {
		row("chuyển Sở → cán bộ xã nhận trả lời p50 / p99", fmt.Sprintf("%s / %s (%d phiếu)", ms(r.Escalation.P50), ms(r.Escalation.P99), r.Escalation.N))
	}
	row("mỗi cuộc trò chuyện: trả lời đầu p50 / max", fmt.Sprintf("%s / %s", r.FirstAnswer.P50.Round(time.Millisecond), r.FirstAnswer.Max.Round(time.Millisecond)))
	row("mỗi cuộc trò chuyện: trả lời cuối p50 / max", fmt.Sprintf("%s / %s", r.LastAnswer.P50.Round(time.Millisecond), r.LastAnswer.Max.Round(time.Millisecond)))
	row("phiếu / thẻ phiếu thừa / thiếu", fmt.Sprintf("%d / %d / %d", r.Escalations, r.ExtraCards, r.MissingCards))
	row("trả lời của Sở tới cán bộ xã / lặp", fmt.Sprintf("%d / %d", r.Delivered, r.ExtraDelivery))
	row("câu hỏi thiếu trả lời / trả lời thừa / sai thứ tự", fmt.Sprintf("%d / %d / %d", r.Missing, r.Extra, r.OutOfOrder))
	if rc := rep.Rates; rc != nil {
		row("lượt gửi tối đa trong 1 giây", fmt.Sprintf("%d", rc.MaxPerSec))
		row("khoảng cách ngắn nhất giữa 2 tin một chat", rc.MinGap.Round(time.Millisecond).String())
		row("tin tối đa tới một nhóm trong 1 phút", fmt.Sprintf("%d", rc.MaxPerMin))
		row("lỗi 429 từ giới hạn của Telegram", fmt.Sprintf("%d", rc.Throttled))
	}
	if s := rep.RSS; s != nil && len(s.Samples) > 0 {
		base := s.Samples[len(s.Samples)/10]
		row("bộ nhớ RSS của serve (sau khởi động → cuối)", fmt.Sprintf("%.1f MB → %.1f MB (%+.1f%%)", float64(base)/1e6, float64(s.Samples[len(s.Samples)-1])/1e6, s.Growth))
	}
	if st := rep.Sustained; st != nil {
		row("cập nhật xử lý mỗi giây khi bot còn việc", fmt.Sprintf("%.1f cập nhật/giây (%d giây bot luôn có việc chờ)", st.Rate, st.Seconds))
	}
	if bt := rep.BotTime; bt != nil && bt.N > 0 {
		row("thời gian của bot mỗi cập nhật p50 / p99", fmt.Sprintf("%s / %s (nhận → xếp tin trả lời vào hàng gửi; %d cập nhật)",
			ms(bt.P50), ms(bt.P99), bt.N))
	}
	if c := rep.CPU; c != nil && c.Serve > 0 {
		v := fmt.Sprintf("serve %.1f s, máy giả lập và người dùng giả %.1f s", c.Serve.Seconds(), c.Harness.Seconds())
		if c.Redis > 0 {
			v += fmt.Sprintf(", redis %.1f s", c.Redis.Seconds())
		}
		if r != nil && r.Updates > 0 {
			v += fmt.Sprintf("; serve %.2f ms mỗi cập nhật", float64(c.Serve)/float64(time.Millisecond)/float64(r.Updates))
		}
		row("thời gian CPU", v)
		if c.RedisCommands > 0 && r != nil && r.Updates > 0 {
			row("lệnh Redis mỗi cập nhật", fmt.Sprintf("%.1f", float64(c.RedisCommands)/float64(r.Updates)))
		}
	}
	if len(rep.Problems) == 0 {
		b.WriteString("Mọi câu hỏi có đúng một câu trả lời, mọi lần chuyển Sở có đúng một phiếu.\n")
	} else {
		b.WriteString("VẤN ĐỀ:\n")
		for _, p := range rep.Problems {
			b.WriteString("  - " + p + "\n")
		}
	}
	io.WriteString(w, b.String())
}
