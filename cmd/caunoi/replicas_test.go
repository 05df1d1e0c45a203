package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/store/redistest"
)

// TestTwoReplicasOneRedis runs two replicas of the bot in webhook mode on
// one Redis. Every update is delivered to BOTH replicas, the worst case of
// a load balancer retrying on another replica: each question is still
// answered exactly once, and an escalation makes exactly one ticket card.
func TestTwoReplicasOneRedis(t *testing.T) {
	rs := redistest.Start(t)
	srv := telegramtest.New(t, telegramtest.WithWebhookRetry(50*time.Millisecond))
	staff := srv.AddUser(telegramtest.User{FirstName: "Đức"})
	group := srv.AddGroup("Cán bộ Sở Tư pháp", staff.ID).ID

	cfg := DefaultConfig()
	cfg.Token, cfg.APIURL = srv.Token(), srv.URL()
	cfg.Store = rs.URL(0) + "?prefix=replicas:"
	cfg.DataDir = t.TempDir()
	cfg.DraftsDir = filepath.Join(cfg.DataDir, "drafts")
	cfg.Groups = map[string]int64{"tu-phap": group}
	cfg.SigningKey = "a-test-signing-key-0123456789"
	cfg.SendRate, cfg.ChatGap, cfg.GroupRate = 1000, "0s", 10000
	const secret = "replica-webhook-secret-0123"

	// The replicas' logs are shown when the test fails.
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica logs:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var handlers []http.Handler
	var apps []*app
	for i := 0; i < 2; i++ {
		a, err := openApp(context.Background(), cfg, log, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, a)
		handlers = append(handlers, a.bot.WebhookHandler(secret))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = a.bot.Run(ctx, false)
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, a := range apps {
			a.Close()
		}
	})
	// The "load balancer" hands every update to both replicas.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		status := http.StatusServiceUnavailable
		for _, h := range handlers {
			req := httptest.NewRequest(http.MethodPost, "/telegram", strings.NewReader(string(body)))
			req.Header = r.Header.Clone()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code == http.StatusOK {
				status = http.StatusOK
			}
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(front.Close)
	if err := apps[0].bot.SetWebhook(ctx, front.URL+"/telegram", secret); err != nil {
		t.Fatal(err)
	}
	st := apps[0].store
	idle := func() {
		t.Helper()
		waitIdle(t, srv, st, inAMinute)
	}

	if err := st.ReplaceCommunes(ctx, []caunoi.Commune{{Code: "00001", Name: "Xã Thử Nghiệm"}}); err != nil {
		t.Fatal(err)
	}
	var officials []telegramtest.User
	for _, name := range []string{"Lan", "Hùng", "Mai"} {
		u := srv.AddUser(telegramtest.User{FirstName: name})
		inv, err := apps[1].desk.CreateInvite(ctx, caunoi.Operator, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00001"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.SendText(u.ID, u.ID, "/start "+inv.Code); err != nil {
			t.Fatal(err)
		}
		officials = append(officials, u)
	}
	inv, err := apps[0].desk.CreateInvite(ctx, caunoi.Operator, caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: "tu-phap"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.SendText(staff.ID, staff.ID, "/start "+inv.Code); err != nil {
		t.Fatal(err)
	}
	idle()

	questions := []string{"đăng ký khai sinh cần giấy tờ gì", "chung thuc ban sao", "xác nhận tình trạng hôn nhân", "đăng ký kết hôn"}
	for _, q := range questions {
		for _, u := range officials {
			if _, err := srv.SendText(u.ID, u.ID, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	idle()
	for _, u := range officials {
		var answers []string
		for _, o := range srv.Outbox(u.ID) {
			if o.Method == "sendMessage" && (strings.HasPrefix(o.Message.Text, "📘") || strings.HasPrefix(o.Message.Text, "Sổ tay chưa")) {
				answers = append(answers, o.Message.Text)
			}
		}
		if len(answers) != len(questions) {
			t.Errorf("%s got %d answers, want exactly %d", u.FirstName, len(answers), len(questions))
		}
	}

	// One escalation through the buttons: one ticket, one card.
	lan := officials[0]
	press := func(label string) {
		t.Helper()
		msgs := srv.Messages(lan.ID)
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].ReplyMarkup == nil {
				continue
			}
			for _, row := range msgs[i].ReplyMarkup.InlineKeyboard {
				for _, b := range row {
					if strings.Contains(b.Text, label) {
						if _, err := srv.PressButton(lan.ID, lan.ID, msgs[i].MessageID, b.CallbackData); err != nil {
							t.Fatal(err)
						}
						idle()
						return
					}
				}
			}
		}
		t.Fatalf("no button %q", label)
	}
	press("Hỏi cán bộ Sở")
	press("Gửi câu hỏi")
	cards := 0
	for _, m := range srv.Messages(group) {
		if strings.HasPrefix(m.Text, "🆕 Phiếu") {
			cards++
		}
	}
	tickets, err := st.Tickets(ctx, caunoi.TicketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if cards != 1 || len(tickets) != 1 {
		t.Errorf("escalation made %d cards and %d tickets, want 1 and 1", cards, len(tickets))
	}
}
