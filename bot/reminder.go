package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caunoi/caunoi"
)

// Reminder rounds: how often they run by default, and how long a replica
// keeps the "reminders" lease without renewing it.
const (
	defaultRemindEvery = time.Minute
	remindLeaseTTL     = 3 * time.Minute
)

// Reminder and digest texts (HTML where marked).
const (
	txtRemindResponseSoon   = "⏰ Phiếu %s sắp hết hạn phản hồi (hạn %s), chưa có cán bộ nhận xử lý."
	txtRemindResponseLate   = "🚨 Phiếu %s đã quá hạn phản hồi (hạn %s), chưa có cán bộ nhận xử lý."
	txtRemindResolutionSoon = "⏰ Phiếu %s sắp hết hạn giải quyết (hạn %s)."
	txtRemindResolutionLate = "🚨 Phiếu %s đã quá hạn giải quyết (hạn %s)."
	txtRemindAssignee       = "Cán bộ đang xử lý: %s."
	txtDigestTitle          = "📋 Tình hình phiếu hỏi của %s, %s"
	txtDigestOpen           = "• Đang mở: %d\n• Quá hạn: %d\n• Đến hạn trong hôm nay: %d"
	txtDigestSince          = "Từ %s đến hết hôm qua:"
	txtDigestSinceDay       = "Ngày làm việc trước (%s):"
	txtDigestPast           = "• Phiếu mới: %d\n• Cán bộ xã xác nhận đã giải quyết: %d\n• Đóng không giải quyết: %d"
	txtDigestMore           = "Gõ /thongke để xem thống kê 7 ngày, /thongke 30 cho 30 ngày."
)

// vnWeekdays are the names of the days of the week, Sunday first.
var vnWeekdays = [...]string{"Chủ nhật", "thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy"}

// remindLoop runs a reminder round every RemindEvery, the first one
// RemindEvery after the start, until ctx is done.
func (b *Bot) remindLoop(ctx context.Context) error {
	t := time.NewTicker(b.cfg.RemindEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := b.Remind(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("reminder round", "err", err)
		}
	}
}

// Remind runs one round of deadline reminders and daily digests at the
// bot's now, as Run does every RemindEvery: it asks the desk what is due
// and queues the messages (reminders to the staff groups, digests to each
// lead's private chat). With a shared store it first takes the "reminders"
// lease and does nothing while another replica holds it; the desk marks
// each reminder and digest in the store, so none goes out twice either
// way. It returns the first error of the round.
func (b *Bot) Remind(ctx context.Context) error {
	if l := b.send.leases; l.locker != nil {
		held, err := l.locker.Acquire(ctx, "reminders", l.owner, remindLeaseTTL)
		if err != nil {
			return fmt.Errorf("reminders lease: %w", err)
		}
		if !held {
			return nil
		}
	}
	now := b.now()
	var msgs []caunoi.OutMessage
	var firstErr error
	if b.cfg.RemindBefore >= 0 {
		ns, err := b.desk.Reminders(ctx, now, b.cfg.RemindBefore)
		firstErr = err
		for _, n := range ns {
			o, ok, err := b.renderReminder(ctx, n)
			if err != nil {
				// The reminder is marked sent; it is lost rather than sent twice.
				b.log.Error("render reminder", "ticket_id", n.Ticket, "err", err)
				continue
			}
			if !ok {
				continue
			}
			msgs = append(msgs, outMessage(n.Key, o, now))
		}
	}
	if b.cfg.DigestAt >= 0 {
		ds, err := b.desk.Digests(ctx, now, b.cfg.DigestAt)
		if firstErr == nil {
			firstErr = err
		}
		for _, d := range ds {
			o := outgoing{Kind: outText, Chat: int64(d.To), Text: b.renderDigest(d)}
			msgs = append(msgs, outMessage(d.Key, o, now))
		}
	}
	if len(msgs) > 0 {
		// Distinct creation times keep the messages of one chat in order.
		for i := range msgs {
			msgs[i].Created = msgs[i].Created.Add(time.Duration(i))
		}
		if err := b.store.Enqueue(ctx, msgs); err != nil {
			return fmt.Errorf("enqueue reminders: %w", err)
		}
		b.log.Info("reminders queued", "messages", len(msgs))
		b.send.poke()
	}
	return firstErr
}

func outMessage(key string, o outgoing, now time.Time) caunoi.OutMessage {
	return caunoi.OutMessage{Key: key, Chat: o.Chat, Payload: o.marshal(), Created: now, NotBefore: now}
}

// renderReminder renders a reminder for its department's staff group; ok
// is false when the department has no group.
func (b *Bot) renderReminder(ctx context.Context, n caunoi.Notice) (outgoing, bool, error) {
	chat, ok := b.cfg.Groups[n.Department]
	if !ok {
		b.log.Error("no staff group for department; reminder not delivered", "department", n.Department, "ticket_id", n.Ticket)
		return outgoing{}, false, nil
	}
	t, err := b.store.Ticket(ctx, n.Ticket)
	if err != nil {
		return outgoing{}, false, err
	}
	num := "<b>" + esc(t.Number) + "</b>"
	var text string
	switch n.Kind {
	case caunoi.NoticeResponseDueSoon:
		text = fmt.Sprintf(esc(txtRemindResponseSoon), num, fmtDateTime(t.FirstResponseDue))
	case caunoi.NoticeResponseOverdue:
		text = fmt.Sprintf(esc(txtRemindResponseLate), num, fmtDateTime(t.FirstResponseDue))
	case caunoi.NoticeResolutionDueSoon:
		text = fmt.Sprintf(esc(txtRemindResolutionSoon), num, fmtDateTime(t.ResolutionDue))
	case caunoi.NoticeResolutionOverdue:
		text = fmt.Sprintf(esc(txtRemindResolutionLate), num, fmtDateTime(t.ResolutionDue))
	default:
		return outgoing{}, false, fmt.Errorf("unknown reminder kind %q", n.Kind)
	}
	if t.Assignee != 0 {
		name := fmt.Sprint(t.Assignee)
		if o, err := b.store.Official(ctx, t.Assignee); err == nil {
			name = o.Name
		} else if !errors.Is(err, caunoi.ErrNotFound) {
			return outgoing{}, false, err
		}
		text += "\n" + esc(fmt.Sprintf(txtRemindAssignee, name))
	}
	text += "\n<blockquote>" + esc(cutText(strings.ReplaceAll(t.Question, "\n", " "), 300)) + "</blockquote>"
	o := outgoing{Kind: outText, Chat: chat, Group: true, Text: text, Bind: t.Number}
	if b.cfg.Forums[chat] {
		o.TopicKey = t.Number + ":" + n.Department
	}
	if t.Assignee == 0 {
		o.Keyboard = [][]button{{b.btn(chat, btnClaim, actClaim, t.Number)}}
	}
	return o, true, nil
}

// renderDigest renders a lead's morning digest.
func (b *Bot) renderDigest(d caunoi.Digest) string {
	name := d.Department
	if dep, ok := b.desk.Department(d.Department); ok {
		name = dep.Name
	}
	day := d.Day.In(vnZone)
	var s strings.Builder
	s.WriteString("<b>" + esc(fmt.Sprintf(txtDigestTitle, name, vnWeekdays[day.Weekday()]+" "+day.Format("02/01/2006"))) + "</b>\n\n")
	s.WriteString(esc(fmt.Sprintf(txtDigestOpen, d.Open, d.Overdue, d.DueToday)) + "\n\n")
	since := d.Since.In(vnZone)
	if since.AddDate(0, 0, 1).Equal(day) || d.Day.Sub(d.Since) <= 24*time.Hour {
		s.WriteString(esc(fmt.Sprintf(txtDigestSinceDay, since.Format("02/01"))))
	} else {
		s.WriteString(esc(fmt.Sprintf(txtDigestSince, vnWeekdays[since.Weekday()]+" "+since.Format("02/01"))))
	}
	s.WriteString("\n" + esc(fmt.Sprintf(txtDigestPast, d.Created, d.Resolved, d.Closed)))
	s.WriteString("\n\n" + esc(txtDigestMore))
	return s.String()
}
