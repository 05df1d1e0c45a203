package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/go-telegram/bot/models"
)

// TestPanickingHandlerEndToEnd: a command whose handler panics, sent over
// HTTP through the emulator, is logged and counted; the bot goes on and
// answers the next question in the same chat and in another.
func TestPanickingHandlerEndToEnd(t *testing.T) {
	privateCommands["hong"] = func(b *Bot, ctx context.Context, m *models.Message, c command, r *reply) error {
		panic("handler bug for the test")
	}
	t.Cleanup(func() { delete(privateCommands, "hong") })

	w := newBotWorld(t, "Lan")
	w.send(w.official.ID, w.official.ID, "/hong")
	w.idle()
	w.send(w.official.ID, w.official.ID, "đăng ký khai sinh")
	w.idle()

	if n := w.bot.metrics.Panics.Load(); n != 1 {
		t.Errorf("panics counted %d, want 1", n)
	}
	if !strings.Contains(w.logs.String(), "handler panicked") {
		t.Errorf("the panic was not logged")
	}
	msgs := w.botMessages(w.official.ID)
	if len(msgs) == 0 || msgs[len(msgs)-1].Text == "" {
		t.Fatalf("no answer after the panic")
	}
	last := msgs[len(msgs)-1].Text
	if !strings.HasPrefix(last, "📘") && !strings.HasPrefix(last, "Sổ tay chưa") {
		t.Errorf("last message to the official = %q, want an answer to the question asked after the panic", last)
	}
}
