package caunoi_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
)

// People of the lead fixtures.
const (
	leadsOfficial caunoi.UserID = 100
	leadsStaffTP  caunoi.UserID = 200
	leadsLeadTP   caunoi.UserID = 300
	leadsLeadTP2  caunoi.UserID = 302
	leadsLeadNV   caunoi.UserID = 301
	leadsAdmin    caunoi.UserID = 400
)

// leadsMonday is Monday 2 March 2026, midnight in Vietnam.
var leadsMonday = time.Date(2026, 3, 2, 0, 0, 0, 0, caunoi.VietnamZone())

// vnAt returns the instant on day d (0 = leadsMonday) at hh:mm, Vietnam time.
func vnAt(d, hh, mm int) time.Time {
	return leadsMonday.AddDate(0, 0, d).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// leadsClock is the injected clock of the desk.
type leadsClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *leadsClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *leadsClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// handbookEntries are the handbook entries of the fake searcher, by id.
var handbookEntries = map[string]caunoi.Passage{
	"ho-tich/khai-sinh": {ID: "ho-tich/khai-sinh#ho-so", EntryID: "ho-tich/khai-sinh", Title: "Đăng ký khai sinh", Department: "tu-phap"},
	"ho-tich/ket-hon":   {ID: "ho-tich/ket-hon#ho-so", EntryID: "ho-tich/ket-hon", Title: "Đăng ký kết hôn", Department: "tu-phap"},
	"noi-vu/tuyen-dung": {ID: "noi-vu/tuyen-dung#dieu-kien", EntryID: "noi-vu/tuyen-dung", Title: "Tuyển dụng công chức xã", Department: "noi-vu"},
}

// scriptedSearcher answers each question with the entry and confidence it
// was given; an unknown question finds nothing.
type scriptedSearcher map[string]struct {
	entry string
	conf  caunoi.Confidence
}

func (s scriptedSearcher) Search(_ context.Context, q string, _ int) (caunoi.SearchResult, error) {
	a, ok := s[q]
	if !ok {
		return caunoi.SearchResult{Query: q}, nil
	}
	return caunoi.SearchResult{Query: q, Confidence: a.conf,
		Hits: []caunoi.Hit{{Passage: handbookEntries[a.entry], Score: 1, Confidence: a.conf}}}, nil
}

// departmentOf maps a candidate to its entry's department, as the handbook does.
func departmentOf(c caunoi.Candidate) string { return handbookEntries[c.EntryID].Department }

type leadsFixture struct {
	ctx   context.Context
	store *boltstore.Store
	clock *leadsClock
	desk  *caunoi.Desk
	seq   int
}

// newLeadsFixture opens a desk on a real bbolt file with two departments,
// an official, a staff member, three leads and an admin.
func newLeadsFixture(t *testing.T, holidays ...string) *leadsFixture {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "caunoi.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cal, err := caunoi.NewCalendar(holidays, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &leadsClock{t: leadsMonday}
	f := &leadsFixture{ctx: context.Background(), store: s, clock: clock, desk: &caunoi.Desk{
		Store: s,
		Searcher: scriptedSearcher{
			"đăng ký khai sinh quá hạn cho trẻ":    {"ho-tich/khai-sinh", caunoi.ConfidenceLow},
			"khai sinh cho con ngoài giá thú":      {"ho-tich/khai-sinh", caunoi.ConfidenceLow},
			"đăng ký kết hôn với người nước ngoài": {"ho-tich/ket-hon", caunoi.ConfidenceHigh},
			"kết hôn lần hai cần giấy tờ gì":       {"ho-tich/ket-hon", caunoi.ConfidenceLow},
			"tuyển dụng công chức xã":              {"noi-vu/tuyen-dung", caunoi.ConfidenceLow},
			"thủ tục khai sinh":                    {"ho-tich/khai-sinh", caunoi.ConfidenceHigh},
			"khai sinh cần mang gì":                {"ho-tich/khai-sinh", caunoi.ConfidenceHigh},
			"kết hôn ở đâu":                        {"ho-tich/ket-hon", caunoi.ConfidenceLow},
			"tuyển dụng viên chức":                 {"noi-vu/tuyen-dung", caunoi.ConfidenceHigh},
		},
		Departments: []caunoi.Department{
			{Code: "tu-phap", Prefix: "TP", Name: "Sở Tư pháp"},
			{Code: "noi-vu", Prefix: "NV", Name: "Sở Nội vụ"},
		},
		Calendar: cal,
		Now:      clock.Now,
	}}
	for _, p := range []caunoi.Official{
		{ID: leadsOfficial, Name: "Lò Văn Páo", Commune: "03001", Roles: []caunoi.Role{caunoi.RoleOfficial}},
		{ID: leadsStaffTP, Name: "Đặng Thu Hà", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}},
		{ID: leadsLeadTP, Name: "Nguyễn Quốc Hùng", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff, caunoi.RoleLead}},
		{ID: leadsLeadTP2, Name: "Vi Thị Mai", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleLead}},
		{ID: leadsLeadNV, Name: "Hà Văn Sơn", Department: "noi-vu", Roles: []caunoi.Role{caunoi.RoleLead}},
		{ID: leadsAdmin, Name: "Quản trị tỉnh", Roles: []caunoi.Role{caunoi.RoleAdmin}},
	} {
		if err := s.PutOfficial(f.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *leadsFixture) key() string { f.seq++; return fmt.Sprintf("k%d", f.seq) }

// ask logs a question at when.
func (f *leadsFixture) ask(t *testing.T, when time.Time, text string) string {
	t.Helper()
	f.clock.Set(when)
	a, err := f.desk.Ask(f.ctx, leadsOfficial, text)
	if err != nil {
		t.Fatalf("Ask(%q): %v", text, err)
	}
	return a.QuestionID
}

// escalate asks text at when and turns it into a ticket for dept.
func (f *leadsFixture) escalate(t *testing.T, when time.Time, text, dept string) string {
	t.Helper()
	q := f.ask(t, when, text)
	out, err := f.desk.Escalate(f.ctx, leadsOfficial, caunoi.EscalateRequest{QuestionID: q, Department: dept, Key: f.key()})
	if err != nil {
		t.Fatalf("Escalate(%q): %v", text, err)
	}
	return out.Ticket.Number
}

// do runs one ticket action at when.
func (f *leadsFixture) do(t *testing.T, when time.Time, number string, a caunoi.Action) {
	t.Helper()
	f.clock.Set(when)
	var err error
	switch a {
	case caunoi.ActionClaim:
		_, err = f.desk.Claim(f.ctx, leadsStaffTP, number, f.key())
	case caunoi.ActionReply:
		_, err = f.desk.Reply(f.ctx, leadsStaffTP, number, f.key(), caunoi.Note{Text: "Trả lời của Sở."})
	case caunoi.ActionRequestInfo:
		_, err = f.desk.RequestInfo(f.ctx, leadsStaffTP, number, f.key(), caunoi.Note{Text: "Đề nghị gửi ảnh giấy tờ."})
	case caunoi.ActionClose:
		_, err = f.desk.Close(f.ctx, leadsStaffTP, number, f.key(), "Câu hỏi trùng phiếu khác.")
	case caunoi.ActionConfirm:
		_, err = f.desk.Confirm(f.ctx, leadsOfficial, number, f.key())
	default:
		t.Fatalf("no helper for %s", a)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", a, number, err)
	}
}

func (f *leadsFixture) rate(t *testing.T, when time.Time, number string, stars int) {
	t.Helper()
	f.clock.Set(when)
	if _, err := f.desk.Rate(f.ctx, leadsOfficial, number, f.key(), stars); err != nil {
		t.Fatalf("Rate %s: %v", number, err)
	}
}

// seedWeek builds the week the statistics test reads. Due times follow the
// default policy (4 and 16 working hours) on office hours 07:30–11:30 and
// 13:30–17:00.
func seedWeek(t *testing.T, f *leadsFixture) {
	t.Helper()
	// T1, Monday 08:00: due 14:00 Monday and 09:00 Wednesday. Claimed after
	// 1 h, answered at 10:00, confirmed at 10:30 (2.5 working hours).
	t1 := f.escalate(t, vnAt(0, 8, 0), "đăng ký khai sinh quá hạn cho trẻ", "tu-phap")
	f.do(t, vnAt(0, 9, 0), t1, caunoi.ActionClaim)
	f.do(t, vnAt(0, 10, 0), t1, caunoi.ActionReply)
	f.do(t, vnAt(0, 10, 30), t1, caunoi.ActionConfirm)
	f.rate(t, vnAt(0, 10, 40), t1, 5)
	// T2, Monday 09:00: due 15:00 Monday and 10:00 Wednesday. First answer
	// at 16:00 (5 working hours: late), confirmed Tuesday 08:30 (7 h).
	t2 := f.escalate(t, vnAt(0, 9, 0), "khai sinh cho con ngoài giá thú", "tu-phap")
	f.do(t, vnAt(0, 16, 0), t2, caunoi.ActionReply)
	f.do(t, vnAt(1, 8, 30), t2, caunoi.ActionConfirm)
	f.rate(t, vnAt(1, 8, 40), t2, 3)
	// T3, Monday 10:00: due 16:00 Monday and 11:00 Wednesday; nobody acts.
	f.escalate(t, vnAt(0, 10, 0), "đăng ký kết hôn với người nước ngoài", "tu-phap")
	// T4, Tuesday 14:00: claimed after 1 h, then waits on the official.
	t4 := f.escalate(t, vnAt(1, 14, 0), "kết hôn lần hai cần giấy tờ gì", "tu-phap")
	f.do(t, vnAt(1, 15, 0), t4, caunoi.ActionClaim)
	f.do(t, vnAt(1, 15, 30), t4, caunoi.ActionRequestInfo)
	// T5, for the other department.
	f.escalate(t, vnAt(0, 11, 0), "tuyển dụng công chức xã", "noi-vu")

	// Questions that did not become tickets.
	f.ask(t, vnAt(0, 13, 30), "thủ tục khai sinh")          // sure answer: deflected
	q7 := f.ask(t, vnAt(0, 14, 0), "khai sinh cần mang gì") // sure, but marked unhelpful
	q8 := f.ask(t, vnAt(1, 9, 0), "kết hôn ở đâu")          // unsure, but marked helpful
	f.ask(t, vnAt(1, 10, 0), "lương công chức")             // nothing found: no department
	f.ask(t, vnAt(1, 11, 0), "tuyển dụng viên chức")        // sure, other department
	f.ask(t, vnAt(-3, 10, 0), "thủ tục khai sinh")          // before the period
	for q, helpful := range map[string]bool{q7: false, q8: true} {
		if err := f.desk.Feedback(f.ctx, leadsOfficial, q, helpful); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStatsOnSeededWeek(t *testing.T) {
	f := newLeadsFixture(t)
	seedWeek(t, f)
	f.clock.Set(vnAt(3, 9, 0)) // Thursday 09:00
	from, to := leadsMonday, vnAt(5, 0, 0)

	s, err := f.desk.StatsFor(f.ctx, leadsLeadTP, caunoi.StatsQuery{Department: "tu-phap", From: from, To: to, DepartmentOf: departmentOf, Top: 3})
	if err != nil {
		t.Fatalf("StatsFor: %v", err)
	}
	h := time.Hour
	checks := []struct {
		name      string
		got, want any
	}{
		{"tickets", s.Tickets, 4},
		{"by status", s.ByStatus, map[caunoi.Status]int{caunoi.StatusResolved: 2, caunoi.StatusNew: 1, caunoi.StatusWaitingOfficial: 1}},
		{"overdue", s.Overdue, 1},
		{"responded", s.Responded, 3},
		{"median first response", s.MedianFirstResponse, h},
		{"p90 first response", s.P90FirstResponse, 5 * h},
		{"resolved", s.Resolved, 2},
		{"median resolution", s.MedianResolution, 150 * time.Minute},
		{"p90 resolution", s.P90Resolution, 7 * h},
		{"response deadlines settled", s.ResponseDeadlines, 4},
		{"response deadlines missed", s.ResponseMissed, 2},
		{"response miss rate", s.ResponseMissRate(), 0.5},
		{"resolution deadlines settled", s.ResolutionDeadlines, 3},
		{"resolution deadlines missed", s.ResolutionMissed, 1},
		{"questions", s.Questions, 7},
		{"deflected", s.Deflected, 2},
		{"escalated", s.Escalated, 4},
		{"deflection rate", s.DeflectionRate(), 2.0 / 7},
		{"top entries", s.TopEntries, []caunoi.TopicCount{
			{Key: "ho-tich/ket-hon", Title: "Đăng ký kết hôn", Count: 2},
			{Key: "ho-tich/khai-sinh", Title: "Đăng ký khai sinh", Count: 2},
		}},
		{"unmatched", s.Unmatched, 0},
		{"top keywords", s.TopKeywords, []caunoi.TopicCount{
			{Key: "dang ky", Count: 2}, {Key: "ket hon", Count: 2}, {Key: "khai sinh", Count: 2},
		}},
		{"rated", s.Rated, 2},
		{"mean rating", s.MeanRating, 4.0},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	all, err := f.desk.StatsFor(f.ctx, leadsAdmin, caunoi.StatsQuery{From: from, To: to, DepartmentOf: departmentOf})
	if err != nil {
		t.Fatal(err)
	}
	if all.Tickets != 5 || all.Questions != 10 || all.Deflected != 3 || all.Escalated != 5 {
		t.Errorf("all departments: tickets %d, questions %d, deflected %d, escalated %d; want 5, 10, 3, 5",
			all.Tickets, all.Questions, all.Deflected, all.Escalated)
	}

	// Without the handbook's departments, only escalated questions count
	// for a department.
	bare, err := f.desk.Stats(f.ctx, leadsLeadTP, "tu-phap", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if bare.Questions != 4 || bare.Deflected != 0 {
		t.Errorf("without DepartmentOf: questions %d, deflected %d; want 4, 0", bare.Questions, bare.Deflected)
	}
}

func TestStatsAuthorisation(t *testing.T) {
	f := newLeadsFixture(t)
	from, to := leadsMonday, vnAt(7, 0, 0)
	tests := []struct {
		name  string
		actor caunoi.UserID
		dept  string
		want  error
	}{
		{"lead of the department", leadsLeadTP, "tu-phap", nil},
		{"admin, one department", leadsAdmin, "noi-vu", nil},
		{"admin, all departments", leadsAdmin, "", nil},
		{"operator", caunoi.Operator, "", nil},
		{"lead of another department", leadsLeadNV, "tu-phap", caunoi.ErrForbidden},
		{"lead, all departments", leadsLeadTP, "", caunoi.ErrForbidden},
		{"staff", leadsStaffTP, "tu-phap", caunoi.ErrForbidden},
		{"official", leadsOfficial, "tu-phap", caunoi.ErrForbidden},
		{"stranger", 999, "tu-phap", caunoi.ErrForbidden},
		{"unknown department", leadsAdmin, "khong-co", caunoi.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.desk.StatsFor(f.ctx, tt.actor, caunoi.StatsQuery{Department: tt.dept, From: from, To: to})
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := f.desk.StatsFor(f.ctx, leadsAdmin, caunoi.StatsQuery{From: to, To: from}); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("reversed period: %v, want ErrInvalid", err)
	}
}

func TestStatsUnmatchedAndEmpty(t *testing.T) {
	f := newLeadsFixture(t)
	f.escalate(t, vnAt(0, 9, 0), "một câu hỏi sổ tay chưa có", "tu-phap")
	f.clock.Set(vnAt(0, 10, 0))
	s, err := f.desk.StatsFor(f.ctx, leadsLeadTP, caunoi.StatsQuery{Department: "tu-phap", From: leadsMonday, To: vnAt(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Unmatched != 1 || len(s.TopEntries) != 0 {
		t.Errorf("unmatched %d, top entries %v; want 1 and none", s.Unmatched, s.TopEntries)
	}
	if s.ResponseDeadlines != 0 || s.ResponseMissRate() != 0 || s.MedianFirstResponse != 0 {
		t.Errorf("a ticket still within its deadlines: settled %d, rate %v, median %v; want zeros",
			s.ResponseDeadlines, s.ResponseMissRate(), s.MedianFirstResponse)
	}
	empty, err := f.desk.StatsFor(f.ctx, leadsLeadNV, caunoi.StatsQuery{Department: "noi-vu", From: leadsMonday, To: vnAt(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Tickets != 0 || empty.DeflectionRate() != 0 || empty.MeanRating != 0 {
		t.Errorf("empty department: %+v", empty)
	}
}

// BenchmarkStatsFor measures a lead's monthly statistics on a bbolt file
// holding 1,000 tickets of the department (half answered, a quarter
// confirmed) and 1,000 logged questions.
func BenchmarkStatsFor(b *testing.B) {
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "caunoi.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.PutOfficial(ctx, caunoi.Official{ID: leadsLeadTP, Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleLead}}); err != nil {
		b.Fatal(err)
	}
	cal, _ := caunoi.NewCalendar(nil, nil)
	entries := []string{"ho-tich/khai-sinh", "ho-tich/ket-hon", "noi-vu/tuyen-dung"}
	questions := []string{"đăng ký khai sinh quá hạn cho trẻ", "đăng ký kết hôn với người nước ngoài", "chứng thực bản sao giấy khai sinh"}
	for i := 0; i < 1000; i++ {
		at := leadsMonday.Add(time.Duration(i) * 37 * time.Minute)
		p := handbookEntries[entries[i%len(entries)]]
		top := []caunoi.Candidate{{PassageID: p.ID, EntryID: p.EntryID, Title: p.Title, Confidence: caunoi.ConfidenceLow}}
		t := caunoi.Ticket{Department: "tu-phap", Asker: leadsOfficial, Question: questions[i%len(questions)], Results: top,
			Status: caunoi.StatusNew, IdemKey: fmt.Sprintf("b%d", i), Created: at, Updated: at,
			FirstResponseDue: cal.AddWorkingHours(at, 4*time.Hour), ResolutionDue: cal.AddWorkingHours(at, 16*time.Hour)}
		t, _, err := s.CreateTicket(ctx, "TP", t, caunoi.Event{Kind: caunoi.EventCreated, Actor: leadsOfficial, At: at, To: caunoi.StatusNew})
		if err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			_, err := s.UpdateTicket(ctx, t.Number, func(t *caunoi.Ticket) ([]caunoi.Event, error) {
				reply := at.Add(2 * time.Hour)
				t.Status, t.FirstResponse, t.Updated = caunoi.StatusAnswered, reply, reply
				if i%4 == 0 {
					t.Status, t.ResolvedAt, t.Rating = caunoi.StatusResolved, reply.Add(time.Hour), 1+i%5
				}
				return []caunoi.Event{{Kind: caunoi.EventReplied, Actor: leadsStaffTP, At: reply, From: caunoi.StatusNew, To: caunoi.StatusAnswered}}, nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		_, err = s.LogQuestion(ctx, caunoi.QuestionRecord{Asker: leadsOfficial, Text: questions[i%len(questions)], Confidence: caunoi.Confidence(i % 3), Top: top, At: at})
		if err != nil {
			b.Fatal(err)
		}
	}
	desk := &caunoi.Desk{Store: s, Departments: []caunoi.Department{{Code: "tu-phap", Prefix: "TP"}, {Code: "noi-vu", Prefix: "NV"}},
		Calendar: cal, Now: func() time.Time { return vnAt(40, 9, 0) }}
	q := caunoi.StatsQuery{Department: "tu-phap", From: leadsMonday, To: vnAt(40, 0, 0), DepartmentOf: departmentOf}
	b.ResetTimer()
	for b.Loop() {
		st, err := desk.StatsFor(ctx, leadsLeadTP, q)
		if err != nil || st.Tickets != 1000 {
			b.Fatalf("StatsFor: %d tickets, %v", st.Tickets, err)
		}
	}
}

// failingOfficials is a store whose reads of people fail, as when the
// database stops answering mid-question.
type failingOfficials struct{ *boltstore.Store }

var errStoreDown = errors.New("store down")

func (failingOfficials) Official(context.Context, caunoi.UserID) (caunoi.Official, error) {
	return caunoi.Official{}, errStoreDown
}

// TestAskLogsCommune checks what Ask reads about the asker, which it does
// while the search runs: a registered official's commune is logged with the
// question, a stranger's question is logged without one, and a failed read
// fails the question with nothing logged, so that it is asked again.
func TestAskLogsCommune(t *testing.T) {
	f := newLeadsFixture(t)
	const text = "thủ tục khai sinh"
	f.clock.Set(vnAt(0, 9, 0))
	if _, err := f.desk.Ask(f.ctx, leadsOfficial, text); err != nil {
		t.Fatalf("Ask by an official: %v", err)
	}
	if _, err := f.desk.Ask(f.ctx, 999, text); err != nil {
		t.Fatalf("Ask by a stranger: %v", err)
	}
	down := *f.desk
	down.Store = failingOfficials{f.store}
	if _, err := down.Ask(f.ctx, leadsOfficial, text); !errors.Is(err, errStoreDown) {
		t.Fatalf("Ask with the store down: %v, want %v", err, errStoreDown)
	}
	qs, err := f.store.Questions(f.ctx, time.Time{}, vnAt(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	got := map[caunoi.UserID]string{}
	for _, q := range qs {
		got[q.Asker] = q.Commune
	}
	want := map[caunoi.UserID]string{leadsOfficial: "03001", 999: ""}
	if len(qs) != 2 || !reflect.DeepEqual(got, want) {
		t.Errorf("logged %d questions, communes by asker %v; want 2, %v", len(qs), got, want)
	}
}

// TestAnswerQuestionIDs checks the IDs Answer hands out: they name nothing
// until the caller stores the record, increase within one desk, never
// repeat across two desks on one store (two replicas), across more than one
// reserved block, and the record stored under one reads back as returned.
func TestAnswerQuestionIDs(t *testing.T) {
	f := newLeadsFixture(t)
	f.clock.Set(vnAt(0, 9, 0))
	other := *f.desk // a second replica on the same store
	seen := map[string]bool{}
	last := map[*caunoi.Desk]int64{}
	var recs []caunoi.QuestionRecord
	for i := range 2600 { // the first desk uses more than one block
		d := f.desk
		if i%3 == 2 {
			d = &other
		}
		a, rec, err := d.Answer(f.ctx, leadsOfficial, "thủ tục khai sinh")
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		if a.QuestionID != rec.ID || rec.Commune != "03001" || rec.Text != "thủ tục khai sinh" {
			t.Fatalf("Answer: question %q, record %+v", a.QuestionID, rec)
		}
		if seen[rec.ID] {
			t.Fatalf("question ID %s handed out twice", rec.ID)
		}
		seen[rec.ID] = true
		n, err := strconv.ParseInt(strings.TrimPrefix(rec.ID, "Q"), 10, 64)
		if err != nil || caunoi.QuestionID(n) != rec.ID {
			t.Fatalf("question ID %q is not a question number", rec.ID)
		}
		if n <= last[d] {
			t.Fatalf("question ID %s after Q%d from the same desk", rec.ID, last[d])
		}
		last[d] = n
		recs = append(recs, rec)
	}
	qs, err := f.store.Questions(f.ctx, time.Time{}, vnAt(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 0 {
		t.Fatalf("Answer logged %d questions, want none: the caller stores them", len(qs))
	}
	if _, err := f.store.Question(f.ctx, recs[0].ID); !errors.Is(err, caunoi.ErrNotFound) {
		t.Fatalf("Question(%s) before it is stored: %v, want ErrNotFound", recs[0].ID, err)
	}
	if err := f.store.EnqueueDone(f.ctx, nil, 1, recs[0]); err != nil {
		t.Fatalf("EnqueueDone: %v", err)
	}
	got, err := f.store.Question(f.ctx, recs[0].ID)
	if err == nil && got.At.Equal(recs[0].At) {
		got.At = recs[0].At // the same instant; the store keeps no zone
	}
	if err != nil || !reflect.DeepEqual(got, recs[0]) {
		t.Errorf("Question(%s) = %+v, %v; want %+v", recs[0].ID, got, err, recs[0])
	}
}
