package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi/bot/telegramtest"
)

func TestFloodGate(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	type step struct {
		user, update int64
		at           time.Duration // after t0
		want         floodVerdict
	}
	burst := func(user int64, from int64, at time.Duration) []step {
		var s []step
		for i := range int64(floodBurst) {
			s = append(s, step{user, from + i, at, floodAllow})
		}
		return s
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"burst, then one notice, then silence", append(burst(1, 1, 0),
			step{1, 100, 0, floodNotice}, step{1, 101, time.Second, floodDrop}, step{1, 102, 2 * time.Second, floodDrop}),
		},
		{"a token comes back every 3 s", append(burst(1, 1, 0),
			step{1, 100, time.Second, floodNotice}, step{1, 101, 3 * time.Second, floodAllow}, step{1, 102, 4 * time.Second, floodDrop},
			step{1, 103, 6 * time.Second, floodAllow}),
		},
		{"a notice at most once a minute", append(append(append(burst(1, 1, 0), step{1, 100, 0, floodNotice}),
			burst(1, 101, 59*time.Second)...),
			step{1, 200, 59 * time.Second, floodDrop}, step{1, 201, 60 * time.Second, floodNotice}, step{1, 202, 61 * time.Second, floodDrop}),
		},
		{"the same update again costs nothing", []step{
			{1, 1, 0, floodAllow}, {1, 1, 0, floodAllow}, {1, 1, 0, floodAllow}, {1, 2, 0, floodAllow}, {1, 3, 0, floodAllow},
			{1, 4, 0, floodAllow}, {1, 5, 0, floodAllow}, {1, 6, 0, floodAllow}, {1, 7, 0, floodAllow}, {1, 8, 0, floodAllow},
			{1, 9, 0, floodNotice}, {1, 9, 0, floodNotice}, {1, 10, 0, floodDrop},
		}},
		{"people are limited apart", append(append(burst(1, 1, 0), step{1, 100, 0, floodNotice}), burst(2, 200, 0)...)},
		{"an earlier time refills nothing", append(burst(1, 1, 10*time.Second),
			step{1, 100, 0, floodNotice}, step{1, 101, 5 * time.Second, floodDrop}, step{1, 102, 13 * time.Second, floodAllow}),
		},
		{"the bucket holds no more than the burst", append(append(burst(1, 1, 0), burst(1, 100, time.Hour)...),
			step{1, 200, time.Hour, floodNotice}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newFloodGate(floodBurst, floodPerMinute, floodNoticeEvery)
			for i, s := range tt.steps {
				if got := g.check(s.user, s.update, t0.Add(s.at)); got != s.want {
					t.Fatalf("step %d (user %d, update %d, +%v): got %d, want %d", i, s.user, s.update, s.at, got, s.want)
				}
			}
		})
	}
}

func TestFloodGateForgetsQuietPeople(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	g := newFloodGate(floodBurst, floodPerMinute, floodNoticeEvery)
	for u := int64(1); u <= 1000; u++ {
		g.check(u, u, t0)
	}
	g.check(5000, 5000, t0.Add(floodIdle+2*time.Minute))
	if n := len(g.users); n != 1 {
		t.Errorf("%d people remembered after they were quiet for %v, want 1", n, floodIdle)
	}
}

// TestFloodDoesNotSlowOthers has one official send 200 questions at once
// while five others ask one each. The flood's fifth question is held in
// the search until all five others have their answers: they cannot be
// queued behind the flood. The flooder gets the burst of answers and one
// slow-down notice; after 30 s a new burst but no second notice; after a
// minute a new burst and a second notice.
func TestFloodDoesNotSlowOthers(t *testing.T) {
	w := newBotWorld(t, "Lan")
	flooder := w.official.ID
	var others []int64
	for i := range 5 {
		others = append(others, w.srv.AddUser(telegramtest.User{FirstName: fmt.Sprintf("Người hỏi %d", i+1)}).ID)
	}
	answered := func() bool {
		for _, id := range others {
			if len(w.botMessages(id)) == 0 {
				return false
			}
		}
		return true
	}
	pendingFlood := -1
	held := make(chan struct{})
	w.hb.gate = func(q string) {
		if !strings.Contains(q, "flood #5 ") {
			return
		}
		close(held)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := w.srv.WaitFor(ctx, answered); err != nil {
			t.Errorf("the others were not answered while the flood waited: %v", err)
			return
		}
		p, err := w.store.Pending(context.Background(), 4096)
		if err != nil {
			t.Error(err)
		}
		pendingFlood = 0
		for _, e := range p {
			if e.Chat == flooder {
				pendingFlood++
			}
		}
	}
	w.clock.Advance(floodBurst * humanPace) // the registration's token is back
	start := len(w.srv.Requests())
	for i := 1; i <= 200; i++ {
		if _, err := w.srv.SendText(flooder, flooder, fmt.Sprintf("khai sinh flood #%d xin hỏi", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range others {
		if _, err := w.srv.SendText(id, id, "thủ tục khai sinh"); err != nil {
			t.Fatal(err)
		}
	}
	<-held
	w.idle()

	// The others' answers went out before the flood's fifth answer.
	reqs := w.srv.Requests()[start:]
	isOther := map[int64]bool{}
	for _, id := range others {
		isOther[id] = true
	}
	floodSends, lastOther, fifth := 0, -1, -1
	for i, r := range reqs {
		if r.Method != "sendMessage" || r.Status != 200 {
			continue
		}
		switch {
		case isOther[r.ChatID]:
			lastOther = i
		case r.ChatID == flooder:
			floodSends++
			if floodSends == 5 && fifth < 0 {
				fifth = i
			}
		}
	}
	if lastOther < 0 || fifth < 0 || lastOther > fifth {
		t.Errorf("order in the emulator's log: last answer to the others at %d, flood's fifth answer at %d; want the others first", lastOther, fifth)
	}
	t.Logf("the others' last answer is request %d after the flood began, the flood's fifth answer request %d; %d flood updates were pending then", lastOther, fifth, pendingFlood)
	if pendingFlood < 190 {
		t.Errorf("%d flood updates still pending when the others had their answers, want ≥ 190", pendingFlood)
	}
	for _, id := range others {
		if got := countAnswers(w.botMessages(id)); got != 1 {
			t.Errorf("user %d got %d answers, want 1", id, got)
		}
	}

	flood := func(label string, n int) (answers, notices int) {
		t.Helper()
		before := w.botMessages(flooder)
		for i := 1; i <= n; i++ {
			if _, err := w.srv.SendText(flooder, flooder, fmt.Sprintf("khai sinh %s #%d", label, i)); err != nil {
				t.Fatal(err)
			}
		}
		w.idle()
		got := w.botMessages(flooder)[len(before):]
		return countAnswers(got), countText(got, txtSlowDown)
	}
	answers, notices := countAnswers(w.botMessages(flooder)), countText(w.botMessages(flooder), txtSlowDown)
	if answers != floodBurst || notices != 1 {
		t.Errorf("flood of 200: %d answers and %d notices, want %d and 1", answers, notices, floodBurst)
	}
	w.clock.Advance(30 * time.Second)
	if a, n := flood("đợt hai", 20); a != floodBurst || n != 0 {
		t.Errorf("30 s later: %d answers and %d notices, want %d and 0", a, n, floodBurst)
	}
	w.clock.Advance(31 * time.Second)
	if a, n := flood("đợt ba", 20); a != floodBurst || n != 1 {
		t.Errorf("a minute later: %d answers and %d notices, want %d and 1", a, n, floodBurst)
	}
}

// TestFloodButtons presses one button many times at once: the presses over
// the burst are answered (the spinner stops) without doing anything, the
// first of them with the slow-down notice.
func TestFloodButtons(t *testing.T) {
	w := newBotWorld(t, "Lan")
	w.send(w.official.ID, w.official.ID, "khai sinh")
	w.idle()
	w.clock.Advance(floodBurst * humanPace)
	ans := w.last(w.official.ID, "Đăng ký khai sinh")
	data := ""
	for _, row := range ans.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if strings.Contains(b.Text, "Đã rõ") {
				data = b.CallbackData
			}
		}
	}
	before := len(w.srv.CallbackAnswers())
	for range 12 {
		if _, err := w.srv.PressButton(w.official.ID, w.official.ID, ans.MessageID, data); err != nil {
			t.Fatal(err)
		}
	}
	w.idle()
	if err := w.srv.WaitFor(context.Background(), func() bool { return len(w.srv.CallbackAnswers())-before == 12 }); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, a := range w.srv.CallbackAnswers()[before:] {
		texts = append(texts, a.Text)
	}
	want := append(append(repeat(txtThanks, floodBurst), txtSlowDown), repeat("", 3)...)
	if fmt.Sprint(texts) != fmt.Sprint(want) {
		t.Errorf("callback answers:\n got %q\nwant %q", texts, want)
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// countAnswers counts the handbook answers among msgs.
func countAnswers(msgs []telegramtest.Message) int {
	return countText(msgs, "📘")
}

func countText(msgs []telegramtest.Message, prefix string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasPrefix(m.Text, prefix) {
			n++
		}
	}
	return n
}
