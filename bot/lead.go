package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi"
)

func init() {
	privateCommands["thongke"] = (*Bot).statsCommand
	groupCommands["thongke"] = (*Bot).statsCommand
}

// Statistics texts (plain; escaped on use).
const (
	txtStatsTitle      = "📊 Thống kê %s"
	txtStatsAll        = "tất cả các sở"
	txtStatsPeriod     = "%d ngày qua (%s – %s)"
	txtStatsTickets    = "Phiếu hỏi mới: %d"
	txtStatsOverdue    = "Đang quá hạn: %d"
	txtStatsTimes      = "Thời gian (tính theo giờ làm việc)"
	txtStatsFirst      = "• Phản hồi đầu: trung vị %s, 90%% phiếu trong %s (%d phiếu)"
	txtStatsResolution = "• Giải quyết xong: trung vị %s, 90%% phiếu trong %s (%d phiếu)"
	txtStatsNoTimes    = "• Chưa có phiếu nào được phản hồi."
	txtStatsMissed     = "Trễ hạn"
	txtStatsMissedLine = "• %s: %d/%d phiếu (%s)"
	txtStatsMissedResp = "Hạn phản hồi"
	txtStatsMissedRes  = "Hạn giải quyết"
	txtStatsQuestions  = "Câu hỏi: %d, sổ tay trả lời được %d (%s), chuyển thành phiếu %d"
	txtStatsNoQuestion = "Câu hỏi: chưa có câu hỏi nào trong kỳ."
	txtStatsEntries    = "Mục sổ tay có nhiều câu hỏi phải chuyển sở"
	txtStatsUnmatched  = "• Sổ tay không có mục liên quan: %d phiếu"
	txtStatsKeywords   = "Từ khóa thường gặp: %s"
	txtStatsRating     = "Đánh giá: %s/5 (%d lượt)"
	txtStatsNoRating   = "Đánh giá: chưa có lượt nào."
	txtStatsUsage      = "Cách dùng: /thongke [số ngày, 1–366], ví dụ /thongke 30. Quản trị viên có thể thêm mã sở, ví dụ /thongke tu-phap 30."
	txtStatsNotLead    = "Thống kê dành cho lãnh đạo sở và quản trị viên."
)

// maxStatsDays bounds the period of /thongke.
const maxStatsDays = 366

// statsCommand answers /thongke [days] in a staff group (that department)
// or privately (the lead's department; an admin may name one, or see all).
func (b *Bot) statsCommand(ctx context.Context, m *models.Message, c command, r *reply) error {
	chat := m.Chat.ID
	actor := caunoi.UserID(m.From.ID)
	group := m.Chat.Type != models.ChatTypePrivate
	say := func(html string) {
		for _, p := range splitHTML(html, maxMessageLen) {
			if group {
				r.add(outgoing{Kind: outText, Chat: chat, Group: true, Thread: m.MessageThreadID, Text: p})
			} else {
				r.add(outgoing{Kind: outText, Chat: chat, Text: p})
			}
		}
	}
	days, dept, ok := b.parseStatsArgs(c.Args)
	if !ok {
		say(esc(txtStatsUsage))
		return nil
	}
	if group {
		if dept != "" && dept != b.groups[chat] {
			say(esc(txtStatsUsage))
			return nil
		}
		dept = b.groups[chat]
	} else if dept == "" {
		p, err := b.store.Official(ctx, actor)
		switch {
		case errors.Is(err, caunoi.ErrNotFound):
			say(esc(txtStatsNotLead))
			return nil
		case err != nil:
			return &retryableError{err}
		case !p.Has(caunoi.RoleAdmin):
			dept = p.Department
		}
	}
	now := b.now()
	s, err := b.desk.StatsFor(ctx, actor, caunoi.StatsQuery{
		Department:   dept,
		From:         now.Add(-time.Duration(days) * 24 * time.Hour),
		To:           now,
		DepartmentOf: b.departmentOf,
	})
	if err != nil {
		if infra(err) {
			return &retryableError{err}
		}
		if errors.Is(err, caunoi.ErrForbidden) {
			say(esc(txtStatsNotLead))
			return nil
		}
		say(esc(b.userText(ctx, err, chat)))
		return nil
	}
	say(b.renderStats(s, days))
	return nil
}

// parseStatsArgs reads "[department] [days]" in any order; days default
// to 7. ok is false for anything else.
func (b *Bot) parseStatsArgs(args string) (days int, dept string, ok bool) {
	days = 7
	for _, f := range strings.Fields(strings.ToLower(args)) {
		n := strings.TrimSuffix(strings.TrimSuffix(f, "ngày"), "d")
		if v, err := strconv.Atoi(n); err == nil {
			if v < 1 || v > maxStatsDays {
				return 0, "", false
			}
			days = v
			continue
		}
		if f == "ngày" {
			continue
		}
		if _, known := b.desk.Department(f); !known || dept != "" {
			return 0, "", false
		}
		dept = f
	}
	return days, dept, true
}

// departmentOf attributes a handbook candidate to the department of its
// passage, for the statistics of questions.
func (b *Bot) departmentOf(c caunoi.Candidate) string {
	p, err := b.hb.Passage(c.PassageID)
	if err != nil {
		return ""
	}
	return p.Department
}

// renderStats is the HTML of a statistics report.
func (b *Bot) renderStats(s caunoi.Stats, days int) string {
	name := txtStatsAll
	if dep, ok := b.desk.Department(s.Department); ok {
		name = dep.Name
	}
	var w strings.Builder
	line := func(format string, args ...any) { w.WriteString(esc(fmt.Sprintf(format, args...)) + "\n") }
	w.WriteString("<b>" + esc(fmt.Sprintf(txtStatsTitle, name)) + "</b>\n")
	line(txtStatsPeriod, days, fmtDate(s.From), fmtDate(s.To))
	w.WriteString("\n<b>" + esc(fmt.Sprintf(txtStatsTickets, s.Tickets)) + "</b>\n")
	var parts []string
	for _, st := range caunoi.Statuses {
		if n := s.ByStatus[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", statusName(st), n))
		}
	}
	if len(parts) > 0 {
		line("• %s", strings.Join(parts, " · "))
	}
	line("• "+txtStatsOverdue, s.Overdue)

	w.WriteString("\n<b>" + esc(txtStatsTimes) + "</b>\n")
	if s.Responded == 0 {
		line(txtStatsNoTimes)
	} else {
		line(txtStatsFirst, fmtWorking(s.MedianFirstResponse), fmtWorking(s.P90FirstResponse), s.Responded)
	}
	if s.Resolved > 0 {
		line(txtStatsResolution, fmtWorking(s.MedianResolution), fmtWorking(s.P90Resolution), s.Resolved)
	}
	if s.ResponseDeadlines > 0 || s.ResolutionDeadlines > 0 {
		w.WriteString("\n<b>" + esc(txtStatsMissed) + "</b>\n")
		line(txtStatsMissedLine, txtStatsMissedResp, s.ResponseMissed, s.ResponseDeadlines, fmtPercent(s.ResponseMissRate()))
		line(txtStatsMissedLine, txtStatsMissedRes, s.ResolutionMissed, s.ResolutionDeadlines, fmtPercent(s.ResolutionMissRate()))
	}

	w.WriteString("\n")
	if s.Questions == 0 {
		line(txtStatsNoQuestion)
	} else {
		line(txtStatsQuestions, s.Questions, s.Deflected, fmtPercent(s.DeflectionRate()), s.Escalated)
	}
	if len(s.TopEntries) > 0 || s.Unmatched > 0 {
		w.WriteString("\n<b>" + esc(txtStatsEntries) + "</b>\n")
		for i, e := range s.TopEntries {
			title := e.Title
			if title == "" {
				title = e.Key
			}
			line("%d. %s: %d phiếu", i+1, title, e.Count)
		}
		if s.Unmatched > 0 {
			line(txtStatsUnmatched, s.Unmatched)
		}
	}
	if len(s.TopKeywords) > 0 {
		var ks []string
		for _, k := range s.TopKeywords {
			ks = append(ks, fmt.Sprintf("«%s» (%d)", k.Key, k.Count))
		}
		line(txtStatsKeywords, strings.Join(ks, ", "))
	}
	if s.Rated > 0 {
		line(txtStatsRating, strings.Replace(strconv.FormatFloat(s.MeanRating, 'f', 1, 64), ".", ",", 1), s.Rated)
	} else {
		line(txtStatsNoRating)
	}
	return strings.TrimRight(w.String(), "\n")
}

// fmtWorking writes a working duration as hours and minutes: "2 giờ 30 phút".
func fmtWorking(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%d phút", m)
	case m == 0:
		return fmt.Sprintf("%d giờ", h)
	}
	return fmt.Sprintf("%d giờ %d phút", h, m)
}

// fmtPercent writes a share as a whole percentage: "29%".
func fmtPercent(x float64) string {
	return strconv.FormatFloat(x*100, 'f', 0, 64) + "%"
}
