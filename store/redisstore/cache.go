package redisstore

import (
	"slices"
	"sync"

	"github.com/caunoi/caunoi"
)

// ticketCacheSize bounds how many tickets a store remembers.
const ticketCacheSize = 1024

// ticketState is a ticket as this process last wrote or read it: the JSON
// stored in Redis, the length of its timeline, and the decoded ticket.
type ticketState struct {
	raw string
	n   int64
	t   caunoi.Ticket
}

// ticketCache remembers the tickets this process wrote last, so that the
// next update of one of them needs no read: updateScript checks the
// remembered state against Redis and hands back the current one when they
// differ (another replica wrote since). An entry may be stale; it is never
// trusted without that check. When full, it forgets the entry it learnt
// first.
type ticketCache struct {
	mu    sync.Mutex
	m     map[string]ticketState
	order []string // numbers in the order they were added, a ring
	next  int      // the ring's oldest slot, once it is full
}

func newTicketCache() *ticketCache {
	return &ticketCache{m: make(map[string]ticketState)}
}

// get returns a copy of the remembered state of number that the caller may
// change.
func (c *ticketCache) get(number string) (ticketState, bool) {
	c.mu.Lock()
	st, ok := c.m[number]
	c.mu.Unlock()
	if ok {
		st.t = cloneTicket(st.t)
	}
	return st, ok
}

// put remembers st for number; st.t must not be changed afterwards.
func (c *ticketCache) put(number string, st ticketState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[number]; !ok {
		if len(c.order) < ticketCacheSize {
			c.order = append(c.order, number)
		} else {
			delete(c.m, c.order[c.next])
			c.order[c.next] = number
			c.next = (c.next + 1) % ticketCacheSize
		}
	}
	c.m[number] = st
}

// forget drops number.
func (c *ticketCache) forget(number string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The number keeps its slot in the ring; when the slot is reused, the
	// delete there finds nothing or a later entry, and either is harmless.
	delete(c.m, number)
}

// cloneTicket copies t with its own slices, so that changing the copy
// leaves t alone.
func cloneTicket(t caunoi.Ticket) caunoi.Ticket {
	t.Results = slices.Clone(t.Results)
	t.Attachments = slices.Clone(t.Attachments)
	t.Applied = slices.Clone(t.Applied)
	return t
}
