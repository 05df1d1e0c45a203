package boltstore

import (
	"context"
	"fmt"
	"time"

	"github.com/caunoi/caunoi"
	bolt "go.etcd.io/bbolt"
)

// Put stores value under key, replacing any value; ttl 0 means no expiry.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("put %q: negative ttl: %w", key, caunoi.ErrInvalid)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		v := kvValue{Value: value}
		if ttl > 0 {
			v.Expires = s.now().Add(ttl)
		}
		return put(tx.Bucket(bktKV), []byte(key), v)
	})
	if err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktKV).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}
