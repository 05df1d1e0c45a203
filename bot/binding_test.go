package bot

import (
	"context"
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
	gate := gatedBindings{open: make(chan struct{})}
	bw := newBotWorld(t, "Lan", func(s Store) Store { gate.Store = s; return gate })
	// Runs before the world's own cleanup (cleanups run last first): a send
	// held at the gate must not keep the bot from stopping if the test fails.
	var openOnce sync.Once
	openGate := func() { openOnce.Do(func() { close(gate.open) }) }
	t.Cleanup(openGate)
	srv, official, staff, store, logs := bw.srv, bw.official, bw.staff, bw.store, bw.logs
	group := bw.groups["tu-phap"]
	ctx := context.Background()

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
