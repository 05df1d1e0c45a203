package telegramtest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Documented limits that the specification states only in prose.
const (
	maxTextLen         = 4096
	maxCaptionLen      = 1024
	maxCallbackData    = 64
	maxCommands        = 100
	defaultTopicColor  = 7322096
	maxTopicNameLength = 128
)

// topicColors are the icon colours createForumTopic accepts.
var topicColors = map[int64]bool{7322096: true, 16766590: true, 13338331: true, 9367192: true, 16749490: true, 16478047: true}

// chatActions are the actions sendChatAction accepts.
var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true,
}

// Outgoing is one thing the bot did to a chat: a message it sent (sendMessage,
// sendPhoto, sendDocument, copyMessage), edited (editMessageText,
// editMessageReplyMarkup) or deleted (deleteMessage).
type Outgoing struct {
	Method string
	Time   time.Time // from the server's clock
	ChatID int64
	// Message is the message after the action, as the API returned it.
	Message Message
	// ParseMode and Source are the parse_mode and the text (or caption) as
	// the bot sent them, before entity parsing.
	ParseMode string
	Source    string
	// ReplyMarkup is the reply_markup parameter as sent, whatever its kind;
	// Message.ReplyMarkup holds only inline keyboards.
	ReplyMarkup json.RawMessage
}

type me struct {
	User
	CanJoinGroups           bool `json:"can_join_groups"`
	CanReadAllGroupMessages bool `json:"can_read_all_group_messages"`
	SupportsInlineQueries   bool `json:"supports_inline_queries"`
	CanConnectToBusiness    bool `json:"can_connect_to_business"`
	HasMainWebApp           bool `json:"has_main_web_app"`
}

func (s *Server) getMe(context.Context, args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return result{value: me{User: s.st.me, CanJoinGroups: true}}, nil
}

// chatLocked resolves a chat_id parameter (a number or "@username").
func (s *Server) chatLocked(a args, name string) (*chatState, *apiError) {
	if id, ok := a.int(name); ok {
		if c, ok := s.st.chats[id]; ok {
			return c, nil
		}
		return nil, badRequest("chat not found")
	}
	if u, ok := strings.CutPrefix(a.str(name), "@"); ok {
		if c := s.st.chatByUsername(u); c != nil && c.chat.Type != ChatPrivate {
			return c, nil
		}
	}
	return nil, badRequest("chat not found")
}

// writableLocked reports why the bot may not post in c, if it may not.
func (s *Server) writableLocked(c *chatState) *apiError {
	if c.chat.Type == ChatPrivate {
		u := s.st.users[c.chat.ID]
		switch {
		case u.blocked:
			return forbidden("bot was blocked by the user")
		case !u.started:
			return forbidden("bot can't initiate conversation with a user")
		}
		return nil
	}
	if c.migratedTo != 0 {
		e := badRequest("group chat was upgraded to a supergroup chat")
		e.MigrateTo = c.migratedTo
		return e
	}
	if !c.botMember {
		return forbidden("bot is not a member of the " + c.chat.Type + " chat")
	}
	return nil
}

// readableLocked reports why the bot may not read c, if it may not.
func (s *Server) readableLocked(c *chatState) *apiError {
	if c.chat.Type == ChatPrivate {
		if !s.st.users[c.chat.ID].started {
			return badRequest("chat not found")
		}
		return nil
	}
	if !c.botMember {
		return badRequest("chat not found")
	}
	return nil
}

// formatText applies parse_mode (or the explicit entities parameter) to
// text and trims it as Telegram does.
func formatText(text, parseMode string, a args, entitiesParam string) (string, []MessageEntity, *apiError) {
	var entities []MessageEntity
	switch strings.ToLower(parseMode) {
	case "":
		if a.has(entitiesParam) {
			if err := a.decode(entitiesParam, &entities); err != nil {
				return "", nil, badRequest("can't parse entities JSON object")
			}
			n := utf16Len(text)
			for i, e := range entities {
				if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > n {
					return "", nil, badRequest(fmt.Sprintf("can't parse entities: entity %d is outside of the text", i))
				}
			}
		}
	case "html":
		plain, es, err := parseHTML(text)
		if err != nil {
			return "", nil, badRequest("can't parse entities: " + err.Error())
		}
		text, entities = plain, es
	case "markdownv2":
		plain, es, err := parseMarkdownV2(text)
		if err != nil {
			return "", nil, badRequest("can't parse entities: " + err.Error())
		}
		text, entities = plain, es
	case "markdown":
		plain, es, err := parseMarkdown(text)
		if err != nil {
			return "", nil, badRequest("can't parse entities: " + err.Error())
		}
		text, entities = plain, es
	default:
		return "", nil, badRequest("unsupported parse_mode")
	}
	text, entities = trimText(text, entities)
	return text, entities, nil
}

// markupFromArgs reads reply_markup. It returns the inline keyboard, if the
// markup is one, and the raw markup in any case.
func markupFromArgs(a args) (*InlineKeyboardMarkup, json.RawMessage, *apiError) {
	if !a.has("reply_markup") {
		return nil, nil, nil
	}
	raw := json.RawMessage(a.json("reply_markup"))
	var probe struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	if probe.InlineKeyboard == nil {
		return nil, raw, nil
	}
	actions := []string{"url", "callback_data", "web_app", "login_url", "switch_inline_query",
		"switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay"}
	mk := &InlineKeyboardMarkup{}
	count := 0
	for _, row := range probe.InlineKeyboard {
		var out []InlineKeyboardButton
		for _, b := range row {
			var btn InlineKeyboardButton
			var textOK bool
			if t, ok := b["text"]; ok && json.Unmarshal(t, &btn.Text) == nil {
				textOK = true
			}
			if !textOK {
				return nil, nil, badRequest("can't parse inline keyboard button: Field \"text\" must be of type String")
			}
			n := 0
			for _, k := range actions {
				if _, ok := b[k]; ok {
					n++
				}
			}
			if n == 0 {
				return nil, nil, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
			}
			if v, ok := b["callback_data"]; ok {
				if json.Unmarshal(v, &btn.CallbackData) != nil || len(btn.CallbackData) < 1 || len(btn.CallbackData) > maxCallbackData {
					return nil, nil, badRequest("BUTTON_DATA_INVALID")
				}
			}
			if v, ok := b["url"]; ok {
				if json.Unmarshal(v, &btn.URL) != nil || !validLink(btn.URL) {
					return nil, nil, badRequest("BUTTON_URL_INVALID")
				}
			}
			if v, ok := b["style"]; ok {
				json.Unmarshal(v, &btn.Style)
			}
			out = append(out, btn)
			count++
		}
		if len(out) > 0 {
			mk.InlineKeyboard = append(mk.InlineKeyboard, out)
		}
	}
	if count == 0 {
		return nil, raw, nil
	}
	return mk, raw, nil
}

// replyFromArgs reads reply_parameters, or the older reply_to_message_id,
// and checks the target exists in c. It returns 0 for "no reply".
func replyFromArgs(a args, c *chatState) (int, *apiError) {
	id, allowMissing := 0, false
	if a.has("reply_parameters") {
		var rp struct {
			MessageID                int             `json:"message_id"`
			ChatID                   json.RawMessage `json:"chat_id"`
			AllowSendingWithoutReply bool            `json:"allow_sending_without_reply"`
		}
		if err := a.decode("reply_parameters", &rp); err != nil {
			return 0, badRequest("can't parse reply parameters JSON object")
		}
		if len(rp.ChatID) > 0 && string(rp.ChatID) != "null" {
			if n, ok := parseInt(strings.Trim(string(rp.ChatID), `"`)); !ok || n != c.chat.ID {
				return 0, badRequest("replies to messages in other chats are not supported by this emulator")
			}
		}
		id, allowMissing = rp.MessageID, rp.AllowSendingWithoutReply
	} else if n, ok := a.int("reply_to_message_id"); ok {
		id, allowMissing = int(n), a.bool("allow_sending_without_reply")
	}
	if id == 0 {
		return 0, nil
	}
	if c.message(id) == nil {
		if allowMissing {
			return 0, nil
		}
		return 0, badRequest("message to be replied not found")
	}
	return id, nil
}

// threadFromArgs reads message_thread_id for c.
func threadFromArgs(a args, c *chatState) (int, *apiError) {
	n, ok := a.int("message_thread_id")
	if !ok || n == 0 || !c.chat.IsForum {
		return 0, nil
	}
	if c.topics[int(n)] == nil {
		return 0, badRequest("message thread not found")
	}
	return int(n), nil
}

// post is a message the bot is about to send.
type post struct {
	method    string
	msg       Message
	parseMode string
	source    string
	rawMarkup json.RawMessage
}

// sendLocked checks the target chat, the rate limits, the thread and the
// reply, then stores and records the bot's message.
func (s *Server) sendLocked(a args, c *chatState, p post) (Message, *apiError) {
	if e := s.writableLocked(c); e != nil {
		return Message{}, e
	}
	thread, e := threadFromArgs(a, c)
	if e != nil {
		return Message{}, e
	}
	replyTo, e := replyFromArgs(a, c)
	if e != nil {
		return Message{}, e
	}
	if e := s.checkLimitsLocked(c); e != nil {
		return Message{}, e
	}
	bot := s.st.me
	p.msg.From = &bot
	p.msg.Date = s.date()
	sm := storedMessage{msg: p.msg, replyTo: replyTo, byBot: true}
	if c.chat.IsForum {
		if thread == 0 && replyTo != 0 {
			thread = c.message(replyTo).msg.MessageThreadID
		}
		if thread != 0 {
			sm.msg.MessageThreadID = thread
			sm.msg.IsTopicMessage = true
			if sm.replyTo == 0 {
				sm.replyTo = thread
			}
		}
	}
	stored := c.addMessage(sm)
	s.recordSendLocked(c)
	view := c.view(stored)
	s.recordLocked(c, p.method, view, p.parseMode, p.source, p.rawMarkup)
	return view, nil
}

// recordLocked appends to the chat's outbox.
func (s *Server) recordLocked(c *chatState, method string, m Message, parseMode, source string, markup json.RawMessage) {
	s.st.outbox[c.chat.ID] = append(s.st.outbox[c.chat.ID], Outgoing{
		Method: method, Time: s.now(), ChatID: c.chat.ID, Message: cloneMessage(m),
		ParseMode: parseMode, Source: source, ReplyMarkup: markup,
	})
	if s.st.unread == nil {
		s.st.unread = map[int64]bool{}
	}
	s.st.unread[c.chat.ID] = true
	s.notifyLocked()
}

func (s *Server) sendMessage(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.chatLocked(a, "chat_id")
	if e != nil {
		return result{}, e
	}
	source, mode := a.str("text"), a.str("parse_mode")
	text, entities, e := formatText(source, mode, a, "entities")
	if e != nil {
		return result{}, e
	}
	if text == "" {
		return result{}, badRequest("message text is empty")
	}
	if utf16Len(text) > maxTextLen {
		return result{}, badRequest("message is too long")
	}
	mk, raw, e := markupFromArgs(a)
	if e != nil {
		return result{}, e
	}
	var lpo *LinkPreviewOptions
	if a.has("link_preview_options") {
		lpo = &LinkPreviewOptions{}
		if err := a.decode("link_preview_options", lpo); err != nil {
			return result{}, badRequest("can't parse link preview options JSON object")
		}
	}
	m, e := s.sendLocked(a, c, post{
		method:    "sendMessage",
		msg:       Message{Text: text, Entities: entities, LinkPreviewOptions: lpo, ReplyMarkup: mk},
		parseMode: mode, source: source, rawMarkup: raw,
	})
	if e != nil {
		return result{}, e
	}
	return result{value: m}, nil
}

func (s *Server) sendPhoto(_ context.Context, a args) (result, *apiError) {
	return s.sendMedia(a, "sendPhoto", "photo", kindPhoto)
}

func (s *Server) sendDocument(_ context.Context, a args) (result, *apiError) {
	return s.sendMedia(a, "sendDocument", "document", kindDocument)
}

func (s *Server) sendMedia(a args, method, param, kind string) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.chatLocked(a, "chat_id")
	if e != nil {
		return result{}, e
	}
	if e := s.writableLocked(c); e != nil {
		return result{}, e
	}
	source, mode := a.str("caption"), a.str("parse_mode")
	caption, entities, e := formatText(source, mode, a, "caption_entities")
	if e != nil {
		return result{}, e
	}
	if utf16Len(caption) > maxCaptionLen {
		return result{}, badRequest("message caption is too long")
	}
	mk, raw, e := markupFromArgs(a)
	if e != nil {
		return result{}, e
	}
	f, e := s.inputFileLocked(a, param, kind)
	if e != nil {
		return result{}, e
	}
	msg := Message{Caption: caption, CaptionEntities: entities, ReplyMarkup: mk}
	if kind == kindPhoto {
		msg.Photo = f.photoSizes()
	} else {
		doc := f.document()
		msg.Document = &doc
	}
	m, e := s.sendLocked(a, c, post{method: method, msg: msg, parseMode: mode, source: source, rawMarkup: raw})
	if e != nil {
		return result{}, e
	}
	return result{value: m}, nil
}

func (s *Server) copyMessage(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from, e := s.chatLocked(a, "from_chat_id")
	if e != nil {
		return result{}, e
	}
	if e := s.readableLocked(from); e != nil {
		return result{}, e
	}
	id, _ := a.int("message_id")
	src := from.message(int(id))
	if src == nil {
		return result{}, badRequest("message to copy not found")
	}
	if src.msg.ForumTopicCreated != nil {
		return result{}, badRequest("message can't be copied")
	}
	to, e := s.chatLocked(a, "chat_id")
	if e != nil {
		return result{}, e
	}
	msg := Message{
		Text: src.msg.Text, Entities: src.msg.Entities,
		Photo: src.msg.Photo, Document: src.msg.Document,
		Caption: src.msg.Caption, CaptionEntities: src.msg.CaptionEntities,
	}
	source, mode := msg.Text, ""
	if msg.Text == "" {
		source = msg.Caption
	}
	if a.has("caption") && msg.Text == "" {
		source, mode = a.str("caption"), a.str("parse_mode")
		caption, entities, e := formatText(source, mode, a, "caption_entities")
		if e != nil {
			return result{}, e
		}
		if utf16Len(caption) > maxCaptionLen {
			return result{}, badRequest("message caption is too long")
		}
		msg.Caption, msg.CaptionEntities = caption, entities
	}
	mk, raw, e := markupFromArgs(a)
	if e != nil {
		return result{}, e
	}
	msg.ReplyMarkup = mk
	m, e := s.sendLocked(a, to, post{method: "copyMessage", msg: msg, parseMode: mode, source: source, rawMarkup: raw})
	if e != nil {
		return result{}, e
	}
	return result{value: struct {
		MessageID int `json:"message_id"`
	}{m.MessageID}}, nil
}

// editTargetLocked finds the bot's message an edit refers to.
func (s *Server) editTargetLocked(a args) (*chatState, *storedMessage, *apiError) {
	if a.has("inline_message_id") {
		return nil, nil, badRequest("MESSAGE_ID_INVALID")
	}
	if !a.has("chat_id") {
		return nil, nil, badRequest("chat_id is empty")
	}
	c, e := s.chatLocked(a, "chat_id")
	if e != nil {
		return nil, nil, e
	}
	if e := s.readableLocked(c); e != nil {
		return nil, nil, e
	}
	id, ok := a.int("message_id")
	if !ok {
		return nil, nil, badRequest("message identifier is not specified")
	}
	sm := c.message(int(id))
	if sm == nil {
		return nil, nil, badRequest("message to edit not found")
	}
	if !sm.byBot {
		return nil, nil, badRequest("message can't be edited")
	}
	return c, sm, nil
}

func sameJSON(x, y any) bool {
	a, errA := json.Marshal(x)
	b, errB := json.Marshal(y)
	return errA == nil && errB == nil && string(a) == string(b)
}

const notModified = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"

func (s *Server) editMessageText(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, sm, e := s.editTargetLocked(a)
	if e != nil {
		return result{}, e
	}
	if sm.msg.Text == "" {
		return result{}, badRequest("there is no text in the message to edit")
	}
	source, mode := a.str("text"), a.str("parse_mode")
	text, entities, e := formatText(source, mode, a, "entities")
	if e != nil {
		return result{}, e
	}
	if text == "" {
		return result{}, badRequest("message text is empty")
	}
	if utf16Len(text) > maxTextLen {
		return result{}, badRequest("message is too long")
	}
	mk, raw, e := markupFromArgs(a)
	if e != nil {
		return result{}, e
	}
	if text == sm.msg.Text && sameJSON(entities, sm.msg.Entities) && sameJSON(mk, sm.msg.ReplyMarkup) {
		return result{}, badRequest(notModified)
	}
	sm.msg.Text, sm.msg.Entities, sm.msg.ReplyMarkup = text, entities, mk
	if a.has("link_preview_options") {
		lpo := &LinkPreviewOptions{}
		if err := a.decode("link_preview_options", lpo); err == nil {
			sm.msg.LinkPreviewOptions = lpo
		}
	}
	sm.msg.EditDate = s.date()
	view := c.view(sm)
	s.recordLocked(c, "editMessageText", view, mode, source, raw)
	return result{value: view}, nil
}

func (s *Server) editMessageReplyMarkup(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, sm, e := s.editTargetLocked(a)
	if e != nil {
		return result{}, e
	}
	mk, raw, e := markupFromArgs(a)
	if e != nil {
		return result{}, e
	}
	if sameJSON(mk, sm.msg.ReplyMarkup) {
		return result{}, badRequest(notModified)
	}
	sm.msg.ReplyMarkup = mk
	sm.msg.EditDate = s.date()
	view := c.view(sm)
	s.recordLocked(c, "editMessageReplyMarkup", view, "", "", raw)
	return result{value: view}, nil
}

func (s *Server) deleteMessage(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.chatLocked(a, "chat_id")
	if e != nil {
		return result{}, e
	}
	if e := s.readableLocked(c); e != nil {
		return result{}, e
	}
	id, _ := a.int("message_id")
	sm := c.message(int(id))
	if sm == nil {
		return result{}, badRequest("message to delete not found")
	}
	if sm.msg.ForumTopicCreated != nil {
		return result{}, badRequest("message can't be deleted")
	}
	view := c.view(sm)
	sm.deleted = true
	s.recordLocked(c, "deleteMessage", view, "", "", nil)
	return result{value: true}, nil
}

// CallbackAnswer is the bot's answer to a callback query.
type CallbackAnswer struct {
	Query     CallbackQuery
	Text      string
	ShowAlert bool
	URL       string
	CacheTime int
	Time      time.Time
}

func (s *Server) answerCallbackQuery(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb, ok := s.st.callbacks[a.str("callback_query_id")]
	if !ok || cb.answered {
		return result{}, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	if utf16Len(a.str("text")) > 200 {
		return result{}, badRequest("MESSAGE_TOO_LONG")
	}
	cb.answered = true
	cache, _ := a.int("cache_time")
	s.st.callbackAnswers = append(s.st.callbackAnswers, CallbackAnswer{
		Query: cb.query, Text: a.str("text"), ShowAlert: a.bool("show_alert"),
		URL: a.str("url"), CacheTime: int(cache), Time: s.now(),
	})
	s.notifyLocked()
	return result{value: true}, nil
}

// ChatAction is one sendChatAction call.
type ChatAction struct {
	ChatID   int64
	ThreadID int
	Action   string
	Time     time.Time
}

func (s *Server) sendChatAction(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.chatLocked(a, "chat_id")
	if e != nil {
		return result{}, e
	}
	action := a.str("action")
	if !chatActions[action] {
		return result{}, badRequest("wrong parameter action in request")
	}
	if e := s.writableLocked(c); e != nil {
		return result{}, e
	}
	thread, e := threadFromArgs(a, c)
	if e != nil {
		return result{}, e
	}
	s.st.chatActions = append(s.st.chatActions, ChatAction{ChatID: c.chat.ID, ThreadID: thread, Action: action, Time: s.now()})
	s.notifyLocked()
	return result{value: true}, nil
}

// scopeKey names a command scope: "default", "all_private_chats",
// "all_group_chats", "all_chat_administrators", "chat:<id>",
// "chat_administrators:<id>" or "chat_member:<chat id>:<user id>", followed
// by "/<language_code>" when a language is given.
func (s *Server) scopeKeyLocked(a args) (string, *apiError) {
	key := "default"
	if a.has("scope") {
		var sc struct {
			Type   string          `json:"type"`
			ChatID json.RawMessage `json:"chat_id"`
			UserID int64           `json:"user_id"`
		}
		if err := a.decode("scope", &sc); err != nil {
			return "", badRequest("can't parse BotCommandScope JSON object")
		}
		chat := func() (int64, *apiError) {
			sub := args{"chat_id": arg{raw: sc.ChatID}}
			c, e := s.chatLocked(sub, "chat_id")
			if e != nil {
				return 0, e
			}
			return c.chat.ID, nil
		}
		switch sc.Type {
		case "default", "all_private_chats", "all_group_chats", "all_chat_administrators":
			key = sc.Type
		case "chat", "chat_administrators":
			id, e := chat()
			if e != nil {
				return "", e
			}
			key = sc.Type + ":" + strconv.FormatInt(id, 10)
		case "chat_member":
			id, e := chat()
			if e != nil {
				return "", e
			}
			key = fmt.Sprintf("chat_member:%d:%d", id, sc.UserID)
		default:
			return "", badRequest("wrong bot command scope type specified")
		}
	}
	if lang := a.str("language_code"); lang != "" {
		key += "/" + lang
	}
	return key, nil
}

func (s *Server) setMyCommands(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cmds []BotCommand
	if err := a.decode("commands", &cmds); err != nil {
		return result{}, badRequest("can't parse commands JSON object")
	}
	if len(cmds) > maxCommands {
		return result{}, badRequest("too many commands specified")
	}
	for _, c := range cmds {
		if !validCommand(c.Command) {
			return result{}, badRequest("BOT_COMMAND_INVALID")
		}
		if n := utf16Len(strings.TrimSpace(c.Description)); n < 1 || n > 256 {
			return result{}, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	key, e := s.scopeKeyLocked(a)
	if e != nil {
		return result{}, e
	}
	if len(cmds) == 0 {
		delete(s.st.commands, key)
	} else {
		s.st.commands[key] = cmds
	}
	s.notifyLocked()
	return result{value: true}, nil
}

func validCommand(c string) bool {
	if len(c) < 1 || len(c) > 32 {
		return false
	}
	for _, r := range c {
		if !(r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

func (s *Server) getMyCommands(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, e := s.scopeKeyLocked(a)
	if e != nil {
		return result{}, e
	}
	cmds := append([]BotCommand{}, s.st.commands[key]...)
	return result{value: cmds}, nil
}

func (s *Server) deleteMyCommands(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, e := s.scopeKeyLocked(a)
	if e != nil {
		return result{}, e
	}
	delete(s.st.commands, key)
	s.notifyLocked()
	return result{value: true}, nil
}

// Commands returns the bot's command menu for a scope key (see setMyCommands:
// "default", "all_private_chats", "chat:<id>", ..., with "/<lang>" for a
// language).
func (s *Server) Commands(scope string) []BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BotCommand(nil), s.st.commands[scope]...)
}

func (s *Server) createForumTopic(_ context.Context, a args) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.chatLocked(a, "chat_id")
	if e != nil {
		return result{}, e
	}
	if c.chat.Type == ChatPrivate || !c.chat.IsForum {
		return result{}, badRequest("the chat is not a forum")
	}
	if e := s.writableLocked(c); e != nil {
		return result{}, e
	}
	name := a.str("name")
	if n := utf16Len(name); n < 1 || n > maxTopicNameLength {
		return result{}, badRequest("TOPIC_NAME_INVALID")
	}
	color := int64(defaultTopicColor)
	if n, ok := a.int("icon_color"); ok {
		if !topicColors[n] {
			return result{}, badRequest("TOPIC_ICON_COLOR_INVALID")
		}
		color = n
	}
	bot := s.st.me
	sm := s.openTopicLocked(c, &bot, name, int(color), a.str("icon_custom_emoji_id"))
	return result{value: *c.topics[sm.msg.MessageID]}, nil
}
