package boltstore_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
	"github.com/caunoi/caunoi/store/storetest"
	bolt "go.etcd.io/bbolt"
)

// The buckets of the indexes of open and finished tickets.
const (
	openBucket = "ticket_open"
	doneBucket = "ticket_done"
)

func openFile(tb testing.TB, path string) *boltstore.Store {
	tb.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func closeStore(tb testing.TB, s *boltstore.Store) {
	tb.Helper()
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
}

// sampleFile writes storetest's index sample to a new file, closes it and
// returns its path and what was written.
func sampleFile(t *testing.T) (string, *storetest.IndexModel) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "caunoi.db")
	s := openFile(t, path)
	m := storetest.WriteIndexSample(t, s)
	closeStore(t, s)
	return path, m
}

// checkFile opens the file at path, holds its store to m and closes it.
func checkFile(t *testing.T, path string, m *storetest.IndexModel) {
	t.Helper()
	s := openFile(t, path)
	m.CheckIndexes(t, s)
	closeStore(t, s)
}

// editFile opens the file at path with bbolt alone, runs fn in a write
// transaction and closes the file.
func editFile(tb testing.TB, path string, fn func(*bolt.Tx) error) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		db.Close()
		tb.Fatal(err)
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
}

// indexSizes returns the number of keys in the two index buckets and in
// the tickets bucket of the file at path.
func indexSizes(tb testing.TB, path string) (open, done, tickets int) {
	tb.Helper()
	editFile(tb, path, func(tx *bolt.Tx) error {
		for _, b := range []struct {
			name string
			n    *int
		}{{openBucket, &open}, {doneBucket, &done}, {"tickets", &tickets}} {
			bk := tx.Bucket([]byte(b.name))
			if bk == nil {
				tb.Fatalf("no bucket %s", b.name)
			}
			*b.n = bk.Stats().KeyN
		}
		return nil
	})
	return open, done, tickets
}

// TestIndexBuiltForOlderFile removes the indexes of open and finished
// tickets from a file, as a file written before they existed lacks them,
// and opens it again: Open builds them, and they answer as the indexes
// kept since the first ticket did.
func TestIndexBuiltForOlderFile(t *testing.T) {
	path, m := sampleFile(t)
	checkFile(t, path, m)

	editFile(t, path, func(tx *bolt.Tx) error {
		for _, name := range []string{openBucket, doneBucket} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})

	checkFile(t, path, m)
	if open, done, tickets := indexSizes(t, path); open == 0 || done == 0 || open+done != tickets {
		t.Errorf("built indexes hold %d open and %d finished tickets, want all %d tickets, some of each", open, done, tickets)
	}
}

// TestIndexRebuiltWithoutOpenBucket opens a file that has the index of
// finished tickets, with a stray key, but not that of open tickets: both
// are built again from the tickets, and the stray key is gone.
func TestIndexRebuiltWithoutOpenBucket(t *testing.T) {
	path, m := sampleFile(t)

	editFile(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte(openBucket)); err != nil {
			return err
		}
		return tx.Bucket([]byte(doneBucket)).Put([]byte("closed\x00tu-phap\x00stray-key-of-no-ticket"), nil)
	})

	checkFile(t, path, m)
	if open, done, tickets := indexSizes(t, path); open+done != tickets {
		t.Errorf("rebuilt indexes hold %d open and %d finished tickets, want %d in all", open, done, tickets)
	}
}

// TestIndexKeptOnReopen reopens a file that has the indexes: they still
// answer, and Open leaves them as they are rather than building them
// again (a marker key put in the index of open tickets survives).
func TestIndexKeptOnReopen(t *testing.T) {
	path, m := sampleFile(t)

	checkFile(t, path, m)

	marker := []byte("marker\x00")
	editFile(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(openBucket)).Put(marker, []byte("new"))
	})
	closeStore(t, openFile(t, path))
	editFile(t, path, func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(openBucket)).Get(marker) == nil {
			t.Error("the index of open tickets was built again on a file that had it")
		}
		return nil
	})
}

// TestFinishedWithoutResolvedAt closes a ticket without setting
// ResolvedAt, as a store may hold from before ResolvedAt was kept: the
// index of finished tickets files it at the zero time, so a window with
// only an upper bound finds it and one with a lower bound does not, before
// and after the index is built for the file again.
func TestFinishedWithoutResolvedAt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "caunoi.db")
	s := openFile(t, path)
	defer func() { closeStore(t, s) }()
	tk, ev := newTicket(31, epoch)
	tk, _, err := s.CreateTicket(ctx, "TP", tk, ev)
	if err != nil {
		t.Fatal(err)
	}
	later, lev := newTicket(32, epoch.Add(time.Hour))
	later, _, err = s.CreateTicket(ctx, "TP", later, lev)
	if err != nil {
		t.Fatal(err)
	}
	resolved := epoch.Add(48 * time.Hour)
	for _, c := range []struct {
		number string
		status caunoi.Status
		at     time.Time
	}{{tk.Number, caunoi.StatusClosed, time.Time{}}, {later.Number, caunoi.StatusClosed, resolved}} {
		_, err := s.UpdateTicket(ctx, c.number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
			cur.Status, cur.ResolvedAt = c.status, c.at
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	closed := []caunoi.Status{caunoi.StatusClosed}
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			f    caunoi.TicketFilter
			want []string
		}{
			{caunoi.TicketFilter{Statuses: closed, ResolvedBefore: epoch.Add(72 * time.Hour)}, []string{later.Number, tk.Number}},
			{caunoi.TicketFilter{Statuses: closed, ResolvedBefore: epoch}, []string{tk.Number}},
			{caunoi.TicketFilter{Statuses: closed, ResolvedAfter: epoch}, []string{later.Number}},
			{caunoi.TicketFilter{Department: "tu-phap", Statuses: closed, ResolvedBefore: epoch, Limit: 1}, []string{tk.Number}},
		} {
			got, err := s.Tickets(ctx, c.f)
			if err != nil {
				t.Fatalf("%s: Tickets(%+v): %v", when, c.f, err)
			}
			var numbers []string
			for _, g := range got {
				numbers = append(numbers, g.Number)
			}
			if !slices.Equal(numbers, c.want) {
				t.Errorf("%s: Tickets(%+v) = %v, want %v", when, c.f, numbers, c.want)
			}
		}
		counts, err := s.CountTickets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (caunoi.DeptStatus{Department: "tu-phap", Status: caunoi.StatusClosed}); counts[want] != 2 || len(counts) != 1 {
			t.Errorf("%s: CountTickets = %v, want 2 closed in tu-phap", when, counts)
		}
	}
	check("kept from the start")
	closeStore(t, s)
	editFile(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte(openBucket)); err != nil {
			return err
		}
		return tx.DeleteBucket([]byte(doneBucket))
	})
	s = openFile(t, path)
	check("built on open")
}
