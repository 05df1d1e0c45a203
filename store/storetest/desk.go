package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// RunDesk runs the desk's use cases against real stores from open: the whole
// life of a ticket, every cell of the transition table, authorisation,
// replays, concurrency, invites, deadlines and statistics.
func RunDesk(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	t.Run("Journey", func(t *testing.T) { testDeskJourney(t, open) })
	t.Run("Reopen", func(t *testing.T) { testDeskReopen(t, open) })
	t.Run("Transfer", func(t *testing.T) { testDeskTransfer(t, open) })
	t.Run("Close", func(t *testing.T) { testDeskClose(t, open) })
	t.Run("Transitions", func(t *testing.T) { testDeskTransitions(t, open) })
	t.Run("Forbidden", func(t *testing.T) { testDeskForbidden(t, open) })
	t.Run("BadInput", func(t *testing.T) { testDeskBadInput(t, open) })
	t.Run("Replay", func(t *testing.T) { testDeskReplay(t, open) })
	t.Run("EscalateConcurrent", func(t *testing.T) { testDeskEscalateConcurrent(t, open) })
	t.Run("ClaimConcurrent", func(t *testing.T) { testDeskClaimConcurrent(t, open) })
	t.Run("Access", func(t *testing.T) { testDeskAccess(t, open) })
	t.Run("AskAndFeedback", func(t *testing.T) { testDeskAskFeedback(t, open) })
	t.Run("RegisterWithInvite", func(t *testing.T) { testDeskInvites(t, open) })
	t.Run("Deadlines", func(t *testing.T) { testDeskDeadlines(t, open) })
	t.Run("Stats", func(t *testing.T) { testDeskStats(t, open) })
}

// People of the desk fixture.
const (
	official      caunoi.UserID = 1001 // official of commune 26734
	otherOfficial caunoi.UserID = 1002 // official of commune 26737
	staffTP       caunoi.UserID = 2001 // Sở Tư pháp
	staffTP2      caunoi.UserID = 2002 // Sở Tư pháp
	leadTP        caunoi.UserID = 2003 // Sở Tư pháp, lead
	staffNV       caunoi.UserID = 3001 // Sở Nội vụ
	admin         caunoi.UserID = 9001
	stranger      caunoi.UserID = 7777 // not registered
	manyStaffBase caunoi.UserID = 5000 // 5000+i: extra Sở Tư pháp staff
)

// Queries the fixture's searcher knows.
const (
	qConfident = "đăng ký khai sinh cần giấy tờ gì"
	qUnsure    = "sáp nhập xã thì con dấu cũ xử lý thế nào"
)

// deskSearcher is a fixed table of query → result, standing in for the
// handbook index.
type deskSearcher map[string]caunoi.SearchResult

func (s deskSearcher) Search(ctx context.Context, query string, limit int) (caunoi.SearchResult, error) {
	if query == "" {
		return caunoi.SearchResult{}, caunoi.ErrInvalid
	}
	res, ok := s[query]
	if !ok {
		return caunoi.SearchResult{Query: query, Version: "v-test"}, nil
	}
	if len(res.Hits) > limit {
		res.Hits = res.Hits[:limit]
	}
	return res, nil
}

func newDeskSearcher() deskSearcher {
	birth := caunoi.Passage{ID: "ho-tich/khai-sinh#ho-so", EntryID: "ho-tich/khai-sinh", Title: "Đăng ký khai sinh", Section: "Hồ sơ", Department: "tu-phap"}
	seal := caunoi.Passage{ID: "to-chuc/con-dau#thu-hoi", EntryID: "to-chuc/con-dau", Title: "Con dấu sau sắp xếp", Section: "Thu hồi", Department: "noi-vu"}
	return deskSearcher{
		qConfident: {Query: qConfident, Version: "v-test", Confidence: caunoi.ConfidenceHigh,
			Hits: []caunoi.Hit{{Passage: birth, Score: 9.5, Confidence: caunoi.ConfidenceHigh}}},
		qUnsure: {Query: qUnsure, Version: "v-test", Confidence: caunoi.ConfidenceLow,
			Hits: []caunoi.Hit{{Passage: seal, Score: 1.2, Confidence: caunoi.ConfidenceLow}, {Passage: birth, Score: 0.4, Confidence: caunoi.ConfidenceLow}}},
	}
}

// deskClock is a settable clock, safe for concurrent use.
type deskClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *deskClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *deskClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *deskClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// deskMonday is Monday 7 July 2025, 09:00 in Hanoi.
var deskMonday = time.Date(2025, 7, 7, 9, 0, 0, 0, caunoi.VietnamZone())

type deskFixture struct {
	ctx   context.Context
	store caunoi.Store
	desk  *caunoi.Desk
	clock *deskClock
	seq   atomic.Int64
}

// newDeskFixture returns a desk on a fresh store with the fixture's people
// and communes registered.
func newDeskFixture(t testing.TB, open func(tb testing.TB) caunoi.Store) *deskFixture {
	t.Helper()
	ctx := context.Background()
	s := open(t)
	clock := &deskClock{t: deskMonday}
	f := &deskFixture{ctx: ctx, store: s, clock: clock, desk: &caunoi.Desk{
		Store:    s,
		Searcher: newDeskSearcher(),
		Departments: []caunoi.Department{
			{Code: "tu-phap", Prefix: "TP", Name: "Sở Tư pháp"},
			{Code: "noi-vu", Prefix: "NV", Name: "Sở Nội vụ"},
			{Code: "cong-an", Prefix: "CA", Name: "Công an tỉnh"},
		},
		Policies: map[string]caunoi.Policy{"noi-vu": {FirstResponse: 2 * time.Hour, Resolution: 8 * time.Hour}},
		Now:      clock.Now,
	}}
	people := []caunoi.Official{
		{ID: official, Name: "Nguyễn Văn An", Commune: "26734", Roles: []caunoi.Role{caunoi.RoleOfficial}},
		{ID: otherOfficial, Name: "Trần Thị Bình", Commune: "26737", Roles: []caunoi.Role{caunoi.RoleOfficial}},
		{ID: staffTP, Name: "Lê Văn Cường", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}},
		{ID: staffTP2, Name: "Phạm Thị Dung", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}},
		{ID: leadTP, Name: "Hoàng Văn Em", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff, caunoi.RoleLead}},
		{ID: staffNV, Name: "Vũ Thị Giang", Department: "noi-vu", Roles: []caunoi.Role{caunoi.RoleStaff}},
		{ID: admin, Name: "Quản trị viên", Roles: []caunoi.Role{caunoi.RoleAdmin}},
	}
	for _, p := range people {
		p.Registered = deskMonday
		if err := s.PutOfficial(ctx, p); err != nil {
			t.Fatalf("PutOfficial(%d): %v", p.ID, err)
		}
	}
	err := s.ReplaceCommunes(ctx, []caunoi.Commune{
		{Code: "26734", Name: "Phường Sài Gòn", Province: "Thành phố Hồ Chí Minh"},
		{Code: "26737", Name: "Phường Tân Định", Province: "Thành phố Hồ Chí Minh"},
	})
	if err != nil {
		t.Fatalf("ReplaceCommunes: %v", err)
	}
	return f
}

// key returns a fresh idempotency key.
func (f *deskFixture) key() string { return fmt.Sprintf("upd-%d", f.seq.Add(1)) }

// escalate opens a ticket for official with the unsure question.
func (f *deskFixture) escalate(t testing.TB, dept string) caunoi.Ticket {
	t.Helper()
	out, err := f.desk.Escalate(f.ctx, official, caunoi.EscalateRequest{Text: qUnsure, Department: dept, Key: f.key()})
	if err != nil {
		t.Fatalf("Escalate: %v", err)
	}
	return out.Ticket
}

// snapshot returns the stored ticket and timeline.
func (f *deskFixture) snapshot(t testing.TB, number string) (caunoi.Ticket, []caunoi.Event) {
	t.Helper()
	tk, err := f.store.Ticket(f.ctx, number)
	if err != nil {
		t.Fatalf("Ticket(%s): %v", number, err)
	}
	evs, err := f.store.Events(f.ctx, number)
	if err != nil {
		t.Fatalf("Events(%s): %v", number, err)
	}
	return tk, evs
}

// staffFor returns a staff member of the ticket's department.
func staffFor(dept string) caunoi.UserID {
	if dept == "noi-vu" {
		return staffNV
	}
	return staffTP
}

// otherDept returns a department other than dept.
func otherDept(dept string) string {
	if dept == "tu-phap" {
		return "noi-vu"
	}
	return "tu-phap"
}

// do takes action a on ticket number as actor with valid arguments.
func (f *deskFixture) do(actor caunoi.UserID, number, dept string, a caunoi.Action, key string) (caunoi.Outcome, error) {
	d, ctx := f.desk, f.ctx
	note := caunoi.Note{Text: "Nội dung kèm theo thao tác " + string(a)}
	switch a {
	case caunoi.ActionClaim:
		return d.Claim(ctx, actor, number, key)
	case caunoi.ActionReply:
		return d.Reply(ctx, actor, number, key, note)
	case caunoi.ActionRequestInfo:
		return d.RequestInfo(ctx, actor, number, key, note)
	case caunoi.ActionFollowUp:
		return d.OfficialFollowUp(ctx, actor, number, key, note)
	case caunoi.ActionTransfer:
		return d.Transfer(ctx, actor, number, key, otherDept(dept), note)
	case caunoi.ActionResolve:
		return d.Resolve(ctx, actor, number, key, note)
	case caunoi.ActionConfirm:
		return d.Confirm(ctx, actor, number, key)
	case caunoi.ActionReopen:
		return d.Reopen(ctx, actor, number, key, note)
	case caunoi.ActionClose:
		return d.Close(ctx, actor, number, key, "Câu hỏi trùng với phiếu khác")
	case caunoi.ActionRate:
		return d.Rate(ctx, actor, number, key, 4)
	}
	return caunoi.Outcome{}, fmt.Errorf("unknown action %q", a)
}

// actorFor returns who may take a on a ticket of dept.
func actorFor(a caunoi.Action, dept string) caunoi.UserID {
	if a.ByAsker() {
		return official
	}
	return staffFor(dept)
}

// must takes action a with the right actor and fails the test on error.
func (f *deskFixture) must(t testing.TB, number string, a caunoi.Action) caunoi.Outcome {
	t.Helper()
	tk, err := f.store.Ticket(f.ctx, number)
	if err != nil {
		t.Fatalf("Ticket(%s): %v", number, err)
	}
	out, err := f.do(actorFor(a, tk.Department), number, tk.Department, a, f.key())
	if err != nil {
		t.Fatalf("%s on %s (%s): %v", a, number, tk.Status, err)
	}
	return out
}

// noticeSummary renders notices as "kind→recipient" for comparison.
func noticeSummary(ns []caunoi.Notice) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		if n.To != 0 {
			out[i] = fmt.Sprintf("%s→%d", n.Kind, n.To)
		} else {
			out[i] = fmt.Sprintf("%s→%s", n.Kind, n.Department)
		}
	}
	return out
}

func checkNotices(t testing.TB, what string, ns []caunoi.Notice, want ...string) {
	t.Helper()
	if got := noticeSummary(ns); !slices.Equal(got, want) {
		t.Errorf("%s: notices = %v, want %v", what, got, want)
	}
	seen := map[string]bool{}
	for _, n := range ns {
		if n.Key == "" || seen[n.Key] {
			t.Errorf("%s: notice key %q empty or repeated", what, n.Key)
		}
		seen[n.Key] = true
	}
}

func testDeskJourney(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	ctx, d := f.ctx, f.desk

	ans, err := d.Ask(ctx, official, qUnsure)
	if err != nil {
		t.Fatalf("Ask: %v", err)
	}
	if ans.Confident || ans.SuggestedDepartment != "noi-vu" || ans.QuestionID == "" || len(ans.Result.Hits) != 2 {
		t.Fatalf("Ask = confident %v, department %q, id %q, %d hits; want false, noi-vu, an id, 2 hits",
			ans.Confident, ans.SuggestedDepartment, ans.QuestionID, len(ans.Result.Hits))
	}

	f.clock.Add(time.Minute)
	out, err := d.Escalate(ctx, official, caunoi.EscalateRequest{QuestionID: ans.QuestionID, Department: "tu-phap", Key: "tap-1"})
	if err != nil {
		t.Fatalf("Escalate: %v", err)
	}
	tk := out.Ticket
	if tk.Number == "" || tk.Status != caunoi.StatusNew || tk.Department != "tu-phap" || tk.Asker != official || tk.Commune != "26734" || tk.Question != qUnsure {
		t.Fatalf("escalated ticket = %+v", tk)
	}
	if len(tk.Results) != 2 || tk.Results[0].PassageID != "to-chuc/con-dau#thu-hoi" {
		t.Errorf("ticket candidates = %+v, want the two search hits", tk.Results)
	}
	// Created Monday 09:01: 4 working hours → 15:01, 16 → Wednesday 10:01.
	checkEqual(t, "FirstResponseDue", tk.FirstResponseDue.Equal(deskMonday.Add(6*time.Hour+time.Minute)), true)
	checkEqual(t, "ResolutionDue", tk.ResolutionDue.Equal(time.Date(2025, 7, 9, 10, 1, 0, 0, caunoi.VietnamZone())), true)
	checkNotices(t, "escalate", out.Notices, "new_ticket→tu-phap", fmt.Sprintf("ticket_opened→%d", official))
	if out.Notices[0].Text != qUnsure {
		t.Errorf("card text = %q, want the question", out.Notices[0].Text)
	}
	q, err := f.store.Question(ctx, ans.QuestionID)
	if err != nil {
		t.Fatalf("Question: %v", err)
	}
	checkEqual(t, "question escalated", q.Escalated, tk.Number)

	steps := []struct {
		actor   caunoi.UserID
		action  caunoi.Action
		status  caunoi.Status
		notices []string
	}{
		{staffTP, caunoi.ActionClaim, caunoi.StatusClaimed, []string{"claimed→1001", "claimed→tu-phap"}},
		{staffTP, caunoi.ActionRequestInfo, caunoi.StatusWaitingOfficial, []string{"info_requested→1001"}},
		{official, caunoi.ActionFollowUp, caunoi.StatusClaimed, []string{"follow_up→tu-phap"}},
		{staffTP, caunoi.ActionReply, caunoi.StatusAnswered, []string{"replied→1001"}},
		{staffTP, caunoi.ActionResolve, caunoi.StatusAnswered, []string{"resolved→1001"}},
		{official, caunoi.ActionConfirm, caunoi.StatusResolved, []string{"confirmed→tu-phap"}},
		{official, caunoi.ActionRate, caunoi.StatusResolved, []string{"rated→tu-phap"}},
	}
	for i, st := range steps {
		f.clock.Add(10 * time.Minute)
		out, err := f.do(st.actor, tk.Number, "tu-phap", st.action, f.key())
		if err != nil {
			t.Fatalf("step %d %s: %v", i, st.action, err)
		}
		if out.Ticket.Status != st.status {
			t.Errorf("after %s: status %s, want %s", st.action, out.Ticket.Status, st.status)
		}
		checkNotices(t, string(st.action), out.Notices, st.notices...)
	}
	final, events := f.snapshot(t, tk.Number)
	checkEqual(t, "assignee", final.Assignee, staffTP)
	checkEqual(t, "rating", final.Rating, 4)
	checkEqual(t, "first response", final.FirstResponse.Equal(deskMonday.Add(11*time.Minute)), true)
	checkEqual(t, "resolved at", final.ResolvedAt.Equal(deskMonday.Add(61*time.Minute)), true)
	var kinds []caunoi.EventKind
	for i, ev := range events {
		kinds = append(kinds, ev.Kind)
		if ev.Seq != i+1 || ev.Ticket != tk.Number || ev.Key == "" {
			t.Errorf("event %d: seq %d, ticket %q, key %q", i, ev.Seq, ev.Ticket, ev.Key)
		}
	}
	checkEqual(t, "timeline", kinds, []caunoi.EventKind{
		caunoi.EventCreated, caunoi.EventClaimed, caunoi.EventInfoAsked, caunoi.EventFollowUp,
		caunoi.EventReplied, caunoi.EventResolved, caunoi.EventConfirmed, caunoi.EventRated,
	})
	if len(events) > 4 && events[4].Text != "Nội dung kèm theo thao tác reply" {
		t.Errorf("reply event text = %q", events[4].Text)
	}
}

func testDeskReopen(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	tk := f.escalate(t, "tu-phap")
	f.must(t, tk.Number, caunoi.ActionClaim)
	f.must(t, tk.Number, caunoi.ActionReply)
	out := f.must(t, tk.Number, caunoi.ActionReopen)
	checkEqual(t, "status after reopen from answered", out.Ticket.Status, caunoi.StatusReopened)
	checkNotices(t, "reopen", out.Notices, "reopened→tu-phap")
	f.must(t, tk.Number, caunoi.ActionClaim)
	f.must(t, tk.Number, caunoi.ActionReply)
	out = f.must(t, tk.Number, caunoi.ActionConfirm)
	if out.Ticket.ResolvedAt.IsZero() {
		t.Error("confirmed ticket has no ResolvedAt")
	}
	out = f.must(t, tk.Number, caunoi.ActionReopen)
	checkEqual(t, "status after reopen from resolved", out.Ticket.Status, caunoi.StatusReopened)
	if !out.Ticket.ResolvedAt.IsZero() {
		t.Error("reopened ticket keeps ResolvedAt")
	}
}

func testDeskTransfer(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	tk := f.escalate(t, "tu-phap")
	f.must(t, tk.Number, caunoi.ActionClaim)
	f.clock.Set(deskMonday.Add(2 * time.Hour)) // 11:00
	out, err := f.desk.Transfer(f.ctx, staffTP, tk.Number, f.key(), "noi-vu", caunoi.Note{Text: "Thuộc thẩm quyền Sở Nội vụ"})
	if err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	got := out.Ticket
	checkEqual(t, "department", got.Department, "noi-vu")
	checkEqual(t, "status", got.Status, caunoi.StatusTransferred)
	checkEqual(t, "assignee", got.Assignee, caunoi.UserID(0))
	if !got.FirstResponse.IsZero() {
		t.Error("first response not reset on transfer")
	}
	// Sở Nội vụ answers within 2 h: 11:00 + 2 working hours = 15:00, and
	// resolves within 8 h: Tuesday 11:30.
	zone := caunoi.VietnamZone()
	checkEqual(t, "FirstResponseDue", got.FirstResponseDue.Equal(time.Date(2025, 7, 7, 15, 0, 0, 0, zone)), true)
	checkEqual(t, "ResolutionDue", got.ResolutionDue.Equal(time.Date(2025, 7, 8, 11, 30, 0, 0, zone)), true)
	checkNotices(t, "transfer", out.Notices, "transferred_out→tu-phap", "new_ticket→noi-vu", "transferred→1001")
	if out.Notices[0].Text != "Thuộc thẩm quyền Sở Nội vụ" || out.Notices[1].Text != qUnsure {
		t.Errorf("transfer notice texts = %q, %q", out.Notices[0].Text, out.Notices[1].Text)
	}
	_, events := f.snapshot(t, tk.Number)
	if last := events[len(events)-1]; last.Kind != caunoi.EventTransferred || last.Department != "noi-vu" {
		t.Errorf("last event = %+v, want a transfer to noi-vu", last)
	}
	// The old department no longer acts on it; the new one does.
	if _, err := f.desk.Claim(f.ctx, staffTP, tk.Number, f.key()); !errors.Is(err, caunoi.ErrForbidden) {
		t.Errorf("claim by old department: %v, want ErrForbidden", err)
	}
	if _, err := f.desk.Transfer(f.ctx, staffNV, tk.Number, f.key(), "noi-vu", caunoi.Note{}); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("transfer to its own department: %v, want ErrInvalid", err)
	}
	if _, err := f.desk.Transfer(f.ctx, staffNV, tk.Number, f.key(), "so-khong-co", caunoi.Note{}); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("transfer to unknown department: %v, want ErrInvalid", err)
	}
	out, err = f.desk.Claim(f.ctx, staffNV, tk.Number, f.key())
	if err != nil {
		t.Fatalf("claim by new department: %v", err)
	}
	checkNotices(t, "claim after transfer", out.Notices, "claimed→1001", "claimed→noi-vu")
}

func testDeskClose(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	tk := f.escalate(t, "tu-phap")
	if _, err := f.desk.Close(f.ctx, staffTP, tk.Number, f.key(), "   "); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("close without reason: %v, want ErrInvalid", err)
	}
	out, err := f.desk.Close(f.ctx, leadTP, tk.Number, f.key(), "Đã trả lời qua điện thoại")
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkEqual(t, "status", out.Ticket.Status, caunoi.StatusClosed)
	checkNotices(t, "close", out.Notices, "closed→1001", "closed→tu-phap")
	checkEqual(t, "reason", out.Notices[0].Text, "Đã trả lời qua điện thoại")
	if out.Ticket.Status.Open() {
		t.Error("closed ticket reports open")
	}
}

// reach drives a fresh ticket to status s and returns it.
func (f *deskFixture) reach(t testing.TB, s caunoi.Status) caunoi.Ticket {
	t.Helper()
	paths := map[caunoi.Status][]caunoi.Action{
		caunoi.StatusNew:             nil,
		caunoi.StatusClaimed:         {caunoi.ActionClaim},
		caunoi.StatusWaitingOfficial: {caunoi.ActionClaim, caunoi.ActionRequestInfo},
		caunoi.StatusAnswered:        {caunoi.ActionClaim, caunoi.ActionReply},
		caunoi.StatusResolved:        {caunoi.ActionClaim, caunoi.ActionReply, caunoi.ActionConfirm},
		caunoi.StatusReopened:        {caunoi.ActionClaim, caunoi.ActionReply, caunoi.ActionReopen},
		caunoi.StatusTransferred:     {caunoi.ActionTransfer},
		caunoi.StatusClosed:          {caunoi.ActionClose},
	}
	path, ok := paths[s]
	if !ok {
		t.Fatalf("no path to status %s", s)
	}
	tk := f.escalate(t, "tu-phap")
	for _, a := range path {
		tk = f.must(t, tk.Number, a).Ticket
	}
	if tk.Status != s {
		t.Fatalf("reached %s, want %s", tk.Status, s)
	}
	return tk
}

// testDeskTransitions tries every action in every status with the right
// actor: allowed cells change the status as the table says and append
// exactly one event; the others are ErrConflict and change nothing.
func testDeskTransitions(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	for _, s := range caunoi.Statuses {
		for _, a := range caunoi.Actions {
			t.Run(string(s)+"/"+string(a), func(t *testing.T) {
				tk := f.reach(t, s)
				before, evBefore := f.snapshot(t, tk.Number)
				f.clock.Add(time.Minute)
				out, err := f.do(actorFor(a, tk.Department), tk.Number, tk.Department, a, f.key())
				after, evAfter := f.snapshot(t, tk.Number)
				want, allowed := caunoi.Transition(s, a)
				if !allowed {
					if !errors.Is(err, caunoi.ErrConflict) {
						t.Errorf("%s in %s: err = %v, want ErrConflict", a, s, err)
					}
					checkEqual(t, "ticket after refused action", after, before)
					checkEqual(t, "events after refused action", evAfter, evBefore)
					return
				}
				if err != nil {
					t.Fatalf("%s in %s: %v", a, s, err)
				}
				checkEqual(t, "status", after.Status, want)
				checkEqual(t, "returned ticket", utcTicket(out.Ticket), utcTicket(after))
				if len(evAfter) != len(evBefore)+1 {
					t.Fatalf("events: %d → %d, want one more", len(evBefore), len(evAfter))
				}
				ev := evAfter[len(evAfter)-1]
				if ev.Kind != a.EventKind() || ev.From != s || ev.To != want || ev.Actor != actorFor(a, before.Department) {
					t.Errorf("new event = %+v, want %s from %s to %s", ev, a.EventKind(), s, want)
				}
				checkEqual(t, "earlier events", evAfter[:len(evBefore)], evBefore)
				if len(out.Notices) == 0 {
					t.Error("allowed action produced no notices")
				}
			})
		}
	}
}

// testDeskForbidden tries every action in every status with people who may
// not take it: ErrForbidden, and nothing changes.
func testDeskForbidden(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	for _, s := range caunoi.Statuses {
		tk := f.reach(t, s)
		for _, a := range caunoi.Actions {
			wrong := []caunoi.UserID{otherOfficial, stranger, staffFor(otherDept(tk.Department))}
			if a.ByAsker() {
				wrong = append(wrong, staffFor(tk.Department), leadTP, admin)
			} else {
				wrong = append(wrong, official)
			}
			for _, who := range wrong {
				before, evBefore := f.snapshot(t, tk.Number)
				_, err := f.do(who, tk.Number, tk.Department, a, f.key())
				if !errors.Is(err, caunoi.ErrForbidden) {
					t.Errorf("%s by %d in %s: err = %v, want ErrForbidden", a, who, s, err)
				}
				after, evAfter := f.snapshot(t, tk.Number)
				checkEqual(t, fmt.Sprintf("%s by %d in %s: ticket", a, who, s), after, before)
				checkEqual(t, fmt.Sprintf("%s by %d in %s: events", a, who, s), evAfter, evBefore)
			}
		}
	}
}

func testDeskBadInput(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	ctx, d := f.ctx, f.desk
	tk := f.reach(t, caunoi.StatusClaimed)
	resolved := f.reach(t, caunoi.StatusResolved)
	f.must(t, resolved.Number, caunoi.ActionRate)
	long := string(make([]rune, caunoi.MaxTextLen+1))
	tests := []struct {
		name   string
		number string
		call   func(number string) error
		want   error
	}{
		{"empty reply", tk.Number, func(n string) error {
			_, err := d.Reply(ctx, staffTP, n, f.key(), caunoi.Note{Text: " \n "})
			return err
		}, caunoi.ErrInvalid},
		{"over-long reply", tk.Number, func(n string) error {
			_, err := d.Reply(ctx, staffTP, n, f.key(), caunoi.Note{Text: long})
			return err
		}, caunoi.ErrInvalid},
		{"empty request for info", tk.Number, func(n string) error {
			_, err := d.RequestInfo(ctx, staffTP, n, f.key(), caunoi.Note{})
			return err
		}, caunoi.ErrInvalid},
		{"empty follow-up", tk.Number, func(n string) error {
			_, err := d.OfficialFollowUp(ctx, official, n, f.key(), caunoi.Note{})
			return err
		}, caunoi.ErrInvalid},
		{"rating 0", resolved.Number, func(n string) error {
			_, err := d.Rate(ctx, official, n, f.key(), 0)
			return err
		}, caunoi.ErrInvalid},
		{"rating 6", resolved.Number, func(n string) error {
			_, err := d.Rate(ctx, official, n, f.key(), 6)
			return err
		}, caunoi.ErrInvalid},
		{"second rating", resolved.Number, func(n string) error {
			_, err := d.Rate(ctx, official, n, f.key(), 5)
			return err
		}, caunoi.ErrConflict},
		{"second claim", tk.Number, func(n string) error {
			_, err := d.Claim(ctx, staffTP2, n, f.key())
			return err
		}, caunoi.ErrConflict},
		{"unknown ticket", "TP-2025-999999", func(n string) error {
			_, err := d.Claim(ctx, staffTP, n, f.key())
			return err
		}, caunoi.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before caunoi.Ticket
			var evBefore []caunoi.Event
			if tt.want != caunoi.ErrNotFound {
				before, evBefore = f.snapshot(t, tt.number)
			}
			if err := tt.call(tt.number); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want != caunoi.ErrNotFound {
				after, evAfter := f.snapshot(t, tt.number)
				checkEqual(t, "ticket", after, before)
				checkEqual(t, "events", evAfter, evBefore)
			}
		})
	}
	// Escalation input.
	escalations := []struct {
		name  string
		actor caunoi.UserID
		req   caunoi.EscalateRequest
		want  error
	}{
		{"unknown department", official, caunoi.EscalateRequest{Text: "câu hỏi", Department: "so-khong-co"}, caunoi.ErrInvalid},
		{"empty text", official, caunoi.EscalateRequest{Text: "  ", Department: "tu-phap"}, caunoi.ErrInvalid},
		{"unknown question", official, caunoi.EscalateRequest{QuestionID: "khong-co", Department: "tu-phap"}, caunoi.ErrNotFound},
		{"unregistered", stranger, caunoi.EscalateRequest{Text: "câu hỏi", Department: "tu-phap"}, caunoi.ErrForbidden},
		{"staff", staffTP, caunoi.EscalateRequest{Text: "câu hỏi", Department: "tu-phap"}, caunoi.ErrForbidden},
	}
	for _, tt := range escalations {
		t.Run("escalate "+tt.name, func(t *testing.T) {
			before, err := f.store.Tickets(ctx, caunoi.TicketFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Escalate(ctx, tt.actor, tt.req); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			after, err := f.store.Tickets(ctx, caunoi.TicketFilter{})
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "tickets", len(after), len(before))
		})
	}
	// Someone else's question.
	ans, err := d.Ask(ctx, otherOfficial, qUnsure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Escalate(ctx, official, caunoi.EscalateRequest{QuestionID: ans.QuestionID, Department: "tu-phap"}); !errors.Is(err, caunoi.ErrForbidden) {
		t.Errorf("escalate another's question: %v, want ErrForbidden", err)
	}
}

func testDeskReplay(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	ctx, d := f.ctx, f.desk

	first, err := d.Escalate(ctx, official, caunoi.EscalateRequest{Text: qUnsure, Department: "tu-phap", Key: "upd-77"})
	if err != nil {
		t.Fatalf("Escalate: %v", err)
	}
	again, err := d.Escalate(ctx, official, caunoi.EscalateRequest{Text: qUnsure, Department: "tu-phap", Key: "upd-77"})
	if err != nil {
		t.Fatalf("Escalate again: %v", err)
	}
	checkEqual(t, "replayed escalation ticket", again.Ticket.Number, first.Ticket.Number)
	checkEqual(t, "replayed escalation notices", again.Notices, first.Notices)
	checkEqual(t, "replayed flag", again.Replayed, true)

	number := first.Ticket.Number
	steps := []caunoi.Action{caunoi.ActionClaim, caunoi.ActionReply, caunoi.ActionReopen, caunoi.ActionTransfer}
	for _, a := range steps {
		tk, _ := f.snapshot(t, number)
		actor := actorFor(a, tk.Department)
		key := "replay-" + string(a)
		out, err := f.do(actor, number, tk.Department, a, key)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		before, evBefore := f.snapshot(t, number)
		f.clock.Add(time.Minute)
		re, err := f.do(actor, number, tk.Department, a, key)
		if err != nil {
			t.Fatalf("replayed %s: %v", a, err)
		}
		after, evAfter := f.snapshot(t, number)
		checkEqual(t, string(a)+" replay: ticket", after, before)
		checkEqual(t, string(a)+" replay: events", evAfter, evBefore)
		checkEqual(t, string(a)+" replay: notices", re.Notices, out.Notices)
		checkEqual(t, string(a)+" replay: flag", re.Replayed, true)
		checkEqual(t, string(a)+" replay: returned ticket", utcTicket(re.Ticket), utcTicket(after))
	}
	// A key replayed by someone else is refused.
	if _, err := d.Claim(ctx, staffTP2, number, "replay-claim"); !errors.Is(err, caunoi.ErrForbidden) {
		t.Errorf("replay of another's key: %v, want ErrForbidden", err)
	}
	// Escalating a logged question twice, with different keys, yields one ticket.
	ans, err := d.Ask(ctx, official, qConfident)
	if err != nil {
		t.Fatal(err)
	}
	a1, err := d.Escalate(ctx, official, caunoi.EscalateRequest{QuestionID: ans.QuestionID, Department: "tu-phap", Key: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := d.Escalate(ctx, official, caunoi.EscalateRequest{QuestionID: ans.QuestionID, Department: "tu-phap", Key: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "same question escalated twice", a2.Ticket.Number, a1.Ticket.Number)
}

func testDeskEscalateConcurrent(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	const n = 100
	numbers := make([]string, n)
	errs := make([]error, n)
	race(n, func(i int) {
		out, err := f.desk.Escalate(f.ctx, official, caunoi.EscalateRequest{Text: qUnsure, Department: "tu-phap", Key: "double-tap"})
		numbers[i], errs[i] = out.Ticket.Number, err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("escalation %d: %v", i, err)
		}
		if numbers[i] != numbers[0] {
			t.Fatalf("escalation %d got ticket %s, escalation 0 got %s", i, numbers[i], numbers[0])
		}
	}
	ts, err := f.store.Tickets(f.ctx, caunoi.TicketFilter{})
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "tickets stored", len(ts), 1)
	_, events := f.snapshot(t, numbers[0])
	checkEqual(t, "events stored", len(events), 1)
}

func testDeskClaimConcurrent(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	const n = 50
	for i := range n {
		p := caunoi.Official{ID: manyStaffBase + caunoi.UserID(i), Name: fmt.Sprintf("Cán bộ %d", i), Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}}
		if err := f.store.PutOfficial(f.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	tk := f.escalate(t, "tu-phap")
	errs := make([]error, n)
	race(n, func(i int) {
		_, errs[i] = f.desk.Claim(f.ctx, manyStaffBase+caunoi.UserID(i), tk.Number, fmt.Sprintf("claim-%d", i))
	})
	winner := caunoi.UserID(0)
	for i, err := range errs {
		switch {
		case err == nil:
			if winner != 0 {
				t.Fatalf("two winners: %d and %d", winner, manyStaffBase+caunoi.UserID(i))
			}
			winner = manyStaffBase + caunoi.UserID(i)
		case !errors.Is(err, caunoi.ErrConflict):
			t.Errorf("claim %d: %v, want ErrConflict", i, err)
		}
	}
	if winner == 0 {
		t.Fatal("no claim won")
	}
	got, events := f.snapshot(t, tk.Number)
	checkEqual(t, "assignee", got.Assignee, winner)
	checkEqual(t, "events", len(events), 2)
}

func testDeskAccess(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	ctx, d := f.ctx, f.desk
	tk := f.escalate(t, "tu-phap")
	f.must(t, tk.Number, caunoi.ActionClaim)
	if _, err := d.Escalate(ctx, otherOfficial, caunoi.EscalateRequest{Text: qConfident, Department: "noi-vu", Key: "x"}); err != nil {
		t.Fatal(err)
	}

	for _, who := range []caunoi.UserID{official, staffTP, staffTP2, leadTP, admin, caunoi.Operator} {
		got, events, err := d.Ticket(ctx, who, tk.Number)
		if err != nil {
			t.Errorf("Ticket by %d: %v", who, err)
			continue
		}
		if got.Number != tk.Number || len(events) != 2 {
			t.Errorf("Ticket by %d = %s with %d events, want %s with 2", who, got.Number, len(events), tk.Number)
		}
	}
	for _, who := range []caunoi.UserID{otherOfficial, staffNV, stranger} {
		if _, _, err := d.Ticket(ctx, who, tk.Number); !errors.Is(err, caunoi.ErrForbidden) {
			t.Errorf("Ticket by %d: %v, want ErrForbidden", who, err)
		}
	}

	lists := []struct {
		name  string
		call  func() ([]caunoi.Ticket, error)
		count int
		err   error
	}{
		{"own tickets", func() ([]caunoi.Ticket, error) { return d.MyTickets(ctx, official) }, 1, nil},
		{"other official's own", func() ([]caunoi.Ticket, error) { return d.MyTickets(ctx, otherOfficial) }, 1, nil},
		{"department by staff", func() ([]caunoi.Ticket, error) { return d.DepartmentTickets(ctx, staffTP, "tu-phap") }, 1, nil},
		{"department by status", func() ([]caunoi.Ticket, error) {
			return d.DepartmentTickets(ctx, staffTP, "tu-phap", caunoi.StatusNew)
		}, 0, nil},
		{"department's open tickets by staff", func() ([]caunoi.Ticket, error) {
			return d.DepartmentTickets(ctx, staffTP, "tu-phap", caunoi.OpenStatuses()...)
		}, 1, nil},
		{"department by admin", func() ([]caunoi.Ticket, error) { return d.DepartmentTickets(ctx, admin, "noi-vu") }, 1, nil},
		{"other department's open tickets by staff", func() ([]caunoi.Ticket, error) {
			return d.DepartmentTickets(ctx, staffNV, "tu-phap", caunoi.OpenStatuses()...)
		}, 0, caunoi.ErrForbidden},
		{"all by operator", func() ([]caunoi.Ticket, error) { return d.Tickets(ctx, caunoi.Operator, caunoi.TicketFilter{}) }, 2, nil},
		{"staff default to own department", func() ([]caunoi.Ticket, error) { return d.Tickets(ctx, staffNV, caunoi.TicketFilter{}) }, 1, nil},
		{"other department by staff", func() ([]caunoi.Ticket, error) { return d.DepartmentTickets(ctx, staffNV, "tu-phap") }, 0, caunoi.ErrForbidden},
		{"department by official", func() ([]caunoi.Ticket, error) { return d.DepartmentTickets(ctx, official, "tu-phap") }, 0, caunoi.ErrForbidden},
		{"stranger", func() ([]caunoi.Ticket, error) { return d.MyTickets(ctx, stranger) }, 0, caunoi.ErrForbidden},
	}
	for _, tt := range lists {
		ts, err := tt.call()
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(ts) != tt.count {
			t.Errorf("%s: %d tickets, want %d", tt.name, len(ts), tt.count)
		}
	}
	// An official filtering on another asker is refused; on themselves, fine.
	if _, err := d.Tickets(ctx, official, caunoi.TicketFilter{Asker: otherOfficial}); !errors.Is(err, caunoi.ErrForbidden) {
		t.Errorf("official listing another's tickets: %v, want ErrForbidden", err)
	}
	// Statistics: leads of the department and admins only.
	from, to := deskMonday.Add(-time.Hour), deskMonday.Add(time.Hour)
	for _, who := range []caunoi.UserID{leadTP, admin} {
		if _, err := d.Stats(ctx, who, "tu-phap", from, to); err != nil {
			t.Errorf("Stats by %d: %v", who, err)
		}
	}
	for _, who := range []caunoi.UserID{staffTP, official, staffNV, stranger} {
		if _, err := d.Stats(ctx, who, "tu-phap", from, to); !errors.Is(err, caunoi.ErrForbidden) {
			t.Errorf("Stats by %d: %v, want ErrForbidden", who, err)
		}
	}
	if _, err := d.Stats(ctx, leadTP, "", from, to); !errors.Is(err, caunoi.ErrForbidden) {
		t.Errorf("all-department Stats by a lead: %v, want ErrForbidden", err)
	}
}

func testDeskAskFeedback(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	ctx, d := f.ctx, f.desk

	ans, err := d.Ask(ctx, official, "  "+qConfident+"\n")
	if err != nil {
		t.Fatalf("Ask: %v", err)
	}
	if !ans.Confident || ans.SuggestedDepartment != "tu-phap" {
		t.Errorf("Ask = confident %v, department %q; want true, tu-phap", ans.Confident, ans.SuggestedDepartment)
	}
	q, err := f.store.Question(ctx, ans.QuestionID)
	if err != nil {
		t.Fatalf("Question: %v", err)
	}
	if q.Asker != official || q.Commune != "26734" || q.Text != qConfident || q.Confidence != caunoi.ConfidenceHigh || q.Version != "v-test" || len(q.Top) != 1 || !q.At.Equal(deskMonday) {
		t.Errorf("logged question = %+v", q)
	}

	// An unregistered person may ask; the log has no commune.
	anon, err := d.Ask(ctx, stranger, "câu hỏi không có trong sổ tay")
	if err != nil {
		t.Fatalf("Ask by stranger: %v", err)
	}
	if anon.Confident || anon.SuggestedDepartment != "" || len(anon.Result.Hits) != 0 {
		t.Errorf("Ask without hits = %+v", anon)
	}
	q2, err := f.store.Question(ctx, anon.QuestionID)
	if err != nil {
		t.Fatal(err)
	}
	if q2.Asker != stranger || q2.Commune != "" {
		t.Errorf("stranger's question logged as asker %d, commune %q", q2.Asker, q2.Commune)
	}
	if _, err := d.Ask(ctx, official, " \t "); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("empty question: %v, want ErrInvalid", err)
	}

	if err := d.Feedback(ctx, otherOfficial, ans.QuestionID, true); !errors.Is(err, caunoi.ErrForbidden) {
		t.Errorf("feedback by another: %v, want ErrForbidden", err)
	}
	if err := d.Feedback(ctx, official, ans.QuestionID, false); err != nil {
		t.Fatalf("Feedback: %v", err)
	}
	q, err = f.store.Question(ctx, ans.QuestionID)
	if err != nil {
		t.Fatal(err)
	}
	if q.Helpful == nil || *q.Helpful {
		t.Errorf("Helpful = %v, want false", q.Helpful)
	}
	if err := d.Feedback(ctx, official, "khong-co", true); !errors.Is(err, caunoi.ErrNotFound) {
		t.Errorf("feedback on unknown question: %v, want ErrNotFound", err)
	}
}

func testDeskInvites(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	ctx, d := f.ctx, f.desk

	bad := []struct {
		name  string
		actor caunoi.UserID
		req   caunoi.InviteRequest
		want  error
	}{
		{"not admin", leadTP, caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: "tu-phap"}, caunoi.ErrForbidden},
		{"stranger", stranger, caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: "tu-phap"}, caunoi.ErrForbidden},
		{"unknown role", admin, caunoi.InviteRequest{Role: "boss"}, caunoi.ErrInvalid},
		{"official without commune", admin, caunoi.InviteRequest{Role: caunoi.RoleOfficial}, caunoi.ErrInvalid},
		{"unknown commune", admin, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "99999"}, caunoi.ErrInvalid},
		{"official with department", admin, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "26734", Department: "tu-phap"}, caunoi.ErrInvalid},
		{"staff without department", admin, caunoi.InviteRequest{Role: caunoi.RoleStaff}, caunoi.ErrInvalid},
		{"unknown department", admin, caunoi.InviteRequest{Role: caunoi.RoleLead, Department: "so-khong-co"}, caunoi.ErrInvalid},
		{"editor with commune", admin, caunoi.InviteRequest{Role: caunoi.RoleEditor, Commune: "26734"}, caunoi.ErrInvalid},
		{"negative ttl", admin, caunoi.InviteRequest{Role: caunoi.RoleEditor, TTL: -time.Hour}, caunoi.ErrInvalid},
	}
	for _, tt := range bad {
		if _, err := d.CreateInvite(ctx, tt.actor, tt.req); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}

	inv, err := d.CreateInvite(ctx, caunoi.Operator, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "26737"})
	if err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	if !caunoi.ValidInviteCode(inv.Code) || len(inv.Code) < 16 {
		t.Errorf("invite code %q is not a deep-link payload of at least 96 bits", inv.Code)
	}
	checkEqual(t, "expiry", inv.Expires.Equal(deskMonday.Add(caunoi.DefaultInviteTTL)), true)
	stored, err := f.store.Invite(ctx, inv.Code)
	if err != nil {
		t.Fatalf("stored invite: %v", err)
	}
	checkEqual(t, "stored invite role", stored.Role, caunoi.RoleOfficial)

	const newcomer caunoi.UserID = 4242
	o, err := d.Register(ctx, newcomer, "  Đỗ   Thị Hà ", inv.Code)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if o.ID != newcomer || o.Name != "Đỗ Thị Hà" || o.Commune != "26737" || !o.Has(caunoi.RoleOfficial) {
		t.Errorf("registered = %+v", o)
	}
	if _, err := d.Register(ctx, 4243, "Người khác", inv.Code); !errors.Is(err, caunoi.ErrExpired) {
		t.Errorf("second use: %v, want ErrExpired", err)
	}
	if _, err := d.Register(ctx, 4243, "Người khác", "khongTonTaiMaNay1234567"); !errors.Is(err, caunoi.ErrNotFound) {
		t.Errorf("unknown code: %v, want ErrNotFound", err)
	}
	if _, err := d.Register(ctx, 4243, "Người khác", "mã có dấu!"); !errors.Is(err, caunoi.ErrNotFound) {
		t.Errorf("malformed code: %v, want ErrNotFound", err)
	}

	// An existing official who becomes staff keeps both roles.
	inv2, err := d.CreateInvite(ctx, admin, caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: "cong-an", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Register(ctx, newcomer, "Đỗ Thị Hà", inv2.Code); err != nil {
		t.Fatalf("Register staff: %v", err)
	}
	o, err = f.store.Official(ctx, newcomer)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Has(caunoi.RoleOfficial) || !o.Has(caunoi.RoleStaff) || o.Department != "cong-an" {
		t.Errorf("after second invite = %+v", o)
	}

	inv3, err := d.CreateInvite(ctx, admin, caunoi.InviteRequest{Role: caunoi.RoleEditor, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Register(ctx, 4244, " ", inv3.Code); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("empty name: %v, want ErrInvalid", err)
	}
	f.clock.Add(2 * time.Hour)
	if _, err := d.Register(ctx, 4244, "Biên tập viên", inv3.Code); !errors.Is(err, caunoi.ErrExpired) {
		t.Errorf("expired code: %v, want ErrExpired", err)
	}
	if _, err := f.store.Official(ctx, 4244); !errors.Is(err, caunoi.ErrNotFound) {
		t.Errorf("refused registration stored a person: %v", err)
	}
}

func testDeskDeadlines(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	ctx, d := f.ctx, f.desk
	zone := caunoi.VietnamZone()
	// Friday 11 July, 15:00: first response due Monday 09:30 (2 h on Friday,
	// 2 h on Monday); resolution due Tuesday 16:00 (2 h + 7.5 h + 6.5 h).
	f.clock.Set(time.Date(2025, 7, 11, 15, 0, 0, 0, zone))
	late := f.escalate(t, "tu-phap")
	checkEqual(t, "first response due", late.FirstResponseDue.Equal(time.Date(2025, 7, 14, 9, 30, 0, 0, zone)), true)
	checkEqual(t, "resolution due", late.ResolutionDue.Equal(time.Date(2025, 7, 15, 16, 0, 0, 0, zone)), true)
	waiting := f.escalate(t, "tu-phap")
	f.must(t, waiting.Number, caunoi.ActionRequestInfo)

	numbers := func(ds []caunoi.Due) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Ticket.Number)
		}
		return out
	}
	// Monday 09:00: due within the next working hour, not yet overdue.
	f.clock.Set(time.Date(2025, 7, 14, 9, 0, 0, 0, zone))
	soon, err := d.DueSoon(ctx, leadTP, "tu-phap", time.Hour)
	if err != nil {
		t.Fatalf("DueSoon: %v", err)
	}
	checkEqual(t, "due soon", numbers(soon), []string{late.Number})
	if len(soon) == 1 && !soon[0].FirstResponse {
		t.Error("due soon: want the first-response deadline")
	}
	over, err := d.Overdue(ctx, staffTP, "tu-phap")
	if err != nil {
		t.Fatalf("Overdue: %v", err)
	}
	checkEqual(t, "overdue at 09:00", len(over), 0)
	// 09:45: past the first-response deadline.
	f.clock.Set(time.Date(2025, 7, 14, 9, 45, 0, 0, zone))
	over, err = d.Overdue(ctx, staffTP, "tu-phap")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "overdue at 09:45", numbers(over), []string{late.Number})
	// Claiming is the first response; the resolution is due Tuesday.
	f.must(t, late.Number, caunoi.ActionClaim)
	over, err = d.Overdue(ctx, staffTP, "tu-phap")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "overdue after claim", len(over), 0)
	f.clock.Set(time.Date(2025, 7, 15, 15, 30, 0, 0, zone))
	soon, err = d.DueSoon(ctx, admin, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "resolution due soon", numbers(soon), []string{late.Number})
	if len(soon) == 1 && soon[0].FirstResponse {
		t.Error("due soon after claim: want the resolution deadline")
	}
	f.clock.Set(time.Date(2025, 7, 15, 16, 30, 0, 0, zone))
	over, err = d.Overdue(ctx, caunoi.Operator, "")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "resolution overdue", numbers(over), []string{late.Number})

	if _, err := d.Overdue(ctx, staffNV, "tu-phap"); !errors.Is(err, caunoi.ErrForbidden) {
		t.Errorf("Overdue of another department: %v, want ErrForbidden", err)
	}
	if _, err := d.DueSoon(ctx, staffTP, "", time.Hour); !errors.Is(err, caunoi.ErrForbidden) {
		t.Errorf("DueSoon of all departments by staff: %v, want ErrForbidden", err)
	}
}

func testDeskStats(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	f := newDeskFixture(t, open)
	zone := caunoi.VietnamZone()
	f.reach(t, caunoi.StatusNew)
	f.reach(t, caunoi.StatusClaimed)
	resolved := f.reach(t, caunoi.StatusResolved)
	f.must(t, resolved.Number, caunoi.ActionRate)
	f.reach(t, caunoi.StatusTransferred) // now with noi-vu
	f.reach(t, caunoi.StatusClosed)

	// Thursday: the new ticket is past both deadlines.
	f.clock.Set(time.Date(2025, 7, 10, 9, 0, 0, 0, zone))
	s, err := f.desk.Stats(f.ctx, leadTP, "tu-phap", deskMonday.Add(-time.Hour), deskMonday.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	checkEqual(t, "tickets", s.Tickets, 4)
	checkEqual(t, "by status", s.ByStatus, map[caunoi.Status]int{
		caunoi.StatusNew: 1, caunoi.StatusClaimed: 1, caunoi.StatusResolved: 1, caunoi.StatusClosed: 1,
	})
	checkEqual(t, "overdue", s.Overdue, 2)
	checkEqual(t, "responded", s.Responded, 3)
	checkEqual(t, "resolved", s.Resolved, 1)
	checkEqual(t, "rated", s.Rated, 1)
	checkEqual(t, "mean rating", s.MeanRating, 4.0)

	all, err := f.desk.Stats(f.ctx, admin, "", deskMonday.Add(-time.Hour), deskMonday.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "all departments", all.Tickets, 5)
	if _, err := f.desk.Stats(f.ctx, admin, "", deskMonday, deskMonday); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("empty period: %v, want ErrInvalid", err)
	}
}

// utcTicket returns t with its times in UTC, so that tickets read back from
// a store compare equal to the ones the desk returned.
func utcTicket(t caunoi.Ticket) caunoi.Ticket {
	for _, p := range []*time.Time{&t.Created, &t.Updated, &t.FirstResponseDue, &t.ResolutionDue, &t.FirstResponse, &t.ResolvedAt} {
		*p = p.UTC()
	}
	return t
}
