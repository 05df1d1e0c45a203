package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// handleMetric is the serve process's histogram of its own time per update.
const handleMetric = "caunoi_update_handle_seconds"

// BotTime is the bot's own time per update, from its receipt until its
// replies were queued for delivery, as the serve process measured it. Unlike
// the latency the emulator sees, it leaves out the delivery and any wait for
// the sending limits. Percentiles are interpolated inside the histogram's
// buckets, as Prometheus's histogram_quantile does.
type BotTime struct {
	N    int64         `json:"n"`
	Mean time.Duration `json:"mean_ns"`
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
}

// BotTime reads the serve process's metrics while it runs.
func (s *Serve) BotTime(ctx context.Context) (*BotTime, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Admin+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read metrics: status %d", resp.StatusCode)
	}
	return parseBotTime(resp.Body)
}

// parseBotTime reads handleMetric from the Prometheus text format.
func parseBotTime(r io.Reader) (*BotTime, error) {
	type bucket struct {
		le  float64
		cum float64
	}
	var buckets []bucket
	var sum, count float64
	seen := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, handleMetric) {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %v", line, err)
		}
		switch {
		case strings.HasPrefix(name, handleMetric+"_bucket{le=\""):
			le := strings.TrimSuffix(strings.TrimPrefix(name, handleMetric+"_bucket{le=\""), "\"}")
			bound := math.Inf(1)
			if le != "+Inf" {
				if bound, err = strconv.ParseFloat(le, 64); err != nil {
					return nil, fmt.Errorf("metrics line %q: %v", line, err)
				}
			}
			buckets = append(buckets, bucket{bound, v})
			seen = true
		case name == handleMetric+"_sum":
			sum = v
		case name == handleMetric+"_count":
			count = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	if !seen {
		return nil, fmt.Errorf("metrics: no %s", handleMetric)
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].le < buckets[j].le })
	bt := &BotTime{N: int64(count)}
	if count == 0 {
		return bt, nil
	}
	bt.Mean = seconds(sum / count)
	quantile := func(q float64) time.Duration {
		rank := q * count
		lower, prev := 0.0, 0.0
		for _, b := range buckets {
			if b.cum >= rank {
				if math.IsInf(b.le, 1) {
					return seconds(lower) // past the last bound: report the bound
				}
				if b.cum == prev {
					return seconds(b.le)
				}
				return seconds(lower + (b.le-lower)*(rank-prev)/(b.cum-prev))
			}
			lower, prev = b.le, b.cum
		}
		return seconds(lower)
	}
	bt.P50, bt.P99 = quantile(0.50), quantile(0.99)
	return bt, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
