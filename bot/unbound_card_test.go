package bot

import (
	"context"
	"strings"
	"testing"
)

// TestStaffReplyToUnboundCard: the bot stopped between Telegram's answer
// for a ticket card and storing the card's binding (kill -9), so the card
// has none. A staff reply to it still reaches the official, through the
// ticket its signed staff buttons name; a reply to the bot's ticket list,
// which names a ticket but carries no card buttons, is staff talk and goes
// nowhere.
func TestStaffReplyToUnboundCard(t *testing.T) {
	w := newBotWorld(t, "Lan")
	w.send(w.official.ID, w.official.ID, "khai sinh cho trẻ")
	w.idle()
	w.press(w.official.ID, w.official.ID, "Hỏi cán bộ Sở")
	w.press(w.official.ID, w.official.ID, "Gửi câu hỏi")
	group := w.groups["tu-phap"]
	card := w.last(group, "Phiếu TP-")
	if err := w.store.Delete(context.Background(), msgKey(group, card.MessageID)); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(humanPace)
	if _, err := w.srv.Reply(w.staff.ID, group, card.MessageID, "Trả lời: nộp tờ khai theo mẫu số 01."); err != nil {
		t.Fatal(err)
	}
	w.idle()
	if got := w.last(w.official.ID, "trả lời:"); !strings.Contains(got.Text, "nộp tờ khai theo mẫu số 01") {
		t.Errorf("the official got %q, want the staff reply", got.Text)
	}

	before := len(w.botMessages(w.official.ID))
	w.send(w.staff.ID, group, "/phieu")
	w.idle()
	list := w.last(group, "phiếu")
	w.clock.Advance(humanPace)
	if _, err := w.srv.Reply(w.staff.ID, group, list.MessageID, "cảm ơn"); err != nil {
		t.Fatal(err)
	}
	w.idle()
	if got := len(w.botMessages(w.official.ID)); got != before {
		t.Errorf("a reply to the ticket list sent the official %d messages", got-before)
	}
}
