package telegramtest

import (
	"context"
	"time"
)

// Request is one Bot API call as the server saw it.
type Request struct {
	Method string    // canonical method name, or the path's name when unknown
	ChatID int64     // chat_id of the call, when it has one
	Time   time.Time // arrival, on the server's clock
	Status int       // HTTP status answered; 0 when the connection was dropped
	Fault  bool      // an injected fault applied
}

// Stats counts what the server did.
type Stats struct {
	Requests          int // API calls answered or dropped
	LimitHits         int // 429s returned by EnforceLimits
	Faults            int // calls affected by injected faults
	WebhookDeliveries int // updates the webhook accepted
	WebhookFailures   int // webhook attempts that failed
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st.stats
	st.Requests = len(s.st.requests)
	return st
}

// Requests returns every API call so far, in order of completion.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.st.requests...)
}

// Outbox returns what the bot did in a chat, in order: every message it
// sent, edited or deleted.
func (s *Server) Outbox(chatID int64) []Outgoing {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Outgoing, len(s.st.outbox[chatID]))
	for i, o := range s.st.outbox[chatID] {
		o.Message = cloneMessage(o.Message)
		out[i] = o
	}
	return out
}

// Next waits for the next entry of a chat's outbox that Next has not yet
// returned, and returns it. It returns ctx's error if ctx ends first.
func (s *Server) Next(ctx context.Context, chatID int64) (Outgoing, error) {
	for {
		s.mu.Lock()
		i := s.st.cursors[chatID]
		if box := s.st.outbox[chatID]; i < len(box) {
			s.st.cursors[chatID] = i + 1
			if i+1 == len(box) {
				delete(s.st.unread, chatID)
			}
			o := box[i]
			o.Message = cloneMessage(o.Message)
			s.mu.Unlock()
			return o, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Outgoing{}, ctx.Err()
		}
	}
}

// WaitFor calls cond after every change of the server's state (a request
// served, a message sent, an update queued or delivered, ...) until it
// returns true, and returns nil then. It returns ctx's error if ctx ends
// first. cond runs without the server's lock held, so it may call any
// method of the Server.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Messages returns the messages of a chat that are not deleted, from users
// and from the bot, in order, in their current state.
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.chats[chatID]
	if !ok {
		return nil
	}
	var out []Message
	for _, sm := range c.messages {
		if !sm.deleted {
			out = append(out, c.view(sm))
		}
	}
	return out
}

// Message returns one message of a chat in its current state.
func (s *Server) Message(chatID int64, id int) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.chats[chatID]
	if !ok {
		return Message{}, false
	}
	sm := c.message(id)
	if sm == nil {
		return Message{}, false
	}
	return c.view(sm), true
}

// Topics returns the forum topics of a chat, in creation order.
func (s *Server) Topics(chatID int64) []ForumTopic {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.chats[chatID]
	if !ok {
		return nil
	}
	var out []ForumTopic
	for _, sm := range c.messages {
		if t := c.topics[sm.msg.MessageID]; t != nil && sm.msg.ForumTopicCreated != nil {
			out = append(out, *t)
		}
	}
	return out
}

// CallbackAnswers returns the bot's answers to callback queries, in order.
func (s *Server) CallbackAnswers() []CallbackAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallbackAnswer(nil), s.st.callbackAnswers...)
}

// ChatActions returns the chat actions the bot sent to a chat, in order.
func (s *Server) ChatActions(chatID int64) []ChatAction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ChatAction
	for _, a := range s.st.chatActions {
		if a.ChatID == chatID {
			out = append(out, a)
		}
	}
	return out
}

// PendingUpdates returns the updates queued and not yet confirmed by the bot.
func (s *Server) PendingUpdates() []Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Update(nil), s.st.updates...)
}
