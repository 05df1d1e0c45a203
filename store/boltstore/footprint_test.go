package boltstore

import (
	"path/filepath"
	"testing"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/storetest"
	bolt "go.etcd.io/bbolt"
)

// BenchmarkFootprint reports the bytes a ticket and a logged question take
// in the file: its pages up to the highest in use (tx.Size), which is what
// a compacted copy or a backup of it holds; the file itself grows ahead of
// that in steps.
//
//	go test -run '^$' -bench Footprint -benchtime 5000x ./store/boltstore/
func BenchmarkFootprint(b *testing.B) {
	storetest.BenchFootprint(b, openTemp, func(tb testing.TB, s caunoi.Store) int64 {
		var n int64
		if err := s.(*Store).db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil }); err != nil {
			tb.Fatal(err)
		}
		return n
	})
}

// BenchmarkPruneQuestions deletes b.N old question records while tickets
// are being created (storetest.BenchPrune):
//
//	go test -run '^$' -bench PruneQuestions -benchtime 100000x ./store/boltstore/
func BenchmarkPruneQuestions(b *testing.B) {
	storetest.BenchPrune(b, openTemp)
}

// openTemp opens a store in a file of its own, closed at the end of tb.
func openTemp(tb testing.TB) caunoi.Store {
	s, err := Open(filepath.Join(tb.TempDir(), "caunoi.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
