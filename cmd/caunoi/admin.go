package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot"
	"github.com/caunoi/caunoi/knowledge"
)

func init() {
	register("healthcheck", "kiểm tra bot đang chạy (gọi /healthz, dùng cho Docker)", runHealthcheck)
}

// pinger is anything whose reachability /readyz checks.
type pinger interface {
	Ping(ctx context.Context) error
}

// backuper is a store that can copy itself while it serves (boltstore).
type backuper interface {
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// admin serves the operations endpoints of a running app on the admin
// listener:
//
//   - GET /healthz: the process is alive; the handbook version and when it
//     was loaded. Always 200 while the process serves.
//   - GET /readyz: the store answers, the index is loaded and Telegram
//     answers getMe; 503 with a JSON body naming what failed.
//   - GET /metrics: Prometheus metrics from a private registry.
//   - GET /backup: a consistent copy of a bbolt store, for `caunoi backup`
//     while the bot runs; it requires the backup token derived from the
//     signing key and answers 404 for other stores.
//
// It is safe for concurrent use.
type admin struct {
	store    caunoi.Store
	index    *knowledge.Index
	telegram pinger
	log      *slog.Logger
	now      func() time.Time
	started  time.Time
	// backupToken authorises /backup; empty disables it.
	backupToken string
	// pprof serves the Go profiles at /debug/pprof/.
	pprof bool
	// secrets are removed from every error text the endpoints show.
	secrets []string

	reg    *prometheus.Registry
	search prometheus.Histogram

	// loadedAt reports when the serving handbook was loaded; nil when
	// nothing reloads it, and then hbLoaded tells.
	loadedAt  func() time.Time
	hbMu      sync.Mutex
	hbVersion string
	hbLoaded  time.Time

	tg telegramCheck
}

// telegramCheck caches the outcome of getMe so that frequent probes do not
// call Telegram each time.
type telegramCheck struct {
	ttl time.Duration
	mu  sync.Mutex // held during the call: one getMe at a time
	at  time.Time
	err error
}

// telegramTTL is how long a getMe outcome answers /readyz.
const telegramTTL = 10 * time.Second

// newAdmin builds the admin endpoints for a, whose handbook was loaded at
// loaded (a's editorial, when it has one, tells later loads). It instruments a's desk, wrapping its Searcher to time searches,
// so it must be called before the bot runs, and at most once per app.
func newAdmin(a *app, loaded time.Time) *admin {
	ad := &admin{
		store:       a.store,
		index:       a.index,
		log:         a.log,
		now:         a.now,
		started:     a.now(),
		backupToken: backupToken(a.cfg.SigningKey),
		pprof:       a.cfg.AdminPprof,
		secrets:     configSecrets(a.cfg),
		hbVersion:   a.index.Version(),
		hbLoaded:    loaded,
		tg:          telegramCheck{ttl: telegramTTL},
	}
	if a.bot != nil {
		ad.telegram = a.bot
	}
	if a.editorial != nil {
		ad.loadedAt = a.editorial.LoadedAt
	}
	ad.reg = prometheus.NewRegistry()
	ad.search = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "caunoi_search_duration_seconds",
		Help:    "Time to search the handbook for one question.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
	searchErrors := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "caunoi_search_errors_total",
		Help: "Handbook searches that returned an error.",
	})
	if a.desk != nil && a.desk.Searcher != nil {
		a.desk.Searcher = timedSearcher{next: a.desk.Searcher, hist: ad.search, errors: searchErrors}
	}
	if a.durability != nil {
		ad.reg.MustRegister(durabilityCollector{w: a.durability})
	}
	ad.reg.MustRegister(
		ad.search,
		searchErrors,
		botCollector{m: a.metrics},
		newStoreCollector(a.store, ad.departments, func() time.Time { return ad.now() }, a.log),
		handbookCollector{ad: ad},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return ad
}

// handler returns the admin endpoints.
func (ad *admin) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", ad.healthz)
	mux.HandleFunc("GET /readyz", ad.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(ad.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(ad.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /backup", ad.backup)
	if ad.pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// handbook returns the version now serving and when it was loaded: as the
// editorial reports it, or else when this process first served it.
func (ad *admin) handbook() (string, time.Time) {
	v := ad.index.Version()
	ad.hbMu.Lock()
	defer ad.hbMu.Unlock()
	if v != ad.hbVersion {
		ad.hbVersion, ad.hbLoaded = v, ad.now()
	}
	if ad.loadedAt != nil {
		return ad.hbVersion, ad.loadedAt()
	}
	return ad.hbVersion, ad.hbLoaded
}

// departments lists the department codes of the handbook now serving.
func (ad *admin) departments() []string {
	h := ad.index.Handbook()
	if h == nil {
		return nil
	}
	codes := make([]string, len(h.Departments))
	for i, d := range h.Departments {
		codes[i] = d.Code
	}
	return codes
}

func (ad *admin) healthz(w http.ResponseWriter, r *http.Request) {
	v, at := ad.handbook()
	body := map[string]any{
		"status":           "ok",
		"handbook_version": v,
		"started_at":       ad.started.UTC().Format(time.RFC3339),
	}
	if !at.IsZero() {
		body["handbook_loaded_at"] = at.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, body)
}

func (ad *admin) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ready := true
	fail := func(name string, err error) {
		checks[name] = ad.redact(err.Error())
		ready = false
		ad.log.Warn("not ready", "check", name, "err", checks[name])
	}
	if err := ad.store.Ping(ctx); err != nil {
		fail("store", err)
	} else {
		checks["store"] = "ok"
	}
	if v, _ := ad.handbook(); v == "" {
		fail("index", errors.New("handbook index not loaded"))
	} else {
		checks["index"] = "ok"
	}
	if ad.telegram == nil {
		fail("telegram", errors.New("bot not connected"))
	} else if err := ad.tg.check(ctx, ad.telegram, ad.now); err != nil {
		fail("telegram", err)
	} else {
		checks["telegram"] = "ok"
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ready, "checks": checks})
}

// check returns the outcome of the last getMe if it is younger than the
// TTL, and calls getMe otherwise.
func (c *telegramCheck) check(ctx context.Context, p pinger, now func() time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && now().Sub(c.at) < c.ttl {
		return c.err
	}
	c.err = p.Ping(ctx)
	c.at = now()
	return c.err
}

// backup streams a consistent copy of the store to an authorised caller.
func (ad *admin) backup(w http.ResponseWriter, r *http.Request) {
	b, ok := ad.store.(backuper)
	if !ok || ad.backupToken == "" {
		http.Error(w, "backup over HTTP is only available for a bbolt store with a signing key", http.StatusNotFound)
		return
	}
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(got), []byte(ad.backupToken)) != 1 {
		ad.log.Warn("backup request with a wrong token", "remote", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	start := time.Now()
	n, err := b.Backup(r.Context(), w)
	if err != nil {
		// The status is sent; the client finds the copy incomplete when it
		// validates it.
		ad.log.Error("backup over http", "bytes", n, "err", err)
		return
	}
	ad.log.Info("backup over http", "bytes", n, "took", time.Since(start).Round(time.Millisecond).String())
}

// backupToken derives the bearer token of /backup from the signing key, so
// that whoever holds the configuration can fetch a backup and nobody else.
func backupToken(signingKey string) string {
	if signingKey == "" {
		return ""
	}
	h := hmac.New(sha256.New, []byte(signingKey))
	h.Write([]byte("caunoi admin backup"))
	return hex.EncodeToString(h.Sum(nil))
}

// configSecrets lists the secret values of c that must never be shown.
func configSecrets(c Config) []string {
	var s []string
	for _, v := range append([]string{c.Token, c.Secret, c.SigningKey}, storeSecrets(c.Store)...) {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// redact removes every configured secret from s.
func (ad *admin) redact(s string) string { return redactAll(s, ad.secrets) }

// redactAll replaces each of secrets in s by "****". Values shorter than 4
// bytes are left alone: replacing them would garble the text and hide
// nothing worth hiding.
func redactAll(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "****")
		}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// timedSearcher records how long each search takes.
type timedSearcher struct {
	next   caunoi.Searcher
	hist   prometheus.Histogram
	errors prometheus.Counter
}

func (s timedSearcher) Search(ctx context.Context, query string, limit int) (caunoi.SearchResult, error) {
	start := time.Now()
	r, err := s.next.Search(ctx, query, limit)
	s.hist.Observe(time.Since(start).Seconds())
	if err != nil {
		s.errors.Inc()
	}
	return r, err
}

// botCollector exports bot.Metrics, read at scrape time.
type botCollector struct{ m *bot.Metrics }

var (
	descUpdatesIn      = prometheus.NewDesc("caunoi_updates_received_total", "Telegram updates taken into the journal.", nil, nil)
	descDuplicates     = prometheus.NewDesc("caunoi_updates_duplicate_total", "Telegram updates received again and skipped.", nil, nil)
	descUpdatesHandled = prometheus.NewDesc("caunoi_updates_handled_total", "Telegram updates handled (taken from the journal and processed).", nil, nil)
	descPanics         = prometheus.NewDesc("caunoi_handler_panics_total", "Update handlers that panicked and were recovered.", nil, nil)
	descAnswers        = prometheus.NewDesc("caunoi_answers_total", "Questions answered from the handbook, by confidence of the best hit.", []string{"confidence"}, nil)
	descEscalations    = prometheus.NewDesc("caunoi_escalations_total", "Questions escalated to a department as tickets.", nil, nil)
	descSent           = prometheus.NewDesc("caunoi_messages_sent_total", "Messages delivered to Telegram.", nil, nil)
	descSendErrors     = prometheus.NewDesc("caunoi_send_errors_total", "Send attempts that failed.", nil, nil)
	descThrottled      = prometheus.NewDesc("caunoi_telegram_throttled_total", "Replies 429 Too Many Requests from Telegram.", nil, nil)
	descHandleTime     = prometheus.NewDesc("caunoi_update_handle_seconds", "The bot's own time per update, from its receipt until its replies are queued for delivery.", nil, nil)
	descRetries        = prometheus.NewDesc("caunoi_send_retries_total", "Messages scheduled to be sent again after a failure.", nil, nil)
)

func (c botCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUpdatesIn, descDuplicates, descUpdatesHandled, descPanics, descAnswers, descEscalations, descSent, descSendErrors, descThrottled, descRetries, descHandleTime} {
		ch <- d
	}
}

func (c botCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	if m == nil {
		m = &bot.Metrics{}
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descUpdatesIn, m.UpdatesIn.Load())
	counter(descDuplicates, m.Duplicates.Load())
	counter(descUpdatesHandled, m.UpdatesHandled.Load())
	counter(descPanics, m.Panics.Load())
	for i := range m.Answers {
		counter(descAnswers, m.Answers[i].Load(), caunoi.Confidence(i).String())
	}
	counter(descEscalations, m.Escalations.Load())
	counter(descSent, m.Sent.Load())
	counter(descSendErrors, m.SendErrors.Load())
	counter(descThrottled, m.Throttled.Load())
	counter(descRetries, m.Retries.Load())
	counts, sum := m.HandleTime.Snapshot()
	buckets := make(map[float64]uint64, len(bot.LatencyBuckets))
	var cum uint64
	for i, le := range bot.LatencyBuckets {
		cum += uint64(counts[i])
		buckets[le.Seconds()] = cum
	}
	cum += uint64(counts[len(counts)-1])
	ch <- prometheus.MustNewConstHistogram(descHandleTime, cum, sum.Seconds(), buckets)
}

// handbookCollector exports the version of the handbook now serving.
type handbookCollector struct{ ad *admin }

var (
	descHandbookInfo   = prometheus.NewDesc("caunoi_handbook_info", "The handbook version now serving (value 1).", []string{"version"}, nil)
	descHandbookLoaded = prometheus.NewDesc("caunoi_handbook_loaded_timestamp_seconds", "When this process began serving the current handbook version.", nil, nil)
	descPassages       = prometheus.NewDesc("caunoi_handbook_passages", "Searchable passages in the handbook now serving.", nil, nil)
)

func (c handbookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHandbookInfo
	ch <- descHandbookLoaded
	ch <- descPassages
}

func (c handbookCollector) Collect(ch chan<- prometheus.Metric) {
	v, at := c.ad.handbook()
	if v == "" {
		return
	}
	ch <- prometheus.MustNewConstMetric(descHandbookInfo, prometheus.GaugeValue, 1, v)
	if !at.IsZero() {
		ch <- prometheus.MustNewConstMetric(descHandbookLoaded, prometheus.GaugeValue, float64(at.UnixMilli())/1000)
	}
	if h := c.ad.index.Handbook(); h != nil {
		ch <- prometheus.MustNewConstMetric(descPassages, prometheus.GaugeValue, float64(len(h.Passages)))
	}
}

// storeCollector exports what only the store knows: tickets by status and
// department, and the age of the oldest update waiting in the journal. It
// reads the store at most once per ttl; scrapes in between get the cached
// values. Counting tickets reads every ticket (a page at a time, so that
// memory does not grow with their number), hence the cache.
type storeCollector struct {
	store       caunoi.Store
	departments func() []string
	now         func() time.Time
	log         *slog.Logger
	ttl         time.Duration
	timeout     time.Duration

	mu      sync.Mutex
	at      time.Time
	ok      bool
	tickets map[[2]string]int // status, department → count
	lag     time.Duration
	failed  int64
}

func newStoreCollector(s caunoi.Store, departments func() []string, now func() time.Time, log *slog.Logger) *storeCollector {
	return &storeCollector{store: s, departments: departments, now: now, log: log, ttl: 15 * time.Second, timeout: 5 * time.Second}
}

var (
	descTickets     = prometheus.NewDesc("caunoi_tickets", "Tickets in the store, by status and department.", []string{"status", "department"}, nil)
	descJournalLag  = prometheus.NewDesc("caunoi_journal_lag_seconds", "Age of the oldest update journaled and not yet handled; 0 when none waits.", nil, nil)
	descStoreErrors = prometheus.NewDesc("caunoi_metrics_store_errors_total", "Scrapes that could not read tickets or the journal from the store.", nil, nil)
)

var (
	descRedisEvicts = prometheus.NewDesc("caunoi_redis_evicts_records", "1 when the Redis server deletes any key at its memory limit (maxmemory-policy allkeys-*), so that tickets, accounts and questions can vanish; as last read, at most a minute ago.", nil, nil)
	descRedisAOF    = prometheus.NewDesc("caunoi_redis_aof_enabled", "1 when the Redis server writes the append-only file; as last read, at most a minute ago.", nil, nil)
)

// durabilityCollector exposes the Redis server's settings that can lose
// the desk's data, as serve last read them.
type durabilityCollector struct{ w *durabilityWatch }

func (c durabilityCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRedisEvicts
	ch <- descRedisAOF
}

func (c durabilityCollector) Collect(ch chan<- prometheus.Metric) {
	d, ok := c.w.get()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(descRedisEvicts, prometheus.GaugeValue, flag01(d.EvictsRecords()))
	ch <- prometheus.MustNewConstMetric(descRedisAOF, prometheus.GaugeValue, flag01(d.AOF))
}

func flag01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ticketStatuses are every status a ticket can have, so that each series
// exists from the start.
var ticketStatuses = []caunoi.Status{
	caunoi.StatusNew, caunoi.StatusClaimed, caunoi.StatusWaitingOfficial, caunoi.StatusAnswered,
	caunoi.StatusResolved, caunoi.StatusReopened, caunoi.StatusTransferred, caunoi.StatusClosed,
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTickets
	ch <- descJournalLag
	ch <- descStoreErrors
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.at.IsZero() || now.Sub(c.at) >= c.ttl {
		c.at = now
		if err := c.refresh(now); err != nil {
			c.failed++
			c.log.Warn("metrics: read store", "err", err)
		}
	}
	ch <- prometheus.MustNewConstMetric(descStoreErrors, prometheus.CounterValue, float64(c.failed))
	if !c.ok {
		return
	}
	for k, n := range c.tickets {
		ch <- prometheus.MustNewConstMetric(descTickets, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	ch <- prometheus.MustNewConstMetric(descJournalLag, prometheus.GaugeValue, c.lag.Seconds())
}

// refresh reads the store; on error the previous values stay.
func (c *storeCollector) refresh(now time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	byKind, err := c.store.CountTickets(ctx)
	if err != nil {
		return fmt.Errorf("count tickets: %w", err)
	}
	pending, err := c.store.Pending(ctx, 1)
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	counts := map[[2]string]int{}
	for _, d := range c.departments() {
		for _, s := range ticketStatuses {
			counts[[2]string{string(s), d}] = 0
		}
	}
	for k, n := range byKind {
		counts[[2]string{string(k.Status), k.Department}] += n
	}
	var lag time.Duration
	if len(pending) > 0 {
		lag = max(now.Sub(pending[0].Received), 0)
	}
	c.tickets, c.lag, c.ok = counts, lag, true
	return nil
}

const healthcheckUsage = `Cách dùng: caunoi healthcheck [--addr MÁY:CỔNG]

Gọi /healthz của một tiến trình caunoi serve đang chạy; thoát với mã 0 nếu nó
trả lời, 1 nếu không. Dùng làm healthcheck trong docker-compose, vì ảnh
distroless không có curl.

Tham số:
  --addr MÁY:CỔNG   cổng quản trị (mặc định: biến ADMIN_LISTEN, nếu không có
                    thì 127.0.0.1:9090); ":9090" nghĩa là 127.0.0.1:9090
  -h, --help        in hướng dẫn này
`

func runHealthcheck(ctx context.Context, m *Main, args []string) error {
	var addr string
	var help bool
	spec := flagSpec{values: map[string]*string{"addr": &addr}, switches: map[string]*bool{"h": &help, "help": &help}}
	pos, err := spec.parse(args)
	if err != nil {
		return badUsage(m.Stderr, "healthcheck", healthcheckUsage, err)
	}
	if help {
		fmt.Fprint(m.Stdout, healthcheckUsage)
		return nil
	}
	if len(pos) > 0 {
		return badUsage(m.Stderr, "healthcheck", healthcheckUsage, fmt.Errorf("thừa tham số %q", pos[0]))
	}
	if addr == "" {
		addr = strings.TrimSpace(m.Getenv("ADMIN_LISTEN"))
	}
	if addr == "" {
		addr = DefaultConfig().AdminListen
	}
	u := adminURL(addr) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return failf("địa chỉ quản trị %q không hợp lệ: %v", addr, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return failf("không gọi được %s: %v", u, err)
	}
	defer resp.Body.Close()
	var body struct {
		Status  string `json:"status"`
		Version string `json:"handbook_version"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.Status != "ok" {
		return failf("%s trả lời %s, không phải ok", u, resp.Status)
	}
	fmt.Fprintf(m.Stdout, "ok (sổ tay %s)\n", body.Version)
	return nil
}

// adminURL turns a listen address into a URL to reach it from this machine:
// an empty or unspecified host becomes the loopback address.
func adminURL(addr string) string {
	if strings.HasPrefix(addr, "http://") || strings.HasPrefix(addr, "https://") {
		return strings.TrimRight(addr, "/")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
