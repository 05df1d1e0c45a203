package boltstore_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
	bolt "go.etcd.io/bbolt"
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

func claim(staff caunoi.UserID, at time.Time) func(*caunoi.Ticket) ([]caunoi.Event, error) {
	return func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		if cur.Status != caunoi.StatusNew {
			return nil, fmt.Errorf("ticket %s is %s: %w", cur.Number, cur.Status, caunoi.ErrConflict)
		}
		cur.Status, cur.Assignee, cur.Updated = caunoi.StatusClaimed, staff, at
		return []caunoi.Event{{Kind: caunoi.EventClaimed, Actor: staff, At: at, From: caunoi.StatusNew, To: caunoi.StatusClaimed}}, nil
	}
}

// The key layouts of the ticket buckets, as the store has always written
// them.
func timeKey(t time.Time) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint64(b, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
	return b
}

func join(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestFileOfEarlierVersion writes a ticket into a file the way the store's
// earlier versions did (JSON values, sequence bucket, idempotency key and
// index keys) and uses the file with this version.
func TestFileOfEarlierVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "caunoi.db")
	tk, ev := newTicket(31, epoch)
	tk.Number, tk.IdemKey = "TP-2025-000005", "hoi:cu"
	ev.Ticket, ev.Seq = tk.Number, 1
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		bucket := func(name string) *bolt.Bucket {
			b, err := tx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		num := []byte(tk.Number)
		tdata, _ := json.Marshal(tk)
		edata, _ := json.Marshal(ev)
		evKey := make([]byte, len(num)+5)
		copy(evKey, num)
		binary.BigEndian.PutUint32(evKey[len(num)+1:], 1)
		asker := make([]byte, 8)
		binary.BigEndian.PutUint64(asker, uint64(31)^(1<<63))
		tm := timeKey(tk.Created)
		seq, err := bucket("ticket_seq").CreateBucket([]byte("TP\x002025"))
		if err != nil {
			return err
		}
		for _, err := range []error{
			bucket("tickets").Put(num, tdata),
			bucket("events").Put(evKey, edata),
			bucket("ticket_idem").Put([]byte(tk.IdemKey), num),
			bucket("ticket_asker").Put(join(asker, tm, num), nil),
			bucket("ticket_dept").Put(join([]byte("tu-phap\x00"), tm, num), nil),
			bucket("ticket_time").Put(join(tm, num), nil),
			seq.SetSequence(5),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	again, _ := newTicket(31, epoch.Add(time.Hour))
	again.IdemKey = tk.IdemKey
	got, created, err := s.CreateTicket(ctx, "TP", again, ev)
	if err != nil || created || got.Number != tk.Number {
		t.Fatalf("CreateTicket with the earlier key = %s, %v, %v; want %s, false, nil", got.Number, created, err, tk.Number)
	}
	if _, err := s.UpdateTicket(ctx, tk.Number, claim(100, epoch.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[1].Seq != 2 || evs[1].To != caunoi.StatusClaimed {
		t.Errorf("timeline %+v, want the created event and the claim as event 2", evs)
	}
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
	s := MustOpen(t)
	ctx := context.Background()
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
	evs, err := s.Events(ctx, got.Number)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Number != got.Number || len(evs) != 1 || evs[0].Ticket != got.Number {
		t.Errorf("stored number %q, event %+v; want %q in both", stored.Number, evs, got.Number)
	}
}
