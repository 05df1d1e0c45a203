package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi"
)

// blockedHold is how long a message to someone who blocked the bot waits
// before another attempt, unless they write again first.
const blockedHold = 7 * 24 * time.Hour

// sender delivers the outbox. Each chat's messages go in order, one at a
// time; chats take turns, so a backlog drains fairly; the limiter keeps the
// bot inside Telegram's rates. On 429 it waits retry_after; on a server
// error or a timeout it retries with backoff; when a person has blocked the
// bot it holds their messages until they write again.
type sender struct {
	api     *tgbot.Bot
	text    *apiClient // sendMessage, the call made most
	store   caunoi.Store
	lim     *limiter
	log     *slog.Logger
	now     func() time.Time
	workers int
	metrics *Metrics
	leases  *leases

	wake chan struct{}

	mu       sync.Mutex
	inflight map[string]bool     // outbox keys being sent
	busy     map[int64]bool      // chats with a message being sent
	held     map[int64]time.Time // chats waiting for a retry of their oldest message
	released map[int64]time.Time // when each chat's person last wrote to the bot
	// gen counts finished deliveries; doneGen is the generation at which
	// each chat last finished one. A due list read before a chat's delivery
	// finished may still hold the message just sent, so that chat sits out
	// the round.
	gen     uint64
	doneGen map[int64]uint64
	// owned are the chats whose send lease this replica holds, with several
	// replicas on one store. A chat is sent to only from due lists read
	// while its lease was held, so two replicas never send one message.
	owned map[int64]bool
	// ownedUse is when each owned chat last had something to send.
	ownedUse map[int64]time.Time
	// idleSweep is when owned was last searched for idle chats.
	idleSweep time.Time
	// unrecorded are messages Telegram accepted whose records the store
	// refused (a full disk, a lost connection): the binding that routes
	// replies to their ticket, when they have one, and the "sent" record.
	// They are not sent again, their chats wait, and the records are
	// retried every round, the binding first.
	unrecorded map[string]*binding
	// binding counts, per chat, the messages naming a ticket that are being
	// sent or whose binding is not stored yet.
	binding map[int64]int
}

// binding is the record that routes replies to a sent message to its
// ticket; nil in unrecorded when only the "sent" record is missing.
type binding struct {
	chat  int64
	key   string
	value []byte
}

func newSender(api *tgbot.Bot, text *apiClient, st caunoi.Store, lim Limits, log *slog.Logger, now func() time.Time, m *Metrics) *sender {
	return &sender{
		api: api, text: text, store: st, lim: newLimiter(lim), log: log, now: now, workers: 16, metrics: m, leases: &leases{},
		wake:     make(chan struct{}, 1),
		inflight: make(map[string]bool),
		busy:     make(map[int64]bool),
		held:     make(map[int64]time.Time),
		released: make(map[int64]time.Time),
		doneGen:  make(map[int64]uint64),
		owned:    make(map[int64]bool),
		ownedUse: make(map[int64]time.Time),

		unrecorded: make(map[string]*binding),
		binding:    make(map[int64]int),
	}
}

// minRound is the least time between two reads of the outbox's due list.
const minRound = 5 * time.Millisecond

// poke tells the sender that new messages are due.
func (s *sender) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run delivers until ctx is done. It returns only ctx's error.
func (s *sender) run(ctx context.Context) error {
	workers := newPool(s.workers) // closing waits for the sends handed over
	defer workers.close()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastForget := s.now()
	lastSlots := lastForget
	var lastRead time.Time
	for {
		// Every delivery and every handled update wakes the sender; under
		// load, reading the outbox for each would cost more than sending.
		// Rounds at most every minRound gather what came meanwhile.
		if !sleep(ctx, minRound-time.Since(lastRead)) {
			return ctx.Err()
		}
		lastRead = time.Now()
		s.mu.Lock()
		gen := s.gen
		s.mu.Unlock()
		s.record(ctx)
		now := s.now()
		due, err := s.store.Due(ctx, now, 2048)
		if err != nil && ctx.Err() == nil {
			s.log.Error("read outbox", "err", err)
		}
		heads := s.heads(due, now, gen)
		if s.leases.locker != nil {
			heads = s.leased(ctx, due, heads)
		}
		for _, m := range heads {
			s.mu.Lock()
			s.inflight[m.Key] = true
			s.busy[m.Chat] = true
			s.mu.Unlock()
			if !workers.do(ctx, func() {
				s.deliver(ctx, m)
				s.mu.Lock()
				delete(s.inflight, m.Key)
				delete(s.busy, m.Chat)
				s.gen++
				s.doneGen[m.Chat] = s.gen
				s.mu.Unlock()
				s.poke()
			}) {
				return ctx.Err()
			}
		}
		now = s.now()
		if now.Sub(lastSlots) > time.Second {
			s.lim.forgetSlots(now)
			lastSlots = now
		}
		if now.Sub(lastForget) > time.Minute {
			s.lim.forget(now)
			s.mu.Lock()
			for chat, t := range s.released {
				if now.Sub(t) > time.Hour {
					delete(s.released, chat)
				}
			}
			s.mu.Unlock()
			lastForget = now
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// heads picks, for each chat that is neither busy nor held, its oldest due
// message (by Created, then Key), so a chat's messages go out in the order
// they were decided even after one of them was retried. Chats take turns in
// the order of their oldest message.
//
// now must be the time the due list was read at: a hold that ends after it
// still applies, since the held message may be missing from the list.
func (s *sender) heads(due []caunoi.OutMessage, now time.Time, gen uint64) []caunoi.OutMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := make(map[int64]int)
	var order []int64
	for i, m := range due {
		j, ok := first[m.Chat]
		if !ok {
			first[m.Chat] = i
			order = append(order, m.Chat)
			continue
		}
		o := due[j]
		if m.Created.Before(o.Created) || m.Created.Equal(o.Created) && m.Key < o.Key {
			first[m.Chat] = i
		}
	}
	var out []caunoi.OutMessage
	for _, chat := range order {
		m := due[first[chat]]
		_, unrecorded := s.unrecorded[m.Key]
		if s.busy[chat] || s.inflight[m.Key] || unrecorded || s.doneGen[chat] > gen {
			continue
		}
		if until, ok := s.held[chat]; ok {
			if !now.After(until) {
				continue
			}
			delete(s.held, chat)
		}
		out = append(out, m)
	}
	for chat, g := range s.doneGen {
		if g <= gen {
			delete(s.doneGen, chat) // later lists are read after it
		}
	}
	return out
}

// leased keeps the heads of chats whose send lease this replica held when
// due was read, renewing those leases; it takes the leases of the other
// chats for the next round. A chat with nothing due keeps its lease for
// sendLeaseIdle, so that a person's next message, which often follows within
// seconds, does not pay for giving the lease up and taking it again; this
// replica sends it, as it sees every due message.
func (s *sender) leased(ctx context.Context, due, heads []caunoi.OutMessage) []caunoi.OutMessage {
	now := time.Now()
	s.mu.Lock()
	for _, m := range due {
		if s.owned[m.Chat] {
			s.ownedUse[m.Chat] = now
		}
	}
	// Looking for idle chats means visiting every owned chat, thousands
	// under load: once a second is enough, as an idle lease is given back
	// after seconds.
	var idle []int64
	if now.Sub(s.idleSweep) >= time.Second {
		s.idleSweep = now
		for chat := range s.owned {
			switch {
			case s.busy[chat]:
				s.ownedUse[chat] = now
			case now.Sub(s.ownedUse[chat]) > sendLeaseIdle:
				idle = append(idle, chat)
				delete(s.owned, chat)
				delete(s.ownedUse, chat)
			}
		}
	}
	s.mu.Unlock()
	s.leases.dropAll(ctx, "send", idle)
	chats := make([]int64, len(heads))
	had := make([]bool, len(heads))
	s.mu.Lock()
	for i, m := range heads {
		chats[i], had[i] = m.Chat, s.owned[m.Chat]
	}
	s.mu.Unlock()
	oks, errs := s.leases.takeAll(ctx, "send", chats)
	var out []caunoi.OutMessage
	for i, m := range heads {
		if errs[i] != nil && ctx.Err() == nil {
			s.log.Error("take send lease", "chat_id", m.Chat, "err", errs[i])
		}
		s.mu.Lock()
		if oks[i] {
			s.owned[m.Chat] = true
			s.ownedUse[m.Chat] = now
		} else {
			delete(s.owned, m.Chat)
			delete(s.ownedUse, m.Chat)
		}
		s.mu.Unlock()
		switch {
		case oks[i] && had[i]:
			out = append(out, m)
		case oks[i]:
			s.poke() // read the outbox again, now as the chat's owner
		}
	}
	return out
}

// sendLeaseIdle is how long this replica keeps the send lease of a chat
// with nothing to send. It must stay below leaseFresh: the lease was last
// renewed no earlier than leaseFresh before its last use, and lasts
// chatLeaseTTL from then.
const sendLeaseIdle = 5 * time.Second

// hold keeps chat's messages back until until, so that none overtakes the
// one being retried.
func (s *sender) hold(chat int64, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held[chat] = until
}

// release lets chat's messages go again (the person wrote to the bot).
func (s *sender) release(chat int64) {
	s.mu.Lock()
	now := s.now()
	// Not a plain delete: a due list read before now lacks the messages
	// that were held, so the chat waits for a list read after this.
	s.held[chat] = now
	s.released[chat] = now
	s.mu.Unlock()
	s.poke()
}

// deliver sends one message, waiting for its slot, and records the outcome
// in the outbox.
func (s *sender) deliver(ctx context.Context, m caunoi.OutMessage) {
	o, err := unmarshalOutgoing(m.Payload)
	if err != nil {
		s.log.Error("drop unreadable outbox message", "key", m.Key, "err", err)
		s.finish(ctx, m.Key)
		return
	}
	// Telegram gives groups and channels negative ids: the group window
	// applies to them even when the message was not marked as a group's.
	at := s.lim.reserve(o.Chat, o.Group || o.Chat < 0, s.now())
	if !sleep(ctx, at.Sub(s.now())) {
		return
	}
	// Once a request leaves, it is seen through even if the bot is
	// stopping: abandoning it halfway would leave Telegram holding a message
	// that the outbox still counts as unsent, and it would go twice.
	ctx = context.WithoutCancel(ctx)
	if o.Bind != "" {
		s.bindStarted(o.Chat)
	}
	started := s.now()
	s.lim.sending(o.Chat, started)
	msgID, err := s.send(ctx, o)
	// Telegram may count the message when the call ends, not when it
	// began: after a slow call the chat's next message keeps its gap from
	// the end.
	s.lim.sending(o.Chat, s.now())
	s.metrics.sent(err)
	switch {
	case err == nil:
		if o.Bind != "" && msgID != 0 {
			b := &binding{chat: o.Chat, key: msgKey(o.Chat, msgID), value: []byte(o.Bind)}
			if _, err := s.store.SetNX(ctx, b.key, b.value, 0); err != nil {
				// Without its binding, a staff reply to this card would
				// reach no ticket: keep the message unrecorded until both
				// records are stored.
				s.mu.Lock()
				s.unrecorded[m.Key] = b
				s.mu.Unlock()
				s.log.Error("bind message to ticket; will retry the record, not the send", "chat_id", o.Chat, "ticket_id", o.Bind, "key", m.Key, "err", err)
				return
			}
		}
		if o.Bind != "" {
			s.bindDone(o.Chat)
		}
		s.finish(ctx, m.Key)
	default:
		if o.Bind != "" {
			s.bindDone(o.Chat)
		}
		s.failed(ctx, m, o, err, started)
	}
}

func (s *sender) bindStarted(chat int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.binding[chat]++
}

func (s *sender) bindDone(chat int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.binding[chat]--; s.binding[chat] <= 0 {
		delete(s.binding, chat)
	}
}

// bindingPending reports whether a message to chat that names a ticket is
// being sent, or was sent and the record routing replies to it to the
// ticket is not stored yet. A reply in chat that finds no ticket may then
// be a reply to that message, and is worth handling again shortly.
func (s *sender) bindingPending(chat int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.binding[chat] > 0
}

func (s *sender) finish(ctx context.Context, key string) {
	// ErrNotFound: another replica recorded it first.
	if err := s.store.Sent(ctx, key); err != nil && !errors.Is(err, caunoi.ErrNotFound) {
		s.mu.Lock()
		s.unrecorded[key] = nil
		s.mu.Unlock()
		if ctx.Err() == nil {
			s.log.Error("mark outbox message sent; will retry the record, not the send", "key", key, "err", err)
		}
	}
}

// record retries the bindings and "sent" records the store refused before.
func (s *sender) record(ctx context.Context) {
	s.mu.Lock()
	keys := make([]string, 0, len(s.unrecorded))
	for k := range s.unrecorded {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.mu.Lock()
		b := s.unrecorded[k]
		s.mu.Unlock()
		if b != nil {
			if _, err := s.store.SetNX(ctx, b.key, b.value, 0); err != nil {
				return // the store is still refusing: try again next round
			}
			s.mu.Lock()
			s.unrecorded[k] = nil
			s.mu.Unlock()
			s.bindDone(b.chat)
		}
		if err := s.store.Sent(ctx, k); err != nil && !errors.Is(err, caunoi.ErrNotFound) {
			return
		}
		s.mu.Lock()
		delete(s.unrecorded, k)
		s.mu.Unlock()
	}
}

// failed decides what a failed send means.
func (s *sender) failed(ctx context.Context, m caunoi.OutMessage, o outgoing, err error, started time.Time) {
	var tooMany *tgbot.TooManyRequestsError
	now := s.now()
	var retryAt time.Time
	switch {
	case errors.As(err, &tooMany):
		wait := time.Duration(max(1, tooMany.RetryAfter)) * time.Second
		s.lim.hold(o.Chat, now.Add(wait))
		s.metrics.throttled()
		retryAt = now.Add(wait)
		s.log.Warn("telegram asked to slow down", "chat_id", o.Chat, "retry_after", tooMany.RetryAfter)
	case errors.Is(err, tgbot.ErrorForbidden):
		s.mu.Lock()
		wrote := s.released[o.Chat].After(started)
		s.mu.Unlock()
		if wrote {
			// They wrote to the bot while this send was refused: try again.
			retryAt = now.Add(time.Second)
			break
		}
		retryAt = now.Add(blockedHold)
		s.log.Info("recipient unreachable; holding message until they write", "chat_id", o.Chat)
	case errors.Is(err, tgbot.ErrorBadRequest):
		if strings.Contains(err.Error(), "message is not modified") {
			s.finish(ctx, m.Key)
			return
		}
		// Telegram will refuse this message every time: keep the record in
		// the log and move on rather than block the chat behind it.
		s.log.Error("telegram refused message; dropped", "chat_id", o.Chat, "kind", string(o.Kind), "err", err)
		s.finish(ctx, m.Key)
		return
	default:
		backoff := time.Duration(1<<min(m.Attempts, 6)) * time.Second
		retryAt = now.Add(backoff)
		s.metrics.retried()
		s.log.Warn("send failed; will retry", "chat_id", o.Chat, "attempt", m.Attempts+1, "retry_in", backoff.String(), "err", err)
	}
	s.hold(o.Chat, retryAt)
	if err := s.store.Retry(ctx, m.Key, retryAt); err != nil && ctx.Err() == nil {
		s.log.Error("reschedule outbox message", "key", m.Key, "err", err)
	}
}

// send performs one outgoing item and returns the id of the message it
// created, if any.
func (s *sender) send(ctx context.Context, o outgoing) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	thread := o.Thread
	if o.Topic != "" {
		t, err := s.topic(ctx, o)
		if err != nil {
			return 0, err
		}
		thread = t
	}
	var markup models.ReplyMarkup
	if len(o.Keyboard) > 0 {
		markup = keyboardMarkup(o.Keyboard)
	}
	var reply *models.ReplyParameters
	if o.ReplyTo != 0 {
		reply = &models.ReplyParameters{MessageID: o.ReplyTo, AllowSendingWithoutReply: true}
	}
	switch o.Kind {
	case outText:
		no := true
		return s.text.sendMessage(ctx, sendMessageRequest{
			ChatID: o.Chat, MessageThreadID: thread, Text: o.Text, ParseMode: models.ParseModeHTML,
			ReplyMarkup: markup, ReplyParameters: reply,
			LinkPreviewOptions: &models.LinkPreviewOptions{IsDisabled: &no},
		})
	case outPhoto:
		msg, err := s.api.SendPhoto(ctx, &tgbot.SendPhotoParams{
			ChatID: o.Chat, MessageThreadID: thread, Photo: &models.InputFileString{Data: o.File},
			Caption: o.Text, ParseMode: models.ParseModeHTML, ReplyMarkup: markup, ReplyParameters: reply,
		})
		if err != nil {
			return 0, err
		}
		return msg.ID, nil
	case outDocument:
		msg, err := s.api.SendDocument(ctx, &tgbot.SendDocumentParams{
			ChatID: o.Chat, MessageThreadID: thread, Document: &models.InputFileString{Data: o.File},
			Caption: o.Text, ParseMode: models.ParseModeHTML, ReplyMarkup: markup, ReplyParameters: reply,
		})
		if err != nil {
			return 0, err
		}
		return msg.ID, nil
	case outEdit:
		_, err := s.api.EditMessageText(ctx, &tgbot.EditMessageTextParams{
			ChatID: o.Chat, MessageID: o.Message, Text: o.Text, ParseMode: models.ParseModeHTML, ReplyMarkup: markup,
		})
		return 0, err
	case outMarkup:
		if markup == nil {
			markup = models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{}}
		}
		_, err := s.api.EditMessageReplyMarkup(ctx, &tgbot.EditMessageReplyMarkupParams{
			ChatID: o.Chat, MessageID: o.Message, ReplyMarkup: markup,
		})
		return 0, err
	}
	return 0, fmt.Errorf("%w, unknown outgoing kind %q", tgbot.ErrorBadRequest, o.Kind)
}

// topic returns the forum topic for o.TopicKey, creating it once.
func (s *sender) topic(ctx context.Context, o outgoing) (int, error) {
	key := "topic:" + o.TopicKey
	if v, err := s.store.Value(ctx, key); err == nil {
		id, _ := strconv.Atoi(string(v))
		return id, nil
	} else if !errors.Is(err, caunoi.ErrNotFound) {
		return 0, err
	}
	if o.Topic == "" {
		return 0, nil // no topic for this ticket: post in the general thread
	}
	t, err := s.api.CreateForumTopic(ctx, &tgbot.CreateForumTopicParams{ChatID: o.Chat, Name: truncateRunes(o.Topic, 128)})
	if err != nil {
		return 0, err
	}
	if _, err := s.store.SetNX(ctx, key, []byte(strconv.Itoa(t.MessageThreadID)), 0); err != nil {
		return 0, err
	}
	if _, err := s.store.SetNX(ctx, threadKey(o.Chat, t.MessageThreadID), []byte(o.Bind), 0); err != nil {
		return 0, err
	}
	return t.MessageThreadID, nil
}

func keyboardMarkup(kb [][]button) models.InlineKeyboardMarkup {
	rows := make([][]models.InlineKeyboardButton, 0, len(kb))
	for _, r := range kb {
		row := make([]models.InlineKeyboardButton, 0, len(r))
		for _, b := range r {
			row = append(row, models.InlineKeyboardButton{Text: b.Text, CallbackData: b.Data})
		}
		rows = append(rows, row)
	}
	return models.InlineKeyboardMarkup{InlineKeyboard: rows}
}

// msgKey and threadKey name the KV records that route replies to tickets.
func msgKey(chat int64, msg int) string {
	return "msg:" + strconv.FormatInt(chat, 10) + ":" + strconv.Itoa(msg)
}
func threadKey(chat int64, th int) string {
	return "thread:" + strconv.FormatInt(chat, 10) + ":" + strconv.Itoa(th)
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
