package bot

import (
	"sync/atomic"
	"time"

	"github.com/caunoi/caunoi"
)

// Metrics counts what the bot does. The zero value is ready; a nil *Metrics
// counts nothing. Safe for concurrent use. cmd exports the counters.
type Metrics struct {
	UpdatesIn      atomic.Int64
	UpdatesHandled atomic.Int64
	Duplicates     atomic.Int64
	Panics         atomic.Int64
	Sent           atomic.Int64
	SendErrors     atomic.Int64
	Throttled      atomic.Int64 // 429 replies
	Retries        atomic.Int64
	Answers        [3]atomic.Int64 // by caunoi.Confidence
	Escalations    atomic.Int64
	// HandleTime is the bot's own time per update: from its receipt (the
	// journal's Received) until its handler returned, replies queued in
	// the outbox. Delivery, and any wait for Telegram's limits, comes after.
	HandleTime Histogram
}

// LatencyBuckets are the upper bounds of Histogram's buckets: fine between
// 10 and 100 ms, where a question's handling time matters most.
var LatencyBuckets = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
	15 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond,
	50 * time.Millisecond, 60 * time.Millisecond, 75 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
	30 * time.Second, time.Minute,
}

// Histogram counts durations in LatencyBuckets. The zero value is ready.
type Histogram struct {
	counts [len(LatencyBuckets) + 1]atomic.Int64 // the last is +Inf
	sum    atomic.Int64                          // nanoseconds
}

// Observe counts d.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	for i < len(LatencyBuckets) && d > LatencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Snapshot returns the count in each bucket (the last one past every bound)
// and the sum of the durations.
func (h *Histogram) Snapshot() (counts []int64, sum time.Duration) {
	counts = make([]int64, len(LatencyBuckets)+1)
	for i := range counts {
		counts[i] = h.counts[i].Load()
	}
	return counts, time.Duration(h.sum.Load())
}

func (m *Metrics) sent(err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.SendErrors.Add(1)
		return
	}
	m.Sent.Add(1)
}

func (m *Metrics) throttled() {
	if m != nil {
		m.Throttled.Add(1)
	}
}

func (m *Metrics) retried() {
	if m != nil {
		m.Retries.Add(1)
	}
}

func (m *Metrics) handled(took time.Duration) {
	if m != nil {
		m.UpdatesHandled.Add(1)
		m.HandleTime.Observe(took)
	}
}

func (m *Metrics) panicked() {
	if m != nil {
		m.Panics.Add(1)
	}
}

func (m *Metrics) answered(c caunoi.Confidence) {
	if m != nil && int(c) >= 0 && int(c) < len(m.Answers) {
		m.Answers[c].Add(1)
	}
}

func (m *Metrics) escalated() {
	if m != nil {
		m.Escalations.Add(1)
	}
}
