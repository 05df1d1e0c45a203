package bot

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi"
)

// AllowedUpdates are the update types the bot asks Telegram for.
var AllowedUpdates = []string{"message", "edited_message", "callback_query", "my_chat_member"}

// maxUpdateBytes bounds one update's JSON; Telegram's are far smaller.
const maxUpdateBytes = 1 << 20

// updateHead is the part of an update that intake needs: its id and the
// chat whose order it belongs to.
type updateHead struct {
	ID      int64 `json:"update_id"`
	Message *struct {
		Chat struct {
			ID int64 `json:"id"`
		} `json:"chat"`
	} `json:"message"`
	Edited *struct {
		Chat struct {
			ID int64 `json:"id"`
		} `json:"chat"`
	} `json:"edited_message"`
	Callback *struct {
		From struct {
			ID int64 `json:"id"`
		} `json:"from"`
		Message *struct {
			Chat struct {
				ID int64 `json:"id"`
			} `json:"chat"`
		} `json:"message"`
	} `json:"callback_query"`
	Member *struct {
		Chat struct {
			ID int64 `json:"id"`
		} `json:"chat"`
	} `json:"my_chat_member"`
}

func (h updateHead) chat() int64 {
	switch {
	case h.Message != nil:
		return h.Message.Chat.ID
	case h.Edited != nil:
		return h.Edited.Chat.ID
	case h.Callback != nil && h.Callback.Message != nil:
		return h.Callback.Message.Chat.ID
	case h.Callback != nil:
		return h.Callback.From.ID
	case h.Member != nil:
		return h.Member.Chat.ID
	}
	return 0
}

// journalUpdate parses raw just enough to journal it, and counts it in m
// (nil counts nothing). It returns the entry and whether it was new.
func journalUpdate(ctx context.Context, j caunoi.Journal, raw []byte, now time.Time, m ...*Metrics) (caunoi.JournalEntry, bool, error) {
	var h updateHead
	if err := json.Unmarshal(raw, &h); err != nil {
		return caunoi.JournalEntry{}, false, fmt.Errorf("%w: update is not JSON: %v", caunoi.ErrInvalid, err)
	}
	return journalHead(ctx, j, raw, h, now, m...)
}

// journalHead is journalUpdate for an update whose head is already read.
func journalHead(ctx context.Context, j caunoi.Journal, raw []byte, h updateHead, now time.Time, m ...*Metrics) (caunoi.JournalEntry, bool, error) {
	if h.ID <= 0 {
		return caunoi.JournalEntry{}, false, fmt.Errorf("%w: update without update_id", caunoi.ErrInvalid)
	}
	e := caunoi.JournalEntry{ID: h.ID, Chat: h.chat(), Payload: raw, Received: now}
	added, err := j.Append(ctx, e)
	if err != nil {
		return e, false, fmt.Errorf("journal update %d: %w", h.ID, err)
	}
	for _, mm := range m {
		if mm == nil {
			continue
		}
		if added {
			mm.UpdatesIn.Add(1)
		} else {
			mm.Duplicates.Add(1)
		}
	}
	return e, added, nil
}

// poller fetches updates with getUpdates. It journals every update before
// the next call acknowledges it, so a crash at any point loses nothing: what
// was not journaled is still unconfirmed at Telegram and comes again.
type poller struct {
	client  *http.Client
	base    string // server URL + "/bot" + token + "/": never logged
	journal caunoi.Journal
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration // long-poll timeout
	// onNew receives the entries each page added to the journal, in ID
	// order, once all of the page is journaled.
	onNew   func([]caunoi.JournalEntry)
	metrics *Metrics
}

// journalWorkers bounds the appends of one getUpdates page in flight at
// once. Appends run side by side so that a store which commits writers in
// groups (bbolt) or pipelines them (Redis) pays one commit for many.
const journalWorkers = 32

func (p *poller) run(ctx context.Context) error {
	var offset int64
	backoff := time.Duration(0)
	for {
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
		raws, err := p.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			backoff = min(max(2*backoff, 200*time.Millisecond), 30*time.Second)
			p.log.Warn("get updates failed; retrying", "retry_in", backoff.String(), "err", err)
			continue
		}
		backoff = 0
		added, next, err := p.journalPage(ctx, raws)
		if err != nil {
			return err
		}
		offset = max(offset, next)
		if len(added) > 0 && p.onNew != nil {
			p.onNew(added)
		}
	}
}

// journalPage journals every update of one getUpdates page and returns the
// new ones in ID order and the offset that acknowledges the page. It returns
// only when all are journaled, or ctx is done: an update that is not
// journaled must not be acknowledged, and Telegram keeps it until it is.
func (p *poller) journalPage(ctx context.Context, raws []json.RawMessage) ([]caunoi.JournalEntry, int64, error) {
	type result struct {
		e     caunoi.JournalEntry
		added bool
		ok    bool
	}
	res := make([]result, len(raws))
	sem := make(chan struct{}, journalWorkers)
	var wg sync.WaitGroup
	for i, raw := range raws {
		var h updateHead
		if err := json.Unmarshal(raw, &h); err != nil || h.ID <= 0 {
			p.log.Error("skip unreadable update", "err", err)
			continue
		}
		res[i].e.ID = h.ID
		res[i].ok = true
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for {
				e, added, err := journalHead(ctx, p.journal, raw, h, p.now(), p.metrics)
				if err == nil {
					res[i].e, res[i].added = e, added
					return
				}
				if ctx.Err() != nil {
					return
				}
				// Not journaled: the offset stays below it. Retry until
				// the store is back; Telegram keeps the update.
				p.log.Error("journal update; retrying", "update_id", h.ID, "err", err)
				if !sleep(ctx, time.Second) {
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	var added []caunoi.JournalEntry
	var next int64
	for _, r := range res {
		if !r.ok {
			continue
		}
		next = max(next, r.e.ID+1)
		if r.added {
			added = append(added, r.e)
		}
	}
	slices.SortFunc(added, func(a, b caunoi.JournalEntry) int { return cmp.Compare(a.ID, b.ID) })
	return added, next, nil
}

func (p *poller) getUpdates(ctx context.Context, offset int64) ([]json.RawMessage, error) {
	body, _ := json.Marshal(map[string]any{
		"offset": offset, "timeout": int(p.timeout / time.Second), "allowed_updates": AllowedUpdates,
	})
	ctx, cancel := context.WithTimeout(ctx, p.timeout+15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, errors.New("build getUpdates request")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		// The error carries the URL, which carries the token: drop it.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			return nil, fmt.Errorf("getUpdates: %w", ue.Unwrap())
		}
		return nil, errors.New("getUpdates: request failed")
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("getUpdates: read: %w", err)
	}
	var r struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		Description string            `json:"description"`
		Code        int               `json:"error_code"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("getUpdates: status %d, body is not JSON", resp.StatusCode)
	}
	if !r.OK {
		return nil, fmt.Errorf("getUpdates: %d %s", r.Code, r.Description)
	}
	return r.Result, nil
}

// WebhookHandler receives updates from Telegram. It answers 401 to a request
// without the right secret (compared in constant time) and journals nothing;
// it answers 2xx only once the update is journaled, so Telegram redelivers
// anything the bot did not store.
func webhookHandler(secret string, j caunoi.Journal, log *slog.Logger, now func() time.Time, onNew func([]caunoi.JournalEntry), m *Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			log.Warn("webhook call with a wrong secret", "remote", r.RemoteAddr)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, maxUpdateBytes+1))
		if err != nil || len(raw) > maxUpdateBytes {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		e, added, err := journalUpdate(r.Context(), j, raw, now(), m)
		if err != nil {
			if errors.Is(err, caunoi.ErrInvalid) {
				// Telegram never sends this; retrying would not help.
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			log.Error("journal webhook update", "err", err)
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
		if added && onNew != nil {
			onNew([]caunoi.JournalEntry{e})
		}
	})
}

// dispatcher takes journaled updates and handles them: one chat's updates
// in order, different chats in parallel. Each update is marked done after its
// handler returns, even if it panicked, so a poisonous update cannot stall
// its chat; the panic is logged and counted.
type dispatcher struct {
	journal caunoi.Journal
	handle  func(ctx context.Context, upd *models.Update) error
	log     *slog.Logger
	metrics *Metrics
	limit   int           // updates handled at once
	read    int           // entries one full read of the journal returns
	timeout time.Duration // per update
	leases  *leases

	wake chan struct{}

	mu sync.Mutex
	// inbox holds entries this process journaled since the dispatcher last
	// looked; while the journal is read in full (caughtUp), they spare a
	// read of the journal on each new page. rescan asks for a full read.
	inbox    []caunoi.JournalEntry
	caughtUp bool
	rescan   bool
	// done and donePrev hold the ids handled since the last two full reads
	// began: such an id may still be in a list read before its Done.
	done, donePrev map[int64]bool
	queued         map[int64]bool                  // update ids given to a chat queue
	held           map[int64]bool                  // chats whose lease this replica holds (shared stores)
	queues         map[int64][]caunoi.JournalEntry // per chat
	running        map[int64]bool
}

func newDispatcher(j caunoi.Journal, handle func(context.Context, *models.Update) error, log *slog.Logger, m *Metrics) *dispatcher {
	return &dispatcher{
		journal: j, handle: handle, log: log, metrics: m, limit: 64, read: pendingRead, timeout: 60 * time.Second,
		leases: &leases{},
		wake:   make(chan struct{}, 1),
		done:   map[int64]bool{}, donePrev: map[int64]bool{},
		queued: make(map[int64]bool), held: make(map[int64]bool), queues: make(map[int64][]caunoi.JournalEntry), running: make(map[int64]bool),
	}
}

// maxInbox bounds the entries waiting in the inbox; past it the dispatcher
// reads the journal instead.
const maxInbox = 4096

// offer hands over entries this process has just journaled, in ID order.
func (d *dispatcher) offer(es []caunoi.JournalEntry) {
	d.mu.Lock()
	if len(d.inbox)+len(es) > maxInbox {
		d.rescan = true
		d.inbox = nil
	} else {
		d.inbox = append(d.inbox, es...)
	}
	d.mu.Unlock()
	d.poke()
}

func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run dispatches until ctx is done, then waits for running handlers.
func (d *dispatcher) run(ctx context.Context) error {
	workers := newPool(d.limit)
	defer workers.close()
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	full := true
	for {
		var pending []caunoi.JournalEntry
		if full {
			// A full read of the journal: the way to see updates journaled
			// by other replicas, left over from before a restart, or
			// retried. It is also the only source while the journal holds
			// more than one read returns, so that a chat's older updates
			// are never overtaken by newer ones from the inbox.
			d.mu.Lock()
			d.inbox, d.rescan = nil, false
			d.donePrev, d.done = d.done, map[int64]bool{}
			d.mu.Unlock()
			var err error
			pending, err = d.journal.Pending(ctx, d.read)
			if err != nil && ctx.Err() == nil {
				d.log.Error("read journal", "err", err)
			}
			d.mu.Lock()
			d.caughtUp = err == nil && len(pending) < d.read
			d.mu.Unlock()
		} else {
			d.mu.Lock()
			pending, d.inbox = d.inbox, nil
			d.mu.Unlock()
		}
		owned := d.takeLeases(ctx, pending)
		for _, e := range pending {
			d.mu.Lock()
			skip := d.queued[e.ID] || d.done[e.ID] || d.donePrev[e.ID]
			running := d.running[e.Chat]
			d.mu.Unlock()
			if skip {
				continue
			}
			if !running {
				// Another replica may own the chat: leave it to them.
				ok, seen := owned[e.Chat]
				if !seen {
					// Its handler finished after the leases were taken.
					got, err := d.leases.take(ctx, "handle", e.Chat)
					ok = d.own(ctx, e.Chat, got, err)
					owned[e.Chat] = ok
				}
				if !ok {
					continue
				}
			}
			d.mu.Lock()
			d.queued[e.ID] = true
			d.queues[e.Chat] = append(d.queues[e.Chat], e)
			if !d.running[e.Chat] {
				d.running[e.Chat] = true
				wg.Add(1)
				go d.drain(ctx, &wg, workers, e.Chat)
			}
			d.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
			d.mu.Lock()
			full = d.rescan || !d.caughtUp
			d.mu.Unlock()
		case <-tick.C:
			full = true
		}
	}
}

// takeLeases takes the handling leases of the chats in pending that no
// handler of this replica is running, side by side, and reports which this
// replica may handle now.
func (d *dispatcher) takeLeases(ctx context.Context, pending []caunoi.JournalEntry) map[int64]bool {
	owned := map[int64]bool{}
	var chats []int64
	d.mu.Lock()
	for _, e := range pending {
		if d.queued[e.ID] || d.done[e.ID] || d.donePrev[e.ID] || d.running[e.Chat] {
			continue
		}
		if _, ok := owned[e.Chat]; !ok {
			owned[e.Chat] = false
			chats = append(chats, e.Chat)
		}
	}
	d.mu.Unlock()
	oks, errs := d.leases.takeAll(ctx, "handle", chats)
	for i, chat := range chats {
		owned[chat] = d.own(ctx, chat, oks[i], errs[i])
	}
	return owned
}

// own reports whether this replica may handle chat now, given the outcome
// of taking its lease. A chat just taken over is not handled yet: the list
// of pending updates was read before, and may hold updates the previous
// owner finished, so the journal is read again as the owner.
func (d *dispatcher) own(ctx context.Context, chat int64, ok bool, err error) bool {
	if err != nil && ctx.Err() == nil {
		d.log.Error("take chat lease", "chat_id", chat, "err", err)
	}
	d.mu.Lock()
	fresh := ok && d.leases.locker != nil && !d.held[chat]
	if fresh {
		d.held[chat] = true
		d.rescan = true
		ok = false
	}
	d.mu.Unlock()
	if fresh {
		d.poke()
	}
	return ok
}

// pendingRead is how many journal entries one full read returns, by default.
const pendingRead = 4096

// drain handles chat's queue in order until it is empty.
func (d *dispatcher) drain(ctx context.Context, wg *sync.WaitGroup, workers *pool, chat int64) {
	defer wg.Done()
	handled := make(chan struct{}, 1)
	for {
		d.mu.Lock()
		q := d.queues[chat]
		if len(q) == 0 || ctx.Err() != nil {
			for _, e := range q {
				delete(d.queued, e.ID)
			}
			delete(d.queues, chat)
			delete(d.running, chat)
			delete(d.held, chat)
			d.mu.Unlock()
			d.leases.drop(ctx, "handle", chat)
			return
		}
		e := q[0]
		d.queues[chat] = q[1:]
		d.mu.Unlock()

		var (
			marked bool
			err    error
			lost   bool
		)
		if !workers.do(ctx, func() {
			defer func() { handled <- struct{}{} }()
			if ok, err := d.leases.take(ctx, "handle", chat); err != nil || !ok {
				lost = true
				return
			}
			marked, err = d.safeHandle(ctx, e)
		}) {
			d.mu.Lock()
			delete(d.queues, chat)
			delete(d.running, chat)
			delete(d.queued, e.ID)
			d.mu.Unlock()
			return
		}
		<-handled
		if lost {
			// Lost the chat (this replica stalled past the lease): give
			// the rest back to whoever owns it now.
			d.mu.Lock()
			for _, x := range d.queues[chat] {
				delete(d.queued, x.ID)
			}
			delete(d.queued, e.ID)
			delete(d.queues, chat)
			delete(d.running, chat)
			delete(d.held, chat)
			d.mu.Unlock()
			return
		}
		var retry *retryableError
		if ctx.Err() != nil || errors.As(err, &retry) {
			// Interrupted by shutdown, or the store is unreachable: the
			// update stays pending, first in its chat's queue.
			if ctx.Err() == nil {
				d.log.Warn("handle update; will retry", "update_id", e.ID, "chat_id", e.Chat, "err", err)
				sleep(ctx, time.Second)
			}
			d.mu.Lock()
			if ctx.Err() == nil {
				d.queues[chat] = append([]caunoi.JournalEntry{e}, d.queues[chat]...)
			} else {
				delete(d.queued, e.ID)
			}
			d.mu.Unlock()
			continue
		}
		if err != nil {
			d.log.Error("handle update", "update_id", e.ID, "chat_id", e.Chat, "err", err)
		}
		if !marked { // else marked done with its replies
			if err := d.journal.Done(ctx, e.ID); err != nil && !errors.Is(err, caunoi.ErrNotFound) {
				d.log.Error("mark update done", "update_id", e.ID, "err", err)
			}
		}
		d.mu.Lock()
		delete(d.queued, e.ID)
		d.done[e.ID] = true
		d.mu.Unlock()
		d.metrics.handled(time.Since(e.Received))
	}
}

// sleep waits d, or until ctx is done; it reports whether the wait ran its
// course. A d of zero or less returns true at once.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// retryableError marks a handler failure that a later attempt may not
// have: the store or the network was down. The update is kept and retried.
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// safeHandle runs the handler with a timeout and turns a panic into an error.
func (d *dispatcher) safeHandle(ctx context.Context, e caunoi.JournalEntry) (marked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			d.metrics.panicked()
			d.log.Error("handler panicked", "update_id", e.ID, "chat_id", e.Chat, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	var upd models.Update
	if err := json.Unmarshal(e.Payload, &upd); err != nil {
		return false, fmt.Errorf("decode update %d: %w", e.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	mark := &doneMark{id: e.ID}
	err = d.handle(context.WithValue(ctx, doneMarkKey{}, mark), &upd)
	return mark.marked, err
}

// doneMark lets the handler store an update's replies and mark its journal
// entry done in one write (Store.EnqueueDone); the dispatcher then does
// not mark it again. The dispatcher puts one in the handler's context.
type doneMark struct {
	id     int64
	marked bool
}

type doneMarkKey struct{}

// markOf returns the doneMark in ctx, or nil.
func markOf(ctx context.Context) *doneMark {
	m, _ := ctx.Value(doneMarkKey{}).(*doneMark)
	return m
}
