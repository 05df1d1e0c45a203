package main

import (
	"context"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// waitIdle waits until every update was taken, handled and answered:
// Telegram's queue, the journal and the outbox (messages due by dueBy())
// are all empty. It reads them in the order work flows in, so that an update
// moving from one to the next between two reads is not missed.
func waitIdle(t testing.TB, srv *telegramtest.Server, st caunoi.Store, dueBy func() time.Time) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		u := len(srv.PendingUpdates())
		p, err1 := st.Pending(ctx, 1)
		d, err2 := st.Due(ctx, dueBy(), 1)
		if err1 == nil && err2 == nil && u == 0 && len(p) == 0 && len(d) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bot not idle: %d unconfirmed at Telegram, %d pending updates (%v), %d messages due (%v)", u, len(p), err1, len(d), err2)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// inAMinute is the horizon of waitIdle for tests on the wall clock.
func inAMinute() time.Time { return time.Now().Add(time.Minute) }
