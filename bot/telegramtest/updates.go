package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const maxPollTimeout = 50 // seconds

var errWebhookActive = &apiError{Code: http.StatusConflict,
	Description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}

var errPollTerminated = &apiError{Code: http.StatusConflict,
	Description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}

// confirmLocked drops the updates an offset confirms: every update with an
// ID below offset, or, for a negative offset, all but the last -offset.
func (s *Server) confirmLocked(offset int64) {
	st := &s.st
	switch {
	case offset > 0:
		i := 0
		for i < len(st.updates) && st.updates[i].UpdateID < offset {
			i++
		}
		st.updates = st.updates[i:]
	case offset < 0:
		if keep := int(-offset); keep < len(st.updates) {
			st.updates = st.updates[len(st.updates)-keep:]
		}
	}
}

// filterLocked drops queued updates of types the bot no longer accepts.
func (s *Server) filterLocked() {
	kept := s.st.updates[:0]
	for _, u := range s.st.updates {
		if allowedKind(s.st.allowedUpdates, u.Kind()) {
			kept = append(kept, u)
		}
	}
	s.st.updates = kept
}

func (s *Server) getUpdates(ctx context.Context, a args) (result, *apiError) {
	offset, _ := a.int("offset")
	limit := int64(100)
	if n, ok := a.int("limit"); ok {
		limit = min(max(n, 1), 100)
	}
	timeout, _ := a.int("timeout")
	timeout = min(max(timeout, 0), maxPollTimeout)
	var allowed []string
	if a.has("allowed_updates") {
		if err := a.decode("allowed_updates", &allowed); err != nil {
			return result{}, badRequest("can't parse allowed updates")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.webhook != nil {
		return result{}, errWebhookActive
	}
	if a.has("allowed_updates") {
		s.st.allowedUpdates = allowed
		s.filterLocked()
	}
	s.confirmLocked(offset)
	s.st.pollGen++
	gen := s.st.pollGen
	s.notifyLocked()

	waiting := false
	defer func() {
		if waiting {
			s.st.polling--
			s.notifyLocked()
		}
	}()
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(time.Duration(timeout) * time.Second)
		defer t.Stop()
		expired = t.C
	}
	for {
		if s.st.pollGen != gen {
			return result{}, errPollTerminated
		}
		if s.st.webhook != nil {
			return result{}, errWebhookActive
		}
		if len(s.st.updates) > 0 || timeout == 0 {
			n := min(int64(len(s.st.updates)), limit)
			out := make([]Update, n)
			copy(out, s.st.updates[:n])
			return result{value: out}, nil
		}
		if !waiting {
			waiting = true
			s.st.polling++
			s.notifyLocked()
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
			s.mu.Lock()
		case <-expired:
			s.mu.Lock()
			timeout = 0
		case <-ctx.Done():
			s.mu.Lock()
			return result{value: []Update{}}, nil
		case <-s.done:
			s.mu.Lock()
			return result{value: []Update{}}, nil
		}
	}
}

func (s *Server) setWebhook(_ context.Context, a args) (result, *apiError) {
	raw := a.str("url")
	var allowed []string
	if a.has("allowed_updates") {
		if err := a.decode("allowed_updates", &allowed); err != nil {
			return result{}, badRequest("can't parse allowed updates")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if raw == "" {
		return s.removeWebhookLocked(a.bool("drop_pending_updates")), nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return result{}, badRequest("bad webhook: Failed to resolve host: Name or service not known")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return result{}, badRequest("bad webhook: An HTTPS URL must be provided for webhook")
	}
	secret := a.str("secret_token")
	if len(secret) > 256 || strings.IndexFunc(secret, func(r rune) bool { return !isCommandRune(r) && r != '-' }) >= 0 {
		return result{}, badRequest("bad webhook: Secret token contains unallowed characters")
	}
	maxConn := int64(40)
	if n, ok := a.int("max_connections"); ok {
		if n < 1 || n > 100 {
			return result{}, badRequest("bad webhook: max_connections must be between 1 and 100")
		}
		maxConn = n
	}
	if a.has("allowed_updates") {
		s.st.allowedUpdates = allowed
		s.filterLocked()
	}
	if a.bool("drop_pending_updates") {
		s.st.updates = nil
	}
	old := s.st.webhook
	if old != nil && old.url == raw && old.secret == secret && old.maxConnections == int(maxConn) {
		return result{value: true, description: "Webhook is already set"}, nil
	}
	s.st.webhookGen++
	s.st.webhook = &webhookState{url: raw, secret: secret, maxConnections: int(maxConn), gen: s.st.webhookGen}
	s.notifyLocked()
	return result{value: true, description: "Webhook was set"}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) removeWebhookLocked(drop bool) result {
	if drop {
		s.st.updates = nil
	}
	if s.st.webhook == nil {
		return result{value: true, description: "Webhook is already deleted"}
	}
	s.st.webhook = nil
	s.notifyLocked()
	return result{value: true, description: "Webhook was deleted"}
}

func (s *Server) deleteWebhook(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removeWebhookLocked(a.bool("drop_pending_updates")), nil
}

func (s *Server) getWebhookInfo(context.Context, args) (result, *apiError) {
	return result{value: s.WebhookInfo()}, nil
}

// Polling returns how many getUpdates calls are waiting for an update.
func (s *Server) Polling() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.polling
}

// WebhookInfo returns what getWebhookInfo would.
func (s *Server) WebhookInfo() WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := WebhookInfo{PendingUpdateCount: len(s.st.updates)}
	if wh := s.st.webhook; wh != nil {
		info.URL = wh.url
		info.MaxConnections = wh.maxConnections
		info.LastErrorDate = wh.lastErrorDate
		info.LastErrorMessage = wh.lastErrorMsg
		info.AllowedUpdates = append([]string(nil), s.st.allowedUpdates...)
	}
	return info
}

// deliverWebhooks posts queued updates, one at a time and in order, to the
// webhook while one is set. An update the webhook does not accept with a
// 2xx status stays first in the queue and is posted again after the retry
// delay. It returns when the server closes.
func (s *Server) deliverWebhooks() {
	// ctx ends an attempt in flight when the server closes.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-s.done
		cancel()
	}()
	for {
		s.mu.Lock()
		wh := s.st.webhook
		if wh == nil || len(s.st.updates) == 0 {
			ch := s.changed
			s.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-s.done:
				return
			}
		}
		u := s.st.updates[0]
		target, secret, gen := wh.url, wh.secret, wh.gen
		s.mu.Unlock()

		errMsg := s.postUpdate(ctx, target, secret, u)

		s.mu.Lock()
		if cur := s.st.webhook; cur != nil && cur.gen == gen {
			if errMsg == "" {
				if len(s.st.updates) > 0 && s.st.updates[0].UpdateID == u.UpdateID {
					s.st.updates = s.st.updates[1:]
				}
				s.st.stats.WebhookDeliveries++
			} else {
				cur.lastErrorDate = s.date()
				cur.lastErrorMsg = errMsg
				s.st.stats.WebhookFailures++
			}
			s.notifyLocked()
		}
		s.mu.Unlock()
		if errMsg != "" {
			s.cfg.logger.Warn("webhook delivery failed", "update_id", u.UpdateID, "err", errMsg)
			t := time.NewTimer(s.cfg.retryDelay)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return
			}
		}
	}
}

// postUpdate sends one update to the webhook and returns "" on success or
// the error as getWebhookInfo reports it.
func (s *Server) postUpdate(ctx context.Context, target, secret string, u Update) string {
	body, err := json.Marshal(u)
	if err != nil {
		return "Internal error: " + err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "Invalid webhook URL"
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := s.cfg.webhookHTTP.Do(req)
	if err != nil {
		return "Connection failed: " + err.Error()
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("Wrong response from the webhook: %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return ""
}
