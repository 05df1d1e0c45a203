package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	bolt "go.etcd.io/bbolt"
)

// Official returns the person with id, or caunoi.ErrNotFound.
func (s *Store) Official(ctx context.Context, id caunoi.UserID) (caunoi.Official, error) {
	var o caunoi.Official
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return get(tx.Bucket(bktOfficials), int64Key(int64(id)), &o)
	})
	if err != nil {
		return caunoi.Official{}, fmt.Errorf("official %d: %w", id, err)
	}
	return o, nil
}

// PutOfficial creates or replaces a person.
func (s *Store) PutOfficial(ctx context.Context, o caunoi.Official) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return put(tx.Bucket(bktOfficials), int64Key(int64(o.ID)), o)
	})
	if err != nil {
		return fmt.Errorf("put official %d: %w", o.ID, err)
	}
	return nil
}

// Officials lists people holding role in department (empty matches all),
// ordered by ID. It scans the officials bucket, which stays small enough
// (one record per registered person) for that to be cheap.
func (s *Store) Officials(ctx context.Context, role caunoi.Role, department string) ([]caunoi.Official, error) {
	var out []caunoi.Official
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktOfficials).ForEach(func(k, v []byte) error {
			var o caunoi.Official
			if err := codec.Unmarshal(v, &o); err != nil {
				return err
			}
			if role != "" && !o.Has(role) {
				return nil
			}
			if department != "" && o.Department != department {
				return nil
			}
			out = append(out, o)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list officials: %w", err)
	}
	return out, nil
}

// CreateInvite stores inv; caunoi.ErrConflict if the code exists.
func (s *Store) CreateInvite(ctx context.Context, inv caunoi.Invite) error {
	if inv.Code == "" {
		return fmt.Errorf("create invite: empty code: %w", caunoi.ErrInvalid)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktInvites)
		if b.Get([]byte(inv.Code)) != nil {
			return clean(caunoi.ErrConflict)
		}
		return put(b, []byte(inv.Code), inv)
	})
	if err != nil {
		return fmt.Errorf("create invite: %w", err)
	}
	return nil
}

// Invite returns the invite with code, or caunoi.ErrNotFound.
func (s *Store) Invite(ctx context.Context, code string) (caunoi.Invite, error) {
	var inv caunoi.Invite
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return get(tx.Bucket(bktInvites), []byte(code), &inv)
	})
	if err != nil {
		return caunoi.Invite{}, fmt.Errorf("invite: %w", err)
	}
	return inv, nil
}

// RedeemInvite marks the invite used and stores o with the invite's role,
// commune and department merged in, in one transaction. It returns
// caunoi.ErrNotFound for an unknown code and caunoi.ErrExpired for a used or
// expired one.
func (s *Store) RedeemInvite(ctx context.Context, code string, o caunoi.Official, now time.Time) (caunoi.Official, error) {
	if o.ID == 0 {
		return caunoi.Official{}, fmt.Errorf("redeem invite: official without id: %w", caunoi.ErrInvalid)
	}
	var out caunoi.Official
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktInvites)
		var inv caunoi.Invite
		if err := get(b, []byte(code), &inv); err != nil {
			return err
		}
		if !inv.Usable(now) {
			return clean(caunoi.ErrExpired)
		}
		inv.UsedBy, inv.UsedAt = o.ID, now
		out = inv.Grant(o)
		if err := put(b, []byte(code), inv); err != nil {
			return err
		}
		return put(tx.Bucket(bktOfficials), int64Key(int64(out.ID)), out)
	})
	if err != nil {
		return caunoi.Official{}, fmt.Errorf("redeem invite: %w", err)
	}
	return out, nil
}

// ReplaceCommunes replaces the whole registry in one transaction.
func (s *Store) ReplaceCommunes(ctx context.Context, communes []caunoi.Commune) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bktCommunes); err != nil {
			return err
		}
		b, err := tx.CreateBucket(bktCommunes)
		if err != nil {
			return err
		}
		for _, c := range communes {
			if c.Code == "" {
				return fmt.Errorf("commune with empty code: %w", caunoi.ErrInvalid)
			}
			if err := put(b, []byte(c.Code), c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace communes: %w", err)
	}
	return nil
}

// Commune returns the commune with code, or caunoi.ErrNotFound.
func (s *Store) Commune(ctx context.Context, code string) (caunoi.Commune, error) {
	var c caunoi.Commune
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return get(tx.Bucket(bktCommunes), []byte(code), &c)
	})
	if err != nil {
		return caunoi.Commune{}, fmt.Errorf("commune %q: %w", code, err)
	}
	return c, nil
}

// Communes lists the registry ordered by code.
func (s *Store) Communes(ctx context.Context) ([]caunoi.Commune, error) {
	var out []caunoi.Commune
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bktCommunes).ForEach(func(k, v []byte) error {
			var c caunoi.Commune
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list communes: %w", err)
	}
	return out, nil
}
