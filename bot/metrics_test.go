package bot

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{0, time.Millisecond, time.Millisecond + 1, 40 * time.Millisecond, time.Hour} {
		h.Observe(d)
	}
	counts, sum := h.Snapshot()
	if len(counts) != len(LatencyBuckets)+1 {
		t.Fatalf("%d buckets, want %d", len(counts), len(LatencyBuckets)+1)
	}
	want := map[int]int64{0: 2, 1: 1, 5: 1, len(LatencyBuckets): 1} // ≤1ms, ≤2ms, ≤50ms, +Inf
	for i, c := range counts {
		if c != want[i] {
			t.Errorf("bucket %d holds %d, want %d", i, c, want[i])
		}
	}
	if wantSum := 2*time.Millisecond + 1 + 40*time.Millisecond + time.Hour; sum != wantSum {
		t.Errorf("sum %v, want %v", sum, wantSum)
	}
}
