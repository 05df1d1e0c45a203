package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// TestSendMessageErrorsAsGoTelegram checks that the sendMessage client
// reports every answer of Telegram as go-telegram's client does, so that
// the sender decides the same: retry, wait, hold or drop.
func TestSendMessageErrorsAsGoTelegram(t *testing.T) {
	answers := []struct {
		status int
		body   string
	}{
		{200, `{"ok":true,"result":{"message_id":42,"chat":{"id":1,"type":"private"},"date":1,"text":"x"}}`},
		{403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`},
		{400, `{"ok":false,"error_code":400,"description":"Bad Request: message text is empty"}`},
		{400, `{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded","parameters":{"migrate_to_chat_id":-1001234}}`},
		{429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`},
		{401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`},
		{404, `{"ok":false,"error_code":404,"description":"Not Found"}`},
		{409, `{"ok":false,"error_code":409,"description":"Conflict"}`},
		{500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`},
		{502, `<html>bad gateway</html>`},
		{200, `{"ok":tr`},
	}
	for _, a := range answers {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			w.Write([]byte(a.body))
		}))
		api, err := tgbot.New("1:secret", tgbot.WithServerURL(srv.URL), tgbot.WithSkipGetMe(),
			tgbot.WithHTTPClient(time.Second, srv.Client()), tgbot.WithErrorsHandler(func(error) {}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		msg, wantErr := api.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: 1, Text: "x"})
		c := &apiClient{http: srv.Client(), base: srv.URL + "/bot1:secret/"}
		id, err := c.sendMessage(ctx, sendMessageRequest{ChatID: 1, Text: "x", ParseMode: models.ParseModeHTML})
		srv.Close()
		if (err == nil) != (wantErr == nil) {
			t.Errorf("%d %s: error %v, go-telegram %v", a.status, a.body, err, wantErr)
			continue
		}
		if err == nil {
			if id != msg.ID {
				t.Errorf("%d %s: message id %d, go-telegram %d", a.status, a.body, id, msg.ID)
			}
			continue
		}
		for _, target := range []error{tgbot.ErrorForbidden, tgbot.ErrorBadRequest, tgbot.ErrorUnauthorized, tgbot.ErrorNotFound, tgbot.ErrorConflict} {
			if errors.Is(err, target) != errors.Is(wantErr, target) {
				t.Errorf("%d %s: errors.Is(%v, %v) differs from go-telegram's %v", a.status, a.body, err, target, wantErr)
			}
		}
		var tm, wtm *tgbot.TooManyRequestsError
		if errors.As(err, &tm) != errors.As(wantErr, &wtm) || (tm != nil && tm.RetryAfter != wtm.RetryAfter) {
			t.Errorf("%d %s: too many requests %v, go-telegram %v", a.status, a.body, err, wantErr)
		}
		var me, wme *tgbot.MigrateError
		if errors.As(err, &me) != errors.As(wantErr, &wme) || (me != nil && me.MigrateToChatID != wme.MigrateToChatID) {
			t.Errorf("%d %s: migrate %v, go-telegram %v", a.status, a.body, err, wantErr)
		}
	}
}

// TestSendMessageErrorHidesToken checks that a failed request does not
// carry the token, which is in the URL, into the error.
func TestSendMessageErrorHidesToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	c := &apiClient{http: &http.Client{Timeout: 5 * time.Second}, base: url + "/bot123:bi-mat-khong-lo/"}
	_, err := c.sendMessage(context.Background(), sendMessageRequest{ChatID: 1, Text: "x"})
	if err == nil {
		t.Fatal("sendMessage to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "bi-mat-khong-lo") {
		t.Errorf("the error shows the token: %v", err)
	}
}

// TestLeadingMessageID holds the shortcut to the full decoding: it gives
// the same id where it answers, and leaves everything else alone.
func TestLeadingMessageID(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"ok":true,"result":{"message_id":42,"date":1,"chat":{"id":5,"type":"private"},"text":"x"}}`, true},
		{`{"ok":true,"result":{"message_id":7}}`, true},
		{`{"ok":true,"result":{"message_id":0,"date":1}}`, true},
		{`{"ok":true,"result":{"message_id":123456789012345,"date":1}}`, true},
		{`{"ok":true,"result":{"message_id":1234567890123456,"date":1}}`, false},
		{`{"ok":true,"result":{"message_id":012,"date":1}}`, false},
		{`{"ok":true,"result":{"message_id":-1,"date":1}}`, false},
		{`{"ok":true,"result":{"message_id":1.5,"date":1}}`, false},
		{`{"ok":true,"result":{"message_id":,"date":1}}`, false},
		{`{"ok":true,"result":{"message_id":12`, false},
		{`{"ok":true,"result":{"message_id":"12"}}`, false},
		{`{"ok":true, "result":{"message_id":12}}`, false},
		{`{"result":{"message_id":12},"ok":true}`, false},
		{`{"ok":false,"error_code":400,"description":"Bad Request"}`, false},
	} {
		id, ok := leadingMessageID([]byte(tc.in))
		if ok != tc.ok {
			t.Errorf("leadingMessageID(%s) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		var full struct {
			Result struct {
				MessageID int `json:"message_id"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(tc.in), &full); err == nil && full.Result.MessageID != id {
			t.Errorf("leadingMessageID(%s) = %d, the full decoding gives %d", tc.in, id, full.Result.MessageID)
		}
	}
}
