package storetest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// BenchClients is how many goroutines Bench runs at once.
const BenchClients = 32

// Bench measures the ticket operations that staff and officials cause most,
// each with BenchClients concurrent callers:
//
//   - create: CreateTicket with a fresh idempotency key;
//   - claim: UpdateTicket claiming a new ticket (one ticket per operation);
//   - reply: UpdateTicket appending a reply to one of 256 busy tickets.
//
// Besides ns/op it reports throughput (ops/s), the median and 99th
// percentile latency of one call (p50-ms, p99-ms) and, on Linux, the CPU
// time the hypervisor took from the machine during the run (steal-ms,
// summed over its CPUs).
func Bench(b *testing.B, open func(tb testing.TB) caunoi.Store) {
	benchOps(b, open, measure)
}

// BenchAt runs Bench's three operations as an open workload at each of
// rates, in calls a second: call i is due at i/rate seconds after the
// start, and whichever of BenchClients callers is free takes the next call
// that is due. A call's latency counts from when it was due, so a stall is
// charged to every call it held back; when the caller was ahead of the
// schedule, it counts from when its sleep ended, since oversleeping is the
// timer's and not the store's. Bench drives the store as hard as its
// callers can, which measures a saturated store: there the 32 callers wait
// 32 divided by the throughput on average, whatever the store does, and
// slow calls also slow the arrivals. BenchAt measures what requests that
// arrive on their own see at a stated load. ops/s is the rate achieved,
// which falls below the rate asked for when the store cannot keep up.
func BenchAt(b *testing.B, open func(tb testing.TB) caunoi.Store, rates ...int) {
	for _, rate := range rates {
		if rate <= 0 {
			b.Fatalf("BenchAt: rate %d is not a positive number of calls a second", rate)
		}
		b.Run(fmt.Sprintf("%d-per-s", rate), func(b *testing.B) {
			benchOps(b, open, func(b *testing.B, op func(i int) error) { measureAt(b, rate, op) })
		})
	}
}

// benchOps runs create, claim and reply, each measured by m.
func benchOps(b *testing.B, open func(tb testing.TB) caunoi.Store, m func(b *testing.B, op func(i int) error)) {
	ctx := context.Background()
	b.Run("create", func(b *testing.B) {
		s := open(b)
		m(b, func(i int) error {
			tk := sampleTicket("tu-phap", caunoi.UserID(i%5000+1), suiteEpoch.Add(time.Duration(i)*time.Millisecond))
			tk.IdemKey = fmt.Sprintf("bench:%d", i)
			_, _, err := s.CreateTicket(ctx, "TP", tk, createdEvent(tk.Asker, tk.Created))
			return err
		})
	})
	b.Run("claim", func(b *testing.B) {
		s := open(b)
		numbers := createMany(b, s, b.N)
		m(b, func(i int) error {
			_, err := s.UpdateTicket(ctx, numbers[i], claimFn(caunoi.UserID(100+i%50), suiteEpoch.Add(time.Hour)))
			return err
		})
	})
	b.Run("reply", func(b *testing.B) {
		s := open(b)
		numbers := createMany(b, s, 256)
		m(b, func(i int) error {
			at := suiteEpoch.Add(time.Hour + time.Duration(i)*time.Millisecond)
			_, err := s.UpdateTicket(ctx, numbers[i%len(numbers)], func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
				from := cur.Status
				cur.Status, cur.Updated = caunoi.StatusAnswered, at
				if cur.FirstResponse.IsZero() {
					cur.FirstResponse = at
				}
				return []caunoi.Event{{Kind: caunoi.EventReplied, Actor: 10, At: at, Text: "Hồ sơ nộp tại bộ phận một cửa của UBND xã.", From: from, To: caunoi.StatusAnswered}}, nil
			})
			return err
		})
	})
}

// createMany creates n tickets with BenchClients goroutines, outside the
// timer, and returns their numbers.
func createMany(b *testing.B, s caunoi.Store, n int) []string {
	b.Helper()
	numbers := make([]string, n)
	err := parallel(n, func(i int) error {
		tk, _, err := s.CreateTicket(context.Background(), "TP", sampleTicket("tu-phap", 30, suiteEpoch), createdEvent(30, suiteEpoch))
		numbers[i] = tk.Number
		return err
	})
	if err != nil {
		b.Fatalf("create tickets: %v", err)
	}
	return numbers
}

// parallel calls fn with every index in [0, n) on BenchClients goroutines
// and returns the first error; a goroutine stops at its first error.
func parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, BenchClients)
	for range BenchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// measure runs op b.N times on BenchClients goroutines, giving each call a
// distinct index in [0, b.N), and reports ops/s and p99-ms.
func measure(b *testing.B, op func(i int) error) {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((BenchClients + procs - 1) / procs)
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
	)
	b.ResetTimer()
	steal0, stealOK := stolen()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 256)
		for pb.Next() {
			i := int(next.Add(1) - 1)
			t0 := time.Now()
			if err := op(i); err != nil {
				b.Error(err)
				break
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		latencies = append(latencies, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, latencies, elapsed)
	reportSteal(b, steal0, stealOK)
}

// measureAt runs op b.N times at rate calls a second on BenchClients
// goroutines and reports the rate achieved (ops/s) and the median and 99th
// percentile latency counted from each call's due time (p50-ms, p99-ms).
func measureAt(b *testing.B, rate int, op func(i int) error) {
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		wg        sync.WaitGroup
	)
	interval := float64(time.Second) / float64(rate)
	b.ResetTimer()
	steal0, stealOK := stolen()
	start := time.Now()
	for range BenchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, b.N/BenchClients+1)
			defer func() {
				mu.Lock()
				latencies = append(latencies, local...)
				mu.Unlock()
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				from := start.Add(time.Duration(float64(i) * interval))
				if wait := time.Until(from); wait > 0 {
					time.Sleep(wait)
					from = time.Now() // the sleep's overshoot is the timer's, not the store's
				}
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(from))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	report(b, latencies, elapsed)
	reportSteal(b, steal0, stealOK)
}

// report sorts latencies and reports ops/s, p50-ms and p99-ms.
func report(b *testing.B, latencies []time.Duration, elapsed time.Duration) {
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(len(latencies))/elapsed.Seconds(), "ops/s")
	b.ReportMetric(ms(percentile(latencies, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 99)), "p99-ms")
}

// percentile is the nearest-rank p-th percentile of sorted, which must not
// be empty.
func percentile(sorted []time.Duration, p int) time.Duration {
	return sorted[(len(sorted)*p+99)/100-1]
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// reportSteal reports steal-ms, the time the hypervisor kept the
// machine's CPUs from running since stolen returned steal0 (summed over
// the CPUs), when ok.
func reportSteal(b *testing.B, steal0 time.Duration, ok bool) {
	if !ok {
		return
	}
	if steal, ok := stolen(); ok {
		b.ReportMetric(float64((steal - steal0).Milliseconds()), "steal-ms")
	}
}

// BenchLists measures the reads that run on a schedule, on a store that
// holds 20,000 tickets of three departments, all but 300 of them finished
// over the past 200 days:
//
//   - open: Tickets of the statuses the department acts in, all
//     departments (the reminders, once a minute);
//   - finished-day: Tickets of one department resolved or closed in one day
//     (the digest, each morning);
//   - count: CountTickets (the metrics, every 15 seconds).
//
// Each reports ms/op. What they read should grow with the open tickets and
// the day's, not with every ticket ever made.
func BenchLists(b *testing.B, open func(tb testing.TB) caunoi.Store) {
	const total, stillOpen = 20_000, 300
	ctx := context.Background()
	s := open(b)
	numbers := createMany(b, s, total)
	depts := []string{"tu-phap", "xay-dung", "noi-vu"}
	err := parallel(total, func(i int) error {
		_, err := s.UpdateTicket(ctx, numbers[i], func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
			cur.Department = depts[i%len(depts)]
			if i >= stillOpen {
				cur.Status, cur.ResolvedAt = caunoi.StatusResolved, suiteEpoch.Add(time.Duration(i%200)*24*time.Hour+time.Hour)
				if i%10 == 0 {
					cur.Status = caunoi.StatusClosed
				}
			}
			return nil, nil
		})
		return err
	})
	if err != nil {
		b.Fatalf("finish tickets: %v", err)
	}
	own := []caunoi.Status{caunoi.StatusNew, caunoi.StatusClaimed, caunoi.StatusReopened, caunoi.StatusTransferred}
	day := suiteEpoch.Add(100 * 24 * time.Hour)
	lists := []struct {
		name string
		f    caunoi.TicketFilter
		want int
	}{
		{"open", caunoi.TicketFilter{Statuses: own}, stillOpen},
		{"finished-day", caunoi.TicketFilter{Department: "xay-dung", Statuses: []caunoi.Status{caunoi.StatusResolved, caunoi.StatusClosed}, ResolvedAfter: day, ResolvedBefore: day.Add(24 * time.Hour)}, 33},
	}
	for _, l := range lists {
		b.Run(l.name, func(b *testing.B) {
			for b.Loop() {
				ts, err := s.Tickets(ctx, l.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(ts) != l.want {
					b.Fatalf("Tickets(%s) = %d tickets, want %d", l.name, len(ts), l.want)
				}
			}
			b.ReportMetric(ms(b.Elapsed())/float64(b.N), "ms/op")
		})
	}
	b.Run("count", func(b *testing.B) {
		for b.Loop() {
			counts, err := s.CountTickets(ctx)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for _, c := range counts {
				n += c
			}
			if n != total {
				b.Fatalf("CountTickets counted %d tickets, want %d", n, total)
			}
		}
		b.ReportMetric(ms(b.Elapsed())/float64(b.N), "ms/op")
	})
}
