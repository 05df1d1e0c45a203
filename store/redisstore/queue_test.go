package redisstore_test

import (
	"testing"

	"github.com/caunoi/caunoi/store/redistest"
	"github.com/caunoi/caunoi/store/storetest"
)

func BenchmarkDueBacklog(b *testing.B) {
	srv := redistest.Start(b)
	storetest.BenchDueBacklog(b, opener(srv))
}
