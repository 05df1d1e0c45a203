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

// updateScript stores an updated ticket if the ticket and the length of its
// timeline are still what the caller read; otherwise it stores nothing and
// returns {current ticket, current length}, so that the caller can try again
// without another read. It returns nil when the ticket does not exist and 1
// when it stored. Which change to make is decided in Go; the script only
// checks and writes.
//
// KEYS: ticket, events, tix:created, old tix:dept, new tix:dept,
// old tix:asker, new tix:asker
// ARGV: expected ticket, expected length, new ticket, number, score,
// reindex ("1" or "0"), new events...
var updateScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return false end
local n = redis.call('LLEN', KEYS[2])
if cur ~= ARGV[1] or n ~= tonumber(ARGV[2]) then return {cur, n} end
redis.call('SET', KEYS[1], ARGV[3])
if #ARGV > 6 then redis.call('RPUSH', KEYS[2], unpack(ARGV, 7)) end
if ARGV[6] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
  redis.call('ZREM', KEYS[4], ARGV[4])
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[4])
  redis.call('ZREM', KEYS[6], ARGV[4])
  redis.call('ZADD', KEYS[7], ARGV[5], ARGV[4])
end
return 1
`)

// UpdateTicket applies fn to the current ticket and stores the result, its
// new events and any index changes with one script, which first checks that
// the ticket and its timeline are unchanged since they were read. A normal
// update is two round trips: one read (the ticket and the length of its
// timeline) and the script. When another writer got there first, the script
// hands back the current state and fn runs again on it, up to
// maxTxAttempts times; then the update fails with caunoi.ErrConflict. An
// error from fn is returned unchanged and nothing is stored.
func (s *Store) UpdateTicket(ctx context.Context, number string, fn func(*caunoi.Ticket) ([]caunoi.Event, error)) (caunoi.Ticket, error) {
	tk, ek := s.ticketKey(number), s.eventsKey(number)
	var (
		get  *redis.StringCmd
		llen *redis.IntCmd
	)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get, llen = p.Get(ctx, tk), p.LLen(ctx, ek)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		err = caunoi.ErrNotFound
	}
	if err != nil {
		return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
	}
	raw, n := get.Val(), llen.Val()
	for range maxTxAttempts {
		var old, cur caunoi.Ticket
		if err := json.Unmarshal([]byte(raw), &old); err != nil {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
		}
		cur = old
		// fn may change the slices in place; give it copies.
		cur.Results = slices.Clone(old.Results)
		cur.Attachments = slices.Clone(old.Attachments)
		cur.Applied = slices.Clone(old.Applied)
		evs, err := fn(&cur)
		if err != nil {
			return caunoi.Ticket{}, err
		}
		cur.Number = number
		args, err := updateArgs(raw, n, old, cur, evs)
		if err != nil {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
		}
		keys := []string{tk, ek, s.key("tix", "created"),
			s.deptIndex(old.Department), s.deptIndex(cur.Department),
			s.askerIndex(old.Asker), s.askerIndex(cur.Asker)}
		res, err := updateScript.Run(ctx, s.rdb, keys, args...).Result()
		if errors.Is(err, redis.Nil) {
			err = caunoi.ErrNotFound
		}
		if err != nil {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
		}
		if ok, _ := res.(int64); ok == 1 {
			return cur, nil
		}
		// Another writer got there first: try again on what it stored.
		state, _ := res.([]any)
		if len(state) != 2 {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: unexpected reply %v", number, res)
		}
		raw, _ = state[0].(string)
		n, _ = state[1].(int64)
		if err := ctx.Err(); err != nil {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
		}
	}
	return caunoi.Ticket{}, fmt.Errorf("update ticket %s: gave up after %d attempts under contention: %w", number, maxTxAttempts, caunoi.ErrConflict)
}

// updateArgs returns updateScript's ARGV for changing old (stored as raw,
// with n events) into cur and appending evs.
func updateArgs(raw string, n int64, old, cur caunoi.Ticket, evs []caunoi.Event) ([]any, error) {
	tdata, err := encode(cur)
	if err != nil {
		return nil, err
	}
	reindex := "0"
	if old.Asker != cur.Asker || old.Department != cur.Department || !old.Created.Equal(cur.Created) {
		reindex = "1"
	}
	args := make([]any, 0, 6+len(evs))
	args = append(args, raw, n, tdata, cur.Number, microsArg(cur.Created), reindex)
	for i, e := range evs {
		e.Ticket, e.Seq = cur.Number, int(n)+i+1
		data, err := encode(e)
		if err != nil {
			return nil, err
		}
		args = append(args, data)
	}
	return args, nil
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
