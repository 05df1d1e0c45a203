package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	bolt "go.etcd.io/bbolt"
)

// LogQuestion stores q, assigning an ID when it has none, and returns it.
func (s *Store) LogQuestion(ctx context.Context, q caunoi.QuestionRecord) (caunoi.QuestionRecord, error) {
	var out caunoi.QuestionRecord
	err := s.update(ctx, func(tx *bolt.Tx) error {
		nq := q
		if nq.ID == "" {
			n, err := tx.Bucket(bktQSeq).NextSequence()
			if err != nil {
				return err
			}
			nq.ID = caunoi.QuestionID(int64(n))
		}
		if err := putQuestion(tx, nq); err != nil {
			return err
		}
		out = nq
		return nil
	})
	if err != nil {
		return caunoi.QuestionRecord{}, fmt.Errorf("log question: %w", err)
	}
	return out, nil
}

// ReserveQuestionIDs takes n numbers from the question sequence and
// returns the first.
func (s *Store) ReserveQuestionIDs(ctx context.Context, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("reserve question ids: %d of them: %w", n, caunoi.ErrInvalid)
	}
	var first uint64
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktQSeq)
		first = b.Sequence() + 1
		return b.SetSequence(b.Sequence() + uint64(n))
	})
	if err != nil {
		return 0, fmt.Errorf("reserve question ids: %w", err)
	}
	return int64(first), nil
}

// putQuestions writes qs, each of which must have an ID.
func putQuestions(tx *bolt.Tx, qs []caunoi.QuestionRecord) error {
	for _, q := range qs {
		if err := putQuestion(tx, q); err != nil {
			return err
		}
	}
	return nil
}

// checkQuestionIDs refuses records without an ID, before anything is
// written.
func checkQuestionIDs(qs []caunoi.QuestionRecord) error {
	for _, q := range qs {
		if q.ID == "" {
			return fmt.Errorf("log question: a record without an ID: %w", caunoi.ErrInvalid)
		}
	}
	return nil
}

// putQuestion writes q and moves its time index entry if At changed.
func putQuestion(tx *bolt.Tx, q caunoi.QuestionRecord) error {
	b := tx.Bucket(bktQuestions)
	var old caunoi.QuestionRecord
	if raw := b.Get([]byte(q.ID)); raw != nil {
		if err := codec.Unmarshal(raw, &old); err != nil {
			return err
		}
		if err := tx.Bucket(bktQByAt).Delete(cat(timeKey(old.At), []byte(q.ID))); err != nil {
			return err
		}
	}
	if err := put(b, []byte(q.ID), q); err != nil {
		return err
	}
	return tx.Bucket(bktQByAt).Put(cat(timeKey(q.At), []byte(q.ID)), nil)
}

// Question returns the record with id, or caunoi.ErrNotFound.
func (s *Store) Question(ctx context.Context, id string) (caunoi.QuestionRecord, error) {
	var q caunoi.QuestionRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return get(tx.Bucket(bktQuestions), []byte(id), &q)
	})
	if err != nil {
		return caunoi.QuestionRecord{}, fmt.Errorf("question %s: %w", id, err)
	}
	return q, nil
}

// UpdateQuestion applies fn to the record atomically. An error from fn is
// returned unchanged and nothing is stored.
func (s *Store) UpdateQuestion(ctx context.Context, id string, fn func(*caunoi.QuestionRecord) error) (caunoi.QuestionRecord, error) {
	var (
		out   caunoi.QuestionRecord
		fnErr error
	)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		fnErr = nil
		var q caunoi.QuestionRecord
		if err := get(tx.Bucket(bktQuestions), []byte(id), &q); err != nil {
			return err
		}
		if err := fn(&q); err != nil {
			fnErr = err
			return clean(err)
		}
		q.ID = id
		if err := putQuestion(tx, q); err != nil {
			return err
		}
		out = q
		return nil
	})
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
	var out []caunoi.QuestionRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		qs := tx.Bucket(bktQuestions)
		end := timeKey(until)
		c := tx.Bucket(bktQByAt).Cursor()
		for k, _ := c.Seek(timeKey(since)); k != nil && bytes.Compare(k[:12], end) < 0; k, _ = c.Next() {
			var q caunoi.QuestionRecord
			if err := get(qs, k[12:], &q); err != nil {
				return err
			}
			out = append(out, q)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list questions: %w", err)
	}
	return out, nil
}

// PruneQuestions deletes up to limit records asked before before, oldest
// first, with their time index entries, in one transaction.
func (s *Store) PruneQuestions(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, fmt.Errorf("prune questions: a limit of %d: %w", limit, caunoi.ErrInvalid)
	}
	var n int
	err := s.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		qs, byAt := tx.Bucket(bktQuestions), tx.Bucket(bktQByAt)
		end := timeKey(before)
		var keys [][]byte // a cursor may skip a key after a delete: collect first
		c := byAt.Cursor()
		for k, _ := c.First(); k != nil && len(keys) < limit && bytes.Compare(k[:12], end) < 0; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := qs.Delete(k[12:]); err != nil {
				return err
			}
			if err := byAt.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune questions: %w", err)
	}
	return n, nil
}

// Append stores e unless its ID is pending or remembered as done.
func (s *Store) Append(ctx context.Context, e caunoi.JournalEntry) (bool, error) {
	var added bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		added = false
		k := int64Key(e.ID)
		j := tx.Bucket(bktJournal)
		if j.Get(k) != nil || tx.Bucket(bktJDone).Get(k) != nil {
			return nil
		}
		if err := put(j, k, e); err != nil {
			return err
		}
		added = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("journal update %d: %w", e.ID, err)
	}
	return added, nil
}

// Pending returns up to limit entries not yet done, by ID.
func (s *Store) Pending(ctx context.Context, limit int) ([]caunoi.JournalEntry, error) {
	var out []caunoi.JournalEntry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bktJournal).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			var e caunoi.JournalEntry
			if err := codec.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending updates: %w", err)
	}
	return out, nil
}

// Done marks the entry handled and remembers its ID until Prune. Marking a
// done entry again is a no-op; an unknown ID is caunoi.ErrNotFound.
func (s *Store) Done(ctx context.Context, id int64) error {
	err := s.update(ctx, func(tx *bolt.Tx) error { return doneTx(tx, id) })
	if err != nil {
		return fmt.Errorf("journal done %d: %w", id, err)
	}
	return nil
}

// doneTx moves entry id from pending to done; an entry already done is
// left as it is, an unknown one is ErrNotFound (marked clean).
func doneTx(tx *bolt.Tx, id int64) error {
	k := int64Key(id)
	j, done := tx.Bucket(bktJournal), tx.Bucket(bktJDone)
	raw := j.Get(k)
	if raw == nil {
		if done.Get(k) != nil {
			return nil
		}
		return clean(caunoi.ErrNotFound)
	}
	var e caunoi.JournalEntry
	if err := codec.Unmarshal(raw, &e); err != nil {
		return err
	}
	if err := j.Delete(k); err != nil {
		return err
	}
	return done.Put(k, timeKey(e.Received))
}

// Prune forgets done entries received before before.
func (s *Store) Prune(ctx context.Context, before time.Time) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		done := tx.Bucket(bktJDone)
		var old [][]byte
		err := done.ForEach(func(k, v []byte) error {
			if keyTime(v).Before(before) {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := done.Delete(k); err != nil {
				return err
			}
		}
		return pruneSent(tx, before)
	})
	if err != nil {
		return fmt.Errorf("prune journal: %w", err)
	}
	return nil
}
