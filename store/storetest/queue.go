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

func testOutbox(t *testing.T, open func(testing.TB) caunoi.Store) {
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
	got := map[string]caunoi.OutMessage{}
	for _, m := range list {
		got[m.Key] = m
	}
	checkEqual(t, "a1 after a second Enqueue", got["a1"], first[2])
	checkEqual(t, "Due by chat", byChat(dueKeys(t, s, now, 0)), map[byte][]string{'a': {"a1", "a2"}, 'b': {"b1", "b2", "b3"}})

	// A limit never skips an older message of the same chat.
	limited := byChat(dueKeys(t, s, now, 3))
	total := 0
	for chat, keys := range limited {
		total += len(keys)
		all := map[byte][]string{'a': {"a1", "a2"}, 'b': {"b1", "b2", "b3"}}[chat]
		checkEqual(t, fmt.Sprintf("Due(limit 3) for chat %c", chat), keys, all[:len(keys)])
	}
	if total != 3 {
		t.Errorf("Due(limit 3) returned %d messages, want 3", total)
	}

	// The held message becomes due at its NotBefore.
	checkEqual(t, "Due at NotBefore", byChat(dueKeys(t, s, minute(30), 0))['a'], []string{"a1", "a2", "a3"})

	if err := s.Sent(ctx, "a1"); err != nil {
		t.Fatalf("Sent: %v", err)
	}
	checkErr(t, "Sent(again)", s.Sent(ctx, "a1"), caunoi.ErrNotFound)
	checkEqual(t, "Due after Sent", byChat(dueKeys(t, s, now, 0)), map[byte][]string{'a': {"a2"}, 'b': {"b1", "b2", "b3"}})
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
