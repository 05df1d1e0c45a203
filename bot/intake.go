package bot

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
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
// (nil counts nothing).
func journalUpdate(ctx context.Context, j caunoi.Journal, raw []byte, now time.Time, m ...*Metrics) (bool, error) {
	var h updateHead
	if err := json.Unmarshal(raw, &h); err != nil {
		return false, fmt.Errorf("%w: update is not JSON: %v", caunoi.ErrInvalid, err)
	}
	if h.ID <= 0 {
		return false, fmt.Errorf("%w: update without update_id", caunoi.ErrInvalid)
	}
	added, err := j.Append(ctx, caunoi.JournalEntry{ID: h.ID, Chat: h.chat(), Payload: raw, Received: now})
	if err != nil {
		return false, fmt.Errorf("journal update %d: %w", h.ID, err)
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
	return added, nil
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
	onNew   func()
	metrics *Metrics
}

func (p *poller) run(ctx context.Context) error {
	var offset int64
	backoff := time.Duration(0)
	for {
		if backoff > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
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
		journaled := 0
		for _, raw := range raws {
			var h updateHead
			if err := json.Unmarshal(raw, &h); err != nil || h.ID <= 0 {
				p.log.Error("skip unreadable update", "err", err)
				continue
			}
			for {
				_, err := journalUpdate(ctx, p.journal, raw, p.now(), p.metrics)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// Not journaled: do not move the offset past it. Retry
				// until the store is back; Telegram keeps the update.
				p.log.Error("journal update; retrying", "update_id", h.ID, "err", err)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Second):
				}
			}
			journaled++
			if h.ID >= offset {
				offset = h.ID + 1
			}
		}
		if journaled > 0 && p.onNew != nil {
			p.onNew()
		}
	}
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
func webhookHandler(secret string, j caunoi.Journal, log *slog.Logger, now func() time.Time, onNew func(), m *Metrics) http.Handler {
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
		if _, err := journalUpdate(r.Context(), j, raw, now(), m); err != nil {
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
		if onNew != nil {
			onNew()
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
	timeout time.Duration // per update
	leases  *leases

	wake chan struct{}

	mu      sync.Mutex
	queued  map[int64]bool                  // update ids given to a chat queue
	held    map[int64]bool                  // chats whose lease this replica holds (shared stores)
	queues  map[int64][]caunoi.JournalEntry // per chat
	running map[int64]bool
}

func newDispatcher(j caunoi.Journal, handle func(context.Context, *models.Update) error, log *slog.Logger, m *Metrics) *dispatcher {
	return &dispatcher{
		journal: j, handle: handle, log: log, metrics: m, limit: 64, timeout: 60 * time.Second,
		leases: &leases{},
		wake:   make(chan struct{}, 1),
		queued: make(map[int64]bool), held: make(map[int64]bool), queues: make(map[int64][]caunoi.JournalEntry), running: make(map[int64]bool),
	}
}

func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run dispatches until ctx is done, then waits for running handlers.
func (d *dispatcher) run(ctx context.Context) error {
	sem := make(chan struct{}, d.limit)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		pending, err := d.journal.Pending(ctx, 4096)
		if err != nil && ctx.Err() == nil {
			d.log.Error("read journal", "err", err)
		}
		owned := map[int64]bool{}
		for _, e := range pending {
			d.mu.Lock()
			skip := d.queued[e.ID]
			running := d.running[e.Chat]
			d.mu.Unlock()
			if skip {
				continue
			}
			if !running {
				// Another replica may own the chat: leave it to them.
				ok, seen := owned[e.Chat]
				if !seen {
					var err error
					ok, err = d.leases.take(ctx, "handle", e.Chat)
					if err != nil && ctx.Err() == nil {
						d.log.Error("take chat lease", "chat_id", e.Chat, "err", err)
					}
					d.mu.Lock()
					fresh := ok && d.leases.locker != nil && !d.held[e.Chat]
					if fresh {
						// Just taken over: this list was read before, and
						// may hold updates the previous owner finished.
						// Read the journal again as the owner.
						d.held[e.Chat] = true
						ok = false
					}
					d.mu.Unlock()
					if fresh {
						d.poke()
					}
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
				go d.drain(ctx, &wg, sem, e.Chat)
			}
			d.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// drain handles chat's queue in order until it is empty.
func (d *dispatcher) drain(ctx context.Context, wg *sync.WaitGroup, sem chan struct{}, chat int64) {
	defer wg.Done()
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

		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			d.mu.Lock()
			delete(d.queues, chat)
			delete(d.running, chat)
			delete(d.queued, e.ID)
			d.mu.Unlock()
			return
		}
		if ok, err := d.leases.take(ctx, "handle", chat); err != nil || !ok {
			// Lost the chat (this replica stalled past the lease): give
			// the rest back to whoever owns it now.
			<-sem
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
		err := d.safeHandle(ctx, e)
		<-sem
		var retry *retryableError
		if ctx.Err() != nil || errors.As(err, &retry) {
			// Interrupted by shutdown, or the store is unreachable: the
			// update stays pending, first in its chat's queue.
			if ctx.Err() == nil {
				d.log.Warn("handle update; will retry", "update_id", e.ID, "chat_id", e.Chat, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
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
		if err := d.journal.Done(ctx, e.ID); err != nil && !errors.Is(err, caunoi.ErrNotFound) {
			d.log.Error("mark update done", "update_id", e.ID, "err", err)
		}
		d.mu.Lock()
		delete(d.queued, e.ID)
		d.mu.Unlock()
		d.metrics.handled()
	}
}

// retryableError marks a handler failure that a later attempt may not
// have: the store or the network was down. The update is kept and retried.
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// safeHandle runs the handler with a timeout and turns a panic into an error.
func (d *dispatcher) safeHandle(ctx context.Context, e caunoi.JournalEntry) (err error) {
	defer func() {
		if r := recover(); r != nil {
			d.metrics.panicked()
			d.log.Error("handler panicked", "update_id", e.ID, "chat_id", e.Chat, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	var upd models.Update
	if err := json.Unmarshal(e.Payload, &upd); err != nil {
		return fmt.Errorf("decode update %d: %w", e.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	return d.handle(ctx, &upd)
}
