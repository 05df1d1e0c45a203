package redisstore

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	"github.com/redis/go-redis/v9"
)

// Keys: t:NUMBER holds a ticket and ev:NUMBER its timeline (a list);
// idem:KEY maps an idempotency key to a number; seq:PREFIX:YEAR counts; the
// sorted sets tix:created, tix:dept:CODE and tix:asker:ID index tickets by
// creation time in microseconds, and tix:open:CODE and tix:done:STATUS:CODE
// by status (index.go).

// createScript takes the next sequence number and stores a new ticket with
// it, unless its idempotency key (the optional eighth key) already names a
// ticket, in one round trip. It returns {1, number} when it stored and
// {0, ticket JSON} when the key named an earlier ticket.
//
// The number is not known before the script runs, so the keys of the ticket
// and of its timeline are built here from ARGV[1] and ARGV[2]. They carry the
// store's hash tag, as the declared keys do, so they live in the same slot
// and Redis Cluster runs the script on the node that holds them.
//
// The script formats nothing but the six-digit sequence: Go sends the
// number's prefix ("TP-2025-") raw and JSON-escaped, and the ticket and
// event JSON split where the number goes.
//
// KEYS: schema, seq, tix:created, tix:dept, tix:asker, index of the
// status, tix:depts[, idem]
// ARGV: schema version, ticket key prefix, events key prefix, number prefix, number prefix
// in JSON, ticket JSON before and after the number, event JSON before and
// after the number, score, score in the index of the status, department
var createScript = newScript(fence + `
if #KEYS == 8 then
  local existing = redis.call('GET', KEYS[8])
  if existing then
    local t = redis.call('GET', ARGV[2] .. existing)
    if not t then return redis.error_reply('ticket ' .. existing .. ' of the idempotency key is missing') end
    return {0, t}
  end
end
local seq = string.format('%06d', redis.call('INCR', KEYS[2]))
local number = ARGV[4] .. seq
local tk = ARGV[2] .. number
if redis.call('EXISTS', tk) == 1 then
  return redis.error_reply('ticket ' .. number .. ' exists')
end
redis.call('SET', tk, ARGV[6] .. ARGV[5] .. seq .. ARGV[7])
redis.call('RPUSH', ARGV[3] .. number, ARGV[8] .. ARGV[5] .. seq .. ARGV[9])
redis.call('ZADD', KEYS[3], ARGV[10], number)
redis.call('ZADD', KEYS[4], ARGV[10], number)
redis.call('ZADD', KEYS[5], ARGV[10], number)
redis.call('ZADD', KEYS[6], ARGV[11], number)
redis.call('SADD', KEYS[7], ARGV[12])
if #KEYS == 8 then redis.call('SET', KEYS[8], number) end
return {1, number}
`)

func (s *Store) ticketKey(number string) string { return s.key("t", number) }
func (s *Store) eventsKey(number string) string { return s.key("ev", number) }
func (s *Store) askerIndex(a caunoi.UserID) string {
	return s.key("tix", "asker", strconv.FormatInt(int64(a), 10))
}

// CreateTicket stores t with ev as its first event in one round trip,
// numbering it from prefix, the year of t.Created and INCR on
// seq:PREFIX:YEAR. A set IdemKey that was used before returns the earlier
// ticket with created=false and takes no number.
func (s *Store) CreateTicket(ctx context.Context, prefix string, t caunoi.Ticket, ev caunoi.Event) (caunoi.Ticket, bool, error) {
	if prefix == "" {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: empty prefix: %w", caunoi.ErrInvalid)
	}
	num, err := s.numberingOf(prefix, t.Created.Year())
	if err != nil {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	numPrefix, esc := num.prefix, num.esc
	// Both records are encoded once, numbered with six zeros, into buffers
	// this process reuses; the script puts the real digits in, and Go does
	// the same to learn the digest of what Redis stored.
	t.Number = num.zero
	ev.Ticket, ev.Seq = t.Number, 1
	tbuf, ebuf := getBuf(), getBuf()
	tdata, err := codec.AppendTicket(*tbuf, &t)
	if err != nil {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	defer putBuf(tbuf, tdata)
	edata, err := codec.AppendEvent(*ebuf, &ev)
	if err != nil {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	defer putBuf(ebuf, edata)
	tAt, ok1 := seqAt(tdata, `{"Number":"`, esc)
	eAt, ok2 := seqAt(edata, `{"Ticket":"`, esc)
	if !ok1 || !ok2 {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: the encoded ticket or event does not begin with its number")
	}
	dk := s.deptKeysOf(t.Department)
	score := microsArg(t.Created)
	statusKey, statusScore := dk.open, score
	if !t.Status.Open() {
		statusKey, statusScore = s.statusIndex(&t)
	}
	keys := []string{num.seqKey, s.createdIndex, dk.created, s.askerIndex(t.Asker), statusKey, s.deptsKey}
	if t.IdemKey != "" {
		keys = append(keys, s.key("idem", t.IdemKey))
	}
	a := s.fencedArgs(createScript, keys, 11)
	a = append(a, s.ticketKeyPrefix, s.eventsKeyPrefix, numPrefix, esc,
		tdata[:tAt-len(esc)], tdata[tAt+len(zeroSeq):], edata[:eAt-len(esc)], edata[eAt+len(zeroSeq):],
		score, statusScore, dk.name)
	res, err := s.run(ctx, createScript, a).Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if err != nil {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: %w", err)
	}
	val, _ := res[1].(string)
	if created, _ := res[0].(int64); created == 0 {
		var got caunoi.Ticket
		if err := codec.UnmarshalTicketString(val, &got); err != nil {
			return caunoi.Ticket{}, false, fmt.Errorf("create ticket: earlier ticket: %w", err)
		}
		return got, false, nil
	}
	if !strings.HasPrefix(val, numPrefix) {
		return caunoi.Ticket{}, false, fmt.Errorf("create ticket: unexpected number %q", val)
	}
	t.Number = val
	seq := val[len(numPrefix):]
	st := ticketState{n: 1, t: t}
	if len(seq) == len(zeroSeq) {
		copy(tdata[tAt:], seq) // Redis has the bytes: the script has returned
		st.sum = sha1.Sum(tdata)
	} else { // a millionth ticket of the year: the number is longer
		st.sum = sumOfString(string(tdata[:tAt]) + seq + string(tdata[tAt+len(zeroSeq):]))
	}
	s.tickets.put(val, st)
	return t, true, nil
}

// numbering is what numbering a department's tickets of a year needs: the
// number prefix ("TP-2025-"), the prefix JSON-escaped, a number of six
// zeros, and the key of the sequence.
type numbering struct {
	prefix, zero, seqKey string
	esc                  []byte
}

type numberingKey struct {
	prefix string
	year   int
}

// numberingOf returns the numbering of prefix in year.
func (s *Store) numberingOf(prefix string, year int) (*numbering, error) {
	return s.numbering.get(numberingKey{prefix, year}, func() (*numbering, error) {
		n := &numbering{prefix: fmt.Sprintf("%s-%04d-", prefix, year)}
		quoted, err := codec.Marshal(n.prefix)
		if err != nil {
			return nil, err
		}
		n.esc = quoted[1 : len(quoted)-1]
		n.zero = n.prefix + zeroSeq
		n.seqKey = s.key("seq", prefix, strconv.Itoa(year))
		return n, nil
	})
}

// zeroSeq stands for a ticket's sequence number in its encoding until the
// number is known: six digits, as the script formats every number below a
// million.
const zeroSeq = "000000"

// seqAt returns where zeroSeq begins in data, the encoding of a ticket or
// an event whose number is the prefix esc (JSON-escaped) followed by
// zeroSeq, and whose encoding begins with head and the number.
func seqAt(data []byte, head string, esc []byte) (int, bool) {
	at := len(head) + len(esc)
	ok := len(data) >= at+len(zeroSeq) && string(data[:len(head)]) == head &&
		string(data[len(head):at]) == string(esc) && string(data[at:at+len(zeroSeq)]) == zeroSeq
	return at, ok
}

// Ticket returns the ticket with number, or caunoi.ErrNotFound.
func (s *Store) Ticket(ctx context.Context, number string) (caunoi.Ticket, error) {
	var t caunoi.Ticket
	if err := getJSON(ctx, s.c, s.ticketKey(number), &t); err != nil {
		return caunoi.Ticket{}, fmt.Errorf("ticket %s: %w", number, err)
	}
	return t, nil
}

// updateScript stores an updated ticket if the ticket and the length of its
// timeline are still what the caller read; otherwise it stores nothing and
// returns {current ticket, current length}, so that the caller can try again
// without another read. It returns nil when the ticket does not exist and 1
// when it stored. Which change to make is decided in Go; the script only
// checks and writes, index changes included (indexOps).
//
// KEYS: schema, ticket, events, then the key of each index change
// ARGV: schema version, SHA-1 of the expected ticket (hex), expected length, new ticket,
// number, count of index changes, for each its operation and argument, new
// events...
var updateScript = newScript(fence + `
local cur = redis.call('GET', KEYS[2])
if not cur then return false end
local n = redis.call('LLEN', KEYS[3])
if redis.sha1hex(cur) ~= ARGV[2] or n ~= tonumber(ARGV[3]) then return {cur, n} end
redis.call('SET', KEYS[2], ARGV[4])
local ops = tonumber(ARGV[6])
for i = 1, ops do
  local key, op, arg = KEYS[3 + i], ARGV[5 + 2 * i], ARGV[6 + 2 * i]
  if op == 'z' then redis.call('ZADD', key, arg, ARGV[5])
  elseif op == 'r' then redis.call('ZREM', key, ARGV[5])
  else redis.call('SADD', key, arg) end
end
if #ARGV > 6 + 2 * ops then redis.call('RPUSH', KEYS[3], unpack(ARGV, 7 + 2 * ops)) end
return 1
`)

// UpdateTicket applies fn to the current ticket and stores the result, its
// new events and any index changes with one script, which first checks that
// the ticket and the length of its timeline are what fn saw. When this
// process wrote the ticket recently, fn starts from what it wrote and the
// update is one round trip; otherwise a read comes first. When another
// writer got there first, the script hands back the current state and fn
// runs again on it, up to maxTxAttempts times; then the update fails with
// caunoi.ErrConflict. An error from fn on a state that was not just read
// from Redis sends fn to the current state; an error on the current state
// is returned unchanged, and nothing is stored.
func (s *Store) UpdateTicket(ctx context.Context, number string, fn func(*caunoi.Ticket) ([]caunoi.Event, error)) (caunoi.Ticket, error) {
	tk, ek := s.ticketKey(number), s.eventsKey(number)
	st, cached := s.tickets.get(number)
	fresh := !cached // st was read from Redis in this call
	if fresh {
		var err error
		if st, err = s.readTicket(ctx, number, tk, ek); err != nil {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
		}
	}
	for range maxTxAttempts {
		// st.t is this call's own (a fresh read, or the cache's copy) and
		// only its scalar fields are looked at after fn: fn may change it.
		p := ticketPool.Get().(*caunoi.Ticket)
		*p = st.t
		evs, err := fn(p)
		cur := *p
		*p = caunoi.Ticket{}
		ticketPool.Put(p)
		if err != nil {
			if fresh {
				return caunoi.Ticket{}, err
			}
			if st, err = s.readTicket(ctx, number, tk, ek); err != nil {
				return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
			}
			fresh = true
			continue
		}
		cur.Number = number
		ops := s.indexOps(&st.t, &cur)
		buf := getBuf()
		keys := []string{tk, ek}
		for _, op := range ops {
			keys = append(keys, op.key)
		}
		data, tlen, args, err := updateArgs(*buf, s.fencedArgs(updateScript, keys, 5+2*len(ops)+len(evs)), &st, &cur, ops, evs)
		if err != nil {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
		}
		res, err := s.run(ctx, updateScript, args).Result()
		// The script has returned: Redis has the bytes, and the buffer is
		// free once the digest of the ticket's JSON is taken.
		sum := sha1.Sum(data[:tlen])
		putBuf(buf, data)
		if errors.Is(err, redis.Nil) {
			s.tickets.forget(number)
			err = caunoi.ErrNotFound
		}
		if err != nil {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
		}
		if ok, _ := res.(int64); ok == 1 {
			s.tickets.put(number, ticketState{sum: sum, n: st.n + int64(len(evs)), t: cur})
			return cur, nil
		}
		// Another writer got there first: try again on what it stored.
		reply, _ := res.([]any)
		if len(reply) != 2 {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: unexpected reply %v", number, res)
		}
		raw, _ := reply[0].(string)
		n, _ := reply[1].(int64)
		if st, err = decodeState(raw, n); err != nil {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
		}
		fresh = true
		if err := ctx.Err(); err != nil {
			return caunoi.Ticket{}, fmt.Errorf("update ticket %s: %w", number, err)
		}
	}
	return caunoi.Ticket{}, fmt.Errorf("update ticket %s: gave up after %d attempts under contention: %w", number, maxTxAttempts, caunoi.ErrConflict)
}

// ticketPool holds the tickets UpdateTicket hands to its callback: a
// ticket passed to a function value goes to the heap, one allocation per
// update otherwise. The callback must not keep the pointer (caunoi.Store
// says so).
var ticketPool = sync.Pool{New: func() any { return new(caunoi.Ticket) }}

// readTicket reads the ticket (at key tk) and the length of its timeline
// (at ek) in one round trip, or returns caunoi.ErrNotFound.
func (s *Store) readTicket(ctx context.Context, number, tk, ek string) (ticketState, error) {
	res, err := s.run(ctx, readScript, readScript.args([]string{tk, ek}, 0)).Slice()
	if errors.Is(err, redis.Nil) {
		s.tickets.forget(number)
		return ticketState{}, caunoi.ErrNotFound
	}
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if err != nil {
		return ticketState{}, err
	}
	raw, _ := res[0].(string)
	n, _ := res[1].(int64)
	return decodeState(raw, n)
}

// readScript returns {ticket, length of its timeline}, or nil when the
// ticket does not exist: the state updateScript checks, in one command.
//
// KEYS: ticket, events
var readScript = newScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return false end
return {cur, redis.call('LLEN', KEYS[2])}
`)

// decodeState is the state of a ticket whose JSON Redis holds as raw, with
// a timeline of n events.
func decodeState(raw string, n int64) (ticketState, error) {
	st := ticketState{sum: sumOfString(raw), n: n}
	if err := codec.UnmarshalTicketString(raw, &st.t); err != nil {
		return ticketState{}, err
	}
	return st, nil
}

// updateArgs appends to args updateScript's ARGV for changing the stored
// state st into cur, making the index changes ops, and appending evs. The
// JSON of cur and of the events is appended to buf and returned, the
// ticket's first tlen bytes; the arguments view it.
func updateArgs(buf []byte, args []any, st *ticketState, cur *caunoi.Ticket, ops []indexOp, evs []caunoi.Event) (data []byte, tlen int, _ []any, err error) {
	if data, err = codec.AppendTicket(buf, cur); err != nil {
		return nil, 0, nil, err
	}
	tlen = len(data)
	args = append(args, st.hexSum(), st.n, data[:tlen], cur.Number, len(ops))
	for _, op := range ops {
		args = append(args, op.op, op.arg)
	}
	// An event appended later may move data to a larger array; the
	// arguments taken before keep viewing the old one, whose bytes stay.
	var e caunoi.Event // one copy for all, with the number and place filled in
	for i := range evs {
		e = evs[i]
		e.Ticket, e.Seq = cur.Number, int(st.n)+i+1
		start := len(data)
		if data, err = codec.AppendEvent(data, &e); err != nil {
			return nil, 0, nil, err
		}
		args = append(args, data[start:])
	}
	return data, tlen, args, nil
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
		if err := codec.UnmarshalString(v, &out[i]); err != nil {
			return nil, fmt.Errorf("events of ticket %s: %w", number, err)
		}
	}
	return out, nil
}

// CountTickets counts the tickets of each department and status: from the
// indexes of status when they are complete (the open tickets read, the
// finished counted), and else by reading every ticket, ticketPage at a
// time, oldest first.
func (s *Store) CountTickets(ctx context.Context) (map[caunoi.DeptStatus]int, error) {
	ok, err := s.indexReady(ctx)
	if ok {
		var out map[caunoi.DeptStatus]int
		if out, err = s.countIndexed(ctx); err == nil {
			return out, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("count tickets: %w", err)
	}
	out := map[caunoi.DeptStatus]int{}
	if err := s.scanIndex(ctx, s.byRank(s.createdIndex), countInto(out)); err != nil {
		return nil, fmt.Errorf("count tickets: %w", err)
	}
	return out, nil
}

// eachTicket reads the tickets with numbers (a round trip per 500) and
// calls fn with each that exists, in order.
func (s *Store) eachTicket(ctx context.Context, numbers []string, fn func(*caunoi.Ticket)) error {
	keys := make([]string, len(numbers))
	for i, n := range numbers {
		keys[i] = s.ticketKey(n)
	}
	return mgetJSON(ctx, s.c, keys, func(data string) error {
		var t caunoi.Ticket
		if err := codec.UnmarshalString(data, &t); err != nil {
			return err
		}
		fn(&t)
		return nil
	})
}

// ticketPage is how many index entries scanIndex, and the build of the
// indexes of status, read at a time.
const ticketPage = 256

// Tickets lists tickets matching f, newest first (ties by number,
// descending). It pages through the narrowest index: asker; the open
// tickets, or those finished in a window, when f asks only for them and
// the indexes of status are complete; department; or creation time.
func (s *Store) Tickets(ctx context.Context, f caunoi.TicketFilter) ([]caunoi.Ticket, error) {
	if f.Asker == 0 && (f.OpenOnly() || f.FinishedWindow()) {
		ok, err := s.indexReady(ctx)
		if ok {
			var out []caunoi.Ticket
			if out, err = s.indexedTickets(ctx, f); err == nil {
				return out, nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
	}
	index := s.createdIndex
	switch {
	case f.Asker != 0:
		index = s.askerIndex(f.Asker)
	case f.Department != "":
		index = s.deptKeysOf(f.Department).created
	}
	lo, hi := scoreBound(f.CreatedAfter, "-inf"), scoreBound(f.CreatedBefore, "+inf")
	var out []caunoi.Ticket
	err := s.scanIndex(ctx, s.byScore(index, lo, hi, true), func(t *caunoi.Ticket) bool {
		if f.Matches(*t) {
			out = append(out, *t)
		}
		return f.Limit <= 0 || len(out) < f.Limit
	})
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	return newestFirst(out, f.Limit), nil
}
