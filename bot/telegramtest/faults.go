package telegramtest

import (
	"net/http"
	"strings"
	"time"
)

// Fault makes matching Bot API calls misbehave. A call matches when its
// method and chat match; the first matching fault applies.
type Fault struct {
	Method string // method name, case-insensitive; "" matches every method
	ChatID int64  // chat_id of the call; 0 matches every chat
	Times  int    // how many matching calls to affect; 0 means all until removed

	// Status is the error_code to answer with (429, 500, 502, ...). With 0
	// the call is served normally after Delay.
	Status      int
	RetryAfter  int    // parameters.retry_after of a 429; at least 1
	Description string // replaces the default description

	Delay time.Duration // wait before answering; honours the request's context
	Drop  bool          // close the connection without any answer
}

type faultState struct {
	f    Fault
	left int // calls still to affect; -1 for unlimited
}

// Inject adds a fault and returns a function that removes it.
func (s *Server) Inject(f Fault) (remove func()) {
	fs := &faultState{f: f, left: f.Times}
	if f.Times <= 0 {
		fs.left = -1
	}
	s.mu.Lock()
	s.st.faults = append(s.st.faults, fs)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, x := range s.st.faults {
			if x == fs {
				s.st.faults = append(s.st.faults[:i], s.st.faults[i+1:]...)
				return
			}
		}
	}
}

// takeFault returns the fault that applies to a call, using up one of its
// times, or nil.
func (s *Server) takeFault(method string, chatID int64) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, fs := range s.st.faults {
		if fs.f.Method != "" && !strings.EqualFold(fs.f.Method, method) {
			continue
		}
		if fs.f.ChatID != 0 && fs.f.ChatID != chatID {
			continue
		}
		if fs.left > 0 {
			fs.left--
			if fs.left == 0 {
				s.st.faults = append(s.st.faults[:i], s.st.faults[i+1:]...)
			}
		}
		s.st.stats.Faults++
		f := fs.f
		return &f
	}
	return nil
}

func faultError(f Fault) *apiError {
	e := &apiError{Code: f.Status, Description: f.Description}
	if f.Status == http.StatusTooManyRequests {
		e.RetryAfter = max(f.RetryAfter, 1)
		if e.Description == "" {
			e.Description = tooManyRequests(e.RetryAfter).Description
		}
	}
	if e.Description == "" {
		e.Description = http.StatusText(f.Status)
		if f.Status == http.StatusBadRequest {
			e.Description = "Bad Request: injected fault"
		}
	}
	return e
}

// Window is a sliding-window limit: at most Max messages per Per. A zero
// Window does not limit.
type Window struct {
	Max int
	Per time.Duration
}

// Limits are Telegram's flood limits on sending messages.
type Limits struct {
	PerChat  Window // every chat
	PerGroup Window // groups, in addition to PerChat
	Global   Window // all chats together
}

// DefaultLimits are the limits Telegram documents: about one message per
// second in a chat, 20 messages per minute in a group and 30 messages per
// second overall.
func DefaultLimits() Limits {
	return Limits{
		PerChat:  Window{Max: 1, Per: time.Second},
		PerGroup: Window{Max: 20, Per: time.Minute},
		Global:   Window{Max: 30, Per: time.Second},
	}
}

// EnforceLimits makes the server answer 429 with retry_after, as Telegram
// does, when the bot sends messages (sendMessage, sendPhoto, sendDocument,
// copyMessage) faster than l allows, counting in sliding windows on the
// server's clock. Refused sends do not count towards the windows.
// EnforceLimits(Limits{}) turns enforcement off.
func (s *Server) EnforceLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.limits = &l
}

// sendLog holds the times of the bot's recent sends.
type sendLog struct {
	global []time.Time
	chat   map[int64][]time.Time
}

// prune drops times older than now-keep from the front of ts.
func prune(ts []time.Time, now time.Time, keep time.Duration) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-keep)) {
		i++
	}
	return ts[i:]
}

// windowWait is how long until w admits one more send, given the recent
// send times ts (oldest first).
func windowWait(w Window, ts []time.Time, now time.Time) time.Duration {
	if w.Max <= 0 || w.Per <= 0 {
		return 0
	}
	recent := prune(ts, now, w.Per)
	if len(recent) < w.Max {
		return 0
	}
	return recent[len(recent)-w.Max].Add(w.Per).Sub(now)
}

// checkLimitsLocked returns a 429 when sending to c now would exceed the
// limits.
func (s *Server) checkLimitsLocked(c *chatState) *apiError {
	l := s.st.limits
	if l == nil {
		return nil
	}
	now := s.now()
	wait := windowWait(l.Global, s.st.sends.global, now)
	chatSends := s.st.sends.chat[c.chat.ID]
	wait = max(wait, windowWait(l.PerChat, chatSends, now))
	if c.chat.Type != ChatPrivate {
		wait = max(wait, windowWait(l.PerGroup, chatSends, now))
	}
	if wait <= 0 {
		return nil
	}
	s.st.stats.LimitHits++
	secs := int((wait + time.Second - 1) / time.Second)
	return tooManyRequests(max(secs, 1))
}

// recordSendLocked counts a send to c in the windows.
func (s *Server) recordSendLocked(c *chatState) {
	now := s.now()
	keep := time.Minute
	if l := s.st.limits; l != nil {
		keep = max(l.Global.Per, l.PerChat.Per, l.PerGroup.Per)
	}
	if s.st.sends.chat == nil {
		s.st.sends.chat = map[int64][]time.Time{}
	}
	s.st.sends.global = append(prune(s.st.sends.global, now, keep), now)
	s.st.sends.chat[c.chat.ID] = append(prune(s.st.sends.chat[c.chat.ID], now, keep), now)
}
