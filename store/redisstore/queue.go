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
	"time"

	"github.com/caunoi/caunoi"
	"github.com/redis/go-redis/v9"
)

// Outbox keys: out:m:KEY holds a message; the sorted set out:due orders
// keys by NotBefore (µs) and the set out:chat:CHAT lists a chat's keys.

// enqueueScript stores the messages whose keys are new.
// KEYS: out:due, then out:m:KEY and out:chat:CHAT per message.
// ARGV: message JSON, score and key per message.
var enqueueScript = redis.NewScript(`
for i = 2, #KEYS, 2 do
  local a = (i - 2) / 2 * 3
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('SET', KEYS[i], ARGV[a + 1])
    redis.call('ZADD', KEYS[1], ARGV[a + 2], ARGV[a + 3])
    redis.call('SADD', KEYS[i + 1], ARGV[a + 3])
  end
end
return 0
`)

func (s *Store) messageKey(key string) string { return s.key("out", "m", key) }
func (s *Store) chatKey(chat int64) string {
	return s.key("out", "chat", strconv.FormatInt(chat, 10))
}

// Enqueue stores the messages whose keys are not stored yet, atomically.
// Within msgs, the first message with a key wins.
func (s *Store) Enqueue(ctx context.Context, msgs []caunoi.OutMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	keys := []string{s.key("out", "due")}
	args := make([]any, 0, 3*len(msgs))
	for _, m := range msgs {
		if m.Key == "" {
			return fmt.Errorf("enqueue: message without key: %w", caunoi.ErrInvalid)
		}
		data, err := encode(m)
		if err != nil {
			return fmt.Errorf("enqueue: %w", err)
		}
		keys = append(keys, s.messageKey(m.Key), s.chatKey(m.Chat))
		args = append(args, data, microsArg(m.NotBefore), m.Key)
	}
	if err := enqueueScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("enqueue %d messages: %w", len(msgs), err)
	}
	return nil
}

// Due returns up to limit messages with NotBefore ≤ now, oldest (by
// Created, then Key) first, which keeps each chat's messages in order.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]caunoi.OutMessage, error) {
	keys, err := s.rdb.ZRangeByScore(ctx, s.key("out", "due"), &redis.ZRangeBy{Min: "-inf", Max: microsArg(now)}).Result()
	if err != nil {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	for i, k := range keys {
		keys[i] = s.messageKey(k)
	}
	var out []caunoi.OutMessage
	err = mgetJSON(ctx, s.rdb, keys, func(data []byte) error {
		var m caunoi.OutMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
		if !m.NotBefore.After(now) {
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	slices.SortFunc(out, func(a, b caunoi.OutMessage) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.Key, b.Key))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Sent removes the message with key, or returns caunoi.ErrNotFound.
func (s *Store) Sent(ctx context.Context, key string) error {
	mk := s.messageKey(key)
	err := s.watch(ctx, func(tx *redis.Tx) error {
		var m caunoi.OutMessage
		if err := getJSON(ctx, tx, mk, &m); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, mk)
			p.ZRem(ctx, s.key("out", "due"), key)
			p.SRem(ctx, s.chatKey(m.Chat), key)
			return nil
		})
		return err
	}, mk)
	if err != nil {
		return fmt.Errorf("message sent: %w", err)
	}
	return nil
}

// Retry counts a failed attempt and holds the message until notBefore, or
// returns caunoi.ErrNotFound.
func (s *Store) Retry(ctx context.Context, key string, notBefore time.Time) error {
	mk := s.messageKey(key)
	err := s.watch(ctx, func(tx *redis.Tx) error {
		var m caunoi.OutMessage
		if err := getJSON(ctx, tx, mk, &m); err != nil {
			return err
		}
		m.Attempts++
		m.NotBefore = notBefore
		return s.reschedule(ctx, tx, []caunoi.OutMessage{m})
	}, mk)
	if err != nil {
		return fmt.Errorf("retry message: %w", err)
	}
	return nil
}

// ReleaseChat makes every message for chat held past now due at now.
func (s *Store) ReleaseChat(ctx context.Context, chat int64, now time.Time) error {
	members, err := s.rdb.SMembers(ctx, s.chatKey(chat)).Result()
	if err != nil {
		return fmt.Errorf("release chat %d: %w", chat, err)
	}
	if len(members) == 0 {
		return nil
	}
	keys := make([]string, len(members))
	for i, k := range members {
		keys[i] = s.messageKey(k)
	}
	err = s.watch(ctx, func(tx *redis.Tx) error {
		var held []caunoi.OutMessage
		err := mgetJSON(ctx, tx, keys, func(data []byte) error {
			var m caunoi.OutMessage
			if err := json.Unmarshal(data, &m); err != nil {
				return err
			}
			if m.NotBefore.After(now) {
				m.NotBefore = now
				held = append(held, m)
			}
			return nil
		})
		if err != nil || len(held) == 0 {
			return err
		}
		return s.reschedule(ctx, tx, held)
	}, keys...)
	if err != nil {
		return fmt.Errorf("release chat %d: %w", chat, err)
	}
	return nil
}

// reschedule writes msgs and their due scores in one MULTI/EXEC.
func (s *Store) reschedule(ctx context.Context, tx *redis.Tx, msgs []caunoi.OutMessage) error {
	data := make([][]byte, len(msgs))
	for i, m := range msgs {
		var err error
		if data[i], err = encode(m); err != nil {
			return err
		}
	}
	_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range msgs {
			p.Set(ctx, s.messageKey(m.Key), data[i], 0)
			p.ZAdd(ctx, s.key("out", "due"), redis.Z{Score: micros(m.NotBefore), Member: m.Key})
		}
		return nil
	})
	return err
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
	n, err := acquireScript.Run(ctx, s.rdb, []string{s.key("lock", name)}, owner, ms).Int()
	if err != nil {
		return false, fmt.Errorf("acquire %q: %w", name, err)
	}
	return n == 1, nil
}

// Unlock gives up name if owner holds it; otherwise it does nothing.
func (s *Store) Unlock(ctx context.Context, name, owner string) error {
	if err := unlockScript.Run(ctx, s.rdb, []string{s.key("lock", name)}, owner).Err(); err != nil {
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
	ok, err := s.rdb.SetNX(ctx, s.key("kv", key), value, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("set %q: %w", key, err)
	}
	return ok, nil
}

// Value returns the value under key, or caunoi.ErrNotFound.
func (s *Store) Value(ctx context.Context, key string) ([]byte, error) {
	v, err := s.rdb.Get(ctx, s.key("kv", key)).Bytes()
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
	if err := s.rdb.Set(ctx, s.key("kv", key), value, ttl).Err(); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.rdb.Del(ctx, s.key("kv", key)).Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}
