package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// PruneBatch is the batch BenchPrune deletes questions in, as caunoi serve
// and caunoi questions prune do.
const PruneBatch = 500

// BenchPrune measures deleting b.N old question records, PruneBatch at a
// time, while a desk goes on creating tickets at 200 a second. It logs
// b.N records of the size BenchFootprint uses, outside the timer, then
// times the deletion and reports:
//
//   - records/s deleted;
//   - batch-p50-ms and batch-max-ms, the time of one PruneQuestions call;
//   - create-p99-ms, of the tickets created during the deletion, and
//     alone-p99-ms, of those created in the second before it began on the
//     same store: what the deletion adds to a desk's writes.
func BenchPrune(b *testing.B, open func(tb testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(b)
	old := suiteEpoch.AddDate(-3, 0, 0)
	if err := parallel(b.N, func(i int) error {
		_, err := s.LogQuestion(ctx, footprintQuestion(i, old.Add(time.Duration(i)*time.Second)))
		return err
	}); err != nil {
		b.Fatalf("log questions: %v", err)
	}
	cutoff := old.Add(time.Duration(b.N) * time.Second)

	// The desk's writes: a ticket every 5 ms, timed.
	var (
		mu        sync.Mutex
		latencies []time.Duration
		created   int
	)
	stop := make(chan struct{})
	desk := sync.WaitGroup{}
	desk.Add(1)
	go func() {
		defer desk.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			tk := sampleTicket("tu-phap", 30, suiteEpoch)
			mu.Lock()
			tk.IdemKey = fmt.Sprintf("prune-bench:%d", created)
			created++
			mu.Unlock()
			t0 := time.Now()
			if _, _, err := s.CreateTicket(ctx, "TP", tk, createdEvent(30, suiteEpoch)); err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			latencies = append(latencies, time.Since(t0))
			mu.Unlock()
		}
	}()
	take := func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		out := latencies
		latencies = nil
		return out
	}
	time.Sleep(time.Second)
	alone := take()

	b.ResetTimer()
	steal0, stealOK := stolen()
	start := time.Now()
	var batches []time.Duration
	deleted := 0
	for {
		t0 := time.Now()
		n, err := s.PruneQuestions(ctx, cutoff, PruneBatch)
		batches = append(batches, time.Since(t0))
		if err != nil {
			b.Fatalf("PruneQuestions: %v", err)
		}
		deleted += n
		if n < PruneBatch {
			break
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	desk.Wait()
	during := take()
	if deleted != b.N {
		b.Fatalf("deleted %d records, want %d", deleted, b.N)
	}
	b.ReportMetric(float64(deleted)/elapsed.Seconds(), "records/s")
	slices.Sort(batches)
	b.ReportMetric(ms(batches[len(batches)/2]), "batch-p50-ms")
	b.ReportMetric(ms(batches[len(batches)-1]), "batch-max-ms")
	b.ReportMetric(ms(p99(during)), "create-p99-ms")
	b.ReportMetric(ms(p99(alone)), "alone-p99-ms")
	reportSteal(b, steal0, stealOK)
}

// p99 is the nearest-rank 99th percentile of d, or 0 when d is empty.
func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[(len(d)*99+99)/100-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
