package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	"github.com/redis/go-redis/v9"
)

// The outbox lives in a fixed set of keys, which every script declares:
//
//	outbox:fifo  sorted set, all scores 0, members chat|created|key: each
//	             chat's FIFO, oldest first, in lexical order
//	outbox:due   sorted set of chat heads, members created|chat|key, scored
//	             by the head's NotBefore (µs)
//	outbox:head  hash chat → the chat's member in outbox:due
//	outbox:msg   hash key → message JSON
//	outbox:nb    hash key → NotBefore (µs), the score a head takes
//	outbox:pos   hash key → the message's member in outbox:fifo
//	outbox:sent  sorted set of sent keys, scored by the time of sending (µs)
//
// chat is 16 hex digits (the sign bit flipped, so that text order is
// numeric order) and created 24 (seconds likewise, then nanoseconds), so a
// key starts at byte 41 of either member.
func (s *Store) outboxKeys() []string {
	return []string{
		s.key("outbox", "fifo"), s.key("outbox", "due"), s.key("outbox", "head"),
		s.key("outbox", "msg"), s.key("outbox", "nb"), s.key("outbox", "pos"), s.key("outbox", "sent"),
	}
}

// outboxLua opens every outbox script: it names the keys and defines
// fixhead, which points a chat's entry in outbox:due at its oldest message,
// or removes it when the chat has none.
const outboxLua = `
local fifo, due, head, msg, nb, pos, sent = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local function fixhead(chat)
  local first = redis.call('ZRANGEBYLEX', fifo, '[' .. chat, '[' .. chat .. '\255', 'LIMIT', 0, 1)
  local old = redis.call('HGET', head, chat)
  if #first == 0 then
    if old then
      redis.call('ZREM', due, old)
      redis.call('HDEL', head, chat)
    end
    return
  end
  local key = string.sub(first[1], 41)
  local entry = string.sub(first[1], 17, 40) .. chat .. key
  if old and old ~= entry then redis.call('ZREM', due, old) end
  redis.call('ZADD', due, redis.call('HGET', nb, key), entry)
  redis.call('HSET', head, chat, entry)
end
`

// enqueueLua stores the messages whose keys are neither pending nor sent,
// from ARGV[from] on: key, chat, fifo member, JSON and NotBefore per
// message.
const enqueueLua = `
local chats = {}
for i = from, #ARGV, 5 do
  local key = ARGV[i]
  if redis.call('HEXISTS', msg, key) == 0 and not redis.call('ZSCORE', sent, key) then
    redis.call('HSET', msg, key, ARGV[i + 3])
    redis.call('HSET', nb, key, ARGV[i + 4])
    redis.call('HSET', pos, key, ARGV[i + 2])
    redis.call('ZADD', fifo, 0, ARGV[i + 2])
    chats[ARGV[i + 1]] = true
  end
end
for chat in pairs(chats) do fixhead(chat) end
`

// enqueueScript is Enqueue. ARGV: the messages.
var enqueueScript = redis.NewScript(outboxLua + "local from = 1\n" + enqueueLua + "return 0")

// enqueueDoneScript is EnqueueDone: the question records, the messages,
// then journal entry ARGV[1] moved from pending to done if it is pending.
// KEYS: the outbox's, the journal's, then the question log's time index.
// ARGV: the entry, the number of records, the prefix of record keys, ID,
// JSON and time score per record, then the messages. The record keys carry
// the store's hash tag, as the declared keys do.
var enqueueDoneScript = redis.NewScript(outboxLua + `
local nq = tonumber(ARGV[2])
for i = 4, 3 + 3 * nq, 3 do
  redis.call('SET', ARGV[3] .. ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[12], ARGV[i + 2], ARGV[i])
end
local from = 4 + 3 * nq
` + enqueueLua + `
if redis.call('HEXISTS', KEYS[8], ARGV[1]) == 1 then
  local received = redis.call('HGET', KEYS[11], ARGV[1]) or '0'
  redis.call('HDEL', KEYS[8], ARGV[1])
  redis.call('HDEL', KEYS[11], ARGV[1])
  redis.call('ZREM', KEYS[9], ARGV[1])
  redis.call('ZADD', KEYS[10], received, ARGV[1])
end
return 0
`)

// dueScript returns the JSON of up to ARGV[2] heads (all when 0) due at
// ARGV[1], next due first.
var dueScript = redis.NewScript(outboxLua + `
local entries
if tonumber(ARGV[2]) > 0 then
  entries = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
else
  entries = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[1])
end
local out = {}
for i = 1, #entries, 1000 do
  local keys = {}
  for j = i, math.min(i + 999, #entries) do keys[#keys + 1] = string.sub(entries[j], 41) end
  local vals = redis.call('HMGET', msg, unpack(keys))
  for _, v in ipairs(vals) do out[#out + 1] = v end
end
return out
`)

// sentScript removes message ARGV[1] and keeps its tombstone, dated
// ARGV[2]; it returns 0 for an unknown key.
var sentScript = redis.NewScript(outboxLua + `
local key = ARGV[1]
local p = redis.call('HGET', pos, key)
if not p then return 0 end
redis.call('ZREM', fifo, p)
redis.call('HDEL', msg, key)
redis.call('HDEL', nb, key)
redis.call('HDEL', pos, key)
redis.call('ZADD', sent, ARGV[2], key)
fixhead(string.sub(p, 1, 16))
return 1
`)

// heldScript returns the JSON of chat ARGV[1]'s messages held to ARGV[2] (µs)
// or later, judged by outbox:nb, so that the common case, a chat with nothing
// held, costs one round trip and no decoding.
var heldScript = redis.NewScript(outboxLua + `
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYLEX', fifo, '[' .. ARGV[1], '[' .. ARGV[1] .. '\255')) do
  local key = string.sub(m, 41)
  local at = redis.call('HGET', nb, key)
  if at and tonumber(at) >= tonumber(ARGV[2]) then
    local v = redis.call('HGET', msg, key)
    if v then out[#out + 1] = v end
  end
end
return out
`)

// rewriteScript replaces messages of chat ARGV[1] if none changed since
// they were read. ARGV then holds key, JSON read, new JSON and new
// NotBefore per message. It returns 1, or -1 when a message changed.
var rewriteScript = redis.NewScript(outboxLua + `
for i = 2, #ARGV, 4 do
  if redis.call('HGET', msg, ARGV[i]) ~= ARGV[i + 1] then return -1 end
end
for i = 2, #ARGV, 4 do
  redis.call('HSET', msg, ARGV[i], ARGV[i + 2])
  redis.call('HSET', nb, ARGV[i], ARGV[i + 3])
end
fixhead(ARGV[1])
return 1
`)

// chatHex is chat in the outbox's members.
func chatHex(chat int64) string { return fmt.Sprintf("%016x", uint64(chat)^(1<<63)) }

// timeHex is t in the outbox's members; text order is time order.
func timeHex(t time.Time) string {
	return fmt.Sprintf("%016x%08x", uint64(t.Unix())^(1<<63), t.Nanosecond())
}

// Enqueue stores, atomically, the messages whose keys were never stored:
// neither pending nor sent since PruneSent last forgot them. Within msgs,
// the first message with a key wins.
func (s *Store) Enqueue(ctx context.Context, msgs []caunoi.OutMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	args, err := enqueueArgs(nil, msgs)
	if err != nil {
		return err
	}
	if err := enqueueScript.Run(ctx, s.c, s.outboxKeys(), args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("enqueue %d messages: %w", len(msgs), err)
	}
	return nil
}

// EnqueueDone logs qs, enqueues msgs and marks journal entry id done in
// one script: all happen or none.
func (s *Store) EnqueueDone(ctx context.Context, msgs []caunoi.OutMessage, id int64, qs ...caunoi.QuestionRecord) error {
	args := make([]any, 0, 3+3*len(qs)+5*len(msgs))
	args = append(args, id, len(qs), s.key("q", ""))
	for _, q := range qs {
		if q.ID == "" {
			return fmt.Errorf("log question: a record without an ID: %w", caunoi.ErrInvalid)
		}
		data, err := codec.Marshal(&q)
		if err != nil {
			return fmt.Errorf("log question: %w", err)
		}
		args = append(args, q.ID, data, micros(q.At))
	}
	args, err := enqueueArgs(args, msgs)
	if err != nil {
		return err
	}
	keys := append(append(s.outboxKeys(), s.journalKeys()...), s.key("q", "at"))
	if err := enqueueDoneScript.Run(ctx, s.c, keys, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("enqueue %d messages and mark update %d done: %w", len(msgs), id, err)
	}
	return nil
}

// enqueueArgs appends enqueueLua's arguments for msgs to args.
func enqueueArgs(args []any, msgs []caunoi.OutMessage) ([]any, error) {
	for _, m := range msgs {
		if m.Key == "" {
			return nil, fmt.Errorf("enqueue: message without key: %w", caunoi.ErrInvalid)
		}
		data, err := codec.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
		chat := chatHex(m.Chat)
		args = append(args, m.Key, chat, chat+timeHex(m.Created)+m.Key, data, microsArg(m.NotBefore))
	}
	return args, nil
}

// Due returns, for up to limit chats (all when limit ≤ 0), each chat's
// oldest pending message when its NotBefore ≤ now, ordered by NotBefore (to
// the microsecond), then Created. It reads only the heads it returns, in
// one script.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]caunoi.OutMessage, error) {
	vals, err := dueScript.Run(ctx, s.c, s.outboxKeys(), microsArg(now), max(limit, 0)).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	out := make([]caunoi.OutMessage, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("due messages: outbox head without message")
		}
		var m caunoi.OutMessage
		if err := codec.UnmarshalString(str, &m); err != nil {
			return nil, fmt.Errorf("due messages: %w", err)
		}
		if !m.NotBefore.After(now) { // the score keeps microseconds only
			out = append(out, m)
		}
	}
	return out, nil
}

// Sent removes the message with key, keeps a tombstone of the key (dated
// by this process's clock) until PruneSent forgets it, and makes the chat's
// next message its head. An unknown key is caunoi.ErrNotFound.
func (s *Store) Sent(ctx context.Context, key string) error {
	n, err := sentScript.Run(ctx, s.c, s.outboxKeys(), key, microsArg(time.Now())).Int()
	if err == nil && n == 0 {
		err = caunoi.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("message sent: %w", err)
	}
	return nil
}

// Retry counts a failed attempt and holds the message until notBefore, and
// with it its chat while it is the head. An unknown key is
// caunoi.ErrNotFound.
func (s *Store) Retry(ctx context.Context, key string, notBefore time.Time) error {
	err := s.rewrite(ctx, func() (int64, []caunoi.OutMessage, [][]byte, error) {
		data, err := s.c.HGet(ctx, s.key("outbox", "msg"), key).Bytes()
		if errors.Is(err, redis.Nil) {
			return 0, nil, nil, caunoi.ErrNotFound
		}
		if err != nil {
			return 0, nil, nil, err
		}
		var m caunoi.OutMessage
		if err := codec.Unmarshal(data, &m); err != nil {
			return 0, nil, nil, err
		}
		m.Attempts++
		m.NotBefore = notBefore
		return m.Chat, []caunoi.OutMessage{m}, [][]byte{data}, nil
	})
	if err != nil {
		return fmt.Errorf("retry message: %w", err)
	}
	return nil
}

// ReleaseChat makes every message of chat held past now due at now. Its
// cost grows with the chat's pending messages only.
func (s *Store) ReleaseChat(ctx context.Context, chat int64, now time.Time) error {
	hex := chatHex(chat)
	err := s.rewrite(ctx, func() (int64, []caunoi.OutMessage, [][]byte, error) {
		vals, err := heldScript.Run(ctx, s.c, s.outboxKeys(), hex, microsArg(now)).StringSlice()
		if err != nil || len(vals) == 0 {
			return 0, nil, nil, err
		}
		var held []caunoi.OutMessage
		var read [][]byte
		for _, str := range vals {
			var m caunoi.OutMessage
			if err := codec.UnmarshalString(str, &m); err != nil {
				return 0, nil, nil, err
			}
			if m.NotBefore.After(now) {
				m.NotBefore = now
				held = append(held, m)
				read = append(read, []byte(str))
			}
		}
		return chat, held, read, nil
	})
	if err != nil {
		return fmt.Errorf("release chat %d: %w", chat, err)
	}
	return nil
}

// rewrite stores the messages that read returns, changed, in place of the
// JSON it read them from, and moves their chat's head. It reads again when
// one of them changed in between.
func (s *Store) rewrite(ctx context.Context, read func() (chat int64, changed []caunoi.OutMessage, was [][]byte, err error)) error {
	for range maxTxAttempts {
		chat, msgs, was, err := read()
		if err != nil || len(msgs) == 0 {
			return err
		}
		args := []any{chatHex(chat)}
		for i, m := range msgs {
			data, err := codec.Marshal(m)
			if err != nil {
				return err
			}
			args = append(args, m.Key, was[i], data, microsArg(m.NotBefore))
		}
		n, err := rewriteScript.Run(ctx, s.c, s.outboxKeys(), args...).Int()
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return fmt.Errorf("gave up after %d attempts under contention: %w", maxTxAttempts, caunoi.ErrConflict)
}

// PruneSent forgets the tombstones of messages sent before before (to the
// microsecond), so that their keys may be enqueued again.
func (s *Store) PruneSent(ctx context.Context, before time.Time) error {
	err := s.c.ZRemRangeByScore(ctx, s.key("outbox", "sent"), "-inf", "("+microsArg(before)).Err()
	if err != nil {
		return fmt.Errorf("prune sent messages: %w", err)
	}
	return nil
}

// acquireScript takes a free lease or extends the owner's own.
// KEYS: lock; ARGV: owner, ttl (ms)
var acquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// unlockScript deletes the lease only if owner holds it.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// Acquire takes name for ttl (at millisecond precision) if it is free or
// expired, or extends it if owner holds it, and reports whether owner holds
// the lease. Expiry is Redis's.
func (s *Store) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if ttl <= 0 || owner == "" {
		return false, fmt.Errorf("acquire %q: need an owner and a positive ttl: %w", name, caunoi.ErrInvalid)
	}
	ms := max(ttl.Milliseconds(), 1)
	n, err := acquireScript.Run(ctx, s.c, []string{s.key("lock", name)}, owner, ms).Int()
	if err != nil {
		return false, fmt.Errorf("acquire %q: %w", name, err)
	}
	return n == 1, nil
}

// Unlock gives up name if owner holds it; otherwise it does nothing.
func (s *Store) Unlock(ctx context.Context, name, owner string) error {
	if err := unlockScript.Run(ctx, s.c, []string{s.key("lock", name)}, owner).Err(); err != nil {
		return fmt.Errorf("unlock %q: %w", name, err)
	}
	return nil
}

// SetNX stores value under key unless the key exists, and reports whether
// it stored. ttl 0 means no expiry.
func (s *Store) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl < 0 {
		return false, fmt.Errorf("set %q: negative ttl: %w", key, caunoi.ErrInvalid)
	}
	ok, err := s.c.SetNX(ctx, s.key("kv", key), value, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("set %q: %w", key, err)
	}
	return ok, nil
}

// Value returns the value under key, or caunoi.ErrNotFound.
func (s *Store) Value(ctx context.Context, key string) ([]byte, error) {
	v, err := s.c.Get(ctx, s.key("kv", key)).Bytes()
	if errors.Is(err, redis.Nil) {
		err = caunoi.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("value %q: %w", key, err)
	}
	return v, nil
}

// Put stores value under key, replacing any value; ttl 0 means no expiry.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("put %q: negative ttl: %w", key, caunoi.ErrInvalid)
	}
	if err := s.c.Set(ctx, s.key("kv", key), value, ttl).Err(); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.c.Del(ctx, s.key("kv", key)).Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}
