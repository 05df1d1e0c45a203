package storetest

import (
	"sync"
	"testing"
	"time"
)

// TestMeasureAtChargesStalls checks that a stall of the whole store is
// charged to every call that was due while it lasted, not only to the
// BenchClients calls that were running. At 1,000 calls a second a 700-ms
// stall early in a run of about a second holds back most of its calls, so
// even the median must show it; counted from when each call started, only
// 32 calls would. Only lower bounds are checked, which a slow machine
// cannot break.
func TestMeasureAtChargesStalls(t *testing.T) {
	if testing.Short() {
		t.Skip("runs benchmarks of about two seconds")
	}
	const stall = 700 * time.Millisecond
	var store sync.RWMutex // a call holds it for reading, the stall for writing
	res := testing.Benchmark(func(b *testing.B) {
		stallAt := -1
		if b.N >= 100 { // not in the benchmark's first short rounds
			stallAt = b.N / 10
		}
		measureAt(b, 1000, func(i int) error {
			if i == stallAt {
				store.Lock()
				time.Sleep(stall)
				store.Unlock()
				return nil
			}
			store.RLock()
			store.RUnlock()
			return nil
		})
	})
	if res.N < 500 {
		t.Fatalf("ran %d calls, want about a second's worth at 1,000 a second", res.N)
	}
	p50, p99 := res.Extra["p50-ms"], res.Extra["p99-ms"]
	if p50 < 20 {
		t.Errorf("p50 %.2f ms with a %v stall early in a run of %d calls at 1,000 a second; want at least 20 ms", p50, stall, res.N)
	}
	if p99 < float64(stall/time.Millisecond)/2 {
		t.Errorf("p99 %.2f ms with a %v stall; want at least half of it", p99, stall)
	}
	if ops := res.Extra["ops/s"]; ops <= 0 || ops > 1100 {
		t.Errorf("ops/s %.0f at a rate of 1,000 a second", ops)
	}
}
