package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// addStartedUser adds a user who has opened a chat with the bot, as
// Telegram requires before the bot may write to them.
func addStartedUser(tb testing.TB, srv *telegramtest.Server, name string) int64 {
	tb.Helper()
	u := srv.AddUser(telegramtest.User{FirstName: name})
	if _, err := srv.SendText(u.ID, u.ID, "/start"); err != nil {
		tb.Fatal(err)
	}
	return u.ID
}

func mustAPI(tb testing.TB, srv *telegramtest.Server) *tgbot.Bot {
	tb.Helper()
	api, err := tgbot.New(srv.Token(), tgbot.WithServerURL(srv.URL()), tgbot.WithSkipGetMe(),
		tgbot.WithHTTPClient(time.Second, &http.Client{Timeout: 30 * time.Second}),
		tgbot.WithErrorsHandler(func(error) {}))
	if err != nil {
		tb.Fatal(err)
	}
	return api
}

// mustText is the sendMessage client for srv.
func mustText(srv *telegramtest.Server) *apiClient {
	return &apiClient{http: &http.Client{Timeout: 30 * time.Second}, base: srv.URL() + "/bot" + srv.Token() + "/"}
}

// enqueueTexts puts n numbered messages for each chat in the outbox.
func enqueueTexts(tb testing.TB, st caunoi.Outbox, chats []int64, n int) {
	tb.Helper()
	now := time.Now()
	var out []caunoi.OutMessage
	for i := 0; i < n; i++ {
		for _, c := range chats {
			o := outgoing{Kind: outText, Chat: c, Text: fmt.Sprintf("tin %03d", i)}
			p := o.marshal()
			out = append(out, caunoi.OutMessage{Key: fmt.Sprintf("t:%d:%04d", c, i), Chat: c, Payload: p,
				Created: now.Add(time.Duration(i) * time.Microsecond), NotBefore: now})
		}
	}
	if err := st.Enqueue(context.Background(), out); err != nil {
		tb.Fatal(err)
	}
}

// checkDelivered asserts that each chat received exactly its n messages, in
// order.
func checkDelivered(tb testing.TB, srv *telegramtest.Server, chats []int64, n int) {
	tb.Helper()
	for _, c := range chats {
		var got []string
		for _, o := range srv.Outbox(c) {
			if o.Method == "sendMessage" {
				got = append(got, o.Source)
			}
		}
		if len(got) != n {
			tb.Errorf("chat %d got %d messages, want %d: %q", c, len(got), n, got)
			continue
		}
		for i, text := range got {
			if want := fmt.Sprintf("tin %03d", i); text != want {
				tb.Errorf("chat %d message %d = %q, want %q", c, i, text, want)
				break
			}
		}
	}
}

func runSender(tb testing.TB, s *sender) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	return func() { cancel(); <-done }
}

func outboxEmpty(st caunoi.Outbox) func() bool {
	return func() bool {
		due, err := st.Due(context.Background(), time.Now().Add(time.Hour), 1)
		return err == nil && len(due) == 0
	}
}

// TestSenderFaultStorm: 429s with retry_after, 5xx, slow answers and dropped
// connections; everything arrives once, in order per chat.
func TestSenderFaultStorm(t *testing.T) {
	srv := telegramtest.New(t)
	st := MustOpenStore(t)
	var chats []int64
	for i := 0; i < 4; i++ {
		chats = append(chats, addStartedUser(t, srv, fmt.Sprintf("U%d", i)))
	}
	srv.Inject(telegramtest.Fault{Method: "sendMessage", ChatID: chats[0], Times: 2, Status: 429, RetryAfter: 1})
	srv.Inject(telegramtest.Fault{Method: "sendMessage", ChatID: chats[1], Times: 3, Status: 502})
	srv.Inject(telegramtest.Fault{Method: "sendMessage", ChatID: chats[2], Times: 1, Drop: true})
	srv.Inject(telegramtest.Fault{Method: "sendMessage", ChatID: chats[3], Times: 2, Status: 500})
	fast := Limits{Global: 200, PerChat: 5 * time.Millisecond}
	m := &Metrics{}
	s := newSender(mustAPI(t, srv), mustText(srv), st, fast, testLogger(t), time.Now, m)
	enqueueTexts(t, st, chats, 6)
	stop := runSender(t, s)
	waitUntil(t, "outbox drained", outboxEmpty(st))
	stop()
	checkDelivered(t, srv, chats, 6)
	if m.Throttled.Load() != 2 {
		t.Errorf("429s seen %d, want 2", m.Throttled.Load())
	}
	if m.Retries.Load() < 6 {
		t.Errorf("retries %d, want ≥ 6", m.Retries.Load())
	}
}

// TestSenderHoldsTelegramLimits: with the emulator enforcing Telegram's
// limits, the sender gets no 429 at all.
func TestSenderHoldsTelegramLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds of real time")
	}
	srv := telegramtest.New(t, telegramtest.WithLimits(telegramtest.DefaultLimits()))
	st := MustOpenStore(t)
	var chats []int64
	for i := 0; i < 40; i++ {
		chats = append(chats, addStartedUser(t, srv, fmt.Sprintf("U%d", i)))
	}
	s := newSender(mustAPI(t, srv), mustText(srv), st, TelegramLimits, testLogger(t), time.Now, nil)
	enqueueTexts(t, st, chats, 2) // 80 messages: about 2.7 s at 30/s
	stop := runSender(t, s)
	waitUntil(t, "outbox drained", outboxEmpty(st))
	stop()
	checkDelivered(t, srv, chats, 2)
	if hits := srv.Stats().LimitHits; hits != 0 {
		t.Errorf("emulator refused %d sends for exceeding limits, want 0", hits)
	}
}

// TestSenderBlockedUser: a person who blocked the bot gets their messages
// when they write again, in order.
func TestSenderBlockedUser(t *testing.T) {
	srv := telegramtest.New(t)
	st := MustOpenStore(t)
	u := telegramtest.User{ID: addStartedUser(t, srv, "Lan")}
	if err := srv.Block(u.ID); err != nil {
		t.Fatal(err)
	}
	s := newSender(mustAPI(t, srv), mustText(srv), st, Limits{Global: 200, PerChat: time.Millisecond}, testLogger(t), time.Now, nil)
	enqueueTexts(t, st, []int64{u.ID}, 3)
	stop := runSender(t, s)
	defer stop()
	waitUntil(t, "first message held for the blocked user", func() bool {
		soon, err1 := st.Due(context.Background(), time.Now().Add(time.Hour), 10)
		later, err2 := st.Due(context.Background(), time.Now().Add(8*24*time.Hour), 10)
		// The refused message heads its chat, held; the two behind it wait.
		return err1 == nil && err2 == nil && len(soon) == 0 && len(later) == 1
	})
	if got := len(srv.Outbox(u.ID)); got != 0 {
		t.Fatalf("blocked user received %d messages", got)
	}
	if err := srv.Unblock(u.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.ReleaseChat(context.Background(), u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.release(u.ID)
	waitUntil(t, "held messages delivered", outboxEmpty(st))
	checkDelivered(t, srv, []int64{u.ID}, 3)
}

func TestSenderDropsRefusedMessage(t *testing.T) {
	srv := telegramtest.New(t)
	st := MustOpenStore(t)
	u := telegramtest.User{ID: addStartedUser(t, srv, "Lan")}
	bad := outgoing{Kind: outText, Chat: u.ID, Text: "<b>không đóng thẻ"}
	p := bad.marshal()
	good := outgoing{Kind: outText, Chat: u.ID, Text: "tin 000"}
	q := good.marshal()
	now := time.Now()
	if err := st.Enqueue(context.Background(), []caunoi.OutMessage{
		{Key: "a", Chat: u.ID, Payload: p, Created: now, NotBefore: now},
		{Key: "b", Chat: u.ID, Payload: q, Created: now.Add(time.Millisecond), NotBefore: now},
	}); err != nil {
		t.Fatal(err)
	}
	s := newSender(mustAPI(t, srv), mustText(srv), st, Limits{Global: 200, PerChat: time.Millisecond}, testLogger(t), time.Now, nil)
	stop := runSender(t, s)
	waitUntil(t, "outbox drained", outboxEmpty(st))
	stop()
	checkDelivered(t, srv, []int64{u.ID}, 1)
	if !strings.Contains(fmt.Sprint(srv.Requests()), "400") {
		t.Errorf("the malformed message was not refused by the emulator")
	}
}

// refusingStore refuses writes of the records that follow a send (the
// binding of a message to its ticket, the "sent" record) while refuse is
// set, as a full disk or a lost connection would.
type refusingStore struct {
	caunoi.Store
	refuse  atomic.Bool
	refused atomic.Int64
}

var errNoSpace = errors.New("write caunoi.db: no space left on device")

func (s *refusingStore) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if s.refuse.Load() {
		s.refused.Add(1)
		return false, errNoSpace
	}
	return s.Store.SetNX(ctx, key, value, ttl)
}

func (s *refusingStore) Sent(ctx context.Context, key string) error {
	if s.refuse.Load() {
		s.refused.Add(1)
		return errNoSpace
	}
	return s.Store.Sent(ctx, key)
}

// TestSenderKeepsBindingUntilStored: a ticket card goes out while the
// store refuses writes. The card is not sent again, the chat's next message
// waits, bindingPending holds, and once the store writes again the binding
// that routes staff replies to the ticket is stored and the next message
// follows.
func TestSenderKeepsBindingUntilStored(t *testing.T) {
	srv := telegramtest.New(t)
	st := &refusingStore{Store: MustOpenStore(t)}
	chat := addStartedUser(t, srv, "Lan")
	card := outgoing{Kind: outText, Chat: chat, Text: "tin 000", Bind: "TP-2026-001"}
	p := card.marshal()
	next := outgoing{Kind: outText, Chat: chat, Text: "tin 001"}
	q := next.marshal()
	now := time.Now()
	if err := st.Enqueue(context.Background(), []caunoi.OutMessage{
		{Key: "a", Chat: chat, Payload: p, Created: now, NotBefore: now},
		{Key: "b", Chat: chat, Payload: q, Created: now.Add(time.Millisecond), NotBefore: now},
	}); err != nil {
		t.Fatal(err)
	}
	st.refuse.Store(true)
	s := newSender(mustAPI(t, srv), mustText(srv), st, Limits{Global: 200, PerChat: time.Millisecond}, testLogger(t), time.Now, nil)
	stop := runSender(t, s)
	defer stop()
	sent := func() int {
		n := 0
		for _, o := range srv.Outbox(chat) {
			if o.Method == "sendMessage" {
				n++
			}
		}
		return n
	}
	// The card went out and its binding was refused; the sender retries
	// the records, not the send, for several rounds.
	waitUntil(t, "three refused records after the card", func() bool { return sent() == 1 && st.refused.Load() >= 3 })
	if !s.bindingPending(chat) {
		t.Errorf("bindingPending = false while the card's binding is not stored")
	}
	if n := sent(); n != 1 {
		t.Fatalf("%d messages sent while the card's records were refused, want 1 (the card, once)", n)
	}
	st.refuse.Store(false)
	waitUntil(t, "outbox drained", outboxEmpty(st))
	checkDelivered(t, srv, []int64{chat}, 2)
	msgID := srv.Outbox(chat)[0].Message.MessageID
	v, err := st.Value(context.Background(), msgKey(chat, msgID))
	if err != nil || string(v) != "TP-2026-001" {
		t.Errorf("binding of the card = %q, %v; want TP-2026-001", v, err)
	}
	if s.bindingPending(chat) {
		t.Errorf("bindingPending = true after the binding was stored")
	}
}

// TestSenderBindingPendingDuringSend: from the moment a card's call
// leaves until its binding is stored, a reply in its chat may be to it.
func TestSenderBindingPendingDuringSend(t *testing.T) {
	srv := telegramtest.New(t)
	st := MustOpenStore(t)
	chat := addStartedUser(t, srv, "Lan")
	srv.Inject(telegramtest.Fault{Method: "sendMessage", ChatID: chat, Times: 1, Delay: 2 * time.Second})
	card := outgoing{Kind: outText, Chat: chat, Text: "tin 000", Bind: "TP-2026-002"}
	p := card.marshal()
	now := time.Now()
	if err := st.Enqueue(context.Background(), []caunoi.OutMessage{{Key: "a", Chat: chat, Payload: p, Created: now, NotBefore: now}}); err != nil {
		t.Fatal(err)
	}
	s := newSender(mustAPI(t, srv), mustText(srv), st, Limits{Global: 200, PerChat: time.Millisecond}, testLogger(t), time.Now, nil)
	stop := runSender(t, s)
	defer stop()
	waitUntil(t, "the card's call under way", func() bool { return s.bindingPending(chat) })
	if n := len(srv.Outbox(chat)); n != 0 {
		t.Fatalf("the emulator holds %d messages while the call stalls", n)
	}
	waitUntil(t, "outbox drained", outboxEmpty(st))
	if s.bindingPending(chat) {
		t.Errorf("bindingPending = true after the binding was stored")
	}
	checkDelivered(t, srv, []int64{chat}, 1)
}
