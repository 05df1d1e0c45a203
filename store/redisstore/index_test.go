package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/redisstore"
	"github.com/caunoi/caunoi/store/redistest"
	"github.com/caunoi/caunoi/store/storetest"
	"github.com/redis/go-redis/v9"
)

// startWithClient starts a Redis for t and a plain client of it, to look
// at and change keys behind the store's back.
func startWithClient(t *testing.T) (*redistest.Server, *redis.Client) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return srv, rdb
}

// dropStatusIndexes deletes the indexes of status under prefix, leaving a
// store as a version without them wrote it.
func dropStatusIndexes(t *testing.T, rdb *redis.Client, prefix string) {
	t.Helper()
	ctx := context.Background()
	var keys []string
	for _, pattern := range []string{"tix:open:*", "tix:done:*", "tix:depts", "tix:indexed"} {
		ks, err := rdb.Keys(ctx, "{"+prefix+"}"+pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, ks...)
	}
	if len(keys) < 3 {
		t.Fatalf("found only %d index keys to drop: %v", len(keys), keys)
	}
	if err := rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestIndexBuiltForOlderStore writes tickets, drops the indexes of status
// as if an older version had written the store, and checks that a store
// on it answers correctly before the indexes exist (from the creation
// index) and after Open has built them, reporting its progress.
func TestIndexBuiltForOlderStore(t *testing.T) {
	ctx := context.Background()
	srv, rdb := startWithClient(t)
	m := storetest.WriteIndexSample(t, MustOpen(t, srv, "up:"))

	dropStatusIndexes(t, rdb, "up:")
	old := redisstore.New(rdb, "up:")
	m.CheckIndexes(t, old) // no index yet: the same answers, the slow way

	var last, total int64
	s, err := redisstore.Open(ctx, srv.URL(0)+"?prefix=up:", redisstore.WithIndexProgress(func(done, all int64) {
		if done < last {
			t.Errorf("progress went back from %d to %d", last, done)
		}
		last, total = done, all
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if last != int64(m.Len()) || total != int64(m.Len()) {
		t.Errorf("progress ended at %d of %d, want %d of %d", last, total, m.Len(), m.Len())
	}
	if n, err := rdb.Exists(ctx, "{up:}tix:indexed").Result(); err != nil || n != 1 {
		t.Fatalf("tix:indexed not set after Open (%d, %v)", n, err)
	}
	m.CheckIndexes(t, s)

	// Every ticket is in exactly one index of status.
	var sum int64
	for _, pattern := range []string{"{up:}tix:open:*", "{up:}tix:done:*"} {
		keys, err := rdb.Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			sum += rdb.ZCard(ctx, k).Val()
		}
	}
	if sum != int64(m.Len()) {
		t.Errorf("the indexes of status hold %d entries, want one for each of the %d tickets", sum, m.Len())
	}
}

// TestIndexBuildWhileWriting builds the indexes of status for 3,000
// tickets while another store of this version changes them, and checks
// the result against every ticket as finally stored.
func TestIndexBuildWhileWriting(t *testing.T) {
	ctx := context.Background()
	srv, rdb := startWithClient(t)
	w := MustOpen(t, srv, "live:")
	const n = 3000
	numbers := make([]string, n)
	depts := []struct{ prefix, code string }{{"TP", "tu-phap"}, {"XD", "xay-dung"}, {"NV", "noi-vu"}}
	at := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		d := depts[i%len(depts)]
		tk, _, err := w.CreateTicket(ctx, d.prefix, caunoi.Ticket{Department: d.code, Asker: caunoi.UserID(100 + i%9), Question: fmt.Sprintf("Câu hỏi số %d", i), Status: caunoi.StatusNew, Created: at.Add(time.Duration(i) * time.Minute)},
			caunoi.Event{Kind: caunoi.EventCreated, Actor: 100, At: at})
		if err != nil {
			t.Fatal(err)
		}
		numbers[i] = tk.Number
	}
	dropStatusIndexes(t, rdb, "live:")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var changes int
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			default:
			}
			st := caunoi.Statuses[rng.IntN(len(caunoi.Statuses))]
			dept := depts[rng.IntN(len(depts))].code
			when := at.Add(time.Duration(rng.IntN(100000)) * time.Minute)
			_, err := w.UpdateTicket(ctx, numbers[rng.IntN(n)], func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
				cur.Status, cur.Department, cur.ResolvedAt = st, dept, time.Time{}
				if !st.Open() {
					cur.ResolvedAt = when
				}
				return nil, nil
			})
			if err != nil {
				t.Error(err)
				return
			}
			changes++
		}
	}()
	// Two processes start at once: one builds, the other waits for it.
	opened := make([]*redisstore.Store, 2)
	errs := make([]error, 2)
	var starts sync.WaitGroup
	for i := range opened {
		starts.Add(1)
		go func() {
			defer starts.Done()
			opened[i], errs[i] = redisstore.Open(ctx, srv.URL(0)+"?prefix=live:")
		}()
	}
	starts.Wait()
	close(stop)
	wg.Wait()
	for i, s := range opened {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer s.Close()
	}
	t.Logf("%d changes while the indexes were built", changes)
	if changes == 0 {
		t.Fatal("no ticket changed while the indexes were built")
	}
	for _, s := range opened {
		storetest.ModelOf(t, s).CheckIndexes(t, s)
	}
}

// TestIndexRebuild leaves the indexes of status as an older process
// writing after the build would (a finished ticket still among the open
// ones, another department's open index naming a ticket, a ticket missing),
// deletes tix:indexed as docs/OPERATING.md says, and checks that the next
// Open builds them afresh.
func TestIndexRebuild(t *testing.T) {
	ctx := context.Background()
	srv, rdb := startWithClient(t)
	m := storetest.WriteIndexSample(t, MustOpen(t, srv, "re:"))
	finished, err := rdb.ZRange(ctx, "{re:}tix:done:resolved:tu-phap", 0, 0).Result()
	if err != nil || len(finished) != 1 {
		t.Fatalf("no resolved ticket in tu-phap to misplace (%v, %v)", finished, err)
	}
	open, err := rdb.ZRange(ctx, "{re:}tix:open:xay-dung", 0, 1).Result()
	if err != nil || len(open) != 2 {
		t.Fatalf("too few open tickets in xay-dung (%v, %v)", open, err)
	}
	rdb.ZAdd(ctx, "{re:}tix:open:tu-phap", redis.Z{Score: 1, Member: finished[0]})
	rdb.ZAdd(ctx, "{re:}tix:open:noi-vu", redis.Z{Score: 1, Member: open[0]})
	rdb.ZRem(ctx, "{re:}tix:open:xay-dung", open[1])
	rdb.Del(ctx, "{re:}tix:indexed")

	s := MustOpen(t, srv, "re:")
	m.CheckIndexes(t, s)
}
