package bot

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi"
)

// btn makes a signed button for chat. Encoding only fails for arguments
// longer than the limit, which the callers never build; such a button is
// replaced by an inert one rather than sent broken.
func (b *Bot) btn(chat int64, label string, a action, arg string) button {
	data, err := b.sign.encode(chat, callback{Action: a, Arg: arg})
	if err != nil {
		b.log.Error("encode button", "chat_id", chat, "err", err)
		data, _ = b.sign.encode(chat, callback{Action: actCancel})
	}
	return button{Text: label, Data: data}
}

// answerCallback stops the button's spinner, with an optional short notice.
// It is best-effort: Telegram forgets callbacks after a while.
func (b *Bot) answerCallback(ctx context.Context, id, text string, alert bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := b.api.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: id, Text: truncateRunes(text, 190), ShowAlert: alert})
	if err != nil {
		b.log.Debug("answer callback", "err", err)
	}
}

func (b *Bot) onCallback(ctx context.Context, q *models.CallbackQuery, r *reply) error {
	if q.Message.Message == nil {
		b.answerCallback(ctx, q.ID, errTxtButton, false)
		return nil
	}
	msg := q.Message.Message
	chat := msg.Chat.ID
	cb, err := b.sign.decode(chat, q.Data)
	if err != nil {
		b.log.Warn("refused callback data", "chat_id", chat, "user_id", q.From.ID, "err", err)
		b.answerCallback(ctx, q.ID, errTxtButton, true)
		return nil
	}
	actor := caunoi.UserID(q.From.ID)
	key := fmt.Sprintf("u%d", r.update)
	notice := ""
	defer func() { b.answerCallback(ctx, q.ID, notice, notice != "" && notice != txtThanks && notice != txtRated) }()

	fail := func(err error) error {
		if infra(err) {
			return &retryableError{err}
		}
		notice = b.userText(ctx, err, chat)
		return nil
	}
	group := msg.Chat.Type != models.ChatTypePrivate
	if group {
		if _, ok := b.groups[chat]; !ok {
			notice = txtUnknownGroup
			return nil
		}
	}

	switch cb.Action {
	case actHelpful, actNotHelpful:
		if err := b.desk.Feedback(ctx, actor, cb.Arg, cb.Action == actHelpful); err != nil {
			return fail(err)
		}
		notice = txtThanks
		if cb.Action == actNotHelpful {
			r.text(chat, esc(txtSorryNotHelp), [][]button{{b.btn(chat, btnAsk, actAsk, cb.Arg)}})
		}
	case actFull, actMore, actCandidate:
		return b.showPassage(ctx, actor, chat, cb, r, fail)
	case actAsk:
		return b.startDraft(ctx, actor, chat, cb.Arg, r, fail)
	case actPickDept:
		d, ok, err := b.loadDraft(ctx, chat)
		if err != nil {
			return err
		}
		if !ok || d.Key != cb.Arg {
			notice = errTxtButton
			return nil
		}
		var rows [][]button
		for i, dep := range b.desk.Departments {
			btn := b.btn(chat, dep.Name, actDept, d.Key+"/"+strconv.Itoa(i))
			if i%2 == 0 {
				rows = append(rows, []button{btn})
			} else {
				rows[len(rows)-1] = append(rows[len(rows)-1], btn)
			}
		}
		r.add(outgoing{Kind: outEdit, Chat: chat, Message: msg.ID, Text: esc(txtChooseDept), Keyboard: rows})
	case actDept:
		d, ok, err := b.loadDraft(ctx, chat)
		if err != nil {
			return err
		}
		k, idx, _ := strings.Cut(cb.Arg, "/")
		i, convErr := strconv.Atoi(idx)
		if !ok || d.Key != k || convErr != nil || i < 0 || i >= len(b.desk.Departments) {
			notice = errTxtButton
			return nil
		}
		d.Department = b.desk.Departments[i].Code
		if err := b.saveDraft(ctx, chat, d); err != nil {
			return err
		}
		text, kb := b.renderDraft(chat, d)
		r.add(outgoing{Kind: outEdit, Chat: chat, Message: msg.ID, Text: text, Keyboard: kb})
	case actCancel:
		if err := b.store.Delete(ctx, draftKey(chat)); err != nil {
			return &retryableError{err}
		}
		r.add(outgoing{Kind: outEdit, Chat: chat, Message: msg.ID, Text: esc(txtDraftCancelled)})
	case actConfirm:
		d, ok, err := b.loadDraft(ctx, chat)
		if err != nil {
			return err
		}
		if !ok || d.Key != cb.Arg {
			notice = errTxtButton
			return nil
		}
		out, err := b.desk.Escalate(ctx, actor, caunoi.EscalateRequest{
			QuestionID: d.Question, Text: d.Text, Department: d.Department, Attachments: d.Attachments, Key: d.Key,
		})
		if err != nil {
			return fail(err)
		}
		if !out.Replayed {
			b.metrics.escalated()
		}
		// The draft goes only once the notices are in the outbox: if the
		// bot dies before that, this update is handled again, finds the
		// draft, and the desk replays the same ticket and notices.
		r.afterFlush(func(ctx context.Context) error { return b.store.Delete(ctx, draftKey(chat)) })
		r.add(outgoing{Kind: outMarkup, Chat: chat, Message: msg.ID})
		return b.deliver(ctx, out, r)

	// Staff buttons on a ticket card.
	case actClaim, actResolve:
		var out caunoi.Outcome
		if cb.Action == actClaim {
			out, err = b.desk.Claim(ctx, actor, cb.Arg, key)
		} else {
			out, err = b.desk.Resolve(ctx, actor, cb.Arg, key, caunoi.Note{})
		}
		if errors.Is(err, caunoi.ErrConflict) {
			// Say what the state is, rather than a generic refusal.
			if t, _, terr := b.desk.Ticket(ctx, actor, cb.Arg); terr == nil {
				notice = conflictText(cb.Action, t)
				return nil
			}
		}
		if err != nil {
			return fail(err)
		}
		if cb.Action == actClaim && !out.Replayed {
			// The card now shows who took it and loses its claim button.
			r.add(outgoing{Kind: outMarkup, Chat: chat, Message: msg.ID, Keyboard: [][]button{
				{b.btn(chat, btnNeedInfo, actNeedInfo, cb.Arg), b.btn(chat, btnTransfer, actTransfer, cb.Arg)},
				{b.btn(chat, btnResolve, actResolve, cb.Arg)},
			}})
		}
		return b.deliver(ctx, out, r)
	case actNeedInfo, actTransfer:
		// Check access before offering the next step.
		if _, _, err := b.desk.Ticket(ctx, actor, cb.Arg); err != nil {
			return fail(err)
		}
		if cb.Action == actNeedInfo {
			r.add(outgoing{Kind: outText, Chat: chat, Group: true, Thread: msg.MessageThreadID, ReplyTo: msg.ID,
				Text: esc(fmt.Sprintf(txtNeedInfoPrompt, cb.Arg)), Bind: cb.Arg + "|info"})
			return nil
		}
		var rows [][]button
		for i, dep := range b.desk.Departments {
			if dep.Code == b.groups[chat] {
				continue
			}
			btn := b.btn(chat, dep.Name, actTransferTo, cb.Arg+"/"+strconv.Itoa(i))
			if len(rows) == 0 || len(rows[len(rows)-1]) == 2 {
				rows = append(rows, []button{btn})
			} else {
				rows[len(rows)-1] = append(rows[len(rows)-1], btn)
			}
		}
		r.add(outgoing{Kind: outText, Chat: chat, Group: true, Thread: msg.MessageThreadID, ReplyTo: msg.ID,
			Text: esc(fmt.Sprintf(txtTransferPick, cb.Arg)), Keyboard: rows})
	case actTransferTo:
		number, idx, _ := strings.Cut(cb.Arg, "/")
		i, convErr := strconv.Atoi(idx)
		if convErr != nil || i < 0 || i >= len(b.desk.Departments) {
			notice = errTxtButton
			return nil
		}
		out, err := b.desk.Transfer(ctx, actor, number, key, b.desk.Departments[i].Code, caunoi.Note{})
		if err != nil {
			return fail(err)
		}
		r.add(outgoing{Kind: outMarkup, Chat: chat, Message: msg.ID})
		return b.deliver(ctx, out, r)

	// The official's buttons on a resolved ticket.
	case actSolved:
		out, err := b.desk.Confirm(ctx, actor, cb.Arg, key)
		if err != nil {
			return fail(err)
		}
		r.add(outgoing{Kind: outMarkup, Chat: chat, Message: msg.ID})
		var row []button
		for s := 1; s <= 5; s++ {
			row = append(row, b.btn(chat, strconv.Itoa(s)+"⭐", actRate, cb.Arg+"/"+strconv.Itoa(s)))
		}
		r.text(chat, esc(txtRateAsk), [][]button{row})
		return b.deliver(ctx, out, r)
	case actReopen:
		out, err := b.desk.Reopen(ctx, actor, cb.Arg, key, caunoi.Note{})
		if err != nil {
			return fail(err)
		}
		r.add(outgoing{Kind: outMarkup, Chat: chat, Message: msg.ID})
		r.add(outgoing{Kind: outText, Chat: chat, Text: esc(txtReopenAsk), Bind: cb.Arg})
		return b.deliver(ctx, out, r)
	case actRate:
		number, s, _ := strings.Cut(cb.Arg, "/")
		stars, convErr := strconv.Atoi(s)
		if convErr != nil {
			notice = errTxtButton
			return nil
		}
		out, err := b.desk.Rate(ctx, actor, number, key, stars)
		if err != nil {
			return fail(err)
		}
		notice = txtRated
		r.add(outgoing{Kind: outEdit, Chat: chat, Message: msg.ID, Text: esc(txtRated)})
		return b.deliver(ctx, out, r)
	default:
		h, ok := actions[cb.Action]
		if !ok {
			notice = errTxtButton
			return nil
		}
		n, err := h(b, ctx, q, cb, r)
		if err != nil {
			return fail(err)
		}
		notice = n
	}
	return nil
}

// showPassage answers "Xem đầy đủ", "Kết quả khác" and a candidate title.
func (b *Bot) showPassage(ctx context.Context, actor caunoi.UserID, chat int64, cb callback, r *reply, fail func(error) error) error {
	qid, idx, _ := strings.Cut(cb.Arg, "/")
	q, err := b.desk.Question(ctx, actor, qid)
	if err != nil {
		return fail(err)
	}
	now := b.now()
	switch cb.Action {
	case actMore:
		if len(q.Top) < 2 {
			r.text(chat, esc(txtNoAnswer), [][]button{{b.btn(chat, btnAsk, actAsk, qid)}})
			return nil
		}
		var rows [][]button
		for i, c := range q.Top[1:] {
			label := c.Title
			if c.Section != "" {
				label += " › " + c.Section
			}
			rows = append(rows, []button{b.btn(chat, truncateRunes(label, 60), actCandidate, qid+"/"+strconv.Itoa(i+1))})
		}
		rows = append(rows, []button{b.btn(chat, btnAsk, actAsk, qid)})
		r.text(chat, esc(txtCandidates), rows)
		return nil
	case actFull, actCandidate:
		i := 0
		if cb.Action == actCandidate {
			n, err := strconv.Atoi(idx)
			if err != nil || n < 0 || n >= len(q.Top) {
				r.text(chat, esc(errTxtButton), nil)
				return nil
			}
			i = n
		}
		if len(q.Top) == 0 {
			r.text(chat, esc(txtNoAnswer), nil)
			return nil
		}
		p, err := b.hb.Passage(q.Top[i].PassageID)
		if errors.Is(err, caunoi.ErrNotFound) {
			r.text(chat, esc(txtPassageGone), nil)
			return nil
		} else if err != nil {
			return &retryableError{err}
		}
		kb := [][]button{{b.btn(chat, btnHelpful, actHelpful, qid), b.btn(chat, btnAsk, actAsk, qid)}}
		if cb.Action == actFull {
			r.text(chat, renderFull(p, now), kb)
		} else {
			r.text(chat, renderAnswer(caunoi.Hit{Passage: p}, now), [][]button{
				{b.btn(chat, btnHelpful, actHelpful, qid), b.btn(chat, btnFull, actCandidate, qid+"/"+strconv.Itoa(i))},
				{b.btn(chat, btnAsk, actAsk, qid)},
			})
		}
	}
	return nil
}

// startDraft begins an escalation of question qid.
func (b *Bot) startDraft(ctx context.Context, actor caunoi.UserID, chat int64, qid string, r *reply, fail func(error) error) error {
	if _, err := b.store.Official(ctx, actor); errors.Is(err, caunoi.ErrNotFound) {
		r.text(chat, esc(txtNotRegistered), nil)
		return nil
	} else if err != nil {
		return &retryableError{err}
	}
	q, err := b.desk.Question(ctx, actor, qid)
	if err != nil {
		return fail(err)
	}
	if d, ok, err := b.loadDraft(ctx, chat); err != nil {
		return err
	} else if ok && d.Question == qid {
		// A double tap: show the same draft again.
		text, kb := b.renderDraft(chat, d)
		r.text(chat, text, kb)
		return nil
	}
	d := draft{Question: qid, Text: q.Text, Key: newDraftKey()}
	if len(q.Top) > 0 {
		if p, err := b.hb.Passage(q.Top[0].PassageID); err == nil {
			d.Department = p.Department
		}
	}
	if d.Department == "" && len(b.desk.Departments) > 0 {
		d.Department = b.desk.Departments[0].Code
	}
	if err := b.saveDraft(ctx, chat, d); err != nil {
		return err
	}
	text, kb := b.renderDraft(chat, d)
	r.text(chat, text, kb)
	return nil
}

func newDraftKey() string {
	var k [9]byte
	_, _ = rand.Read(k[:])
	return base64.RawURLEncoding.EncodeToString(k[:])
}

// deliver turns the desk's notices into messages.
func (b *Bot) deliver(ctx context.Context, out caunoi.Outcome, r *reply) error {
	for _, n := range out.Notices {
		v, err := b.view(ctx, out.Ticket, n)
		if err != nil {
			return &retryableError{err}
		}
		text, ok := renderNotice(n, v)
		if !ok {
			continue
		}
		var msgs []outgoing
		if n.To != 0 {
			chat := int64(n.To)
			o := outgoing{Kind: outText, Chat: chat, Text: text, Bind: n.Ticket}
			if n.Kind == caunoi.NoticeResolved {
				o.Keyboard = [][]button{{b.btn(chat, btnSolved, actSolved, n.Ticket), b.btn(chat, btnReopen, actReopen, n.Ticket)}}
			}
			msgs = append(msgs, o)
			for _, a := range n.Attachments {
				msgs = append(msgs, attachmentOut(chat, false, 0, a, n.Ticket))
			}
		} else {
			chat, ok := b.cfg.Groups[n.Department]
			if !ok {
				b.log.Error("no staff group for department; notice not delivered", "department", n.Department, "ticket_id", n.Ticket)
				continue
			}
			o := outgoing{Kind: outText, Chat: chat, Group: true, Text: text, Bind: n.Ticket}
			if b.cfg.Forums[chat] {
				o.TopicKey = n.Ticket + ":" + n.Department
			}
			if n.Kind == caunoi.NoticeNewTicket {
				o.Keyboard = [][]button{
					{b.btn(chat, btnClaim, actClaim, n.Ticket), b.btn(chat, btnNeedInfo, actNeedInfo, n.Ticket)},
					{b.btn(chat, btnTransfer, actTransfer, n.Ticket), b.btn(chat, btnResolve, actResolve, n.Ticket)},
				}
				if o.TopicKey != "" {
					o.Topic = n.Ticket + " · " + truncateRunes(strings.ReplaceAll(out.Ticket.Question, "\n", " "), 80)
				}
			}
			parts := splitHTML(o.Text, maxMessageLen)
			for i, p := range parts {
				po := o
				po.Text = p
				if i < len(parts)-1 {
					po.Keyboard = nil
				}
				msgs = append(msgs, po)
			}
			for _, a := range n.Attachments {
				ao := attachmentOut(chat, true, 0, a, n.Ticket)
				ao.TopicKey = o.TopicKey
				msgs = append(msgs, ao)
			}
		}
		for _, h := range noticeHooks {
			if msgs, err = h(b, ctx, out.Ticket, n, msgs); err != nil {
				return &retryableError{err}
			}
		}
		// Replaying the update replays the desk's decision with the same
		// notices, so the update's own sequence keys them.
		for _, m := range msgs {
			r.add(m)
		}
	}
	return nil
}

func attachmentOut(chat int64, group bool, thread int, a caunoi.Attachment, ticket string) outgoing {
	kind := outDocument
	if a.Kind == "photo" {
		kind = outPhoto
	}
	return outgoing{Kind: kind, Chat: chat, Group: group, Thread: thread, File: a.Ref, Bind: ticket,
		Text: "📎 " + esc(ticket)}
}

// view gathers the names a notice shows.
func (b *Bot) view(ctx context.Context, t caunoi.Ticket, n caunoi.Notice) (ticketView, error) {
	v := ticketView{T: t, Department: t.Department}
	if d, ok := b.desk.Department(t.Department); ok {
		v.Department = d.Name
	}
	if o, err := b.store.Official(ctx, t.Asker); err == nil {
		v.Asker = o.Name
		if o.Position != "" {
			v.Asker += ", " + o.Position
		}
	} else if !errors.Is(err, caunoi.ErrNotFound) {
		return v, err
	}
	if t.Commune != "" {
		if c, err := b.store.Commune(ctx, t.Commune); err == nil {
			v.Commune = c.Name
		} else if errors.Is(err, caunoi.ErrNotFound) {
			v.Commune = t.Commune
		} else {
			return v, err
		}
	}
	if n.Actor > 0 {
		if o, err := b.store.Official(ctx, n.Actor); err == nil {
			v.Actor = o.Name
		} else if !errors.Is(err, caunoi.ErrNotFound) {
			return v, err
		}
	}
	return v, nil
}

// conflictText explains why a staff button did nothing in the ticket's
// current state.
func conflictText(a action, t caunoi.Ticket) string {
	switch {
	case a == actClaim && t.Assignee != 0:
		return txtAlreadyClaimed
	case a == actResolve && (t.Status == caunoi.StatusNew || t.Status == caunoi.StatusTransferred || t.Status == caunoi.StatusReopened):
		return txtResolveFirst
	case !t.Status.Open():
		return txtTicketClosed
	}
	return errTxtConflict
}
