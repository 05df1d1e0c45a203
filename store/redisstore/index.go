package redisstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	"github.com/redis/go-redis/v9"
)

// Besides the indexes by creation time, every ticket is in exactly one
// index of its status:
//
//   - tix:open:DEPT, the department's open tickets by creation time;
//   - tix:done:STATUS:DEPT, its resolved or closed tickets by ResolvedAt.
//
// The set tix:depts names every department that has had a ticket. So the
// reminders, the digest and the staff's queues read the work in progress,
// and the digest the tickets finished in its day, instead of every ticket
// ever made; and CountTickets counts finished tickets with ZCARD.
//
// Ticket writes keep these indexes in the scripts that store the tickets.
// A store written before they existed gets them from buildIndexes, which
// Open runs; until tix:indexed says they are complete, queries take the
// indexes by creation time as before, and give the same answers.

// deptKeys are the keys of one department's indexes, built once.
type deptKeys struct {
	created, open, resolved, closed string
	name                            any // the department, boxed once for script arguments
}

// deptKeysOf returns the keys of dept's indexes.
func (s *Store) deptKeysOf(dept string) *deptKeys {
	k, _ := s.deptKeys.get(dept, func() (*deptKeys, error) {
		return &deptKeys{
			created:  s.key("tix", "dept", dept),
			open:     s.key("tix", "open", dept),
			resolved: s.key("tix", "done", string(caunoi.StatusResolved), dept),
			closed:   s.key("tix", "done", string(caunoi.StatusClosed), dept),
			name:     dept,
		}, nil
	})
	return k
}

// doneIndex returns the index of dept's finished tickets in st, resolved
// or closed (the statuses that are not Open).
func (s *Store) doneIndex(st caunoi.Status, dept string) string {
	if st == caunoi.StatusClosed {
		return s.deptKeysOf(dept).closed
	}
	return s.deptKeysOf(dept).resolved
}

// statusIndex returns the index of t's status and t's score in it.
func (s *Store) statusIndex(t *caunoi.Ticket) (key, score string) {
	if t.Status.Open() {
		return s.deptKeysOf(t.Department).open, microsArg(t.Created)
	}
	return s.doneIndex(t.Status, t.Department), microsArg(t.ResolvedAt)
}

// indexOp is one change of an index that updateScript makes: ZADD of the
// ticket with score arg ("z"), ZREM of the ticket ("r"), or SADD of arg
// ("s").
type indexOp struct {
	key, op, arg string
}

// indexOps returns the index changes that turn old into cur, or nil when
// cur stays where old is: a claim or a reply, which moves between open
// statuses, changes no index. The fields are compared before any key or
// score is formatted, so that claims and replies, the busiest updates,
// format none. Removals come before additions, so that a key both removes
// and adds the ticket when the ticket stays in it.
func (s *Store) indexOps(old, cur *caunoi.Ticket) []indexOp {
	created := old.Asker != cur.Asker || old.Department != cur.Department || !old.Created.Equal(cur.Created)
	status := old.Status.Open() != cur.Status.Open() ||
		(!cur.Status.Open() && (old.Status != cur.Status || !old.ResolvedAt.Equal(cur.ResolvedAt)))
	if !created && !status {
		return nil
	}
	score := microsArg(cur.Created)
	oldKey, _ := s.statusIndex(old)
	newKey, newScore := s.statusIndex(cur)
	return []indexOp{
		{s.createdIndex, "z", score},
		{s.deptKeysOf(old.Department).created, "r", ""},
		{s.deptKeysOf(cur.Department).created, "z", score},
		{s.askerIndex(old.Asker), "r", ""},
		{s.askerIndex(cur.Asker), "z", score},
		{oldKey, "r", ""},
		{newKey, "z", newScore},
		{s.deptsKey, "s", cur.Department},
	}
}

// indexReady reports whether the indexes of status are complete, as
// tix:indexed says once buildIndexes has run; the answer true is kept.
func (s *Store) indexReady(ctx context.Context) (bool, error) {
	if s.indexed.Load() {
		return true, nil
	}
	n, err := s.c.Exists(ctx, s.indexedKey).Result()
	if err != nil {
		return false, err
	}
	if n == 1 {
		s.indexed.Store(true)
	}
	return n == 1, nil
}

// departments returns dept when it is set, and else every department that
// has had a ticket.
func (s *Store) departments(ctx context.Context, dept string) ([]string, error) {
	if dept != "" {
		return []string{dept}, nil
	}
	return s.c.SMembers(ctx, s.deptsKey).Result()
}

// indexedTickets answers f from the indexes of status, f being OpenOnly or
// FinishedWindow: every entry of the indexes f names, within f's bounds on
// the score, read and filtered with f.Matches, newest first.
func (s *Store) indexedTickets(ctx context.Context, f caunoi.TicketFilter) ([]caunoi.Ticket, error) {
	depts, err := s.departments(ctx, f.Department)
	if err != nil {
		return nil, err
	}
	var indexes []string
	var lo, hi string
	if f.OpenOnly() {
		for _, d := range depts {
			indexes = append(indexes, s.deptKeysOf(d).open)
		}
		lo, hi = scoreBound(f.CreatedAfter, "-inf"), scoreBound(f.CreatedBefore, "+inf")
	} else {
		statuses := slices.Clone(f.Statuses)
		slices.Sort(statuses)
		for _, st := range slices.Compact(statuses) {
			for _, d := range depts {
				indexes = append(indexes, s.doneIndex(st, d))
			}
		}
		lo, hi = scoreBound(f.ResolvedAfter, "-inf"), scoreBound(f.ResolvedBefore, "+inf")
	}
	var out []caunoi.Ticket
	for _, index := range indexes {
		err := s.scanIndex(ctx, s.byScore(index, lo, hi, false), func(t *caunoi.Ticket) bool {
			if f.Matches(*t) {
				out = append(out, *t)
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	return newestFirst(out, f.Limit), nil
}

// scoreBound is the ZRANGEBYSCORE bound of t, or inf when t is zero (no
// bound). The bound includes t; Matches then filters exactly where a
// filter's bound excludes it.
func scoreBound(t time.Time, inf string) string {
	if t.IsZero() {
		return inf
	}
	return microsArg(t)
}

// indexPageFn reads one page of an index's ticket numbers from offset.
type indexPageFn func(ctx context.Context, offset int64) ([]string, error)

// byScore pages through the entries of index with scores in [lo, hi],
// highest first when rev is set.
func (s *Store) byScore(index, lo, hi string, rev bool) indexPageFn {
	return func(ctx context.Context, offset int64) ([]string, error) {
		by := &redis.ZRangeBy{Min: lo, Max: hi, Offset: offset, Count: ticketPage}
		if rev {
			return s.c.ZRevRangeByScore(ctx, index, by).Result()
		}
		return s.c.ZRangeByScore(ctx, index, by).Result()
	}
}

// byRank pages through every entry of index, lowest score first, finding
// each page by rank.
func (s *Store) byRank(index string) indexPageFn {
	return func(ctx context.Context, offset int64) ([]string, error) {
		return s.c.ZRange(ctx, index, offset, offset+ticketPage-1).Result()
	}
}

// scanIndex reads the tickets that page names, ticketPage at a time, and
// calls fn with each that exists, in order, until the index ends or fn
// has returned false by the end of a page.
func (s *Store) scanIndex(ctx context.Context, page indexPageFn, fn func(*caunoi.Ticket) bool) error {
	for offset := int64(0); ; offset += ticketPage {
		numbers, err := page(ctx, offset)
		if err != nil {
			return err
		}
		more := true
		err = s.eachTicket(ctx, numbers, func(t *caunoi.Ticket) {
			if !fn(t) {
				more = false
			}
		})
		if err != nil {
			return err
		}
		if len(numbers) < ticketPage || !more {
			return nil
		}
	}
}

// newestFirst sorts tickets newest first, ties by number descending, and
// cuts them to limit when it is positive.
func newestFirst(out []caunoi.Ticket, limit int) []caunoi.Ticket {
	slices.SortStableFunc(out, func(a, b caunoi.Ticket) int {
		return cmp.Or(b.Created.Compare(a.Created), strings.Compare(b.Number, a.Number))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// countIndexed counts tickets by department and status from the indexes
// of status: the open tickets are read, and the finished ones counted with
// ZCARD.
func (s *Store) countIndexed(ctx context.Context) (map[caunoi.DeptStatus]int, error) {
	depts, err := s.departments(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[caunoi.DeptStatus]int{}
	for _, d := range depts {
		if err := s.scanIndex(ctx, s.byRank(s.deptKeysOf(d).open), countInto(out)); err != nil {
			return nil, err
		}
		for _, st := range []caunoi.Status{caunoi.StatusResolved, caunoi.StatusClosed} {
			n, err := s.c.ZCard(ctx, s.doneIndex(st, d)).Result()
			if err != nil {
				return nil, err
			}
			if n > 0 {
				out[caunoi.DeptStatus{Department: d, Status: st}] = int(n)
			}
		}
	}
	return out, nil
}

// countInto counts each ticket it is given in out, by department and
// status.
func countInto(out map[caunoi.DeptStatus]int) func(*caunoi.Ticket) bool {
	return func(t *caunoi.Ticket) bool {
		out[caunoi.DeptStatus{Department: t.Department, Status: t.Status}]++
		return true
	}
}

// indexPageScript adds tickets to the indexes of their status, each only
// if it is still what the caller read, and returns the positions (from 1)
// of those that changed since, for the caller to read again.
//
// KEYS: schema, tix:depts, then for each ticket its key and its status
// index
// ARGV: schema version, then for each ticket its SHA-1 as read (hex), number, score, department
var indexPageScript = newScript(fence + `
local stale = {}
for i = 1, (#KEYS - 2) / 2 do
  local cur = redis.call('GET', KEYS[2 * i + 1])
  local a = 4 * (i - 1) + 1
  if cur and redis.sha1hex(cur) == ARGV[a + 1] then
    redis.call('ZADD', KEYS[2 * i + 2], ARGV[a + 3], ARGV[a + 2])
    redis.call('SADD', KEYS[2], ARGV[a + 4])
  elseif cur then
    stale[#stale + 1] = i
  end
end
return stale
`)

// IndexProgress is told how many tickets buildIndexes has indexed, of
// about how many.
type IndexProgress func(done, total int64)

// indexLease names the lease of the process that builds the indexes of
// status; it is extended at every page, and a process that finds it held
// waits for the build, or takes over when the holder has stopped.
const (
	indexLease      = "index-status"
	indexLeaseTTL   = 30 * time.Second
	indexLeaseCheck = 500 * time.Millisecond
)

// buildIndexes puts every ticket in the index of its status, for a store
// written before those indexes existed, and then sets tix:indexed. It
// does nothing when tix:indexed is set. One process builds at a time,
// holding indexLease; it first empties the indexes of status (entries an
// older version left behind), then reads the tickets a page at a time and
// indexes each only as it still is (indexPageScript), so it is safe while
// other processes of this version write tickets. Cut short, it starts over
// at the next Open. A process of a version before the key schema, which
// keeps neither these indexes nor the fence (schema.go), must not write
// tickets once they are built: upgrade every such process of a deployment
// together, or delete tix:indexed afterwards to build them again.
func (s *Store) buildIndexes(ctx context.Context, progress IndexProgress) error {
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	owner := hex.EncodeToString(id)
	for {
		if ok, err := s.indexReady(ctx); err != nil || ok {
			return err
		}
		held, err := s.Acquire(ctx, indexLease, owner, indexLeaseTTL)
		if err != nil {
			return err
		}
		if held {
			done, err := s.buildHeld(ctx, owner, progress)
			if err != nil || done {
				return err
			}
			continue // the lease lapsed: another process builds now
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(indexLeaseCheck):
		}
	}
}

// buildHeld builds the indexes of status while owner holds indexLease, and
// reports whether it finished; false means the lease was lost on the way.
func (s *Store) buildHeld(ctx context.Context, owner string, progress IndexProgress) (bool, error) {
	// An unlock that fails leaves a lease that lapses in indexLeaseTTL.
	defer func() { _ = s.Unlock(context.WithoutCancel(ctx), indexLease, owner) }()
	if ok, err := s.indexReady(ctx); err != nil || ok {
		return ok, err
	}
	depts, err := s.departments(ctx, "")
	if err != nil {
		return false, err
	}
	for _, d := range depts {
		k := s.deptKeysOf(d)
		if err := s.c.Del(ctx, k.open, k.resolved, k.closed).Err(); err != nil {
			return false, err
		}
	}
	total, err := s.c.ZCard(ctx, s.createdIndex).Result()
	if err != nil {
		return false, err
	}
	var done int64
	for start := int64(0); ; start += ticketPage {
		if held, err := s.Acquire(ctx, indexLease, owner, indexLeaseTTL); err != nil || !held {
			return false, err
		}
		numbers, err := s.c.ZRange(ctx, s.createdIndex, start, start+ticketPage-1).Result()
		if err != nil {
			return false, err
		}
		page := int64(len(numbers))
		for attempt := 0; len(numbers) > 0; attempt++ {
			if attempt == maxTxAttempts {
				return false, fmt.Errorf("tickets changing too fast to index: %w", caunoi.ErrConflict)
			}
			if numbers, err = s.indexPage(ctx, numbers); err != nil {
				return false, err
			}
		}
		// A ticket created meanwhile is indexed by its creation, and one
		// that moved up in the creation index is indexed twice: no harm.
		done += page
		if progress != nil && done > 0 {
			progress(done, max(total, done))
		}
		if page < ticketPage {
			break
		}
	}
	if err := s.c.Set(ctx, s.indexedKey, "1", 0).Err(); err != nil {
		return false, err
	}
	s.indexed.Store(true)
	return true, nil
}

// indexPage indexes the tickets with numbers and returns the numbers of
// those that changed between the read and the script.
func (s *Store) indexPage(ctx context.Context, numbers []string) ([]string, error) {
	keys := make([]string, len(numbers))
	for i, n := range numbers {
		keys[i] = s.ticketKey(n)
	}
	vals, err := s.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	skeys := []string{s.deptsKey}
	var args []any
	var sent []string
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue // not stored: nothing to index
		}
		var t caunoi.Ticket
		if err := codec.UnmarshalTicketString(raw, &t); err != nil {
			return nil, fmt.Errorf("ticket %s: %w", numbers[i], err)
		}
		key, score := s.statusIndex(&t)
		skeys = append(skeys, keys[i], key)
		sum := sumOfString(raw)
		args = append(args, hex.EncodeToString(sum[:]), numbers[i], score, t.Department)
		sent = append(sent, numbers[i])
	}
	if len(sent) == 0 {
		return nil, nil
	}
	a := s.fencedArgs(indexPageScript, skeys, len(args))
	res, err := s.run(ctx, indexPageScript, append(a, args...)).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var stale []string
	for _, v := range res {
		if i, ok := v.(int64); ok && i >= 1 && int(i) <= len(sent) {
			stale = append(stale, sent[i-1])
		}
	}
	return stale, nil
}
