package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// accessClock moves when told to, and a microsecond with each reading.
type accessClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *accessClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Microsecond)
	return c.t
}

func (c *accessClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const (
	accessSigningKey = "access-test-signing-key-0123456789"
	accessSecret     = "access-test-webhook-secret"
	// pace is the time between two things a person does: the bot's flood
	// limit never applies to them.
	pace = 3 * time.Second
)

// accessWorld is the bot as in production, polling the emulator, on a
// bbolt file, with a clock of its own and its log in a buffer. Two
// officials (a, b), staff of two departments, a member of the tu-phap staff
// group who is not registered (lurker) and a stranger.
type accessWorld struct {
	t                    *testing.T
	srv                  *telegramtest.Server
	app                  *app
	clock                *accessClock
	logs                 *syncBuffer
	a, b, staff, staffXD telegramtest.User
	lurker, stranger     telegramtest.User
	groupTP, groupXD     int64
	rawID                int64
}

func newAccessWorld(t *testing.T) *accessWorld {
	t.Helper()
	clock := &accessClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	srv := telegramtest.New(t, telegramtest.WithClock(clock.Now))
	w := &accessWorld{t: t, srv: srv, clock: clock, logs: &syncBuffer{}, rawID: 1 << 40}
	w.a = srv.AddUser(telegramtest.User{FirstName: "An"})
	w.b = srv.AddUser(telegramtest.User{FirstName: "Bình"})
	w.staff = srv.AddUser(telegramtest.User{FirstName: "Đức"})
	w.staffXD = srv.AddUser(telegramtest.User{FirstName: "Xuân"})
	w.lurker = srv.AddUser(telegramtest.User{FirstName: "Lâm"})
	w.stranger = srv.AddUser(telegramtest.User{FirstName: "Sơn"})
	w.groupTP = srv.AddGroup("Cán bộ Sở Tư pháp", w.staff.ID, w.lurker.ID).ID
	w.groupXD = srv.AddGroup("Cán bộ Sở Xây dựng", w.staffXD.ID).ID

	cfg := DefaultConfig()
	cfg.Token, cfg.APIURL = srv.Token(), srv.URL()
	cfg.Store = "bolt:" + filepath.Join(t.TempDir(), "caunoi.db")
	cfg.Groups = map[string]int64{"tu-phap": w.groupTP, "xay-dung": w.groupXD}
	cfg.SigningKey = accessSigningKey
	cfg.SendRate, cfg.ChatGap = 1000, "0s"
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := openApp(context.Background(), cfg, log, clock.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.bot.Run(ctx, true)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	w.app = a
	err = a.store.ReplaceCommunes(context.Background(), []caunoi.Commune{{Code: "00001", Name: "Xã Một"}, {Code: "00002", Name: "Phường Hai"}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// invite creates an invite as the operator.
func (w *accessWorld) invite(req caunoi.InviteRequest) string {
	w.t.Helper()
	inv, err := w.app.desk.CreateInvite(context.Background(), caunoi.Operator, req)
	if err != nil {
		w.t.Fatal(err)
	}
	return inv.Code
}

// registerAll signs up the officials and the staff through the bot.
func (w *accessWorld) registerAll() {
	w.t.Helper()
	for _, p := range []struct {
		u   telegramtest.User
		req caunoi.InviteRequest
	}{
		{w.a, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00001"}},
		{w.b, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00002"}},
		{w.staff, caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: "tu-phap"}},
		{w.staffXD, caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: "xay-dung"}},
	} {
		w.send(p.u.ID, p.u.ID, "/start "+w.invite(p.req))
		if !strings.Contains(w.lastText(p.u.ID), "Đăng ký thành công") {
			w.t.Fatalf("%s not registered: %q", p.u.FirstName, w.lastText(p.u.ID))
		}
	}
}

// send posts text as from in chat, at a person's pace, and waits for the
// bot to finish with it.
func (w *accessWorld) send(from, chat int64, text string) {
	w.t.Helper()
	w.clock.Advance(pace)
	if _, err := w.srv.SendText(from, chat, text); err != nil {
		w.t.Fatal(err)
	}
	w.idle()
}

func (w *accessWorld) reply(from, chat int64, to int, text string) {
	w.t.Helper()
	w.clock.Advance(pace)
	if _, err := w.srv.Reply(from, chat, to, text); err != nil {
		w.t.Fatal(err)
	}
	w.idle()
}

// idle waits until every update was taken, handled and answered.
func (w *accessWorld) idle() {
	w.t.Helper()
	waitIdle(w.t, w.srv, w.app.store, func() time.Time { return w.clock.Now().Add(time.Hour) })
}

// button finds the callback data of the button labelled label on the
// latest bot message in chat that has one, with the message id.
func (w *accessWorld) button(chat int64, label string) (int, string) {
	w.t.Helper()
	msgs := w.srv.Messages(chat)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].ReplyMarkup == nil {
			continue
		}
		for _, row := range msgs[i].ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				if strings.Contains(b.Text, label) {
					return msgs[i].MessageID, b.CallbackData
				}
			}
		}
	}
	w.t.Fatalf("no button %q in chat %d", label, chat)
	return 0, ""
}

// press presses a real button, as from, and returns the bot's answer to
// the callback query.
func (w *accessWorld) press(from, chat int64, label string) string {
	w.t.Helper()
	msg, data := w.button(chat, label)
	before := len(w.srv.CallbackAnswers())
	w.clock.Advance(pace)
	if _, err := w.srv.PressButton(from, chat, msg, data); err != nil {
		w.t.Fatal(err)
	}
	w.idle()
	err := w.srv.WaitFor(context.Background(), func() bool { return len(w.srv.CallbackAnswers()) > before })
	if err != nil {
		w.t.Fatal(err)
	}
	return w.srv.CallbackAnswers()[before].Text
}

// pressOn presses the button labelled label under message msg of chat.
func (w *accessWorld) pressOn(from, chat int64, msg int, label string) {
	w.t.Helper()
	m, ok := w.srv.Message(chat, msg)
	if !ok || m.ReplyMarkup == nil {
		w.t.Fatalf("no buttons under message %d of chat %d", msg, chat)
	}
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if strings.Contains(b.Text, label) {
				w.clock.Advance(pace)
				if _, err := w.srv.PressButton(from, chat, msg, b.CallbackData); err != nil {
					w.t.Fatal(err)
				}
				w.idle()
				return
			}
		}
	}
	w.t.Fatalf("no button %q under message %d of chat %d", label, msg, chat)
}

// forge delivers a button press that no real button carries, through the
// webhook as Telegram would: from presses data under message msg of chat.
func (w *accessWorld) forge(from telegramtest.User, chat int64, msg int, data string) {
	w.t.Helper()
	w.clock.Advance(pace)
	w.rawID++
	typ := "private"
	if chat < 0 {
		typ = "supergroup"
	}
	upd := map[string]any{"update_id": w.rawID, "callback_query": map[string]any{
		"id": "forged-" + strconv.FormatInt(w.rawID, 10), "chat_instance": "1", "data": data,
		"from":    map[string]any{"id": from.ID, "is_bot": false, "first_name": from.FirstName},
		"message": map[string]any{"message_id": msg, "date": w.clock.Now().Unix(), "chat": map[string]any{"id": chat, "type": typ}},
	}}
	body, _ := json.Marshal(upd)
	req := httptest.NewRequest(http.MethodPost, "/telegram", bytes.NewReader(body))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", accessSecret)
	rec := httptest.NewRecorder()
	w.app.bot.WebhookHandler(accessSecret).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		w.t.Fatalf("webhook: %d", rec.Code)
	}
	w.idle()
}

func (w *accessWorld) lastText(chat int64) string {
	msgs := w.srv.Messages(chat)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].From != nil && msgs[i].From.IsBot {
			return msgs[i].Text
		}
	}
	return ""
}

// escalate asks question as official u and sends it to the department.
func (w *accessWorld) escalate(u telegramtest.User, question string) caunoi.Ticket {
	w.t.Helper()
	w.send(u.ID, u.ID, question)
	w.press(u.ID, u.ID, "Hỏi cán bộ Sở")
	w.press(u.ID, u.ID, "Gửi câu hỏi")
	ts, err := w.app.desk.Tickets(context.Background(), caunoi.Operator, caunoi.TicketFilter{Asker: caunoi.UserID(u.ID)})
	if err != nil || len(ts) == 0 {
		w.t.Fatalf("no ticket for %s: %v", u.FirstName, err)
	}
	return ts[0]
}

// ticketState is a ticket with its timeline, to compare before and after.
type ticketState struct {
	T      caunoi.Ticket
	Events []caunoi.Event
}

func (w *accessWorld) state(number string) ticketState {
	w.t.Helper()
	t, ev, err := w.app.desk.Ticket(context.Background(), caunoi.Operator, number)
	if err != nil {
		w.t.Fatal(err)
	}
	return ticketState{t, ev}
}

// sign makes callback data as the bot does, with the bot's key: what an
// attacker who somehow held the key could send. The wire format is
// version 1, the action, the argument and 8 bytes of HMAC-SHA256 over the
// chat id and those.
func sign(chat int64, act byte, arg string) string {
	body := append([]byte{1, act}, arg...)
	h := hmac.New(sha256.New, []byte(accessSigningKey))
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], uint64(chat))
	h.Write(c[:])
	h.Write(body)
	return base64.RawURLEncoding.EncodeToString(append(body, h.Sum(nil)[:8]...))
}

// Action codes of the callback data wire format.
const (
	wireClaim   = 9
	wireResolve = 12
	wireSolved  = 14
	wireReopen  = 15
	wireRate    = 16
	wireConfirm = 7
)

// TestOfficialCannotTouchAnotherOfficialsTicket has official A try every
// way to read or act on official B's ticket: B's button data replayed in
// A's chat, A's own button data with B's ticket number and the old
// signature, a flipped signature byte, buttons correctly signed for A's
// chat that name B's ticket (as if the key had leaked: the desk still
// refuses), replies naming B's ticket, and /phieu. Each is refused or
// harmless, B's ticket and its timeline do not change, B and the staff
// group hear nothing, and each refusal is logged with A's id.
func TestOfficialCannotTouchAnotherOfficialsTicket(t *testing.T) {
	w := newAccessWorld(t)
	w.registerAll()
	tb := w.escalate(w.b, "trẻ sinh ở nước ngoài, giấy chứng sinh chưa hợp pháp hóa thì đăng ký khai sinh thế nào")
	ta := w.escalate(w.a, "đăng ký kết hôn với người nước ngoài cần giấy tờ gì")
	group := w.groupTP
	if tb.Department != "tu-phap" || ta.Department != "tu-phap" {
		t.Fatalf("tickets went to %s and %s; the test expects tu-phap", tb.Department, ta.Department)
	}
	// Staff resolve both, so that each official holds the buttons of a
	// resolved ticket.
	for _, num := range []string{tb.Number, ta.Number} {
		msgs := w.srv.Messages(group)
		card := 0
		for _, m := range msgs {
			if strings.Contains(m.Text, "Phiếu "+num) && m.ReplyMarkup != nil {
				card = m.MessageID
			}
		}
		if card == 0 {
			t.Fatalf("no card for %s", num)
		}
		w.reply(w.staff.ID, group, card, "Đề nghị xem hướng dẫn tại mục hộ tịch.")
		w.pressOn(w.staff.ID, group, card, "Đã giải quyết")
	}
	_, bSolved := w.button(w.b.ID, "Đã giải quyết")
	aMsg, aReopen := w.button(w.a.ID, "Chưa, hỏi thêm")
	if !strings.Contains(w.lastText(w.b.ID), tb.Number) {
		t.Fatalf("B has no resolved notice for %s: %q", tb.Number, w.lastText(w.b.ID))
	}

	before := w.state(tb.Number)
	bMsgs, groupMsgs := len(w.srv.Messages(w.b.ID)), len(w.srv.Messages(group))
	aID := strconv.FormatInt(w.a.ID, 10)

	raw, err := base64.RawURLEncoding.DecodeString(aReopen)
	if err != nil {
		t.Fatal(err)
	}
	swapped := bytes.Replace(raw, []byte(ta.Number), []byte(tb.Number), 1)
	if bytes.Equal(swapped, raw) || len(ta.Number) != len(tb.Number) {
		t.Fatalf("cannot swap %s for %s in A's button", ta.Number, tb.Number)
	}
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-1] ^= 1

	forgeries := []struct {
		name, data, log string
	}{
		{"B's button replayed in A's chat", bSolved, "refused callback data"},
		{"A's button with B's ticket number", base64.RawURLEncoding.EncodeToString(swapped), "refused callback data"},
		{"A's button with a flipped signature bit", base64.RawURLEncoding.EncodeToString(flipped), "refused callback data"},
		{"signed for A's chat: confirm B's ticket", sign(w.a.ID, wireSolved, tb.Number), "forbidden action refused"},
		{"signed for A's chat: reopen B's ticket", sign(w.a.ID, wireReopen, tb.Number), "forbidden action refused"},
		{"signed for A's chat: rate B's ticket", sign(w.a.ID, wireRate, tb.Number+"/1"), "forbidden action refused"},
		{"signed for A's chat: claim B's ticket", sign(w.a.ID, wireClaim, tb.Number), "forbidden action refused"},
		{"signed for A's chat: resolve B's ticket", sign(w.a.ID, wireResolve, tb.Number), "forbidden action refused"},
	}
	for _, f := range forgeries {
		logged := len(w.logs.String())
		w.forge(w.a, w.a.ID, aMsg, f.data)
		newLog := w.logs.String()[logged:]
		if !strings.Contains(newLog, f.log) || !strings.Contains(newLog, aID) || !strings.Contains(newLog, `"level":"WARN"`) {
			t.Errorf("%s: no warning %q naming user %s in the log:\n%s", f.name, f.log, aID, newLog)
		}
		if after := w.state(tb.Number); !reflect.DeepEqual(before, after) {
			t.Errorf("%s: B's ticket changed:\nbefore %+v\nafter  %+v", f.name, before, after)
		}
	}

	// Replies: to a message that names no ticket, and to A's own ticket,
	// each naming B's ticket.
	plain := 0
	for _, m := range w.srv.Messages(w.a.ID) {
		if m.From != nil && m.From.IsBot && strings.HasPrefix(m.Text, "Đăng ký thành công") {
			plain = m.MessageID
		}
	}
	w.reply(w.a.ID, w.a.ID, plain, "Cho hỏi phiếu "+tb.Number+" đã xử lý chưa?")
	w.reply(w.a.ID, w.a.ID, aMsg, "Bổ sung cho phiếu "+tb.Number+": xin đóng phiếu đó.")
	w.send(w.a.ID, w.a.ID, "/phieu")
	if got := w.lastText(w.a.ID); strings.Contains(got, tb.Number) || !strings.Contains(got, ta.Number) {
		t.Errorf("A's /phieu shows %q; want %s and not %s", got, ta.Number, tb.Number)
	}
	for _, m := range w.srv.Messages(w.a.ID) {
		if m.From != nil && m.From.IsBot && strings.Contains(m.Text, "trẻ sinh ở nước ngoài") {
			t.Errorf("A was shown B's question: %q", m.Text)
		}
	}
	if after := w.state(tb.Number); !reflect.DeepEqual(before, after) {
		t.Errorf("B's ticket changed after A's replies:\nbefore %+v\nafter  %+v", before, after)
	}
	if n := len(w.srv.Messages(w.b.ID)); n != bMsgs {
		t.Errorf("B got %d messages during A's attempts", n-bMsgs)
	}
	// A's own words may name B's ticket; no notice may be about it.
	for _, m := range w.srv.Messages(group)[groupMsgs:] {
		if head, _, _ := strings.Cut(m.Text, "\n"); strings.Contains(head, tb.Number) {
			t.Errorf("the staff group got a notice on B's ticket during A's attempts: %q", m.Text)
		}
	}
}

// TestStaffOnlyActOnTheirDepartment: staff of another department who
// joined the group, and a group member who is not registered, press the
// buttons of a ticket card and reply to it; all are refused, told so, and
// logged, and the ticket does not change. A card button's data forged in
// the other department's group is refused too.
func TestStaffOnlyActOnTheirDepartment(t *testing.T) {
	w := newAccessWorld(t)
	w.registerAll()
	tk := w.escalate(w.b, "trẻ sinh ở nước ngoài, giấy chứng sinh chưa hợp pháp hóa thì đăng ký khai sinh thế nào")
	if err := w.srv.Join(w.groupTP, w.staffXD.ID); err != nil {
		t.Fatal(err)
	}
	before := w.state(tk.Number)
	bMsgs := len(w.srv.Messages(w.b.ID))
	for _, who := range []telegramtest.User{w.staffXD, w.lurker} {
		for _, label := range []string{"Nhận xử lý", "Đã giải quyết", "Cần thêm thông tin", "Chuyển Sở"} {
			logged := len(w.logs.String())
			if got := w.press(who.ID, w.groupTP, label); got != "Anh/chị không có quyền thực hiện thao tác này." {
				t.Errorf("%s pressing %q: answered %q, want the refusal", who.FirstName, label, got)
			}
			if newLog := w.logs.String()[logged:]; !strings.Contains(newLog, "forbidden action refused") ||
				!strings.Contains(newLog, strconv.FormatInt(who.ID, 10)) {
				t.Errorf("%s pressing %q: no warning naming them in the log:\n%s", who.FirstName, label, newLog)
			}
		}
		card, _ := w.button(w.groupTP, "Nhận xử lý")
		w.reply(who.ID, w.groupTP, card, "Tôi trả lời thay: không cần giấy tờ gì.")
		if got := w.lastText(w.groupTP); got != "Anh/chị không có quyền thực hiện thao tác này." {
			t.Errorf("%s replying to the card: bot said %q, want the refusal", who.FirstName, got)
		}
	}
	// The card's data, replayed in the other department's group.
	_, data := w.button(w.groupTP, "Nhận xử lý")
	logged := len(w.logs.String())
	w.forge(w.staffXD, w.groupXD, 1, data)
	if !strings.Contains(w.logs.String()[logged:], "refused callback data") {
		t.Errorf("card data replayed in another group not logged as refused")
	}
	if after := w.state(tk.Number); !reflect.DeepEqual(before, after) {
		t.Errorf("the ticket changed:\nbefore %+v\nafter  %+v", before, after)
	}
	if n := len(w.srv.Messages(w.b.ID)); n != bMsgs {
		t.Errorf("the official got %d messages from refused actions", n-bMsgs)
	}
	// The department's own staff can.
	if got := w.press(w.staff.ID, w.groupTP, "Nhận xử lý"); got != "" {
		t.Errorf("staff of the department pressing «Nhận xử lý»: answered %q", got)
	}
	if st := w.state(tk.Number); st.T.Status != caunoi.StatusClaimed {
		t.Errorf("after the department's staff claimed it the ticket is %s", st.T.Status)
	}
}

// TestUnregisteredCannotEscalate: a person without an invite can search
// the handbook, but «Hỏi cán bộ Sở» tells them to register, and a forged
// «Gửi câu hỏi» does nothing. No ticket is created.
func TestUnregisteredCannotEscalate(t *testing.T) {
	w := newAccessWorld(t)
	s := w.stranger
	w.send(s.ID, s.ID, "thủ tục đăng ký khai sinh")
	if got := w.lastText(s.ID); !strings.HasPrefix(got, "📘") && !strings.HasPrefix(got, "Sổ tay") {
		t.Fatalf("the stranger got no answer: %q", got)
	}
	w.press(s.ID, s.ID, "Hỏi cán bộ Sở")
	if got := w.lastText(s.ID); !strings.Contains(got, "chưa đăng ký") {
		t.Errorf("after «Hỏi cán bộ Sở» the stranger was told %q, want to register first", got)
	}
	msg, _ := w.button(s.ID, "Hỏi cán bộ Sở")
	w.forge(s, s.ID, msg, sign(s.ID, wireConfirm, "AAAAAAAAAAAA"))
	ts, err := w.app.desk.Tickets(context.Background(), caunoi.Operator, caunoi.TicketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 0 {
		t.Errorf("%d tickets exist, want none", len(ts))
	}
	_, err = w.app.desk.Escalate(context.Background(), caunoi.UserID(s.ID), caunoi.EscalateRequest{Text: "câu hỏi", Department: "tu-phap"})
	if !errors.Is(err, caunoi.ErrForbidden) {
		t.Errorf("Escalate by a stranger: %v, want a refusal", err)
	}
}

// TestInviteCodes: codes are 24 characters of 64 symbols (144 bits) from
// crypto/rand, with the full entropy per character and no repeats over a
// thousand; a code works once; and a person gets 5 tries an hour, so the
// sixth is refused even with a valid code, which stays usable.
func TestInviteCodes(t *testing.T) {
	w := newAccessWorld(t)
	ctx := context.Background()
	seen := map[string]bool{}
	counts := map[rune]int{}
	const n = 1000
	for range n {
		code := w.invite(caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00001"})
		raw, err := base64.RawURLEncoding.DecodeString(code)
		if len(code) != 24 || err != nil || len(raw) != 18 {
			t.Fatalf("code %q: %d characters, %d bytes (%v); want 24 characters of 18 random bytes", code, len(code), len(raw), err)
		}
		if seen[code] {
			t.Fatalf("code %q issued twice", code)
		}
		seen[code] = true
		for _, r := range code[:23] { // the last character carries 2 bits only
			counts[r]++
		}
	}
	entropy := 0.0
	for _, c := range counts {
		p := float64(c) / (n * 23)
		entropy -= p * math.Log2(p)
	}
	t.Logf("%d symbols seen, %.3f bits per character (6 at most), about %.0f bits per code", len(counts), entropy, entropy*24)
	if len(counts) != 64 || entropy < 5.95 {
		t.Errorf("%d symbols, %.3f bits per character: want all 64 and ≥ 5.95 bits", len(counts), entropy)
	}

	// Single use.
	code := w.invite(caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00001"})
	w.send(w.a.ID, w.a.ID, "/start "+code)
	w.send(w.b.ID, w.b.ID, "/start "+code)
	if got := w.lastText(w.b.ID); !strings.Contains(got, "đã được dùng") {
		t.Errorf("a used code: bot said %q", got)
	}
	if _, err := w.app.store.Official(ctx, caunoi.UserID(w.b.ID)); err == nil {
		t.Errorf("B registered with a used code")
	}

	// Five tries an hour, the sixth refused even with a valid code.
	x := w.stranger
	for i := range 5 {
		guess := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("guess-number-%05d", i)))
		w.send(x.ID, x.ID, "/start "+guess)
		if got := w.lastText(x.ID); !strings.Contains(got, "Mã mời không đúng") {
			t.Fatalf("guess %d: bot said %q", i+1, got)
		}
	}
	valid := w.invite(caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00001"})
	logged := len(w.logs.String())
	w.send(x.ID, x.ID, "/start "+valid)
	if got := w.lastText(x.ID); !strings.Contains(got, "quá nhiều lần") {
		t.Errorf("sixth try with a valid code: bot said %q, want too many tries", got)
	}
	if !strings.Contains(w.logs.String()[logged:], "invite attempts over the limit") {
		t.Errorf("the sixth try was not logged")
	}
	if _, err := w.app.store.Official(ctx, caunoi.UserID(x.ID)); err == nil {
		t.Errorf("registered on the sixth try")
	}
	w.send(w.lurker.ID, w.lurker.ID, "/start "+valid)
	if got := w.lastText(w.lurker.ID); !strings.Contains(got, "Đăng ký thành công") {
		t.Errorf("the code refused to the guesser no longer works: %q", got)
	}
}
