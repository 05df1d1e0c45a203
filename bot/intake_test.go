package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/store/boltstore"
)

// MustOpenStore opens a bbolt store in a temporary directory.
func MustOpenStore(tb testing.TB) *boltstore.Store {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "caunoi.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestPollerJournalsEveryUpdateOnce runs the poller against the emulator,
// stops it in the middle of a stream of updates several times, and checks
// that every update ends in the journal exactly once and that the emulator
// dropped only journaled updates.
func TestPollerJournalsEveryUpdateOnce(t *testing.T) {
	srv := telegramtest.New(t)
	st := MustOpenStore(t)
	u := srv.AddUser(telegramtest.User{FirstName: "Lan"})
	var sent []int64
	for i := 0; i < 50; i++ {
		upd, err := srv.SendText(u.ID, u.ID, fmt.Sprintf("câu hỏi %d", i))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, upd.UpdateID)
	}
	for round := 0; round < 5; round++ {
		ctx, cancel := context.WithCancel(context.Background())
		p := &poller{client: http.DefaultClient, base: srv.URL() + "/bot" + srv.Token() + "/", journal: st,
			log: testLogger(t), now: time.Now, timeout: time.Second}
		done := make(chan error, 1)
		go func() { done <- p.run(ctx) }()
		// Let it take a few, then stop it as a crash would.
		time.Sleep(time.Duration(round) * 3 * time.Millisecond)
		cancel()
		<-done
		for i := 0; i < 5; i++ {
			upd, _ := srv.SendText(u.ID, u.ID, fmt.Sprintf("thêm %d-%d", round, i))
			sent = append(sent, upd.UpdateID)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &poller{client: http.DefaultClient, base: srv.URL() + "/bot" + srv.Token() + "/", journal: st,
		log: testLogger(t), now: time.Now, timeout: time.Second}
	done := make(chan error, 1)
	go func() { done <- p.run(ctx) }()
	waitUntil(t, "all updates journaled", func() bool {
		got, err := st.Pending(context.Background(), 1000)
		return err == nil && len(got) == len(sent)
	})
	cancel()
	<-done
	got, err := st.Pending(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, e := range got {
		seen[e.ID]++
		if e.Chat != u.ID {
			t.Errorf("update %d journaled for chat %d, want %d", e.ID, e.Chat, u.ID)
		}
	}
	for _, id := range sent {
		if seen[id] != 1 {
			t.Errorf("update %d journaled %d times, want 1", id, seen[id])
		}
	}
}

func TestDispatcherOrderAndPanics(t *testing.T) {
	st := MustOpenStore(t)
	ctx := context.Background()
	m := &Metrics{}
	var mu sync.Mutex
	order := map[int64][]int64{}
	handle := func(ctx context.Context, upd *models.Update) error {
		if upd.Message.Text == "panic" {
			panic("handler bug")
		}
		time.Sleep(time.Duration(upd.ID%3) * time.Millisecond)
		mu.Lock()
		order[upd.Message.Chat.ID] = append(order[upd.Message.Chat.ID], upd.ID)
		mu.Unlock()
		return nil
	}
	const n = 300
	for id := int64(1); id <= n; id++ {
		chat := id%7 + 1
		text := "x"
		if id == 50 {
			text = "panic"
		}
		raw, _ := json.Marshal(map[string]any{"update_id": id, "message": map[string]any{
			"message_id": id, "date": 0, "text": text, "chat": map[string]any{"id": chat, "type": "private"}}})
		if _, _, err := journalUpdate(ctx, st, raw, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	d := newDispatcher(st, handle, testLogger(t), m)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.run(rctx) }()
	waitUntil(t, "journal drained", func() bool {
		p, err := st.Pending(ctx, 1)
		return err == nil && len(p) == 0
	})
	cancel()
	<-done
	total := 0
	for chat, ids := range order {
		total += len(ids)
		for i := 1; i < len(ids); i++ {
			if ids[i] < ids[i-1] {
				t.Fatalf("chat %d handled %d after %d", chat, ids[i], ids[i-1])
			}
		}
	}
	if total != n-1 {
		t.Errorf("handled %d updates, want %d (all but the panicking one)", total, n-1)
	}
	if got := m.Panics.Load(); got != 1 {
		t.Errorf("panics counted %d, want 1", got)
	}
	if got := m.UpdatesHandled.Load(); got != n {
		t.Errorf("updates handled %d, want %d", got, n)
	}
}

func TestDispatcherRetriesStoreFailures(t *testing.T) {
	st := MustOpenStore(t)
	ctx := context.Background()
	var mu sync.Mutex
	attempts := map[int64]int{}
	var handled []int64
	handle := func(ctx context.Context, upd *models.Update) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[upd.ID]++
		if upd.ID == 2 && attempts[upd.ID] < 3 {
			return &retryableError{errors.New("store unreachable")}
		}
		handled = append(handled, upd.ID)
		return nil
	}
	for id := int64(1); id <= 3; id++ {
		raw, _ := json.Marshal(map[string]any{"update_id": id, "message": map[string]any{
			"message_id": id, "date": 0, "text": "x", "chat": map[string]any{"id": 9, "type": "private"}}})
		if _, _, err := journalUpdate(ctx, st, raw, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	d := newDispatcher(st, handle, testLogger(t), nil)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.run(rctx) }()
	waitUntil(t, "journal drained", func() bool {
		p, err := st.Pending(ctx, 1)
		return err == nil && len(p) == 0
	})
	cancel()
	<-done
	if fmt.Sprint(handled) != "[1 2 3]" {
		t.Errorf("handled %v, want [1 2 3] in order, the retried update before the next", handled)
	}
	if attempts[2] != 3 {
		t.Errorf("update 2 attempted %d times, want 3", attempts[2])
	}
}

func TestWebhookSecret(t *testing.T) {
	st := MustOpenStore(t)
	const secret = "s3cret-token_for-webhook"
	m := &Metrics{}
	h := webhookHandler(secret, st, testLogger(t), time.Now, nil, m)
	body := `{"update_id": 77, "message": {"message_id": 1, "date": 0, "text": "hi", "chat": {"id": 5, "type": "private"}}}`
	tests := []struct {
		name   string
		method string
		secret string
		body   string
		want   int
	}{
		{"no secret", http.MethodPost, "", body, http.StatusUnauthorized},
		{"wrong secret", http.MethodPost, "s3cret-token_for-webhooK", body, http.StatusUnauthorized},
		{"prefix of secret", http.MethodPost, "s3cret", body, http.StatusUnauthorized},
		{"GET", http.MethodGet, secret, "", http.StatusMethodNotAllowed},
		{"not JSON", http.MethodPost, secret, "<xml/>", http.StatusBadRequest},
		{"no update id", http.MethodPost, secret, `{"message": {}}`, http.StatusBadRequest},
		{"too large", http.MethodPost, secret, `{"update_id": 78, "x": "` + strings.Repeat("a", maxUpdateBytes) + `"}`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, "/telegram", strings.NewReader(tt.body))
		if tt.secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", tt.secret)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, w.Code, tt.want)
		}
	}
	if p, _ := st.Pending(context.Background(), 10); len(p) != 0 {
		t.Fatalf("refused calls journaled %d updates", len(p))
	}
	for i := 0; i < 2; i++ { // Telegram may deliver twice
		req := httptest.NewRequest(http.MethodPost, "/telegram", strings.NewReader(body))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("good call: status %d", w.Code)
		}
	}
	p, _ := st.Pending(context.Background(), 10)
	if len(p) != 1 || p[0].ID != 77 || p[0].Chat != 5 {
		t.Errorf("journal = %+v, want update 77 once, chat 5", p)
	}
	if in, dup := m.UpdatesIn.Load(), m.Duplicates.Load(); in != 1 || dup != 1 {
		t.Errorf("counted %d new and %d duplicate updates, want 1 and 1", in, dup)
	}
}

var _ caunoi.Journal = (*boltstore.Store)(nil)

// TestDispatcherInboxKeepsOrder feeds the dispatcher from its inbox while
// the journal still holds more than one read returns: no chat's newer
// update may overtake an older one, and none is handled twice.
func TestDispatcherInboxKeepsOrder(t *testing.T) {
	st := MustOpenStore(t)
	ctx := context.Background()
	var mu sync.Mutex
	order := map[int64][]int64{}
	count := map[int64]int{}
	handle := func(ctx context.Context, upd *models.Update) error {
		time.Sleep(time.Duration(upd.ID%2) * time.Millisecond)
		mu.Lock()
		order[upd.Message.Chat.ID] = append(order[upd.Message.Chat.ID], upd.ID)
		count[upd.ID]++
		mu.Unlock()
		return nil
	}
	journal := func(id int64) caunoi.JournalEntry {
		raw, _ := json.Marshal(map[string]any{"update_id": id, "message": map[string]any{
			"message_id": id, "date": 0, "text": "x", "chat": map[string]any{"id": id%5 + 1, "type": "private"}}})
		e, added, err := journalUpdate(ctx, st, raw, time.Now())
		if err != nil || !added {
			t.Fatalf("journal %d: added %v, %v", id, added, err)
		}
		return e
	}
	const backlog, fresh = 60, 60
	for id := int64(1); id <= backlog; id++ {
		journal(id)
	}
	d := newDispatcher(st, handle, testLogger(t), nil)
	d.read = 7 // far less than the backlog: several reads to catch up
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.run(rctx) }()
	for id := int64(backlog + 1); id <= backlog+fresh; id++ {
		d.offer([]caunoi.JournalEntry{journal(id)})
	}
	waitUntil(t, "journal drained", func() bool {
		p, err := st.Pending(ctx, 1)
		return err == nil && len(p) == 0
	})
	cancel()
	<-done
	for chat, ids := range order {
		for i := 1; i < len(ids); i++ {
			if ids[i] < ids[i-1] {
				t.Fatalf("chat %d handled %d after %d", chat, ids[i], ids[i-1])
			}
		}
	}
	for id := int64(1); id <= backlog+fresh; id++ {
		if count[id] != 1 {
			t.Errorf("update %d handled %d times, want 1", id, count[id])
		}
	}
}

// countingDone counts how the bot ends the handling of updates.
type countingDone struct {
	Store
	done, enqueueDone atomic.Int64
}

func (c *countingDone) Done(ctx context.Context, id int64) error {
	c.done.Add(1)
	return c.Store.Done(ctx, id)
}

func (c *countingDone) EnqueueDone(ctx context.Context, msgs []caunoi.OutMessage, id int64, qs ...caunoi.QuestionRecord) error {
	c.enqueueDone.Add(1)
	return c.Store.EnqueueDone(ctx, msgs, id, qs...)
}

// TestRepliesAndDoneInOneWrite checks that an update's replies and the end
// of its handling are stored in one write, except when work remains after
// the replies are stored (sending an escalation deletes its draft then):
// that update is marked done only after that work.
func TestRepliesAndDoneInOneWrite(t *testing.T) {
	c := &countingDone{}
	w := newBotWorld(t, "Lan", func(s Store) Store { c.Store = s; return c })
	d0, e0 := c.done.Load(), c.enqueueDone.Load()
	w.send(w.official.ID, w.official.ID, "khai sinh cho trẻ")
	w.idle()
	if d, e := c.done.Load()-d0, c.enqueueDone.Load()-e0; d != 0 || e != 1 {
		t.Fatalf("a question: %d Done and %d EnqueueDone, want 0 and 1", d, e)
	}
	w.press(w.official.ID, w.official.ID, "Hỏi cán bộ Sở")
	w.idle()
	d1, e1 := c.done.Load(), c.enqueueDone.Load()
	w.press(w.official.ID, w.official.ID, "Gửi câu hỏi")
	w.idle()
	if d, e := c.done.Load()-d1, c.enqueueDone.Load()-e1; d != 1 || e != 0 {
		t.Errorf("sending an escalation: %d Done and %d EnqueueDone, want 1 and 0", d, e)
	}
	if _, err := w.store.Value(context.Background(), draftKey(w.official.ID)); !errors.Is(err, caunoi.ErrNotFound) {
		t.Errorf("the draft is still there after sending: %v", err)
	}
	if p, err := w.store.Pending(context.Background(), 10); err != nil || len(p) != 0 {
		t.Errorf("journal after idle: %d pending, %v", len(p), err)
	}
	tickets, err := w.store.Tickets(context.Background(), caunoi.TicketFilter{Asker: caunoi.UserID(w.official.ID)})
	if err != nil || len(tickets) != 1 {
		t.Errorf("tickets of the official: %d, %v; want 1", len(tickets), err)
	}
}

// failingRelease fails ReleaseChat the first time: the store is
// unreachable for that call.
type failingRelease struct {
	Store
	calls atomic.Int64
}

func (f *failingRelease) ReleaseChat(ctx context.Context, chat int64, now time.Time) error {
	if f.calls.Add(1) == 1 {
		return errors.New("store unreachable")
	}
	return f.Store.ReleaseChat(ctx, chat, now)
}

// TestReleaseChatAlongsideHandling: the release of a person's held messages
// goes to the store while their message is handled. The held messages still
// come before the answer, and when the release fails the whole update is
// handled again, answered once.
func TestReleaseChatAlongsideHandling(t *testing.T) {
	f := &failingRelease{}
	w := newBotWorld(t, "Lan", func(s Store) Store { f.Store = s; return f })
	ctx := context.Background()
	u := w.official.ID
	// A message for Lan, held as if she had blocked the bot a week ago.
	held := outgoing{Kind: outText, Chat: u, Text: "tin giữ lại"}
	now := w.clock.Now()
	if err := w.store.Enqueue(ctx, []caunoi.OutMessage{{Key: "held", Chat: u, Payload: held.marshal(), Created: now, NotBefore: now.Add(7 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	before := len(w.botMessages(u))
	f.calls.Store(0)
	w.send(u, u, "khai sinh cho trẻ")
	w.idle()
	if n := f.calls.Load(); n != 2 {
		t.Errorf("ReleaseChat called %d times, want 2 (failed, then on the update's second handling)", n)
	}
	msgs := w.botMessages(u)[before:]
	if len(msgs) != 2 {
		t.Fatalf("Lan got %d messages, want the held one and one answer: %+v", len(msgs), msgs)
	}
	if msgs[0].Text != "tin giữ lại" {
		t.Errorf("first message %q, want the held one", msgs[0].Text)
	}
}
