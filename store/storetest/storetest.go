// Package storetest is the behaviour suite that every caunoi.Store must
// pass. A store package runs it from its tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(tb testing.TB) caunoi.Store { return MustOpen(tb) })
//	}
//
// open must return a new, empty store for each call and close it when tb
// ends.
package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// Run runs the store contract tests and then the desk use cases against the
// stores that open returns.
func Run(t *testing.T, open func(tb testing.TB) caunoi.Store) {
	t.Run("Ping", func(t *testing.T) {
		if err := open(t).Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("Officials", func(t *testing.T) { testOfficials(t, open) })
	t.Run("Invites", func(t *testing.T) { testInvites(t, open) })
	t.Run("RedeemInviteConcurrent", func(t *testing.T) { testRedeemConcurrent(t, open) })
	t.Run("Communes", func(t *testing.T) { testCommunes(t, open) })
	t.Run("TicketCreate", func(t *testing.T) { testTicketCreate(t, open) })
	t.Run("TicketIdempotent", func(t *testing.T) { testTicketIdempotent(t, open) })
	t.Run("TicketIdempotentConcurrent", func(t *testing.T) { testTicketIdempotentConcurrent(t, open) })
	t.Run("TicketUpdate", func(t *testing.T) { testTicketUpdate(t, open) })
	t.Run("TicketUpdateError", func(t *testing.T) { testTicketUpdateError(t, open) })
	t.Run("TicketClaimConcurrent", func(t *testing.T) { testTicketClaimConcurrent(t, open) })
	t.Run("TicketSequences", func(t *testing.T) { testTicketSequences(t, open) })
	t.Run("TicketFilters", func(t *testing.T) { testTicketFilters(t, open) })
	t.Run("TicketTransferIndex", func(t *testing.T) { testTicketTransferIndex(t, open) })
	t.Run("CountTickets", func(t *testing.T) { testCountTickets(t, open) })
	t.Run("TicketIndexes", func(t *testing.T) { testTicketIndexes(t, open) })
	t.Run("Questions", func(t *testing.T) { testQuestions(t, open) })
	t.Run("PruneQuestions", func(t *testing.T) { testPruneQuestions(t, open) })
	t.Run("Journal", func(t *testing.T) { testJournal(t, open) })
	t.Run("JournalPrune", func(t *testing.T) { testJournalPrune(t, open) })
	t.Run("EnqueueDone", func(t *testing.T) { testEnqueueDone(t, open) })
	t.Run("EnqueueDoneQuestions", func(t *testing.T) { testEnqueueDoneQuestions(t, open) })
	t.Run("ReserveQuestionIDs", func(t *testing.T) { testReserveQuestionIDs(t, open) })
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, open) })
	t.Run("OutboxRetry", func(t *testing.T) { testOutboxRetry(t, open) })
	t.Run("Locker", func(t *testing.T) { testLocker(t, open) })
	t.Run("LockerConcurrent", func(t *testing.T) { testLockerConcurrent(t, open) })
	t.Run("LockerExpiry", func(t *testing.T) { testLockerExpiry(t, open) })
	t.Run("KV", func(t *testing.T) { testKV(t, open) })
	t.Run("KVExpiry", func(t *testing.T) { testKVExpiry(t, open) })
	t.Run("KVPutDelete", func(t *testing.T) { testKVPutDelete(t, open) })
	RunDesk(t, open)
}

// suiteEpoch is the fixed instant the contract tests count from.
var suiteEpoch = time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC)

// expiryDeadline bounds how long the expiry tests poll for a lease or key
// to lapse.
const expiryDeadline = 2 * time.Second

func checkErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

func checkEqual[T any](t testing.TB, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// race runs fn(i) for i in [0, n) on n goroutines released together and
// waits for all of them.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// pollUntil calls fn until it reports true or the deadline passes, and
// reports whether fn succeeded.
func pollUntil(t testing.TB, deadline time.Duration, fn func() bool) bool {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		if fn() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
