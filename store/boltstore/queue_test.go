package boltstore_test

import (
	"testing"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/storetest"
)

func BenchmarkDueBacklog(b *testing.B) {
	storetest.BenchDueBacklog(b, func(tb testing.TB) caunoi.Store { return MustOpen(tb) })
}
