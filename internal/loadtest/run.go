package loadtest

import (
	"container/heap"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caunoi/caunoi/bot/telegramtest"
)

// Load describes the officials' behaviour in a run.
type Load struct {
	Srv *telegramtest.Server
	Pop *Population
	// Questions are drawn from Vocabulary at random.
	Vocabulary []string
	// Total is how many questions are asked; with Duration set, questions
	// are asked until it has passed instead.
	Total    int
	Duration time.Duration
	// Rate is questions per second over all officials; 0 asks as fast as
	// the emulator takes them.
	Rate float64
	// EscalateEvery makes every n-th question an escalation: the official
	// presses "Hỏi cán bộ Sở", then "Gửi câu hỏi", and the department's
	// staff replies to the card. 0 escalates nothing.
	EscalateEvery int
	Seed          uint64
	// Gap is the least time between two questions of one official
	// (default 4 s). The bot drops a person's updates beyond 20 a minute
	// (burst 8), so a run that asks more of each official measures the
	// flood limit instead of the desk; Rate is capped at officials/Gap. An
	// escalation costs its official three updates (the question and two
	// presses), so after one the official waits three gaps.
	Gap time.Duration
	// Poll is how often the officials look at their chats (default 10 ms).
	// Latency is measured on the emulator's clock, not at the poll.
	Poll time.Duration
}

// Run is a load in progress. Its methods are safe for concurrent use.
type Run struct {
	l      Load
	start  time.Time
	cancel context.CancelFunc
	sent   chan struct{} // closed when every question was asked
	done   chan struct{} // closed when the observer stopped

	mu      sync.Mutex
	chats   map[int64]*chatState
	groups  map[int64]*groupState
	tickets map[string]*ticketState
	asked   int
	updates int // updates created: questions, button presses, staff replies
	errs    []error
	last    time.Time // latest bot message seen
	lastAns time.Time // latest answer seen
	origin  time.Time // FirstAnswer and LastAnswer count from here
}

type chatState struct {
	person  Person
	asks    []ask
	answers []answer
	// escalation in progress: 0 none, 1 "Hỏi cán bộ Sở" pressed, 2 "Gửi câu
	// hỏi" pressed, 3 ticket opened, waiting for the staff reply.
	stage   int
	ticket  string
	waiting []answer // answers to escalate once the current one is done
	other   map[string]int
}

type ask struct {
	at       time.Time
	escalate bool
}

type answer struct {
	at    time.Time
	msgID int
	qid   int64 // question number from the "Hỏi cán bộ Sở" button; 0 if unknown
	ask   string
}

type groupState struct {
	dept  string
	staff int64
	other int
}

type ticketState struct {
	chat      int64
	opened    int // "câu hỏi đã được gửi" notices to the official
	cards     int // cards in the staff group
	replied   int // staff replies posted
	delivered int // staff replies that reached the official
	escAt     time.Time
	doneAt    time.Time
}

// Start begins asking. It returns at once; Wait collects the result.
func (l Load) Start(ctx context.Context) *Run {
	if l.Poll <= 0 {
		l.Poll = 10 * time.Millisecond
	}
	if l.Gap <= 0 {
		l.Gap = 4 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Run{
		l: l, start: time.Now(), cancel: cancel,
		sent: make(chan struct{}), done: make(chan struct{}),
		chats: map[int64]*chatState{}, groups: map[int64]*groupState{}, tickets: map[string]*ticketState{},
	}
	for _, p := range l.Pop.Officials {
		r.chats[p.User.ID] = &chatState{person: p, other: map[string]int{}}
	}
	r.origin = r.start
	for d, g := range l.Pop.Groups {
		r.groups[g] = &groupState{dept: d, staff: l.Pop.Staff[d].ID}
	}
	go r.ask(ctx)
	go r.observe(ctx)
	return r
}

// SetOrigin makes the per-chat first and last answer times count from t,
// such as the moment the bot started on a backlog.
func (r *Run) SetOrigin(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.origin = t
}

// Sent is closed once every question was asked.
func (r *Run) Sent() <-chan struct{} { return r.sent }

// Updates is how many updates the officials and staff produced so far.
func (r *Run) Updates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.updates
}

// Asked is how many questions were asked so far.
func (r *Run) Asked() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.asked
}

func (r *Run) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errs) < 20 {
		r.errs = append(r.errs, err)
	}
}

// ask sends the questions at the configured rate, each from an official
// who has not asked for at least Gap.
func (r *Run) ask(ctx context.Context) {
	defer close(r.sent)
	l := r.l
	rnd := newRand(l.Seed + 1)
	var interval time.Duration
	if l.Rate > 0 {
		interval = time.Duration(float64(time.Second) / l.Rate)
	}
	free := make(freeHeap, len(l.Pop.Officials))
	for i, p := range rnd.Perm(len(l.Pop.Officials)) {
		free[i] = freeAt{p: p, at: r.start}
	}
	timer := time.NewTimer(0)
	<-timer.C
	wait := func(until time.Time) bool {
		d := time.Until(until)
		if d <= 0 {
			return true
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		}
	}
	for i := 0; ; i++ {
		if l.Duration > 0 {
			if time.Since(r.start) >= l.Duration {
				return
			}
		} else if i >= l.Total {
			return
		}
		if interval > 0 && !wait(r.start.Add(time.Duration(i)*interval)) {
			return
		}
		next := heap.Pop(&free).(freeAt)
		if !wait(next.at) {
			return
		}
		p := l.Pop.Officials[next.p]
		text := l.Vocabulary[rnd.IntN(len(l.Vocabulary))]
		esc := l.EscalateEvery > 0 && i%l.EscalateEvery == l.EscalateEvery-1
		r.mu.Lock()
		c := r.chats[p.User.ID]
		at := time.Now()
		_, err := l.Srv.SendText(p.User.ID, p.User.ID, text)
		if err == nil {
			c.asks = append(c.asks, ask{at: at, escalate: esc})
			r.asked++
			r.updates++
		}
		r.mu.Unlock()
		if err != nil {
			r.fail(fmt.Errorf("ask as %d: %w", p.User.ID, err))
		}
		// A little jitter, so that officials do not settle into a fixed round.
		gap := l.Gap
		if esc {
			gap *= 3
		}
		next.at = at.Add(gap + time.Duration(rnd.Int64N(int64(gap/4)+1)))
		heap.Push(&free, next)
	}
}

// freeAt is when an official may ask again.
type freeAt struct {
	p  int
	at time.Time
}

type freeHeap []freeAt

func (h freeHeap) Len() int           { return len(h) }
func (h freeHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h freeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *freeHeap) Push(x any)        { *h = append(*h, x.(freeAt)) }
func (h *freeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

var ticketRe = regexp.MustCompile(`\b[A-Z]{2,5}-\d{4}-\d{3,}\b`)

// observe reads the bot's messages and acts on them as the officials and
// staff would.
func (r *Run) observe(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.l.Poll)
	defer t.Stop()
	dead, kill := context.WithCancel(context.Background())
	kill() // a cancelled context makes Next return at once when nothing is new
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		unread := r.l.Srv.Unread()
		r.mu.Lock()
		for _, id := range unread {
			c, g := r.chats[id], r.groups[id]
			if c == nil && g == nil {
				continue
			}
			for {
				o, err := r.l.Srv.Next(dead, id)
				if err != nil {
					break
				}
				if c != nil {
					r.onPrivate(id, c, o)
				} else {
					r.onGroup(id, g, o)
				}
			}
		}
		r.mu.Unlock()
	}
}

// questionID reads the question number out of a button's callback data:
// base64url of version, action, argument and an 8-byte MAC.
func questionID(data string) int64 {
	raw, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil || len(raw) < 2+8 {
		return 0
	}
	arg := string(raw[2 : len(raw)-8])
	n, err := strconv.ParseInt(strings.TrimPrefix(arg, "Q"), 10, 64)
	if err != nil || !strings.HasPrefix(arg, "Q") {
		return 0
	}
	return n
}

func button(m telegramtest.Message, label string) (string, bool) {
	if m.ReplyMarkup == nil {
		return "", false
	}
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if strings.Contains(b.Text, label) {
				return b.CallbackData, true
			}
		}
	}
	return "", false
}

// onPrivate handles one bot action in an official's chat. r.mu is held.
func (r *Run) onPrivate(chat int64, c *chatState, o telegramtest.Outgoing) {
	if o.Method != "sendMessage" {
		c.other[o.Method]++
		return
	}
	r.last = o.Time
	m := o.Message
	switch {
	case strings.HasPrefix(m.Text, "📘") || strings.HasPrefix(m.Text, "Sổ tay chưa"):
		data, _ := button(m, "Hỏi cán bộ Sở")
		a := answer{at: o.Time, msgID: m.MessageID, qid: questionID(data), ask: data}
		c.answers = append(c.answers, a)
		r.lastAns = o.Time
		if k := len(c.answers) - 1; k < len(c.asks) && c.asks[k].escalate && data != "" {
			c.waiting = append(c.waiting, a)
		}
	case strings.Contains(m.Text, "Câu hỏi đã được gửi"):
		num := ticketRe.FindString(m.Text)
		t := r.tickets[num]
		if t == nil {
			t = &ticketState{chat: chat}
			r.tickets[num] = t
		}
		t.opened++
		if c.stage == 2 {
			c.stage, c.ticket = 3, num
			t.escAt = c.waiting[0].at
			c.waiting = c.waiting[1:]
		}
	case strings.HasPrefix(m.Text, "💬 Phiếu"):
		num := ticketRe.FindString(m.Text)
		if t := r.tickets[num]; t != nil {
			t.delivered++
			t.doneAt = o.Time
		}
		if num == c.ticket && c.stage == 3 {
			c.stage, c.ticket = 0, ""
		}
	default:
		if data, ok := button(m, "Gửi câu hỏi"); ok && c.stage == 1 {
			if r.press(chat, m.MessageID, data) {
				c.stage = 2
			}
			return
		}
		k := m.Text
		if n := strings.IndexAny(k, ".:\n"); n > 0 {
			k = k[:n]
		}
		c.other[k]++
	}
	if c.stage == 0 && len(c.waiting) > 0 {
		if r.press(chat, c.waiting[0].msgID, c.waiting[0].ask) {
			c.stage = 1
		}
	}
}

func (r *Run) press(chat int64, msgID int, data string) bool {
	if _, err := r.l.Srv.PressButton(chat, chat, msgID, data); err != nil {
		if len(r.errs) < 20 {
			r.errs = append(r.errs, fmt.Errorf("press a button in chat %d: %w", chat, err))
		}
		return false
	}
	r.updates++
	return true
}

// onGroup handles one bot action in a staff group. r.mu is held.
func (r *Run) onGroup(chat int64, g *groupState, o telegramtest.Outgoing) {
	if o.Method != "sendMessage" {
		return
	}
	r.last = o.Time
	m := o.Message
	if _, ok := button(m, "Nhận xử lý"); !ok {
		g.other++
		return
	}
	num := ticketRe.FindString(m.Text)
	t := r.tickets[num]
	if t == nil {
		t = &ticketState{}
		r.tickets[num] = t
	}
	t.cards++
	if t.cards > 1 {
		return
	}
	text := "Trả lời phiếu " + num + ": đề nghị xã đối chiếu hướng dẫn mới nhất của Sở và liên hệ phòng chuyên môn nếu còn vướng."
	if _, err := r.l.Srv.Reply(g.staff, chat, m.MessageID, text); err != nil {
		if len(r.errs) < 20 {
			r.errs = append(r.errs, fmt.Errorf("staff reply to %s: %w", num, err))
		}
		return
	}
	t.replied++
	r.updates++
}

// Settled reports whether every question asked so far has its answer and
// every escalation its ticket and delivered staff reply.
func (r *Run) Settled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.chats {
		if len(c.answers) < len(c.asks) || c.stage != 0 || len(c.waiting) > 0 {
			return false
		}
	}
	for _, t := range r.tickets {
		if t.delivered < 1 || t.cards < 1 {
			return false
		}
	}
	return true
}

// ErrUnsettled is returned by Wait when the timeout passed first.
var ErrUnsettled = errors.New("load did not settle")

// Wait waits until every question was asked and Settled, then for quiet
// more with nothing new from the bot (to catch late duplicates), and
// returns the result. After timeout it returns the result so far and
// ErrUnsettled.
func (r *Run) Wait(ctx context.Context, timeout, quiet time.Duration) (*Result, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var err error
	settledAt := time.Time{}
wait:
	for {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		case <-deadline.C:
			err = ErrUnsettled
			break wait
		case <-tick.C:
		}
		select {
		case <-r.sent:
		default:
			continue
		}
		if !r.Settled() {
			settledAt = time.Time{}
			continue
		}
		if settledAt.IsZero() {
			settledAt = time.Now()
		}
		if time.Since(settledAt) >= quiet {
			break wait
		}
	}
	r.cancel()
	<-r.done
	<-r.sent
	return r.result(), err
}
