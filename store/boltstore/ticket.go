package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
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
	old, cur := p.old, p.cur
	if old.Asker != cur.Asker || old.Department != cur.Department || !old.Created.Equal(cur.Created) {
		if err := deleteIndexes(tx, old); err != nil {
			return err
		}
		if err := putIndexes(tx, cur); err != nil {
			return err
		}
	}
	events := tx.Bucket(bktEvents)
	for i, data := range p.events {
		if err := events.Put(eventKey(num, p.seq+i+1), data); err != nil {
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
// descending). It walks the narrowest index: asker, department, or
// creation time.
func (s *Store) Tickets(ctx context.Context, f caunoi.TicketFilter) ([]caunoi.Ticket, error) {
	var out []caunoi.Ticket
	err := s.view(ctx, func(tx *bolt.Tx) error {
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

// CountTickets counts the tickets of each department and status in one
// read transaction, decoding one ticket at a time.
func (s *Store) CountTickets(ctx context.Context) (map[caunoi.DeptStatus]int, error) {
	out := map[caunoi.DeptStatus]int{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		n := 0
		return tx.Bucket(bktTickets).ForEach(func(_, v []byte) error {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var t caunoi.Ticket
			if err := codec.Unmarshal(v, &t); err != nil {
				return err
			}
			out[caunoi.DeptStatus{Department: t.Department, Status: t.Status}]++
			return nil
		})
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

func eventKey(number []byte, seq int) []byte {
	k := make([]byte, len(number)+5)
	copy(k, number)
	binary.BigEndian.PutUint32(k[len(number)+1:], uint32(seq))
	return k
}

// lastEventSeq returns the highest event sequence stored for number, or 0.
func lastEventSeq(c *bolt.Cursor, number []byte) int {
	prefix := append(slices.Clip(number), 0)
	k, _ := c.Seek(eventKey(number, 1<<32-1))
	if k == nil {
		k, _ = c.Last()
	} else if !bytes.Equal(k, eventKey(number, 1<<32-1)) {
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+4 {
		return 0
	}
	return int(binary.BigEndian.Uint32(k[len(prefix):]))
}
