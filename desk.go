package caunoi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Desk holds the use cases of the support desk. Every use case authorises its
// actor itself and returns its decisions as values (an Outcome with the
// notices to deliver); the channel adapter performs them. A Desk is safe for
// concurrent use once its fields are set; it keeps no state of its own, so
// several replicas may share one Store.
type Desk struct {
	Store    Store
	Searcher Searcher
	// Departments are the departments that take tickets.
	Departments []Department
	// Policies holds each department's service level by code; a department
	// without one gets DefaultPolicy.
	Policies map[string]Policy
	// Calendar is the working calendar of due times; nil means office hours
	// without holidays.
	Calendar *Calendar
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// InviteTTL is how long an invite stays valid when the request names no
	// TTL; zero means DefaultInviteTTL.
	InviteTTL time.Duration
	// Rand is the source of invite codes and generated keys; nil means
	// crypto/rand.
	Rand io.Reader

	qids *questionIDs // question numbers reserved for Answer; set on first use
}

// Operator is the administrator at the command line. The desk treats it as
// holding RoleAdmin without a record in the store. Channel user ids are
// positive, so it never collides with a real person.
const Operator UserID = -1

// MaxTextLen bounds, in characters, any text a person submits.
const MaxTextLen = 8000

// SearchLimit is how many passages Ask requests.
const SearchLimit = 5

// appliedKeep is how many action keys a ticket remembers for replays.
const appliedKeep = 64

func (d *Desk) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Desk) random() io.Reader {
	if d.Rand != nil {
		return d.Rand
	}
	return rand.Reader
}

// Department returns the department with code.
func (d *Desk) Department(code string) (Department, bool) {
	for _, dep := range d.Departments {
		if dep.Code == code {
			return dep, true
		}
	}
	return Department{}, false
}

// Policy returns the service level of the department with code.
func (d *Desk) Policy(code string) Policy {
	if p, ok := d.Policies[code]; ok {
		return p
	}
	return DefaultPolicy
}

// setDue computes the ticket's due times from now on its department's policy.
func (d *Desk) setDue(t *Ticket, now time.Time) {
	p := d.Policy(t.Department)
	t.FirstResponseDue = d.Calendar.AddWorkingHours(now, p.FirstResponse)
	t.ResolutionDue = d.Calendar.AddWorkingHours(now, p.Resolution)
}

// person returns the registered person id, with ErrForbidden when there is
// none. Operator is an administrator.
func (d *Desk) person(ctx context.Context, id UserID) (Official, error) {
	if id == Operator {
		return Official{ID: Operator, Name: "Quản trị", Roles: []Role{RoleAdmin}}, nil
	}
	o, err := d.Store.Official(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Official{}, fmt.Errorf("user %d is not registered: %w", id, ErrForbidden)
	}
	if err != nil {
		return Official{}, fmt.Errorf("load user %d: %w", id, err)
	}
	return o, nil
}

// staffOf reports whether p works on department's tickets.
func staffOf(p Official, department string) bool {
	if p.Has(RoleAdmin) {
		return true
	}
	return (p.Has(RoleStaff) || p.Has(RoleLead)) && p.Department == department
}

func (d *Desk) newKey() (string, error) {
	b := make([]byte, 12)
	if _, err := io.ReadFull(d.random(), b); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return "k" + base64.RawURLEncoding.EncodeToString(b), nil
}

// Note is what a person writes with an action.
type Note struct {
	Text        string
	Attachments []Attachment
}

func (n Note) clean() Note {
	n.Text = strings.TrimSpace(n.Text)
	return n
}

func (n Note) empty() bool { return n.Text == "" && len(n.Attachments) == 0 }

func checkText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("text is not valid UTF-8: %w", ErrInvalid)
	}
	if utf8.RuneCountInString(s) > MaxTextLen {
		return fmt.Errorf("text longer than %d characters: %w", MaxTextLen, ErrInvalid)
	}
	return nil
}

// Outcome is the result of a ticket use case: the ticket as it now stands
// and whom to tell what.
type Outcome struct {
	Ticket  Ticket
	Notices []Notice
	// Replayed is true when the action had been applied before under the
	// same key: nothing changed, and Notices repeat the first ones.
	Replayed bool
}

// Answer is the result of Ask.
type Answer struct {
	// QuestionID identifies the logged question, for Feedback and Escalate.
	QuestionID string
	Result     SearchResult
	// Confident is true when the best hit very likely answers the question.
	Confident bool
	// SuggestedDepartment owns the best hit, or is empty without hits.
	SuggestedDepartment string
}

// Ask searches the handbook for text and logs the question. Anyone may ask;
// for a registered person the log carries their commune. It returns an error
// wrapping ErrInvalid for empty, over-long or unsearchable text.
func (d *Desk) Ask(ctx context.Context, actor UserID, text string) (Answer, error) {
	a, rec, err := d.answer(ctx, actor, text)
	if err != nil {
		return Answer{}, err
	}
	q, err := d.Store.LogQuestion(ctx, rec)
	if err != nil {
		return Answer{}, fmt.Errorf("ask: log question: %w", err)
	}
	a.QuestionID = q.ID
	return a, nil
}

// Answer is Ask without storing the log record: it returns the record, with
// a new ID that the answer carries too, for the caller to store in the same
// write as the replies that name it (Store.EnqueueDone). Until it is stored
// the ID names nothing, and a record never stored leaves a gap in the
// numbers, nothing else.
func (d *Desk) Answer(ctx context.Context, actor UserID, text string) (Answer, QuestionRecord, error) {
	a, rec, err := d.answer(ctx, actor, text)
	if err != nil {
		return Answer{}, QuestionRecord{}, err
	}
	if rec.ID, err = d.questionID(ctx); err != nil {
		return Answer{}, QuestionRecord{}, fmt.Errorf("ask: %w", err)
	}
	a.QuestionID = rec.ID
	return a, rec, nil
}

// questionIDBlock is how many question numbers the desk takes from the
// store at a time. Questions wait for that write once per block (on bbolt,
// a commit to disk), so it is large; numbers left when the process stops
// are skipped.
const questionIDBlock = 1024

// questionIDs hands out question numbers from a block the store reserved:
// [next, end).
type questionIDs struct {
	mu        sync.Mutex
	next, end int64
}

// qidsInit guards the first use of a desk's questionIDs. A copy of a desk
// made after it shares them; one made before reserves its own. Either way
// no two IDs are the same.
var qidsInit sync.Mutex

// questionID returns a new question ID, reserving a block of numbers from
// the store when the last one is used up. IDs handed out by one desk
// increase.
func (d *Desk) questionID(ctx context.Context) (string, error) {
	qidsInit.Lock()
	if d.qids == nil {
		d.qids = new(questionIDs)
	}
	ids := d.qids
	qidsInit.Unlock()
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if ids.next == ids.end {
		first, err := d.Store.ReserveQuestionIDs(ctx, questionIDBlock)
		if err != nil {
			return "", fmt.Errorf("reserve question ids: %w", err)
		}
		ids.next, ids.end = first, first+questionIDBlock
	}
	n := ids.next
	ids.next++
	return QuestionID(n), nil
}

// answer searches for text and returns the answer and the question's log
// record, neither with an ID.
func (d *Desk) answer(ctx context.Context, actor UserID, text string) (Answer, QuestionRecord, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Answer{}, QuestionRecord{}, fmt.Errorf("ask: empty question: %w", ErrInvalid)
	}
	if err := checkText(text); err != nil {
		return Answer{}, QuestionRecord{}, fmt.Errorf("ask: %w", err)
	}
	if d.Searcher == nil {
		return Answer{}, QuestionRecord{}, errors.New("ask: the desk has no searcher")
	}
	// The asker's commune is only for the log: it is read while the
	// search runs, so the answer waits for the longer of the two, not both.
	type official struct {
		o   Official
		err error
	}
	loaded := make(chan official, 1)
	if actor == Operator {
		loaded <- official{err: ErrNotFound}
	} else {
		go func() {
			o, err := d.Store.Official(ctx, actor)
			loaded <- official{o, err}
		}()
	}
	res, searchErr := d.Searcher.Search(ctx, text, SearchLimit)
	var commune string
	switch o := <-loaded; {
	case o.err == nil:
		commune = o.o.Commune
	case !errors.Is(o.err, ErrNotFound):
		return Answer{}, QuestionRecord{}, fmt.Errorf("ask: load user %d: %w", actor, o.err)
	}
	if searchErr != nil {
		return Answer{}, QuestionRecord{}, fmt.Errorf("ask: search: %w", searchErr)
	}
	rec := QuestionRecord{
		Asker:      actor,
		Commune:    commune,
		Text:       text,
		Confidence: res.Confidence,
		Top:        candidates(res),
		Version:    res.Version,
		At:         d.now(),
	}
	a := Answer{Result: res, Confident: res.Confidence == ConfidenceHigh}
	if len(res.Hits) > 0 {
		a.SuggestedDepartment = res.Hits[0].Passage.Department
	}
	return a, rec, nil
}

func candidates(res SearchResult) []Candidate {
	if len(res.Hits) == 0 {
		return nil
	}
	out := make([]Candidate, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = Candidate{
			PassageID:  h.Passage.ID,
			EntryID:    h.Passage.EntryID,
			Title:      h.Passage.Title,
			Section:    h.Passage.Section,
			Score:      h.Score,
			Confidence: h.Confidence,
		}
	}
	return out
}

// Feedback records whether the answer to question was helpful. Only the
// person who asked may give it (ErrForbidden otherwise); giving it again
// replaces the earlier feedback.
func (d *Desk) Feedback(ctx context.Context, actor UserID, questionID string, helpful bool) error {
	q, err := d.Store.Question(ctx, questionID)
	if err != nil {
		return fmt.Errorf("feedback on question %s: %w", questionID, err)
	}
	if q.Asker != actor {
		return fmt.Errorf("feedback on question %s by %d: %w", questionID, actor, ErrForbidden)
	}
	_, err = d.Store.UpdateQuestion(ctx, questionID, func(q *QuestionRecord) error {
		q.Helpful = &helpful
		return nil
	})
	if err != nil {
		return fmt.Errorf("feedback on question %s: %w", questionID, err)
	}
	return nil
}

// EscalateRequest asks a department to answer a question. Either QuestionID
// (a question logged by Ask) or Text is set.
type EscalateRequest struct {
	QuestionID  string
	Text        string
	Department  string
	Attachments []Attachment
	// Key makes the request idempotent: escalating again with the same key
	// returns the first ticket. An escalation of a logged question is also
	// idempotent on the question, whatever the key.
	Key string
}

// Escalate turns a question into a ticket for a department. Only registered
// officials may escalate, and only their own questions (ErrForbidden). An
// unknown department or an empty question is ErrInvalid; an unknown
// question id is ErrNotFound. The ticket carries the handbook's candidates
// for the question; the notices are a ticket card for the department's group
// and the ticket number for the official.
func (d *Desk) Escalate(ctx context.Context, actor UserID, req EscalateRequest) (Outcome, error) {
	p, err := d.person(ctx, actor)
	if err != nil {
		return Outcome{}, fmt.Errorf("escalate: %w", err)
	}
	if !p.Has(RoleOfficial) {
		return Outcome{}, fmt.Errorf("escalate: user %d is not an official: %w", actor, ErrForbidden)
	}
	dept, ok := d.Department(req.Department)
	if !ok {
		return Outcome{}, fmt.Errorf("escalate: unknown department %q: %w", req.Department, ErrInvalid)
	}
	if len(req.Attachments) > 20 {
		return Outcome{}, fmt.Errorf("escalate: too many attachments: %w", ErrInvalid)
	}
	key := req.Key
	var text, idem string
	var results []Candidate
	if req.QuestionID != "" {
		q, err := d.Store.Question(ctx, req.QuestionID)
		if err != nil {
			return Outcome{}, fmt.Errorf("escalate question %s: %w", req.QuestionID, err)
		}
		if q.Asker != actor {
			return Outcome{}, fmt.Errorf("escalate question %s by %d: %w", req.QuestionID, actor, ErrForbidden)
		}
		text, results = q.Text, q.Top
		idem = "q/" + q.ID
	} else {
		text = strings.TrimSpace(req.Text)
		if text == "" {
			return Outcome{}, fmt.Errorf("escalate: empty question: %w", ErrInvalid)
		}
		if err := checkText(text); err != nil {
			return Outcome{}, fmt.Errorf("escalate: %w", err)
		}
		if d.Searcher != nil {
			res, err := d.Searcher.Search(ctx, text, SearchLimit)
			switch {
			case err == nil:
				results = candidates(res)
			case !errors.Is(err, ErrInvalid):
				return Outcome{}, fmt.Errorf("escalate: search: %w", err)
			}
		}
	}
	if key == "" {
		if key, err = d.newKey(); err != nil {
			return Outcome{}, fmt.Errorf("escalate: %w", err)
		}
	}
	if idem == "" {
		idem = fmt.Sprintf("u%d/%s", actor, key)
	}
	now := d.now()
	t := Ticket{
		Department:  dept.Code,
		Asker:       actor,
		Commune:     p.Commune,
		Question:    text,
		Results:     results,
		Attachments: req.Attachments,
		Status:      StatusNew,
		IdemKey:     idem,
		Created:     now,
		Updated:     now,
		Applied:     []string{key},
	}
	d.setDue(&t, now)
	ev := Event{
		Kind:        EventCreated,
		Actor:       actor,
		At:          now,
		Text:        text,
		Attachments: req.Attachments,
		To:          StatusNew,
		Department:  dept.Code,
		Key:         key,
	}
	t, created, err := d.Store.CreateTicket(ctx, dept.Prefix, t, ev)
	if err != nil {
		return Outcome{}, fmt.Errorf("escalate: create ticket: %w", err)
	}
	out := Outcome{Ticket: t, Replayed: !created}
	if created {
		ev.Ticket = t.Number
		out.Notices = noticesFor(t, ev, "")
	} else {
		events, err := d.Store.Events(ctx, t.Number)
		if err != nil {
			return Outcome{}, fmt.Errorf("escalate: events of %s: %w", t.Number, err)
		}
		if len(events) > 0 {
			out.Notices = noticesFor(t, events[0], "")
		}
	}
	if req.QuestionID != "" {
		_, err := d.Store.UpdateQuestion(ctx, req.QuestionID, func(q *QuestionRecord) error {
			q.Escalated = t.Number
			return nil
		})
		if err != nil {
			return Outcome{}, fmt.Errorf("escalate: mark question %s: %w", req.QuestionID, err)
		}
	}
	return out, nil
}

// Action is something a person does to a ticket.
type Action string

// Actions. Staff actions are taken by staff or leads of the ticket's
// department (or an admin); official actions only by the person who asked.
const (
	ActionClaim       Action = "claim"        // staff: take the ticket
	ActionReply       Action = "reply"        // staff: answer
	ActionRequestInfo Action = "request_info" // staff: ask the official for more
	ActionFollowUp    Action = "follow_up"    // official: add information
	ActionTransfer    Action = "transfer"     // staff: hand over to another department
	ActionResolve     Action = "resolve"      // staff: propose that it is solved
	ActionConfirm     Action = "confirm"      // official: confirm it is solved
	ActionReopen      Action = "reopen"       // official: it is not solved
	ActionClose       Action = "close"        // staff: close without solving, with a reason
	ActionRate        Action = "rate"         // official: rate a resolved ticket
)

// Actions lists every action, in the order of the table below.
var Actions = []Action{
	ActionClaim, ActionReply, ActionRequestInfo, ActionFollowUp, ActionTransfer,
	ActionResolve, ActionConfirm, ActionReopen, ActionClose, ActionRate,
}

// Statuses lists every status.
var Statuses = []Status{
	StatusNew, StatusClaimed, StatusWaitingOfficial, StatusAnswered,
	StatusResolved, StatusReopened, StatusTransferred, StatusClosed,
}

// OpenStatuses returns the statuses of tickets still being worked on:
// every status but resolved and closed. A list of them is answered from
// the stores' index of open tickets (TicketFilter.OpenOnly).
func OpenStatuses() []Status {
	var out []Status
	for _, s := range Statuses {
		if s.Open() {
			out = append(out, s)
		}
	}
	return out
}

// transitions is the ticket state machine: for each status, the actions
// allowed in it and the status they lead to. Staff resolve a ticket by
// proposing a solution (the ticket becomes answered, with a "resolved"
// event); only the official's confirmation makes it resolved.
var transitions = map[Status]map[Action]Status{
	StatusNew: {
		ActionClaim:       StatusClaimed,
		ActionReply:       StatusAnswered,
		ActionRequestInfo: StatusWaitingOfficial,
		ActionFollowUp:    StatusNew,
		ActionTransfer:    StatusTransferred,
		ActionClose:       StatusClosed,
	},
	StatusClaimed: {
		ActionReply:       StatusAnswered,
		ActionRequestInfo: StatusWaitingOfficial,
		ActionFollowUp:    StatusClaimed,
		ActionTransfer:    StatusTransferred,
		ActionResolve:     StatusAnswered,
		ActionClose:       StatusClosed,
	},
	StatusWaitingOfficial: {
		ActionReply:    StatusAnswered,
		ActionFollowUp: StatusClaimed,
		ActionTransfer: StatusTransferred,
		ActionResolve:  StatusAnswered,
		ActionClose:    StatusClosed,
	},
	StatusAnswered: {
		ActionReply:    StatusAnswered,
		ActionTransfer: StatusTransferred,
		ActionResolve:  StatusAnswered,
		ActionConfirm:  StatusResolved,
		ActionReopen:   StatusReopened,
		ActionClose:    StatusClosed,
	},
	StatusResolved: {
		ActionReopen: StatusReopened,
		ActionRate:   StatusResolved,
	},
	StatusReopened: {
		ActionClaim:       StatusClaimed,
		ActionReply:       StatusAnswered,
		ActionRequestInfo: StatusWaitingOfficial,
		ActionFollowUp:    StatusReopened,
		ActionTransfer:    StatusTransferred,
		ActionResolve:     StatusAnswered,
		ActionClose:       StatusClosed,
	},
	StatusTransferred: {
		ActionClaim:       StatusClaimed,
		ActionReply:       StatusAnswered,
		ActionRequestInfo: StatusWaitingOfficial,
		ActionFollowUp:    StatusTransferred,
		ActionTransfer:    StatusTransferred,
		ActionClose:       StatusClosed,
	},
	StatusClosed: {},
}

// Transition returns the status that action a leads to from status s, and
// whether a is allowed in s at all. Adapters use it to offer only the
// buttons that can work.
func Transition(s Status, a Action) (Status, bool) {
	next, ok := transitions[s][a]
	return next, ok
}

// ByAsker reports whether a is taken by the official who asked, rather than
// by department staff.
func (a Action) ByAsker() bool {
	switch a {
	case ActionFollowUp, ActionConfirm, ActionReopen, ActionRate:
		return true
	}
	return false
}

// EventKind returns the kind of event the action appends.
func (a Action) EventKind() EventKind {
	switch a {
	case ActionClaim:
		return EventClaimed
	case ActionReply:
		return EventReplied
	case ActionRequestInfo:
		return EventInfoAsked
	case ActionFollowUp:
		return EventFollowUp
	case ActionTransfer:
		return EventTransferred
	case ActionResolve:
		return EventResolved
	case ActionConfirm:
		return EventConfirmed
	case ActionReopen:
		return EventReopened
	case ActionClose:
		return EventClosed
	case ActionRate:
		return EventRated
	}
	return EventKind(a)
}

// may reports whether p may take action a on t.
func may(p Official, t *Ticket, a Action) bool {
	if a.ByAsker() {
		return t.Asker == p.ID
	}
	return staffOf(p, t.Department)
}

// errReplayed aborts an update whose key was applied before.
var errReplayed = errors.New("action replayed")

// act runs one ticket action: it authorises actor, checks the transition,
// lets apply fill in the specifics, and appends exactly one event. A key seen
// before replays the first outcome without changing anything.
func (d *Desk) act(ctx context.Context, actor UserID, number, key string, a Action, apply func(t *Ticket, ev *Event, now time.Time) error) (Outcome, error) {
	p, err := d.person(ctx, actor)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s %s: %w", a, number, err)
	}
	if key == "" {
		if key, err = d.newKey(); err != nil {
			return Outcome{}, fmt.Errorf("%s %s: %w", a, number, err)
		}
	}
	now := d.now()
	var ev Event
	var prevDept string
	t, err := d.Store.UpdateTicket(ctx, number, func(t *Ticket) ([]Event, error) {
		if slices.Contains(t.Applied, key) {
			return nil, errReplayed
		}
		if !may(p, t, a) {
			return nil, fmt.Errorf("user %d on ticket of %s: %w", actor, t.Department, ErrForbidden)
		}
		next, ok := Transition(t.Status, a)
		if !ok {
			return nil, fmt.Errorf("ticket is %s: %w", t.Status, ErrConflict)
		}
		prevDept = t.Department
		ev = Event{Ticket: t.Number, Kind: a.EventKind(), Actor: actor, At: now, From: t.Status, To: next, Key: key}
		if apply != nil {
			if err := apply(t, &ev, now); err != nil {
				return nil, err
			}
		}
		t.Status = next
		t.Updated = now
		t.Applied = append(t.Applied, key)
		if n := len(t.Applied); n > appliedKeep {
			t.Applied = slices.Clone(t.Applied[n-appliedKeep:])
		}
		return []Event{ev}, nil
	})
	if errors.Is(err, errReplayed) {
		return d.replay(ctx, actor, number, key, a)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("%s %s: %w", a, number, err)
	}
	return Outcome{Ticket: t, Notices: noticesFor(t, ev, prevDept)}, nil
}

// replay returns the outcome of the action applied before under key.
func (d *Desk) replay(ctx context.Context, actor UserID, number, key string, a Action) (Outcome, error) {
	t, err := d.Store.Ticket(ctx, number)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s %s: replay: %w", a, number, err)
	}
	events, err := d.Store.Events(ctx, number)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s %s: replay: %w", a, number, err)
	}
	prev := ""
	for _, ev := range events {
		if ev.Key == key {
			if ev.Actor != actor {
				return Outcome{}, fmt.Errorf("%s %s: key of user %d replayed by %d: %w", a, number, ev.Actor, actor, ErrForbidden)
			}
			return Outcome{Ticket: t, Notices: noticesFor(t, ev, prev), Replayed: true}, nil
		}
		if ev.Department != "" {
			prev = ev.Department
		}
	}
	return Outcome{Ticket: t, Replayed: true}, nil
}

// The ticket actions below share one contract. actor must be allowed to take
// the action (staff or lead of the ticket's department, or an admin, for
// staff actions; the asker for official actions), else the error wraps
// ErrForbidden; the action must be allowed in the ticket's status (see
// Transition), else ErrConflict; bad input is ErrInvalid; an unknown ticket
// is ErrNotFound. On any error nothing changes. On success the ticket has
// exactly one new event. key is the channel's idempotency key (an update
// id): an action repeated with a key the ticket has seen changes nothing and
// returns the first action's notices with Replayed set. An empty key is
// replaced by a random one.

// firstAct records the first staff action on t.
func firstAct(t *Ticket, actor UserID, now time.Time) {
	if t.FirstResponse.IsZero() {
		t.FirstResponse = now
	}
	if t.Assignee == 0 {
		t.Assignee = actor
	}
}

// Claim makes actor the ticket's assignee. Of several concurrent claims
// exactly one succeeds; the others get ErrConflict.
func (d *Desk) Claim(ctx context.Context, actor UserID, number, key string) (Outcome, error) {
	return d.act(ctx, actor, number, key, ActionClaim, func(t *Ticket, ev *Event, now time.Time) error {
		t.Assignee = actor
		firstAct(t, actor, now)
		return nil
	})
}

func noteAction(n Note, required bool) (Note, error) {
	n = n.clean()
	if required && n.empty() {
		return n, fmt.Errorf("empty message: %w", ErrInvalid)
	}
	if err := checkText(n.Text); err != nil {
		return n, err
	}
	return n, nil
}

// Reply sends the department's answer to the official; the ticket becomes
// answered and, if nobody had claimed it, actor's.
func (d *Desk) Reply(ctx context.Context, actor UserID, number, key string, note Note) (Outcome, error) {
	note, err := noteAction(note, true)
	if err != nil {
		return Outcome{}, fmt.Errorf("reply %s: %w", number, err)
	}
	return d.act(ctx, actor, number, key, ActionReply, func(t *Ticket, ev *Event, now time.Time) error {
		firstAct(t, actor, now)
		ev.Text, ev.Attachments = note.Text, note.Attachments
		return nil
	})
}

// RequestInfo asks the official for more information; the ticket waits for
// the official.
func (d *Desk) RequestInfo(ctx context.Context, actor UserID, number, key string, note Note) (Outcome, error) {
	note, err := noteAction(note, true)
	if err != nil {
		return Outcome{}, fmt.Errorf("request info %s: %w", number, err)
	}
	return d.act(ctx, actor, number, key, ActionRequestInfo, func(t *Ticket, ev *Event, now time.Time) error {
		firstAct(t, actor, now)
		ev.Text, ev.Attachments = note.Text, note.Attachments
		return nil
	})
}

// OfficialFollowUp adds the official's information to the ticket and tells
// the department's group. A ticket waiting for the official goes back to
// claimed.
func (d *Desk) OfficialFollowUp(ctx context.Context, actor UserID, number, key string, note Note) (Outcome, error) {
	note, err := noteAction(note, true)
	if err != nil {
		return Outcome{}, fmt.Errorf("follow up %s: %w", number, err)
	}
	return d.act(ctx, actor, number, key, ActionFollowUp, func(t *Ticket, ev *Event, now time.Time) error {
		ev.Text, ev.Attachments = note.Text, note.Attachments
		return nil
	})
}

// Transfer hands the ticket to department to, with an optional reason. The
// ticket becomes transferred and unassigned, and its due times restart on
// the new department's policy. An unknown department, or the ticket's own,
// is ErrInvalid.
func (d *Desk) Transfer(ctx context.Context, actor UserID, number, key, to string, reason Note) (Outcome, error) {
	reason, err := noteAction(reason, false)
	if err != nil {
		return Outcome{}, fmt.Errorf("transfer %s: %w", number, err)
	}
	if _, ok := d.Department(to); !ok {
		return Outcome{}, fmt.Errorf("transfer %s: unknown department %q: %w", number, to, ErrInvalid)
	}
	return d.act(ctx, actor, number, key, ActionTransfer, func(t *Ticket, ev *Event, now time.Time) error {
		if t.Department == to {
			return fmt.Errorf("ticket is already with %s: %w", to, ErrInvalid)
		}
		t.Department = to
		t.Assignee = 0
		t.FirstResponse = time.Time{}
		d.setDue(t, now)
		ev.Department = to
		ev.Text, ev.Attachments = reason.Text, reason.Attachments
		return nil
	})
}

// Resolve proposes that the ticket is solved, with an optional final note.
// The ticket becomes answered with a "resolved" event; the official then
// confirms (resolved) or reopens it.
func (d *Desk) Resolve(ctx context.Context, actor UserID, number, key string, note Note) (Outcome, error) {
	note, err := noteAction(note, false)
	if err != nil {
		return Outcome{}, fmt.Errorf("resolve %s: %w", number, err)
	}
	return d.act(ctx, actor, number, key, ActionResolve, func(t *Ticket, ev *Event, now time.Time) error {
		firstAct(t, actor, now)
		ev.Text, ev.Attachments = note.Text, note.Attachments
		return nil
	})
}

// Confirm is the official's confirmation that the answer solved the
// question; the ticket becomes resolved.
func (d *Desk) Confirm(ctx context.Context, actor UserID, number, key string) (Outcome, error) {
	return d.act(ctx, actor, number, key, ActionConfirm, func(t *Ticket, ev *Event, now time.Time) error {
		t.ResolvedAt = now
		return nil
	})
}

// Reopen is the official saying the answer did not solve the question, with
// an optional reason; the ticket becomes reopened.
func (d *Desk) Reopen(ctx context.Context, actor UserID, number, key string, reason Note) (Outcome, error) {
	reason, err := noteAction(reason, false)
	if err != nil {
		return Outcome{}, fmt.Errorf("reopen %s: %w", number, err)
	}
	return d.act(ctx, actor, number, key, ActionReopen, func(t *Ticket, ev *Event, now time.Time) error {
		t.ResolvedAt = time.Time{}
		t.Rating = 0
		ev.Text, ev.Attachments = reason.Text, reason.Attachments
		return nil
	})
}

// Close ends the ticket without a solution; reason is required.
func (d *Desk) Close(ctx context.Context, actor UserID, number, key, reason string) (Outcome, error) {
	note, err := noteAction(Note{Text: reason}, true)
	if err != nil {
		return Outcome{}, fmt.Errorf("close %s: %w", number, err)
	}
	return d.act(ctx, actor, number, key, ActionClose, func(t *Ticket, ev *Event, now time.Time) error {
		firstAct(t, actor, now)
		t.ResolvedAt = now
		ev.Text = note.Text
		return nil
	})
}

// Rate records the official's rating, 1 to 5 (else ErrInvalid), of a
// resolved ticket. A ticket is rated once; rating it again is ErrConflict.
func (d *Desk) Rate(ctx context.Context, actor UserID, number, key string, stars int) (Outcome, error) {
	if stars < 1 || stars > 5 {
		return Outcome{}, fmt.Errorf("rate %s: %d stars: %w", number, stars, ErrInvalid)
	}
	return d.act(ctx, actor, number, key, ActionRate, func(t *Ticket, ev *Event, now time.Time) error {
		if t.Rating != 0 {
			return fmt.Errorf("ticket was rated already: %w", ErrConflict)
		}
		t.Rating = stars
		ev.Text = fmt.Sprint(stars)
		return nil
	})
}

// Ticket returns a ticket and its timeline. The asker, staff of the ticket's
// department and admins may see it; others get ErrForbidden.
func (d *Desk) Ticket(ctx context.Context, actor UserID, number string) (Ticket, []Event, error) {
	p, err := d.person(ctx, actor)
	if err != nil {
		return Ticket{}, nil, fmt.Errorf("ticket %s: %w", number, err)
	}
	t, err := d.Store.Ticket(ctx, number)
	if err != nil {
		return Ticket{}, nil, fmt.Errorf("ticket %s: %w", number, err)
	}
	if t.Asker != actor && !staffOf(p, t.Department) {
		return Ticket{}, nil, fmt.Errorf("ticket %s for user %d: %w", number, actor, ErrForbidden)
	}
	events, err := d.Store.Events(ctx, number)
	if err != nil {
		return Ticket{}, nil, fmt.Errorf("ticket %s: events: %w", number, err)
	}
	return t, events, nil
}

// Tickets lists the tickets actor may see that match f, newest first. Admins
// see all; staff and leads only their department's (a filter naming another
// department is ErrForbidden); others only their own.
func (d *Desk) Tickets(ctx context.Context, actor UserID, f TicketFilter) ([]Ticket, error) {
	p, err := d.person(ctx, actor)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	switch {
	case p.Has(RoleAdmin):
	case p.Has(RoleStaff) || p.Has(RoleLead):
		if f.Asker == actor && f.Department == "" {
			break
		}
		if f.Department == "" {
			f.Department = p.Department
		}
		if f.Department != p.Department {
			return nil, fmt.Errorf("list tickets of %s by user %d: %w", f.Department, actor, ErrForbidden)
		}
	default:
		if f.Asker != 0 && f.Asker != actor {
			return nil, fmt.Errorf("list tickets of user %d by user %d: %w", f.Asker, actor, ErrForbidden)
		}
		f.Asker = actor
	}
	ts, err := d.Store.Tickets(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	return ts, nil
}

// MyTickets lists the tickets actor asked, newest first.
func (d *Desk) MyTickets(ctx context.Context, actor UserID) ([]Ticket, error) {
	return d.Tickets(ctx, actor, TicketFilter{Asker: actor})
}

// DepartmentTickets lists the department's tickets in the given statuses
// (all when none), newest first; only its staff, leads and admins may.
func (d *Desk) DepartmentTickets(ctx context.Context, actor UserID, department string, statuses ...Status) ([]Ticket, error) {
	if department == "" {
		return nil, fmt.Errorf("list tickets: no department: %w", ErrInvalid)
	}
	p, err := d.person(ctx, actor)
	if err != nil {
		return nil, fmt.Errorf("list tickets of %s: %w", department, err)
	}
	if !staffOf(p, department) {
		return nil, fmt.Errorf("list tickets of %s by user %d: %w", department, actor, ErrForbidden)
	}
	return d.Tickets(ctx, actor, TicketFilter{Department: department, Statuses: statuses})
}

// ownStatuses are the statuses in which the department, not the official,
// has the next move; due times count only there.
var ownStatuses = []Status{StatusNew, StatusClaimed, StatusReopened, StatusTransferred}

// Due is a ticket with the deadline that makes it due.
type Due struct {
	Ticket Ticket
	// FirstResponse is true when the deadline is the first response, false
	// when it is the resolution.
	FirstResponse bool
	At            time.Time
}

// deadline returns the ticket's nearest pending deadline.
func deadline(t Ticket) Due {
	if t.FirstResponse.IsZero() && !t.FirstResponseDue.After(t.ResolutionDue) {
		return Due{Ticket: t, FirstResponse: true, At: t.FirstResponseDue}
	}
	return Due{Ticket: t, At: t.ResolutionDue}
}

func (d *Desk) dueTickets(ctx context.Context, actor UserID, dept string, keep func(at time.Time) bool) ([]Due, error) {
	p, err := d.person(ctx, actor)
	if err != nil {
		return nil, err
	}
	if dept == "" {
		if !p.Has(RoleAdmin) {
			return nil, fmt.Errorf("all departments for user %d: %w", actor, ErrForbidden)
		}
	} else if !staffOf(p, dept) {
		return nil, fmt.Errorf("department %s for user %d: %w", dept, actor, ErrForbidden)
	}
	ts, err := d.Store.Tickets(ctx, TicketFilter{Department: dept, Statuses: ownStatuses})
	if err != nil {
		return nil, err
	}
	var out []Due
	for _, t := range ts {
		if due := deadline(t); keep(due.At) {
			out = append(out, due)
		}
	}
	slices.SortStableFunc(out, func(a, b Due) int { return a.At.Compare(b.At) })
	return out, nil
}

// Overdue lists the open tickets of department dept (all departments, for
// admins, when dept is empty) whose first response or resolution is past
// due, earliest deadline first. Tickets waiting for the official, or
// answered, are not overdue. Staff and leads of dept, and admins, may ask;
// others get ErrForbidden.
func (d *Desk) Overdue(ctx context.Context, actor UserID, dept string) ([]Due, error) {
	now := d.now()
	out, err := d.dueTickets(ctx, actor, dept, func(at time.Time) bool { return !at.After(now) })
	if err != nil {
		return nil, fmt.Errorf("overdue tickets: %w", err)
	}
	return out, nil
}

// DueSoon lists, like Overdue, the tickets whose next deadline falls within
// the coming working time within (measured on the calendar), but is not yet
// past.
func (d *Desk) DueSoon(ctx context.Context, actor UserID, dept string, within time.Duration) ([]Due, error) {
	now := d.now()
	limit := d.Calendar.AddWorkingHours(now, within)
	out, err := d.dueTickets(ctx, actor, dept, func(at time.Time) bool { return at.After(now) && !at.After(limit) })
	if err != nil {
		return nil, fmt.Errorf("tickets due soon: %w", err)
	}
	return out, nil
}
