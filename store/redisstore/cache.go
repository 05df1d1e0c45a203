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

// sumOf is the SHA-1 of raw, the form of a ticket's JSON that ticketState
// keeps.
func sumOf(raw []byte) [sha1.Size]byte { return sha1.Sum(raw) }

// sumOfString is sumOf of a string, without copying it.
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
	n := len(t.Number) + len(t.Department) + len(t.Commune) + len(t.Question) + len(t.Status) + len(t.IdemKey)
	for i := range t.Results {
		c := &t.Results[i]
		n += len(c.PassageID) + len(c.EntryID) + len(c.Title) + len(c.Section)
	}
	for i := range t.Attachments {
		a := &t.Attachments[i]
		n += len(a.Kind) + len(a.Ref) + len(a.Name) + len(a.MIME)
	}
	for _, k := range t.Applied {
		n += len(k)
	}
	if n == 0 {
		return
	}
	a := arena{buf: make([]byte, 0, n)}
	moveStr(&a, &t.Number)
	moveStr(&a, &t.Department)
	moveStr(&a, &t.Commune)
	moveStr(&a, &t.Question)
	moveStr(&a, &t.Status)
	moveStr(&a, &t.IdemKey)
	for i := range t.Results {
		c := &t.Results[i]
		moveStr(&a, &c.PassageID)
		moveStr(&a, &c.EntryID)
		moveStr(&a, &c.Title)
		moveStr(&a, &c.Section)
	}
	for i := range t.Attachments {
		at := &t.Attachments[i]
		moveStr(&a, &at.Kind)
		moveStr(&a, &at.Ref)
		moveStr(&a, &at.Name)
		moveStr(&a, &at.MIME)
	}
	for i := range t.Applied {
		moveStr(&a, &t.Applied[i])
	}
}

// arena is a buffer sized for all the strings moved into it: it never
// grows, so the strings viewing it stay valid.
type arena struct{ buf []byte }

// moveStr copies *s into a and points *s at the copy.
func moveStr[S ~string](a *arena, s *S) {
	if len(*s) == 0 {
		return
	}
	start := len(a.buf)
	a.buf = append(a.buf, *s...)
	*s = S(unsafe.String(&a.buf[start], len(*s)))
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
