package telegramtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// DefaultToken is the token a Server accepts unless WithToken says otherwise.
// Its numeric prefix is the bot's user ID.
const DefaultToken = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

// Option configures a Server.
type Option func(*config)

type config struct {
	token       string
	username    string
	firstName   string
	addr        string
	now         func() time.Time
	logger      *slog.Logger
	limits      *Limits
	retryDelay  time.Duration
	webhookHTTP *http.Client
}

// WithToken sets the bot token. The part before ":" must be the bot's
// numeric ID.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithBotName sets the bot's username (without "@") and first name.
func WithBotName(username, firstName string) Option {
	return func(c *config) { c.username, c.firstName = username, firstName }
}

// WithAddr makes the server listen on addr (host:port) instead of a random
// port on 127.0.0.1, so that a process other than the test can reach it.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithClock sets the clock that dates messages and requests and drives the
// rate-limit windows. The default is time.Now. Waiting (long-poll timeouts,
// injected delays, webhook retries) always uses real time.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger sets where the server logs its own failures, such as webhook
// deliveries that did not succeed. The default discards them.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithLimits turns on EnforceLimits from the start.
func WithLimits(l Limits) Option { return func(c *config) { c.limits = &l } }

// WithWebhookRetry sets how long the server waits before it delivers again an
// update that the webhook refused. The default is one second.
func WithWebhookRetry(d time.Duration) Option { return func(c *config) { c.retryDelay = d } }

// WithWebhookClient sets the HTTP client used to deliver webhook updates, for
// instance one that trusts an httptest TLS server.
func WithWebhookClient(hc *http.Client) Option { return func(c *config) { c.webhookHTTP = hc } }

// Server is a running Bot API emulator. Its zero value is not usable; create
// one with New or NewServer and stop it with Close.
type Server struct {
	cfg      config
	url      string
	listener net.Listener
	http     *http.Server
	done     chan struct{}
	closing  sync.Once
	wg       sync.WaitGroup

	methods map[string]methodFunc
	conns   atomic.Int64 // connections clients opened

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change of state
	st      state
}

// New starts a Server for a test and closes it when the test ends. It fails
// the test if the server cannot start.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := NewServer(opts...)
	if err != nil {
		tb.Fatalf("start Bot API emulator: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// NewServer starts a Server listening on 127.0.0.1 on a random port, or on
// the address given by WithAddr. The caller must Close it.
func NewServer(opts ...Option) (*Server, error) {
	cfg := config{
		token:      DefaultToken,
		username:   "caunoi_test_bot",
		firstName:  "Cầu Nối",
		addr:       "127.0.0.1:0",
		now:        time.Now,
		retryDelay: time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.webhookHTTP == nil {
		cfg.webhookHTTP = &http.Client{Timeout: 30 * time.Second}
	}
	idPart, _, ok := strings.Cut(cfg.token, ":")
	botID, err := strconv.ParseInt(idPart, 10, 64)
	if !ok || err != nil || botID <= 0 {
		return nil, fmt.Errorf("bad token %q: want <bot id>:<secret>", cfg.token)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	s := &Server{
		cfg:      cfg,
		url:      "http://" + ln.Addr().String(),
		listener: ln,
		done:     make(chan struct{}),
		changed:  make(chan struct{}),
		st:       newState(User{ID: botID, IsBot: true, FirstName: cfg.firstName, Username: cfg.username}),
	}
	s.st.limits = cfg.limits
	s.methods = s.handlers()
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.logger.Error("bot api emulator stopped", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.deliverWebhooks()
	}()
	return s, nil
}

// Connections is how many connections clients have opened to the server.
func (s *Server) Connections() int64 { return s.conns.Load() }

// URL is the server's base URL, for bot.WithServerURL.
func (s *Server) URL() string { return s.url }

// Token is the token the server accepts.
func (s *Server) Token() string { return s.cfg.token }

// Bot is the bot's own user, as getMe returns it.
func (s *Server) Bot() User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.me
}

// Close stops the server: pending long polls return, webhook delivery stops
// and open connections are closed. It is safe to call more than once.
func (s *Server) Close() {
	s.closing.Do(func() {
		close(s.done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			s.http.Close()
		}
		s.wg.Wait()
	})
}

// now reads the injected clock.
func (s *Server) now() time.Time { return s.cfg.now() }

// notifyLocked wakes everything waiting for a change. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// apiError is an error response of the Bot API.
type apiError struct {
	Code        int
	Description string
	RetryAfter  int
	MigrateTo   int64
}

func badRequest(desc string) *apiError {
	return &apiError{Code: http.StatusBadRequest, Description: "Bad Request: " + desc}
}

func forbidden(desc string) *apiError {
	return &apiError{Code: http.StatusForbidden, Description: "Forbidden: " + desc}
}

func tooManyRequests(retryAfter int) *apiError {
	return &apiError{
		Code:        http.StatusTooManyRequests,
		Description: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter),
		RetryAfter:  retryAfter,
	}
}

var (
	errNotFound     = &apiError{Code: http.StatusNotFound, Description: "Not Found"}
	errUnauthorized = &apiError{Code: http.StatusUnauthorized, Description: "Unauthorized"}
)

type responseParameters struct {
	RetryAfter      int   `json:"retry_after,omitempty"`
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
}

type response struct {
	OK          bool                `json:"ok"`
	Result      any                 `json:"result,omitempty"`
	ErrorCode   int                 `json:"error_code,omitempty"`
	Description string              `json:"description,omitempty"`
	Parameters  *responseParameters `json:"parameters,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"ok":false,"error_code":500,"description":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func writeError(w http.ResponseWriter, e *apiError) {
	resp := response{OK: false, ErrorCode: e.Code, Description: e.Description}
	if e.RetryAfter > 0 || e.MigrateTo != 0 {
		resp.Parameters = &responseParameters{RetryAfter: e.RetryAfter, MigrateToChatID: e.MigrateTo}
	}
	writeJSON(w, e.Code, resp)
}

// result is what a method returns: the value and an optional description,
// as setWebhook's "Webhook was set".
type result struct {
	value       any
	description string
}

// ServeHTTP implements the Bot API endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/file/bot"); ok {
		s.serveFile(w, r, rest)
		return
	}
	rest, ok := strings.CutPrefix(path, "/bot")
	if !ok {
		writeError(w, errNotFound)
		return
	}
	token, method, ok := strings.Cut(rest, "/")
	if !ok || method == "" || strings.Contains(method, "/") {
		writeError(w, errNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeError(w, errNotFound)
		return
	}
	start := s.now()
	rec := Request{Method: method, Time: start}
	status := s.serveMethod(w, r, token, method, &rec)
	rec.Status = status
	s.mu.Lock()
	s.st.requests = append(s.st.requests, rec)
	s.notifyLocked()
	s.mu.Unlock()
}

// serveMethod runs one Bot API call and returns the HTTP status it answered
// with, or 0 when the connection was dropped.
func (s *Server) serveMethod(w http.ResponseWriter, r *http.Request, token, method string, rec *Request) int {
	if token != s.cfg.token {
		writeError(w, errUnauthorized)
		return errUnauthorized.Code
	}
	spec, ok := methodSpecs[strings.ToLower(method)]
	if !ok {
		writeError(w, errNotFound)
		return errNotFound.Code
	}
	rec.Method = spec.Name
	a, aerr := parseArgs(r)
	if aerr != nil {
		writeError(w, aerr)
		return aerr.Code
	}
	if id, ok := a.int("chat_id"); ok {
		rec.ChatID = id
	} else if name := a.str("chat_id"); strings.HasPrefix(name, "@") {
		s.mu.Lock()
		if c := s.st.chatByUsername(name[1:]); c != nil {
			rec.ChatID = c.chat.ID
		}
		s.mu.Unlock()
	}

	f := s.takeFault(spec.Name, rec.ChatID)
	if f != nil {
		rec.Fault = true
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return 0
			case <-s.done:
				t.Stop()
			}
		}
		if f.Drop {
			dropConnection(w)
			return 0
		}
		if f.Status != 0 {
			e := faultError(*f)
			writeError(w, e)
			return e.Code
		}
	}

	if aerr := validate(spec, a); aerr != nil {
		writeError(w, aerr)
		return aerr.Code
	}
	handler := s.methods[spec.Name]
	if handler == nil {
		writeError(w, errNotFound)
		return errNotFound.Code
	}
	res, aerr := handler(r.Context(), a)
	if aerr != nil {
		writeError(w, aerr)
		return aerr.Code
	}
	writeJSON(w, http.StatusOK, response{OK: true, Result: res.value, Description: res.description})
	return http.StatusOK
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

type methodFunc func(ctx context.Context, a args) (result, *apiError)

func (s *Server) handlers() map[string]methodFunc {
	return map[string]methodFunc{
		"getMe":                  s.getMe,
		"getUpdates":             s.getUpdates,
		"setWebhook":             s.setWebhook,
		"deleteWebhook":          s.deleteWebhook,
		"getWebhookInfo":         s.getWebhookInfo,
		"sendMessage":            s.sendMessage,
		"editMessageText":        s.editMessageText,
		"editMessageReplyMarkup": s.editMessageReplyMarkup,
		"answerCallbackQuery":    s.answerCallbackQuery,
		"sendChatAction":         s.sendChatAction,
		"setMyCommands":          s.setMyCommands,
		"getMyCommands":          s.getMyCommands,
		"deleteMyCommands":       s.deleteMyCommands,
		"getFile":                s.getFile,
		"sendPhoto":              s.sendPhoto,
		"sendDocument":           s.sendDocument,
		"copyMessage":            s.copyMessage,
		"createForumTopic":       s.createForumTopic,
		"deleteMessage":          s.deleteMessage,
	}
}
