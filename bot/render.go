package bot

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caunoi/caunoi"
)

// maxAnswerSnippet bounds the passage text shown in an answer, in characters.
const maxAnswerSnippet = 800

// vnZone is the zone in which dates are shown.
var vnZone = time.FixedZone("ICT", 7*3600)

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(vnZone).Format("02/01/2006")
}

func fmtDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(vnZone).Format("15:04 02/01/2006")
}

// cutText shortens plain text to at most n characters, at a paragraph, line
// or word boundary when one is near, and marks the cut with "…".
func cutText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	cut := string(r)
	for _, sep := range []string{"\n\n", "\n", " "} {
		if i := strings.LastIndex(cut, sep); i > len(cut)/2 {
			cut = cut[:i]
			break
		}
	}
	return strings.TrimRight(cut, " \n,;:") + "…"
}

// passageHeading is "Title › Section" in bold.
func passageHeading(p caunoi.Passage) string {
	h := "<b>" + esc(p.Title) + "</b>"
	if p.Section != "" {
		h += " › " + esc(p.Section)
	}
	return h
}

// sourceLines says where an answer comes from: legal basis, last update, and
// a warning when the entry is past its review date.
func sourceLines(p caunoi.Passage, now time.Time) string {
	var b strings.Builder
	if len(p.LegalBasis) > 0 {
		b.WriteString("\n\n<i>Căn cứ: " + esc(strings.Join(p.LegalBasis, "; ")) + "</i>")
	}
	if !p.Updated.IsZero() {
		b.WriteString("\n<i>Cập nhật: " + fmtDate(p.Updated) + "</i>")
	}
	if p.Stale(now) {
		b.WriteString("\n\n" + esc(fmt.Sprintf(txtStaleWarning, fmtDate(p.ReviewBy))))
	}
	return b.String()
}

// renderAnswer is the bot's reply to a question with a confident answer.
func renderAnswer(h caunoi.Hit, now time.Time) string {
	p := h.Passage
	return "📘 " + passageHeading(p) + "\n\n" + esc(cutText(p.Text, maxAnswerSnippet)) + sourceLines(p, now)
}

// renderFull is a whole passage, for "Xem đầy đủ". It may be long: the
// caller splits it.
func renderFull(p caunoi.Passage, now time.Time) string {
	return "📘 " + passageHeading(p) + "\n\n" + esc(p.Text) + sourceLines(p, now)
}

// renderUnsure is the reply when the handbook has no sure answer.
func renderUnsure(res caunoi.SearchResult) string {
	var b strings.Builder
	if len(res.Hits) == 0 {
		b.WriteString(esc(txtNoAnswer))
	} else {
		b.WriteString(esc(txtLowConfidence) + "\n" + esc(txtCandidates))
		for i, h := range res.Hits {
			if i == 3 {
				break
			}
			fmt.Fprintf(&b, "\n%d. %s", i+1, passageHeading(h.Passage))
		}
	}
	b.WriteString("\n\n" + esc(txtAskOffer))
	return b.String()
}

// ticketView is what a card or notice shows about a ticket.
type ticketView struct {
	T          caunoi.Ticket
	Department string // department name
	Asker      string // "Name, position"
	Commune    string // commune name
	Actor      string // who acted, for notices
}

func statusName(s caunoi.Status) string {
	if n, ok := statusNames[string(s)]; ok {
		return n
	}
	return string(s)
}

// renderCard is the ticket card posted in a department's staff group.
func renderCard(v ticketView) string {
	t := v.T
	var b strings.Builder
	fmt.Fprintf(&b, "🆕 <b>Phiếu %s</b> · %s\n", esc(t.Number), esc(v.Department))
	fmt.Fprintf(&b, "Xã/phường: %s\nNgười hỏi: %s\n", esc(orDash(v.Commune)), esc(orDash(v.Asker)))
	if !t.FirstResponseDue.IsZero() {
		fmt.Fprintf(&b, "Hạn phản hồi: %s · Hạn giải quyết: %s\n", fmtDateTime(t.FirstResponseDue), fmtDateTime(t.ResolutionDue))
	}
	b.WriteString("\n<blockquote>" + esc(cutText(t.Question, 3000)) + "</blockquote>")
	if len(t.Results) > 0 {
		b.WriteString("\n<i>Sổ tay đã gợi ý (chưa trả lời được):</i>")
		for i, c := range t.Results {
			if i == 3 {
				break
			}
			title := c.Title
			if c.Section != "" {
				title += " › " + c.Section
			}
			fmt.Fprintf(&b, "\n%d. %s (%s)", i+1, esc(title), confidenceName(c.Confidence))
		}
	} else {
		b.WriteString("\n<i>Sổ tay không có mục nào liên quan.</i>")
	}
	if n := len(t.Attachments); n > 0 {
		fmt.Fprintf(&b, "\n📎 %d tệp đính kèm (gửi ngay sau thẻ này).", n)
	}
	return b.String()
}

func confidenceName(c caunoi.Confidence) string {
	switch c {
	case caunoi.ConfidenceHigh:
		return "khớp cao"
	case caunoi.ConfidenceLow:
		return "khớp thấp"
	}
	return "không khớp"
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// renderNotice is the text of a desk notice; ok is false for kinds that
// this chat does not show.
func renderNotice(n caunoi.Notice, v ticketView) (string, bool) {
	num := "<b>" + esc(n.Ticket) + "</b>"
	text := ""
	if strings.TrimSpace(n.Text) != "" {
		text = "\n\n<blockquote>" + esc(n.Text) + "</blockquote>"
	}
	actor := esc(orDash(v.Actor))
	if n.To != 0 { // to the official
		switch n.Kind {
		case caunoi.NoticeTicketOpened:
			return fmt.Sprintf("📨 Câu hỏi đã được gửi tới %s.\nSố phiếu: %s\nHạn phản hồi: %s\n\nKhi cần bổ sung, anh/chị trả lời (reply) tin nhắn này.",
				esc(v.Department), num, fmtDateTime(v.T.FirstResponseDue)), true
		case caunoi.NoticeClaimed:
			return fmt.Sprintf("🙋 Phiếu %s: cán bộ %s đã nhận xử lý.", num, esc(v.Department)), true
		case caunoi.NoticeReplied:
			return fmt.Sprintf("💬 Phiếu %s: %s trả lời:%s\n\nCần hỏi thêm, anh/chị trả lời (reply) tin nhắn này.", num, esc(v.Department), text), true
		case caunoi.NoticeInfoRequested:
			return fmt.Sprintf("❓ Phiếu %s: cán bộ Sở cần anh/chị bổ sung thông tin:%s\n\nAnh/chị trả lời (reply) tin nhắn này để gửi bổ sung, có thể kèm ảnh hoặc tệp.", num, text), true
		case caunoi.NoticeTransferred:
			return fmt.Sprintf("🔀 Phiếu %s đã được chuyển tới %s.", num, esc(v.Department)), true
		case caunoi.NoticeResolved:
			return fmt.Sprintf("✅ Phiếu %s: cán bộ Sở báo đã giải quyết.%s\n\nVấn đề của anh/chị đã được giải quyết chưa?", num, text), true
		case caunoi.NoticeClosed:
			return fmt.Sprintf("🗂 Phiếu %s đã đóng.%s", num, text), true
		}
		return "", false
	}
	switch n.Kind {
	case caunoi.NoticeNewTicket:
		return renderCard(v), true
	case caunoi.NoticeClaimed:
		return fmt.Sprintf("🙋 Phiếu %s: %s đã nhận xử lý.", num, actor), true
	case caunoi.NoticeFollowUp:
		return fmt.Sprintf("📩 Phiếu %s: xã bổ sung thông tin:%s\n\nTrả lời (reply) tin nhắn này để phản hồi.", num, text), true
	case caunoi.NoticeTransferredOut:
		return fmt.Sprintf("🔀 Phiếu %s đã chuyển sang sở khác.%s", num, text), true
	case caunoi.NoticeConfirmed:
		return fmt.Sprintf("🎉 Phiếu %s: cán bộ xã xác nhận đã giải quyết.", num), true
	case caunoi.NoticeReopened:
		return fmt.Sprintf("↩️ Phiếu %s: cán bộ xã mở lại phiếu.%s", num, text), true
	case caunoi.NoticeClosed:
		return fmt.Sprintf("🗂 Phiếu %s đã đóng.%s", num, text), true
	case caunoi.NoticeRated:
		return fmt.Sprintf("⭐ Phiếu %s được chấm %d/5.", num, n.Rating), true
	}
	return "", false
}

// renderTicketLine is one line of a ticket list.
func renderTicketLine(t caunoi.Ticket) string {
	return fmt.Sprintf("• <b>%s</b> · %s · %s", esc(t.Number), esc(statusName(t.Status)), esc(cutText(strings.ReplaceAll(t.Question, "\n", " "), 80)))
}
