package bot

import (
	"sync/atomic"

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

func (m *Metrics) handled() {
	if m != nil {
		m.UpdatesHandled.Add(1)
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
