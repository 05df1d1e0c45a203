package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/knowledge"
	"github.com/caunoi/caunoi/store/redisstore"
)

func init() {
	register("serve", "chạy bot Telegram (production)", runServe)
}

// newLogger builds the process logger from the config.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runServe(ctx context.Context, m *Main, args []string) error {
	cfg, problems, err := LoadConfig(args, m.Getenv, m.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	hfs, err := handbookFS(cfg.HandbookDir)
	if err != nil {
		return err
	}
	h, problems2 := knowledge.Load(hfs, time.Now())
	if err := problems2.Err(); err != nil {
		return fmt.Errorf("sổ tay có lỗi, sửa rồi chạy lại (caunoi handbook check):\n%w", err)
	}
	var codes []string
	for _, d := range h.Departments {
		codes = append(codes, d.Code)
	}
	if verr := cfg.Validate(codes); verr != nil || len(problems) > 0 {
		msg := ""
		if verr != nil {
			msg = verr.Error()
		}
		for _, p := range problems {
			msg += "\n  - " + p
		}
		return &exitError{code: 2, err: errors.New(strings.TrimSpace(msg))}
	}
	log := newLogger(m.Stderr, cfg.LogLevel, cfg.LogFormat)
	a, err := openApp(ctx, cfg, log, nil, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.serve(ctx)
}

// serve runs the bot, the webhook listener when configured, and the admin
// listener, until ctx is done; then it drains and stops them in reverse order.
func (a *app) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	start := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	webhook := a.cfg.PublicURL != ""
	var servers []*http.Server
	if a.cfg.AdminListen != "" {
		srv := &http.Server{Addr: a.cfg.AdminListen, Handler: newAdmin(a, a.now()).handler(), ReadHeaderTimeout: 5 * time.Second}
		ln, err := net.Listen("tcp", a.cfg.AdminListen)
		if err != nil {
			return fmt.Errorf("cổng quản trị %s: %w", a.cfg.AdminListen, err)
		}
		servers = append(servers, srv)
		start("admin", func() error { return srv.Serve(ln) })
		a.log.Info("admin listening", "addr", ln.Addr().String())
	}
	if webhook {
		mux := http.NewServeMux()
		mux.Handle("POST "+a.cfg.WebhookPath, a.bot.WebhookHandler(a.cfg.Secret))
		srv := &http.Server{Addr: a.cfg.Listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
		ln, err := net.Listen("tcp", a.cfg.Listen)
		if err != nil {
			return fmt.Errorf("cổng webhook %s: %w", a.cfg.Listen, err)
		}
		servers = append(servers, srv)
		start("webhook", func() error { return srv.Serve(ln) })
		url := strings.TrimRight(a.cfg.PublicURL, "/") + a.cfg.WebhookPath
		if err := a.bot.SetWebhook(ctx, url, a.cfg.Secret); err != nil {
			return err
		}
		a.log.Info("webhook set", "listen", ln.Addr().String())
	}
	start("bot", func() error { return a.bot.Run(ctx, !webhook) })
	if rs, ok := a.store.(*redisstore.Store); ok {
		start("store", func() error { return watchSchema(ctx, a.store, schemaCheckEvery) })
		start("redis settings", func() error { return watchDurability(ctx, rs, a.durability, durabilityCheckEvery, a.log) })
	}
	if a.cfg.HandbookDir != "" {
		start("handbook watcher", func() error {
			// Without the watcher the bot still serves; editors use /reload.
			if err := a.editorial.watch(ctx, reloadDebounce, a.bot.NotifyEditors, nil); err != nil && ctx.Err() == nil {
				a.log.Error("handbook watcher stopped; edits need /reload", "err", err)
			}
			return nil
		})
	}
	a.log.Info("cầu nối running", "mode", map[bool]string{true: "webhook", false: "polling"}[webhook], "handbook_version", a.index.Version())

	<-ctx.Done()
	a.log.Info("shutting down")
	shut, done := context.WithTimeout(context.Background(), 20*time.Second)
	defer done()
	for i := len(servers) - 1; i >= 0; i-- {
		_ = servers[i].Shutdown(shut)
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// schemaCheckEvery is how often serve asks a Redis store whether a newer
// version of caunoi has upgraded it.
var schemaCheckEvery = 10 * time.Second

// watchSchema returns an error, which stops serve, once s reports that a
// newer version of caunoi has upgraded it (or that its schema is not this
// version's at all): from then on the store refuses this process's ticket
// writes (caunoi.SchemaError), and the replicas of the newer version take
// its work over. Other errors of Ping are left to /readyz.
func watchSchema(ctx context.Context, s caunoi.Store, every time.Duration) error {
	return eachTick(ctx, every, func() error {
		var se *caunoi.SchemaError
		if err := s.Ping(ctx); errors.As(err, &se) {
			return fmt.Errorf("kho dữ liệu %s: bản này dừng, không ghi tiếp vào kho", schemaText(se))
		}
		return nil
	})
}

// eachTick calls fn every every, the first time after one period, until
// ctx is done (ctx.Err()) or fn returns an error (that error).
func eachTick(ctx context.Context, every time.Duration, fn func() error) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := fn(); err != nil {
			return err
		}
	}
}
