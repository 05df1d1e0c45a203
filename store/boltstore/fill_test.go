package boltstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	bolt "go.etcd.io/bbolt"
)

// TestOrderedBucketsFilled creates tickets from several callers at once,
// as group commits do, in two departments, claims every third and logs
// questions, and then reads how full the leaf pages of the buckets are.
// Tickets, the index by creation time and the questions, whose keys arrive
// in order, must fill their pages; bbolt's default leaves them about half
// full (40, 51 and 50 % in this test). The asker index, whose keys arrive anywhere, is held to nothing
// but is reported for comparison.
func TestOrderedBucketsFilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "caunoi.db")
	s := openFile(t, path)
	ctx := context.Background()
	day := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	const callers, each = 16, 40
	// Question IDs of one length sort in the order they are given;
	// Q1000 to Q1639 do.
	if _, err := s.ReserveQuestionIDs(ctx, 999); err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				n := int(next.Add(1) - 1)
				prefix, dept := "TP", "tu-phap"
				if n%2 == 1 {
					prefix, dept = "XD", "xay-dung"
				}
				at := day.Add(time.Duration(n) * time.Second)
				tk, _, err := s.CreateTicket(ctx, prefix, caunoi.Ticket{
					Department: dept, Asker: caunoi.UserID(1000 + n%97), Commune: "26734",
					Question: fmt.Sprintf("Hỏi về thủ tục chứng thực bản sao số %d, nộp ở xã hay ở Sở?", n),
					Status:   caunoi.StatusNew, Created: at, Updated: at,
				}, caunoi.Event{Kind: caunoi.EventCreated, Actor: caunoi.UserID(1000 + n%97), At: at, To: caunoi.StatusNew})
				if err != nil {
					errs <- err
					return
				}
				if n%3 == 0 {
					_, err = s.UpdateTicket(ctx, tk.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
						cur.Status, cur.Assignee, cur.Updated = caunoi.StatusClaimed, 7, at.Add(time.Minute)
						return []caunoi.Event{{Kind: caunoi.EventClaimed, Actor: 7, At: at.Add(time.Minute), From: caunoi.StatusNew, To: caunoi.StatusClaimed}}, nil
					})
					if err != nil {
						errs <- err
						return
					}
				}
				if _, err := s.LogQuestion(ctx, caunoi.QuestionRecord{Asker: caunoi.UserID(1000 + n%97), At: at, Text: fmt.Sprintf("thu tuc chung thuc ban sao so %d", n)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	closeStore(t, s)

	fill := map[string]float64{}
	editFile(t, path, func(tx *bolt.Tx) error {
		for _, name := range []string{"tickets", "ticket_time", "questions", "ticket_asker"} {
			st := tx.Bucket([]byte(name)).Stats()
			if st.LeafAlloc == 0 {
				t.Fatalf("bucket %s has no leaf pages", name)
			}
			fill[name] = float64(st.LeafInuse) / float64(st.LeafAlloc)
		}
		return nil
	})
	t.Logf("leaf pages in use: %v", fill)
	// A claim makes a ticket longer, and a full page that gets longer is
	// split: a third of the tickets were claimed.
	for name, least := range map[string]float64{"tickets": 0.65, "ticket_time": 0.8, "questions": 0.8} {
		if fill[name] < least {
			t.Errorf("bucket %s: leaf pages %.0f%% full, want at least %.0f%%", name, 100*fill[name], 100*least)
		}
	}
}
