package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/redisstore"
	"github.com/caunoi/caunoi/store/redistest"
	"github.com/caunoi/caunoi/store/storetest"
	"github.com/redis/go-redis/v9"
)

var prefixes atomic.Int64

// opener returns a storetest open function whose stores share srv, each
// under its own prefix.
func opener(srv *redistest.Server) func(tb testing.TB) caunoi.Store {
	return func(tb testing.TB) caunoi.Store {
		return MustOpen(tb, srv, fmt.Sprintf("t%d:", prefixes.Add(1)))
	}
}

// MustOpen opens a store on srv under prefix and closes it when tb ends.
func MustOpen(tb testing.TB, srv *redistest.Server, prefix string) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.Open(context.Background(), srv.URL(0)+"?prefix="+prefix+"&pool_size=64")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, opener(srv))
}

// BenchmarkStore gives every measurement a Redis of its own, so that one
// starts with an empty append-only file instead of inheriting the writes of
// the measurements before it, and with them an AOF rewrite (a fork) that
// would land in whichever measurement happens to run then.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(tb testing.TB) caunoi.Store {
		return MustOpen(tb, redistest.Start(tb), "bench:")
	})
}

// BenchmarkStoreAt runs the store benchmark at fixed rates: 500 and
// 2,000 calls a second, and the 10,000 ticket operations a second the
// Redis store must sustain; each measurement has a Redis of its own, as in
// BenchmarkStore.
func BenchmarkStoreAt(b *testing.B) {
	storetest.BenchAt(b, func(tb testing.TB) caunoi.Store {
		return MustOpen(tb, redistest.Start(tb), "bench:")
	}, 500, 2000, 10000)
}

// TestKeysUnderPrefix checks that every key the store writes is under its
// prefix, inside a hash tag.
func TestKeysUnderPrefix(t *testing.T) {
	srv := redistest.Start(t)
	s := MustOpen(t, srv, "caunoi:")
	storetest.WriteSample(t, s)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	keys, err := rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatal("no keys written")
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "{caunoi:}") {
			t.Errorf("key %q is outside the prefix {caunoi:}", k)
		}
	}
}

// TestDurability writes with appendfsync always, stops Redis abruptly,
// starts it again on the same directory and reads everything back.
func TestDurability(t *testing.T) {
	srv := redistest.Start(t, "--appendfsync", "always")
	ctx := context.Background()
	s, err := redisstore.Open(ctx, srv.URL(0)+"?prefix=ben:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := storetest.WriteSample(t, s)

	srv.Kill(t)
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded with Redis down")
	}
	srv.Restart(t)
	storetest.CheckSample(t, s, w)

	srv.Stop(t)
	srv.Restart(t)
	storetest.CheckSample(t, s, w)
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tests := []struct {
		url  string
		want error // nil: any error
	}{
		{"redis://bob:hemmelig@127.0.0.1:1/0", nil},
		{"redis://bob:hemmelig@127.0.0.1:1/abc", caunoi.ErrInvalid},
		{"redis://bob:hemmelig@127.0.0.1:1/0?khong_co=1", caunoi.ErrInvalid},
		{"http://bob:hemmelig@127.0.0.1:1/0", caunoi.ErrInvalid},
		{"redis://bob:hemmelig@[::1/0", caunoi.ErrInvalid},
	}
	for _, tt := range tests {
		_, err := redisstore.Open(ctx, tt.url)
		if err == nil {
			t.Errorf("Open(%s) succeeded, want an error", tt.url)
			continue
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("Open(%s): got error %v, want %v", tt.url, err, tt.want)
		}
		if strings.Contains(err.Error(), "hemmelig") {
			t.Errorf("Open(%s): the error shows the password: %v", tt.url, err)
		}
	}
}

func TestStoreContention(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunContention(t, opener(srv))
}

// BenchmarkLists measures the scheduled reads with the indexes of status
// ("indexed"), and on a store whose indexes were never marked complete, so
// that it reads every ticket as it did before they existed ("scan").
func BenchmarkLists(b *testing.B) {
	b.Run("indexed", func(b *testing.B) {
		storetest.BenchLists(b, func(tb testing.TB) caunoi.Store {
			return MustOpen(tb, redistest.Start(tb), "bench:")
		})
	})
	b.Run("scan", func(b *testing.B) {
		storetest.BenchLists(b, func(tb testing.TB) caunoi.Store {
			rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(tb).Addr(), PoolSize: 64})
			tb.Cleanup(func() { rdb.Close() })
			return redisstore.New(rdb, "bench:") // New does not build the indexes
		})
	})
}
