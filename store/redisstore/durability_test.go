package redisstore_test

import (
	"context"
	"testing"

	"github.com/caunoi/caunoi/store/redisstore"
	"github.com/caunoi/caunoi/store/redistest"
)

// TestDurabilitySettings reads the settings of three real servers: the
// tests' own (AOF, no memory limit), one that may delete any key at its
// limit, and one that may delete keys with an expiry.
func TestDurabilitySettings(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name                    string
		args                    []string
		want                    redisstore.Durability
		evictsAll, evictsLeases bool
	}{
		{"aof", nil, redisstore.Durability{AOF: true, MaxMemory: 0, Policy: "noeviction"}, false, false},
		{"cache", []string{"--appendonly", "no", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"},
			redisstore.Durability{AOF: false, MaxMemory: 64 << 20, Policy: "allkeys-lru"}, true, false},
		{"volatile", []string{"--maxmemory", "1gb", "--maxmemory-policy", "volatile-ttl"},
			redisstore.Durability{AOF: true, MaxMemory: 1 << 30, Policy: "volatile-ttl"}, false, true},
		{"no limit", []string{"--maxmemory-policy", "allkeys-lru"},
			redisstore.Durability{AOF: true, MaxMemory: 0, Policy: "allkeys-lru"}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := MustOpen(t, redistest.Start(t, tt.args...), "d:")
			got, err := s.Durability(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Durability = %+v, want %+v", got, tt.want)
			}
			if got.EvictsRecords() != tt.evictsAll || got.EvictsExpiring() != tt.evictsLeases {
				t.Errorf("EvictsRecords, EvictsExpiring = %v, %v; want %v, %v", got.EvictsRecords(), got.EvictsExpiring(), tt.evictsAll, tt.evictsLeases)
			}
		})
	}
}
