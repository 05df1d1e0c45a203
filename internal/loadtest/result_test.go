package loadtest

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/caunoi/caunoi/bot/telegramtest"
)

func TestSummarise(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := Summarise(ds)
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{
		{"p50", p.P50, 50 * time.Millisecond},
		{"p90", p.P90, 90 * time.Millisecond},
		{"p99", p.P99, 99 * time.Millisecond},
		{"max", p.Max, 100 * time.Millisecond},
	} {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
	if got := Summarise(nil); got.N != 0 {
		t.Errorf("Summarise(nil).N = %d, want 0", got.N)
	}
}

func TestCheckRates(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	send := func(chat int64, ms int) telegramtest.Request {
		return telegramtest.Request{Method: "sendMessage", ChatID: chat, Time: t0.Add(time.Duration(ms) * time.Millisecond), Status: 200}
	}
	tests := []struct {
		name       string
		reqs       []telegramtest.Request
		violations int
		minGap     time.Duration
		maxPerSec  int
	}{
		{"spaced", []telegramtest.Request{send(1, 0), send(1, 1200), send(2, 100)}, 0, 1200 * time.Millisecond, 2},
		{"chat too fast", []telegramtest.Request{send(1, 0), send(1, 500)}, 1, 500 * time.Millisecond, 2},
		{"dropped calls do not count", []telegramtest.Request{send(1, 0), {Method: "sendMessage", ChatID: 1, Time: t0.Add(time.Millisecond)}}, 0, -1, 1},
		{"other methods do not count", []telegramtest.Request{send(1, 0), {Method: "getUpdates", Time: t0, Status: 200}}, 0, -1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := CheckRates(tt.reqs, nil, 30, time.Second, 20)
			if len(rc.Violations) != tt.violations || rc.MinGap != tt.minGap || rc.MaxPerSec != tt.maxPerSec {
				t.Errorf("got %d violations %v, min gap %s, max/s %d; want %d, %s, %d",
					len(rc.Violations), rc.Violations, rc.MinGap, rc.MaxPerSec, tt.violations, tt.minGap, tt.maxPerSec)
			}
		})
	}
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Unix(0, 0)
	var ts []time.Time
	for _, ms := range []int{0, 100, 999, 1000, 1500, 3000} {
		ts = append(ts, t0.Add(time.Duration(ms)*time.Millisecond))
	}
	if got := maxInWindow(ts, time.Second); got != 3 {
		t.Errorf("maxInWindow = %d, want 3", got)
	}
}

func TestStripMarks(t *testing.T) {
	for in, want := range map[string]string{
		"Đăng ký khai sinh":  "Dang ky khai sinh",
		"chứng thực bản sao": "chung thuc ban sao",
		"CCCD":               "CCCD",
	} {
		if got := StripMarks(in); got != want {
			t.Errorf("StripMarks(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuestionID(t *testing.T) {
	enc := func(arg string) string {
		b := append([]byte{1, 4}, arg...)
		b = append(b, make([]byte, 8)...)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for _, c := range []struct {
		data string
		want int64
	}{
		{enc("Q42"), 42},
		{enc("TP-2026-000001"), 0},
		{"not base64!", 0},
		{"", 0},
	} {
		if got := questionID(c.data); got != c.want {
			t.Errorf("questionID(%q) = %d, want %d", c.data, got, c.want)
		}
	}
}

func TestVocabulary(t *testing.T) {
	got := Vocabulary([]string{"Đăng ký khai sinh", "hộ khẩu", "Đăng ký khai sinh"})
	want := []string{"Đăng ký khai sinh", "Dang ky khai sinh", "hộ khẩu"}
	if len(got) != len(want) {
		t.Fatalf("Vocabulary = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Vocabulary[%d] = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestSustainedRate(t *testing.T) {
	if s := SustainedRate(nil); s != nil {
		t.Errorf("no readings: %+v, want nil", s)
	}
	// Produced jumps to 1,000 at once; the bot finishes 100 a second, then
	// the last 50 trickle in one a second.
	var loads []Backlog
	for i := 0; i <= 10; i++ {
		loads = append(loads, Backlog{Produced: 1000, Handled: int64(100 * i)})
	}
	for i := 1; i <= 50; i++ {
		loads = append(loads, Backlog{Produced: 1000 + i, Handled: int64(1000 + i)})
	}
	s := SustainedRate(loads)
	// The ninth second ends with only a second's work waiting, the tenth
	// with none: eight count.
	if s == nil || s.Seconds != 8 || s.Rate != 100 {
		t.Errorf("got %+v, want 8 seconds at 100/s", s)
	}
	// A bot that keeps up never has a queue.
	loads = loads[:0]
	for i := 0; i < 20; i++ {
		loads = append(loads, Backlog{Produced: 10 * i, Handled: int64(10*i - min(i, 3))})
	}
	if s := SustainedRate(loads); s != nil {
		t.Errorf("a bot that keeps up: %+v, want nil", s)
	}
}
