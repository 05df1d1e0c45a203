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

// BenchPrune measures deleting b.N old question records,
// caunoi.QuestionPruneBatch at a time as caunoi.PruneOldQuestions does,
// while a desk goes on creating tickets at 200 a second. It logs b.N
// records of the size BenchFootprint uses, outside the timer, then times
// the deletion and reports:
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
	)
	stop := make(chan struct{})
	desk := sync.WaitGroup{}
	desk.Add(1)
	go func() {
		defer desk.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for created := 0; ; created++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			tk := sampleTicket("tu-phap", 30, suiteEpoch)
			tk.IdemKey = fmt.Sprintf("prune-bench:%d", created)
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
		n, err := s.PruneQuestions(ctx, cutoff, caunoi.QuestionPruneBatch)
		batches = append(batches, time.Since(t0))
		if err != nil {
			b.Fatalf("PruneQuestions: %v", err)
		}
		deleted += n
		if n < caunoi.QuestionPruneBatch {
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
	b.ReportMetric(ms(percentile(batches, 50)), "batch-p50-ms")
	b.ReportMetric(ms(batches[len(batches)-1]), "batch-max-ms")
	for _, c := range []struct {
		unit string
		d    []time.Duration
	}{{"create-p99-ms", during}, {"alone-p99-ms", alone}} {
		if len(c.d) == 0 {
			continue // the deletion was over before the first ticket
		}
		slices.Sort(c.d)
		b.ReportMetric(ms(percentile(c.d, 99)), c.unit)
	}
	reportSteal(b, steal0, stealOK)
}
