package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// RunContention runs the tests of many writers on one ticket at once, where
// a store that prepares an update before its transaction must notice that
// another writer changed the ticket and apply the update to the new state.
func RunContention(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	t.Run("TicketUpdatesAllKept", func(t *testing.T) { testTicketUpdatesAllKept(t, open) })
	t.Run("TicketUpdatesSeeEachOther", func(t *testing.T) { testTicketUpdatesSeeEachOther(t, open) })
}

// testTicketUpdatesAllKept appends one reply from each of many goroutines
// to one ticket: every update succeeds, none is lost, and the timeline
// numbers the events 1, 2, 3… with no gap or repeat.
func testTicketUpdatesAllKept(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	tk := mustCreateTicket(t, s, "TP", sampleTicket("tu-phap", 31, suiteEpoch))
	const writers = 24
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("reply:%d", i)
			at := suiteEpoch.Add(time.Duration(i+1) * time.Minute)
			_, errs[i] = s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
				cur.Applied = append(cur.Applied, key)
				cur.Updated = at
				return []caunoi.Event{{Kind: caunoi.EventReplied, Actor: 10, At: at, Text: key, Key: key, From: cur.Status, To: cur.Status}}, nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	got, err := s.Ticket(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != writers+1 {
		t.Fatalf("%d events, want %d", len(evs), writers+1)
	}
	var texts []string
	for i, e := range evs {
		if e.Seq != i+1 || e.Ticket != tk.Number {
			t.Errorf("event %d: Seq %d Ticket %q, want %d %q", i, e.Seq, e.Ticket, i+1, tk.Number)
		}
		if i > 0 {
			texts = append(texts, e.Text)
		}
	}
	applied := slices.Clone(got.Applied)
	slices.Sort(applied)
	slices.Sort(texts)
	var want []string
	for i := range writers {
		want = append(want, fmt.Sprintf("reply:%d", i))
	}
	slices.Sort(want)
	if !slices.Equal(applied, want) {
		t.Errorf("ticket's Applied = %v, want every writer's key once: %v", applied, want)
	}
	if !slices.Equal(texts, want) {
		t.Errorf("replies in the timeline = %v, want every writer's once: %v", texts, want)
	}
}

// testTicketUpdatesSeeEachOther takes a ticket through numbered steps from
// many goroutines at once. Step i may follow only step i-1, so a callback
// that saw an old ticket and was stored anyway would show as a step taken
// twice or out of order. Every step is taken exactly once, in order,
// whichever goroutine takes it.
func testTicketUpdatesSeeEachOther(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	tk := mustCreateTicket(t, s, "TP", sampleTicket("tu-phap", 31, suiteEpoch))
	const goroutines, steps = 8, 12
	errTaken := errors.New("the step was taken")
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= steps; i++ {
				key := fmt.Sprintf("step:%02d", i)
				_, err := s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
					switch {
					case len(cur.Applied) >= i:
						return nil, errTaken
					case len(cur.Applied) < i-1:
						return nil, fmt.Errorf("%s before step %d: %w", key, len(cur.Applied)+1, caunoi.ErrConflict)
					}
					cur.Applied = append(cur.Applied, key)
					return []caunoi.Event{{Kind: caunoi.EventReplied, Actor: caunoi.UserID(100 + g), At: suiteEpoch.Add(time.Hour), Text: key, Key: key}}, nil
				})
				if err != nil && !errors.Is(err, errTaken) {
					t.Errorf("goroutine %d, %s: %v", g, key, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := s.Ticket(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, tk.Number)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 1; i <= steps; i++ {
		want = append(want, fmt.Sprintf("step:%02d", i))
	}
	if !slices.Equal(got.Applied, want) {
		t.Errorf("ticket's Applied = %v, want %v", got.Applied, want)
	}
	if len(evs) != steps+1 {
		t.Fatalf("%d events, want %d", len(evs), steps+1)
	}
	for i, e := range evs[1:] {
		if e.Seq != i+2 || e.Text != want[i] {
			t.Errorf("event %d: Seq %d %q, want %d %q", i+1, e.Seq, e.Text, i+2, want[i])
		}
	}
}
