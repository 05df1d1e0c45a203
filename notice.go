package caunoi

import "strconv"

// NoticeKind says what a notice tells its recipient.
type NoticeKind string

// Notice kinds. "Group" notices go to a department's staff group, the others
// to the official who asked.
const (
	NoticeNewTicket      NoticeKind = "new_ticket"      // group: a ticket card to take
	NoticeTicketOpened   NoticeKind = "ticket_opened"   // official: your question became ticket N
	NoticeClaimed        NoticeKind = "claimed"         // official and group: a staff member took it
	NoticeReplied        NoticeKind = "replied"         // official: the department's answer (Text)
	NoticeInfoRequested  NoticeKind = "info_requested"  // official: staff need more information (Text)
	NoticeFollowUp       NoticeKind = "follow_up"       // group: the official added information (Text)
	NoticeTransferredOut NoticeKind = "transferred_out" // old group: the ticket left for another department
	NoticeTransferred    NoticeKind = "transferred"     // official: another department now handles it
	NoticeResolved       NoticeKind = "resolved"        // official: staff consider it solved; confirm or reopen
	NoticeConfirmed      NoticeKind = "confirmed"       // group: the official confirmed it solved
	NoticeReopened       NoticeKind = "reopened"        // group: the official reopened it (Text)
	NoticeClosed         NoticeKind = "closed"          // official and group: closed with a reason (Text)
	NoticeRated          NoticeKind = "rated"           // group: the official rated the answer
)

// Title returns a short Vietnamese label for the kind, for logs and plain
// text channels.
func (k NoticeKind) Title() string {
	switch k {
	case NoticeNewTicket:
		return "Phiếu hỏi mới"
	case NoticeTicketOpened:
		return "Đã chuyển câu hỏi đến sở"
	case NoticeClaimed:
		return "Đã có cán bộ nhận phiếu"
	case NoticeReplied:
		return "Sở đã trả lời"
	case NoticeInfoRequested:
		return "Sở cần thêm thông tin"
	case NoticeFollowUp:
		return "Cán bộ xã bổ sung thông tin"
	case NoticeTransferredOut:
		return "Phiếu đã chuyển sang sở khác"
	case NoticeTransferred:
		return "Phiếu được chuyển sang sở khác xử lý"
	case NoticeResolved:
		return "Sở đề nghị xác nhận đã giải quyết"
	case NoticeConfirmed:
		return "Cán bộ xã xác nhận đã giải quyết"
	case NoticeReopened:
		return "Cán bộ xã mở lại phiếu"
	case NoticeClosed:
		return "Phiếu đã đóng"
	case NoticeRated:
		return "Cán bộ xã đã đánh giá"
	}
	return string(k)
}

// Notice is a decision of the desk that someone must be told something. The
// channel adapter renders and delivers it. Exactly one of To and Department
// is set.
type Notice struct {
	Kind NoticeKind
	// To is the person to tell, or zero for a group notice.
	To UserID
	// Department is the department whose staff group to tell, or empty.
	Department string
	// Ticket is the ticket number the notice is about.
	Ticket string
	// Actor is who acted; Text and Attachments are what they wrote, when the
	// kind carries a message.
	Actor       UserID
	Text        string
	Attachments []Attachment
	// Rating is set on NoticeRated.
	Rating int
	// Key is unique per notice and stable across replays of the same
	// action, so that an outbox stores each notice once.
	Key string
}

// noticesFor derives the notices of one event. t is the ticket as the event
// left it, or later; prevDept is the department the ticket left on a
// transfer. The result depends only on its arguments, so that a replayed
// action yields the same notices.
func noticesFor(t Ticket, ev Event, prevDept string) []Notice {
	official := func(k NoticeKind) Notice {
		return Notice{Kind: k, To: t.Asker, Ticket: t.Number, Actor: ev.Actor}
	}
	group := func(k NoticeKind, dept string) Notice {
		return Notice{Kind: k, Department: dept, Ticket: t.Number, Actor: ev.Actor}
	}
	withText := func(n Notice) Notice {
		n.Text = ev.Text
		n.Attachments = ev.Attachments
		return n
	}
	// dept is the department that held the ticket when the event happened.
	dept := ev.Department
	if dept == "" {
		dept = prevDept
	}
	var out []Notice
	switch ev.Kind {
	case EventCreated:
		out = []Notice{withText(group(NoticeNewTicket, dept)), official(NoticeTicketOpened)}
	case EventClaimed:
		out = []Notice{official(NoticeClaimed), group(NoticeClaimed, dept)}
	case EventReplied:
		out = []Notice{withText(official(NoticeReplied))}
	case EventInfoAsked:
		out = []Notice{withText(official(NoticeInfoRequested))}
	case EventFollowUp:
		out = []Notice{withText(group(NoticeFollowUp, dept))}
	case EventTransferred:
		out = []Notice{
			withText(group(NoticeTransferredOut, prevDept)),
			group(NoticeNewTicket, ev.Department),
			official(NoticeTransferred),
		}
		// The new group's card shows the original question.
		out[1].Text = t.Question
		out[1].Attachments = t.Attachments
	case EventResolved:
		out = []Notice{withText(official(NoticeResolved))}
	case EventConfirmed:
		out = []Notice{group(NoticeConfirmed, dept)}
	case EventReopened:
		out = []Notice{withText(group(NoticeReopened, dept))}
	case EventClosed:
		out = []Notice{withText(official(NoticeClosed)), withText(group(NoticeClosed, dept))}
	case EventRated:
		n := group(NoticeRated, dept)
		n.Rating = t.Rating
		out = []Notice{n}
	}
	for i := range out {
		to := out[i].Department
		if out[i].To != 0 {
			to = "u" + strconv.FormatInt(int64(out[i].To), 10)
		}
		out[i].Key = t.Number + "/" + ev.Key + "/" + string(out[i].Kind) + "/" + to
	}
	return out
}
