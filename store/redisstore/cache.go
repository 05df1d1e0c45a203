package redisstore

import (
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

// cachedTicket is what the cache keeps of a ticketState: the JSON and the
// length. The ticket is decoded again on each use (its strings are views of
// the JSON, so that costs its lists alone), which keeps one copy of each
// ticket in memory instead of two and gives every caller a ticket of its
// own.
type cachedTicket struct {
	raw string
	n   int64
}

// ticketCache remembers the tickets this process wrote last, so that the
// next update of one of them needs no read: updateScript checks the
// remembered state against Redis and hands back the current one when they
// differ (another replica wrote since). An entry may be stale; it is never
// trusted without that check. When full, it forgets the entry it learnt
// first.
type ticketCache struct {
	mu    sync.Mutex
	m     map[string]cachedTicket
	order []string // numbers in the order they were added, a ring
	next  int      // the ring's oldest slot, once it is full
}

func newTicketCache() *ticketCache {
	return &ticketCache{m: make(map[string]cachedTicket)}
}

// get returns the remembered state of number, decoded for the caller to
// change as it likes.
func (c *ticketCache) get(number string) (ticketState, bool) {
	c.mu.Lock()
	e, ok := c.m[number]
	c.mu.Unlock()
	if !ok {
		return ticketState{}, false
	}
	st, err := decodeState(e.raw, e.n)
	if err != nil {
		return ticketState{}, false // it was written by this process; read it again
	}
	return st, true
}

// put remembers the ticket JSON raw, with a timeline of n events, for
// number.
func (c *ticketCache) put(number, raw string, n int64) {
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
	c.m[number] = cachedTicket{raw, n}
}

// forget drops number.
func (c *ticketCache) forget(number string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The number keeps its slot in the ring; when the slot is reused, the
	// delete there finds nothing or a later entry, and either is harmless.
	delete(c.m, number)
}
