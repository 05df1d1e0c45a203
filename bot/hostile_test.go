package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/store/boltstore"
)

// manualClock is a clock that moves when told to, and by a microsecond
// each time it is read, so that no two readings are equal.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Microsecond)
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testHandbook is a handbook of a few passages, some holding text that
// looks like markup, with a search that matches keywords. gate, when set,
// runs before every search.
type testHandbook struct {
	passages []caunoi.Passage
	keywords map[string][]string // passage id → keywords
	gate     func(query string)
}

func newTestHandbook() *testHandbook {
	upd := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	return &testHandbook{
		passages: []caunoi.Passage{{
			ID: "ho-tich/khai-sinh#ho-so", EntryID: "ho-tich/khai-sinh", Title: "Đăng ký khai sinh", Section: "Hồ sơ",
			Text:       "Nộp tờ khai <mẫu 01> & giấy chứng sinh; bản sao *không* cần [chứng thực](tg://resolve?domain=x).",
			Department: "tu-phap", LegalBasis: []string{"Luật Hộ tịch 2014, Điều 16 <khoản 1>"}, Updated: upd,
		}, {
			ID: "xay-dung/giay-phep#dieu-kien", EntryID: "xay-dung/giay-phep", Title: "Giấy phép xây dựng <nhà ở riêng lẻ>",
			Section: "Điều kiện & hồ sơ", Text: "Hồ sơ gồm đơn đề nghị và bản vẽ thiết kế.",
			Department: "xay-dung", Updated: upd,
		}},
		keywords: map[string][]string{
			"ho-tich/khai-sinh#ho-so":      {"khai sinh"},
			"xay-dung/giay-phep#dieu-kien": {"xây dựng", "giay phep"},
		},
	}
}

// Search returns the passages whose keywords the query contains, sure of
// the first; a query with "mơ hồ" gets every passage, sure of none.
func (h *testHandbook) Search(ctx context.Context, q string, limit int) (caunoi.SearchResult, error) {
	if h.gate != nil {
		h.gate(q)
	}
	lq := strings.ToLower(q)
	res := caunoi.SearchResult{Query: q, Version: "test"}
	for _, p := range h.passages {
		hit := strings.Contains(lq, "mơ hồ")
		for _, k := range h.keywords[p.ID] {
			hit = hit || strings.Contains(lq, k)
		}
		if hit && len(res.Hits) < limit {
			res.Hits = append(res.Hits, caunoi.Hit{Passage: p, Score: 1, Confidence: caunoi.ConfidenceLow})
		}
	}
	if len(res.Hits) > 0 {
		res.Confidence = caunoi.ConfidenceLow
		if !strings.Contains(lq, "mơ hồ") {
			res.Confidence = caunoi.ConfidenceHigh
			res.Hits[0].Confidence = caunoi.ConfidenceHigh
		}
	}
	return res, nil
}

func (h *testHandbook) Passage(id string) (caunoi.Passage, error) {
	for _, p := range h.passages {
		if p.ID == id {
			return p, nil
		}
	}
	return caunoi.Passage{}, caunoi.ErrNotFound
}

// logBuffer collects a logger's output for inspection; safe for concurrent
// use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hostileSecret is the webhook secret of the test bots; updates that the
// emulator cannot produce (voice, stickers, huge files) come in through the
// webhook handler with it.
const hostileSecret = "hostile-test-webhook-secret"

// botWorld is a Bot wired to the emulator, a bbolt file and the test
// handbook, polling for updates.
type botWorld struct {
	t        *testing.T
	srv      *telegramtest.Server
	store    *boltstore.Store
	desk     *caunoi.Desk
	bot      *Bot
	hb       *testHandbook
	clock    *manualClock
	logs     *logBuffer
	groups   map[string]int64
	official telegramtest.User
	staff    telegramtest.User
	nextRaw  int64
}

// newBotWorld starts a bot with two departments and their staff groups,
// and registers one official and one staff member of tu-phap. The clock
// stands still unless the test moves it.
//
// wrap, when given, wraps the store the bot uses (the desk uses the store
// itself), to bring about faults the real store does not make on demand.
func newBotWorld(t *testing.T, officialName string, wrap ...func(Store) Store) *botWorld {
	t.Helper()
	clock := &manualClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	srv := telegramtest.New(t, telegramtest.WithClock(clock.Now))
	w := &botWorld{t: t, srv: srv, store: MustOpenStore(t), hb: newTestHandbook(), clock: clock, logs: &logBuffer{}, nextRaw: 1 << 40}
	w.official = srv.AddUser(telegramtest.User{FirstName: officialName})
	w.staff = srv.AddUser(telegramtest.User{FirstName: "Đức"})
	w.groups = map[string]int64{
		"tu-phap":  srv.AddGroup("Cán bộ Sở Tư pháp", w.staff.ID).ID,
		"xay-dung": srv.AddGroup("Cán bộ Sở Xây dựng").ID,
	}
	w.desk = &caunoi.Desk{
		Store: w.store, Searcher: w.hb, Now: clock.Now,
		Departments: []caunoi.Department{
			{Code: "tu-phap", Prefix: "TP", Name: "Sở Tư pháp"},
			{Code: "xay-dung", Prefix: "XD", Name: "Sở Xây dựng"},
		},
	}
	var botStore Store = w.store
	for _, f := range wrap {
		botStore = f(botStore)
	}
	b, err := New(context.Background(), Config{
		Token: srv.Token(), ServerURL: srv.URL(), Desk: w.desk, Store: botStore, Handbook: w.hb,
		Groups: w.groups, SigningKey: []byte("hostile-test-signing-key"),
		Limits: Limits{Global: 1e6, PerChat: time.Nanosecond, Group: 1 << 20, GroupWin: time.Minute},
		Logger: slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.bot = b
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Run(ctx, true)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if err := w.store.ReplaceCommunes(context.Background(), []caunoi.Commune{{Code: "00001", Name: "Xã Thử <Nghiệm>"}}); err != nil {
		t.Fatal(err)
	}
	w.register(w.official, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00001"})
	w.register(w.staff, caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: "tu-phap"})
	return w
}

func (w *botWorld) register(u telegramtest.User, req caunoi.InviteRequest) {
	w.t.Helper()
	inv, err := w.desk.CreateInvite(context.Background(), caunoi.Operator, req)
	if err != nil {
		w.t.Fatal(err)
	}
	w.send(u.ID, u.ID, "/start "+inv.Code)
	w.idle()
}

// humanPace is the time between two things a person does in the tests
// that are not about flooding: one flood token's worth.
const humanPace = time.Minute / floodPerMinute

// send posts text as user from in chat, at a person's pace.
func (w *botWorld) send(from, chat int64, text string) {
	w.t.Helper()
	w.clock.Advance(humanPace)
	if _, err := w.srv.SendText(from, chat, text); err != nil {
		w.t.Fatal(err)
	}
}

// idle waits until every update was taken, handled and answered.
func (w *botWorld) idle() {
	w.t.Helper()
	ctx := context.Background()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// In the order work flows: an update leaves Telegram's queue only
		// once it is journaled, and leaves the journal only once its
		// replies are in the outbox. Checked the other way round, an
		// update could be journaled between the two reads and be missed.
		u := len(w.srv.PendingUpdates())
		p, err1 := w.store.Pending(ctx, 1)
		d, err2 := w.store.Due(ctx, w.clock.Now().Add(time.Hour), 1)
		if err1 == nil && err2 == nil && u == 0 && len(p) == 0 && len(d) == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("bot not idle: %d pending updates (%v), %d messages due (%v), %d unconfirmed at Telegram", len(p), err1, len(d), err2, u)
		}
		<-tick.C
	}
}

// raw delivers an update the emulator cannot produce, through the webhook
// handler, as Telegram would. message is the update's message object
// without its id, date and chat, which are filled in for a private chat
// with user.
func (w *botWorld) raw(user telegramtest.User, message map[string]any) {
	w.t.Helper()
	w.clock.Advance(humanPace)
	w.nextRaw++
	message["message_id"] = 900000 + w.nextRaw%100000
	message["date"] = w.clock.Now().Unix()
	message["chat"] = map[string]any{"id": user.ID, "type": "private", "first_name": user.FirstName}
	message["from"] = map[string]any{"id": user.ID, "is_bot": false, "first_name": user.FirstName}
	body, err := json.Marshal(map[string]any{"update_id": w.nextRaw, "message": message})
	if err != nil {
		w.t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/telegram", bytes.NewReader(body))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hostileSecret)
	rec := httptest.NewRecorder()
	w.bot.WebhookHandler(hostileSecret).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		w.t.Fatalf("webhook refused the update: %d %s", rec.Code, rec.Body)
	}
}

// botMessages returns the bot's messages in chat, in their current state.
func (w *botWorld) botMessages(chat int64) []telegramtest.Message {
	var out []telegramtest.Message
	for _, m := range w.srv.Messages(chat) {
		if m.From != nil && m.From.IsBot {
			out = append(out, m)
		}
	}
	return out
}

// press presses the button whose label contains label on the latest bot
// message in chat that has one, as user from.
func (w *botWorld) press(from, chat int64, label string) {
	w.t.Helper()
	msgs := w.srv.Messages(chat)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].ReplyMarkup == nil {
			continue
		}
		for _, row := range msgs[i].ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				if strings.Contains(b.Text, label) {
					w.clock.Advance(humanPace)
					if _, err := w.srv.PressButton(from, chat, msgs[i].MessageID, b.CallbackData); err != nil {
						w.t.Fatal(err)
					}
					w.idle()
					return
				}
			}
		}
	}
	w.t.Fatalf("no button %q in chat %d", label, chat)
}

// last returns the bot's latest message in chat whose text contains s.
func (w *botWorld) last(chat int64, s string) telegramtest.Message {
	w.t.Helper()
	msgs := w.botMessages(chat)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.Contains(msgs[i].Text, s) {
			return msgs[i]
		}
	}
	w.t.Fatalf("no bot message in chat %d contains %q", chat, s)
	return telegramtest.Message{}
}

// injections are user texts that mean markup in HTML or Markdown.
var injections = []string{
	`<b>đậm</b>`, `<a href="tg://user?id=1">bấm</a>`, `&amp;`, `*bold*`, `[x](tg://resolve?domain=evil)`, `<i>`, `</blockquote>`,
}

// checkShownAsText fails unless every injection appears verbatim in the
// text of m, the message has no link entity, and no entity covers any part
// of an injection.
func checkShownAsText(t *testing.T, where string, m telegramtest.Message, injected ...string) {
	t.Helper()
	for _, inj := range injected {
		i := strings.Index(m.Text, inj)
		if i < 0 {
			t.Errorf("%s: %q not shown as text in %q", where, inj, m.Text)
			continue
		}
		start := len(utf16.Encode([]rune(m.Text[:i])))
		end := start + len(utf16.Encode([]rune(inj)))
		// The bot's own formatting may hold the injection whole (a quote,
		// an italic line); markup taken from it would begin or end inside.
		for _, e := range m.Entities {
			if e.Offset > start && e.Offset < end || e.Offset+e.Length > start && e.Offset+e.Length < end {
				t.Errorf("%s: entity %s begins or ends inside the injected %q", where, e.Type, inj)
			}
		}
	}
	for _, e := range m.Entities {
		if e.Type == "text_link" || e.URL != "" {
			t.Errorf("%s: link entity %+v in a message that echoes user text", where, e)
		}
	}
}

// TestInjectionShownAsText sends markup in every place the bot echoes what
// people write: the official's name and question (answer, draft, ticket
// card, ticket lists), the staff reply (notice to the official) and the
// official's follow-up (notice to the staff group). Everything arrives as
// text: the emulator parsed each message as Telegram would, and the markup
// is in the visible text, not in entities.
func TestInjectionShownAsText(t *testing.T) {
	name := `Lan <b>Ng</b> & <a href="tg://user?id=9">x</a>`
	w := newBotWorld(t, name)
	question := "khai sinh cho trẻ " + strings.Join(injections, " ")
	w.send(w.official.ID, w.official.ID, question)
	w.idle()
	ans := w.last(w.official.ID, "Đăng ký khai sinh")
	checkShownAsText(t, "answer", ans, "<mẫu 01> &", "*không*", "[chứng thực](tg://resolve?domain=x)", "<khoản 1>")

	w.press(w.official.ID, w.official.ID, "Hỏi cán bộ Sở")
	draft := w.last(w.official.ID, "Gửi câu hỏi tới")
	checkShownAsText(t, "draft", draft, injections...)

	w.press(w.official.ID, w.official.ID, "Gửi câu hỏi")
	group := w.groups["tu-phap"]
	card := w.last(group, "Phiếu TP-")
	checkShownAsText(t, "ticket card", card, append([]string{"Lan <b>Ng</b> & <a href=\"tg://user?id=9\">x</a>", "Xã Thử <Nghiệm>"}, injections...)...)

	reply := "Trả lời: " + strings.Join(injections, " ")
	w.clock.Advance(humanPace)
	if _, err := w.srv.Reply(w.staff.ID, group, card.MessageID, reply); err != nil {
		t.Fatal(err)
	}
	w.idle()
	notice := w.last(w.official.ID, "trả lời:")
	checkShownAsText(t, "staff reply to the official", notice, injections...)

	follow := "Bổ sung: " + strings.Join(injections, " ")
	w.clock.Advance(humanPace)
	if _, err := w.srv.Reply(w.official.ID, w.official.ID, notice.MessageID, follow); err != nil {
		t.Fatal(err)
	}
	w.idle()
	checkShownAsText(t, "follow-up to the staff group", w.last(group, "Bổ sung:"), injections...)

	w.send(w.official.ID, w.official.ID, "/phieu")
	w.idle()
	checkShownAsText(t, "the official's ticket list", w.last(w.official.ID, "phiếu đang mở"), "khai sinh cho trẻ <b>đậm</b>")
	w.send(w.staff.ID, group, "/phieu")
	w.idle()
	checkShownAsText(t, "the department's ticket list", w.last(group, "phiếu đang mở của sở"), "khai sinh cho trẻ <b>đậm</b>")

	// A file type is echoed in the refusal.
	w.raw(w.official, map[string]any{"document": map[string]any{
		"file_id": "doc-1", "file_unique_id": "u-doc-1", "file_name": "<b>x</b>.bin", "mime_type": "application/<b>evil</b>", "file_size": 10,
	}})
	w.idle()
	checkShownAsText(t, "file refusal", w.last(w.official.ID, "Tệp này không nhận được"), "application/<b>evil</b>")
}

// TestOddQuestions sends questions at the edges of what Telegram carries:
// the longest message, emoji, right-to-left text and control characters.
// Each gets one reply, which the emulator accepted as valid Telegram HTML
// within 4096 characters; the longest is also escalated, and its draft and
// ticket card pass too.
func TestOddQuestions(t *testing.T) {
	w := newBotWorld(t, "Lan")
	long := "khai sinh " + strings.Repeat("<&> ", 1021) + "xã"
	if n := len(utf16.Encode([]rune(long))); n != 4096 {
		t.Fatalf("long question has %d UTF-16 units, want 4096", n)
	}
	emoji := "👨‍👩‍👧‍👦 khai sinh 🙏🏽 " + strings.Repeat("🇻🇳", 500)
	questions := []struct{ name, text string }{
		{"4096 characters", long},
		{"emoji", emoji},
		{"right-to-left", "\u202eسجل الميلاد\u202c שלום khai sinh"},
		{"NUL and controls", "khai\x00 sinh\x07\x1b[31m"},
		{"only controls", "\x00\x01\x02"},
		{"combining marks", strings.Repeat("\u0301", 2000)},
		{"unsure", "mơ hồ " + strings.Repeat("<a href=x>", 300)},
	}
	for _, q := range questions {
		before := len(w.botMessages(w.official.ID))
		w.send(w.official.ID, w.official.ID, q.text)
		w.idle()
		got := w.botMessages(w.official.ID)[before:]
		if len(got) == 0 {
			t.Errorf("%s: no reply", q.name)
			continue
		}
		for _, m := range got {
			if n := len(utf16.Encode([]rune(m.Text))); n == 0 || n > 4096 {
				t.Errorf("%s: reply of %d characters", q.name, n)
			}
		}
	}
	// Escalate the longest one: the draft quotes it and the card carries it.
	w.send(w.official.ID, w.official.ID, long)
	w.idle()
	w.press(w.official.ID, w.official.ID, "Hỏi cán bộ Sở")
	w.press(w.official.ID, w.official.ID, "Gửi câu hỏi")
	card := w.botMessages(w.groups["tu-phap"])
	if len(card) == 0 {
		t.Fatal("no ticket card for the longest question")
	}
	var text strings.Builder
	for _, m := range card {
		text.WriteString(m.Text)
	}
	if !strings.Contains(text.String(), strings.Repeat("<&> ", 100)) {
		t.Errorf("the ticket card lost the question's text")
	}
	if strings.Contains(w.logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", w.logs)
	}
}

// TestOddFiles sends files the bot does not take: a document over
// Telegram's 20 MB download limit, a Windows executable, a voice message
// and a sticker. Each is refused with a message saying why, and nothing is
// attached to the draft.
func TestOddFiles(t *testing.T) {
	w := newBotWorld(t, "Lan")
	w.send(w.official.ID, w.official.ID, "khai sinh quá hạn")
	w.idle()
	w.press(w.official.ID, w.official.ID, "Hỏi cán bộ Sở")
	files := []struct {
		name string
		send func()
		want string
	}{
		{"25 MB PDF", func() {
			w.raw(w.official, map[string]any{"document": map[string]any{
				"file_id": "big-1", "file_unique_id": "u-big-1", "file_name": "ho-so.pdf", "mime_type": "application/pdf", "file_size": 25 << 20,
			}})
		}, "tệp quá lớn"},
		{"executable", func() {
			_, err := w.srv.SendDocument(w.official.ID, w.official.ID, telegramtest.Upload{
				Name: "setup.exe", MIME: "application/x-msdownload", Data: []byte("MZ\x90\x00\x03\x00\x00\x00"),
			}, "")
			if err != nil {
				t.Fatal(err)
			}
		}, `"application/x-msdownload"`},
		{"voice", func() {
			w.raw(w.official, map[string]any{"voice": map[string]any{
				"file_id": "voice-1", "file_unique_id": "u-voice-1", "duration": 7, "mime_type": "audio/ogg", "file_size": 40000,
			}})
		}, "chỉ nhận ảnh và tài liệu"},
		{"sticker", func() {
			w.raw(w.official, map[string]any{"sticker": map[string]any{
				"file_id": "st-1", "file_unique_id": "u-st-1", "type": "regular", "width": 512, "height": 512,
				"is_animated": false, "is_video": false, "emoji": "🙏",
			}})
		}, "chỉ nhận ảnh và tài liệu"},
		{"huge photo", func() {
			w.raw(w.official, map[string]any{"photo": []map[string]any{{
				"file_id": "ph-1", "file_unique_id": "u-ph-1", "width": 9000, "height": 9000, "file_size": 30 << 20,
			}}})
		}, "ảnh quá lớn"},
	}
	for _, f := range files {
		before := len(w.botMessages(w.official.ID))
		w.clock.Advance(humanPace)
		f.send()
		w.idle()
		got := w.botMessages(w.official.ID)[before:]
		if len(got) != 1 {
			t.Errorf("%s: %d replies, want 1", f.name, len(got))
			continue
		}
		if !strings.Contains(got[0].Text, "Tệp này không nhận được") || !strings.Contains(got[0].Text, f.want) {
			t.Errorf("%s: reply %q, want a refusal saying %q", f.name, got[0].Text, f.want)
		}
	}
	d, ok, err := w.bot.loadDraft(context.Background(), w.official.ID)
	if err != nil || !ok {
		t.Fatalf("draft: ok %v, err %v", ok, err)
	}
	if len(d.Attachments) != 0 {
		t.Errorf("refused files attached to the draft: %+v", d.Attachments)
	}
}

// TestFloodLogNeverHoldsText checks that the flood limiter's log lines name
// the person but not what they wrote.
func TestFloodLogNeverHoldsText(t *testing.T) {
	w := newBotWorld(t, "Lan")
	secret := "bí-mật-" + fmt.Sprint(time.Now().UnixNano())
	for i := 0; i < floodBurst+3; i++ {
		if _, err := w.srv.SendText(w.official.ID, w.official.ID, fmt.Sprintf("khai sinh %s %d", secret, i)); err != nil {
			t.Fatal(err)
		}
	}
	w.idle()
	logs := w.logs.String()
	if !strings.Contains(logs, "too many from one person") {
		t.Fatalf("no flood line in the log:\n%s", logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, secret) {
			t.Errorf("log line holds the message text: %s", line)
		}
	}
}
