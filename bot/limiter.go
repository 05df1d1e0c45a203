package bot

import (
	"sync"
	"time"
)

// Limits are the sending rates the bot holds itself to. Telegram allows
// about 30 messages a second overall, one a second in a chat, and 20 a minute
// in a group; going over earns 429 replies and, repeated, a ban.
type Limits struct {
	Global   float64       // messages per second, all chats together
	PerChat  time.Duration // minimum gap between two messages to one chat
	Group    int           // messages per GroupWin to one group chat
	GroupWin time.Duration
}

// TelegramLimits are Telegram's documented limits.
var TelegramLimits = Limits{Global: 30, PerChat: time.Second, Group: 20, GroupWin: time.Minute}

// limiter decides when the next message to a chat may go: a minimum gap
// per chat, a sliding window per group, and a global grid of send slots
// 1/Global seconds apart. Each keeps a margin below Telegram's limit: the
// gap and the group window are 15% longer than the limit, the grid runs at
// 85% of the rate. A slot on the grid is taken once, so any one-second
// window holds at most Global sends even when reservations are made out of
// order (a chat held by its own gap books a later slot while other chats
// take the earlier ones). Safe for concurrent use.
type limiter struct {
	mu    sync.Mutex
	lim   Limits
	unit  time.Duration  // grid step
	slots map[int64]bool // taken grid indexes
	chats map[int64]*chatRate
}

type chatRate struct {
	next   time.Time   // earliest time of the next message
	window []time.Time // recent sends, for groups
}

func newLimiter(l Limits) *limiter {
	lm := &limiter{lim: l, slots: make(map[int64]bool), chats: make(map[int64]*chatRate)}
	if l.Global > 0 {
		// The grid runs at 85% of the limit: a send that leaves a little
		// after its slot must not crowd the next second's window.
		lm.unit = time.Duration(float64(time.Second) / (l.Global * 0.85))
	}
	return lm
}

// reserve books a slot for one message to chat at or after now, and returns
// when it may be sent. isGroup applies the group window.
func (l *limiter) reserve(chat int64, isGroup bool, now time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.chats[chat]
	if c == nil {
		c = &chatRate{}
		l.chats[chat] = c
	}
	at := now
	if c.next.After(at) {
		at = c.next
	}
	if isGroup && l.lim.Group > 0 {
		win := l.groupWin()
		cut := at.Add(-win)
		for len(c.window) > 0 && !c.window[0].After(cut) {
			c.window = c.window[1:]
		}
		if len(c.window) >= l.lim.Group {
			if t := c.window[len(c.window)-l.lim.Group].Add(win); t.After(at) {
				at = t
			}
		}
	}
	at = l.takeGlobal(at)
	c.next = at.Add(l.gap())
	if isGroup {
		c.window = append(c.window, at)
	}
	return at
}

// gap is the spacing kept between two messages to one chat: the limit plus
// 15%, since requests reach Telegram with some jitter.
func (l *limiter) gap() time.Duration { return l.lim.PerChat + l.lim.PerChat*15/100 }

// groupWin is the window over which a group gets at most Group messages:
// GroupWin plus 15%, for the same jitter. A message counts in it from the
// end of its call (see sending), so Group messages sent back to back are
// followed by a pause of at least groupWin from the first one's end.
func (l *limiter) groupWin() time.Duration { return l.lim.GroupWin + l.lim.GroupWin*15/100 }

// takeGlobal books the first free grid slot at or after at.
func (l *limiter) takeGlobal(at time.Time) time.Time {
	if l.unit <= 0 {
		return at
	}
	u := int64(l.unit)
	idx := (at.UnixNano() + u - 1) / u
	for l.slots[idx] {
		idx++
	}
	l.slots[idx] = true
	return time.Unix(0, idx*u)
}

// sending records that a message to chat actually leaves at t, which may be
// after its slot: the chat's next message keeps its full gap from this one.
func (l *limiter) sending(chat int64, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.chats[chat]; c != nil {
		if next := t.Add(l.gap()); next.After(c.next) {
			c.next = next
		}
		if n := len(c.window); n > 0 && t.After(c.window[n-1]) {
			c.window[n-1] = t
		}
	}
}

// hold pushes chat's next slot to at least until, after a 429.
func (l *limiter) hold(chat int64, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.chats[chat]
	if c == nil {
		c = &chatRate{}
		l.chats[chat] = c
	}
	if until.After(c.next) {
		c.next = until
	}
}

// slotHistory is how long a taken grid slot is kept after its time. A
// reservation starts at its caller's present, so a past slot is never asked
// for again; the margin covers a wall clock set back by a few seconds.
// Keeping a minute of them held one entry per send for that minute: 1.5 MB
// at 195 sends a second under raised limits.
const slotHistory = 10 * time.Second

// forgetSlots drops the grid slots more than slotHistory old. The sender
// calls it every second.
func (l *limiter) forgetSlots(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropSlots(now)
}

func (l *limiter) dropSlots(now time.Time) {
	cut := now.Add(-slotHistory).UnixNano() / max(1, int64(l.unit))
	for idx := range l.slots {
		if idx < cut {
			delete(l.slots, idx)
		}
	}
}

// forget drops the state that no longer constrains any send at or after
// now: old grid slots, and chats whose next slot has come and whose group
// window is empty. The sender calls it once a minute: a send that stalls
// keeps its chat's gap from the call's end (sending), which needs the
// chat's state through the call, so chats must outlive their next slot by
// far more than a stall.
func (l *limiter) forget(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropSlots(now)
	quiet := now.Add(-l.groupWin())
	for id, c := range l.chats {
		if !c.next.After(now) && (len(c.window) == 0 || !c.window[len(c.window)-1].After(quiet)) {
			delete(l.chats, id)
		}
	}
}
