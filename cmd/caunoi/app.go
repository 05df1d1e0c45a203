package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot"
	"github.com/caunoi/caunoi/knowledge"
	"github.com/caunoi/caunoi/store/redisstore"
)

// app is Cầu Nối wired together: store, handbook index, desk and bot. serve,
// demo and the end-to-end tests build it the same way.
type app struct {
	cfg     Config
	log     *slog.Logger
	store   caunoi.Store
	index   *knowledge.Index
	desk    *caunoi.Desk
	bot     *bot.Bot
	metrics *bot.Metrics
	now     func() time.Time
	// handbookFS is where the handbook is read from, for reloads.
	handbookFS fs.FS
	// editorial reloads the handbook and writes drafts for the editors.
	editorial *editorial
	// durability is the Redis server's settings as last read; nil on
	// bbolt.
	durability *durabilityWatch
}

// openApp opens everything but does not start the bot. The caller closes
// the app. now may be nil.
func openApp(ctx context.Context, cfg Config, log *slog.Logger, now func() time.Time, httpClient *http.Client) (_ *app, err error) {
	if now == nil {
		now = time.Now
	}
	quietRedis(log)
	a := &app{cfg: cfg, log: log, now: now, metrics: &bot.Metrics{}}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.handbookFS, err = handbookFS(cfg.HandbookDir); err != nil {
		return nil, err
	}
	start := time.Now()
	a.index, err = knowledge.Open(ctx, a.handbookFS, now(), knowledge.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("nạp sổ tay: %w", err)
	}
	log.Info("handbook loaded", "handbook_version", a.index.Version(), "passages", len(a.index.Handbook().Passages), "took", time.Since(start).Round(time.Millisecond).String())
	drafts := cfg.DraftsDir
	if drafts == "" {
		drafts = filepath.Join(cfg.DataDir, "drafts")
	}
	a.editorial = newEditorial(cfg.HandbookDir, a.handbookFS, a.index, drafts, log, now)

	a.store, err = openStoreReporting(ctx, cfg.Store, logIndexProgress(log, now))
	if err != nil {
		return nil, err
	}
	if rs, ok := a.store.(*redisstore.Store); ok {
		a.durability = &durabilityWatch{}
		if err := checkDurability(ctx, rs, cfg.Store, log, a.durability); err != nil {
			return nil, err
		}
	}
	cal, err := caunoi.NewCalendar(cfg.Holidays, nil)
	if err != nil {
		return nil, fmt.Errorf("lịch làm việc: %w", err)
	}
	policies, err := cfg.policies()
	if err != nil {
		return nil, err
	}
	a.desk = &caunoi.Desk{
		Store:       a.store,
		Searcher:    a.index.WithoutSnippets(),
		Departments: a.index.Handbook().Departments,
		Policies:    policies,
		Calendar:    cal,
		Now:         now,
	}
	st, ok := a.store.(bot.Store)
	if !ok {
		return nil, errors.New("kho dữ liệu không hỗ trợ trạng thái hội thoại")
	}
	forums := map[int64]bool{}
	for _, id := range cfg.Forums {
		forums[id] = true
	}
	gap, _ := time.ParseDuration(cfg.ChatGap)
	before, err := remindBefore(cfg.RemindBefore)
	if err != nil {
		return nil, fmt.Errorf("REMIND_BEFORE: %w", err)
	}
	digest, err := digestAt(cfg.DigestAt)
	if err != nil {
		return nil, fmt.Errorf("DIGEST_AT: %w", err)
	}
	keep, err := keepQuestions(cfg.KeepQuestions)
	if err != nil {
		return nil, fmt.Errorf("KEEP_QUESTIONS: %w", err)
	}
	lim := bot.TelegramLimits
	lim.Global = cfg.SendRate
	lim.PerChat = gap
	if cfg.GroupRate > 0 {
		lim.Group = cfg.GroupRate
	}
	a.bot, err = bot.New(ctx, bot.Config{
		Token:      cfg.Token,
		ServerURL:  cfg.APIURL,
		Desk:       a.desk,
		Store:      st,
		Handbook:   a.index,
		Groups:     cfg.Groups,
		Forums:     forums,
		SigningKey: []byte(cfg.SigningKey),
		Shared:     strings.HasPrefix(cfg.Store, "redis"),
		Limits:     lim,
		HTTPClient: httpClient,
		Logger:     log,
		Metrics:    a.metrics,
		Now:        now,
		Editorial:  a.editorial,

		RemindBefore:  before,
		DigestAt:      digest,
		KeepQuestions: keep,
	})
	if err != nil {
		return nil, fmt.Errorf("kết nối Telegram: %w", err)
	}
	return a, nil
}

// Close releases the app's resources.
func (a *app) Close() {
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Error("close store", "err", err)
		}
	}
	if a.index != nil {
		if err := a.index.Close(); err != nil {
			a.log.Error("close index", "err", err)
		}
	}
}
