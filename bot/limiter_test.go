package bot

import (
	"math/rand/v2"
	"slices"
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
	// The window is a minute plus 15%: the 21st and 41st messages wait for
	// it, and no longer.
	for _, i := range []int{20, 40} {
		want := time.Duration(i/20) * (time.Minute + 9*time.Second)
		if d := times[i].Sub(t0); d < want || d > want+10*time.Millisecond {
			t.Errorf("group message %d at +%v, want +%v", i+1, d, want)
		}
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

// TestLimiterGroupWindowAtReceiver plays one sender against the limiter on
// an injected clock and counts the messages where Telegram would: at some
// moment between the start and the end of each call, or a little after its
// end. Slow calls, retried calls and messages to other chats are mixed in.
// No 60-second window at the receiving side may hold more than 20 messages
// to the group.
func TestLimiterGroupWindowAtReceiver(t *testing.T) {
	const group = int64(-1001)
	tests := []struct {
		name string
		// call is how long the i-th call to the group takes and whether it
		// fails (to be sent again; a failed call still counts at Telegram).
		call func(i int, rnd *rand.Rand) (time.Duration, bool)
		// seen is when the receiver counts a call that ran from start to end.
		seen func(start, end time.Time, rnd *rand.Rand) time.Time
	}{
		{"fast calls, counted at the start",
			func(int, *rand.Rand) (time.Duration, bool) { return 20 * time.Millisecond, false },
			func(start, _ time.Time, _ *rand.Rand) time.Time { return start }},
		{"every fifth call stalls 10 s, counted at the end",
			func(i int, _ *rand.Rand) (time.Duration, bool) {
				if i%5 == 4 {
					return 10 * time.Second, false
				}
				return 30 * time.Millisecond, false
			},
			func(_, end time.Time, _ *rand.Rand) time.Time { return end }},
		{"random stalls up to 30 s, counted anywhere in the call",
			func(_ int, rnd *rand.Rand) (time.Duration, bool) {
				if rnd.IntN(4) == 0 {
					return time.Duration(rnd.Int64N(int64(30 * time.Second))), false
				}
				return time.Duration(rnd.Int64N(int64(200 * time.Millisecond))), false
			},
			func(start, end time.Time, rnd *rand.Rand) time.Time {
				return start.Add(time.Duration(rnd.Int64N(int64(end.Sub(start)) + 1)))
			}},
		{"failures and retries, counted up to 5 s after the end",
			func(_ int, rnd *rand.Rand) (time.Duration, bool) {
				return time.Duration(rnd.Int64N(int64(2 * time.Second))), rnd.IntN(6) == 0
			},
			func(_, end time.Time, rnd *rand.Rand) time.Time {
				return end.Add(time.Duration(rnd.Int64N(int64(5 * time.Second))))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(1, 2))
			l := newLimiter(TelegramLimits)
			clock := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
			var seen []time.Time
			other := int64(1)
			const messages = 120
			for i, sent := 0, 0; sent < messages; i++ {
				// Other chats keep the global grid busy.
				for k := 0; k < 3; k++ {
					l.reserve(other, false, clock)
					other++
				}
				at := l.reserve(group, true, clock)
				if at.After(clock) {
					clock = at
				}
				start := clock
				l.sending(group, start)
				d, failed := tt.call(i, rnd)
				end := start.Add(d)
				seen = append(seen, tt.seen(start, end, rnd))
				clock = end
				l.sending(group, end)
				if !failed {
					sent++
				}
				if i%50 == 49 {
					l.forget(clock)
				}
			}
			sortTimes(seen)
			best, j := 0, 0
			for i := range seen {
				for seen[i].Sub(seen[j]) >= time.Minute {
					j++
				}
				best = max(best, i-j+1)
			}
			t.Logf("%d messages to the group (%d calls); most in a 60 s window at the receiver: %d", messages, len(seen), best)
			if best > 20 {
				t.Errorf("a 60 s window at the receiver holds %d messages to the group, want ≤ 20", best)
			}
		})
	}
}

func sortTimes(ts []time.Time) {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
}

// TestLimiterForgetsSlotsOften: forgetSlots, which the sender calls every
// second, drops the grid slots older than slotHistory but no chat, so that
// a chat whose send stalls keeps its state (and its gap from the call's
// end) through the call; forget, once a minute, drops the chats too.
func TestLimiterForgetsSlotsOften(t *testing.T) {
	l := newLimiter(TelegramLimits)
	t0 := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	for chat := range int64(20) {
		l.reserve(chat+1, false, t0)
	}
	if len(l.slots) != 20 {
		t.Fatalf("%d slots taken, want 20", len(l.slots))
	}
	l.forgetSlots(t0.Add(slotHistory + 5*time.Second))
	if len(l.slots) != 0 {
		t.Errorf("forgetSlots left %d slots older than %v", len(l.slots), slotHistory)
	}
	if len(l.chats) != 20 {
		t.Errorf("forgetSlots dropped chats: %d left, want 20", len(l.chats))
	}
	l.forget(t0.Add(time.Minute))
	if len(l.chats) != 0 {
		t.Errorf("forget left %d chats a minute later", len(l.chats))
	}
}
