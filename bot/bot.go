// Package bot is the Telegram adapter of Cầu Nối: it takes updates in
// durably, routes them to the desk, renders the desk's decisions as Telegram
// messages, and delivers them within Telegram's limits. It is the only
// package that imports github.com/go-telegram/bot.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi"
)

// Store is what the bot keeps: the desk's store, plus small values it may
// overwrite and delete (conversation state).
type Store interface {
	caunoi.Store
	// Put stores value under key, replacing any; ttl 0 means no expiry.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Handbook looks passages up by id, to show one in full. A passage that is
// no longer in the handbook is caunoi.ErrNotFound.
type Handbook interface {
	Passage(id string) (caunoi.Passage, error)
}

// Config configures a Bot. Token, Desk, Store, Handbook and SigningKey are
// required.
type Config struct {
	Token string
	// ServerURL is the Bot API server; empty means api.telegram.org. A
	// self-hosted Bot API server or the emulator in bot/telegramtest go here.
	ServerURL string
	Desk      *caunoi.Desk
	Store     Store
	Handbook  Handbook
	// Groups maps a department code to its staff group's chat id.
	Groups map[string]int64
	// Forums lists the staff groups that are forums: each ticket gets its
	// own topic there.
	Forums map[int64]bool
	// SigningKey signs callback data; at least 16 bytes, kept secret.
	SigningKey []byte
	// Limits are the sending rates; zero means TelegramLimits.
	Limits Limits
	// Shared says that other replicas use the same store (Redis in webhook
	// mode): chats are then leased, so that one replica at a time handles
	// and sends each chat's messages.
	Shared bool
	// PollTimeout is the long-poll timeout; zero means 25 s.
	PollTimeout time.Duration
	// HTTPClient is used for every Bot API call; nil means a default.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Metrics    *Metrics
	Now        func() time.Time
	// Editorial serves the editors' commands and handbook drafts; nil
	// turns them off.
	Editorial Editorial
	// RemindBefore is how much working time before a deadline the staff
	// group is reminded; zero means caunoi.DefaultRemindBefore, negative
	// turns deadline reminders off.
	RemindBefore time.Duration
	// DigestAt is when, after midnight in Vietnam, the leads' daily digest
	// goes out on working days; zero means caunoi.DefaultDigestAt, negative
	// turns the digest off.
	DigestAt time.Duration
	// RemindEvery is how often reminders and digests are checked; zero
	// means a minute.
	RemindEvery time.Duration
	// KeepQuestions is how long the log of questions keeps a record; zero
	// keeps every record. Older records are deleted once an hour.
	KeepQuestions time.Duration
}

// Bot is a running Telegram adapter. Create it with New, start it with Run.
type Bot struct {
	cfg      Config
	api      *tgbot.Bot
	me       *models.User
	desk     *caunoi.Desk
	store    Store
	hb       Handbook
	log      *slog.Logger
	now      func() time.Time
	sign     *signer
	groups   map[int64]string // staff group chat → department code
	send     *sender
	dispatch *dispatcher
	metrics  *Metrics
}

// New checks cfg, connects to the Bot API (getMe) and returns a Bot.
func New(ctx context.Context, cfg Config) (*Bot, error) {
	switch {
	case strings.TrimSpace(cfg.Token) == "":
		return nil, errors.New("bot: token is required")
	case cfg.Desk == nil || cfg.Store == nil || cfg.Handbook == nil:
		return nil, errors.New("bot: desk, store and handbook are required")
	}
	sign, err := newSigner(cfg.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("bot: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = TelegramLimits
	}
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = 25 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.PollTimeout + 20*time.Second}
	}
	if cfg.HTTPClient.Transport == nil {
		c := *cfg.HTTPClient
		c.Transport = apiTransport()
		cfg.HTTPClient = &c
	}
	if cfg.ServerURL == "" {
		cfg.ServerURL = "https://api.telegram.org"
	}
	cfg.ServerURL = strings.TrimRight(cfg.ServerURL, "/")
	if cfg.Metrics == nil {
		cfg.Metrics = &Metrics{}
	}
	if cfg.RemindBefore == 0 {
		cfg.RemindBefore = caunoi.DefaultRemindBefore
	}
	if cfg.DigestAt == 0 {
		cfg.DigestAt = caunoi.DefaultDigestAt
	}
	if cfg.RemindEvery <= 0 {
		cfg.RemindEvery = defaultRemindEvery
	}
	groups := make(map[int64]string, len(cfg.Groups))
	for dept, chat := range cfg.Groups {
		if _, ok := cfg.Desk.Department(dept); !ok {
			return nil, fmt.Errorf("bot: staff group for unknown department %q", dept)
		}
		if prev, dup := groups[chat]; dup {
			return nil, fmt.Errorf("bot: chat %d is the staff group of both %s and %s", chat, prev, dept)
		}
		groups[chat] = dept
	}
	api, err := tgbot.New(cfg.Token,
		tgbot.WithServerURL(cfg.ServerURL),
		tgbot.WithHTTPClient(cfg.PollTimeout, withWholeBodies(cfg.HTTPClient)),
		tgbot.WithSkipGetMe(),
		tgbot.WithErrorsHandler(func(err error) { cfg.Logger.Debug("telegram client", "err", err) }),
	)
	if err != nil {
		return nil, fmt.Errorf("bot: %w", err)
	}
	b := &Bot{
		cfg: cfg, api: api, desk: cfg.Desk, store: cfg.Store, hb: cfg.Handbook, log: cfg.Logger,
		now: cfg.Now, sign: sign, groups: groups, metrics: cfg.Metrics,
	}
	me, err := api.GetMe(ctx)
	if err != nil {
		return nil, fmt.Errorf("bot: getMe: %w", err)
	}
	b.me = me
	text := &apiClient{http: cfg.HTTPClient, base: cfg.ServerURL + "/bot" + cfg.Token + "/"}
	b.send = newSender(api, text, cfg.Store, cfg.Limits, cfg.Logger, cfg.Now, cfg.Metrics)
	b.dispatch = newDispatcher(cfg.Store, b.handle, cfg.Logger, cfg.Metrics)
	ls := newLeases(cfg.Shared, cfg.Store)
	b.send.leases, b.dispatch.leases = ls, ls
	return b, nil
}

// Username is the bot's Telegram username, for invite links.
func (b *Bot) Username() string { return b.me.Username }

// Ping checks that the Bot API answers and accepts the token, with getMe and
// a 5 s timeout (shorter if ctx says so). The error never contains the token.
func (b *Bot) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := b.api.GetMe(ctx); err != nil {
		return fmt.Errorf("telegram getMe: %s", strings.ReplaceAll(err.Error(), b.cfg.Token, "***"))
	}
	return nil
}

// WebhookHandler returns the handler for webhook mode; secret must match
// the one given to setWebhook.
func (b *Bot) WebhookHandler(secret string) http.Handler {
	return webhookHandler(secret, b.store, b.log, b.now, b.dispatch.offer, b.metrics)
}

// SetWebhook registers url with Telegram, with the secret and the update
// types the bot handles.
func (b *Bot) SetWebhook(ctx context.Context, url, secret string) error {
	_, err := b.api.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: url, SecretToken: secret, AllowedUpdates: AllowedUpdates})
	if err != nil {
		return fmt.Errorf("set webhook: %w", err)
	}
	return nil
}

// Run handles updates until ctx is done. With polling it fetches updates
// itself; otherwise updates arrive through WebhookHandler. It returns after
// in-flight handlers finish.
func (b *Bot) Run(ctx context.Context, polling bool) error {
	if err := b.setCommands(ctx); err != nil {
		b.log.Warn("set bot commands", "err", err)
	}
	if polling {
		if _, err := b.api.DeleteWebhook(ctx, &tgbot.DeleteWebhookParams{}); err != nil {
			b.log.Warn("delete webhook before polling", "err", err)
		}
	}
	var wg sync.WaitGroup
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				b.log.Error(name+" stopped", "err", err)
			}
		}()
	}
	run("sender", b.send.run)
	run("dispatcher", b.dispatch.run)
	if polling {
		p := &poller{
			client: b.cfg.HTTPClient, base: b.cfg.ServerURL + "/bot" + b.cfg.Token + "/",
			journal: b.store, log: b.log, now: b.now, timeout: b.cfg.PollTimeout, onNew: b.dispatch.offer, metrics: b.metrics,
		}
		run("poller", p.run)
	}
	run("pruner", b.prune)
	run("reminders", b.remindLoop)
	<-ctx.Done()
	wg.Wait()
	return nil
}

// prune forgets journal entries older than a week and, when
// cfg.KeepQuestions is set, questions older than that, once an hour.
func (b *Bot) prune(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := b.store.Prune(ctx, b.now().Add(-7*24*time.Hour)); err != nil && ctx.Err() == nil {
			b.log.Error("prune journal", "err", err)
		}
		if b.cfg.KeepQuestions > 0 {
			b.pruneQuestions(ctx)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// pruneQuestions deletes the question records older than
// cfg.KeepQuestions and logs how many.
func (b *Bot) pruneQuestions(ctx context.Context) {
	before := b.now().Add(-b.cfg.KeepQuestions)
	n, err := caunoi.PruneOldQuestions(ctx, b.store, before, nil)
	if err != nil && ctx.Err() == nil {
		b.log.Error("prune questions", "deleted", n, "err", err)
	}
	if n > 0 {
		b.log.Info("old questions deleted", "deleted", n, "asked_before", before.Format(time.RFC3339))
	}
}

func (b *Bot) setCommands(ctx context.Context) error {
	cmds := make([]models.BotCommand, 0, len(menuCommands))
	for _, c := range menuCommands {
		cmds = append(cmds, models.BotCommand{Command: c.Name, Description: c.Description})
	}
	_, err := b.api.SetMyCommands(ctx, &tgbot.SetMyCommandsParams{Commands: cmds})
	return err
}
