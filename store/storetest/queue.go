package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

func outMessage(key string, chat int64, created, notBefore time.Time) caunoi.OutMessage {
	return caunoi.OutMessage{Key: key, Chat: chat, Payload: fmt.Appendf(nil, `{"chat_id":%d,"text":"Phiếu %s đã được tiếp nhận"}`, chat, key), Created: created, NotBefore: notBefore}
}

func dueKeys(t testing.TB, s caunoi.Store, now time.Time, limit int) []string {
	t.Helper()
	list, err := s.Due(context.Background(), now, limit)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	out := []string{}
	for _, m := range list {
		out = append(out, m.Key)
	}
	return out
}

// byChat splits keys by the chat named in their first letter.
func byChat(keys []string) map[byte][]string {
	out := map[byte][]string{}
	for _, k := range keys {
		out[k[0]] = append(out[k[0]], k)
	}
	return out
}

// testOutbox runs the outbox contract: each chat is a FIFO whose oldest
// message alone can be due, and sent keys are remembered.
func testOutbox(t *testing.T, open func(testing.TB) caunoi.Store) {
	t.Run("Heads", func(t *testing.T) { testOutboxHeads(t, open) })
	t.Run("Limit", func(t *testing.T) { testOutboxLimit(t, open) })
	t.Run("SameInstant", func(t *testing.T) { testOutboxSameInstant(t, open) })
	t.Run("FIFOAfterRetry", func(t *testing.T) { testOutboxFIFO(t, open) })
	t.Run("ReleaseChat", func(t *testing.T) { testOutboxRelease(t, open) })
	t.Run("Tombstone", func(t *testing.T) { testOutboxTombstone(t, open) })
	t.Run("PruneSent", func(t *testing.T) { testOutboxPruneSent(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testOutboxConcurrent(t, open) })
}

func testOutboxHeads(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	now := suiteEpoch
	minute := func(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }
	checkEqual(t, "Due(empty)", dueKeys(t, s, now, 10), []string{})

	// Keys start with the chat's letter: a* go to chat 1, b* to chat 2.
	first := []caunoi.OutMessage{
		outMessage("a2", 1, minute(-5), minute(-5)),
		outMessage("b1", 2, minute(-8), minute(-8)),
		outMessage("a1", 1, minute(-9), minute(-9)),
		outMessage("a3", 1, minute(-1), minute(30)), // held
		outMessage("b2", 2, minute(-2), minute(-2)),
	}
	if err := s.Enqueue(ctx, first); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	changed := outMessage("a1", 1, minute(-1), minute(-1))
	changed.Payload = []byte("bản thứ hai")
	if err := s.Enqueue(ctx, []caunoi.OutMessage{changed, outMessage("b3", 2, minute(-1), minute(-1))}); err != nil {
		t.Fatalf("Enqueue(again): %v", err)
	}
	list, err := s.Due(ctx, now, 0)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	checkEqual(t, "Due", list, []caunoi.OutMessage{first[2], first[1]})
	checkEqual(t, "Due(limit 1)", dueKeys(t, s, now, 1), []string{"a1"})
	// A held message behind the head changes nothing.
	checkEqual(t, "Due at a3's NotBefore", dueKeys(t, s, minute(30), 0), []string{"a1", "b1"})

	steps := []struct {
		sent string
		want []string
	}{
		{"a1", []string{"b1", "a2"}},
		{"b1", []string{"a2", "b2"}},
		{"a2", []string{"b2"}}, // a3 is the head now, and held
		{"b2", []string{"b3"}},
		{"b3", []string{}},
	}
	for _, st := range steps {
		if err := s.Sent(ctx, st.sent); err != nil {
			t.Fatalf("Sent(%s): %v", st.sent, err)
		}
		checkEqual(t, "Due after Sent("+st.sent+")", dueKeys(t, s, now, 0), st.want)
	}
	checkErr(t, "Sent(again)", s.Sent(ctx, "a1"), caunoi.ErrNotFound)
	checkErr(t, "Sent(unknown)", s.Sent(ctx, "zz"), caunoi.ErrNotFound)
	checkEqual(t, "Due when a3 is due", dueKeys(t, s, minute(30), 0), []string{"a3"})
	if err := s.Enqueue(ctx, []caunoi.OutMessage{{Chat: 1}}); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("Enqueue(no key): got error %v, want %v", err, caunoi.ErrInvalid)
	}
}

func testOutboxLimit(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	now := suiteEpoch
	minute := func(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }
	err := s.Enqueue(ctx, []caunoi.OutMessage{
		outMessage("a1", 1, minute(-10), minute(-1)),
		outMessage("a2", 1, minute(-9), minute(-20)), // due, but not the head
		outMessage("b1", 2, minute(-8), minute(-5)),
		outMessage("c1", -1001234567890, minute(-7), minute(-5)), // a group; same NotBefore as b1, created later
		outMessage("d1", 4, minute(-6), minute(5)),               // held
		outMessage("e1", 5, minute(-11), minute(-3)),
		outMessage("e2", 5, minute(-4), minute(-4)),
	})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	tests := []struct {
		at    time.Time
		limit int
		want  []string
	}{
		{now, 0, []string{"b1", "c1", "e1", "a1"}},
		{now, 10, []string{"b1", "c1", "e1", "a1"}},
		{now, 3, []string{"b1", "c1", "e1"}},
		{now, 1, []string{"b1"}},
		{minute(-5), 0, []string{"b1", "c1"}},
		{minute(-6), 0, []string{}},
		{minute(5), 0, []string{"b1", "c1", "e1", "a1", "d1"}},
	}
	for _, tt := range tests {
		got := dueKeys(t, s, tt.at, tt.limit)
		checkEqual(t, fmt.Sprintf("Due(%s, limit %d)", tt.at.Sub(now), tt.limit), got, tt.want)
	}
}

// testOutboxSameInstant: messages of one chat created at the same instant
// (a stopped clock) go by key, and each becomes the head in turn.
func testOutboxSameInstant(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	at := suiteEpoch.Add(-time.Minute)
	if err := s.Enqueue(ctx, []caunoi.OutMessage{
		outMessage("a3", 1, at, at), outMessage("a1", 1, at, at), outMessage("a2", 1, at, at), outMessage("b1", 2, at, at),
	}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	for _, want := range [][]string{{"a1", "b1"}, {"a2", "b1"}, {"a3", "b1"}, {"b1"}} {
		got := dueKeys(t, s, suiteEpoch, 0)
		checkEqual(t, "Due", got, want)
		if len(got) == 0 || t.Failed() {
			return
		}
		if err := s.Sent(ctx, got[0]); err != nil {
			t.Fatalf("Sent(%s): %v", got[0], err)
		}
	}
	checkEqual(t, "Due when all were sent", dueKeys(t, s, suiteEpoch, 0), []string{})
}

func testOutboxFIFO(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	now := suiteEpoch
	msgs := []caunoi.OutMessage{
		outMessage("a1", 1, now.Add(-3*time.Minute), now.Add(-3*time.Minute)),
		outMessage("a2", 1, now.Add(-2*time.Minute), now.Add(-2*time.Minute)),
		outMessage("b1", 2, now.Add(-time.Minute), now.Add(-time.Minute)),
	}
	if err := s.Enqueue(ctx, msgs); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	// a1 failed: chat 1 waits for it, although a2 would be due.
	hold := now.Add(10 * time.Minute)
	if err := s.Retry(ctx, "a1", hold); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	checkEqual(t, "Due while a1 is held", dueKeys(t, s, now, 0), []string{"b1"})
	checkEqual(t, "Due(limit 1) while a1 is held", dueKeys(t, s, now, 1), []string{"b1"})
	checkEqual(t, "Due just before the hold ends", dueKeys(t, s, hold.Add(-time.Nanosecond), 0), []string{"b1"})
	list, err := s.Due(ctx, hold, 0)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	want := msgs[0]
	want.NotBefore, want.Attempts = hold, 1
	checkEqual(t, "Due when the hold ends", list, []caunoi.OutMessage{msgs[2], want})
	if err := s.Sent(ctx, "a1"); err != nil {
		t.Fatalf("Sent: %v", err)
	}
	checkEqual(t, "Due after a1 was sent", dueKeys(t, s, now, 0), []string{"a2", "b1"})

	// A newer message that is retried holds nothing while it waits behind
	// the head, and is held itself once it is the head.
	if err := s.Retry(ctx, "b1", hold); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	if err := s.Enqueue(ctx, []caunoi.OutMessage{outMessage("b2", 2, now, now)}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	checkEqual(t, "Due with b1 held before b2", dueKeys(t, s, now, 0), []string{"a2"})
}

func testOutboxRelease(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	now := suiteEpoch
	day := now.Add(24 * time.Hour)
	msgs := []caunoi.OutMessage{
		outMessage("a1", 1, now.Add(-3*time.Minute), now.Add(-3*time.Minute)),
		outMessage("a2", 1, now.Add(-2*time.Minute), day),
		outMessage("a3", 1, now.Add(-time.Minute), now.Add(-time.Minute)),
		outMessage("b1", 2, now.Add(-time.Minute), now.Add(-time.Minute)),
	}
	if err := s.Enqueue(ctx, msgs); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	for _, k := range []string{"a1", "b1"} {
		if err := s.Retry(ctx, k, day); err != nil {
			t.Fatalf("Retry(%s): %v", k, err)
		}
	}
	checkEqual(t, "Due while held", dueKeys(t, s, now, 0), []string{})
	at := now.Add(time.Hour)
	if err := s.ReleaseChat(ctx, 1, at); err != nil {
		t.Fatalf("ReleaseChat: %v", err)
	}
	// Chat 1's messages go in order, each due at the release; chat 2 stays
	// held.
	for i, k := range []string{"a1", "a2", "a3"} {
		list, err := s.Due(ctx, at, 0)
		if err != nil {
			t.Fatalf("Due: %v", err)
		}
		want := msgs[i]
		if k != "a3" {
			want.NotBefore = at
		}
		if k == "a1" {
			want.Attempts = 1
		}
		checkEqual(t, "Due after ReleaseChat, head "+k, list, []caunoi.OutMessage{want})
		if err := s.Sent(ctx, k); err != nil {
			t.Fatalf("Sent(%s): %v", k, err)
		}
	}
	checkEqual(t, "Due after chat 1 drained", dueKeys(t, s, at, 0), []string{})
	checkEqual(t, "Due when chat 2's hold ends", dueKeys(t, s, day, 0), []string{"b1"})
}

func testOutboxTombstone(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	now := suiteEpoch
	a1 := outMessage("a1", 1, now.Add(-time.Minute), now.Add(-time.Minute))
	if err := s.Enqueue(ctx, []caunoi.OutMessage{a1}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if err := s.Sent(ctx, "a1"); err != nil {
		t.Fatalf("Sent: %v", err)
	}
	// The same update handled again produces the same message: it was sent
	// and must not go twice, alone or in a batch with new messages.
	again := a1
	again.Payload = []byte("bản gửi lại")
	a2 := outMessage("a2", 1, now, now)
	for _, batch := range [][]caunoi.OutMessage{{a1}, {again, a2}} {
		if err := s.Enqueue(ctx, batch); err != nil {
			t.Fatalf("Enqueue(sent key): %v", err)
		}
	}
	list, err := s.Due(ctx, now, 0)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	checkEqual(t, "Due after enqueueing a sent key", list, []caunoi.OutMessage{a2})
	checkErr(t, "Sent(sent key)", s.Sent(ctx, "a1"), caunoi.ErrNotFound)
	checkErr(t, "Retry(sent key)", s.Retry(ctx, "a1", now), caunoi.ErrNotFound)
}

// sentPruner is how both stores forget outbox tombstones; the Journal's
// Prune forgets them the same way.
type sentPruner interface {
	PruneSent(ctx context.Context, before time.Time) error
}

func testOutboxPruneSent(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	p, ok := s.(sentPruner)
	if !ok {
		t.Skipf("%T has no PruneSent", s)
	}
	now := suiteEpoch
	a1 := outMessage("a1", 1, now.Add(-2*time.Minute), now.Add(-2*time.Minute))
	b1 := outMessage("b1", 2, now.Add(-time.Minute), now.Add(-time.Minute))
	if err := s.Enqueue(ctx, []caunoi.OutMessage{a1, b1}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	// Sent dates tombstones by the store's clock; the two sends are kept a
	// few microseconds apart (every store keeps at least that precision) so
	// that mid falls strictly between them.
	if err := s.Sent(ctx, "a1"); err != nil {
		t.Fatalf("Sent(a1): %v", err)
	}
	mid := after(time.Now(), 5*time.Microsecond)
	after(mid, 5*time.Microsecond)
	if err := s.Sent(ctx, "b1"); err != nil {
		t.Fatalf("Sent(b1): %v", err)
	}
	if err := p.PruneSent(ctx, mid.Add(-time.Hour)); err != nil {
		t.Fatalf("PruneSent(before both): %v", err)
	}
	if err := s.Enqueue(ctx, []caunoi.OutMessage{a1, b1}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	checkEqual(t, "Due with both tombstones kept", dueKeys(t, s, now, 0), []string{})

	if err := p.PruneSent(ctx, mid); err != nil {
		t.Fatalf("PruneSent(between): %v", err)
	}
	if err := s.Enqueue(ctx, []caunoi.OutMessage{a1, b1}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	checkEqual(t, "Due after a1's tombstone was forgotten", dueKeys(t, s, now, 0), []string{"a1"})
}

// after waits, without sleeping, until the clock has passed t by d, and
// returns the time it read then.
func after(t time.Time, d time.Duration) time.Time {
	for {
		if now := time.Now(); now.Sub(t) > d {
			return now
		}
	}
}

// testOutboxConcurrent has 8 workers enqueue and send across 50 chats at
// once. Each chat is written by one worker and sent by another, so the
// order of its sends is known; batches are enqueued twice, partly after
// being sent. Every message must be sent exactly once, in its chat's order.
func testOutboxConcurrent(t *testing.T, open func(testing.TB) caunoi.Store) {
	const workers, chats, perChat, batch = 8, 50, 10, 5
	ctx := context.Background()
	s := open(t)
	now := suiteEpoch.Add(time.Hour)
	key := func(chat int64, n int) string { return fmt.Sprintf("c%02d-%02d", chat, n) }
	writer := func(chat int64) int { return int(chat % workers) }
	sender := func(chat int64) int { return int((chat + 3) % workers) }
	message := func(chat int64, n int) caunoi.OutMessage {
		at := suiteEpoch.Add(time.Duration(n)*time.Minute + time.Duration(chat)*time.Second)
		return outMessage(key(chat, n), chat, at, at)
	}
	sent := make([][]string, chats+1) // chat's keys in the order of their sending; each chat has one sender
	race(workers, func(w int) {
		var mine []int64
		for c := int64(1); c <= chats; c++ {
			if sender(c) == w {
				mine = append(mine, c)
			}
		}
		for round := 0; ; round++ {
			if n := round * batch; n < perChat {
				var msgs []caunoi.OutMessage
				for c := int64(1); c <= chats; c++ {
					if writer(c) != w {
						continue
					}
					for i := max(0, n-batch); i < n+batch; i++ { // the previous batch again
						msgs = append(msgs, message(c, i))
					}
				}
				if err := s.Enqueue(ctx, msgs); err != nil {
					t.Errorf("worker %d: Enqueue: %v", w, err)
					return
				}
			}
			list, err := s.Due(ctx, now, 0)
			if err != nil {
				t.Errorf("worker %d: Due: %v", w, err)
				return
			}
			for _, m := range list {
				if sender(m.Chat) != w {
					continue
				}
				if want := key(m.Chat, len(sent[m.Chat])); m.Key != want {
					t.Errorf("worker %d: Due returned %s as chat %d's head, want %s", w, m.Key, m.Chat, want)
					return
				}
				if err := s.Sent(ctx, m.Key); err != nil {
					t.Errorf("worker %d: Sent(%s): %v", w, m.Key, err)
					return
				}
				sent[m.Chat] = append(sent[m.Chat], m.Key)
			}
			done := true
			for _, c := range mine {
				done = done && len(sent[c]) == perChat
			}
			if done && round*batch >= perChat {
				return
			}
			if round > 100_000 {
				t.Errorf("worker %d: chats still unsent after %d rounds", w, round)
				return
			}
		}
	})
	if t.Failed() {
		return
	}
	for c := int64(1); c <= chats; c++ {
		want := make([]string, perChat)
		for i := range want {
			want[i] = key(c, i)
		}
		checkEqual(t, fmt.Sprintf("chat %d's messages in the order sent", c), sent[c], want)
	}
	checkEqual(t, "Due after all were sent", dueKeys(t, s, now, 0), []string{})
	var all []caunoi.OutMessage
	for c := int64(1); c <= chats; c++ {
		for i := range perChat {
			all = append(all, message(c, i))
		}
	}
	if err := s.Enqueue(ctx, all); err != nil {
		t.Fatalf("Enqueue(all again): %v", err)
	}
	checkEqual(t, "Due after enqueueing all again", dueKeys(t, s, now, 0), []string{})
}

func testOutboxRetry(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	now := suiteEpoch
	msgs := []caunoi.OutMessage{
		outMessage("a1", 1, now.Add(-time.Minute), now.Add(-time.Minute)),
		outMessage("b1", 2, now.Add(-time.Minute), now.Add(-time.Minute)),
	}
	if err := s.Enqueue(ctx, msgs); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	checkErr(t, "Retry(unknown)", s.Retry(ctx, "zz", now), caunoi.ErrNotFound)

	// The person blocked the bot: both messages are held for a day.
	for _, k := range []string{"a1", "b1"} {
		for range 2 {
			if err := s.Retry(ctx, k, now.Add(24*time.Hour)); err != nil {
				t.Fatalf("Retry(%s): %v", k, err)
			}
		}
	}
	checkEqual(t, "Due while held", dueKeys(t, s, now, 10), []string{})
	later, err := s.Due(ctx, now.Add(24*time.Hour), 10)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	if len(later) != 2 || later[0].Attempts != 2 || later[1].Attempts != 2 {
		t.Errorf("Due after the hold = %+v, want 2 messages with 2 attempts each", later)
	}

	// Chat 1 writes again: its message is released, chat 2's stays held.
	at := now.Add(time.Hour)
	if err := s.ReleaseChat(ctx, 1, at); err != nil {
		t.Fatalf("ReleaseChat: %v", err)
	}
	list, err := s.Due(ctx, at, 10)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	want := msgs[0]
	want.NotBefore, want.Attempts = at, 2
	checkEqual(t, "Due after ReleaseChat", list, []caunoi.OutMessage{want})
	if err := s.ReleaseChat(ctx, 3, at); err != nil {
		t.Errorf("ReleaseChat(chat with nothing held): %v", err)
	}
}

func testLocker(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	acquire := func(owner string) bool {
		t.Helper()
		ok, err := s.Acquire(ctx, "nhac-viec", owner, time.Minute)
		if err != nil {
			t.Fatalf("Acquire(%s): %v", owner, err)
		}
		return ok
	}
	steps := []struct {
		do    func()
		owner string
		want  bool
	}{
		{nil, "replica-1", true},
		{nil, "replica-2", false},
		{nil, "replica-1", true}, // the holder extends
		{func() { s.Unlock(ctx, "nhac-viec", "replica-2") }, "replica-2", false},
		{func() { s.Unlock(ctx, "nhac-viec", "replica-1") }, "replica-2", true},
		{nil, "replica-1", false},
	}
	for i, st := range steps {
		if st.do != nil {
			st.do()
		}
		if got := acquire(st.owner); got != st.want {
			t.Errorf("step %d: Acquire(%s) = %v, want %v", i, st.owner, got, st.want)
		}
	}
	// Leases with other names are independent.
	ok, err := s.Acquire(ctx, "tong-hop", "replica-1", time.Minute)
	if err != nil || !ok {
		t.Errorf("Acquire(other name) = %v, %v; want held", ok, err)
	}
	if err := s.Unlock(ctx, "khong-co", "replica-1"); err != nil {
		t.Errorf("Unlock(never held): %v", err)
	}
}

func testLockerConcurrent(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	const n = 20
	held := make([]bool, n)
	errs := make([]error, n)
	race(n, func(i int) {
		held[i], errs[i] = s.Acquire(ctx, "bao-cao-ngay", fmt.Sprintf("replica-%d", i), time.Minute)
	})
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Acquire(replica-%d): %v", i, errs[i])
		}
		if held[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d replicas hold the lease, want exactly 1", winners)
	}
}

func testLockerExpiry(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	ok, err := s.Acquire(ctx, "nhac-viec", "replica-1", 200*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("Acquire = %v, %v; want held", ok, err)
	}
	ok, err = s.Acquire(ctx, "nhac-viec", "replica-2", time.Minute)
	if err != nil || ok {
		t.Fatalf("Acquire(replica-2, before expiry) = %v, %v; want refused", ok, err)
	}
	var pollErr error
	taken := pollUntil(t, expiryDeadline, func() bool {
		ok, pollErr = s.Acquire(ctx, "nhac-viec", "replica-2", time.Minute)
		return ok || pollErr != nil
	})
	if pollErr != nil {
		t.Fatalf("Acquire(replica-2): %v", pollErr)
	}
	if !taken {
		t.Fatalf("the lease was still held %s after it should have expired", expiryDeadline)
	}
	ok, err = s.Acquire(ctx, "nhac-viec", "replica-1", time.Minute)
	if err != nil || ok {
		t.Errorf("Acquire(replica-1, after losing it) = %v, %v; want refused", ok, err)
	}
}

func testKV(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	_, err := s.Value(ctx, "nhac:TP-2025-000001:1")
	checkErr(t, "Value(missing)", err, caunoi.ErrNotFound)

	ok, err := s.SetNX(ctx, "nhac:TP-2025-000001:1", []byte("đã nhắc"), 0)
	if err != nil || !ok {
		t.Fatalf("SetNX = %v, %v; want stored", ok, err)
	}
	ok, err = s.SetNX(ctx, "nhac:TP-2025-000001:1", []byte("lần hai"), 0)
	if err != nil || ok {
		t.Errorf("SetNX(again) = %v, %v; want not stored", ok, err)
	}
	v, err := s.Value(ctx, "nhac:TP-2025-000001:1")
	if err != nil {
		t.Fatalf("Value: %v", err)
	}
	checkEqual(t, "Value", string(v), "đã nhắc")

	const n = 20
	stored := make([]bool, n)
	errs := make([]error, n)
	race(n, func(i int) {
		stored[i], errs[i] = s.SetNX(ctx, "chi-mot-lan", fmt.Appendf(nil, "%d", i), time.Hour)
	})
	winner := -1
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("SetNX(%d): %v", i, errs[i])
		}
		if stored[i] {
			if winner >= 0 {
				t.Errorf("SetNX stored for both %d and %d", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no SetNX stored")
	}
	v, err = s.Value(ctx, "chi-mot-lan")
	if err != nil {
		t.Fatalf("Value: %v", err)
	}
	checkEqual(t, "Value after the race", string(v), fmt.Sprint(winner))
}

func testKVExpiry(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	ok, err := s.SetNX(ctx, "tam-thoi", []byte("1"), 200*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("SetNX = %v, %v; want stored", ok, err)
	}
	var pollErr error
	again := pollUntil(t, expiryDeadline, func() bool {
		ok, pollErr = s.SetNX(ctx, "tam-thoi", []byte("2"), 0)
		return ok || pollErr != nil
	})
	if pollErr != nil {
		t.Fatalf("SetNX: %v", pollErr)
	}
	if !again {
		t.Fatalf("the key was still set %s after it should have expired", expiryDeadline)
	}
	v, err := s.Value(ctx, "tam-thoi")
	if err != nil {
		t.Fatalf("Value: %v", err)
	}
	checkEqual(t, "Value after expiry and SetNX", string(v), "2")
}

// putDeleter is the overwrite-and-delete extension of caunoi.KV that both
// stores offer for conversation state.
type putDeleter interface {
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

func testKVPutDelete(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	pd, ok := s.(putDeleter)
	if !ok {
		t.Skipf("%T has no Put and Delete", s)
	}
	if err := pd.Put(ctx, "nhap:42", []byte("bản nháp 1"), 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := pd.Put(ctx, "nhap:42", []byte("bản nháp 2"), time.Hour); err != nil {
		t.Fatalf("Put(replace): %v", err)
	}
	v, err := s.Value(ctx, "nhap:42")
	if err != nil {
		t.Fatalf("Value: %v", err)
	}
	checkEqual(t, "Value after Put", string(v), "bản nháp 2")
	stored, err := s.SetNX(ctx, "nhap:42", []byte("x"), 0)
	if err != nil || stored {
		t.Errorf("SetNX over a Put value = %v, %v; want not stored", stored, err)
	}
	if err := pd.Delete(ctx, "nhap:42"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = s.Value(ctx, "nhap:42")
	checkErr(t, "Value after Delete", err, caunoi.ErrNotFound)
	if err := pd.Delete(ctx, "nhap:42"); err != nil {
		t.Errorf("Delete(missing): %v", err)
	}

	if err := pd.Put(ctx, "tam", []byte("1"), 200*time.Millisecond); err != nil {
		t.Fatalf("Put(ttl): %v", err)
	}
	gone := pollUntil(t, expiryDeadline, func() bool {
		_, err := s.Value(ctx, "tam")
		return errors.Is(err, caunoi.ErrNotFound)
	})
	if !gone {
		t.Errorf("a Put value with a ttl was still there after %s", expiryDeadline)
	}
}

// BenchDueBacklog measures Due(limit 256) over a backlog of 100,000
// pending messages in 10,000 chats, as after a long outage. The backlog is
// written once, outside the timing.
func BenchDueBacklog(b *testing.B, open func(tb testing.TB) caunoi.Store) {
	const chats, perChat, batch, limit = 10_000, 10, 1_000, 256
	ctx := context.Background()
	s := open(b)
	now := suiteEpoch
	msgs := make([]caunoi.OutMessage, 0, batch)
	for i := range chats * perChat {
		chat, n := int64(i%chats+1), i/chats
		at := now.Add(-time.Duration(chats*perChat-i) * time.Millisecond)
		msgs = append(msgs, outMessage(fmt.Sprintf("%d:%d", chat, n), chat, at, at))
		if len(msgs) == batch {
			if err := s.Enqueue(ctx, msgs); err != nil {
				b.Fatalf("Enqueue: %v", err)
			}
			msgs = msgs[:0]
		}
	}
	for b.Loop() {
		list, err := s.Due(ctx, now, limit)
		if err != nil {
			b.Fatalf("Due: %v", err)
		}
		if len(list) != limit {
			b.Fatalf("Due returned %d messages, want %d", len(list), limit)
		}
	}
}
