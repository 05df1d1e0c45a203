package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/store/redistest"
)

// remindClock is the clock the replicas share: the instant the test last
// set, plus the real time elapsed since, so that the bots see time pass
// while the test jumps between office hours.
type remindClock struct {
	mu    sync.Mutex
	t     time.Time
	setAt time.Time
}

func (c *remindClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t.Add(time.Since(c.setAt))
}

func (c *remindClock) Set(t time.Time) { c.mu.Lock(); c.t, c.setAt = t, time.Now(); c.mu.Unlock() }

// remindDay returns hh:mm on 2 March 2026 (a Monday) plus day days, Vietnam time.
func remindDay(day, hh, mm int) time.Time {
	return time.Date(2026, 3, 2+day, hh, mm, 0, 0, caunoi.VietnamZone())
}

// remindWorld is the emulator with an official, a staff member and a lead
// of Sở Tư pháp, and the configuration the replicas share.
type remindWorld struct {
	srv                   *telegramtest.Server
	cfg                   Config
	clock                 *remindClock
	official, staff, lead telegramtest.User
	group                 int64
}

func newRemindWorld(t *testing.T, store string) *remindWorld {
	t.Helper()
	w := &remindWorld{srv: telegramtest.New(t), clock: &remindClock{t: remindDay(-1, 9, 0), setAt: time.Now()}}
	w.official = w.srv.AddUser(telegramtest.User{FirstName: "Hoa"})
	w.staff = w.srv.AddUser(telegramtest.User{FirstName: "Bình"})
	w.lead = w.srv.AddUser(telegramtest.User{FirstName: "Hùng"})
	w.group = w.srv.AddGroup("Cán bộ Sở Tư pháp", w.staff.ID, w.lead.ID).ID
	cfg := DefaultConfig()
	cfg.Token, cfg.APIURL = w.srv.Token(), w.srv.URL()
	cfg.Store = store
	cfg.Groups = map[string]int64{"tu-phap": w.group}
	cfg.SigningKey = "a-test-signing-key-0123456789"
	cfg.SendRate, cfg.ChatGap = 1000, "0s"
	cfg.Holidays = []string{"2026-03-06"} // Friday
	cfg.HandbookDir = smallHandbook       // a few entries: each replica builds its index quickly
	w.cfg = cfg
	return w
}

// replica runs one bot process on the shared store until stop is called;
// only a polling replica takes updates.
type replica struct {
	app  *app
	stop func()
}

func (w *remindWorld) start(t *testing.T, polling bool) *replica {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := openApp(context.Background(), w.cfg, log, w.clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.bot.Run(ctx, polling)
	}()
	r := &replica{app: a}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			a.Close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

// people registers the three people and lets the lead write to the bot, so
// that it may write back.
func (w *remindWorld) people(t *testing.T, r *replica) {
	t.Helper()
	ctx := context.Background()
	for _, o := range []caunoi.Official{
		{ID: caunoi.UserID(w.official.ID), Name: "Lò Thị Hoa", Commune: "03001", Roles: []caunoi.Role{caunoi.RoleOfficial}},
		{ID: caunoi.UserID(w.staff.ID), Name: "Trần Văn Bình", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}},
		{ID: caunoi.UserID(w.lead.ID), Name: "Nguyễn Quốc Hùng", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff, caunoi.RoleLead}},
	} {
		if err := r.app.store.PutOfficial(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.srv.SendText(w.lead.ID, w.lead.ID, "/thongke"); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "the lead's statistics", func() bool { return len(w.botTexts(w.lead.ID)) == 1 })
}

func (w *remindWorld) botTexts(chat int64) []string {
	var out []string
	for _, o := range w.srv.Outbox(chat) {
		if o.Method == "sendMessage" {
			out = append(out, o.Message.Text)
		}
	}
	return out
}

func (w *remindWorld) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.srv.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// drained polls, until a deadline, for an empty outbox: everything
// queued was sent and recorded as sent.
func (w *remindWorld) drained(t *testing.T, s caunoi.Store) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		d, err := s.Due(context.Background(), time.Now().AddDate(10, 0, 0), 1)
		if err == nil && len(d) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not empty: %d due, %v", len(d), err)
		}
		<-tick.C
	}
}

// rounds sets the clock to when and runs a reminder round on every
// replica at once.
func (w *remindWorld) rounds(t *testing.T, when time.Time, rs ...*replica) {
	t.Helper()
	w.clock.Set(when)
	var wg sync.WaitGroup
	errs := make([]error, len(rs))
	for i, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.app.bot.Remind(context.Background())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("reminder round at %s: %v", when, err)
		}
	}
}

// countWith returns how many texts contain every part.
func countWith(texts []string, parts ...string) int {
	n := 0
	for _, s := range texts {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(s, p)
		}
		if all {
			n++
		}
	}
	return n
}

// check runs the week both tests share: the first response of a ticket
// opened at 08:00 Monday is due at 14:00, its resolution at 09:00
// Wednesday; it is claimed at 14:30. restart, when set, replaces the
// replicas halfway.
func (w *remindWorld) check(t *testing.T, rs []*replica, restart func() []*replica) {
	t.Helper()
	w.clock.Set(remindDay(0, 8, 0))
	out, err := rs[0].app.desk.Escalate(context.Background(), caunoi.UserID(w.official.ID),
		caunoi.EscalateRequest{Text: "chứng thực bản sao giấy khai sinh cho người nước ngoài", Department: "tu-phap"})
	if err != nil {
		t.Fatal(err)
	}
	number := out.Ticket.Number
	for _, at := range []time.Time{remindDay(0, 10, 0), remindDay(0, 11, 0), remindDay(0, 11, 10)} {
		w.rounds(t, at, rs...)
	}
	if restart != nil {
		rs = restart()
	}
	for _, at := range []time.Time{remindDay(0, 13, 45), remindDay(0, 14, 0), remindDay(0, 14, 20)} {
		w.rounds(t, at, rs...)
	}
	w.clock.Set(remindDay(0, 14, 30))
	if _, err := rs[0].app.desk.Claim(context.Background(), caunoi.UserID(w.staff.ID), number, "claim-1"); err != nil {
		t.Fatal(err)
	}
	// The resolution's "due soon" round is at 08:01, a minute inside the
	// hour before 09:00: the test clock runs on from each Set, so the
	// ticket's due times carry the fraction of a millisecond that passed
	// before it was created, and a round at 08:00 sharp could fall that
	// fraction outside the hour.
	for _, at := range []time.Time{remindDay(0, 16, 0), remindDay(1, 7, 29), remindDay(1, 7, 30), remindDay(1, 9, 0),
		remindDay(2, 8, 1), remindDay(2, 9, 0), remindDay(2, 10, 0), remindDay(4, 7, 30), remindDay(5, 7, 30)} {
		w.rounds(t, at, rs...)
	}
	w.waitFor(t, "the resolution reminder", func() bool {
		return countWith(w.botTexts(w.group), "đã quá hạn giải quyết", number) > 0
	})
	for _, r := range rs {
		w.drained(t, r.app.store)
	}

	group := w.botTexts(w.group)
	for _, c := range []struct {
		what string
		want string
	}{
		{"first response due soon", "sắp hết hạn phản hồi"},
		{"first response overdue", "đã quá hạn phản hồi"},
		{"resolution due soon", "sắp hết hạn giải quyết"},
		{"resolution overdue", "đã quá hạn giải quyết"},
	} {
		if n := countWith(group, c.want, number); n != 1 {
			t.Errorf("%s: %d reminders in the staff group, want 1", c.what, n)
		}
	}
	lead := w.botTexts(w.lead.ID)
	for _, c := range []struct {
		day  string
		want int
	}{
		{"thứ Hai 02/03/2026", 1}, {"thứ Ba 03/03/2026", 1}, {"thứ Tư 04/03/2026", 1},
		{"thứ Sáu 06/03/2026", 0}, {"thứ Bảy 07/03/2026", 0},
	} {
		if n := countWith(lead, "Tình hình phiếu hỏi", c.day); n != c.want {
			t.Errorf("digests for %s: %d, want %d", c.day, n, c.want)
		}
	}
	if n := countWith(lead, "Tình hình phiếu hỏi", "thứ Ba 03/03/2026", "Đang mở: 1", "Quá hạn: 0", "Phiếu mới: 1"); n != 1 {
		t.Errorf("Tuesday's digest has the wrong figures: %q", lead)
	}
}

// TestRemindersOnceAcrossRestart runs the week on a bbolt file, stopping
// the bot and starting a new one on the same file in the middle.
func TestRemindersOnceAcrossRestart(t *testing.T) {
	w := newRemindWorld(t, "bolt:"+filepath.Join(t.TempDir(), "caunoi.db"))
	first := w.start(t, true)
	w.people(t, first)
	w.check(t, []*replica{first}, func() []*replica {
		w.drained(t, first.app.store)
		first.stop()
		return []*replica{w.start(t, true)}
	})
}

// TestRemindersOnceWithTwoReplicas runs the week with two replicas on one
// Redis, both running every reminder round at the same moments.
func TestRemindersOnceWithTwoReplicas(t *testing.T) {
	rds := redistest.Start(t)
	w := newRemindWorld(t, rds.URL(0))
	a := w.start(t, true)
	b := w.start(t, false) // a webhook replica: it takes no updates itself
	w.people(t, a)
	w.check(t, []*replica{a, b}, nil)
}

func TestReminderSettings(t *testing.T) {
	before := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1h", time.Hour, true}, {"30m", 30 * time.Minute, true}, {"off", -1, true}, {"OFF", -1, true}, {"", 0, true},
		{"0", 0, false}, {"-1h", 0, false}, {"41h", 0, false}, {"một giờ", 0, false},
	}
	for _, tt := range before {
		got, err := remindBefore(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("remindBefore(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	at := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"07:30", 7*time.Hour + 30*time.Minute, true}, {"7:05", 7*time.Hour + 5*time.Minute, true}, {"off", -1, true}, {"", 0, true},
		{"00:00", 0, false}, {"17:00", 0, false}, {"25:00", 0, false}, {"7h30", 0, false},
	}
	for _, tt := range at {
		got, err := digestAt(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("digestAt(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	levels := []struct {
		in   string
		want caunoi.Policy
		ok   bool
	}{
		{"4h/16h", caunoi.Policy{FirstResponse: 4 * time.Hour, Resolution: 16 * time.Hour}, true},
		{" 2h / 8h ", caunoi.Policy{FirstResponse: 2 * time.Hour, Resolution: 8 * time.Hour}, true},
		{"8h/2h", caunoi.Policy{}, false}, {"4h", caunoi.Policy{}, false}, {"0h/4h", caunoi.Policy{}, false}, {"bốn/mười", caunoi.Policy{}, false},
	}
	for _, tt := range levels {
		got, err := servicePolicy(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("servicePolicy(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}

	env := map[string]string{"SERVICE_LEVELS": "tu-phap=2h/8h,cong-an=1h/4h", "REMIND_BEFORE": "30m", "DIGEST_AT": "sáng"}
	cfg, problems, err := LoadConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || len(problems) > 0 {
		t.Fatalf("LoadConfig: %v, %v", err, problems)
	}
	ps, err := cfg.policies()
	if err != nil || ps["tu-phap"] != (caunoi.Policy{FirstResponse: 2 * time.Hour, Resolution: 8 * time.Hour}) || len(ps) != 2 {
		t.Errorf("policies = %v, %v", ps, err)
	}
	if cfg.RemindBefore != "30m" {
		t.Errorf("REMIND_BEFORE read as %q", cfg.RemindBefore)
	}
	verr := cfg.Validate([]string{"tu-phap"})
	if verr == nil || !strings.Contains(verr.Error(), `SERVICE_LEVELS: không có sở mã "cong-an"`) || !strings.Contains(verr.Error(), `DIGEST_AT "sáng"`) {
		t.Errorf("Validate: %v; want the unknown department and the bad digest time named", verr)
	}
}
