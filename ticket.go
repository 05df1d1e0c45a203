package caunoi

import (
	"slices"
	"time"
)

// Status is where a ticket stands.
type Status string

// Ticket statuses. The usual path is new → claimed → answered → resolved;
// staff may ask for more information (waiting_official), officials may reopen,
// staff may transfer to another department or close.
const (
	StatusNew             Status = "new"
	StatusClaimed         Status = "claimed"
	StatusWaitingOfficial Status = "waiting_official"
	StatusAnswered        Status = "answered"
	StatusResolved        Status = "resolved"
	StatusReopened        Status = "reopened"
	StatusTransferred     Status = "transferred"
	StatusClosed          Status = "closed"
)

// Open reports whether work on a ticket in status s is still pending.
func (s Status) Open() bool { return s != StatusResolved && s != StatusClosed }

// Attachment is a file an official or staff member attached. Ref is opaque
// to the domain: the channel adapter knows how to fetch or resend it.
type Attachment struct {
	Kind string // "photo" or "document"
	Ref  string
	Name string
	MIME string
	Size int64
}

// Candidate is a handbook passage that a search returned for a question.
type Candidate struct {
	PassageID  string
	EntryID    string
	Title      string
	Section    string
	Score      float64
	Confidence Confidence
}

// Ticket is an escalated question tracked until the official confirms it is
// solved.
type Ticket struct {
	// Number is the department prefix, year and sequence: "TP-2025-000042".
	Number     string
	Department string
	Asker      UserID
	Commune    string
	Question   string
	// Results are what the handbook returned when the question was asked.
	Results     []Candidate
	Attachments []Attachment
	Status      Status
	// Assignee is the staff member who claimed the ticket, or zero.
	Assignee UserID
	// IdemKey makes escalation idempotent: a second escalation with the same
	// key returns the first ticket.
	IdemKey string
	Created time.Time
	Updated time.Time
	// FirstResponseDue and ResolutionDue are computed on the department's
	// working calendar when the ticket is created or transferred.
	FirstResponseDue time.Time
	ResolutionDue    time.Time
	FirstResponse    time.Time // zero until staff first act
	ResolvedAt       time.Time // zero until resolved or closed
	Rating           int       // 1–5 after a rating, else 0
	// Applied holds the keys of the most recent applied actions, so that a
	// replayed action (the same update handled twice) changes nothing.
	Applied []string
}

// EventKind names what happened to a ticket.
type EventKind string

// Event kinds.
const (
	EventCreated     EventKind = "created"
	EventClaimed     EventKind = "claimed"
	EventReplied     EventKind = "replied"
	EventInfoAsked   EventKind = "info_requested"
	EventFollowUp    EventKind = "official_follow_up"
	EventTransferred EventKind = "transferred"
	EventResolved    EventKind = "resolved"
	EventConfirmed   EventKind = "confirmed"
	EventReopened    EventKind = "reopened"
	EventClosed      EventKind = "closed"
	EventRated       EventKind = "rated"
	EventReminded    EventKind = "reminded"
)

// Event is one entry of a ticket's append-only timeline.
type Event struct {
	Ticket      string
	Seq         int // 1-based position in the timeline, assigned by the store
	Kind        EventKind
	Actor       UserID
	At          time.Time
	Text        string
	Attachments []Attachment
	From, To    Status
	// Department is set on creation (the first department) and on
	// transfers (the new department).
	Department string
	// Key is the idempotency key of the action that appended the event; a
	// replayed action finds its event, and so its notices, by this key.
	Key string
}

// TicketFilter selects tickets. Zero fields do not filter.
type TicketFilter struct {
	Department string
	Asker      UserID
	Statuses   []Status
	// CreatedAfter and CreatedBefore bound Created (inclusive, exclusive).
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// ResolvedAfter and ResolvedBefore bound ResolvedAt (inclusive,
	// exclusive).
	ResolvedAfter  time.Time
	ResolvedBefore time.Time
	Limit          int
}

// OpenOnly reports whether f asks only for open tickets (Statuses set, and
// all of them open). The stores keep the open tickets of each department
// in an index of their own, by creation time, so that such a filter reads
// the work in progress and not every ticket ever made.
func (f TicketFilter) OpenOnly() bool { return f.statusesAll(true) }

// FinishedWindow reports whether f asks only for resolved or closed tickets
// (Statuses set, none of them open) within bounds on ResolvedAt. The
// stores index finished tickets by department, status and ResolvedAt, so
// that such a filter reads the tickets finished in the window.
func (f TicketFilter) FinishedWindow() bool {
	return f.statusesAll(false) && !(f.ResolvedAfter.IsZero() && f.ResolvedBefore.IsZero())
}

// statusesAll reports whether f names statuses and each of them is open,
// or each finished, as open says.
func (f TicketFilter) statusesAll(open bool) bool {
	if len(f.Statuses) == 0 {
		return false
	}
	for _, s := range f.Statuses {
		if s.Open() != open {
			return false
		}
	}
	return true
}

// Label returns the status in plain Vietnamese, for people to read.
func (s Status) Label() string {
	switch s {
	case StatusNew:
		return "mới"
	case StatusClaimed:
		return "đang xử lý"
	case StatusWaitingOfficial:
		return "chờ cán bộ xã bổ sung"
	case StatusAnswered:
		return "đã trả lời, chờ xác nhận"
	case StatusResolved:
		return "đã giải quyết"
	case StatusReopened:
		return "mở lại"
	case StatusTransferred:
		return "đã chuyển sở"
	case StatusClosed:
		return "đã đóng"
	}
	return string(s)
}

// Label returns the event kind in plain Vietnamese, for timelines.
func (k EventKind) Label() string {
	switch k {
	case EventCreated:
		return "gửi câu hỏi"
	case EventClaimed:
		return "nhận xử lý"
	case EventReplied:
		return "trả lời"
	case EventInfoAsked:
		return "đề nghị bổ sung thông tin"
	case EventFollowUp:
		return "bổ sung thông tin"
	case EventTransferred:
		return "chuyển sở"
	case EventResolved:
		return "đề nghị xác nhận đã giải quyết"
	case EventConfirmed:
		return "xác nhận đã giải quyết"
	case EventReopened:
		return "mở lại"
	case EventClosed:
		return "đóng phiếu"
	case EventRated:
		return "đánh giá"
	case EventReminded:
		return "nhắc hạn"
	}
	return string(k)
}

// Matches reports whether t passes every filter of f.
func (f TicketFilter) Matches(t Ticket) bool {
	if f.Department != "" && t.Department != f.Department {
		return false
	}
	if f.Asker != 0 && t.Asker != f.Asker {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, t.Status) {
		return false
	}
	if !f.CreatedAfter.IsZero() && t.Created.Before(f.CreatedAfter) {
		return false
	}
	if !f.CreatedBefore.IsZero() && !t.Created.Before(f.CreatedBefore) {
		return false
	}
	if !f.ResolvedAfter.IsZero() && t.ResolvedAt.Before(f.ResolvedAfter) {
		return false
	}
	if !f.ResolvedBefore.IsZero() && !t.ResolvedAt.Before(f.ResolvedBefore) {
		return false
	}
	return true
}
