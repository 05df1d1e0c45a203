package bot

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/store/boltstore"
)

// leadClock is the injected clock of the lead tests: it reads the time it
// was last set to, plus the real time elapsed since, so that the bot sees
// time pass while the test jumps between office hours.
type leadClock struct {
	mu    sync.Mutex
	t     time.Time
	setAt time.Time
}

func (c *leadClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t.Add(time.Since(c.setAt))
}

func (c *leadClock) Set(t time.Time) { c.mu.Lock(); c.t, c.setAt = t, time.Now(); c.mu.Unlock() }

// passages is a handbook with one passage per entry.
type passages map[string]caunoi.Passage

func (p passages) Passage(id string) (caunoi.Passage, error) {
	if v, ok := p[id]; ok {
		return v, nil
	}
	return caunoi.Passage{}, caunoi.ErrNotFound
}

// leadEnv is a running bot over the emulator, on a bbolt file, with a
// Sở Tư pháp staff group holding a staff member and a lead.
type leadEnv struct {
	srv                   *telegramtest.Server
	store                 *boltstore.Store
	desk                  *caunoi.Desk
	bot                   *Bot
	clock                 *leadClock
	official, staff, lead telegramtest.User
	group                 int64
}

// monday is Monday 2 March 2026, midnight in Vietnam.
var monday = time.Date(2026, 3, 2, 0, 0, 0, 0, caunoi.VietnamZone())

func vn(day, hh, mm int) time.Time {
	return monday.AddDate(0, 0, day).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

func startLeadEnv(t *testing.T) *leadEnv {
	t.Helper()
	e := &leadEnv{srv: telegramtest.New(t), store: MustOpenStore(t), clock: &leadClock{t: vn(-1, 8, 0), setAt: time.Now()}} // a Sunday: the first round finds nothing
	e.official = e.srv.AddUser(telegramtest.User{FirstName: "Páo"})
	e.staff = e.srv.AddUser(telegramtest.User{FirstName: "Hà"})
	e.lead = e.srv.AddUser(telegramtest.User{FirstName: "Hùng"})
	e.group = e.srv.AddGroup("Cán bộ Sở Tư pháp", e.staff.ID, e.lead.ID).ID
	ctx := context.Background()
	for _, o := range []caunoi.Official{
		{ID: caunoi.UserID(e.official.ID), Name: "Lò Văn Páo", Commune: "03001", Roles: []caunoi.Role{caunoi.RoleOfficial}},
		{ID: caunoi.UserID(e.staff.ID), Name: "Đặng Thu Hà", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}},
		{ID: caunoi.UserID(e.lead.ID), Name: "Nguyễn Quốc Hùng", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff, caunoi.RoleLead}},
	} {
		if err := e.store.PutOfficial(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	e.desk = &caunoi.Desk{
		Store: e.store,
		Departments: []caunoi.Department{
			{Code: "tu-phap", Prefix: "TP", Name: "Sở Tư pháp"},
			{Code: "noi-vu", Prefix: "NV", Name: "Sở Nội vụ"},
		},
		Now: e.clock.Now,
	}
	b, err := New(ctx, Config{
		Token: e.srv.Token(), ServerURL: e.srv.URL(), Desk: e.desk, Store: e.store,
		Handbook:    passages{},
		Groups:      map[string]int64{"tu-phap": e.group},
		SigningKey:  []byte("a-test-signing-key-0123456789"),
		Limits:      Limits{Global: 1000, PerChat: time.Nanosecond, Group: 1000, GroupWin: time.Second},
		PollTimeout: time.Second,
		Logger:      testLogger(t),
		Now:         e.clock.Now,
		RemindEvery: time.Hour, // rounds are driven by the test
	})
	if err != nil {
		t.Fatal(err)
	}
	e.bot = b
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Run(runCtx, true)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// texts returns the texts of the bot's messages in chat.
func (e *leadEnv) texts(chat int64) []string {
	var out []string
	for _, m := range e.srv.Messages(chat) {
		if m.From != nil && m.From.IsBot {
			out = append(out, m.Text)
		}
	}
	return out
}

// say sends text to chat as from and waits for the bot's next message there.
func (e *leadEnv) say(t *testing.T, from, chat int64, text string) string {
	t.Helper()
	before := len(e.texts(chat))
	if _, err := e.srv.SendText(from, chat, text); err != nil {
		t.Fatal(err)
	}
	return e.waitText(t, chat, before)
}

// waitText waits for the bot's message number n (0-based) in chat.
func (e *leadEnv) waitText(t *testing.T, chat int64, n int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.srv.WaitFor(ctx, func() bool { return len(e.texts(chat)) > n }); err != nil {
		t.Fatalf("no message %d in chat %d: %v", n+1, chat, err)
	}
	return e.texts(chat)[n]
}

// escalate opens a ticket for the official at when.
func (e *leadEnv) escalate(t *testing.T, when time.Time, text string) string {
	t.Helper()
	e.clock.Set(when)
	out, err := e.desk.Escalate(context.Background(), caunoi.UserID(e.official.ID), caunoi.EscalateRequest{Text: text, Department: "tu-phap"})
	if err != nil {
		t.Fatal(err)
	}
	return out.Ticket.Number
}

func TestStatsCommand(t *testing.T) {
	e := startLeadEnv(t)
	n1 := e.escalate(t, vn(0, 8, 0), "đăng ký khai sinh quá hạn cho trẻ")
	e.escalate(t, vn(0, 9, 0), "đăng ký kết hôn với người nước ngoài")
	e.clock.Set(vn(0, 9, 0))
	if _, err := e.desk.Claim(context.Background(), caunoi.UserID(e.staff.ID), n1, "claim-1"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(vn(0, 15, 0))

	tests := []struct {
		name    string
		from    int64
		chat    int64
		text    string
		want    []string
		wantNot []string
	}{
		{"lead in the group", e.lead.ID, e.group, "/thongke",
			[]string{"Thống kê Sở Tư pháp", "7 ngày qua", "Phiếu hỏi mới: 2", "Mới: 1 · Đang xử lý: 1", "Đang quá hạn: 1",
				"trung vị 1 giờ", "Hạn phản hồi: 1/2 phiếu (50%)", "«dang ky» (2)", "Sổ tay không có mục liên quan: 2 phiếu"}, nil},
		{"lead privately, 30 days", e.lead.ID, e.lead.ID, "/thongke 30", []string{"Thống kê Sở Tư pháp", "30 ngày qua", "Phiếu hỏi mới: 2"}, nil},
		{"staff in the group", e.staff.ID, e.group, "/thongke", []string{txtStatsNotLead}, []string{"Phiếu hỏi mới"}},
		{"official privately", e.official.ID, e.official.ID, "/thongke", []string{txtStatsNotLead}, []string{"Phiếu hỏi mới"}},
		{"lead, another department", e.lead.ID, e.lead.ID, "/thongke noi-vu", []string{txtStatsNotLead}, nil},
		{"bad period", e.lead.ID, e.group, "/thongke 1000", []string{"Cách dùng: /thongke"}, nil},
		{"group, another department", e.lead.ID, e.group, "/thongke noi-vu", []string{"Cách dùng: /thongke"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.say(t, tt.from, tt.chat, tt.text)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("reply lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("reply has %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestRemindersThroughEmulator drives reminder rounds with the injected
// clock: each threshold reaches the staff group once, with a button to take
// the ticket while nobody has; the digest reaches the lead privately once.
func TestRemindersThroughEmulator(t *testing.T) {
	e := startLeadEnv(t)
	ctx := context.Background()
	// The lead has written to the bot, so the bot may write back.
	e.say(t, e.lead.ID, e.lead.ID, "/thongke")
	number := e.escalate(t, vn(0, 8, 0), "đăng ký khai sinh quá hạn cho trẻ") // first response due 14:00

	round := func(when time.Time) {
		t.Helper()
		e.clock.Set(when)
		if err := e.bot.Remind(ctx); err != nil {
			t.Fatalf("Remind at %s: %v", when, err)
		}
	}
	reminders := func() []string {
		var out []string
		for _, s := range e.texts(e.group) {
			if strings.Contains(s, "hạn") && strings.Contains(s, number) {
				out = append(out, s)
			}
		}
		return out
	}
	for _, when := range []time.Time{vn(0, 10, 0), vn(0, 11, 0), vn(0, 11, 1), vn(0, 14, 0), vn(0, 14, 5), vn(0, 16, 0)} {
		round(when)
	}
	ctx2, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := e.srv.WaitFor(ctx2, func() bool { return len(reminders()) >= 2 }); err != nil {
		t.Fatalf("reminders in the group: %q", reminders())
	}
	got := reminders()
	if len(got) != 2 || !strings.Contains(got[0], "sắp hết hạn phản hồi (hạn 14:00 02/03/2026)") || !strings.Contains(got[1], "đã quá hạn phản hồi") {
		t.Errorf("reminders %q, want due soon then overdue", got)
	}
	var withButton int
	for _, m := range e.srv.Messages(e.group) {
		if strings.Contains(m.Text, "quá hạn phản hồi") && m.ReplyMarkup != nil && strings.Contains(m.ReplyMarkup.InlineKeyboard[0][0].Text, "Nhận xử lý") {
			withButton++
		}
	}
	if withButton != 1 {
		t.Errorf("%d overdue reminders with a claim button, want 1", withButton)
	}

	// The first round, Monday 10:00, was past 07:30 on a working day: the
	// lead got Monday's digest then.
	if d := e.waitText(t, e.lead.ID, 1); !strings.Contains(d, "thứ Hai 02/03/2026") || !strings.Contains(d, "Phiếu mới: 0") {
		t.Errorf("Monday's digest:\n%s", d)
	}
	// Tuesday 07:30: the digest reaches the lead once.
	before := 2
	round(vn(1, 7, 29))
	round(vn(1, 7, 30))
	round(vn(1, 8, 0))
	digest := e.waitText(t, e.lead.ID, before)
	for _, w := range []string{"Tình hình phiếu hỏi của Sở Tư pháp, thứ Ba 03/03/2026", "Đang mở: 1", "Quá hạn: 1", "Phiếu mới: 1"} {
		if !strings.Contains(digest, w) {
			t.Errorf("digest lacks %q:\n%s", w, digest)
		}
	}
	// Let the sender drain before counting.
	if err := e.srv.WaitFor(ctx2, func() bool { d, _ := e.store.Due(ctx, vn(9, 0, 0), 1); return len(d) == 0 }); err != nil {
		t.Fatal(err)
	}
	if n := len(e.texts(e.lead.ID)) - before; n != 1 {
		t.Errorf("lead got %d digests, want 1", n)
	}
}
