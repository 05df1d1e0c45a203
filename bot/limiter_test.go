package bot

import (
	"testing"
	"time"
)

func TestLimiterPerChat(t *testing.T) {
	l := newLimiter(TelegramLimits)
	t0 := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	var got []time.Duration
	for i := 0; i < 4; i++ {
		got = append(got, l.reserve(1, false, t0).Sub(t0))
	}
	gap := 1150 * time.Millisecond // the limit plus 15%
	want := []time.Duration{0, gap, 2 * gap, 3 * gap}
	// Sends land on the global grid, at most a few grid steps (1/30 s) late.
	const slack = 150 * time.Millisecond
	for i := range want {
		if got[i] < want[i] || got[i]-want[i] > slack {
			t.Errorf("message %d at +%v, want +%v", i, got[i], want[i])
		}
	}
	// Another chat is not held back by the first.
	if at := l.reserve(2, false, t0); at.Sub(t0) > slack {
		t.Errorf("other chat at +%v, want +0", at.Sub(t0))
	}
}

func TestLimiterGlobal(t *testing.T) {
	l := newLimiter(TelegramLimits)
	t0 := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	// 300 chats, one message each, all ready at t0: 30 a second.
	var last time.Time
	perSecond := map[int64]int{}
	for chat := int64(1); chat <= 300; chat++ {
		at := l.reserve(chat, false, t0)
		if at.Before(last) {
			t.Fatalf("reservations went back in time")
		}
		last = at
		perSecond[int64(at.Sub(t0)/time.Second)]++
	}
	for s, n := range perSecond {
		if n > 26 {
			t.Errorf("second %d: %d messages, want ≤ 26", s, n)
		}
	}
	if d := last.Sub(t0); d < 11*time.Second || d > 12*time.Second {
		t.Errorf("300 messages took %v, want about 11.8 s (85%% of 30/s)", d)
	}
}

func TestLimiterGroupWindow(t *testing.T) {
	l := newLimiter(Limits{Global: 1000, PerChat: 0, Group: 20, GroupWin: time.Minute})
	t0 := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	var times []time.Time
	for i := 0; i < 45; i++ {
		times = append(times, l.reserve(-100, true, t0))
	}
	// In any one-minute window there are at most 20 sends.
	for i := range times {
		n := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < time.Minute; j++ {
			n++
		}
		if n > 20 {
			t.Fatalf("window from message %d holds %d messages", i, n)
		}
	}
	if d := times[44].Sub(t0); d < 2*time.Minute {
		t.Errorf("45th group message at +%v, want ≥ 2m", d)
	}
}

func TestLimiterHold(t *testing.T) {
	l := newLimiter(TelegramLimits)
	t0 := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	l.hold(7, t0.Add(5*time.Second))
	if d := l.reserve(7, false, t0).Sub(t0); d < 5*time.Second || d > 5*time.Second+50*time.Millisecond {
		t.Errorf("after hold: +%v, want +5s", d)
	}
	l.forget(t0.Add(time.Hour))
	if len(l.chats) != 0 {
		t.Errorf("forget left %d chats", len(l.chats))
	}
}
