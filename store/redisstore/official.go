package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	"github.com/redis/go-redis/v9"
)

// Keys: o:ID holds an official; the sets o:all, o:role:ROLE and o:dept:CODE
// index them. inv:CODE holds an invite; the hash communes holds the registry.

func (s *Store) officialKey(id caunoi.UserID) string {
	return s.key("o", strconv.FormatInt(int64(id), 10))
}

// Official returns the person with id, or caunoi.ErrNotFound.
func (s *Store) Official(ctx context.Context, id caunoi.UserID) (caunoi.Official, error) {
	var o caunoi.Official
	if err := getJSON(ctx, s.c, s.officialKey(id), &o); err != nil {
		return caunoi.Official{}, fmt.Errorf("official %d: %w", id, err)
	}
	return o, nil
}

// PutOfficial creates or replaces a person and moves them between the role
// and department indexes.
func (s *Store) PutOfficial(ctx context.Context, o caunoi.Official) error {
	data, err := codec.Marshal(o)
	if err != nil {
		return fmt.Errorf("put official %d: %w", o.ID, err)
	}
	k := s.officialKey(o.ID)
	err = s.watch(ctx, func(tx *redis.Tx) error {
		old, err := s.loadOfficial(ctx, tx, k)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			s.writeOfficial(ctx, p, old, o, data)
			return nil
		})
		return err
	}, k)
	if err != nil {
		return fmt.Errorf("put official %d: %w", o.ID, err)
	}
	return nil
}

// loadOfficial returns the official at k, or nil when there is none.
func (s *Store) loadOfficial(ctx context.Context, c redis.Cmdable, k string) (*caunoi.Official, error) {
	var o caunoi.Official
	err := getJSON(ctx, c, k, &o)
	if errors.Is(err, caunoi.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// writeOfficial queues the commands that replace old (nil if none) by o.
func (s *Store) writeOfficial(ctx context.Context, p redis.Pipeliner, old *caunoi.Official, o caunoi.Official, data []byte) {
	id := strconv.FormatInt(int64(o.ID), 10)
	if old != nil {
		for _, r := range old.Roles {
			p.SRem(ctx, s.key("o", "role", string(r)), id)
		}
		if old.Department != "" {
			p.SRem(ctx, s.key("o", "dept", old.Department), id)
		}
	}
	p.Set(ctx, s.officialKey(o.ID), data, 0)
	p.SAdd(ctx, s.key("o", "all"), id)
	for _, r := range o.Roles {
		p.SAdd(ctx, s.key("o", "role", string(r)), id)
	}
	if o.Department != "" {
		p.SAdd(ctx, s.key("o", "dept", o.Department), id)
	}
}

// Officials lists people holding role in department (empty matches all),
// ordered by ID.
func (s *Store) Officials(ctx context.Context, role caunoi.Role, department string) ([]caunoi.Official, error) {
	var sets []string
	if role != "" {
		sets = append(sets, s.key("o", "role", string(role)))
	}
	if department != "" {
		sets = append(sets, s.key("o", "dept", department))
	}
	if len(sets) == 0 {
		sets = append(sets, s.key("o", "all"))
	}
	ids, err := s.c.SInter(ctx, sets...).Result()
	if err != nil {
		return nil, fmt.Errorf("list officials: %w", err)
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.key("o", id)
	}
	var out []caunoi.Official
	err = mgetJSON(ctx, s.c, keys, func(data string) error {
		var o caunoi.Official
		if err := codec.UnmarshalString(data, &o); err != nil {
			return err
		}
		if (role == "" || o.Has(role)) && (department == "" || o.Department == department) {
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list officials: %w", err)
	}
	slices.SortFunc(out, func(a, b caunoi.Official) int { return int(min(max(a.ID-b.ID, -1), 1)) })
	return out, nil
}

// CreateInvite stores inv; caunoi.ErrConflict if the code exists.
func (s *Store) CreateInvite(ctx context.Context, inv caunoi.Invite) error {
	if inv.Code == "" {
		return fmt.Errorf("create invite: empty code: %w", caunoi.ErrInvalid)
	}
	data, err := codec.Marshal(inv)
	if err != nil {
		return fmt.Errorf("create invite: %w", err)
	}
	ok, err := s.c.SetNX(ctx, s.key("inv", inv.Code), data, 0).Result()
	if err != nil {
		return fmt.Errorf("create invite: %w", err)
	}
	if !ok {
		return fmt.Errorf("create invite: code exists: %w", caunoi.ErrConflict)
	}
	return nil
}

// Invite returns the invite with code, or caunoi.ErrNotFound.
func (s *Store) Invite(ctx context.Context, code string) (caunoi.Invite, error) {
	var inv caunoi.Invite
	if err := getJSON(ctx, s.c, s.key("inv", code), &inv); err != nil {
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
	ik, ok := s.key("inv", code), s.officialKey(o.ID)
	var out caunoi.Official
	err := s.watch(ctx, func(tx *redis.Tx) error {
		var inv caunoi.Invite
		if err := getJSON(ctx, tx, ik, &inv); err != nil {
			return err
		}
		if !inv.Usable(now) {
			return caunoi.ErrExpired
		}
		old, err := s.loadOfficial(ctx, tx, ok)
		if err != nil {
			return err
		}
		inv.UsedBy, inv.UsedAt = o.ID, now
		merged := inv.Grant(o)
		invData, err := codec.Marshal(inv)
		if err != nil {
			return err
		}
		offData, err := codec.Marshal(merged)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, ik, invData, 0)
			s.writeOfficial(ctx, p, old, merged, offData)
			return nil
		})
		out = merged
		return err
	}, ik, ok)
	if err != nil {
		return caunoi.Official{}, fmt.Errorf("redeem invite: %w", err)
	}
	return out, nil
}

// ReplaceCommunes replaces the whole registry in one MULTI/EXEC.
func (s *Store) ReplaceCommunes(ctx context.Context, communes []caunoi.Commune) error {
	fields := make([]any, 0, 2*len(communes))
	for _, c := range communes {
		if c.Code == "" {
			return fmt.Errorf("replace communes: commune with empty code: %w", caunoi.ErrInvalid)
		}
		data, err := codec.Marshal(c)
		if err != nil {
			return fmt.Errorf("replace communes: %w", err)
		}
		fields = append(fields, c.Code, data)
	}
	k := s.key("communes")
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k)
		if len(fields) > 0 {
			p.HSet(ctx, k, fields...)
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
	data, err := s.c.HGet(ctx, s.key("communes"), code).Bytes()
	if errors.Is(err, redis.Nil) {
		err = caunoi.ErrNotFound
	}
	var c caunoi.Commune
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err != nil {
		return caunoi.Commune{}, fmt.Errorf("commune %q: %w", code, err)
	}
	return c, nil
}

// Communes lists the registry ordered by code.
func (s *Store) Communes(ctx context.Context) ([]caunoi.Commune, error) {
	all, err := s.c.HGetAll(ctx, s.key("communes")).Result()
	if err != nil {
		return nil, fmt.Errorf("list communes: %w", err)
	}
	out := make([]caunoi.Commune, 0, len(all))
	for _, v := range all {
		var c caunoi.Commune
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			return nil, fmt.Errorf("list communes: %w", err)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b caunoi.Commune) int { return strings.Compare(a.Code, b.Code) })
	return out, nil
}
