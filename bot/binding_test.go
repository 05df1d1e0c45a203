package bot

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// gatedBindings holds back the records that bind sent messages to their
// tickets until open is closed: the moment between Telegram accepting a
// card and the binding being stored, stretched so a test can act in it.
type gatedBindings struct {
	Store
	open chan struct{}
}

func (g gatedBindings) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if strings.HasPrefix(key, "msg:") {
		select {
		case <-g.open:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return g.Store.SetNX(ctx, key, value, ttl)
}

// TestStaffReplyBeforeBindingIsStored: staff reply to a card at once, before
// the bot has stored which ticket the card belongs to. The reply must still
// reach the ticket and the official, not be taken for staff chatting.
func TestStaffReplyBeforeBindingIsStored(t *testing.T) {
	clock := &manualClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	hb := newTestHandbook()
	srv := telegramtest.New(t, telegramtest.WithClock(clock.Now))
	official := srv.AddUser(telegramtest.User{FirstName: "Lan"})
	staff := srv.AddUser(telegramtest.User{FirstName: "Đức"})
	group := srv.AddGroup("Cán bộ Sở Tư pháp", staff.ID).ID
	logs := &logBuffer{}
	store := MustOpenStore(t)
	gate := gatedBindings{Store: store, open: make(chan struct{})}
	desk := &caunoi.Desk{
		Store: store, Searcher: hb, Now: clock.Now,
		Departments: []caunoi.Department{{Code: "tu-phap", Prefix: "TP", Name: "Sở Tư pháp"}},
	}
	b, err := New(context.Background(), Config{
		Token: srv.Token(), ServerURL: srv.URL(), Desk: desk, Store: gate, Handbook: hb,
		Groups: map[string]int64{"tu-phap": group}, SigningKey: []byte("binding-test-signing-key"),
		Limits: Limits{Global: 1e6, PerChat: time.Nanosecond, Group: 1 << 20, GroupWin: time.Minute},
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
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
	// Runs before the cleanup above (cleanups run last first): a send held
	// at the gate must not keep the bot from stopping when the test fails.
	var openOnce sync.Once
	openGate := func() { openOnce.Do(func() { close(gate.open) }) }
	t.Cleanup(openGate)
	bw := &botWorld{t: t, srv: srv, store: store, desk: desk, bot: b, hb: hb, clock: clock, logs: logs,
		groups: map[string]int64{"tu-phap": group}, official: official, staff: staff, nextRaw: 1 << 40}
	if err := store.ReplaceCommunes(ctx, []caunoi.Commune{{Code: "00001", Name: "Xã Thử"}}); err != nil {
		t.Fatal(err)
	}
	bw.register(official, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00001"})
	bw.register(staff, caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: "tu-phap"})

	bw.send(official.ID, official.ID, "khai sinh cho trẻ")
	bw.idle()
	bw.press(official.ID, official.ID, "Hỏi cán bộ Sở")
	// Press «Gửi câu hỏi» without waiting for the bot to be idle: it will
	// not be, while the card's binding waits at the gate.
	send := bw.last(official.ID, "Gửi câu hỏi tới")
	data := ""
	for _, row := range send.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			if strings.Contains(btn.Text, "Gửi câu hỏi") {
				data = btn.CallbackData
			}
		}
	}
	bw.clock.Advance(humanPace)
	if _, err := srv.PressButton(official.ID, official.ID, send.MessageID, data); err != nil {
		t.Fatal(err)
	}

	// The card reaches the group; its binding waits at the gate.
	var card telegramtest.Message
	waitUntil(t, "the ticket card in the group", func() bool {
		for _, m := range srv.Messages(group) {
			if strings.Contains(m.Text, "Phiếu TP-") {
				card = m
				return true
			}
		}
		return false
	})
	bw.clock.Advance(humanPace)
	if _, err := srv.Reply(staff.ID, group, card.MessageID, "Trả lời ngay: xã làm theo hướng dẫn mới."); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the reply held back for the binding", func() bool {
		return strings.Contains(logs.String(), "binding is not stored yet")
	})
	openGate()
	bw.idle()
	notice := bw.last(official.ID, "Trả lời ngay")
	if !strings.Contains(notice.Text, "TP-") {
		t.Errorf("the official's notice names no ticket: %q", notice.Text)
	}
	ts, err := store.Tickets(ctx, caunoi.TicketFilter{})
	if err != nil || len(ts) != 1 {
		t.Fatalf("tickets: %d, %v", len(ts), err)
	}
	if ts[0].Status != caunoi.StatusAnswered {
		t.Errorf("ticket %s is %s, want answered", ts[0].Number, ts[0].Status)
	}
}
