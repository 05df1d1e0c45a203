package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Durability is what the Redis server that holds the store does that can
// lose the store's data: write it to the append-only file or not, and
// delete keys when its memory is full.
type Durability struct {
	AOF       bool   // the append-only file is on: a crash loses about a second at most
	MaxMemory int64  // the memory limit in bytes, 0 for none
	Policy    string // maxmemory-policy: what Redis deletes at the limit
}

// EvictsRecords reports whether the server deletes keys without an expiry
// at its memory limit (maxmemory-policy allkeys-*): the store's tickets,
// officials and questions could vanish.
func (d Durability) EvictsRecords() bool {
	return d.MaxMemory > 0 && strings.HasPrefix(d.Policy, "allkeys-")
}

// EvictsExpiring reports whether the server deletes keys with an expiry
// before they expire, at its memory limit (maxmemory-policy volatile-*):
// the store's leases and idempotency keys, so that two replicas could
// handle the same update.
func (d Durability) EvictsExpiring() bool {
	return d.MaxMemory > 0 && strings.HasPrefix(d.Policy, "volatile-")
}

// Durability reads the server's settings with INFO, which managed Redis
// services allow where they refuse CONFIG. On Cluster it asks the master
// that holds the store's slot.
func (s *Store) Durability(ctx context.Context) (Durability, error) {
	var info *redis.StringCmd
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		c, err := cc.MasterForKey(ctx, s.schemaKey)
		if err != nil {
			return Durability{}, fmt.Errorf("redis durability: %w", err)
		}
		info = c.Info(ctx, "persistence", "memory")
	} else {
		info = s.rdb.Info(ctx, "persistence", "memory")
	}
	text, err := info.Result()
	if err != nil {
		return Durability{}, fmt.Errorf("redis durability: %w", err)
	}
	return parseDurability(text)
}

// parseDurability reads the fields of Durability from the text of INFO.
func parseDurability(text string) (Durability, error) {
	f := infoFields(text)
	aof, ok1 := f["aof_enabled"]
	limit, ok2 := f["maxmemory"]
	policy, ok3 := f["maxmemory_policy"]
	if !ok1 || !ok2 || !ok3 {
		return Durability{}, fmt.Errorf("redis durability: INFO lacks aof_enabled, maxmemory or maxmemory_policy")
	}
	n, err := strconv.ParseInt(limit, 10, 64)
	if err != nil {
		return Durability{}, fmt.Errorf("redis durability: maxmemory %q: %w", limit, err)
	}
	return Durability{AOF: aof == "1", MaxMemory: n, Policy: policy}, nil
}

// infoFields returns the "field:value" lines of the text of INFO as a map.
func infoFields(text string) map[string]string {
	out := map[string]string{}
	for line := range strings.SplitSeq(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
}
