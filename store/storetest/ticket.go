package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// sampleTicket returns a new ticket from asker to dept created at at.
func sampleTicket(dept string, asker caunoi.UserID, at time.Time) caunoi.Ticket {
	return caunoi.Ticket{
		Department: dept,
		Asker:      asker,
		Commune:    "26734",
		Question:   "Khai sinh cho trẻ sinh ở nước ngoài về nước thì nộp ở xã hay ở Sở?",
		Results: []caunoi.Candidate{
			{PassageID: "ho-tich/dang-ky-khai-sinh#ho-so", EntryID: "ho-tich/dang-ky-khai-sinh", Title: "Đăng ký khai sinh", Section: "Hồ sơ cần nộp", Score: 3.25, Confidence: caunoi.Confidence(1)},
		},
		Attachments:      []caunoi.Attachment{{Kind: "photo", Ref: "AgACAgIAAxkBAAI", Name: "to-khai.jpg", MIME: "image/jpeg", Size: 48213}},
		Status:           caunoi.StatusNew,
		Created:          at,
		Updated:          at,
		FirstResponseDue: at.Add(8 * time.Hour),
		ResolutionDue:    at.Add(72 * time.Hour),
	}
}

func createdEvent(asker caunoi.UserID, at time.Time) caunoi.Event {
	return caunoi.Event{Kind: caunoi.EventCreated, Actor: asker, At: at, Text: "Hỏi Sở Tư pháp", To: caunoi.StatusNew}
}

// mustCreateTicket creates a ticket and fails the test on error.
func mustCreateTicket(t testing.TB, s caunoi.Store, prefix string, tk caunoi.Ticket) caunoi.Ticket {
	t.Helper()
	got, _, err := s.CreateTicket(context.Background(), prefix, tk, createdEvent(tk.Asker, tk.Created))
	if err != nil {
		t.Fatalf("CreateTicket(%s): %v", prefix, err)
	}
	return got
}

func testTicketCreate(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)

	_, err := s.Ticket(ctx, "TP-2025-000001")
	checkErr(t, "Ticket(missing)", err, caunoi.ErrNotFound)
	_, err = s.Events(ctx, "TP-2025-000001")
	checkErr(t, "Events(missing)", err, caunoi.ErrNotFound)
	_, err = s.UpdateTicket(ctx, "TP-2025-000001", func(*caunoi.Ticket) ([]caunoi.Event, error) { return nil, nil })
	checkErr(t, "UpdateTicket(missing)", err, caunoi.ErrNotFound)

	in := sampleTicket("tu-phap", 30, suiteEpoch)
	ev := createdEvent(30, suiteEpoch)
	got, created, err := s.CreateTicket(ctx, "TP", in, ev)
	if err != nil || !created {
		t.Fatalf("CreateTicket = %v, %v; want created", created, err)
	}
	want := in
	want.Number = "TP-2025-000001"
	checkEqual(t, "CreateTicket result", got, want)
	stored, err := s.Ticket(ctx, want.Number)
	if err != nil {
		t.Fatalf("Ticket: %v", err)
	}
	checkEqual(t, "Ticket after create", stored, want)
	evs, err := s.Events(ctx, want.Number)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	wantEv := ev
	wantEv.Ticket, wantEv.Seq = want.Number, 1
	checkEqual(t, "Events after create", evs, []caunoi.Event{wantEv})

	numbers := []string{
		mustCreateTicket(t, s, "TP", sampleTicket("tu-phap", 31, suiteEpoch.Add(time.Minute))).Number,
		mustCreateTicket(t, s, "XD", sampleTicket("xay-dung", 31, suiteEpoch.Add(time.Minute))).Number,
		mustCreateTicket(t, s, "TP", sampleTicket("tu-phap", 31, time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC))).Number,
	}
	checkEqual(t, "numbers by prefix and year", numbers, []string{"TP-2025-000002", "XD-2025-000001", "TP-2026-000001"})
}

func testTicketIdempotent(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)

	first := sampleTicket("tu-phap", 30, suiteEpoch)
	first.IdemKey = "esc:30:q-77"
	a, created, err := s.CreateTicket(ctx, "TP", first, createdEvent(30, suiteEpoch))
	if err != nil || !created {
		t.Fatalf("CreateTicket(first) = %v, %v; want created", created, err)
	}
	again := first
	again.Question = "Câu hỏi gửi lại lần hai"
	again.Created = suiteEpoch.Add(time.Minute)
	b, created, err := s.CreateTicket(ctx, "TP", again, createdEvent(30, again.Created))
	if err != nil {
		t.Fatalf("CreateTicket(retry): %v", err)
	}
	if created {
		t.Error("CreateTicket(retry) reported created, want the earlier ticket")
	}
	checkEqual(t, "CreateTicket(retry) returns the first ticket", b, a)
	evs, err := s.Events(ctx, a.Number)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if len(evs) != 1 {
		t.Errorf("Events after retried create: %d events, want 1", len(evs))
	}
	list, err := s.Tickets(ctx, caunoi.TicketFilter{})
	if err != nil {
		t.Fatalf("Tickets: %v", err)
	}
	if len(list) != 1 {
		t.Errorf("Tickets after retried create: %d tickets, want 1", len(list))
	}

	other := sampleTicket("tu-phap", 30, suiteEpoch)
	other.IdemKey = "esc:30:q-78"
	c := mustCreateTicket(t, s, "TP", other)
	if c.Number == a.Number {
		t.Errorf("a different idempotency key reused ticket %s", a.Number)
	}
}

func testTicketIdempotentConcurrent(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	const n = 100
	type result struct {
		number  string
		created bool
		err     error
	}
	results := make([]result, n)
	race(n, func(i int) {
		tk := sampleTicket("tu-phap", 30, suiteEpoch)
		tk.IdemKey = "esc:30:bam-hai-lan"
		got, created, err := s.CreateTicket(ctx, "TP", tk, createdEvent(30, suiteEpoch))
		results[i] = result{got.Number, created, err}
	})
	createdCount := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("caller %d: %v", i, r.err)
		}
		if r.created {
			createdCount++
		}
		if r.number != results[0].number {
			t.Errorf("caller %d got ticket %q, caller 0 got %q", i, r.number, results[0].number)
		}
	}
	if createdCount != 1 {
		t.Errorf("%d callers created a ticket, want exactly 1", createdCount)
	}
	list, err := s.Tickets(ctx, caunoi.TicketFilter{})
	if err != nil {
		t.Fatalf("Tickets: %v", err)
	}
	if len(list) != 1 {
		t.Errorf("stored %d tickets, want 1", len(list))
	}
}

func testTicketUpdate(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	tk := mustCreateTicket(t, s, "TP", sampleTicket("tu-phap", 30, suiteEpoch))
	claimAt := suiteEpoch.Add(20 * time.Minute)

	got, err := s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		cur.Status = caunoi.StatusClaimed
		cur.Assignee = 10
		cur.FirstResponse = claimAt
		cur.Updated = claimAt
		cur.Applied = append(cur.Applied, "cb:claim:1")
		cur.Number = "XX-9999-000001" // the number is not the callback's to change
		return []caunoi.Event{{Kind: caunoi.EventClaimed, Actor: 10, At: claimAt, From: caunoi.StatusNew, To: caunoi.StatusClaimed}}, nil
	})
	if err != nil {
		t.Fatalf("UpdateTicket(claim): %v", err)
	}
	want := tk
	want.Status, want.Assignee, want.FirstResponse, want.Updated = caunoi.StatusClaimed, 10, claimAt, claimAt
	want.Applied = []string{"cb:claim:1"}
	checkEqual(t, "UpdateTicket result", got, want)
	stored, err := s.Ticket(ctx, tk.Number)
	if err != nil {
		t.Fatalf("Ticket: %v", err)
	}
	checkEqual(t, "Ticket after update", stored, want)

	replyAt := claimAt.Add(time.Hour)
	_, err = s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		if cur.Status != caunoi.StatusClaimed {
			return nil, fmt.Errorf("callback saw status %q, want claimed", cur.Status)
		}
		cur.Status = caunoi.StatusAnswered
		return []caunoi.Event{
			{Kind: caunoi.EventReplied, Actor: 10, At: replyAt, Text: "Nộp tại UBND xã nơi cư trú.", Attachments: []caunoi.Attachment{{Kind: "document", Ref: "BQACAgIAAx", Name: "huong-dan.pdf"}}},
			{Kind: caunoi.EventResolved, Actor: 10, At: replyAt, From: caunoi.StatusClaimed, To: caunoi.StatusAnswered},
		}, nil
	})
	if err != nil {
		t.Fatalf("UpdateTicket(reply): %v", err)
	}
	// An update with no events changes the ticket only.
	_, err = s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		cur.Rating = 5
		return nil, nil
	})
	if err != nil {
		t.Fatalf("UpdateTicket(rate): %v", err)
	}
	evs, err := s.Events(ctx, tk.Number)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	var kinds []string
	for i, e := range evs {
		if e.Seq != i+1 || e.Ticket != tk.Number {
			t.Errorf("event %d: Seq %d Ticket %q, want %d %q", i, e.Seq, e.Ticket, i+1, tk.Number)
		}
		kinds = append(kinds, string(e.Kind))
	}
	checkEqual(t, "event kinds", kinds, []string{"created", "claimed", "replied", "resolved"})
	if len(evs) == 4 {
		checkEqual(t, "reply attachments", evs[2].Attachments, []caunoi.Attachment{{Kind: "document", Ref: "BQACAgIAAx", Name: "huong-dan.pdf"}})
	}
	final, err := s.Ticket(ctx, tk.Number)
	if err != nil {
		t.Fatalf("Ticket: %v", err)
	}
	if final.Status != caunoi.StatusAnswered || final.Rating != 5 {
		t.Errorf("final ticket: status %q rating %d, want answered 5", final.Status, final.Rating)
	}
}

var errRefused = errors.New("refused by the callback")

func testTicketUpdateError(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	tk := mustCreateTicket(t, s, "TP", sampleTicket("tu-phap", 30, suiteEpoch))
	before, _ := s.Events(ctx, tk.Number)

	_, err := s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		cur.Status = caunoi.StatusClosed
		cur.Department = "xay-dung"
		return []caunoi.Event{{Kind: caunoi.EventClosed}}, errRefused
	})
	if err != errRefused {
		t.Errorf("UpdateTicket: got error %v, want the callback's error unchanged", err)
	}
	got, err := s.Ticket(ctx, tk.Number)
	if err != nil {
		t.Fatalf("Ticket: %v", err)
	}
	checkEqual(t, "ticket after failed update", got, tk)
	after, err := s.Events(ctx, tk.Number)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	checkEqual(t, "events after failed update", after, before)
	list, err := s.Tickets(ctx, caunoi.TicketFilter{Department: "xay-dung"})
	if err != nil || len(list) != 0 {
		t.Errorf("Tickets(xay-dung) after failed transfer = %d tickets, %v; want none", len(list), err)
	}

	// The same holds for an error wrapping a domain sentinel.
	_, err = s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		cur.Assignee = 99
		return nil, fmt.Errorf("claim %s: %w", cur.Number, caunoi.ErrConflict)
	})
	checkErr(t, "UpdateTicket(conflict)", err, caunoi.ErrConflict)
	got, _ = s.Ticket(ctx, tk.Number)
	if got.Assignee != 0 {
		t.Errorf("assignee after refused claim = %d, want 0", got.Assignee)
	}
}

// claimFn claims a new ticket for staff and refuses any other status.
func claimFn(staff caunoi.UserID, at time.Time) func(*caunoi.Ticket) ([]caunoi.Event, error) {
	return func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		if cur.Status != caunoi.StatusNew {
			return nil, fmt.Errorf("ticket %s is %s: %w", cur.Number, cur.Status, caunoi.ErrConflict)
		}
		from := cur.Status
		cur.Status, cur.Assignee, cur.Updated = caunoi.StatusClaimed, staff, at
		return []caunoi.Event{{Kind: caunoi.EventClaimed, Actor: staff, At: at, From: from, To: caunoi.StatusClaimed}}, nil
	}
}

func testTicketClaimConcurrent(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	tk := mustCreateTicket(t, s, "TP", sampleTicket("tu-phap", 30, suiteEpoch))
	const n = 50
	errs := make([]error, n)
	race(n, func(i int) {
		_, errs[i] = s.UpdateTicket(ctx, tk.Number, claimFn(caunoi.UserID(100+i), suiteEpoch.Add(time.Minute)))
	})
	var winner caunoi.UserID
	for i, err := range errs {
		switch {
		case err == nil:
			if winner != 0 {
				t.Errorf("staff %d and %d both claimed the ticket", winner, 100+i)
			}
			winner = caunoi.UserID(100 + i)
		case !errors.Is(err, caunoi.ErrConflict):
			t.Errorf("staff %d: got error %v, want %v", 100+i, err, caunoi.ErrConflict)
		}
	}
	if winner == 0 {
		t.Fatal("nobody claimed the ticket")
	}
	got, err := s.Ticket(ctx, tk.Number)
	if err != nil {
		t.Fatalf("Ticket: %v", err)
	}
	if got.Assignee != winner || got.Status != caunoi.StatusClaimed {
		t.Errorf("ticket assignee %d status %q, want %d claimed", got.Assignee, got.Status, winner)
	}
	evs, err := s.Events(ctx, tk.Number)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	claims := 0
	for _, e := range evs {
		if e.Kind == caunoi.EventClaimed {
			claims++
			if e.Actor != winner {
				t.Errorf("claim event by %d, want %d", e.Actor, winner)
			}
		}
	}
	if claims != 1 || len(evs) != 2 {
		t.Errorf("timeline has %d events with %d claims, want 2 events with 1 claim", len(evs), claims)
	}
}

func testTicketSequences(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	const workers, each = 8, 200
	prefixes := []string{"TP", "XD"}
	// Creation times straddle the new year, so each prefix counts in two years.
	times := []time.Time{
		time.Date(2025, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	numbers := make([][]string, workers)
	var mu sync.Mutex
	var firstErr error
	race(workers, func(w int) {
		for i := range each {
			prefix, at := prefixes[w%2], times[i%2]
			got, _, err := s.CreateTicket(ctx, prefix, sampleTicket("tu-phap", caunoi.UserID(w+1), at), createdEvent(caunoi.UserID(w+1), at))
			if err != nil {
				mu.Lock()
				firstErr = cmp.Or(firstErr, err)
				mu.Unlock()
				return
			}
			if want := fmt.Sprintf("%s-%d-", prefix, at.Year()); !strings.HasPrefix(got.Number, want) {
				mu.Lock()
				firstErr = cmp.Or(firstErr, fmt.Errorf("ticket %s does not start with %s", got.Number, want))
				mu.Unlock()
				return
			}
			numbers[w] = append(numbers[w], got.Number)
		}
	})
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	seen := map[string]bool{}
	perSeries := map[string]int{}
	for _, list := range numbers {
		for _, num := range list {
			if seen[num] {
				t.Errorf("ticket number %s given twice", num)
			}
			seen[num] = true
			perSeries[num[:strings.LastIndex(num, "-")]]++
		}
	}
	if len(seen) != workers*each {
		t.Errorf("%d distinct numbers, want %d", len(seen), workers*each)
	}
	checkEqual(t, "tickets per series", perSeries, map[string]int{"TP-2025": 400, "TP-2026": 400, "XD-2025": 400, "XD-2026": 400})
}

func testTicketFilters(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	type spec struct {
		prefix, dept string
		asker        caunoi.UserID
		hours        int
		status       caunoi.Status
	}
	specs := []spec{
		{"TP", "tu-phap", 101, 5, caunoi.StatusNew},
		{"XD", "xay-dung", 102, 1, caunoi.StatusClaimed},
		{"TP", "tu-phap", 102, 9, caunoi.StatusResolved},
		{"NV", "noi-vu", 101, 3, caunoi.StatusAnswered},
		{"TP", "tu-phap", 103, 0, caunoi.StatusClaimed},
		{"XD", "xay-dung", 101, 7, caunoi.StatusNew},
		{"TP", "tu-phap", 101, 11, caunoi.StatusClosed},
		{"NV", "noi-vu", 103, 2, caunoi.StatusNew},
		{"XD", "xay-dung", 103, 10, caunoi.StatusWaitingOfficial},
		{"TP", "tu-phap", 102, 4, caunoi.StatusReopened},
	}
	var all []caunoi.Ticket
	for _, sp := range specs {
		at := suiteEpoch.Add(time.Duration(sp.hours) * time.Hour)
		tk := mustCreateTicket(t, s, sp.prefix, sampleTicket(sp.dept, sp.asker, at))
		if sp.status != caunoi.StatusNew {
			var err error
			tk, err = s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
				cur.Status = sp.status
				return nil, nil
			})
			if err != nil {
				t.Fatalf("UpdateTicket: %v", err)
			}
		}
		all = append(all, tk)
	}
	hour := func(h int) time.Time { return suiteEpoch.Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name  string
		f     caunoi.TicketFilter
		hours []int // the Created hours of the expected tickets, in order
	}{
		{"all", caunoi.TicketFilter{}, []int{11, 10, 9, 7, 5, 4, 3, 2, 1, 0}},
		{"limit", caunoi.TicketFilter{Limit: 3}, []int{11, 10, 9}},
		{"department", caunoi.TicketFilter{Department: "tu-phap"}, []int{11, 9, 5, 4, 0}},
		{"asker", caunoi.TicketFilter{Asker: 101}, []int{11, 7, 5, 3}},
		{"asker and department", caunoi.TicketFilter{Asker: 101, Department: "tu-phap"}, []int{11, 5}},
		{"open statuses", caunoi.TicketFilter{Statuses: []caunoi.Status{caunoi.StatusNew, caunoi.StatusReopened}}, []int{7, 5, 4, 2}},
		{"department and status", caunoi.TicketFilter{Department: "xay-dung", Statuses: []caunoi.Status{caunoi.StatusNew, caunoi.StatusWaitingOfficial}}, []int{10, 7}},
		{"created window", caunoi.TicketFilter{CreatedAfter: hour(2), CreatedBefore: hour(7)}, []int{5, 4, 3, 2}},
		{"created after", caunoi.TicketFilter{CreatedAfter: hour(9)}, []int{11, 10, 9}},
		{"created before", caunoi.TicketFilter{CreatedBefore: hour(1)}, []int{0}},
		{"window and department and limit", caunoi.TicketFilter{Department: "tu-phap", CreatedAfter: hour(1), CreatedBefore: hour(11), Limit: 2}, []int{9, 5}},
		{"asker window", caunoi.TicketFilter{Asker: 103, CreatedAfter: hour(1), CreatedBefore: hour(10)}, []int{2}},
		{"no match", caunoi.TicketFilter{Department: "y-te"}, []int{}},
		{"unknown asker", caunoi.TicketFilter{Asker: 999}, []int{}},
	}
	byHour := map[int]caunoi.Ticket{}
	for i, sp := range specs {
		byHour[sp.hours] = all[i]
	}
	for _, tt := range tests {
		got, err := s.Tickets(ctx, tt.f)
		if err != nil {
			t.Errorf("Tickets(%s): %v", tt.name, err)
			continue
		}
		want := []caunoi.Ticket{}
		for _, h := range tt.hours {
			want = append(want, byHour[h])
		}
		if got == nil {
			got = []caunoi.Ticket{}
		}
		checkEqual(t, "Tickets("+tt.name+") numbers", numbersOf(got), numbersOf(want))
		checkEqual(t, "Tickets("+tt.name+")", got, want)
	}
}

func numbersOf(list []caunoi.Ticket) []string {
	out := []string{}
	for _, tk := range list {
		out = append(out, tk.Number)
	}
	return out
}

func testTicketTransferIndex(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	tk := mustCreateTicket(t, s, "TP", sampleTicket("tu-phap", 30, suiteEpoch))
	keep := mustCreateTicket(t, s, "TP", sampleTicket("tu-phap", 30, suiteEpoch.Add(time.Minute)))
	_, err := s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		from := cur.Status
		cur.Department, cur.Status = "xay-dung", caunoi.StatusTransferred
		return []caunoi.Event{{Kind: caunoi.EventTransferred, Actor: 10, At: suiteEpoch.Add(time.Hour), From: from, To: caunoi.StatusTransferred, Department: "xay-dung"}}, nil
	})
	if err != nil {
		t.Fatalf("UpdateTicket(transfer): %v", err)
	}
	list, err := s.Tickets(ctx, caunoi.TicketFilter{Department: "tu-phap"})
	if err != nil {
		t.Fatalf("Tickets(tu-phap): %v", err)
	}
	checkEqual(t, "Tickets(tu-phap) after transfer", numbersOf(list), []string{keep.Number})
	list, err = s.Tickets(ctx, caunoi.TicketFilter{Department: "xay-dung"})
	if err != nil {
		t.Fatalf("Tickets(xay-dung): %v", err)
	}
	checkEqual(t, "Tickets(xay-dung) after transfer", numbersOf(list), []string{tk.Number})
	list, err = s.Tickets(ctx, caunoi.TicketFilter{Asker: 30})
	if err != nil {
		t.Fatalf("Tickets(asker): %v", err)
	}
	checkEqual(t, "Tickets(asker) after transfer", numbersOf(list), []string{keep.Number, tk.Number})
	evs, err := s.Events(ctx, tk.Number)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	if len(evs) != 2 || evs[1].Department != "xay-dung" || evs[1].Seq != 2 {
		t.Errorf("transfer event = %+v, want seq 2 to xay-dung", evs)
	}
}

// testCountTickets checks CountTickets against the tickets themselves, over
// more tickets than one page of the Redis store's reads, with some claimed
// and some transferred to another department.
func testCountTickets(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	got, err := s.CountTickets(ctx)
	if err != nil {
		t.Fatalf("CountTickets(empty store): %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("CountTickets(empty store) = %v, want nothing", got)
	}
	depts := []struct{ prefix, code string }{{"TP", "tu-phap"}, {"XD", "xay-dung"}, {"NV", "noi-vu"}}
	want := map[caunoi.DeptStatus]int{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for g := range 8 { // 8 writers, 40 tickets each
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				n := g*40 + i
				d := depts[n%len(depts)]
				at := suiteEpoch.Add(time.Duration(n) * time.Second)
				tk, _, err := s.CreateTicket(ctx, d.prefix, sampleTicket(d.code, caunoi.UserID(100+n%7), at), createdEvent(30, at))
				if err != nil {
					t.Errorf("CreateTicket: %v", err)
					return
				}
				key := caunoi.DeptStatus{Department: d.code, Status: caunoi.StatusNew}
				switch n % 5 {
				case 1:
					if _, err := s.UpdateTicket(ctx, tk.Number, claimFn(200, at.Add(time.Minute))); err != nil {
						t.Errorf("claim: %v", err)
						return
					}
					key.Status = caunoi.StatusClaimed
				case 2:
					_, err := s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
						cur.Department, cur.Status = "y-te", caunoi.StatusTransferred
						return nil, nil
					})
					if err != nil {
						t.Errorf("transfer: %v", err)
						return
					}
					key = caunoi.DeptStatus{Department: "y-te", Status: caunoi.StatusTransferred}
				}
				mu.Lock()
				want[key]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	got, err = s.CountTickets(ctx)
	if err != nil {
		t.Fatalf("CountTickets: %v", err)
	}
	checkEqual(t, "CountTickets", got, want)
	all, err := s.Tickets(ctx, caunoi.TicketFilter{})
	if err != nil {
		t.Fatalf("Tickets: %v", err)
	}
	fromList := map[caunoi.DeptStatus]int{}
	for _, tk := range all {
		fromList[caunoi.DeptStatus{Department: tk.Department, Status: tk.Status}]++
	}
	checkEqual(t, "CountTickets against Tickets", got, fromList)
}
