package telegramtest

import "slices"

// Unread returns, in ascending order, the chats that hold messages from the
// bot which Next has not returned yet. An observer of many chats reads
// these instead of asking every chat.
func (s *Server) Unread() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, 0, len(s.st.unread))
	for id := range s.st.unread {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
