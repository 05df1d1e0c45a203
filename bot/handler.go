package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi"
)

// reply collects what handling one update decided to send. Everything goes
// through the outbox, keyed by the update, so that handling the same update
// again stores each message once.
type reply struct {
	update int64
	msgs   []outgoing
	keys   []string
	after  []func(context.Context) error
	// before are store writes started alongside the handling, waited for
	// before the replies are stored.
	before []<-chan error
	// questions are the log records of the questions answered, stored with
	// the replies whose buttons name them.
	questions []caunoi.QuestionRecord
}

// afterFlush runs f once the messages are stored in the outbox.
func (r *reply) afterFlush(f func(context.Context) error) { r.after = append(r.after, f) }

func (r *reply) add(o outgoing) {
	r.msgs = append(r.msgs, o)
	// Zero-padded, so that keys sort in the order the messages were decided.
	r.keys = append(r.keys, fmt.Sprintf("u%d:%04d", r.update, len(r.msgs)))
}

func (r *reply) text(chat int64, html string, kb [][]button) {
	parts := splitHTML(html, maxMessageLen)
	for i, p := range parts {
		o := outgoing{Kind: outText, Chat: chat, Text: p}
		if i == len(parts)-1 {
			o.Keyboard = kb
		}
		r.add(o)
	}
}

// handle is the dispatcher's handler: it decides, then stores the decisions
// in the outbox. Errors from the store are retryable: the update stays in the
// journal and is handled again, with the same outbox keys.
func (b *Bot) handle(ctx context.Context, upd *models.Update) error {
	r := &reply{update: upd.ID}
	if b.flooded(ctx, upd, r) {
		return b.flush(ctx, r)
	}
	var err error
	switch {
	case upd.CallbackQuery != nil:
		err = b.onCallback(ctx, upd.CallbackQuery, r)
	case upd.Message != nil:
		err = b.onMessage(ctx, upd.Message, r)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	for _, c := range r.before {
		if err := <-c; err != nil {
			return err
		}
	}
	if err := b.flush(ctx, r); err != nil {
		return err
	}
	for _, f := range r.after {
		if err := f(ctx); err != nil {
			return &retryableError{err}
		}
	}
	return nil
}

func (b *Bot) flush(ctx context.Context, r *reply) error {
	if len(r.msgs) == 0 && len(r.questions) == 0 {
		return nil
	}
	now := b.now()
	out := make([]caunoi.OutMessage, 0, len(r.msgs))
	for i, m := range r.msgs {
		// One nanosecond apart: the messages of one update keep their order
		// by Created alone, and no two of a chat share an instant.
		created := now.Add(time.Duration(i))
		out = append(out, caunoi.OutMessage{Key: r.keys[i], Chat: m.Chat, Payload: m.marshal(), Created: created, NotBefore: created})
	}
	// With nothing left to do after the replies are stored, storing them
	// with the question log ends the update's handling too: one write
	// instead of three.
	if m := markOf(ctx); m != nil && len(r.after) == 0 && m.id == r.update {
		if err := b.store.EnqueueDone(ctx, out, m.id, r.questions...); err != nil {
			return &retryableError{fmt.Errorf("enqueue replies: %w", err)}
		}
		m.marked = true
	} else {
		// The records first: a reply's buttons name them.
		for _, q := range r.questions {
			if _, err := b.store.LogQuestion(ctx, q); err != nil {
				return &retryableError{fmt.Errorf("log question: %w", err)}
			}
		}
		if len(out) > 0 {
			if err := b.store.Enqueue(ctx, out); err != nil {
				return &retryableError{fmt.Errorf("enqueue replies: %w", err)}
			}
		}
	}
	if len(out) > 0 {
		b.send.poke()
	}
	return nil
}

// infra reports whether err is a failure of the store rather than a
// decision of the desk; such updates are retried.
func infra(err error) bool {
	return err != nil && !errors.Is(err, caunoi.ErrNotFound) && !errors.Is(err, caunoi.ErrForbidden) &&
		!errors.Is(err, caunoi.ErrInvalid) && !errors.Is(err, caunoi.ErrConflict) && !errors.Is(err, caunoi.ErrExpired)
}

// userText maps a desk error to what a person reads. Every error shown to
// people passes through here; the details go to the log.
func (b *Bot) userText(ctx context.Context, err error, chat int64) string {
	switch {
	case errors.Is(err, caunoi.ErrForbidden):
		b.log.Warn("forbidden action refused", "chat_id", chat, "err", err)
		return errTxtForbidden
	case errors.Is(err, caunoi.ErrConflict):
		return errTxtConflict
	case errors.Is(err, caunoi.ErrNotFound):
		return errTxtNotFound
	case errors.Is(err, caunoi.ErrInvalid):
		return errTxtInvalid
	case errors.Is(err, caunoi.ErrExpired):
		return txtExpiredInvite
	}
	b.log.Error("request failed", "chat_id", chat, "err", err)
	return errTxtInternal
}

// ---- messages ----

func (b *Bot) onMessage(ctx context.Context, m *models.Message, r *reply) error {
	if m.From == nil || m.From.IsBot {
		return nil
	}
	switch m.Chat.Type {
	case models.ChatTypePrivate:
		return b.onPrivate(ctx, m, r)
	case models.ChatTypeGroup, models.ChatTypeSupergroup:
		return b.onGroup(ctx, m, r)
	}
	return nil
}

func (b *Bot) onPrivate(ctx context.Context, m *models.Message, r *reply) error {
	chat := m.Chat.ID
	actor := caunoi.UserID(m.From.ID)
	// Someone who blocked the bot and writes again can be reached again.
	// Nothing the handling reads depends on it, so it goes to the store
	// while the handling goes on: a round trip less before the answer.
	released := make(chan error, 1)
	r.before = append(r.before, released)
	go func() {
		if err := b.store.ReleaseChat(ctx, chat, b.now()); err != nil {
			released <- &retryableError{err}
			return
		}
		b.send.release(chat)
		released <- nil
	}()
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	if c, ok := parseCommand(m.Text, m.Entities, b.me.Username); ok {
		return b.onCommand(ctx, m, c, r)
	}
	att, attErr := attachmentOf(m)
	if number, ok, err := b.replyBinding(ctx, m); err != nil {
		return err
	} else if ok {
		return b.officialFollowUp(ctx, m, number, text, att, attErr, r)
	}
	if attErr != nil {
		r.text(chat, esc(fmt.Sprintf(txtAttachRefused, attErr.Error())), nil)
		return nil
	}
	if att != nil {
		return b.attachToDraft(ctx, chat, *att, strings.TrimSpace(text), r)
	}
	if strings.TrimSpace(text) == "" {
		r.text(chat, esc(txtEmptyQuestion), nil)
		return nil
	}
	return b.ask(ctx, actor, chat, text, r)
}

func (b *Bot) ask(ctx context.Context, actor caunoi.UserID, chat int64, text string, r *reply) error {
	defer b.typing(ctx, chat)()
	ans, rec, err := b.desk.Answer(ctx, actor, text)
	if err != nil {
		if infra(err) {
			return &retryableError{err}
		}
		r.text(chat, esc(b.userText(ctx, err, chat)), nil)
		return nil
	}
	r.questions = append(r.questions, rec)
	b.metrics.answered(ans.Result.Confidence)
	b.log.Info("answered", "chat_id", chat, "question_id", ans.QuestionID, "confidence", ans.Result.Confidence.String(),
		"handbook_version", ans.Result.Version, "hits", len(ans.Result.Hits))
	q := ans.QuestionID
	if ans.Confident {
		kb := [][]button{
			{b.btn(chat, btnHelpful, actHelpful, q), b.btn(chat, btnFull, actFull, q)},
			{b.btn(chat, btnMore, actMore, q), b.btn(chat, btnAsk, actAsk, q)},
		}
		r.text(chat, renderAnswer(ans.Result.Hits[0], b.now()), kb)
		return nil
	}
	kb := [][]button{{b.btn(chat, btnAsk, actAsk, q)}}
	for i, h := range ans.Result.Hits {
		if i == 3 {
			break
		}
		kb = append(kb, []button{b.btn(chat, truncateRunes(fmt.Sprintf("%d. %s", i+1, h.Passage.Title), 60), actCandidate, q+"/"+strconv.Itoa(i))})
	}
	r.text(chat, renderUnsure(ans.Result), kb)
	return nil
}

// typingAfter is how long preparing an answer may take before the official
// is shown "typing…". Most answers take milliseconds, and a chat action for
// each would double the requests to Telegram for nothing.
const typingAfter = 700 * time.Millisecond

// typing shows "typing…" if the answer is still being prepared after
// typingAfter; call the function it returns when it is ready. It is a
// courtesy: failures are ignored and it never waits.
func (b *Bot) typing(ctx context.Context, chat int64) (stop func()) {
	t := time.AfterFunc(typingAfter, func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		_, _ = b.api.SendChatAction(ctx, &tgbot.SendChatActionParams{ChatID: chat, Action: models.ChatActionTyping})
	})
	return func() { t.Stop() }
}

func (b *Bot) onCommand(ctx context.Context, m *models.Message, c command, r *reply) error {
	chat := m.Chat.ID
	actor := caunoi.UserID(m.From.ID)
	switch c.Name {
	case "start":
		if c.Args == "" {
			r.text(chat, esc(txtWelcome), nil)
			return nil
		}
		return b.register(ctx, m, c.Args, r)
	case "help":
		r.text(chat, esc(txtHelp), nil)
	case "huy":
		if err := b.store.Delete(ctx, draftKey(chat)); err != nil {
			return &retryableError{err}
		}
		r.text(chat, esc(txtDraftCancelled), nil)
	case "phieu":
		ts, err := b.desk.MyTickets(ctx, actor)
		if err != nil {
			if infra(err) {
				return &retryableError{err}
			}
			r.text(chat, esc(b.userText(ctx, err, chat)), nil)
			return nil
		}
		var lines []string
		for _, t := range ts {
			if t.Status.Open() {
				lines = append(lines, renderTicketLine(t))
			}
		}
		if len(lines) == 0 {
			r.text(chat, esc(txtNoTickets), nil)
			return nil
		}
		r.text(chat, esc(txtMyTickets)+"\n"+strings.Join(lines, "\n"), nil)
	default:
		if h, ok := privateCommands[c.Name]; ok {
			return h(b, ctx, m, c, r)
		}
		r.text(chat, esc(txtHelp), nil)
	}
	return nil
}

// commandHandler handles a command; extra features register theirs in
// privateCommands or groupCommands from their own files.
type commandHandler func(b *Bot, ctx context.Context, m *models.Message, c command, r *reply) error

// callbackHandler handles a button of an action registered in actions.
type callbackHandler func(b *Bot, ctx context.Context, q *models.CallbackQuery, cb callback, r *reply) (notice string, err error)

var (
	privateCommands = map[string]commandHandler{}
	groupCommands   = map[string]commandHandler{}
	actions         = map[action]callbackHandler{}
)

// maxInviteTries is how many invite codes a person may try in an hour.
const maxInviteTries = 5

func (b *Bot) register(ctx context.Context, m *models.Message, code string, r *reply) error {
	chat := m.Chat.ID
	// Rate-limit guesses: each try takes one of a few hourly slots.
	slot := false
	for i := 1; i <= maxInviteTries; i++ {
		ok, err := b.store.SetNX(ctx, fmt.Sprintf("invite-try:%d:%d", m.From.ID, i), []byte("1"), time.Hour)
		if err != nil {
			return &retryableError{err}
		}
		if ok {
			slot = true
			break
		}
	}
	if !slot {
		b.log.Warn("invite attempts over the limit", "chat_id", chat)
		r.text(chat, esc(txtTooManyInvites), nil)
		return nil
	}
	name := strings.TrimSpace(m.From.FirstName + " " + m.From.LastName)
	_, err := b.desk.Register(ctx, caunoi.UserID(m.From.ID), name, code)
	switch {
	case err == nil:
		r.text(chat, esc(txtRegistered)+"\n\n"+esc(txtHelp), nil)
	case errors.Is(err, caunoi.ErrNotFound), errors.Is(err, caunoi.ErrInvalid):
		r.text(chat, esc(txtBadInvite), nil)
	case errors.Is(err, caunoi.ErrExpired):
		r.text(chat, esc(txtExpiredInvite), nil)
	case infra(err):
		return &retryableError{err}
	default:
		r.text(chat, esc(b.userText(ctx, err, chat)), nil)
	}
	return nil
}

func (b *Bot) officialFollowUp(ctx context.Context, m *models.Message, number, text string, att *caunoi.Attachment, attErr error, r *reply) error {
	chat := m.Chat.ID
	if attErr != nil {
		r.text(chat, esc(fmt.Sprintf(txtAttachRefused, attErr.Error())), nil)
		return nil
	}
	note := caunoi.Note{Text: text}
	if att != nil {
		note.Attachments = []caunoi.Attachment{*att}
	}
	key := fmt.Sprintf("u%d", r.update)
	out, err := b.desk.OfficialFollowUp(ctx, caunoi.UserID(m.From.ID), number, key, note)
	if errors.Is(err, caunoi.ErrConflict) {
		// The ticket was answered or solved: writing more means it is not.
		out, err = b.desk.Reopen(ctx, caunoi.UserID(m.From.ID), number, key, note)
	}
	if err != nil {
		if infra(err) {
			return &retryableError{err}
		}
		r.text(chat, esc(b.userText(ctx, err, chat)), nil)
		return nil
	}
	r.text(chat, esc(fmt.Sprintf(txtFollowUpSent, number)), nil)
	return b.deliver(ctx, out, r)
}

// ---- staff groups ----

func (b *Bot) onGroup(ctx context.Context, m *models.Message, r *reply) error {
	chat := m.Chat.ID
	dept, known := b.groups[chat]
	if c, ok := parseCommand(m.Text, m.Entities, b.me.Username); ok {
		if !known {
			r.text(chat, esc(txtUnknownGroup), nil)
			return nil
		}
		if c.Name == "phieu" {
			return b.groupTickets(ctx, m, dept, r)
		}
		if h, ok := groupCommands[c.Name]; ok {
			return h(b, ctx, m, c, r)
		}
		return nil
	}
	if !known {
		return nil
	}
	number, action := "", ""
	if bind, ok, err := b.replyBinding(ctx, m); err != nil {
		return err
	} else if ok {
		number, action, _ = strings.Cut(bind, "|")
	}
	if number == "" && m.ReplyToMessage != nil {
		number, action = b.ticketInMessage(chat, m.ReplyToMessage)
	}
	if number == "" && m.MessageThreadID != 0 {
		v, err := b.store.Value(ctx, threadKey(chat, m.MessageThreadID))
		switch {
		case err == nil:
			number = string(v)
		case !errors.Is(err, caunoi.ErrNotFound):
			return &retryableError{fmt.Errorf("read the ticket of topic %d: %w", m.MessageThreadID, err)}
		}
	}
	if number == "" {
		return nil // staff talking among themselves
	}
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	att, attErr := attachmentOf(m)
	if attErr != nil {
		r.add(outgoing{Kind: outText, Chat: chat, Group: true, Thread: m.MessageThreadID, ReplyTo: m.ID, Text: esc(fmt.Sprintf(txtAttachRefused, attErr.Error()))})
		return nil
	}
	note := caunoi.Note{Text: text}
	if att != nil {
		note.Attachments = []caunoi.Attachment{*att}
	}
	actor := caunoi.UserID(m.From.ID)
	key := fmt.Sprintf("u%d", r.update)
	var out caunoi.Outcome
	var err error
	if action == "info" {
		out, err = b.desk.RequestInfo(ctx, actor, number, key, note)
	} else {
		out, err = b.desk.Reply(ctx, actor, number, key, note)
	}
	if err != nil {
		if infra(err) {
			return &retryableError{err}
		}
		r.add(outgoing{Kind: outText, Chat: chat, Group: true, Thread: m.MessageThreadID, ReplyTo: m.ID, Text: esc(b.userText(ctx, err, chat))})
		return nil
	}
	return b.deliver(ctx, out, r)
}

func (b *Bot) groupTickets(ctx context.Context, m *models.Message, dept string, r *reply) error {
	chat := m.Chat.ID
	// Only open tickets are listed, so only they are read (the stores'
	// index of open tickets), not every ticket the department ever had.
	ts, err := b.desk.DepartmentTickets(ctx, caunoi.UserID(m.From.ID), dept, caunoi.OpenStatuses()...)
	if err != nil {
		if infra(err) {
			return &retryableError{err}
		}
		r.add(outgoing{Kind: outText, Chat: chat, Group: true, Thread: m.MessageThreadID, Text: esc(b.userText(ctx, err, chat))})
		return nil
	}
	var lines []string
	for _, t := range ts {
		lines = append(lines, renderTicketLine(t))
	}
	text := esc(txtNoOpenTickets)
	if len(lines) > 0 {
		text = esc(txtOpenTickets) + "\n" + strings.Join(lines, "\n")
	}
	for _, p := range splitHTML(text, maxMessageLen) {
		r.add(outgoing{Kind: outText, Chat: chat, Group: true, Thread: m.MessageThreadID, Text: p})
	}
	return nil
}

// errBindingPending: a reply came to a message whose ticket binding this
// replica has not stored yet.
var errBindingPending = errors.New("the message replied to may be a ticket's, and its binding is not stored yet")

// replyBinding returns the ticket (and action suffix) bound to the message
// m replies to; ok is false when m replies to nothing bound. Its error is
// retryable, and the update must be handled again later: the store failed,
// or a message naming a ticket was just sent to this chat and its binding
// is not stored yet, so m may answer it. People reply within a second of a
// card's arrival; without the retry such a reply would be taken for chat
// among staff, or for a new question, and the ticket would never get it.
func (b *Bot) replyBinding(ctx context.Context, m *models.Message) (string, bool, error) {
	if m.ReplyToMessage == nil {
		return "", false, nil
	}
	// Ask before reading: a binding stored after the read was pending
	// before it.
	pending := b.send.bindingPending(m.Chat.ID)
	v, err := b.store.Value(ctx, msgKey(m.Chat.ID, m.ReplyToMessage.ID))
	switch {
	case err == nil:
		return string(v), true, nil
	case !errors.Is(err, caunoi.ErrNotFound):
		return "", false, &retryableError{fmt.Errorf("read the binding of message %d: %w", m.ReplyToMessage.ID, err)}
	case pending:
		return "", false, &retryableError{errBindingPending}
	}
	return "", false, nil
}

// ticketInMessage reads the ticket that one of the bot's own group messages
// is about, for a reply to a card or prompt whose binding was never stored:
// the bot stopped between Telegram's answer and the binding, and sent the
// message again after the restart. A card names its ticket in its signed
// staff buttons; the prompt for more information is known by its text.
// Telegram vouches for the author of a replied-to message.
func (b *Bot) ticketInMessage(chat int64, m *models.Message) (number, action string) {
	if m.From == nil || b.me == nil || m.From.ID != b.me.ID {
		return "", ""
	}
	if m.ReplyMarkup != nil {
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, btn := range row {
				cb, err := b.sign.decode(chat, btn.CallbackData)
				if err != nil {
					continue
				}
				switch cb.Action {
				case actClaim, actNeedInfo, actTransfer, actResolve:
					return cb.Arg, ""
				}
			}
		}
	}
	if n, ok := strings.CutPrefix(m.Text, "Phiếu "); ok {
		n, _, _ = strings.Cut(n, ":")
		if m.Text == fmt.Sprintf(txtNeedInfoPrompt, n) {
			return n, "info"
		}
	}
	return "", ""
}

// ---- attachments ----

// maxAttachmentBytes is Telegram's limit for files a bot can download.
const maxAttachmentBytes = 20 << 20

// allowedDocs are the document types an official may attach.
var allowedDocs = map[string]bool{
	"application/pdf": true, "image/jpeg": true, "image/png": true, "image/heic": true, "image/webp": true,
	"application/msword": true, "application/vnd.openxmlformats-officedocument.wordprocessingml.document": true,
	"application/vnd.ms-excel": true, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": true,
	"text/plain": true, "application/zip": false,
}

// attachmentOf returns the photo or document in m, nil when there is none,
// or an error saying why the file is refused. File metadata is user input.
func attachmentOf(m *models.Message) (*caunoi.Attachment, error) {
	switch {
	case len(m.Photo) > 0:
		best := m.Photo[len(m.Photo)-1]
		if best.FileSize > maxAttachmentBytes {
			return nil, errors.New("ảnh quá lớn")
		}
		if best.FileID == "" || len(best.FileID) > 256 {
			return nil, errors.New("ảnh không hợp lệ")
		}
		return &caunoi.Attachment{Kind: "photo", Ref: best.FileID, Name: "anh.jpg", MIME: "image/jpeg", Size: int64(best.FileSize)}, nil
	case m.Document != nil:
		d := m.Document
		if d.FileSize > maxAttachmentBytes {
			return nil, errors.New("tệp quá lớn")
		}
		mime := strings.ToLower(strings.TrimSpace(d.MimeType))
		if !allowedDocs[mime] {
			return nil, fmt.Errorf("loại tệp %q không được nhận", truncateRunes(mime, 60))
		}
		if d.FileID == "" || len(d.FileID) > 256 {
			return nil, errors.New("tệp không hợp lệ")
		}
		return &caunoi.Attachment{Kind: "document", Ref: d.FileID, Name: cleanFileName(d.FileName), MIME: mime, Size: d.FileSize}, nil
	case m.Video != nil, m.Voice != nil, m.Audio != nil, m.Sticker != nil, m.VideoNote != nil, m.Animation != nil:
		return nil, errors.New("chỉ nhận ảnh và tài liệu")
	}
	return nil, nil
}

// cleanFileName keeps a file name printable and short.
func cleanFileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" {
		name = "tep"
	}
	return truncateRunes(name, 100)
}

// ---- escalation drafts ----

// draft is an escalation being prepared in a private chat.
type draft struct {
	Question    string              `json:"q"`
	Text        string              `json:"t"`
	Department  string              `json:"d"`
	Attachments []caunoi.Attachment `json:"a,omitempty"`
	Key         string              `json:"k"`
}

const (
	draftTTL       = 24 * time.Hour
	maxAttachments = 10
)

func draftKey(chat int64) string { return "draft:" + strconv.FormatInt(chat, 10) }

func (b *Bot) loadDraft(ctx context.Context, chat int64) (draft, bool, error) {
	v, err := b.store.Value(ctx, draftKey(chat))
	if errors.Is(err, caunoi.ErrNotFound) {
		return draft{}, false, nil
	}
	if err != nil {
		return draft{}, false, &retryableError{err}
	}
	var d draft
	if err := json.Unmarshal(v, &d); err != nil {
		return draft{}, false, nil
	}
	return d, true, nil
}

func (b *Bot) saveDraft(ctx context.Context, chat int64, d draft) error {
	v, _ := json.Marshal(d)
	if err := b.store.Put(ctx, draftKey(chat), v, draftTTL); err != nil {
		return &retryableError{err}
	}
	return nil
}

func (b *Bot) renderDraft(chat int64, d draft) (string, [][]button) {
	name := d.Department
	if dep, ok := b.desk.Department(d.Department); ok {
		name = dep.Name
	}
	text := "Gửi câu hỏi tới <b>" + esc(name) + "</b>?\n\n<blockquote>" + esc(cutText(d.Text, 1500)) + "</blockquote>"
	if n := len(d.Attachments); n > 0 {
		text += "\n" + esc(fmt.Sprintf(txtAttachAdded, n))
	} else {
		text += "\n" + esc(txtDraftAttach)
	}
	kb := [][]button{
		{b.btn(chat, btnSend, actConfirm, d.Key)},
		{b.btn(chat, btnChangeDept, actPickDept, d.Key), b.btn(chat, btnCancel, actCancel, d.Key)},
	}
	return text, kb
}

func (b *Bot) attachToDraft(ctx context.Context, chat int64, att caunoi.Attachment, caption string, r *reply) error {
	d, ok, err := b.loadDraft(ctx, chat)
	if err != nil {
		return err
	}
	if !ok {
		r.text(chat, esc(txtNoQuestionYet), nil)
		return nil
	}
	if len(d.Attachments) >= maxAttachments {
		r.text(chat, esc(fmt.Sprintf(txtAttachRefused, fmt.Sprintf("tối đa %d tệp cho một câu hỏi", maxAttachments))), nil)
		return nil
	}
	// The same update handled twice must not attach twice.
	for _, a := range d.Attachments {
		if a.Ref == att.Ref {
			return nil
		}
	}
	d.Attachments = append(d.Attachments, att)
	if caption != "" && !strings.Contains(d.Text, caption) {
		d.Text += "\n" + caption
	}
	if err := b.saveDraft(ctx, chat, d); err != nil {
		return err
	}
	text, kb := b.renderDraft(chat, d)
	r.text(chat, text, kb)
	return nil
}
