package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/redistest"
	"github.com/redis/go-redis/v9"
)

var epoch = time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC)

func newTicket(asker caunoi.UserID, at time.Time) (caunoi.Ticket, caunoi.Event) {
	t := caunoi.Ticket{
		Department: "tu-phap",
		Asker:      asker,
		Commune:    "26734",
		Question:   "Đăng ký kết hôn có yếu tố nước ngoài nộp hồ sơ ở đâu?",
		Status:     caunoi.StatusNew,
		Created:    at,
		Updated:    at,
	}
	return t, caunoi.Event{Kind: caunoi.EventCreated, Actor: asker, At: at, To: caunoi.StatusNew}
}

// setStatus moves a ticket from one status to another, or fails with
// ErrConflict when it is in any other status.
func setStatus(from, to caunoi.Status, staff caunoi.UserID, at time.Time) func(*caunoi.Ticket) ([]caunoi.Event, error) {
	return func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		if cur.Status != from {
			return nil, fmt.Errorf("ticket %s is %s: %w", cur.Number, cur.Status, caunoi.ErrConflict)
		}
		cur.Status, cur.Assignee, cur.Updated = to, staff, at
		return []caunoi.Event{{Kind: caunoi.EventClaimed, Actor: staff, At: at, From: from, To: to}}, nil
	}
}

func checkTimeline(t *testing.T, s interface {
	Events(context.Context, string) ([]caunoi.Event, error)
}, number string, want ...caunoi.Status) {
	t.Helper()
	evs, err := s.Events(context.Background(), number)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, e := range evs {
		if e.Seq != i+1 || e.Ticket != number || e.To != want[i] {
			t.Errorf("event %d: Seq %d Ticket %s To %s, want %d %s %s", i, e.Seq, e.Ticket, e.To, i+1, number, want[i])
		}
	}
}

// TestUpdateSeesOtherReplica updates one ticket from two stores on one
// keyspace, as two bot replicas do: each update starts from what the other
// stored, although each store remembers the state it wrote last.
func TestUpdateSeesOtherReplica(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := MustOpen(t, srv, "hai:"), MustOpen(t, srv, "hai:")

	tk, ev := newTicket(31, epoch)
	tk, _, err := a.CreateTicket(ctx, "TP", tk, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateTicket(ctx, tk.Number, setStatus(caunoi.StatusNew, caunoi.StatusClaimed, 100, epoch.Add(time.Minute))); err != nil {
		t.Fatalf("claim on b: %v", err)
	}
	// a last saw the ticket new; the script sends it to the claimed state.
	got, err := a.UpdateTicket(ctx, tk.Number, setStatus(caunoi.StatusClaimed, caunoi.StatusAnswered, 100, epoch.Add(2*time.Minute)))
	if err != nil {
		t.Fatalf("answer on a: %v", err)
	}
	if got.Status != caunoi.StatusAnswered || got.Assignee != 100 {
		t.Errorf("a returned %s by %d, want answered by 100", got.Status, got.Assignee)
	}
	// b last saw it claimed; a answered it since.
	if _, err := b.UpdateTicket(ctx, tk.Number, setStatus(caunoi.StatusAnswered, caunoi.StatusResolved, 100, epoch.Add(3*time.Minute))); err != nil {
		t.Fatalf("resolve on b: %v", err)
	}
	stored, err := a.Ticket(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != caunoi.StatusResolved {
		t.Errorf("stored status %s, want resolved", stored.Status)
	}
	checkTimeline(t, a, tk.Number, caunoi.StatusNew, caunoi.StatusClaimed, caunoi.StatusAnswered, caunoi.StatusResolved)
}

// TestUpdateSeesChangeWithoutEvents checks that a replica notices a change
// another replica made without adding to the timeline (so the timeline's
// length is unchanged and only the ticket's digest tells), and builds on it
// instead of overwriting it.
func TestUpdateSeesChangeWithoutEvents(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := MustOpen(t, srv, "ba:"), MustOpen(t, srv, "ba:")

	tk, ev := newTicket(31, epoch)
	tk, _, err := a.CreateTicket(ctx, "TP", tk, ev) // a remembers it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		cur.Rating, cur.Commune = 4, "26737"
		return nil, nil
	}); err != nil {
		t.Fatalf("change on b: %v", err)
	}
	got, err := a.UpdateTicket(ctx, tk.Number, setStatus(caunoi.StatusNew, caunoi.StatusClaimed, 100, epoch.Add(time.Minute)))
	if err != nil {
		t.Fatalf("claim on a: %v", err)
	}
	stored, err := b.Ticket(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []caunoi.Ticket{got, stored} {
		if x.Rating != 4 || x.Commune != "26737" || x.Status != caunoi.StatusClaimed || x.Assignee != 100 {
			t.Errorf("ticket %+v: want b's rating 4 and commune 26737 with a's claim by 100", x)
		}
	}
	checkTimeline(t, a, tk.Number, caunoi.StatusNew, caunoi.StatusClaimed)
}

// TestUpdateRefusalOnCurrentState checks that a callback's refusal counts
// only when the callback saw the current ticket: refusing a state that
// another replica has changed since is not the answer.
func TestUpdateRefusalOnCurrentState(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := MustOpen(t, srv, "hai:"), MustOpen(t, srv, "hai:")

	tk, ev := newTicket(31, epoch)
	tk, _, err := a.CreateTicket(ctx, "TP", tk, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateTicket(ctx, tk.Number, setStatus(caunoi.StatusNew, caunoi.StatusClaimed, 100, epoch.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateTicket(ctx, tk.Number, setStatus(caunoi.StatusClaimed, caunoi.StatusNew, 0, epoch.Add(2*time.Minute))); err != nil {
		t.Fatal(err)
	}
	// a remembers the ticket claimed, where a claim is refused; it is new.
	got, err := a.UpdateTicket(ctx, tk.Number, setStatus(caunoi.StatusNew, caunoi.StatusClaimed, 101, epoch.Add(3*time.Minute)))
	if err != nil {
		t.Fatalf("claim on a after b released it: %v", err)
	}
	if got.Assignee != 101 {
		t.Errorf("assignee %d, want 101", got.Assignee)
	}
	// On the current state the refusal stands, unchanged.
	refuse := setStatus(caunoi.StatusNew, caunoi.StatusClaimed, 102, epoch.Add(4*time.Minute))
	_, err = b.UpdateTicket(ctx, tk.Number, refuse)
	if !errors.Is(err, caunoi.ErrConflict) {
		t.Errorf("second claim: got error %v, want ErrConflict", err)
	}
	checkTimeline(t, a, tk.Number, caunoi.StatusNew, caunoi.StatusClaimed, caunoi.StatusNew, caunoi.StatusClaimed)
}

// TestKeyspaceOfEarlierVersion writes tickets as the store's earlier
// versions laid them out (JSON strings, event lists, sorted-set indexes, a
// sequence counter and idempotency keys) and uses them with this one.
func TestKeyspaceOfEarlierVersion(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()

	const pre = "{cu:}"
	tk, ev := newTicket(31, epoch)
	tk.Number, tk.IdemKey = "TP-2025-000005", "hoi:cu"
	ev.Ticket, ev.Seq = tk.Number, 1
	tdata, _ := json.Marshal(tk)
	edata, _ := json.Marshal(ev)
	score := float64(epoch.UnixMicro())
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, pre+"t:"+tk.Number, tdata, 0)
		p.RPush(ctx, pre+"ev:"+tk.Number, edata)
		p.Set(ctx, pre+"seq:TP:2025", 5, 0)
		p.Set(ctx, pre+"idem:hoi:cu", tk.Number, 0)
		p.ZAdd(ctx, pre+"tix:created", redis.Z{Score: score, Member: tk.Number})
		p.ZAdd(ctx, pre+"tix:dept:tu-phap", redis.Z{Score: score, Member: tk.Number})
		p.ZAdd(ctx, pre+"tix:asker:31", redis.Z{Score: score, Member: tk.Number})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	s := MustOpen(t, srv, "cu:")
	again, _ := newTicket(31, epoch.Add(time.Hour))
	again.IdemKey = "hoi:cu"
	got, created, err := s.CreateTicket(ctx, "TP", again, ev)
	if err != nil || created || got.Number != tk.Number {
		t.Fatalf("CreateTicket with the earlier key = %s, %v, %v; want %s, false, nil", got.Number, created, err, tk.Number)
	}
	if _, err := s.UpdateTicket(ctx, tk.Number, setStatus(caunoi.StatusNew, caunoi.StatusClaimed, 100, epoch.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	checkTimeline(t, s, tk.Number, caunoi.StatusNew, caunoi.StatusClaimed)

	next, nev := newTicket(32, epoch.Add(time.Hour))
	next, created, err = s.CreateTicket(ctx, "TP", next, nev)
	if err != nil || !created || next.Number != "TP-2025-000006" {
		t.Fatalf("CreateTicket = %s, %v, %v; want TP-2025-000006, true, nil", next.Number, created, err)
	}
	list, err := s.Tickets(ctx, caunoi.TicketFilter{Department: "tu-phap"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Number != next.Number || list[1].Number != tk.Number || list[1].Status != caunoi.StatusClaimed {
		t.Errorf("Tickets(tu-phap) = %+v, want %s then %s (claimed)", list, next.Number, tk.Number)
	}
}

// TestCreateEscapesNumberPrefix creates a ticket whose number prefix JSON
// escapes, and reads it back.
func TestCreateEscapesNumberPrefix(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := MustOpen(t, srv, "esc:")
	tk, ev := newTicket(31, epoch)
	got, _, err := s.CreateTicket(ctx, `A"<&>\B`, tk, ev)
	if err != nil {
		t.Fatal(err)
	}
	if want := `A"<&>\B-2025-000001`; got.Number != want {
		t.Fatalf("number %q, want %q", got.Number, want)
	}
	stored, err := s.Ticket(ctx, got.Number)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Number != got.Number {
		t.Errorf("stored number %q, want %q", stored.Number, got.Number)
	}
	if _, err := s.UpdateTicket(ctx, got.Number, setStatus(caunoi.StatusNew, caunoi.StatusClaimed, 100, epoch.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	checkTimeline(t, s, got.Number, caunoi.StatusNew, caunoi.StatusClaimed)
}
