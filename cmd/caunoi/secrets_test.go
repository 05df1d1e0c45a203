package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/store/redistest"
)

// The secrets of the session in TestSecretsNeverShown. Each is long and
// distinctive, so that any echo of it, or of a good part of it, is found.
const (
	secretToken   = "7001234567:AAHsecretTokenQ9xZk2LmW4vB7nR1tY8uP3s"
	secretRedisPW = "redisPassw0rd-Kq7Zr2Vx9LmT4"
	secretWebhook = "webhookSecret_Xb81Nq4Lm0Zt7Rv2"
	secretSigning = "signingKey-Hm3Qz8Wd1Ky6Tp0Vr5"
)

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// secretForms are the ways a secret could show: as is, URL-escaped, and its
// longest part without the token's bot id.
func secretForms(s string) []string {
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s)}
	if _, after, ok := strings.Cut(s, ":"); ok {
		forms = append(forms, after)
	}
	return forms
}

// collected is everything a person could read: logs, command output,
// returned errors, admin pages.
type collected struct {
	what  []string
	texts []string
}

func (c *collected) add(what, text string) {
	c.what = append(c.what, what)
	c.texts = append(c.texts, text)
}

func (c *collected) check(t *testing.T) {
	t.Helper()
	secrets := map[string]string{"token": secretToken, "Redis password": secretRedisPW, "webhook secret": secretWebhook, "signing key": secretSigning}
	total := 0
	for i, text := range c.texts {
		total += len(text)
		for name, s := range secrets {
			for _, form := range secretForms(s) {
				if j := strings.Index(text, form); j >= 0 {
					lo, hi := max(0, j-120), min(len(text), j+len(form)+40)
					t.Errorf("the %s appears in %s: …%s…", name, c.what[i], text[lo:hi])
				}
			}
		}
	}
	t.Logf("%d sources, %d bytes searched for 4 secrets", len(c.texts), total)
}

// TestSecretsNeverShown runs `caunoi serve` in webhook mode with a Redis
// store that needs a password, logging at debug level, through a whole
// ticket; then calls the webhook with a wrong secret, stops Redis under
// it, and starts serve again with a wrong token, a wrong Redis password and
// Redis unreachable. Nothing printed, logged or returned holds the token,
// the Redis password, the webhook secret or the signing key.
func TestSecretsNeverShown(t *testing.T) {
	// redistest checks readiness with a PING that does not authenticate, so
	// the password is set once the server is up (and again after a restart).
	rs := redistest.Start(t)
	setPassword(t, rs.Addr(), "", secretRedisPW)
	t.Cleanup(func() { setPassword(t, rs.Addr(), secretRedisPW, "") })
	storeURL := fmt.Sprintf("redis://:%s@%s/0?prefix=secrets:", secretRedisPW, rs.Addr())
	listen, admin := freeAddr(t), freeAddr(t)
	// Telegram calls https://PUBLIC_URL; here the emulator calls the
	// listener over plain HTTP instead.
	hook := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, listen)
		},
	}}
	hook.Transport = rewriteScheme{hook.Transport}
	srv := telegramtest.New(t, telegramtest.WithToken(secretToken), telegramtest.WithWebhookClient(hook), telegramtest.WithWebhookRetry(50*time.Millisecond))
	official := srv.AddUser(telegramtest.User{FirstName: "Lan"})
	staff := srv.AddUser(telegramtest.User{FirstName: "Đức"})
	group := srv.AddGroup("Cán bộ Sở Tư pháp", staff.ID).ID

	env := map[string]string{
		"TELEGRAM_TOKEN":   secretToken,
		"TELEGRAM_API_URL": srv.URL(),
		"PUBLIC_URL":       "https://caunoi.example.test",
		"WEBHOOK_SECRET":   secretWebhook,
		"LISTEN":           listen,
		"ADMIN_LISTEN":     admin,
		"STORE":            storeURL,
		"DATA_DIR":         t.TempDir(),
		"SIGNING_KEY":      secretSigning,
		"STAFF_GROUPS":     fmt.Sprintf("tu-phap=%d", group),
		"LOG_LEVEL":        "debug",
		"LOG_FORMAT":       "json",
		"SEND_RATE":        "1000",
		"CHAT_GAP":         "0s",
	}
	var got collected
	run := func(name string, env map[string]string, ctx context.Context, args ...string) (string, error) {
		var out, errOut syncBuffer
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
		err := m.Run(ctx, args)
		got.add(name+": stdout", out.String())
		got.add(name+": stderr and log", errOut.String())
		if err != nil {
			got.add(name+": error", err.Error())
		}
		return out.String() + errOut.String(), err
	}

	// The commune registry and the invites, as an administrator would.
	st, err := openStore(context.Background(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceCommunes(context.Background(), []caunoi.Commune{{Code: "00001", Name: "Xã Một"}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code := regexp.MustCompile(`Mã mời:\s+(\S+)`)
	invite := func(args ...string) string {
		out, err := run("caunoi invite", env, context.Background(), append([]string{"invite"}, args...)...)
		if err != nil {
			t.Fatalf("invite: %v\n%s", err, out)
		}
		m := code.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no code in %q", out)
		}
		return m[1]
	}
	inviteOfficial := invite("--role", "official", "--commune", "00001")
	inviteStaff := invite("--role", "staff", "--department", "tu-phap")

	// serve, through a whole ticket.
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	var serveLog string
	go func() {
		out, err := run("caunoi serve", env, ctx, "serve")
		serveLog = out
		served <- err
	}()
	wait := func(what string, cond func() bool) {
		t.Helper()
		wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.WaitFor(wctx, cond); err != nil {
			stop()
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	wait("the webhook", func() bool { return srv.WebhookInfo().URL != "" })
	said := func(chat int64, s string) func() bool {
		return func() bool {
			for _, m := range srv.Messages(chat) {
				if m.From != nil && m.From.IsBot && strings.Contains(m.Text, s) {
					return true
				}
			}
			return false
		}
	}
	buttonIn := func(chat int64, label string) func() bool {
		return func() bool {
			for _, m := range srv.Messages(chat) {
				if m.ReplyMarkup == nil {
					continue
				}
				for _, row := range m.ReplyMarkup.InlineKeyboard {
					for _, b := range row {
						if strings.Contains(b.Text, label) {
							return true
						}
					}
				}
			}
			return false
		}
	}
	sendText := func(from, chat int64, text string) {
		t.Helper()
		if _, err := srv.SendText(from, chat, text); err != nil {
			t.Fatal(err)
		}
	}
	pressLatest := func(from, chat int64, label string) {
		t.Helper()
		msgs := srv.Messages(chat)
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].ReplyMarkup == nil {
				continue
			}
			for _, row := range msgs[i].ReplyMarkup.InlineKeyboard {
				for _, b := range row {
					if strings.Contains(b.Text, label) {
						if _, err := srv.PressButton(from, chat, msgs[i].MessageID, b.CallbackData); err != nil {
							t.Fatal(err)
						}
						return
					}
				}
			}
		}
		t.Fatalf("no button %q", label)
	}
	sendText(official.ID, official.ID, "/start "+inviteOfficial)
	sendText(staff.ID, staff.ID, "/start "+inviteStaff)
	wait("registrations", func() bool {
		return said(official.ID, "Đăng ký thành công")() && said(staff.ID, "Đăng ký thành công")()
	})
	sendText(official.ID, official.ID, "trẻ sinh ở nước ngoài thì đăng ký khai sinh thế nào")
	wait("an answer", buttonIn(official.ID, "Hỏi cán bộ Sở"))
	pressLatest(official.ID, official.ID, "Hỏi cán bộ Sở")
	wait("the draft", buttonIn(official.ID, "Gửi câu hỏi"))
	pressLatest(official.ID, official.ID, "Gửi câu hỏi")
	wait("the ticket card", said(group, "Phiếu TP-"))
	card := 0
	for _, m := range srv.Messages(group) {
		if strings.Contains(m.Text, "Phiếu TP-") && m.ReplyMarkup != nil {
			card = m.MessageID
		}
	}
	if _, err := srv.Reply(staff.ID, group, card, "Cần giấy chứng sinh đã hợp pháp hóa lãnh sự."); err != nil {
		t.Fatal(err)
	}
	wait("the staff reply", said(official.ID, "hợp pháp hóa lãnh sự"))

	// The admin pages.
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + admin + path)
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got.add("GET "+path, string(body))
	}
	// A webhook call with a wrong secret, and one with none.
	for _, secret := range []string{"", secretWebhook[:len(secretWebhook)-1]} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+listen+"/telegram", strings.NewReader(`{"update_id":1}`))
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("webhook with secret %q: status %d, want 401", secret, resp.StatusCode)
		}
		got.add("webhook refusal", string(body))
	}

	// Redis goes down while serving, and comes back.
	rs.Kill(t)
	sendText(official.ID, official.ID, "đăng ký kết hôn cần giấy tờ gì")
	wait("a refused delivery", func() bool { return srv.Stats().WebhookFailures > 0 })
	rs.Restart(t)
	setPassword(t, rs.Addr(), "", secretRedisPW)
	wait("the answer after Redis is back", said(official.ID, "kết hôn"))
	stop()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, context.Canceled) {
			got.add("serve: returned", err.Error())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(serveLog, `"level":"DEBUG"`) {
		t.Errorf("serve logged nothing at debug level")
	}
	for _, want := range []string{"webhook call with a wrong secret", "journal webhook update"} {
		if !strings.Contains(serveLog, want) {
			t.Errorf("serve did not log %q", want)
		}
	}

	// Starts that fail.
	fails := []struct {
		name string
		set  map[string]string
	}{
		{"a wrong token", map[string]string{"TELEGRAM_TOKEN": "7001234567:AAHwrongTokenButSameShape0000000000"}},
		{"a wrong Redis password", map[string]string{"STORE": strings.Replace(storeURL, secretRedisPW, secretRedisPW+"x", 1)}},
		{"Redis unreachable", map[string]string{"STORE": fmt.Sprintf("redis://:%s@%s/0", secretRedisPW, freeAddr(t))}},
		{"a malformed store URL", map[string]string{"STORE": "redis://:" + secretRedisPW + "@[::1"}},
		{"a short webhook secret", map[string]string{"WEBHOOK_SECRET": secretWebhook[:8], "SIGNING_KEY": secretSigning[:10]}},
	}
	for _, f := range fails {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range f.set {
			e[k] = v
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := run("serve with "+f.name, e, ctx, "serve")
		cancel()
		if err == nil {
			t.Errorf("serve with %s started", f.name)
			continue
		}
		t.Logf("serve with %s: %s", f.name, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	_, err = run("invite with a wrong Redis password", env, context.Background(), "invite", "--role", "official", "--commune", "00001",
		"--store", strings.Replace(storeURL, secretRedisPW, "nope", 1))
	if err == nil {
		t.Errorf("invite with a wrong Redis password succeeded")
	}
	got.check(t)
}

// rewriteScheme sends https requests as http, for the webhook listener.
type rewriteScheme struct{ next http.RoundTripper }

func (r rewriteScheme) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme = "http"
	return r.next.RoundTrip(req)
}

// setPassword sets Redis's requirepass to pw, authenticating with old when
// it is not empty.
func setPassword(t *testing.T, addr, old, pw string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	resp := func(args ...string) string {
		fmt.Fprintf(c, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(c, "$%d\r\n%s\r\n", len(a), a)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(line)
	}
	if old != "" {
		if r := resp("AUTH", old); r != "+OK" {
			t.Fatalf("redis AUTH: %s", r)
		}
	}
	if r := resp("CONFIG", "SET", "requirepass", pw); r != "+OK" {
		t.Fatalf("redis CONFIG SET requirepass: %s", r)
	}
}
