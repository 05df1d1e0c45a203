package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// apiClient makes the one Bot API call the bot makes most, sendMessage,
// with a JSON body, and reads back only the new message's id. go-telegram's
// client, which makes every other call, sends a multipart form and decodes
// the whole Message Telegram returns; for sendMessage that was a tenth of
// the bot's CPU under load. Errors are go-telegram's own values and types,
// so the sender treats both paths alike. The poller reads updates the same
// way (getUpdates).
type apiClient struct {
	http *http.Client
	base string // server URL + "/bot" + token + "/": never logged
}

type sendMessageRequest struct {
	ChatID             int64                      `json:"chat_id"`
	MessageThreadID    int                        `json:"message_thread_id,omitempty"`
	Text               string                     `json:"text"`
	ParseMode          models.ParseMode           `json:"parse_mode,omitempty"`
	ReplyMarkup        models.ReplyMarkup         `json:"reply_markup,omitempty"`
	ReplyParameters    *models.ReplyParameters    `json:"reply_parameters,omitempty"`
	LinkPreviewOptions *models.LinkPreviewOptions `json:"link_preview_options,omitempty"`
}

// maxAPIResponse bounds what is read of one answer to sendMessage.
const maxAPIResponse = 1 << 20

// sendMessage sends p and returns the new message's id.
func (c *apiClient) sendMessage(ctx context.Context, p sendMessageRequest) (int, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("sendMessage: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"sendMessage", bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("sendMessage: build request")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// The error carries the URL, which carries the token: drop it.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			return 0, fmt.Errorf("sendMessage: %w", ue.Unwrap())
		}
		return 0, errors.New("sendMessage: request failed")
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse))
	if err != nil {
		return 0, fmt.Errorf("sendMessage: read answer: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		if id, ok := leadingMessageID(data); ok {
			return id, nil
		}
	}
	var r struct {
		OK     bool `json:"ok"`
		Result struct {
			MessageID int `json:"message_id"`
		} `json:"result"`
		Description string `json:"description"`
		ErrorCode   int    `json:"error_code"`
		Parameters  struct {
			RetryAfter      int `json:"retry_after"`
			MigrateToChatID int `json:"migrate_to_chat_id"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, fmt.Errorf("sendMessage: status %d, the answer is not JSON", resp.StatusCode)
	}
	if r.OK {
		return r.Result.MessageID, nil
	}
	switch r.ErrorCode {
	case http.StatusForbidden:
		return 0, fmt.Errorf("%w, %s", tgbot.ErrorForbidden, r.Description)
	case http.StatusBadRequest:
		if r.Parameters.MigrateToChatID != 0 {
			return 0, &tgbot.MigrateError{
				Message:         fmt.Sprintf("%s: %s", tgbot.ErrorBadRequest, r.Description),
				MigrateToChatID: r.Parameters.MigrateToChatID,
			}
		}
		return 0, fmt.Errorf("%w, %s", tgbot.ErrorBadRequest, r.Description)
	case http.StatusUnauthorized:
		return 0, fmt.Errorf("%w, %s", tgbot.ErrorUnauthorized, r.Description)
	case http.StatusNotFound:
		return 0, fmt.Errorf("%w, %s", tgbot.ErrorNotFound, r.Description)
	case http.StatusConflict:
		return 0, fmt.Errorf("%w, %s", tgbot.ErrorConflict, r.Description)
	case http.StatusTooManyRequests:
		return 0, &tgbot.TooManyRequestsError{
			Message:    fmt.Sprintf("%s, %s", tgbot.ErrorTooManyRequests, r.Description),
			RetryAfter: r.Parameters.RetryAfter,
		}
	}
	return 0, fmt.Errorf("sendMessage: telegram answered %d %s", r.ErrorCode, r.Description)
}

// okPrefix is how Telegram (and the emulator) begin a successful answer
// that carries a message.
const okPrefix = `{"ok":true,"result":{"message_id":`

// leadingMessageID reads the message id from a successful answer that
// begins as Telegram writes it, without reading the echoed message behind
// it (the answer's text and entities: most of its bytes). Any other answer
// is left to the full decoding.
func leadingMessageID(data []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(data, []byte(okPrefix))
	if !ok {
		return 0, false
	}
	id := 0
	for i, c := range rest {
		switch {
		case c >= '0' && c <= '9' && i < 15:
			if i == 1 && rest[0] == '0' {
				return 0, false
			}
			id = id*10 + int(c-'0')
		case (c == ',' || c == '}') && i > 0:
			return id, true
		default:
			return 0, false
		}
	}
	return 0, false
}
