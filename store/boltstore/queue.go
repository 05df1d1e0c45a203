package boltstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/caunoi/caunoi"
	bolt "go.etcd.io/bbolt"
)

// Enqueue stores the messages whose keys are not stored yet, in one
// transaction. Within msgs, the first message with a key wins.
func (s *Store) Enqueue(ctx context.Context, msgs []caunoi.OutMessage) error {
	for _, m := range msgs {
		if m.Key == "" {
			return fmt.Errorf("enqueue: message without key: %w", caunoi.ErrInvalid)
		}
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		out, due := tx.Bucket(bktOutbox), tx.Bucket(bktOutDue)
		for _, m := range msgs {
			k := []byte(m.Key)
			if out.Get(k) != nil {
				continue
			}
			if err := put(out, k, m); err != nil {
				return err
			}
			if err := due.Put(cat(timeKey(m.NotBefore), k), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enqueue %d messages: %w", len(msgs), err)
	}
	return nil
}

// Due returns up to limit messages with NotBefore ≤ now, oldest (by
// Created, then Key) first, which keeps each chat's messages in order.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]caunoi.OutMessage, error) {
	var out []caunoi.OutMessage
	err := s.view(ctx, func(tx *bolt.Tx) error {
		msgs := tx.Bucket(bktOutbox)
		c := tx.Bucket(bktOutDue).Cursor()
		for k, _ := c.First(); k != nil && !keyTime(k[:12]).After(now); k, _ = c.Next() {
			var m caunoi.OutMessage
			if err := get(msgs, k[12:], &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	slices.SortFunc(out, func(a, b caunoi.OutMessage) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Key, b.Key))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Sent removes the message with key, or returns caunoi.ErrNotFound.
func (s *Store) Sent(ctx context.Context, key string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		out := tx.Bucket(bktOutbox)
		var m caunoi.OutMessage
		if err := get(out, []byte(key), &m); err != nil {
			return err
		}
		if err := out.Delete([]byte(key)); err != nil {
			return err
		}
		return tx.Bucket(bktOutDue).Delete(cat(timeKey(m.NotBefore), []byte(key)))
	})
	if err != nil {
		return fmt.Errorf("message sent: %w", err)
	}
	return nil
}

// Retry counts a failed attempt and holds the message until notBefore, or
// returns caunoi.ErrNotFound.
func (s *Store) Retry(ctx context.Context, key string, notBefore time.Time) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		out := tx.Bucket(bktOutbox)
		var m caunoi.OutMessage
		if err := get(out, []byte(key), &m); err != nil {
			return err
		}
		m.Attempts++
		return reschedule(tx, m, notBefore)
	})
	if err != nil {
		return fmt.Errorf("retry message: %w", err)
	}
	return nil
}

// ReleaseChat makes every message for chat held past now due at now.
func (s *Store) ReleaseChat(ctx context.Context, chat int64, now time.Time) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var held []caunoi.OutMessage
		err := tx.Bucket(bktOutbox).ForEach(func(k, v []byte) error {
			var m caunoi.OutMessage
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if m.Chat == chat && m.NotBefore.After(now) {
				held = append(held, m)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, m := range held {
			if err := reschedule(tx, m, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release chat %d: %w", chat, err)
	}
	return nil
}

// reschedule stores m with NotBefore set to nb and moves its index entry.
func reschedule(tx *bolt.Tx, m caunoi.OutMessage, nb time.Time) error {
	due := tx.Bucket(bktOutDue)
	if err := due.Delete(cat(timeKey(m.NotBefore), []byte(m.Key))); err != nil {
		return err
	}
	m.NotBefore = nb
	if err := put(tx.Bucket(bktOutbox), []byte(m.Key), m); err != nil {
		return err
	}
	return due.Put(cat(timeKey(nb), []byte(m.Key)), nil)
}

type lease struct {
	Owner   string
	Expires time.Time
}

// Acquire takes name for ttl if it is free or expired, or extends it if
// owner holds it, and reports whether owner holds the lease. Expiry uses the
// store's clock.
func (s *Store) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if ttl <= 0 || owner == "" {
		return false, fmt.Errorf("acquire %q: need an owner and a positive ttl: %w", name, caunoi.ErrInvalid)
	}
	var held bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		held = false
		b := tx.Bucket(bktLocks)
		now := s.now()
		var l lease
		switch err := get(b, []byte(name), &l); {
		case err == nil && l.Owner != owner && now.Before(l.Expires):
			return nil
		case err != nil && !errors.Is(err, caunoi.ErrNotFound):
			return err
		}
		if err := put(b, []byte(name), lease{Owner: owner, Expires: now.Add(ttl)}); err != nil {
			return err
		}
		held = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("acquire %q: %w", name, err)
	}
	return held, nil
}

// Unlock gives up name if owner holds it; otherwise it does nothing.
func (s *Store) Unlock(ctx context.Context, name, owner string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktLocks)
		var l lease
		switch err := get(b, []byte(name), &l); {
		case errors.Is(err, caunoi.ErrNotFound):
			return nil
		case err != nil:
			return err
		case l.Owner != owner:
			return nil
		}
		return b.Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("unlock %q: %w", name, err)
	}
	return nil
}

type kvValue struct {
	Value   []byte
	Expires time.Time // zero: never
}

func (v kvValue) live(now time.Time) bool { return v.Expires.IsZero() || now.Before(v.Expires) }

// SetNX stores value under key unless a live value is there, and reports
// whether it stored. ttl 0 means no expiry.
func (s *Store) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl < 0 {
		return false, fmt.Errorf("set %q: negative ttl: %w", key, caunoi.ErrInvalid)
	}
	var stored bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		stored = false
		b := tx.Bucket(bktKV)
		now := s.now()
		var v kvValue
		switch err := get(b, []byte(key), &v); {
		case err == nil && v.live(now):
			return nil
		case err != nil && !errors.Is(err, caunoi.ErrNotFound):
			return err
		}
		nv := kvValue{Value: value}
		if ttl > 0 {
			nv.Expires = now.Add(ttl)
		}
		if err := put(b, []byte(key), nv); err != nil {
			return err
		}
		stored = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("set %q: %w", key, err)
	}
	return stored, nil
}

// Value returns the live value under key, or caunoi.ErrNotFound.
func (s *Store) Value(ctx context.Context, key string) ([]byte, error) {
	var v kvValue
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if err := get(tx.Bucket(bktKV), []byte(key), &v); err != nil {
			return err
		}
		if !v.live(s.now()) {
			return caunoi.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("value %q: %w", key, err)
	}
	return v.Value, nil
}
