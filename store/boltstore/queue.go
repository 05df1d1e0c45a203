package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	bolt "go.etcd.io/bbolt"
)

// The outbox is kept in its own buckets, which Open does not know: each
// write creates them when missing, and reads treat a missing bucket as
// empty.
//
//	out_msg     key → OutMessage
//	out_chat    chat created key → nil: each chat's FIFO, oldest first
//	out_head    chat → the chat's entry in out_due
//	out_due     notBefore created chat → head key: chat heads, next due first
//	out_sent    key → sent: tombstones of sent messages
//	out_sent_at sent key → nil: tombstones by age, for PruneSent
var (
	bktOutMsg     = []byte("out_msg")
	bktOutChat    = []byte("out_chat")
	bktOutHead    = []byte("out_head")
	bktOutHeadDue = []byte("out_due")
	bktOutSent    = []byte("out_sent")
	bktOutSentAt  = []byte("out_sent_at")
)

// outbox holds the outbox buckets of one transaction.
type outbox struct {
	msg, chat, head, due, sent, sentAt *bolt.Bucket
}

// openOutbox returns the outbox buckets of a write transaction, creating
// them when missing.
func openOutbox(tx *bolt.Tx) (outbox, error) {
	names := [][]byte{bktOutMsg, bktOutChat, bktOutHead, bktOutHeadDue, bktOutSent, bktOutSentAt}
	bs := make([]*bolt.Bucket, len(names))
	for i, name := range names {
		b, err := tx.CreateBucketIfNotExists(name)
		if err != nil {
			return outbox{}, err
		}
		bs[i] = b
	}
	return outbox{msg: bs[0], chat: bs[1], head: bs[2], due: bs[3], sent: bs[4], sentAt: bs[5]}, nil
}

// chatEntry is m's key in out_chat.
func chatEntry(m caunoi.OutMessage) []byte {
	return cat(int64Key(m.Chat), timeKey(m.Created), []byte(m.Key))
}

// message returns the pending message with key, or caunoi.ErrNotFound.
func (o outbox) message(key string) (caunoi.OutMessage, error) {
	var m caunoi.OutMessage
	err := get(o.msg, []byte(key), &m)
	return m, err
}

// indexed returns the message that an index entry names. A missing one
// means the buckets disagree, which is never caunoi.ErrNotFound.
func (o outbox) indexed(key []byte) (caunoi.OutMessage, error) {
	var m caunoi.OutMessage
	data := o.msg.Get(key)
	if data == nil {
		return m, fmt.Errorf("outbox index names missing message %q", key)
	}
	return m, codec.Unmarshal(data, &m)
}

// fixHead points chat's entries in out_head and out_due at its oldest
// pending message, or removes them when the chat has none.
func (o outbox) fixHead(chat int64) error {
	ck := int64Key(chat)
	old := bytes.Clone(o.head.Get(ck))
	var entry []byte
	if k, _ := o.chat.Cursor().Seek(ck); k != nil && bytes.HasPrefix(k, ck) {
		key := bytes.Clone(k[len(ck)+12:])
		m, err := o.indexed(key)
		if err != nil {
			return err
		}
		entry = cat(timeKey(m.NotBefore), timeKey(m.Created), ck)
		if bytes.Equal(entry, old) && bytes.Equal(o.due.Get(entry), key) {
			return nil
		}
		if err := o.due.Put(entry, key); err != nil {
			return err
		}
	}
	if old != nil && !bytes.Equal(old, entry) {
		if err := o.due.Delete(old); err != nil {
			return err
		}
	}
	if entry == nil {
		return o.head.Delete(ck)
	}
	return o.head.Put(ck, entry)
}

// Enqueue stores, in one transaction, the messages whose keys were never
// stored: neither pending nor sent since PruneSent last forgot them. Within
// msgs, the first message with a key wins.
func (s *Store) Enqueue(ctx context.Context, msgs []caunoi.OutMessage) error {
	if err := checkKeys(msgs); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	err := s.update(ctx, func(tx *bolt.Tx) error { return enqueueTx(tx, msgs) })
	if err != nil {
		return fmt.Errorf("enqueue %d messages: %w", len(msgs), err)
	}
	return nil
}

// EnqueueDone logs qs, enqueues msgs and marks journal entry id done in
// one transaction: all happen or none. An entry not pending is left as it
// is.
func (s *Store) EnqueueDone(ctx context.Context, msgs []caunoi.OutMessage, id int64, qs ...caunoi.QuestionRecord) error {
	if err := checkKeys(msgs); err != nil {
		return err
	}
	if err := checkQuestionIDs(qs); err != nil {
		return err
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := putQuestions(tx, qs); err != nil {
			return err
		}
		if err := enqueueTx(tx, msgs); err != nil {
			return err
		}
		if err := doneTx(tx, id); err != nil && !errors.Is(err, caunoi.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enqueue %d messages and mark update %d done: %w", len(msgs), id, err)
	}
	return nil
}

// checkKeys refuses messages without a key, before anything is written.
func checkKeys(msgs []caunoi.OutMessage) error {
	for _, m := range msgs {
		if m.Key == "" {
			return fmt.Errorf("enqueue: message without key: %w", caunoi.ErrInvalid)
		}
	}
	return nil
}

// enqueueTx stores the messages of msgs whose keys are neither pending nor
// sent.
func enqueueTx(tx *bolt.Tx, msgs []caunoi.OutMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	o, err := openOutbox(tx)
	if err != nil {
		return err
	}
	chats := make(map[int64]bool)
	for _, m := range msgs {
		k := []byte(m.Key)
		if o.msg.Get(k) != nil || o.sent.Get(k) != nil {
			continue
		}
		if err := put(o.msg, k, m); err != nil {
			return err
		}
		if err := o.chat.Put(chatEntry(m), nil); err != nil {
			return err
		}
		chats[m.Chat] = true
	}
	for chat := range chats {
		if err := o.fixHead(chat); err != nil {
			return err
		}
	}
	return nil
}

// Due returns, for up to limit chats (all when limit ≤ 0), each chat's
// oldest pending message when its NotBefore ≤ now, ordered by NotBefore,
// then Created. It reads only the heads it returns.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]caunoi.OutMessage, error) {
	var out []caunoi.OutMessage
	err := s.view(ctx, func(tx *bolt.Tx) error {
		out = nil
		due, msgs := tx.Bucket(bktOutHeadDue), tx.Bucket(bktOutMsg)
		if due == nil || msgs == nil {
			return nil
		}
		c := due.Cursor()
		for k, key := c.First(); k != nil && !keyTime(k[:12]).After(now); k, key = c.Next() {
			if limit > 0 && len(out) == limit {
				break
			}
			m, err := outbox{msg: msgs}.indexed(key)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("due messages: %w", err)
	}
	return out, nil
}

// Sent removes the message with key, keeps a tombstone of the key (dated
// by the store's clock) until PruneSent forgets it, and makes the chat's
// next message its head. An unknown key is caunoi.ErrNotFound.
func (s *Store) Sent(ctx context.Context, key string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		o, err := openOutbox(tx)
		if err != nil {
			return err
		}
		m, err := o.message(key)
		if err != nil {
			return err
		}
		k := []byte(key)
		at := timeKey(s.now())
		if err := o.msg.Delete(k); err != nil {
			return err
		}
		if err := o.chat.Delete(chatEntry(m)); err != nil {
			return err
		}
		if err := o.sent.Put(k, at); err != nil {
			return err
		}
		if err := o.sentAt.Put(cat(at, k), nil); err != nil {
			return err
		}
		return o.fixHead(m.Chat)
	})
	if err != nil {
		return fmt.Errorf("message sent: %w", err)
	}
	return nil
}

// Retry counts a failed attempt and holds the message until notBefore, and
// with it its chat while it is the head. An unknown key is
// caunoi.ErrNotFound.
func (s *Store) Retry(ctx context.Context, key string, notBefore time.Time) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		o, err := openOutbox(tx)
		if err != nil {
			return err
		}
		m, err := o.message(key)
		if err != nil {
			return err
		}
		m.Attempts++
		m.NotBefore = notBefore
		if err := put(o.msg, []byte(key), m); err != nil {
			return err
		}
		return o.fixHead(m.Chat)
	})
	if err != nil {
		return fmt.Errorf("retry message: %w", err)
	}
	return nil
}

// ReleaseChat makes every message of chat held past now due at now. Its
// cost grows with the chat's pending messages only.
func (s *Store) ReleaseChat(ctx context.Context, chat int64, now time.Time) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		o, err := openOutbox(tx)
		if err != nil {
			return err
		}
		ck := int64Key(chat)
		var held []caunoi.OutMessage
		c := o.chat.Cursor()
		for k, _ := c.Seek(ck); k != nil && bytes.HasPrefix(k, ck); k, _ = c.Next() {
			m, err := o.indexed(k[len(ck)+12:])
			if err != nil {
				return err
			}
			if m.NotBefore.After(now) {
				held = append(held, m)
			}
		}
		if len(held) == 0 {
			return nil
		}
		for _, m := range held {
			m.NotBefore = now
			if err := put(o.msg, []byte(m.Key), m); err != nil {
				return err
			}
		}
		return o.fixHead(chat)
	})
	if err != nil {
		return fmt.Errorf("release chat %d: %w", chat, err)
	}
	return nil
}

// PruneSent forgets the tombstones of messages sent before before, so
// that their keys may be enqueued again.
func (s *Store) PruneSent(ctx context.Context, before time.Time) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return pruneSent(tx, before)
	})
	if err != nil {
		return fmt.Errorf("prune sent messages: %w", err)
	}
	return nil
}

// pruneSent is PruneSent inside tx.
func pruneSent(tx *bolt.Tx, before time.Time) error {
	o, err := openOutbox(tx)
	if err != nil {
		return err
	}
	var old [][]byte
	c := o.sentAt.Cursor()
	for k, _ := c.First(); k != nil && keyTime(k[:12]).Before(before); k, _ = c.Next() {
		old = append(old, bytes.Clone(k))
	}
	for _, k := range old {
		if err := o.sentAt.Delete(k); err != nil {
			return err
		}
		if err := o.sent.Delete(k[12:]); err != nil {
			return err
		}
	}
	return nil
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
