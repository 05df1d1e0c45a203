package redisstore

import (
	"crypto/sha1"
	"encoding/hex"
	"slices"
	"sync"
	"unsafe"

	"github.com/caunoi/caunoi"
)

// ticketCacheSize bounds how many tickets a store remembers.
const ticketCacheSize = 1024

// ticketState is a ticket as this process last wrote or read it: the
// SHA-1 of the JSON stored in Redis, the length of its timeline, and the
// ticket. updateScript checks the first two against Redis; sending the
// digest instead of the JSON keeps a kilobyte per update off the wire, and
// lets the store reuse the buffer it encodes into.
type ticketState struct {
	sum [sha1.Size]byte
	n   int64
	t   caunoi.Ticket
}

// sumOfString is the SHA-1 of raw, without copying it.
func sumOfString(raw string) [sha1.Size]byte {
	return sha1.Sum(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// hexSum is st.sum as updateScript compares it: the lower-case hex of
// redis.sha1hex.
func (st *ticketState) hexSum() []byte {
	out := make([]byte, hex.EncodedLen(len(st.sum)))
	hex.Encode(out, st.sum[:])
	return out
}

// ticketCache remembers the tickets this process wrote last, so that the
// next update of one of them needs no read: updateScript checks the
// remembered state against Redis and hands back the current one when they
// differ (another replica wrote since). An entry may be stale; it is never
// trusted without that check. When full, it forgets the entry it learnt
// first.
type ticketCache struct {
	mu    sync.Mutex
	m     map[string]*ticketState // an entry forgotten for a new one is reused
	order []string                // numbers in the order they were added, a ring
	next  int                     // the ring's oldest slot, once it is full
}

func newTicketCache() *ticketCache {
	return &ticketCache{m: make(map[string]*ticketState)}
}

// get returns the remembered state of number, with a ticket of the
// caller's own to change as it likes: its lists are copies. (Its strings
// are shared, which is safe, as strings do not change.)
func (c *ticketCache) get(number string) (ticketState, bool) {
	c.mu.Lock()
	e, ok := c.m[number]
	var st ticketState
	if ok {
		st = *e
	}
	c.mu.Unlock()
	if !ok {
		return ticketState{}, false
	}
	cloneLists(&st.t)
	return st, true
}

// put remembers st for number, with copies of its ticket's lists, so that
// the caller's ticket stays the caller's, and of its strings, so that the
// cache keeps nothing else alive.
func (c *ticketCache) put(number string, st ticketState) {
	cloneLists(&st.t)
	compact(&st.t)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[number]
	if !ok {
		if len(c.order) < ticketCacheSize {
			c.order = append(c.order, number)
		} else {
			old := c.order[c.next]
			e = c.m[old] // nil if it was forgotten
			delete(c.m, old)
			c.order[c.next] = number
			c.next = (c.next + 1) % ticketCacheSize
		}
		if e == nil {
			e = new(ticketState)
		}
		c.m[number] = e
	}
	*e = st
}

// cloneLists gives t lists of its own.
func cloneLists(t *caunoi.Ticket) {
	t.Results = slices.Clone(t.Results)
	t.Attachments = slices.Clone(t.Attachments)
	t.Applied = slices.Clone(t.Applied)
}

// compact moves the text of t, lists included, into one allocation of its
// own. A string decoded from a record views the whole record (a question
// record, an official, a ticket read from Redis), so a cached ticket would
// otherwise keep those alive; compacted it holds only its own text.
func compact(t *caunoi.Ticket) {
	var w textWalk
	w.ticket(t) // measures
	if w.n == 0 {
		return
	}
	w.buf = make([]byte, 0, w.n) // never grows, so the strings viewing it stay valid
	w.ticket(t)                  // moves
}

// textWalk visits every string of a ticket, lists included: with buf nil
// it adds up their lengths in n; with buf sized to n it moves each into
// buf. (Methods, not a callback, so that the ticket stays where its owner
// keeps it.)
type textWalk struct {
	n   int
	buf []byte
}

func (w *textWalk) ticket(t *caunoi.Ticket) {
	for _, s := range []*string{&t.Number, &t.Department, &t.Commune, &t.Question, (*string)(&t.Status), &t.IdemKey} {
		w.text(s)
	}
	for i := range t.Results {
		c := &t.Results[i]
		for _, s := range []*string{&c.PassageID, &c.EntryID, &c.Title, &c.Section} {
			w.text(s)
		}
	}
	for i := range t.Attachments {
		a := &t.Attachments[i]
		for _, s := range []*string{&a.Kind, &a.Ref, &a.Name, &a.MIME} {
			w.text(s)
		}
	}
	for i := range t.Applied {
		w.text(&t.Applied[i])
	}
}

func (w *textWalk) text(s *string) {
	switch {
	case w.buf == nil:
		w.n += len(*s)
	case len(*s) > 0:
		start := len(w.buf)
		w.buf = append(w.buf, *s...)
		*s = unsafe.String(&w.buf[start], len(*s))
	}
}

// forget drops number.
func (c *ticketCache) forget(number string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// The number keeps its slot in the ring; when the slot is reused, the
	// delete there finds nothing or a later entry, and either is harmless.
	delete(c.m, number)
}

// bufPool holds the buffers tickets and events are encoded into for a
// write: once the write's script has returned, Redis has the bytes and
// the buffer can take the next write. (go-redis returns from a command only
// after writing it: the plain client writes on the caller's goroutine, and
// the blocking autopipeliner waits for the command's batch to finish, even
// when the caller's context ends first.)
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxPooled bounds the buffers bufPool keeps, so that one huge ticket does
// not pin its buffer for good.
const maxPooled = 64 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte, data []byte) {
	if cap(data) > maxPooled {
		return
	}
	*b = data[:0]
	bufPool.Put(b)
}
