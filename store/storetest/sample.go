package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// Sample is what WriteSample stored: one or more records of every kind.
type Sample struct {
	Officials []caunoi.Official
	Invite    caunoi.Invite
	Communes  []caunoi.Commune
	Tickets   []caunoi.Ticket
	Events    map[string][]caunoi.Event
	Questions []caunoi.QuestionRecord
	Pending   []caunoi.JournalEntry // DoneID was appended and marked done
	DoneID    int64
	Outbox    []caunoi.OutMessage
	Values    map[string]string
}

// WriteSample fills s with records of every kind and returns them, so that
// a durability test can close or restart the store and call CheckSample.
func WriteSample(tb testing.TB, s caunoi.Store) Sample {
	tb.Helper()
	ctx := context.Background()
	fail := func(what string, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("%s: %v", what, err)
		}
	}
	var w Sample
	w.Officials = []caunoi.Official{
		{ID: 7, Name: "Hoàng Văn Bình", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}, Registered: suiteEpoch},
		{ID: 8, Name: "Ngô Thị Mai", Commune: "26734", Roles: []caunoi.Role{caunoi.RoleOfficial}, Registered: suiteEpoch},
	}
	for _, o := range w.Officials {
		fail("PutOfficial", s.PutOfficial(ctx, o))
	}
	w.Invite = caunoi.Invite{Code: "SAO-LUU", Role: caunoi.RoleLead, Department: "tu-phap", Created: suiteEpoch, Expires: suiteEpoch.Add(time.Hour)}
	fail("CreateInvite", s.CreateInvite(ctx, w.Invite))
	w.Communes = []caunoi.Commune{{Code: "00004", Name: "Phường Ba Đình", Province: "Thành phố Hà Nội"}, {Code: "26734", Name: "Phường Bến Thành", Province: "Thành phố Hồ Chí Minh"}}
	fail("ReplaceCommunes", s.ReplaceCommunes(ctx, w.Communes))

	w.Events = map[string][]caunoi.Event{}
	for i := range 12 {
		at := suiteEpoch.Add(time.Duration(i) * time.Minute)
		tk := sampleTicket("tu-phap", 8, at)
		tk.IdemKey = fmt.Sprintf("sample:%d", i)
		tk = mustCreateTicket(tb, s, "TP", tk)
		if i%3 == 0 {
			var err error
			tk, err = s.UpdateTicket(ctx, tk.Number, claimFn(7, at.Add(time.Minute)))
			fail("UpdateTicket", err)
		}
		evs, err := s.Events(ctx, tk.Number)
		fail("Events", err)
		w.Tickets = append(w.Tickets, tk)
		w.Events[tk.Number] = evs
	}
	for i := range 3 {
		q, err := s.LogQuestion(ctx, caunoi.QuestionRecord{Asker: 8, Commune: "26734", Text: fmt.Sprintf("câu hỏi số %d", i), At: suiteEpoch.Add(time.Duration(i) * time.Second)})
		fail("LogQuestion", err)
		w.Questions = append(w.Questions, q)
	}
	for i := range 3 {
		e := journalEntry(int64(900+i), 8, suiteEpoch)
		_, err := s.Append(ctx, e)
		fail("Append", err)
		if i == 0 {
			w.DoneID = e.ID
			fail("Done", s.Done(ctx, e.ID))
			continue
		}
		w.Pending = append(w.Pending, e)
	}
	w.Outbox = []caunoi.OutMessage{outMessage("o1", 8, suiteEpoch, suiteEpoch), outMessage("o2", 9, suiteEpoch.Add(time.Second), suiteEpoch.Add(time.Second))}
	fail("Enqueue", s.Enqueue(ctx, w.Outbox))
	w.Values = map[string]string{"cau-hinh": "giữ nguyên"}
	for k, v := range w.Values {
		_, err := s.SetNX(ctx, k, []byte(v), 0)
		fail("SetNX", err)
	}
	return w
}

// CheckSample fails tb unless s holds everything in w.
func CheckSample(tb testing.TB, s caunoi.Store, w Sample) {
	tb.Helper()
	ctx := context.Background()
	for _, o := range w.Officials {
		got, err := s.Official(ctx, o.ID)
		if err != nil {
			tb.Fatalf("Official(%d): %v", o.ID, err)
		}
		checkEqual(tb, "Official", got, o)
	}
	inv, err := s.Invite(ctx, w.Invite.Code)
	if err != nil {
		tb.Fatalf("Invite: %v", err)
	}
	checkEqual(tb, "Invite", inv, w.Invite)
	communes, err := s.Communes(ctx)
	if err != nil {
		tb.Fatalf("Communes: %v", err)
	}
	checkEqual(tb, "Communes", communes, w.Communes)
	for _, tk := range w.Tickets {
		got, err := s.Ticket(ctx, tk.Number)
		if err != nil {
			tb.Fatalf("Ticket(%s): %v", tk.Number, err)
		}
		checkEqual(tb, "Ticket "+tk.Number, got, tk)
		evs, err := s.Events(ctx, tk.Number)
		if err != nil {
			tb.Fatalf("Events(%s): %v", tk.Number, err)
		}
		checkEqual(tb, "Events "+tk.Number, evs, w.Events[tk.Number])
	}
	list, err := s.Tickets(ctx, caunoi.TicketFilter{Department: "tu-phap"})
	if err != nil {
		tb.Fatalf("Tickets: %v", err)
	}
	if len(list) != len(w.Tickets) || list[0].Number != w.Tickets[len(w.Tickets)-1].Number {
		tb.Errorf("Tickets(tu-phap): %d tickets starting %v, want %d starting %s", len(list), numbersOf(list[:min(1, len(list))]), len(w.Tickets), w.Tickets[len(w.Tickets)-1].Number)
	}
	again := w.Tickets[0]
	got, created, err := s.CreateTicket(ctx, "TP", again, createdEvent(again.Asker, again.Created))
	if err != nil || created || got.Number != again.Number {
		tb.Errorf("CreateTicket(same idempotency key) = %s, %v, %v; want %s, not created", got.Number, created, err, again.Number)
	}
	qs, err := s.Questions(ctx, suiteEpoch, suiteEpoch.Add(time.Hour))
	if err != nil {
		tb.Fatalf("Questions: %v", err)
	}
	checkEqual(tb, "Questions", qs, w.Questions)
	pending, err := s.Pending(ctx, 10)
	if err != nil {
		tb.Fatalf("Pending: %v", err)
	}
	checkEqual(tb, "Pending", pending, w.Pending)
	added, err := s.Append(ctx, journalEntry(w.DoneID, 8, suiteEpoch))
	if err != nil || added {
		tb.Errorf("Append(done before restart) = %v, %v; want remembered", added, err)
	}
	due, err := s.Due(ctx, suiteEpoch.Add(time.Hour), 10)
	if err != nil {
		tb.Fatalf("Due: %v", err)
	}
	checkEqual(tb, "Due", due, w.Outbox)
	for k, v := range w.Values {
		got, err := s.Value(ctx, k)
		if err != nil {
			tb.Fatalf("Value(%s): %v", k, err)
		}
		checkEqual(tb, "Value "+k, string(got), v)
	}
}
