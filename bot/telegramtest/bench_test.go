package telegramtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi/bot/telegramtest"
)

// BenchmarkSendMessageClient measures one sendMessage through the real
// client: multipart encoding, HTTP, validation, HTML parsing and storage.
func BenchmarkSendMessageClient(b *testing.B) {
	s := telegramtest.New(b)
	u := s.AddUser(telegramtest.User{FirstName: "Lan"})
	if _, err := s.SendText(u.ID, u.ID, "/start"); err != nil {
		b.Fatal(err)
	}
	bot := MustOpenBot(b, s)
	ctx := context.Background()
	text := "<b>Đăng ký khai sinh</b>\n" + strings.Repeat("Hồ sơ gồm tờ khai và giấy chứng sinh. ", 20)
	kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Hỏi Sở", CallbackData: "esc:1"}}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bot.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.ID, Text: text, ParseMode: models.ParseModeHTML, ReplyMarkup: kb}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendMessageJSONParallel measures the server under concurrent
// JSON sends to many chats.
func BenchmarkSendMessageJSONParallel(b *testing.B) {
	s := telegramtest.New(b)
	var ids []int64
	for range 64 {
		u := s.AddUser(telegramtest.User{FirstName: "Cán bộ"})
		if _, err := s.SendText(u.ID, u.ID, "/start"); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	endpoint := s.URL() + "/bot" + s.Token() + "/sendMessage"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			body, _ := json.Marshal(map[string]any{"chat_id": ids[i%len(ids)], "text": "Phiếu #12 đã được tiếp nhận"})
			i++
			resp, err := client.Post(endpoint, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
