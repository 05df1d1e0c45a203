package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// TestBotPrunesOldQuestions runs a bot told to keep questions for a year
// over a store holding older ones: on start it deletes them, batch by
// batch, keeps the rest and logs how many went.
func TestBotPrunesOldQuestions(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	srv := telegramtest.New(t, telegramtest.WithClock(func() time.Time { return now }))
	store := MustOpenStore(t)
	ctx := context.Background()
	log := func(at time.Time, n int) {
		for i := range n {
			if _, err := store.LogQuestion(ctx, caunoi.QuestionRecord{Asker: 30, Text: fmt.Sprintf("câu %d: đăng ký khai sinh cho trẻ", i), At: at.Add(time.Duration(i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	log(now.AddDate(-2, 0, 0), 2*caunoi.QuestionPruneBatch+7) // more than one batch
	log(now.AddDate(0, 0, -366), 3)
	log(now.AddDate(0, 0, -364), 4)
	log(now.Add(-time.Hour), 5)
	count := func() int {
		qs, err := store.Questions(ctx, now.AddDate(-3, 0, 0), now)
		if err != nil {
			t.Fatal(err)
		}
		return len(qs)
	}
	if got := count(); got != 2*caunoi.QuestionPruneBatch+19 {
		t.Fatalf("%d records before the bot started", got)
	}

	logs := &logBuffer{}
	b, err := New(ctx, Config{
		Token: srv.Token(), ServerURL: srv.URL(), Desk: &caunoi.Desk{Store: store, Now: func() time.Time { return now }},
		Store: store, Handbook: newTestHandbook(), SigningKey: []byte("prune-test-signing-key"),
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: func() time.Time { return now },
		KeepQuestions: 365 * 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Run(runCtx, true)
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitUntil(t, "the old questions to go", func() bool { return count() == 9 })
	waitUntil(t, "the log line", func() bool { return strings.Contains(logs.String(), `"deleted":1010`) })
	qs, err := store.Questions(ctx, now.AddDate(-3, 0, 0), now)
	if err != nil {
		t.Fatal(err)
	}
	if oldest := qs[0].At; !oldest.Equal(now.AddDate(0, 0, -364)) {
		t.Errorf("the oldest record kept is from %v, want the first of 364 days ago", oldest)
	}
	if !strings.Contains(logs.String(), `"msg":"old questions deleted"`) {
		t.Errorf("no log of the deletion:\n%s", logs)
	}
}

// TestButtonsOfPrunedQuestion presses the buttons under an answer whose
// question was deleted since: each says it is not found, nothing fails.
func TestButtonsOfPrunedQuestion(t *testing.T) {
	w := newBotWorld(t, "Lan")
	w.send(w.official.ID, w.official.ID, "lam giay khai sinh can giay to gi")
	w.idle()
	n, err := w.store.PruneQuestions(context.Background(), w.clock.Now().Add(time.Second), 10)
	if err != nil || n != 1 {
		t.Fatalf("PruneQuestions = %d, %v; want the one question", n, err)
	}
	messages := len(w.botMessages(w.official.ID))
	for _, label := range []string{btnFull, btnAsk, btnHelpful} {
		answers := len(w.srv.CallbackAnswers())
		w.press(w.official.ID, w.official.ID, label)
		got := w.srv.CallbackAnswers()
		if len(got) != answers+1 || got[len(got)-1].Text != errTxtNotFound {
			t.Errorf("after pressing %q: answers %+v; want one more, %q", label, got[answers:], errTxtNotFound)
		}
	}
	if got := len(w.botMessages(w.official.ID)); got != messages {
		t.Errorf("%d messages after the presses, want the %d from before", got, messages)
	}
	if strings.Contains(w.logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", w.logs)
	}
}
