package telegramtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi/bot/telegramtest"
)

// apiResponse is the Bot API response envelope.
type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func decodeResponse(t *testing.T, resp *http.Response) (int, apiResponse) {
	t.Helper()
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp.StatusCode, r
}

// callJSON posts params as a JSON body.
func callJSON(t *testing.T, s *telegramtest.Server, method string, params any) (int, apiResponse) {
	t.Helper()
	body, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(s.URL()+"/bot"+s.Token()+"/"+method, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return decodeResponse(t, resp)
}

// callForm posts params as a URL-encoded form.
func callForm(t *testing.T, s *telegramtest.Server, method string, params url.Values) (int, apiResponse) {
	t.Helper()
	resp, err := http.PostForm(s.URL()+"/bot"+s.Token()+"/"+method, params)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return decodeResponse(t, resp)
}

// callMultipart posts params as multipart/form-data.
func callMultipart(t *testing.T, s *telegramtest.Server, method string, params map[string]string) (int, apiResponse) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range params {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	resp, err := http.Post(s.URL()+"/bot"+s.Token()+"/"+method, w.FormDataContentType(), &buf)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return decodeResponse(t, resp)
}

// MustOpenBot connects the real client to the emulator.
func MustOpenBot(tb testing.TB, s *telegramtest.Server, opts ...tgbot.Option) *tgbot.Bot {
	tb.Helper()
	opts = append([]tgbot.Option{
		tgbot.WithServerURL(s.URL()),
		tgbot.WithErrorsHandler(func(error) {}),
		tgbot.WithDefaultHandler(func(context.Context, *tgbot.Bot, *models.Update) {}),
	}, opts...)
	b, err := tgbot.New(s.Token(), opts...)
	if err != nil {
		tb.Fatalf("bot.New: %v", err)
	}
	return b
}

// official adds a user who has opened a private chat with the bot.
func official(t *testing.T, s *telegramtest.Server, name string) telegramtest.User {
	t.Helper()
	u := s.AddUser(telegramtest.User{FirstName: name, LanguageCode: "vi"})
	if _, err := s.SendText(u.ID, u.ID, "/start"); err != nil {
		t.Fatal(err)
	}
	return u
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestGetMe(t *testing.T) {
	s := telegramtest.New(t)
	b := MustOpenBot(t, s)
	me, err := b.GetMe(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if me.ID != 110201543 || !me.IsBot || me.Username != "caunoi_test_bot" {
		t.Errorf("getMe = %+v, want bot 110201543 @caunoi_test_bot", me)
	}
	if got := b.ID(); got != me.ID {
		t.Errorf("token id %d != getMe id %d", got, me.ID)
	}
}

func TestAuthAndUnknownMethod(t *testing.T) {
	s := telegramtest.New(t)
	tests := []struct {
		path       string
		wantStatus int
		wantDesc   string
	}{
		{"/bot" + s.Token() + "/getMe", 200, ""},
		{"/bot" + s.Token() + "/GETME", 200, ""},
		{"/bot123:wrong/getMe", 401, "Unauthorized"},
		{"/bot" + s.Token() + "/sendPigeon", 404, "Not Found"},
		{"/nothing", 404, "Not Found"},
	}
	for _, tt := range tests {
		resp, err := http.Post(s.URL()+tt.path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		status, r := decodeResponse(t, resp)
		if status != tt.wantStatus || r.Description != tt.wantDesc {
			t.Errorf("POST %s = %d %q, want %d %q", tt.path, status, r.Description, tt.wantStatus, tt.wantDesc)
		}
		if status != 200 && (r.OK || r.ErrorCode != status) {
			t.Errorf("POST %s: body ok=%v error_code=%d, want false %d", tt.path, r.OK, r.ErrorCode, status)
		}
	}
}

func TestSendMessageEncodings(t *testing.T) {
	s := telegramtest.New(t)
	u := official(t, s, "Lan")
	id := strconv.FormatInt(u.ID, 10)
	markup := `{"inline_keyboard":[[{"text":"Hỏi Sở","callback_data":"esc:1"}]]}`

	_, rj := callJSON(t, s, "sendMessage", map[string]any{
		"chat_id": u.ID, "text": "<b>Chào</b> chị", "parse_mode": "HTML",
		"reply_markup": json.RawMessage(markup),
	})
	_, rm := callMultipart(t, s, "sendMessage", map[string]string{
		"chat_id": id, "text": "<b>Chào</b> chị", "parse_mode": "HTML", "reply_markup": markup,
	})
	_, rf := callForm(t, s, "sendMessage", url.Values{
		"chat_id": {id}, "text": {"<b>Chào</b> chị"}, "parse_mode": {"HTML"}, "reply_markup": {markup},
	})
	var msgs []telegramtest.Message
	for _, r := range []apiResponse{rj, rm, rf} {
		if !r.OK {
			t.Fatalf("sendMessage failed: %d %s", r.ErrorCode, r.Description)
		}
		var m telegramtest.Message
		if err := json.Unmarshal(r.Result, &m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	for i, m := range msgs {
		if m.Text != "Chào chị" || len(m.Entities) != 1 || m.Entities[0] != (telegramtest.MessageEntity{Type: "bold", Offset: 0, Length: 4}) {
			t.Errorf("message %d: text %q entities %+v", i, m.Text, m.Entities)
		}
		if m.ReplyMarkup == nil || m.ReplyMarkup.InlineKeyboard[0][0].CallbackData != "esc:1" {
			t.Errorf("message %d: reply markup %+v", i, m.ReplyMarkup)
		}
		if m.MessageID != msgs[0].MessageID+i {
			t.Errorf("message %d: id %d, want %d", i, m.MessageID, msgs[0].MessageID+i)
		}
		if m.From == nil || !m.From.IsBot || m.Chat.ID != u.ID {
			t.Errorf("message %d: from %+v chat %+v", i, m.From, m.Chat)
		}
	}
	out := s.Outbox(u.ID)
	if len(out) != 3 || out[0].ParseMode != "HTML" || out[0].Source != "<b>Chào</b> chị" || out[0].Method != "sendMessage" {
		t.Errorf("outbox = %+v", out)
	}
}

func TestBadRequests(t *testing.T) {
	s := telegramtest.New(t)
	u := official(t, s, "Minh")
	stranger := s.AddUser(telegramtest.User{FirstName: "Khách"})
	long := strings.Repeat("ă", 4097)
	tests := []struct {
		name   string
		method string
		params map[string]any
		want   string
	}{
		{"no text", "sendMessage", map[string]any{"chat_id": u.ID}, "Bad Request: message text is empty"},
		{"blank text", "sendMessage", map[string]any{"chat_id": u.ID, "text": "  \n "}, "Bad Request: message text is empty"},
		{"no chat", "sendMessage", map[string]any{"text": "x"}, "Bad Request: chat_id is empty"},
		{"unknown chat", "sendMessage", map[string]any{"chat_id": 42, "text": "x"}, "Bad Request: chat not found"},
		{"chat of wrong type", "sendMessage", map[string]any{"chat_id": map[string]int{"id": 1}, "text": "x"}, "Bad Request: chat not found"},
		{"text of wrong type", "sendMessage", map[string]any{"chat_id": u.ID, "text": map[string]int{"a": 1}},
			`Bad Request: field "text" must be of type String`},
		{"text as a list", "sendMessage", map[string]any{"chat_id": u.ID, "text": []string{"x"}},
			`Bad Request: field "text" must be of type String`},
		{"text null", "sendMessage", map[string]any{"chat_id": u.ID, "text": nil}, "Bad Request: message text is empty"},
		{"thread of wrong type", "sendMessage", map[string]any{"chat_id": u.ID, "text": "x", "message_thread_id": "abc"},
			`Bad Request: field "message_thread_id" must be of type Integer`},
		{"bad markup", "sendMessage", map[string]any{"chat_id": u.ID, "text": "x", "reply_markup": map[string]any{"inline_keyboard": "no"}},
			"Bad Request: can't parse reply keyboard markup JSON object"},
		{"text button in inline keyboard", "sendMessage", map[string]any{"chat_id": u.ID, "text": "x",
			"reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "a"}}}}},
			"Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"},
		{"callback data too long", "sendMessage", map[string]any{"chat_id": u.ID, "text": "x",
			"reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "a", "callback_data": strings.Repeat("x", 65)}}}}},
			"Bad Request: BUTTON_DATA_INVALID"},
		{"too long", "sendMessage", map[string]any{"chat_id": u.ID, "text": long}, "Bad Request: message is too long"},
		{"bad html", "sendMessage", map[string]any{"chat_id": u.ID, "text": "<b>x", "parse_mode": "HTML"},
			`Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{"unknown parse mode", "sendMessage", map[string]any{"chat_id": u.ID, "text": "x", "parse_mode": "BBCode"}, "Bad Request: unsupported parse_mode"},
		{"reply to nothing", "sendMessage", map[string]any{"chat_id": u.ID, "text": "x", "reply_parameters": map[string]int{"message_id": 999}},
			"Bad Request: message to be replied not found"},
		{"not started", "sendMessage", map[string]any{"chat_id": stranger.ID, "text": "x"}, "Forbidden: bot can't initiate conversation with a user"},
		{"edit nothing", "editMessageText", map[string]any{"chat_id": u.ID, "message_id": 999, "text": "x"}, "Bad Request: message to edit not found"},
		{"edit user's message", "editMessageText", map[string]any{"chat_id": u.ID, "message_id": 1, "text": "x"}, "Bad Request: message can't be edited"},
		{"bad action", "sendChatAction", map[string]any{"chat_id": u.ID, "action": "dancing"}, "Bad Request: wrong parameter action in request"},
		{"unknown callback", "answerCallbackQuery", map[string]any{"callback_query_id": "1"},
			"Bad Request: query is too old and response timeout expired or query ID is invalid"},
		{"no photo", "sendPhoto", map[string]any{"chat_id": u.ID}, "Bad Request: there is no photo in the request"},
		{"unknown file", "sendDocument", map[string]any{"chat_id": u.ID, "document": "nope"}, "Bad Request: wrong file identifier/HTTP URL specified"},
		{"bad command", "setMyCommands", map[string]any{"commands": []map[string]string{{"command": "Hỏi", "description": "Hỏi"}}}, "Bad Request: BOT_COMMAND_INVALID"},
		{"commands missing", "setMyCommands", map[string]any{}, `Bad Request: parameter "commands" is required`},
		{"command of wrong shape", "setMyCommands", map[string]any{"commands": []map[string]string{{"command": "hoi"}}},
			`Bad Request: field "commands" must be of type Array of BotCommand`},
		{"bad scope", "setMyCommands", map[string]any{"commands": []any{}, "scope": map[string]string{"type": "chat"}},
			`Bad Request: field "scope" must be of type BotCommandScope`},
		{"http webhook", "setWebhook", map[string]any{"url": "http://example.com/hook"}, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, r := callJSON(t, s, tt.method, tt.params)
			if r.OK || r.Description != tt.want {
				t.Errorf("%s = %d %q, want %q", tt.method, status, r.Description, tt.want)
			}
			if r.ErrorCode != status || (status != 400 && status != 403) {
				t.Errorf("status %d, error_code %d", status, r.ErrorCode)
			}
		})
	}
	// HTML tags do not count towards the 4096 characters.
	text := "<b>" + strings.Repeat("ư", 4096) + "</b>"
	if _, r := callJSON(t, s, "sendMessage", map[string]any{"chat_id": u.ID, "text": text, "parse_mode": "HTML"}); !r.OK {
		t.Errorf("4096 characters inside tags: %s", r.Description)
	}
}

func TestCallbackDataLimitThroughClient(t *testing.T) {
	s := telegramtest.New(t)
	u := official(t, s, "Hà")
	b := MustOpenBot(t, s)
	kb := func(data string) *models.InlineKeyboardMarkup {
		return &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "Xem", CallbackData: data}}}}
	}
	_, err := b.SendMessage(testContext(t), &tgbot.SendMessageParams{ChatID: u.ID, Text: "x", ReplyMarkup: kb(strings.Repeat("đ", 33))})
	if !errors.Is(err, tgbot.ErrorBadRequest) || !strings.Contains(err.Error(), "BUTTON_DATA_INVALID") {
		t.Errorf("66-byte callback data: err = %v, want BUTTON_DATA_INVALID", err)
	}
	if _, err := b.SendMessage(testContext(t), &tgbot.SendMessageParams{ChatID: u.ID, Text: "x", ReplyMarkup: kb(strings.Repeat("đ", 32))}); err != nil {
		t.Errorf("64-byte callback data: %v", err)
	}
}

// getUpdates calls getUpdates with raw HTTP and returns the update IDs.
func getUpdates(t *testing.T, s *telegramtest.Server, params map[string]any) []telegramtest.Update {
	t.Helper()
	_, r := callJSON(t, s, "getUpdates", params)
	if !r.OK {
		t.Fatalf("getUpdates: %d %s", r.ErrorCode, r.Description)
	}
	var ups []telegramtest.Update
	if err := json.Unmarshal(r.Result, &ups); err != nil {
		t.Fatal(err)
	}
	return ups
}

func TestLongPollingOffsets(t *testing.T) {
	s := telegramtest.New(t)
	u := s.AddUser(telegramtest.User{FirstName: "Tuấn"})
	u1, err := s.SendText(u.ID, u.ID, "/start")
	if err != nil {
		t.Fatal(err)
	}
	u2, _ := s.SendText(u.ID, u.ID, "thủ tục khai sinh")
	u3, _ := s.SendText(u.ID, u.ID, "cảm ơn")

	ids := func(ups []telegramtest.Update) []int64 {
		var out []int64
		for _, u := range ups {
			out = append(out, u.UpdateID)
		}
		return out
	}
	if got := ids(getUpdates(t, s, map[string]any{})); len(got) != 3 || got[0] != u1.UpdateID {
		t.Fatalf("first poll = %v, want 3 updates from %d", got, u1.UpdateID)
	}
	// Unconfirmed updates come back.
	if got := ids(getUpdates(t, s, map[string]any{"limit": 2})); len(got) != 2 || got[1] != u2.UpdateID {
		t.Fatalf("limit 2 = %v", got)
	}
	// offset confirms everything below it.
	if got := ids(getUpdates(t, s, map[string]any{"offset": u2.UpdateID})); len(got) != 2 || got[0] != u2.UpdateID {
		t.Fatalf("offset u2 = %v", got)
	}
	if got := ids(getUpdates(t, s, map[string]any{"offset": u3.UpdateID + 1})); len(got) != 0 {
		t.Fatalf("offset past last = %v, want none", got)
	}
	// Confirmed updates never return, even with an older offset.
	if got := ids(getUpdates(t, s, map[string]any{"offset": u1.UpdateID})); len(got) != 0 {
		t.Fatalf("old offset = %v, want none", got)
	}
	if got := getUpdates(t, s, map[string]any{"offset": u3.UpdateID + 1}); len(got) != 0 {
		t.Fatal("updates reappeared")
	}
	if got := u2.Message.Text; got != "thủ tục khai sinh" {
		t.Errorf("update text %q", got)
	}

	// A blocked long poll wakes on a new update.
	type res struct {
		ups []telegramtest.Update
	}
	done := make(chan res, 1)
	go func() {
		_, r := callJSON(t, s, "getUpdates", map[string]any{"offset": u3.UpdateID + 1, "timeout": 50})
		var ups []telegramtest.Update
		json.Unmarshal(r.Result, &ups)
		done <- res{ups}
	}()
	ctx := testContext(t)
	if err := s.WaitFor(ctx, func() bool { return s.Polling() == 1 }); err != nil {
		t.Fatal(err)
	}
	u4, _ := s.SendText(u.ID, u.ID, "còn đó không?")
	select {
	case r := <-done:
		if len(r.ups) != 1 || r.ups[0].UpdateID != u4.UpdateID {
			t.Fatalf("woken poll = %+v, want update %d", r.ups, u4.UpdateID)
		}
	case <-ctx.Done():
		t.Fatal("long poll did not wake")
	}
}

func TestLongPollAllowedUpdatesAndConflict(t *testing.T) {
	s := telegramtest.New(t)
	u := official(t, s, "Bình")
	sent, _ := callJSON(t, s, "sendMessage", map[string]any{"chat_id": u.ID, "text": "Chọn",
		"reply_markup": map[string]any{"inline_keyboard": [][]map[string]string{{{"text": "Có", "callback_data": "yes"}}}}})
	if sent != 200 {
		t.Fatal("send failed")
	}
	if _, err := s.PressButton(u.ID, u.ID, 2, "yes"); err != nil {
		t.Fatal(err)
	}
	ups := getUpdates(t, s, map[string]any{"allowed_updates": []string{"callback_query"}})
	if len(ups) != 1 || ups[0].CallbackQuery == nil || ups[0].CallbackQuery.Data != "yes" {
		t.Fatalf("allowed callback_query only: %+v", ups)
	}
	if _, err := s.PressButton(u.ID, u.ID, 2, "no"); !errors.Is(err, telegramtest.ErrRefused) {
		t.Errorf("pressing a missing button: err = %v, want ErrRefused", err)
	}

	// A second poll ends the first with 409.
	first := make(chan apiResponse, 1)
	go func() {
		_, r := callJSON(t, s, "getUpdates", map[string]any{"offset": ups[0].UpdateID + 1, "timeout": 50})
		first <- r
	}()
	ctx := testContext(t)
	if err := s.WaitFor(ctx, func() bool { return s.Polling() == 1 }); err != nil {
		t.Fatal(err)
	}
	getUpdates(t, s, map[string]any{"offset": ups[0].UpdateID + 1})
	r := <-first
	if r.ErrorCode != 409 || !strings.HasPrefix(r.Description, "Conflict: terminated by other getUpdates request") {
		t.Errorf("first poll = %d %q, want 409 terminated", r.ErrorCode, r.Description)
	}
}

func TestClientReceivesAndReplies(t *testing.T) {
	s := telegramtest.New(t)
	u := s.AddUser(telegramtest.User{FirstName: "Thảo"})
	b := MustOpenBot(t, s, tgbot.WithDefaultHandler(func(ctx context.Context, b *tgbot.Bot, up *models.Update) {
		if up.Message == nil {
			return
		}
		b.SendMessage(ctx, &tgbot.SendMessageParams{
			ChatID: up.Message.Chat.ID, Text: "Đã nhận: " + up.Message.Text,
			ReplyParameters: &models.ReplyParameters{MessageID: up.Message.ID},
		})
	}))
	ctx, cancel := context.WithCancel(testContext(t))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.Start(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	up, err := s.SendText(u.ID, u.ID, "Xin chào 👋 /hoi@caunoi_test_bot")
	if err != nil {
		t.Fatal(err)
	}
	want := telegramtest.MessageEntity{Type: "bot_command", Offset: 12, Length: 20}
	if es := up.Message.Entities; len(es) != 1 || es[0] != want {
		t.Errorf("entities = %+v, want %+v", es, want)
	}
	out, err := s.Next(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if out.Message.Text != "Đã nhận: Xin chào 👋 /hoi@caunoi_test_bot" {
		t.Errorf("reply text %q", out.Message.Text)
	}
	if out.Message.ReplyToMessage == nil || out.Message.ReplyToMessage.MessageID != up.Message.MessageID {
		t.Errorf("reply_to_message = %+v, want message %d", out.Message.ReplyToMessage, up.Message.MessageID)
	}
}

func TestEditAndCallbacks(t *testing.T) {
	s := telegramtest.New(t)
	u := official(t, s, "Hương")
	b := MustOpenBot(t, s)
	ctx := testContext(t)
	kb := &models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{
		{Text: "Đã rõ", CallbackData: "ok"}, {Text: "Hỏi Sở", CallbackData: "esc"},
	}}}
	m, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.ID, Text: "Câu trả lời", ReplyMarkup: kb})
	if err != nil {
		t.Fatal(err)
	}
	up, err := s.PressButton(u.ID, u.ID, m.ID, "esc")
	if err != nil {
		t.Fatal(err)
	}
	q := up.CallbackQuery
	if q.From.ID != u.ID || q.Message.MessageID != m.ID || q.Data != "esc" {
		t.Errorf("callback query = %+v", q)
	}
	if ok, err := b.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: q.ID, Text: "Đã chuyển"}); err != nil || !ok {
		t.Fatalf("answerCallbackQuery: %v", err)
	}
	if _, err := b.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: q.ID}); !errors.Is(err, tgbot.ErrorBadRequest) {
		t.Errorf("second answer: err = %v, want bad request", err)
	}
	if got := s.CallbackAnswers(); len(got) != 1 || got[0].Text != "Đã chuyển" || got[0].Query.ID != q.ID {
		t.Errorf("callback answers = %+v", got)
	}

	edited, err := b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: u.ID, MessageID: m.ID, Text: "Đã chuyển <i>Sở Tư pháp</i>", ParseMode: models.ParseModeHTML})
	if err != nil {
		t.Fatal(err)
	}
	if edited.Text != "Đã chuyển Sở Tư pháp" || edited.ReplyMarkup != nil || edited.EditDate == 0 {
		t.Errorf("edited = %q markup %+v edit_date %d", edited.Text, edited.ReplyMarkup, edited.EditDate)
	}
	_, err = b.EditMessageText(ctx, &tgbot.EditMessageTextParams{ChatID: u.ID, MessageID: m.ID, Text: "Đã chuyển <i>Sở Tư pháp</i>", ParseMode: models.ParseModeHTML})
	if err == nil || !strings.Contains(err.Error(), "message is not modified") {
		t.Errorf("same edit: err = %v, want not modified", err)
	}
	if _, err := b.EditMessageReplyMarkup(ctx, &tgbot.EditMessageReplyMarkupParams{ChatID: u.ID, MessageID: m.ID, ReplyMarkup: kb}); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.SendChatAction(ctx, &tgbot.SendChatActionParams{ChatID: u.ID, Action: models.ChatActionTyping}); err != nil || !ok {
		t.Fatal(err)
	}
	if ok, err := b.DeleteMessage(ctx, &tgbot.DeleteMessageParams{ChatID: u.ID, MessageID: m.ID}); err != nil || !ok {
		t.Fatal(err)
	}
	var methods []string
	for _, o := range s.Outbox(u.ID) {
		methods = append(methods, o.Method)
	}
	if got := strings.Join(methods, ","); got != "sendMessage,editMessageText,editMessageReplyMarkup,deleteMessage" {
		t.Errorf("outbox methods = %s", got)
	}
	if got := s.ChatActions(u.ID); len(got) != 1 || got[0].Action != "typing" {
		t.Errorf("chat actions = %+v", got)
	}
	if _, ok := s.Message(u.ID, m.ID); ok {
		t.Error("deleted message still visible")
	}
}

func TestCommands(t *testing.T) {
	s := telegramtest.New(t)
	b := MustOpenBot(t, s)
	ctx := testContext(t)
	cmds := []models.BotCommand{{Command: "hoi", Description: "Hỏi một câu"}, {Command: "phieu", Description: "Phiếu của tôi"}}
	if _, err := b.SetMyCommands(ctx, &tgbot.SetMyCommandsParams{Commands: cmds, Scope: &models.BotCommandScopeAllPrivateChats{}, LanguageCode: "vi"}); err != nil {
		t.Fatal(err)
	}
	got, err := b.GetMyCommands(ctx, &tgbot.GetMyCommandsParams{Scope: &models.BotCommandScopeAllPrivateChats{}, LanguageCode: "vi"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Command != "phieu" {
		t.Errorf("getMyCommands = %+v", got)
	}
	if def, _ := b.GetMyCommands(ctx, &tgbot.GetMyCommandsParams{}); len(def) != 0 {
		t.Errorf("default scope = %+v, want none", def)
	}
	if got := s.Commands("all_private_chats/vi"); len(got) != 2 {
		t.Errorf("Commands = %+v", got)
	}
}

func TestWebhookDeliveryAndRedelivery(t *testing.T) {
	type attempt struct {
		secret   string
		updateID int64
	}
	var mu sync.Mutex
	var attempts []attempt
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var u telegramtest.Update
		json.NewDecoder(r.Body).Decode(&u)
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, attempt{r.Header.Get("X-Telegram-Bot-Api-Secret-Token"), u.UpdateID})
		if len(attempts) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	hookSrv := newHTTPServer(t, hook)
	s := telegramtest.New(t, telegramtest.WithWebhookRetry(time.Millisecond))
	b := MustOpenBot(t, s)
	ctx := testContext(t)
	if ok, err := b.SetWebhook(ctx, &tgbot.SetWebhookParams{URL: hookSrv + "/tg", SecretToken: "bi_mat-123"}); err != nil || !ok {
		t.Fatalf("setWebhook: %v", err)
	}
	if _, r := callJSON(t, s, "getUpdates", map[string]any{}); r.ErrorCode != 409 {
		t.Errorf("getUpdates with a webhook = %d %q, want 409", r.ErrorCode, r.Description)
	}
	u := s.AddUser(telegramtest.User{FirstName: "Quang"})
	first, _ := s.SendText(u.ID, u.ID, "/start")
	second, _ := s.SendText(u.ID, u.ID, "hỏi")
	if err := s.WaitFor(ctx, func() bool { return s.Stats().WebhookDeliveries == 2 }); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := append([]attempt(nil), attempts...)
	mu.Unlock()
	want := []attempt{{"bi_mat-123", first.UpdateID}, {"bi_mat-123", first.UpdateID}, {"bi_mat-123", second.UpdateID}}
	if len(got) != len(want) {
		t.Fatalf("attempts = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("attempt %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	info, err := b.GetWebhookInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.PendingUpdateCount != 0 || info.LastErrorMessage != "Wrong response from the webhook: 500 Internal Server Error" {
		t.Errorf("webhook info = %+v", info)
	}
	if ok, err := b.DeleteWebhook(ctx, &tgbot.DeleteWebhookParams{}); err != nil || !ok {
		t.Fatal(err)
	}
	third, _ := s.SendText(u.ID, u.ID, "sau khi xoá webhook")
	if ups := getUpdates(t, s, map[string]any{}); len(ups) != 1 || ups[0].UpdateID != third.UpdateID {
		t.Errorf("after deleteWebhook: %+v", ups)
	}
}

// newHTTPServer serves h on a loopback port until the test ends.
func newHTTPServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := &http.Server{Handler: h}
	ln, err := netListen()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestInjectedTooManyRequests(t *testing.T) {
	s := telegramtest.New(t)
	u := official(t, s, "Phúc")
	b := MustOpenBot(t, s)
	ctx := testContext(t)
	s.Inject(telegramtest.Fault{Method: "sendMessage", ChatID: u.ID, Status: 429, RetryAfter: 7, Times: 1})
	_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.ID, Text: "a"})
	var tooMany *tgbot.TooManyRequestsError
	if !errors.As(err, &tooMany) || tooMany.RetryAfter != 7 {
		t.Fatalf("err = %v, want TooManyRequestsError with retry_after 7", err)
	}
	if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.ID, Text: "b"}); err != nil {
		t.Errorf("after the fault: %v", err)
	}
	remove := s.Inject(telegramtest.Fault{Method: "getMe", Status: 502})
	if _, err := b.GetMe(ctx); err == nil || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Errorf("502 fault: err = %v", err)
	}
	remove()
	if _, err := b.GetMe(ctx); err != nil {
		t.Errorf("after remove: %v", err)
	}
	if got := s.Stats().Faults; got != 2 {
		t.Errorf("faults = %d, want 2", got)
	}
}

func TestDroppedAndSlowConnections(t *testing.T) {
	s := telegramtest.New(t)
	u := official(t, s, "Long")
	b := MustOpenBot(t, s)
	s.Inject(telegramtest.Fault{Method: "sendMessage", Drop: true, Times: 1})
	_, err := b.SendMessage(testContext(t), &tgbot.SendMessageParams{ChatID: u.ID, Text: "a"})
	if err == nil || errors.Is(err, tgbot.ErrorBadRequest) {
		t.Fatalf("dropped connection: err = %v, want a transport error", err)
	}
	if len(s.Outbox(u.ID)) != 0 {
		t.Error("a dropped request was executed")
	}

	s.Inject(telegramtest.Fault{Method: "sendMessage", Delay: time.Hour, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.ID, Text: "b"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow response: err = %v, want deadline exceeded", err)
	}
	// The server logs the abandoned call once its handler returns.
	if err := s.WaitFor(testContext(t), func() bool {
		n := 0
		for _, r := range s.Requests() {
			if r.Method == "sendMessage" && r.Fault {
				n++
			}
		}
		return n == 2
	}); err != nil {
		t.Fatalf("request log: %v", err)
	}
}

// tinyPNG is a 3×2 image.
func tinyPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFileRoundTrip(t *testing.T) {
	s := telegramtest.New(t)
	u := official(t, s, "An")
	b := MustOpenBot(t, s)
	ctx := testContext(t)
	content := []byte("%PDF-1.4 tờ trình")
	m, err := b.SendDocument(ctx, &tgbot.SendDocumentParams{
		ChatID: u.ID, Caption: "Mẫu <b>tờ trình</b>", ParseMode: models.ParseModeHTML,
		Document: &models.InputFileUpload{Filename: "to-trinh.pdf", Data: bytes.NewReader(content)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Document == nil || m.Document.FileName != "to-trinh.pdf" || m.Document.MimeType != "application/pdf" || m.Caption != "Mẫu tờ trình" {
		t.Fatalf("document message = %+v", m)
	}
	f, err := b.GetFile(ctx, &tgbot.GetFileParams{FileID: m.Document.FileID})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(b.FileDownloadLink(f))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Errorf("download = %d %q, want %q", resp.StatusCode, got, content)
	}
	// Sending again by file_id reuses the stored file.
	again, err := b.SendDocument(ctx, &tgbot.SendDocumentParams{ChatID: u.ID, Document: &models.InputFileString{Data: m.Document.FileID}})
	if err != nil || again.Document.FileUniqueID != m.Document.FileUniqueID {
		t.Errorf("resend by file_id: %v %+v", err, again)
	}

	p, err := b.SendPhoto(ctx, &tgbot.SendPhotoParams{ChatID: u.ID, Photo: &models.InputFileUpload{Filename: "anh.png", Data: bytes.NewReader(tinyPNG(t))}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Photo) != 1 || p.Photo[0].Width != 3 || p.Photo[0].Height != 2 {
		t.Errorf("photo sizes = %+v", p.Photo)
	}
	_, err = b.SendPhoto(ctx, &tgbot.SendPhotoParams{ChatID: u.ID, Photo: &models.InputFileUpload{Filename: "x.png", Data: strings.NewReader("not an image")}})
	if err == nil || !strings.Contains(err.Error(), "IMAGE_PROCESS_FAILED") {
		t.Errorf("bad image: err = %v", err)
	}

	// A user's document reaches the bot, which can download it.
	up, err := s.SendDocument(u.ID, u.ID, telegramtest.Upload{Name: "bien-ban.docx", Data: []byte("PK biên bản")}, "biên bản họp")
	if err != nil {
		t.Fatal(err)
	}
	uf, err := b.GetFile(ctx, &tgbot.GetFileParams{FileID: up.Message.Document.FileID})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(b.FileDownloadLink(uf))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "PK biên bản" {
		t.Errorf("user document download = %q", got)
	}
	if _, err := b.CopyMessage(ctx, &tgbot.CopyMessageParams{ChatID: u.ID, FromChatID: u.ID, MessageID: up.Message.MessageID}); err != nil {
		t.Errorf("copyMessage: %v", err)
	}
}

func TestForumTopics(t *testing.T) {
	s := telegramtest.New(t)
	staff := s.AddUser(telegramtest.User{FirstName: "Chuyên viên"})
	forum := s.AddForum("Sở Tư pháp – hỗ trợ xã", staff.ID)
	plain := s.AddGroup("Nhóm thường", staff.ID)
	b := MustOpenBot(t, s)
	ctx := testContext(t)

	topic, err := b.CreateForumTopic(ctx, &tgbot.CreateForumTopicParams{ChatID: forum.ID, Name: "Phiếu #12"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateForumTopic(ctx, &tgbot.CreateForumTopicParams{ChatID: plain.ID, Name: "x"}); err == nil || !strings.Contains(err.Error(), "the chat is not a forum") {
		t.Errorf("topic in a plain group: err = %v", err)
	}
	card, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forum.ID, MessageThreadID: topic.MessageThreadID, Text: "Phiếu #12: khai sinh quá hạn"})
	if err != nil {
		t.Fatal(err)
	}
	if card.MessageThreadID != topic.MessageThreadID || !card.IsTopicMessage {
		t.Errorf("card thread = %d topic=%v, want %d", card.MessageThreadID, card.IsTopicMessage, topic.MessageThreadID)
	}
	if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: forum.ID, MessageThreadID: 999, Text: "x"}); err == nil || !strings.Contains(err.Error(), "message thread not found") {
		t.Errorf("unknown thread: err = %v", err)
	}
	// A staff reply to the card stays in the topic and points at the card.
	reply, err := s.Reply(staff.ID, forum.ID, card.ID, "Đã nhận phiếu")
	if err != nil {
		t.Fatal(err)
	}
	if m := reply.Message; m.MessageThreadID != topic.MessageThreadID || m.ReplyToMessage == nil || m.ReplyToMessage.MessageID != card.ID {
		t.Errorf("reply = %+v", m)
	}
	// A plain message in the topic replies to the topic's first message.
	inTopic, err := s.SendInTopic(staff.ID, forum.ID, topic.MessageThreadID, "Ghi chú")
	if err != nil {
		t.Fatal(err)
	}
	if m := inTopic.Message; m.ReplyToMessage == nil || m.ReplyToMessage.ForumTopicCreated == nil || m.ReplyToMessage.MessageID != topic.MessageThreadID {
		t.Errorf("topic message reply_to = %+v", m.ReplyToMessage)
	}
	outsider := s.AddUser(telegramtest.User{FirstName: "Người ngoài"})
	if _, err := s.SendText(outsider.ID, forum.ID, "x"); !errors.Is(err, telegramtest.ErrRefused) {
		t.Errorf("non-member post: err = %v", err)
	}
	if got := s.Topics(forum.ID); len(got) != 1 || got[0].Name != "Phiếu #12" {
		t.Errorf("topics = %+v", got)
	}
}

func TestBlockedUser(t *testing.T) {
	s := telegramtest.New(t)
	u := official(t, s, "Nga")
	b := MustOpenBot(t, s)
	ctx := testContext(t)
	if err := s.Block(u.ID); err != nil {
		t.Fatal(err)
	}
	_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.ID, Text: "Phiếu đã xong"})
	if !errors.Is(err, tgbot.ErrorForbidden) || !strings.Contains(err.Error(), "bot was blocked by the user") {
		t.Errorf("send to blocked user: err = %v", err)
	}
	ups := s.PendingUpdates()
	last := ups[len(ups)-1]
	if last.MyChatMember == nil || last.MyChatMember.NewChatMember.Status != "kicked" {
		t.Errorf("block update = %+v", last)
	}
	if err := s.Unblock(u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.ID, Text: "Chào lại"}); err != nil {
		t.Errorf("after unblock: %v", err)
	}
}

// clock is a manual clock for the rate-limit windows.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestEnforceLimits(t *testing.T) {
	clk := &clock{now: time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)}
	s := telegramtest.New(t, telegramtest.WithClock(clk.Now), telegramtest.WithLimits(telegramtest.DefaultLimits()))
	b := MustOpenBot(t, s)
	ctx := testContext(t)
	send := func(chatID int64) error {
		_, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: chatID, Text: "x"})
		return err
	}
	retryAfter := func(err error) int {
		var tm *tgbot.TooManyRequestsError
		if !errors.As(err, &tm) {
			return 0
		}
		return tm.RetryAfter
	}

	// One message per second in a chat.
	u := official(t, s, "Vy")
	if err := send(u.ID); err != nil {
		t.Fatal(err)
	}
	if got := retryAfter(send(u.ID)); got != 1 {
		t.Errorf("second message in the same second: retry_after %d, want 1", got)
	}
	clk.Add(time.Second)
	if err := send(u.ID); err != nil {
		t.Errorf("after a second: %v", err)
	}

	// Twenty messages per minute in a group.
	clk.Add(time.Minute)
	g := s.AddGroup("Sở Nội vụ")
	for i := range 20 {
		if err := send(g.ID); err != nil {
			t.Fatalf("group message %d: %v", i, err)
		}
		clk.Add(time.Second)
	}
	if got := retryAfter(send(g.ID)); got != 40 {
		t.Errorf("21st group message at 20 s: retry_after %d, want 40", got)
	}

	// Thirty messages per second overall.
	clk.Add(time.Minute)
	var users []telegramtest.User
	for i := range 31 {
		users = append(users, official(t, s, "Cán bộ "+strconv.Itoa(i)))
	}
	for i, u := range users[:30] {
		if err := send(u.ID); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if got := retryAfter(send(users[30].ID)); got != 1 {
		t.Errorf("31st message in a second: retry_after %d, want 1", got)
	}
	if got := s.Stats().LimitHits; got != 3 {
		t.Errorf("limit hits = %d, want 3", got)
	}
	n429 := 0
	for _, r := range s.Requests() {
		if r.Status == 429 {
			n429++
		}
	}
	if n429 != 3 {
		t.Errorf("429s in the request log = %d, want 3", n429)
	}
}

func TestGroupUpgradeAndRemoval(t *testing.T) {
	s := telegramtest.New(t)
	staff := s.AddUser(telegramtest.User{FirstName: "Trưởng phòng"})
	g := s.AddBasicGroup("Sở Xây dựng", staff.ID)
	b := MustOpenBot(t, s)
	ctx := testContext(t)
	if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: g.ID, Text: "Chào nhóm"}); err != nil {
		t.Fatal(err)
	}
	sg, err := s.UpgradeGroup(g.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: g.ID, Text: "Còn đây không?"})
	var migrate *tgbot.MigrateError
	if !errors.As(err, &migrate) || int64(migrate.MigrateToChatID) != sg.ID {
		t.Fatalf("send to the old group: err = %v, want MigrateError to %d", err, sg.ID)
	}
	ups := s.PendingUpdates()
	if n := len(ups); n < 2 || ups[n-2].Message.MigrateToChatID != sg.ID || ups[n-1].Message.MigrateFromChatID != g.ID {
		t.Errorf("migration updates = %+v", ups)
	}
	if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: sg.ID, Text: "Chào siêu nhóm"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveBot(sg.ID, staff.ID); err != nil {
		t.Fatal(err)
	}
	_, err = b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: sg.ID, Text: "x"})
	if !errors.Is(err, tgbot.ErrorForbidden) || !strings.Contains(err.Error(), "bot is not a member of the supergroup chat") {
		t.Errorf("after removal: err = %v", err)
	}
}
