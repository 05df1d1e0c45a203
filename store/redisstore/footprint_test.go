package redisstore

import (
	"context"
	"strconv"
	"testing"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/redistest"
	"github.com/caunoi/caunoi/store/storetest"
)

// BenchmarkFootprint reports the memory a ticket and a logged question take
// in Redis: the growth of used_memory (INFO memory), which counts the keys
// and Redis's own structures for them.
//
//	go test -run '^$' -bench Footprint -benchtime 5000x ./store/redisstore/
func BenchmarkFootprint(b *testing.B) {
	storetest.BenchFootprint(b, func(tb testing.TB) caunoi.Store {
		return open(tb, redistest.Start(tb), "caunoi:")
	}, func(tb testing.TB, s caunoi.Store) int64 {
		info, err := s.(*Store).rdb.Info(context.Background(), "memory").Result()
		if err != nil {
			tb.Fatal(err)
		}
		v, ok := infoFields(info)["used_memory"]
		if !ok {
			tb.Fatal("INFO memory without used_memory")
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		return n
	})
}

// BenchmarkPruneQuestions deletes b.N old question records while tickets
// are being created (storetest.BenchPrune):
//
//	go test -run '^$' -bench PruneQuestions -benchtime 100000x ./store/redisstore/
func BenchmarkPruneQuestions(b *testing.B) {
	storetest.BenchPrune(b, func(tb testing.TB) caunoi.Store {
		return open(tb, redistest.Start(tb), "caunoi:")
	})
}
