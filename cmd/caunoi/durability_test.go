package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caunoi/caunoi/store/redisstore"
	"github.com/caunoi/caunoi/store/redistest"
)

// TestServeWatchesRedisDurability changes a running Redis's settings under
// the app, as an operator or a restart with another configuration could:
// the watch logs each change that can lose data, and each repair, and
// /metrics follows.
func TestServeWatchesRedisDurability(t *testing.T) {
	rs := redistest.Start(t)
	e := newE2E(t)
	e.cfg.HandbookDir = smallHandbook
	e.cfg.Store = rs.URL(0) + "?prefix=ben:"
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a, err := openApp(context.Background(), e.cfg, log, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ad := newAdmin(a, time.Now())
	gauge := func(name string) (float64, bool) {
		t.Helper()
		mfs, err := ad.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name && len(mf.GetMetric()) == 1 {
				return mf.GetMetric()[0].GetGauge().GetValue(), true
			}
		}
		return 0, false
	}
	expect := func(evicts, aof float64) {
		t.Helper()
		waitFor(t, "the gauges", func() bool {
			e, ok1 := gauge("caunoi_redis_evicts_records")
			f, ok2 := gauge("caunoi_redis_aof_enabled")
			return ok1 && ok2 && e == evicts && f == aof
		})
	}
	expect(0, 1)
	if strings.Contains(logs.String(), "Redis") {
		t.Fatalf("a safe Redis drew a log line:\n%s", logs.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = watchDurability(ctx, a.store.(*redisstore.Store), a.durability, 10*time.Millisecond, log)
	}()
	defer func() {
		cancel()
		<-done
	}()
	c := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer c.Close()
	set := func(kv ...string) {
		t.Helper()
		for i := 0; i < len(kv); i += 2 {
			if err := c.ConfigSet(context.Background(), kv[i], kv[i+1]).Err(); err != nil {
				t.Fatalf("CONFIG SET %s %s: %v", kv[i], kv[i+1], err)
			}
		}
	}
	logged := func(want string) {
		t.Helper()
		waitFor(t, "a log line with "+want, func() bool { return strings.Contains(logs.String(), want) })
	}

	set("maxmemory", "64mb", "maxmemory-policy", "allkeys-lru")
	logged(`level=ERROR msg="Redis deletes any key when its memory is full`)
	expect(1, 1)
	set("appendonly", "no")
	logged(`level=WARN msg="Redis runs without the append-only file`)
	expect(1, 0)
	set("maxmemory-policy", "volatile-ttl")
	logged(`msg="Redis no longer deletes records when its memory is full"`)
	logged(`level=WARN msg="Redis may delete keys with an expiry`)
	expect(0, 0)
	set("maxmemory-policy", "noeviction", "appendonly", "yes")
	logged(`msg="Redis no longer deletes keys with an expiry early"`)
	logged(`msg="Redis writes the append-only file again"`)
	expect(0, 1)
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d errors logged, want the one change to allkeys-lru:\n%s", n, logs.String())
	}
}

// waitFor polls cond until it holds, or fails the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
