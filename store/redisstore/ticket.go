package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/caunoi/caunoi"
	"github.com/redis/go-redis/v9"
)

// Keys: t:NUMBER holds a ticket and ev:NUMBER its timeline (a list);
// idem:KEY maps an idempotency key to a number; seq:PREFIX:YEAR counts; the
// sorted sets tix:created, tix:dept:CODE and tix:asker:ID index tickets by
// creation time in microseconds.

// createScript stores a new ticket unless its idempotency key (the optional
// sixth key) already names one; it returns the number of the ticket that
// holds the key.
//
// KEYS: ticket, events, tix:created, tix:dept, tix:asker[, idem]
// ARGV: number, ticket JSON, event JSON, score
var createScript = redis.NewScript(`
if #KEYS == 6 then
  local existing = redis.call('GET', KEYS[6])
  if existing then return existing end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('ticket ' .. ARGV[1] .. ' exists')
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
if #KEYS == 6 then redis.call('SET', KEYS[6], ARGV[1]) end
return ARGV[1]
`)

// reserveScript returns {number, 0} when the idempotency key names a ticket,
// else {"", the next sequence}. KEYS: idem, seq
var reserveScript = redis.NewScript(`
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 0} end
return {'', redis.call('INCR', KEYS[2])}
`)

func (s *Store) ticketKey(number string) string { return s.key("t", number) }
func (s *Store) eventsKey(number string) string { return s.key("ev", number) }
func (s *Store) deptIndex(dept string) string   { return s.key("tix", "dept", dept) }
func (s *Store) askerIndex(a caunoi.UserID) string {
	return s.key("tix", "asker", strconv.FormatInt(int64(a), 10))
}

// CreateTicket stores t with ev as its first event, numbering it from
// prefix, the year of t.Created and INCR on seq:PREFIX:YEAR. A set IdemKey
// that was used before returns the earlier ticket with created=false. When
// two calls race with one key, the loser's sequence number is not used.
func (s *Store) CreateTicket(ctx context.Context, prefix string, t caunoi.Ticket, ev caunoi.Event) (caunoi.Ticket, bool, error) {
	if prefix == "" {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: empty prefix: %w", caunoi.ErrInvalid)
	}
	year := t.Created.Year()
	seq := s.key("seq", prefix, strconv.Itoa(year))
	idem := ""
	var n int64
	if t.IdemKey == "" {
		var err error
		if n, err = s.rdb.Incr(ctx, seq).Result(); err != nil {
			return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
		}
	} else {
		// One round trip: the earlier ticket's number, or a new sequence.
		idem = s.key("idem", t.IdemKey)
		res, err := reserveScript.Run(ctx, s.rdb, []string{idem, seq}).Slice()
		if err == nil && len(res) != 2 {
			err = fmt.Errorf("unexpected reply %v", res)
		}
		if err != nil {
			return caunoi.Ticket{}, false, fmt.Errorf("create ticket: reserve a number: %w", err)
		}
		if existing, ok := res[0].(string); ok && existing != "" {
			got, err := s.Ticket(ctx, existing)
			if err != nil {
				return caunoi.Ticket{}, false, fmt.Errorf("create ticket: earlier %w", err)
			}
			return got, false, nil
		}
		n, _ = res[1].(int64)
	}
	t.Number = fmt.Sprintf("%s-%04d-%06d", prefix, year, n)
	ev.Ticket, ev.Seq = t.Number, 1
	tdata, err := encode(t)
	if err != nil {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	edata, err := encode(ev)
	if err != nil {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	keys := []string{s.ticketKey(t.Number), s.eventsKey(t.Number), s.key("tix", "created"), s.deptIndex(t.Department), s.askerIndex(t.Asker)}
	if idem != "" {
		keys = append(keys, idem)
	}
	holder, err := createScript.Run(ctx, s.rdb, keys, t.Number, tdata, edata, microsArg(t.Created)).Text()
	if err != nil {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	if holder != t.Number {
		got, err := s.Ticket(ctx, holder)
		if err != nil {
			return caunoi.Ticket{}, false, fmt.Errorf("create ticket: earlier %w", err)
		}
		return got, false, nil
	}
	return t, true, nil
}

// Ticket returns the ticket with number, or caunoi.ErrNotFound.
func (s *Store) Ticket(ctx context.Context, number string) (caunoi.Ticket, error) {
	var t caunoi.Ticket
	if err := getJSON(ctx, s.rdb, s.ticketKey(number), &t); err != nil {
		return caunoi.Ticket{}, fmt.Errorf("ticket %s: %w", number, err)
	}
	return t, nil
}

// UpdateTicket applies fn to the current ticket in an optimistic
// transaction: WATCH the ticket, run fn, then MULTI/EXEC the ticket, its new
// events and any index changes; retried when another writer got there
// first. An error from fn is returned unchanged and nothing is stored.
func (s *Store) UpdateTicket(ctx context.Context, number string, fn func(*caunoi.Ticket) ([]caunoi.Event, error)) (caunoi.Ticket, error) {
	tk, ek := s.ticketKey(number), s.eventsKey(number)
	var (
		out   caunoi.Ticket
		fnErr error
	)
	err := s.watch(ctx, func(tx *redis.Tx) error {
		fnErr = nil
		// Read the ticket and the length of its timeline in one round trip.
		var (
			get  *redis.StringCmd
			llen *redis.IntCmd
		)
		_, err := tx.Pipelined(ctx, func(p redis.Pipeliner) error {
			get, llen = p.Get(ctx, tk), p.LLen(ctx, ek)
			return nil
		})
		if errors.Is(err, redis.Nil) {
			return caunoi.ErrNotFound
		}
		if err != nil {
			return err
		}
		raw, _ := get.Bytes()
		var old, cur caunoi.Ticket
		if err := json.Unmarshal(raw, &old); err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &cur); err != nil {
			return err
		}
		evs, err := fn(&cur)
		if err != nil {
			fnErr = err
			return err
		}
		cur.Number = number
		tdata, err := encode(cur)
		if err != nil {
			return err
		}
		var evData []any
		if len(evs) > 0 {
			n := llen.Val()
			for i, e := range evs {
				e.Ticket, e.Seq = number, int(n)+i+1
				data, err := encode(e)
				if err != nil {
					return err
				}
				evData = append(evData, data)
			}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, tk, tdata, 0)
			if len(evData) > 0 {
				p.RPush(ctx, ek, evData...)
			}
			if !old.Created.Equal(cur.Created) {
				p.ZAdd(ctx, s.key("tix", "created"), redis.Z{Score: micros(cur.Created), Member: number})
			}
			if old.Department != cur.Department || !old.Created.Equal(cur.Created) {
				p.ZRem(ctx, s.deptIndex(old.Department), number)
				p.ZAdd(ctx, s.deptIndex(cur.Department), redis.Z{Score: micros(cur.Created), Member: number})
			}
			if old.Asker != cur.Asker || !old.Created.Equal(cur.Created) {
				p.ZRem(ctx, s.askerIndex(old.Asker), number)
				p.ZAdd(ctx, s.askerIndex(cur.Asker), redis.Z{Score: micros(cur.Created), Member: number})
			}
			return nil
		})
		out = cur
		return err
	}, tk)
	if fnErr != nil && err == fnErr {
		return caunoi.Ticket{}, fnErr
	}
	if err != nil {
		return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
	}
	return out, nil
}

// Events returns the ticket's timeline in order, or caunoi.ErrNotFound.
func (s *Store) Events(ctx context.Context, number string) ([]caunoi.Event, error) {
	var (
		exists *redis.IntCmd
		list   *redis.StringSliceCmd
	)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, s.ticketKey(number))
		list = p.LRange(ctx, s.eventsKey(number), 0, -1)
		return nil
	})
	if err == nil && exists.Val() == 0 {
		err = caunoi.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("events of ticket %s: %w", number, err)
	}
	out := make([]caunoi.Event, len(list.Val()))
	for i, v := range list.Val() {
		if err := json.Unmarshal([]byte(v), &out[i]); err != nil {
			return nil, fmt.Errorf("events of ticket %s: %w", number, err)
		}
	}
	return out, nil
}

// ticketPage is how many index entries Tickets reads at a time.
const ticketPage = 256

// Tickets lists tickets matching f, newest first (ties by number,
// descending). It pages through the narrowest index: asker, department, or
// creation time.
func (s *Store) Tickets(ctx context.Context, f caunoi.TicketFilter) ([]caunoi.Ticket, error) {
	index := s.key("tix", "created")
	switch {
	case f.Asker != 0:
		index = s.askerIndex(f.Asker)
	case f.Department != "":
		index = s.deptIndex(f.Department)
	}
	lo, hi := "-inf", "+inf"
	if !f.CreatedAfter.IsZero() {
		lo = microsArg(f.CreatedAfter)
	}
	if !f.CreatedBefore.IsZero() {
		hi = microsArg(f.CreatedBefore) // inclusive here; filtered exactly below
	}
	var out []caunoi.Ticket
	for offset := int64(0); ; offset += ticketPage {
		numbers, err := s.rdb.ZRevRangeByScore(ctx, index, &redis.ZRangeBy{Min: lo, Max: hi, Offset: offset, Count: ticketPage}).Result()
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
		keys := make([]string, len(numbers))
		for i, n := range numbers {
			keys[i] = s.ticketKey(n)
		}
		err = mgetJSON(ctx, s.rdb, keys, func(data []byte) error {
			var t caunoi.Ticket
			if err := json.Unmarshal(data, &t); err != nil {
				return err
			}
			if f.Matches(t) {
				out = append(out, t)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
		if len(numbers) < ticketPage || (f.Limit > 0 && len(out) >= f.Limit) {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b caunoi.Ticket) int {
		return cmp.Or(b.Created.Compare(a.Created), strings.Compare(b.Number, a.Number))
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}
