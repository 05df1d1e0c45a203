package redisstore

import (
	"context"
	"crypto/sha1"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/redistest"
)

// TestCreateCachesStoredJSON checks that CreateTicket remembers the digest
// of exactly what Redis stored, with a six-digit number (written into the
// encoding in place) and with the seven-digit number of the millionth
// ticket of a year (put together from its pieces), so that the next update
// needs neither a read nor a second attempt.
func TestCreateCachesStoredJSON(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := open(t, srv, "so:")
	if err := s.rdb.Set(ctx, s.key("seq", "TP", "2025"), 999998, 0).Err(); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	for _, want := range []string{"TP-2025-999999", "TP-2025-1000000"} {
		tk := caunoi.Ticket{Department: "tu-phap", Asker: 31, Commune: "26734", Question: "Cấp bản sao trích lục khai tử ở đâu?", Status: caunoi.StatusNew, Created: at, Updated: at}
		got, created, err := s.CreateTicket(ctx, "TP", tk, caunoi.Event{Kind: caunoi.EventCreated, Actor: 31, At: at, To: caunoi.StatusNew})
		if err != nil || !created {
			t.Fatalf("CreateTicket: %v, created %v", err, created)
		}
		if got.Number != want {
			t.Fatalf("number %s, want %s", got.Number, want)
		}
		stored, err := s.rdb.Get(ctx, s.ticketKey(want)).Result()
		if err != nil {
			t.Fatal(err)
		}
		s.tickets.mu.Lock()
		cached, ok := s.tickets.m[want]
		s.tickets.mu.Unlock()
		if !ok || cached.sum != sha1.Sum([]byte(stored)) || cached.n != 1 {
			t.Fatalf("cache of %s: digest %x (%d events, present %v), Redis holds %q (digest %x)", want, cached.sum, cached.n, ok, stored, sha1.Sum([]byte(stored)))
		}
		if cached.t.Number != want || cached.t.Question != tk.Question || !cached.t.Created.Equal(at) {
			t.Errorf("cached ticket %+v", cached.t)
		}
		read, err := s.Ticket(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		if read.Number != want || read.Question != tk.Question {
			t.Errorf("read back %s %q", read.Number, read.Question)
		}
		evs, err := s.Events(ctx, want)
		if err != nil || len(evs) != 1 || evs[0].Ticket != want || evs[0].Seq != 1 {
			t.Errorf("events of %s: %+v, %v", want, evs, err)
		}
	}
}

// TestTicketScriptsAfterFlush checks that the ticket writes still work
// when Redis has forgotten the store's scripts (a restart without them, or
// SCRIPT FLUSH): the store sends the script itself and carries on.
func TestTicketScriptsAfterFlush(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := open(t, srv, "fl:"), open(t, srv, "fl:") // b reads without a's cache
	at := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	claim := func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		cur.Status, cur.Assignee = caunoi.StatusClaimed, 100
		return []caunoi.Event{{Kind: caunoi.EventClaimed, Actor: 100, At: at, From: caunoi.StatusNew, To: caunoi.StatusClaimed}}, nil
	}
	for round := range 2 {
		if err := a.rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		tk := caunoi.Ticket{Department: "tu-phap", Asker: 31, Commune: "26734", Question: "Chứng thực bản sao ở đâu?", Status: caunoi.StatusNew, Created: at, Updated: at}
		got, created, err := a.CreateTicket(ctx, "TP", tk, caunoi.Event{Kind: caunoi.EventCreated, Actor: 31, At: at, To: caunoi.StatusNew})
		if err != nil || !created {
			t.Fatalf("round %d: CreateTicket after SCRIPT FLUSH: %v, created %v", round, err, created)
		}
		if err := a.rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := b.UpdateTicket(ctx, got.Number, claim); err != nil { // a read, then an update
			t.Fatalf("round %d: UpdateTicket after SCRIPT FLUSH: %v", round, err)
		}
		evs, err := a.Events(ctx, got.Number)
		if err != nil || len(evs) != 2 || evs[1].To != caunoi.StatusClaimed {
			t.Fatalf("round %d: events %+v, %v", round, evs, err)
		}
	}
}

// open opens a store on srv under prefix, closed when t ends.
func open(t testing.TB, srv *redistest.Server, prefix string) *Store {
	t.Helper()
	s, err := Open(context.Background(), srv.URL(0)+"?prefix="+prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestCompactHoldsOnlyItsOwnText checks that a ticket put in the cache
// keeps its values and that every string in it, found by reflection so
// that a field added later is covered too, lies in one allocation with no
// room to spare.
func TestCompactHoldsOnlyItsOwnText(t *testing.T) {
	record := `{"ho-so":"Đăng ký khai sinh","khac":"không liên quan"}` // strings viewing a larger record
	view := func(s string) string {
		i := strings.Index(record, s)
		return record[i : i+len(s)]
	}
	at := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	tk := caunoi.Ticket{
		Number: "TP-2025-000042", Department: "tu-phap", Asker: 31, Commune: "26734",
		Question: view("Đăng ký khai sinh"), Status: caunoi.StatusClaimed, IdemKey: "u31/k1",
		Results:     []caunoi.Candidate{{PassageID: "ho-tich/khai-sinh#ho-so", EntryID: "ho-tich/khai-sinh", Title: view("khai sinh"), Section: "Hồ sơ", Score: 2.5}},
		Attachments: []caunoi.Attachment{{Kind: "photo", Ref: "AgACAgIAAx", Name: "to-khai.jpg", MIME: "image/jpeg", Size: 4821}},
		Created:     at, Updated: at, Applied: []string{"k1", "k2"},
	}
	want := tk
	want.Results, want.Attachments, want.Applied = slices.Clone(tk.Results), slices.Clone(tk.Attachments), slices.Clone(tk.Applied)

	c := newTicketCache()
	c.put(tk.Number, ticketState{n: 2, t: tk})
	got := *c.m[tk.Number]
	if !reflect.DeepEqual(got.t, want) {
		t.Fatalf("cached ticket\n got %+v\nwant %+v", got.t, want)
	}
	if !reflect.DeepEqual(tk, want) {
		t.Errorf("put changed the caller's ticket: %+v", tk)
	}
	var lo, hi uintptr
	total := 0
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			if v.Len() == 0 {
				return
			}
			p := uintptr(unsafe.Pointer(unsafe.StringData(v.String())))
			if lo == 0 || p < lo {
				lo = p
			}
			if end := p + uintptr(v.Len()); end > hi {
				hi = end
			}
			total += v.Len()
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(got.t))
	if int(hi-lo) != total {
		t.Errorf("the cached ticket's %d bytes of text span %d bytes: some string is outside its own allocation", total, hi-lo)
	}
}
