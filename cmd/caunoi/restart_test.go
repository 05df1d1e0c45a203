package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// e2e is the bot wired as in production, over HTTP to the emulator, on a
// bbolt file that outlives each run of the bot.
type e2e struct {
	t        *testing.T
	srv      *telegramtest.Server
	cfg      Config
	official telegramtest.User
	staff    telegramtest.User
	group    int64
	app      *app
	stop     func()
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	srv := telegramtest.New(t)
	e := &e2e{t: t, srv: srv}
	e.official = srv.AddUser(telegramtest.User{FirstName: "Lan"})
	e.staff = srv.AddUser(telegramtest.User{FirstName: "Đức"})
	e.group = srv.AddGroup("Cán bộ Sở Tư pháp", e.staff.ID).ID
	cfg := DefaultConfig()
	cfg.Token, cfg.APIURL = srv.Token(), srv.URL()
	cfg.Store = "bolt:" + filepath.Join(t.TempDir(), "caunoi.db")
	cfg.Groups = map[string]int64{"tu-phap": e.group}
	cfg.SigningKey = "a-test-signing-key-0123456789"
	cfg.SendRate, cfg.ChatGap = 1000, "0s"
	e.cfg = cfg
	return e
}

// start runs the bot until stop is called.
func (e *e2e) start() {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := openApp(context.Background(), e.cfg, log, nil, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.bot.Run(ctx, true)
	}()
	e.app = a
	e.stop = func() {
		cancel()
		<-done
		a.Close()
		e.app = nil
	}
	e.t.Cleanup(func() {
		if e.app != nil {
			e.stop()
		}
	})
}

// idle waits until every update was taken, handled, and answered.
func (e *e2e) idle() {
	e.t.Helper()
	waitIdle(e.t, e.srv, e.app.store, inAMinute)
}

// register signs the official and the staff member up through the bot.
func (e *e2e) register() {
	e.t.Helper()
	ctx := context.Background()
	if err := e.app.store.ReplaceCommunes(ctx, []caunoi.Commune{{Code: "00001", Name: "Xã Thử Nghiệm"}}); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range []struct {
		u   telegramtest.User
		req caunoi.InviteRequest
	}{
		{e.official, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00001"}},
		{e.staff, caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: "tu-phap"}},
	} {
		inv, err := e.app.desk.CreateInvite(ctx, caunoi.Operator, p.req)
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.srv.SendText(p.u.ID, p.u.ID, "/start "+inv.Code); err != nil {
			e.t.Fatal(err)
		}
	}
	e.idle()
}

// sentTo lists the texts the bot sent to chat.
func (e *e2e) sentTo(chat int64) []string {
	var out []string
	for _, o := range e.srv.Outbox(chat) {
		if o.Method == "sendMessage" {
			out = append(out, o.Message.Text)
		}
	}
	return out
}

func countPrefix(texts []string, prefixes ...string) int {
	n := 0
	for _, s := range texts {
		for _, p := range prefixes {
			if strings.HasPrefix(s, p) {
				n++
				break
			}
		}
	}
	return n
}

// TestRestartLosesNothing stops the bot while answers are still on their
// way, lets questions pile up while it is down, and starts it again on the
// same store: every question gets exactly one answer.
func TestRestartLosesNothing(t *testing.T) {
	e := newE2E(t)
	e.start()
	e.register()

	// Answers to the official are slow to leave: some are in the outbox
	// when the bot stops.
	remove := e.srv.Inject(telegramtest.Fault{Method: "sendMessage", ChatID: e.official.ID, Delay: 300 * time.Millisecond})
	questions := []string{
		"thủ tục đăng ký khai sinh", "dang ky ket hon can giay to gi", "chứng thực bản sao từ bản chính",
		"đăng ký thường trú", "cấp lại giấy chứng nhận quyền sử dụng đất bị mất",
	}
	before := len(e.sentTo(e.official.ID))
	for _, q := range questions {
		if _, err := e.srv.SendText(e.official.ID, e.official.ID, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.srv.WaitFor(context.Background(), func() bool { return len(e.sentTo(e.official.ID)) > before }); err != nil {
		t.Fatal(err)
	}
	e.stop()
	remove()

	// While the bot is down, more questions arrive; Telegram keeps them.
	more := []string{"xác nhận tình trạng hôn nhân", "tam tru cho nguoi thue tro", "mua sắm trang thiết bị cho xã"}
	for _, q := range more {
		if _, err := e.srv.SendText(e.official.ID, e.official.ID, q); err != nil {
			t.Fatal(err)
		}
	}
	e.start()
	e.idle()

	answers := countPrefix(e.sentTo(e.official.ID)[before:], "📘", "Sổ tay chưa")
	if want := len(questions) + len(more); answers != want {
		t.Errorf("official got %d answers, want exactly %d (one per question)", answers, want)
	}
}

// press presses the button starting with label on the latest bot message
// in chat that has one.
func (e *e2e) press(from, chat int64, label string) {
	e.t.Helper()
	msgs := e.srv.Messages(chat)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.ReplyMarkup == nil {
			continue
		}
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				if strings.Contains(b.Text, label) {
					if _, err := e.srv.PressButton(from, chat, m.MessageID, b.CallbackData); err != nil {
						e.t.Fatal(err)
					}
					e.idle()
					return
				}
			}
		}
	}
	e.t.Fatalf("no button %q in chat %d", label, chat)
}

// TestRestartMidTicket stops the bot while a staff reply is refused by
// Telegram: after the restart the official gets it exactly once.
func TestRestartMidTicket(t *testing.T) {
	e := newE2E(t)
	e.start()
	e.register()

	if _, err := e.srv.SendText(e.official.ID, e.official.ID, "trẻ sinh ở nước ngoài, giấy chứng sinh chưa hợp pháp hóa thì đăng ký khai sinh thế nào"); err != nil {
		t.Fatal(err)
	}
	e.idle()
	e.press(e.official.ID, e.official.ID, "Hỏi cán bộ Sở")
	e.press(e.official.ID, e.official.ID, "Gửi câu hỏi")
	card := 0
	for _, m := range e.srv.Messages(e.group) {
		if strings.Contains(m.Text, "Phiếu TP-") && m.ReplyMarkup != nil {
			card = m.MessageID
		}
	}
	if card == 0 {
		t.Fatal("no ticket card in the staff group")
	}

	remove := e.srv.Inject(telegramtest.Fault{Method: "sendMessage", ChatID: e.official.ID, Status: 502})
	if _, err := e.srv.Reply(e.staff.ID, e.group, card, "Cần giấy chứng sinh đã hợp pháp hóa lãnh sự và bản dịch."); err != nil {
		t.Fatal(err)
	}
	// Wait until the reply was tried and refused at least once.
	err := e.srv.WaitFor(context.Background(), func() bool {
		for _, r := range e.srv.Requests() {
			if r.ChatID == e.official.ID && r.Status == 502 {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	e.stop()
	remove()
	e.start()
	e.idle()

	got := 0
	for _, s := range e.sentTo(e.official.ID) {
		if strings.Contains(s, "hợp pháp hóa lãnh sự và bản dịch") {
			got++
		}
	}
	if got != 1 {
		t.Errorf("the staff reply reached the official %d times, want 1", got)
	}
}
