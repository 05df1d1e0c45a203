package loadtest

import (
	"strings"
	"testing"
	"time"
)

func TestParseBotTime(t *testing.T) {
	const text = `# HELP caunoi_update_handle_seconds The bot's own time per update.
# TYPE caunoi_update_handle_seconds histogram
caunoi_update_handle_seconds_bucket{le="0.001"} 0
caunoi_update_handle_seconds_bucket{le="0.002"} 50
caunoi_update_handle_seconds_bucket{le="0.005"} 90
caunoi_update_handle_seconds_bucket{le="0.01"} 100
caunoi_update_handle_seconds_bucket{le="+Inf"} 100
caunoi_update_handle_seconds_sum 0.25
caunoi_update_handle_seconds_count 100
caunoi_updates_handled_total 100
`
	bt, err := parseBotTime(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	// The 50th of 100 is the top of the (1 ms, 2 ms] bucket; the 99th is
	// nine tenths into (5 ms, 10 ms].
	want := BotTime{N: 100, Mean: 2500 * time.Microsecond, P50: 2 * time.Millisecond, P99: 9500 * time.Microsecond}
	if *bt != want {
		t.Errorf("got %+v, want %+v", *bt, want)
	}
	if _, err := parseBotTime(strings.NewReader("caunoi_updates_handled_total 1\n")); err == nil {
		t.Error("metrics without the histogram: no error")
	}
}
