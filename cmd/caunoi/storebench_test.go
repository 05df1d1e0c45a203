package main

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/store/redistest"
	"github.com/caunoi/caunoi/store/storetest"
)

// BenchmarkStoreInServe runs the store benchmark (storetest.Bench) on the
// store of the process that caunoi serve builds, with the embedded
// handbook's index and the bot opened, on bbolt and on Redis. The store's
// own benchmarks run it in a process that holds little else, whose heap
// stays at the Go runtime's 4-MB floor and so is collected several times
// a second at these rates; serve holds the index as well, and collects far
// less often. It logs the heap in use after a collection, with the store
// open, before each measurement.
func BenchmarkStoreInServe(b *testing.B) {
	for _, kind := range []string{"bolt", "redis"} {
		b.Run(kind, func(b *testing.B) {
			storetest.Bench(b, func(tb testing.TB) caunoi.Store {
				return openServeStore(tb, kind)
			})
		})
	}
}

// openServeStore opens the app as serve does, against the Telegram
// emulator and a store of kind, and returns its store; the app closes at
// the end of tb. It logs the live heap.
func openServeStore(tb testing.TB, kind string) caunoi.Store {
	tb.Helper()
	srv := telegramtest.New(tb)
	cfg := DefaultConfig()
	cfg.Token, cfg.APIURL = srv.Token(), srv.URL()
	cfg.DataDir = tb.TempDir()
	cfg.SigningKey = "a-benchmark-signing-key-0123456789"
	cfg.Store = "bolt:" + filepath.Join(cfg.DataDir, "caunoi.db")
	if kind == "redis" {
		cfg.Store = redistest.Start(tb).URL(0) + "?prefix=bench:"
	}
	a, err := openApp(context.Background(), cfg, discardLogger(), nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Close)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	tb.Logf("live heap with the store open: %.1f MB", float64(ms.HeapAlloc)/(1<<20))
	return a.store
}
