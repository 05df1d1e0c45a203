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
	at := func(bound time.Duration) int {
		for i, b := range LatencyBuckets {
			if b == bound {
				return i
			}
		}
		t.Fatalf("no bucket ends at %v", bound)
		return -1
	}
	want := map[int]int64{at(time.Millisecond): 2, at(2 * time.Millisecond): 1, at(40 * time.Millisecond): 1, len(LatencyBuckets): 1}
	for i, c := range counts {
		if c != want[i] {
			t.Errorf("bucket %d holds %d, want %d", i, c, want[i])
		}
	}
	if wantSum := 2*time.Millisecond + 1 + 40*time.Millisecond + time.Hour; sum != wantSum {
		t.Errorf("sum %v, want %v", sum, wantSum)
	}
}
