package boltstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
	"github.com/caunoi/caunoi/store/storetest"
)

// MustOpen opens a store in a new file under tb's temporary directory and
// closes it when tb ends.
func MustOpen(tb testing.TB) *boltstore.Store {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "caunoi.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) caunoi.Store { return MustOpen(tb) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(tb testing.TB) caunoi.Store { return MustOpen(tb) })
}

// BenchmarkStoreAt runs the store benchmark at fixed rates: 500 and
// 2,000 calls a second, and the 5,000 ticket operations a second the
// embedded store must sustain.
func BenchmarkStoreAt(b *testing.B) {
	storetest.BenchAt(b, func(tb testing.TB) caunoi.Store { return MustOpen(tb) }, 500, 2000, 5000)
}

func BenchmarkLists(b *testing.B) {
	storetest.BenchLists(b, func(tb testing.TB) caunoi.Store { return MustOpen(tb) })
}

func TestOpenFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "caunoi.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode %v, want 0600", got)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "caunoi.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = boltstore.Open(path, boltstore.WithLockTimeout(50*time.Millisecond))
	if !errors.Is(err, boltstore.ErrLocked) {
		t.Fatalf("second Open: got error %v, want %v", err, boltstore.ErrLocked)
	}
}

// TestReopen writes one of everything, closes the file, opens it again and
// reads everything back.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "caunoi.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w := storetest.WriteSample(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckSample(t, s, w)

	// Sequences continue where they stopped.
	tk, _, err := s.CreateTicket(ctx, "TP", caunoi.Ticket{Department: "tu-phap", Created: w.Tickets[0].Created}, caunoi.Event{Kind: caunoi.EventCreated})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Number == w.Tickets[0].Number || tk.Number <= w.Tickets[len(w.Tickets)-1].Number {
		t.Errorf("ticket after reopen numbered %s, want after %s", tk.Number, w.Tickets[len(w.Tickets)-1].Number)
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	w := storetest.WriteSample(t, s)
	var buf bytes.Buffer
	n, err := s.Backup(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup reported %d bytes, wrote %d", n, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "restored.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	restored, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	storetest.CheckSample(t, restored, w)
}

// TestGroupCommitIsolation runs writes that fail half-way (after deleting
// the commune registry) alongside good writes: the failures must change
// nothing, and the good writes committed with them must all land.
func TestGroupCommitIsolation(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	communes := []caunoi.Commune{{Code: "26734", Name: "Phường Bến Thành"}}
	if err := s.ReplaceCommunes(ctx, communes); err != nil {
		t.Fatal(err)
	}
	const good, bad = 40, 8
	numbers := make([]string, good)
	errs := make([]error, good+bad)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range good + bad {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if i < good {
				at := time.Date(2025, 7, 1, 8, 0, i, 0, time.UTC)
				tk, _, err := s.CreateTicket(ctx, "TP", caunoi.Ticket{Department: "tu-phap", Asker: 1, Created: at}, caunoi.Event{Kind: caunoi.EventCreated})
				numbers[i], errs[i] = tk.Number, err
				return
			}
			errs[i] = s.ReplaceCommunes(ctx, []caunoi.Commune{{Code: "00004"}, {Code: ""}})
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		switch {
		case i < good && err != nil:
			t.Errorf("CreateTicket %d: %v", i, err)
		case i >= good && !errors.Is(err, caunoi.ErrInvalid):
			t.Errorf("ReplaceCommunes with an empty code: got error %v, want %v", err, caunoi.ErrInvalid)
		}
	}
	for _, n := range numbers {
		if _, err := s.Ticket(ctx, n); err != nil {
			t.Errorf("Ticket(%s): %v", n, err)
		}
	}
	got, err := s.Communes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Code != "26734" {
		t.Errorf("Communes after failed replacements = %+v, want the original", got)
	}
}

func TestStoreContention(t *testing.T) {
	storetest.RunContention(t, func(tb testing.TB) caunoi.Store { return MustOpen(tb) })
}

// blockingWriter takes the first write, says so on started and then
// waits for release before taking it and the rest.
type blockingWriter struct {
	started, release chan struct{}
	once             sync.Once
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() {
		close(w.started)
		<-w.release
	})
	return len(p), nil
}

// TestWritesDuringBackup holds a backup's read transaction open while
// tickets worth several megabytes are written, enough for the file to
// outgrow its first mappings many times over. Those writes must finish
// while the backup is still held: a backup of a large file takes minutes,
// and the desk must not wait for it.
func TestWritesDuringBackup(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("on Windows the store keeps bbolt's default mapping (mapSize), so a backup still holds up a write that outgrows it")
	}
	ctx := context.Background()
	s := MustOpen(t)
	w := &blockingWriter{started: make(chan struct{}), release: make(chan struct{})}
	backup := make(chan error, 1)
	go func() {
		_, err := s.Backup(ctx, w)
		backup <- err
	}()
	<-w.started
	released := false
	defer func() {
		if !released {
			close(w.release)
		}
	}()

	const writers, each = 16, 125
	wrote := make(chan error, writers)
	q := strings.Repeat("Xin hướng dẫn thủ tục đăng ký khai sinh cho trẻ sinh ở nước ngoài. ", 60)
	for g := range writers {
		go func() {
			for i := range each {
				at := time.Date(2026, 3, 2, 8, 0, g*each+i, 0, time.UTC)
				_, _, err := s.CreateTicket(ctx, "TP", caunoi.Ticket{Department: "tu-phap", Asker: 5, Question: q, Status: caunoi.StatusNew, Created: at, Updated: at},
					caunoi.Event{Kind: caunoi.EventCreated, Actor: 5, At: at, To: caunoi.StatusNew})
				if err != nil {
					wrote <- err
					return
				}
			}
			wrote <- nil
		}()
	}
	deadline := time.After(time.Minute)
	for range writers {
		select {
		case err := <-wrote:
			if err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("tickets written during a backup were still waiting for it after a minute")
		}
	}
	close(w.release)
	released = true
	if err := <-backup; err != nil {
		t.Fatalf("backup: %v", err)
	}
	// The file is longer than its data (bbolt grows it ahead), so the data
	// is measured by what a backup of it now holds.
	n, err := s.Backup(ctx, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if n < 8<<20 {
		t.Fatalf("the store holds %d bytes, want the writes to have grown it past 8 MB", n)
	}
}
