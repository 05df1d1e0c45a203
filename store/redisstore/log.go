package redisstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	"github.com/redis/go-redis/v9"
)

// Keys: q:ID holds a question record, the sorted set q:at indexes records
// by time and q:seq numbers them.

// logScript numbers a new question record and stores it, in one round trip.
// KEYS: the sequence, the time index. ARGV: the prefix of record keys, the
// record's JSON after its empty ID (`{"ID":""`), its time score. The record
// key carries the store's hash tag, as the declared keys do.
var logScript = redis.NewScript(`
local id = 'Q' .. redis.call('INCR', KEYS[1])
redis.call('SET', ARGV[1] .. id, '{"ID":"' .. id .. '"' .. ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], id)
return id
`)

// emptyID is how the JSON of a record without an ID begins.
const emptyID = `{"ID":""`

// LogQuestion stores q, assigning an ID when it has none, and returns it.
func (s *Store) LogQuestion(ctx context.Context, q caunoi.QuestionRecord) (caunoi.QuestionRecord, error) {
	if q.ID == "" {
		data, err := codec.Marshal(q)
		if err != nil {
			return caunoi.QuestionRecord{}, fmt.Errorf("log question: %w", err)
		}
		rest, ok := bytes.CutPrefix(data, []byte(emptyID))
		if !ok {
			return caunoi.QuestionRecord{}, errors.New("log question: the ID is not the first field of the record's JSON")
		}
		id, err := logScript.Run(ctx, s.c, []string{s.key("q", "seq"), s.key("q", "at")},
			s.key("q", ""), rest, micros(q.At)).Text()
		if err != nil {
			return caunoi.QuestionRecord{}, fmt.Errorf("log question: %w", err)
		}
		q.ID = id
		return q, nil
	}
	data, err := codec.Marshal(q)
	if err != nil {
		return caunoi.QuestionRecord{}, fmt.Errorf("log question: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		s.writeQuestion(ctx, p, q, data)
		return nil
	})
	if err != nil {
		return caunoi.QuestionRecord{}, fmt.Errorf("log question: %w", err)
	}
	return q, nil
}

// ReserveQuestionIDs takes n numbers from the question sequence, q:seq,
// and returns the first.
func (s *Store) ReserveQuestionIDs(ctx context.Context, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("reserve question ids: %d of them: %w", n, caunoi.ErrInvalid)
	}
	last, err := s.c.IncrBy(ctx, s.key("q", "seq"), int64(n)).Result()
	if err != nil {
		return 0, fmt.Errorf("reserve question ids: %w", err)
	}
	return last - int64(n) + 1, nil
}

func (s *Store) writeQuestion(ctx context.Context, p redis.Pipeliner, q caunoi.QuestionRecord, data []byte) {
	p.Set(ctx, s.key("q", q.ID), data, 0)
	p.ZAdd(ctx, s.key("q", "at"), redis.Z{Score: micros(q.At), Member: q.ID})
}

// Question returns the record with id, or caunoi.ErrNotFound.
func (s *Store) Question(ctx context.Context, id string) (caunoi.QuestionRecord, error) {
	var q caunoi.QuestionRecord
	if err := getJSON(ctx, s.c, s.key("q", id), &q); err != nil {
		return caunoi.QuestionRecord{}, fmt.Errorf("question %s: %w", id, err)
	}
	return q, nil
}

// UpdateQuestion applies fn to the record in an optimistic transaction. An
// error from fn is returned unchanged and nothing is stored.
func (s *Store) UpdateQuestion(ctx context.Context, id string, fn func(*caunoi.QuestionRecord) error) (caunoi.QuestionRecord, error) {
	k := s.key("q", id)
	var (
		out   caunoi.QuestionRecord
		fnErr error
	)
	err := s.watch(ctx, func(tx *redis.Tx) error {
		fnErr = nil
		var q caunoi.QuestionRecord
		if err := getJSON(ctx, tx, k, &q); err != nil {
			return err
		}
		if err := fn(&q); err != nil {
			fnErr = err
			return err
		}
		q.ID = id
		data, err := codec.Marshal(q)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.writeQuestion(ctx, p, q, data)
			return nil
		})
		out = q
		return err
	}, k)
	if fnErr != nil && err == fnErr {
		return caunoi.QuestionRecord{}, fnErr
	}
	if err != nil {
		return caunoi.QuestionRecord{}, fmt.Errorf("update question %s: %w", id, err)
	}
	return out, nil
}

// Questions lists records with At in [since, until), oldest first.
func (s *Store) Questions(ctx context.Context, since, until time.Time) ([]caunoi.QuestionRecord, error) {
	ids, err := s.c.ZRangeByScore(ctx, s.key("q", "at"), &redis.ZRangeBy{Min: microsArg(since), Max: microsArg(until)}).Result()
	if err != nil {
		return nil, fmt.Errorf("list questions: %w", err)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.key("q", id)
	}
	var out []caunoi.QuestionRecord
	err = mgetJSON(ctx, s.c, keys, func(data string) error {
		var q caunoi.QuestionRecord
		if err := codec.UnmarshalString(data, &q); err != nil {
			return err
		}
		if !q.At.Before(since) && q.At.Before(until) {
			out = append(out, q)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list questions: %w", err)
	}
	slices.SortStableFunc(out, func(a, b caunoi.QuestionRecord) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// pruneScript deletes the oldest records of the time index below a score,
// up to a limit, with their index entries, and returns how many it deleted.
// KEYS: the time index. ARGV: the prefix of record keys, the exclusive
// score bound ("(micros"), the limit.
var pruneScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for i = 1, #ids, 500 do
  local part = {unpack(ids, i, math.min(i + 499, #ids))}
  local keys = {}
  for j, id in ipairs(part) do keys[j] = ARGV[1] .. id end
  redis.call('DEL', unpack(keys))
  redis.call('ZREM', KEYS[1], unpack(part))
end
return #ids
`)

// PruneQuestions deletes up to limit records asked before before (to the
// microsecond the time index keeps), oldest first, with one script.
func (s *Store) PruneQuestions(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, fmt.Errorf("prune questions: a limit of %d: %w", limit, caunoi.ErrInvalid)
	}
	n, err := pruneScript.Run(ctx, s.c, []string{s.key("q", "at")}, s.key("q", ""), "("+microsArg(before), limit).Int()
	if err != nil {
		return 0, fmt.Errorf("prune questions: %w", err)
	}
	return n, nil
}

// Journal keys: the hash j:entries holds pending entries by ID and j:recv
// their receipt times; the sorted set j:pending orders them by ID and
// j:done remembers handled IDs scored by receipt time. Scores hold IDs and
// microsecond times exactly up to 2^53.

func (s *Store) journalKeys() []string {
	return []string{s.key("j", "entries"), s.key("j", "pending"), s.key("j", "done"), s.key("j", "recv")}
}

// appendScript adds an entry unless its ID is pending or done, so that
// replicas receiving the same update store it once.
// ARGV: id, entry JSON, received (µs)
var appendScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
return 1
`)

// doneScript moves an entry from pending to done; it returns 0 for an
// unknown ID. ARGV: id
var doneScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 1 end
  return 0
end
local received = redis.call('HGET', KEYS[4], ARGV[1]) or '0'
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], received, ARGV[1])
return 1
`)

// Append stores e unless its ID is pending or remembered as done.
func (s *Store) Append(ctx context.Context, e caunoi.JournalEntry) (bool, error) {
	data, err := codec.Marshal(e)
	if err != nil {
		return false, fmt.Errorf("journal update %d: %w", e.ID, err)
	}
	n, err := appendScript.Run(ctx, s.c, s.journalKeys(), e.ID, data, microsArg(e.Received)).Int()
	if err != nil {
		return false, fmt.Errorf("journal update %d: %w", e.ID, err)
	}
	return n == 1, nil
}

// Pending returns up to limit entries not yet done, by ID.
func (s *Store) Pending(ctx context.Context, limit int) ([]caunoi.JournalEntry, error) {
	keys := s.journalKeys()
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit) - 1
	}
	ids, err := s.c.ZRange(ctx, keys[1], 0, stop).Result()
	if err != nil || len(ids) == 0 {
		if err != nil {
			return nil, fmt.Errorf("pending updates: %w", err)
		}
		return nil, nil
	}
	vals, err := s.c.HMGet(ctx, keys[0], ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("pending updates: %w", err)
	}
	out := make([]caunoi.JournalEntry, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // marked done between the two reads
		}
		var e caunoi.JournalEntry
		if err := codec.UnmarshalString(str, &e); err != nil {
			return nil, fmt.Errorf("pending updates: %w", err)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b caunoi.JournalEntry) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Done marks the entry handled and remembers its ID until Prune. Marking a
// done entry again is a no-op; an unknown ID is caunoi.ErrNotFound.
func (s *Store) Done(ctx context.Context, id int64) error {
	n, err := doneScript.Run(ctx, s.c, s.journalKeys(), id).Int()
	if err == nil && n == 0 {
		err = caunoi.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("journal done %d: %w", id, err)
	}
	return nil
}

// Prune forgets done entries received before before (to the microsecond).
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	err := s.c.ZRemRangeByScore(ctx, s.key("j", "done"), "-inf", "("+microsArg(before)).Err()
	if err != nil {
		return fmt.Errorf("prune journal: %w", err)
	}
	return s.PruneSent(ctx, before)
}
