package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// testClock is a clock that moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// opsEnv is the bot wired as serve wires it, polling the emulator, with the
// admin endpoints on a real HTTP server and on a clock of the test's.
type opsEnv struct {
	*e2e
	admin *admin
	url   string
	clock *testClock
}

// mustStartOps starts the bot and its admin endpoints; they stop at the end
// of the test.
func mustStartOps(t *testing.T) *opsEnv {
	t.Helper()
	e := newE2E(t)
	e.cfg.HandbookDir = smallHandbook // quick to index; the admin does not depend on the content
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := openApp(context.Background(), e.cfg, log, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	ad := newAdmin(a, clock.Now())
	ad.now, ad.started = clock.Now, clock.Now()
	srv := httptest.NewServer(ad.handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.bot.Run(ctx, true)
	}()
	e.app = a
	e.stop = func() {
		cancel()
		<-done
		srv.Close()
		a.Close()
		e.app = nil
	}
	t.Cleanup(func() {
		if e.app != nil {
			e.stop()
		}
	})
	return &opsEnv{e2e: e, admin: ad, url: srv.URL, clock: clock}
}

// get fetches path from the admin server.
func (o *opsEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(o.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// scrape reads /metrics in the text format into series → value, where a
// series is written as Prometheus prints it: name{label="value",...}.
func (o *opsEnv) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	code, body := o.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d\n%s", code, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("metrics line without a value: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func (o *opsEnv) ask(t *testing.T, texts ...string) {
	t.Helper()
	for _, q := range texts {
		if _, err := o.srv.SendText(o.official.ID, o.official.ID, q); err != nil {
			t.Fatal(err)
		}
	}
	o.idle()
}

// TestMetrics drives questions, an escalation and refused sends through the
// emulator, then scrapes /metrics over HTTP.
func TestMetrics(t *testing.T) {
	o := mustStartOps(t)
	o.register()
	base := o.scrape(t)

	questions := []string{"đăng ký kết hôn cần giấy tờ gì", "dang ky ket hon o dau", "chứng thực bản sao từ bản chính"}
	// The first answer is refused once with 502, then once with 429.
	o.srv.Inject(telegramtest.Fault{Method: "sendMessage", ChatID: o.official.ID, Status: http.StatusBadGateway, Times: 1})
	o.srv.Inject(telegramtest.Fault{Method: "sendMessage", ChatID: o.official.ID, Status: http.StatusTooManyRequests, RetryAfter: 1, Times: 1})
	o.ask(t, questions...)
	o.ask(t, "trẻ sinh ở nước ngoài, giấy chứng sinh chưa hợp pháp hóa thì đăng ký khai sinh thế nào")
	o.press(o.official.ID, o.official.ID, "Hỏi cán bộ Sở")
	o.press(o.official.ID, o.official.ID, "Gửi câu hỏi")

	got := o.scrape(t)
	delta := func(series string) float64 {
		t.Helper()
		v, ok := got[series]
		if !ok {
			t.Errorf("no series %s", series)
		}
		return v - base[series]
	}
	asked := float64(len(questions) + 1)
	answers := delta(`caunoi_answers_total{confidence="high"}`) + delta(`caunoi_answers_total{confidence="low"}`) + delta(`caunoi_answers_total{confidence="none"}`)
	if answers != asked {
		t.Errorf("answers_total grew by %v, want %v (one per question)", answers, asked)
	}
	// Each question and each button press is one update.
	if d := delta("caunoi_updates_handled_total"); d < asked+2 {
		t.Errorf("updates_handled_total grew by %v, want at least %v", d, asked+2)
	}
	if d := delta("caunoi_escalations_total"); d != 1 {
		t.Errorf("escalations_total grew by %v, want 1", d)
	}
	if d := delta("caunoi_telegram_throttled_total"); d != 1 {
		t.Errorf("telegram_throttled_total grew by %v, want 1", d)
	}
	if d := delta("caunoi_send_retries_total"); d != 1 {
		t.Errorf("send_retries_total grew by %v, want 1", d)
	}
	if d := delta("caunoi_send_errors_total"); d != 2 {
		t.Errorf("send_errors_total grew by %v, want 2", d)
	}
	if d := delta("caunoi_messages_sent_total"); d < asked {
		t.Errorf("messages_sent_total grew by %v, want at least %v", d, asked)
	}
	if d := delta("caunoi_search_duration_seconds_count"); d < asked {
		t.Errorf("search_duration_seconds_count grew by %v, want at least %v", d, asked)
	}
	if got["caunoi_search_duration_seconds_sum"] <= 0 {
		t.Errorf("search_duration_seconds_sum = %v, want > 0", got["caunoi_search_duration_seconds_sum"])
	}

	// Store-derived gauges are cached: the scrape at the start read zero
	// tickets; a scrape after the cache expires sees the new one.
	if v := got[`caunoi_tickets{department="tu-phap",status="new"}`]; v != 0 {
		t.Errorf("tickets gauge within the cache period = %v, want the cached 0", v)
	}
	o.clock.Add(time.Minute)
	got = o.scrape(t)
	if v, ok := got[`caunoi_tickets{department="tu-phap",status="new"}`]; !ok || v != 1 {
		t.Errorf(`caunoi_tickets{department="tu-phap",status="new"} = %v (present %v), want 1`, v, ok)
	}
	if v, ok := got[`caunoi_tickets{department="tu-phap",status="resolved"}`]; !ok || v != 0 {
		t.Errorf(`caunoi_tickets{department="tu-phap",status="resolved"} = %v (present %v), want 0`, v, ok)
	}
	if v, ok := got["caunoi_journal_lag_seconds"]; !ok || v != 0 {
		t.Errorf("journal_lag_seconds = %v (present %v), want 0 when idle", v, ok)
	}
	version := o.app.index.Version()
	if v := got[`caunoi_handbook_info{version="`+version+`"}`]; v != 1 {
		t.Errorf("handbook_info for %s = %v, want 1", version, v)
	}
	for _, series := range []string{"go_goroutines", "process_resident_memory_bytes", "caunoi_handbook_passages"} {
		if _, ok := got[series]; !ok {
			t.Errorf("no series %s", series)
		}
	}
	for series := range got {
		if strings.Contains(series, o.cfg.Token) || strings.Contains(series, o.cfg.SigningKey) {
			t.Errorf("a secret appears in the metrics: %s", series)
		}
	}
}

// TestJournalLag checks the age of the oldest update waiting in the
// journal, read from the store while the bot does not run.
func TestJournalLag(t *testing.T) {
	e := newE2E(t)
	e.cfg.HandbookDir = smallHandbook
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := openApp(context.Background(), e.cfg, log, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	clock := &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	ad := newAdmin(a, clock.Now())
	ad.now = clock.Now
	srv := httptest.NewServer(ad.handler())
	defer srv.Close()
	o := &opsEnv{e2e: e, admin: ad, url: srv.URL, clock: clock}

	if v := o.scrape(t)["caunoi_journal_lag_seconds"]; v != 0 {
		t.Fatalf("journal_lag_seconds with an empty journal = %v, want 0", v)
	}
	for i, age := range []time.Duration{90 * time.Second, 30 * time.Second} {
		if _, err := a.store.Append(context.Background(), journalEntry(int64(i+1), clock.Now().Add(-age))); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(time.Minute) // past the cache
	if v := o.scrape(t)["caunoi_journal_lag_seconds"]; v != 150 {
		t.Errorf("journal_lag_seconds = %v, want 150 (the oldest entry, 90 s before the last scrape and 60 s since)", v)
	}
}

// TestReadyz checks each readiness check and the 503 body naming what
// failed.
func TestReadyz(t *testing.T) {
	o := mustStartOps(t)

	code, body := o.get(t, "/readyz")
	if code != http.StatusOK {
		t.Fatalf("GET /readyz = %d, want 200\n%s", code, body)
	}
	want := map[string]string{"store": "ok", "index": "ok", "telegram": "ok"}
	if got := readyChecks(t, body); !equalMaps(got, want) {
		t.Errorf("checks = %v, want %v", got, want)
	}

	// Telegram down: the cached getMe answers until it expires.
	remove := o.srv.Inject(telegramtest.Fault{Method: "getMe", Status: http.StatusInternalServerError})
	if code, body := o.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz within the cache period = %d, want 200 from the cached getMe\n%s", code, body)
	}
	o.clock.Add(telegramTTL)
	code, body = o.get(t, "/readyz")
	if code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with Telegram failing = %d, want 503\n%s", code, body)
	}
	checks := readyChecks(t, body)
	if checks["telegram"] == "ok" || checks["store"] != "ok" {
		t.Errorf("checks with Telegram failing = %v, want telegram failed and store ok", checks)
	}
	if strings.Contains(body, o.cfg.Token) {
		t.Errorf("the bot token appears in /readyz: %s", body)
	}
	remove()
	o.clock.Add(telegramTTL)
	if code, body := o.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz after Telegram came back = %d, want 200\n%s", code, body)
	}

	// The store closed.
	if err := o.app.store.Close(); err != nil {
		t.Fatal(err)
	}
	code, body = o.get(t, "/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz with the store closed = %d, want 503\n%s", code, body)
	}
	checks = readyChecks(t, body)
	if checks["store"] == "ok" || checks["index"] != "ok" {
		t.Errorf("checks with the store closed = %v, want store failed and index ok", checks)
	}
	if ct := o.lastContentType(t, "/readyz"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

func (o *opsEnv) lastContentType(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(o.url + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Content-Type")
}

func readyChecks(t *testing.T, body string) map[string]string {
	t.Helper()
	var r struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("readyz body %q: %v", body, err)
	}
	ok := true
	for _, v := range r.Checks {
		ok = ok && v == "ok"
	}
	if r.Ready != ok {
		t.Errorf("ready = %v with checks %v", r.Ready, r.Checks)
	}
	return r.Checks
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// countingPinger counts calls and answers with err.
type countingPinger struct {
	calls int
	err   error
}

func (p *countingPinger) Ping(ctx context.Context) error {
	p.calls++
	return p.err
}

func TestTelegramCheckCache(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	p := &countingPinger{}
	c := telegramCheck{ttl: 10 * time.Second}
	steps := []struct {
		advance   time.Duration
		err       error
		wantCalls int
		wantErr   bool
	}{
		{0, nil, 1, false},
		{5 * time.Second, errors.New("down"), 1, false}, // cached success
		{5 * time.Second, errors.New("down"), 2, true},  // expired: asks again
		{9 * time.Second, nil, 2, true},                 // cached failure
		{time.Second, nil, 3, false},
	}
	for i, s := range steps {
		clock.Add(s.advance)
		p.err = s.err
		err := c.check(context.Background(), p, clock.Now)
		if p.calls != s.wantCalls || (err != nil) != s.wantErr {
			t.Errorf("step %d: calls = %d, err = %v; want calls %d, error %v", i, p.calls, err, s.wantCalls, s.wantErr)
		}
	}
}

func TestHealthz(t *testing.T) {
	o := mustStartOps(t)
	code, body := o.get(t, "/healthz")
	if code != http.StatusOK {
		t.Fatalf("GET /healthz = %d\n%s", code, body)
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"status":             "ok",
		"handbook_version":   o.app.index.Version(),
		"handbook_loaded_at": o.app.editorial.LoadedAt().UTC().Format(time.RFC3339),
		"started_at":         "2026-03-02T09:00:00Z",
	}
	if !equalMaps(h, want) {
		t.Errorf("healthz = %v, want %v", h, want)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	o := mustStartOps(t)
	addr := strings.TrimPrefix(o.url, "http://")
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantOut  string
	}{
		{"flag", []string{"--addr", addr}, nil, 0, "ok (sổ tay " + o.app.index.Version() + ")"},
		{"env", nil, map[string]string{"ADMIN_LISTEN": addr}, 0, "ok"},
		{"down", []string{"--addr", "127.0.0.1:1"}, nil, 1, ""},
		{"extra", []string{"x"}, nil, 2, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb strings.Builder
			m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return c.env[k] }}
			err := m.Run(context.Background(), append([]string{"healthcheck"}, c.args...))
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != c.wantCode {
				t.Errorf("exit %d (%v), want %d; stderr %s", code, err, c.wantCode, errb.String())
			}
			if !strings.Contains(out.String(), c.wantOut) {
				t.Errorf("stdout %q, want %q", out.String(), c.wantOut)
			}
		})
	}
}

func TestAdminURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{":9090", "http://127.0.0.1:9090"},
		{"0.0.0.0:9090", "http://127.0.0.1:9090"},
		{"[::]:9090", "http://[::1]:9090"},
		{"10.0.0.5:9090", "http://10.0.0.5:9090"},
		{"http://bot:9090/", "http://bot:9090"},
	} {
		if got := adminURL(c.in); got != c.want {
			t.Errorf("adminURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// journalEntry is an update received at at.
func journalEntry(id int64, at time.Time) caunoi.JournalEntry {
	return caunoi.JournalEntry{ID: id, Chat: 7, Payload: []byte(`{"update_id":` + strconv.FormatInt(id, 10) + `}`), Received: at}
}

// BenchmarkStoreMetrics measures what a scrape costs the store: reading
// every ticket and the journal's head, as the ticket gauge does once per
// cache period, on a bbolt file holding 5,000 tickets.
func BenchmarkStoreMetrics(b *testing.B) {
	s, err := openStore(context.Background(), "bolt:"+filepath.Join(b.TempDir(), "caunoi.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	depts := []string{"tu-phap", "cong-an", "tai-chinh", "xay-dung", "noi-vu"}
	statuses := []caunoi.Status{caunoi.StatusNew, caunoi.StatusClaimed, caunoi.StatusAnswered, caunoi.StatusResolved}
	at := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	for i := range 5000 {
		t := caunoi.Ticket{
			Department: depts[i%len(depts)], Asker: caunoi.UserID(1000 + i%300), Commune: "00001",
			Question: "câu hỏi thử số " + strconv.Itoa(i), Status: statuses[i%len(statuses)],
			Created: at.Add(time.Duration(i) * time.Minute),
		}
		if _, _, err := s.CreateTicket(ctx, "TP", t, caunoi.Event{Kind: caunoi.EventCreated, At: t.Created}); err != nil {
			b.Fatal(err)
		}
	}
	clock := &testClock{t: at}
	c := newStoreCollector(s, func() []string { return depts }, clock.Now, slog.New(slog.DiscardHandler))
	ch := make(chan prometheus.Metric, 256)
	drain := func() int {
		n := 0
		for len(ch) > 0 {
			<-ch
			n++
		}
		return n
	}
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			clock.Add(time.Minute) // past the cache: every scrape reads the store
			c.Collect(ch)
			if n := drain(); n < len(depts)*len(ticketStatuses) {
				b.Fatalf("%d series", n)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			c.Collect(ch)
			drain()
		}
	})
}
