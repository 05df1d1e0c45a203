package bot

import (
	"context"
	"runtime"
	"sync"
	"time"
	"weak"

	"github.com/go-telegram/bot/models"
)

// The flood limits: each person may send floodBurst private messages or
// button presses at once, refilled at floodPerMinute a minute. Beyond that
// their updates are dropped, and they are told to slow down at most once per
// floodNoticeEvery.
const (
	floodBurst       = 8
	floodPerMinute   = 20
	floodNoticeEvery = time.Minute
	// floodIdle is how long a person's state is kept after their bucket is
	// full again and their last notice has aged out.
	floodIdle = 10 * time.Minute
)

// floodVerdict is what the flood limiter decides about one update.
type floodVerdict int

const (
	floodAllow  floodVerdict = iota // handle the update
	floodDrop                       // drop it silently
	floodNotice                     // drop it and tell the person to slow down
)

// floodGate is a token bucket per person on the updates they send: private
// messages and button presses. Times may arrive out of order (a message
// counts at its send time, a button press when it is handled): a time
// before the bucket's last one refills nothing. It keeps its state in memory, so with several
// replicas each holds people to the limit on the updates it handles (chats
// are leased, so these are mostly all of a person's updates). Safe for
// concurrent use.
type floodGate struct {
	burst  float64
	rate   float64 // tokens per second
	notice time.Duration

	mu        sync.Mutex
	users     map[int64]*floodBucket
	lastSweep time.Time
}

type floodBucket struct {
	tokens     float64
	at         time.Time // when tokens was computed
	noticed    time.Time // last slow-down notice; zero when none
	lastUpdate int64     // the last update decided, and its verdict,
	lastV      floodVerdict
}

func newFloodGate(burst int, perMinute float64, notice time.Duration) *floodGate {
	return &floodGate{
		burst:  float64(burst),
		rate:   perMinute / 60,
		notice: notice,
		users:  make(map[int64]*floodBucket),
	}
}

// check decides about update id from user at now. The same update asked
// again (a retried handler) gets the same verdict and costs nothing more.
func (g *floodGate) check(user, update int64, now time.Time) floodVerdict {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep(now)
	b := g.users[user]
	if b == nil {
		b = &floodBucket{tokens: g.burst, at: now}
		g.users[user] = b
	}
	if update != 0 && update == b.lastUpdate {
		return b.lastV
	}
	if dt := now.Sub(b.at); dt > 0 {
		b.tokens = min(g.burst, b.tokens+dt.Seconds()*g.rate)
		b.at = now
	}
	v := floodAllow
	switch {
	case b.tokens >= 1:
		b.tokens--
	case b.noticed.IsZero() || now.Sub(b.noticed) >= g.notice:
		b.noticed = now
		v = floodNotice
	default:
		v = floodDrop
	}
	b.lastUpdate, b.lastV = update, v
	return v
}

// sweep forgets people who have been quiet long enough that their state
// equals a fresh one, at most once a minute.
func (g *floodGate) sweep(now time.Time) {
	if now.Sub(g.lastSweep) < time.Minute {
		return
	}
	g.lastSweep = now
	for id, b := range g.users {
		full := b.tokens+now.Sub(b.at).Seconds()*g.rate >= g.burst
		if full && now.Sub(b.at) > floodIdle && now.Sub(b.noticed) > g.notice {
			delete(g.users, id)
		}
	}
}

// floodGates holds each Bot's limiter. A gate is created with its Bot's
// first update and dropped when the Bot is garbage.
var floodGates sync.Map // weak.Pointer[Bot] → *floodGate

func (b *Bot) floodGate() *floodGate {
	k := weak.Make(b)
	if g, ok := floodGates.Load(k); ok {
		return g.(*floodGate)
	}
	g, loaded := floodGates.LoadOrStore(k, newFloodGate(floodBurst, floodPerMinute, floodNoticeEvery))
	if !loaded {
		runtime.AddCleanup(b, func(k weak.Pointer[Bot]) { floodGates.Delete(k) }, k)
	}
	return g.(*floodGate)
}

// flooded applies the flood limits to upd, before anything else is done
// with it. It reports whether the update is dropped; r then holds the
// slow-down notice when one is due. Messages in groups are not limited:
// staff groups are the departments' own.
func (b *Bot) flooded(ctx context.Context, upd *models.Update, r *reply) bool {
	var user, chat int64
	switch {
	case upd.CallbackQuery != nil:
		user = upd.CallbackQuery.From.ID
		if m := upd.CallbackQuery.Message.Message; m != nil {
			chat = m.Chat.ID
		}
	case upd.Message != nil && upd.Message.Chat.Type == models.ChatTypePrivate && upd.Message.From != nil && !upd.Message.From.IsBot:
		user, chat = upd.Message.From.ID, upd.Message.Chat.ID
	default:
		return false
	}
	// A message counts when it was sent, so that a backlog handled at once
	// (after a restart) is judged by the pace its sender kept.
	at := b.now()
	if upd.Message != nil && upd.Message.Date > 0 {
		at = time.Unix(int64(upd.Message.Date), 0)
	}
	v := b.floodGate().check(user, upd.ID, at)
	if v == floodAllow {
		return false
	}
	b.log.Info("update dropped: too many from one person", "user_id", user, "chat_id", chat, "update_id", upd.ID, "notified", v == floodNotice)
	if upd.CallbackQuery != nil {
		text := ""
		if v == floodNotice {
			text = txtSlowDown
		}
		b.answerCallback(ctx, upd.CallbackQuery.ID, text, false)
		return true
	}
	if v == floodNotice {
		r.text(chat, esc(txtSlowDown), nil)
	}
	return true
}
