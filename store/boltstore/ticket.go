package boltstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	bolt "go.etcd.io/bbolt"
)

// ticketNumber formats "TP-2025-000042".
func ticketNumber(prefix string, year int, seq uint64) string {
	return fmt.Sprintf("%s-%04d-%06d", prefix, year, seq)
}

// numbered is JSON with an empty number field, split where the number goes.
type numbered struct{ before, after []byte }

// splitAtNumber encodes v, a ticket or an event whose number is empty, and
// splits the JSON where the number goes.
func splitAtNumber(v any) (numbered, error) {
	before, after, err := codec.AroundNumber(v)
	return numbered{before, after}, err
}

// with returns the JSON with number, already JSON-escaped, in its place.
func (n numbered) with(number []byte) []byte {
	return cat(n.before, number, n.after)
}

// CreateTicket stores t with ev as its first event, numbering it from
// prefix, the year of t.Created and a per-(prefix, year) sequence. A set
// IdemKey that was used before returns the earlier ticket with
// created=false. Concurrent creations share one commit; the ticket and the
// event are encoded before it, and the commit only puts the number in.
func (s *Store) CreateTicket(ctx context.Context, prefix string, t caunoi.Ticket, ev caunoi.Event) (caunoi.Ticket, bool, error) {
	if prefix == "" {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: empty prefix: %w", caunoi.ErrInvalid)
	}
	year := t.Created.Year()
	t.Number = ""
	ev.Ticket, ev.Seq = "", 1
	tjson, err := splitAtNumber(t)
	if err != nil {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	ejson, err := splitAtNumber(ev)
	if err != nil {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	var (
		out     caunoi.Ticket
		created bool
	)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		created = false
		if t.IdemKey != "" {
			if num := tx.Bucket(bktIdem).Get([]byte(t.IdemKey)); num != nil {
				return get(tx.Bucket(bktTickets), num, &out)
			}
		}
		seqs := tx.Bucket(bktSeq)
		sb, err := seqs.CreateBucketIfNotExists([]byte(prefix + "\x00" + strconv.Itoa(year)))
		if err != nil {
			return err
		}
		n, err := sb.NextSequence()
		if err != nil {
			return err
		}
		nt := t
		nt.Number = ticketNumber(prefix, year, n)
		num := []byte(nt.Number)
		tickets := tx.Bucket(bktTickets)
		if tickets.Get(num) != nil {
			return fmt.Errorf("ticket %s already exists: %w", nt.Number, caunoi.ErrConflict)
		}
		quoted, err := json.Marshal(nt.Number)
		if err != nil {
			return err
		}
		quoted = quoted[1 : len(quoted)-1]
		if err := tickets.Put(num, tjson.with(quoted)); err != nil {
			return err
		}
		if err := tx.Bucket(bktEvents).Put(eventKey(num, 1), ejson.with(quoted)); err != nil {
			return err
		}
		if nt.IdemKey != "" {
			if err := tx.Bucket(bktIdem).Put([]byte(nt.IdemKey), num); err != nil {
				return err
			}
		}
		if err := putIndexes(tx, nt); err != nil {
			return err
		}
		if err := putStatusIndex(tx, &nt); err != nil {
			return err
		}
		out, created = nt, true
		return nil
	})
	if err != nil {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	return out, created, nil
}

// Ticket returns the ticket with number, or caunoi.ErrNotFound.
func (s *Store) Ticket(ctx context.Context, number string) (caunoi.Ticket, error) {
	var t caunoi.Ticket
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return get(tx.Bucket(bktTickets), []byte(number), &t)
	})
	if err != nil {
		return caunoi.Ticket{}, fmt.Errorf("ticket %s: %w", number, err)
	}
	return t, nil
}

// UpdateTicket applies fn to the current ticket and stores the result and
// the events fn returns in one transaction. The events get the ticket's
// number and the next sequence numbers. An error from fn is returned
// unchanged and nothing is stored.
//
// The work is done before the write transaction, so that concurrent
// updates decode, run fn and encode in parallel and the group commit only
// copies bytes: the ticket is read in a read transaction, and the write
// transaction stores the prepared bytes if the ticket and its timeline are
// still what was read. If another update got there first, fn runs again
// inside the write transaction, on the current ticket. A refusal by fn on
// the ticket as read is returned at once: the ticket was current when it
// was read.
func (s *Store) UpdateTicket(ctx context.Context, number string, fn func(*caunoi.Ticket) ([]caunoi.Event, error)) (caunoi.Ticket, error) {
	var (
		p     preparedUpdate
		fnErr error
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		p, fnErr, err = prepareUpdate(tx, number, fn)
		return err
	})
	if fnErr != nil {
		return caunoi.Ticket{}, fnErr
	}
	if err != nil {
		return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
	}
	var out caunoi.Ticket
	err = s.update(ctx, func(tx *bolt.Tx) error {
		fnErr = nil
		num := []byte(number)
		if bytes.Equal(tx.Bucket(bktTickets).Get(num), p.raw) && lastEventSeq(tx.Bucket(bktEvents).Cursor(), num) == p.seq {
			out = p.cur
			return p.store(tx)
		}
		// Changed since it was read: start again from the current ticket.
		q, refused, err := prepareUpdate(tx, number, fn)
		if refused != nil {
			fnErr = refused
			return clean(refused)
		}
		if err != nil {
			return err
		}
		out = q.cur
		return q.store(tx)
	})
	if fnErr != nil && err == fnErr {
		return caunoi.Ticket{}, fnErr
	}
	if err != nil {
		return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
	}
	return out, nil
}

// preparedUpdate is an update of one ticket, encoded and ready to store:
// it changes the ticket stored as raw, with seq events, into cur.
type preparedUpdate struct {
	raw    []byte // the ticket as read
	seq    int    // the last event's sequence number as read
	old    caunoi.Ticket
	cur    caunoi.Ticket
	data   []byte   // cur's JSON
	events [][]byte // the new events' JSON, numbered from seq+1
}

// prepareUpdate reads the ticket in tx, runs fn on it and encodes the
// result. It returns fn's error as fnErr, and any other as err; an unknown
// ticket is caunoi.ErrNotFound, marked clean.
func prepareUpdate(tx *bolt.Tx, number string, fn func(*caunoi.Ticket) ([]caunoi.Event, error)) (p preparedUpdate, fnErr, err error) {
	num := []byte(number)
	raw := tx.Bucket(bktTickets).Get(num)
	if raw == nil {
		return p, nil, clean(caunoi.ErrNotFound)
	}
	p.raw = bytes.Clone(raw)
	p.seq = lastEventSeq(tx.Bucket(bktEvents).Cursor(), num)
	if err := codec.Unmarshal(p.raw, &p.old); err != nil {
		return p, nil, err
	}
	p.cur = p.old
	p.cur.Results = slices.Clone(p.old.Results)
	p.cur.Attachments = slices.Clone(p.old.Attachments)
	p.cur.Applied = slices.Clone(p.old.Applied)
	evs, err := fn(&p.cur)
	if err != nil {
		return p, err, nil
	}
	p.cur.Number = number
	if p.data, err = codec.Marshal(&p.cur); err != nil {
		return p, nil, err
	}
	p.events = make([][]byte, len(evs))
	for i, e := range evs {
		e.Ticket, e.Seq = number, p.seq+i+1
		if p.events[i], err = codec.Marshal(&e); err != nil {
			return p, nil, err
		}
	}
	return p, nil, nil
}

// store writes the prepared update in tx.
func (p preparedUpdate) store(tx *bolt.Tx) error {
	num := []byte(p.cur.Number)
	if err := tx.Bucket(bktTickets).Put(num, p.data); err != nil {
		return err
	}
	old, cur := &p.old, &p.cur
	if old.Asker != cur.Asker || old.Department != cur.Department || !old.Created.Equal(cur.Created) {
		if err := deleteIndexes(tx, *old); err != nil {
			return err
		}
		if err := putIndexes(tx, *cur); err != nil {
			return err
		}
	}
	// A claim or a reply keeps its entry in bktOpen; a change between open
	// and finished moves it from one bucket to the other.
	if from, to := statusIndexKey(old), statusIndexKey(cur); old.Status.Open() != cur.Status.Open() || !bytes.Equal(from, to) {
		if err := statusBucket(tx, old).Delete(from); err != nil {
			return err
		}
		if err := statusBucket(tx, cur).Put(to, nil); err != nil {
			return err
		}
	}
	events := tx.Bucket(bktEvents)
	for i, data := range p.events {
		if err := events.Put(eventKey(num, uint32(p.seq+i+1)), data); err != nil {
			return err
		}
	}
	return nil
}

// Events returns the ticket's timeline in order, or caunoi.ErrNotFound.
func (s *Store) Events(ctx context.Context, number string) ([]caunoi.Event, error) {
	var out []caunoi.Event
	err := s.view(ctx, func(tx *bolt.Tx) error {
		num := []byte(number)
		if tx.Bucket(bktTickets).Get(num) == nil {
			return caunoi.ErrNotFound
		}
		prefix := append(slices.Clip(num), 0)
		c := tx.Bucket(bktEvents).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var e caunoi.Event
			if err := codec.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("events of ticket %s: %w", number, err)
	}
	return out, nil
}

// Tickets lists tickets matching f, newest first (ties by number,
// descending), in one read transaction. It reads the narrowest index: the
// asker's tickets; for open statuses only, the index of open tickets (one
// department's or all); for resolved or closed tickets within bounds on
// ResolvedAt, the index of finished tickets, only the part in the window;
// else the department's tickets or all by creation time.
func (s *Store) Tickets(ctx context.Context, f caunoi.TicketFilter) ([]caunoi.Ticket, error) {
	var out []caunoi.Ticket
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		switch {
		case f.Asker == 0 && f.OpenOnly():
			out, err = openTickets(ctx, tx, f)
			return err
		case f.Asker == 0 && f.FinishedWindow():
			out, err = finishedTickets(ctx, tx, f)
			return err
		}
		var (
			b      *bolt.Bucket
			prefix []byte
		)
		switch {
		case f.Asker != 0:
			b, prefix = tx.Bucket(bktByAsker), int64Key(int64(f.Asker))
		case f.Department != "":
			b, prefix = tx.Bucket(bktByDept), []byte(f.Department+"\x00")
		default:
			b = tx.Bucket(bktByCreated)
		}
		tickets := tx.Bucket(bktTickets)
		return scanDesc(b.Cursor(), prefix, f.CreatedAfter, f.CreatedBefore, func(number []byte) (bool, error) {
			var t caunoi.Ticket
			if err := get(tickets, number, &t); err != nil {
				return false, err
			}
			if !f.Matches(t) {
				return true, nil
			}
			out = append(out, t)
			return f.Limit <= 0 || len(out) < f.Limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	return out, nil
}

// openTickets answers f, a filter on open statuses only, from bktOpen.
func openTickets(ctx context.Context, tx *bolt.Tx, f caunoi.TicketFilter) ([]caunoi.Ticket, error) {
	var (
		prefix  []byte
		perDept = true
		found   [][]byte
	)
	if f.Department != "" {
		prefix, perDept = []byte(f.Department+"\x00"), false
	}
	err := walkWindow(ctx, tx.Bucket(bktOpen).Cursor(), prefix, perDept, f.CreatedAfter, f.CreatedBefore, func(rest []byte) {
		found = append(found, rest)
	})
	if err != nil {
		return nil, err
	}
	return decodeFound(ctx, tx, found, f, true)
}

// finishedTickets answers f, a filter on resolved or closed statuses
// within bounds on ResolvedAt, from bktDone: for each status, the
// department's keys in the window, or every department's.
func finishedTickets(ctx context.Context, tx *bolt.Tx, f caunoi.TicketFilter) ([]caunoi.Ticket, error) {
	var found [][]byte
	c := tx.Bucket(bktDone).Cursor()
	for i, st := range f.Statuses {
		if slices.Contains(f.Statuses[:i], st) {
			continue
		}
		prefix, perDept := []byte(string(st)+"\x00"), true
		if f.Department != "" {
			prefix, perDept = []byte(string(st)+"\x00"+f.Department+"\x00"), false
		}
		err := walkWindow(ctx, c, prefix, perDept, f.ResolvedAfter, f.ResolvedBefore, func(rest []byte) {
			found = append(found, rest)
		})
		if err != nil {
			return nil, err
		}
	}
	return decodeFound(ctx, tx, found, f, false)
}

// decodeFound returns the tickets that found names and f matches, newest
// first (ties by number, descending), at most f.Limit of them. Each entry
// of found is a time key and a number: of the creation time when
// byCreation is set, and then the entries sort as the tickets do, so the
// newest are decoded first and decoding stops at the limit; else of the
// resolution time, and the tickets are sorted once decoded.
func decodeFound(ctx context.Context, tx *bolt.Tx, found [][]byte, f caunoi.TicketFilter, byCreation bool) ([]caunoi.Ticket, error) {
	tickets := tx.Bucket(bktTickets)
	if byCreation {
		slices.SortFunc(found, func(a, b []byte) int { return bytes.Compare(b, a) })
	}
	var out []caunoi.Ticket
	for i, rest := range found {
		if i%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var t caunoi.Ticket
		if err := get(tickets, rest[12:], &t); err != nil {
			return nil, err
		}
		if !f.Matches(t) {
			continue
		}
		out = append(out, t)
		if byCreation && f.Limit > 0 && len(out) == f.Limit {
			return out, nil
		}
	}
	if !byCreation {
		slices.SortFunc(out, func(a, b caunoi.Ticket) int {
			return cmp.Or(b.Created.Compare(a.Created), strings.Compare(b.Number, a.Number))
		})
		if f.Limit > 0 && len(out) > f.Limit {
			out = out[:f.Limit]
		}
	}
	return out, nil
}

// walkWindow calls fn with the rest (time key and number) of every key of
// c that starts with prefix, then, when perDept is set, a department and
// 0x00, then a time key in [after, before) (zero bounds do not bound) and
// a number. Each department's keys are sought on their
// own, so that keys outside the window are passed over and not read. The
// slices fn gets are valid until the transaction ends.
func walkWindow(ctx context.Context, c *bolt.Cursor, prefix []byte, perDept bool, after, before time.Time, fn func(rest []byte)) error {
	var lo, hi []byte
	if !after.IsZero() {
		lo = timeKey(after)
	}
	if !before.IsZero() {
		hi = timeKey(before)
	}
	start := prefix
	if !perDept {
		start = cat(prefix, lo)
	}
	n := 0
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		group := len(prefix)
		if perDept {
			i := bytes.IndexByte(k[group:], 0)
			if i < 0 {
				k, _ = c.Next()
				continue
			}
			group += i + 1
		}
		rest := k[group:]
		switch {
		case len(rest) < 12:
			k, _ = c.Next()
		case lo != nil && bytes.Compare(rest[:12], lo) < 0:
			k, _ = c.Seek(cat(k[:group], lo))
		case hi != nil && bytes.Compare(rest[:12], hi) >= 0:
			if !perDept {
				return nil
			}
			next := prefixEnd(k[:group])
			if next == nil {
				return nil
			}
			k, _ = c.Seek(next)
		default:
			fn(rest)
			k, _ = c.Next()
		}
	}
	return nil
}

// CountTickets counts the tickets of each department and status in one
// read transaction: the open tickets (a few hundred, the work in
// progress) are decoded from the index of open tickets, and the finished
// ones counted from the keys of their index, without decoding any.
func (s *Store) CountTickets(ctx context.Context) (map[caunoi.DeptStatus]int, error) {
	out := map[caunoi.DeptStatus]int{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		n := 0
		tick := func() error {
			if n++; n%1024 == 0 {
				return ctx.Err()
			}
			return nil
		}
		// Open tickets: dept 0x00 created number.
		tickets := tx.Bucket(bktTickets)
		c := tx.Bucket(bktOpen).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if err := tick(); err != nil {
				return err
			}
			i := bytes.IndexByte(k, 0)
			if i < 0 || len(k) < i+1+12 {
				continue
			}
			var t caunoi.Ticket
			if err := get(tickets, k[i+1+12:], &t); err != nil {
				return err
			}
			out[caunoi.DeptStatus{Department: t.Department, Status: t.Status}]++
		}
		// Finished tickets: status 0x00 dept 0x00 resolved number. The
		// keys of one status and department are together.
		var group []byte
		m := 0
		flushDone := func() {
			if m == 0 {
				return
			}
			i := bytes.IndexByte(group, 0)
			out[caunoi.DeptStatus{Department: string(group[i+1 : len(group)-1]), Status: caunoi.Status(group[:i])}] += m
		}
		c = tx.Bucket(bktDone).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if err := tick(); err != nil {
				return err
			}
			i := bytes.IndexByte(k, 0)
			if i < 0 {
				continue
			}
			j := bytes.IndexByte(k[i+1:], 0)
			if j < 0 {
				continue
			}
			if g := k[:i+1+j+1]; !bytes.Equal(g, group) {
				flushDone()
				group, m = g, 0
			}
			m++
		}
		flushDone()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count tickets: %w", err)
	}
	return out, nil
}

// scanDesc walks keys prefix+timeKey+number from the newest created before
// before down to after, calling fn with each number until fn returns false.
func scanDesc(c *bolt.Cursor, prefix []byte, after, before time.Time, fn func(number []byte) (bool, error)) error {
	var k []byte
	var start []byte
	switch {
	case !before.IsZero():
		start = cat(prefix, timeKey(before))
	default:
		start = prefixEnd(prefix)
	}
	if start == nil {
		k, _ = c.Last()
	} else if k, _ = c.Seek(start); k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		rest := k[len(prefix):]
		if len(rest) < 12 {
			continue
		}
		if !after.IsZero() && keyTime(rest[:12]).Before(after) {
			return nil
		}
		more, err := fn(rest[12:])
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// prefixEnd returns the smallest key greater than every key with prefix, or
// nil if there is none (empty prefix or all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := slices.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func indexKeys(t caunoi.Ticket) (asker, dept, created []byte) {
	tk, num := timeKey(t.Created), []byte(t.Number)
	return cat(int64Key(int64(t.Asker)), tk, num),
		cat([]byte(t.Department), []byte{0}, tk, num),
		cat(tk, num)
}

func putIndexes(tx *bolt.Tx, t caunoi.Ticket) error {
	a, d, c := indexKeys(t)
	if err := tx.Bucket(bktByAsker).Put(a, nil); err != nil {
		return err
	}
	if err := tx.Bucket(bktByDept).Put(d, nil); err != nil {
		return err
	}
	return tx.Bucket(bktByCreated).Put(c, nil)
}

func deleteIndexes(tx *bolt.Tx, t caunoi.Ticket) error {
	a, d, c := indexKeys(t)
	if err := tx.Bucket(bktByAsker).Delete(a); err != nil {
		return err
	}
	if err := tx.Bucket(bktByDept).Delete(d); err != nil {
		return err
	}
	return tx.Bucket(bktByCreated).Delete(c)
}

// statusIndexKey returns the key of t in bktOpen when t is open (dept
// 0x00 created number), or in bktDone when it is resolved or closed
// (status 0x00 dept 0x00 resolved number).
func statusIndexKey(t *caunoi.Ticket) []byte {
	b := make([]byte, 0, len(t.Status)+len(t.Department)+2+12+len(t.Number))
	if !t.Status.Open() {
		b = append(append(b, t.Status...), 0)
	}
	b = append(append(b, t.Department...), 0)
	if t.Status.Open() {
		b = appendTimeKey(b, t.Created)
	} else {
		b = appendTimeKey(b, t.ResolvedAt)
	}
	return append(b, t.Number...)
}

// statusBucket is the bucket of t's entry: bktOpen or bktDone.
func statusBucket(tx *bolt.Tx, t *caunoi.Ticket) *bolt.Bucket {
	if t.Status.Open() {
		return tx.Bucket(bktOpen)
	}
	return tx.Bucket(bktDone)
}

// putStatusIndex adds t to bktOpen or bktDone, as its status says.
func putStatusIndex(tx *bolt.Tx, t *caunoi.Ticket) error {
	return statusBucket(tx, t).Put(statusIndexKey(t), nil)
}

// indexStatuses fills bktOpen and bktDone, both empty, from every ticket.
// The keys are put in order: bbolt splits the nodes of a bucket only when
// the transaction commits, so a key put before others already there moves
// them all, and a file of many tickets would take minutes to index.
func indexStatuses(tx *bolt.Tx) error {
	var open, done [][]byte
	err := tx.Bucket(bktTickets).ForEach(func(_, v []byte) error {
		var t caunoi.Ticket
		if err := codec.Unmarshal(v, &t); err != nil {
			return err
		}
		if t.Status.Open() {
			open = append(open, statusIndexKey(&t))
		} else {
			done = append(done, statusIndexKey(&t))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, idx := range []struct {
		b    *bolt.Bucket
		keys [][]byte
	}{{tx.Bucket(bktOpen), open}, {tx.Bucket(bktDone), done}} {
		slices.SortFunc(idx.keys, bytes.Compare)
		for _, k := range idx.keys {
			if err := idx.b.Put(k, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// eventKey is the key of the event seq of the ticket number in bktEvents:
// the number, a zero byte and seq in 4 bytes.
func eventKey(number []byte, seq uint32) []byte {
	k := make([]byte, len(number)+5)
	copy(k, number)
	binary.BigEndian.PutUint32(k[len(number)+1:], seq)
	return k
}

// lastEventSeq returns the highest event sequence stored for number, or 0.
func lastEventSeq(c *bolt.Cursor, number []byte) int {
	prefix := append(slices.Clip(number), 0)
	last := eventKey(number, math.MaxUint32)
	k, _ := c.Seek(last)
	if k == nil {
		k, _ = c.Last()
	} else if !bytes.Equal(k, last) {
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+4 {
		return 0
	}
	return int(binary.BigEndian.Uint32(k[len(prefix):]))
}
