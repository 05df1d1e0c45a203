package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/caunoi/caunoi"
)

// chatLeaseTTL is how long a replica owns a chat without renewing. A replica
// that dies loses its chats after this, and another takes them over.
const chatLeaseTTL = 30 * time.Second

// leases makes sure that, when several replicas share one store, only one
// of them handles a chat's updates, and only one sends a chat's messages,
// at a time, so that each chat keeps its order and nothing is done twice.
// With a store of its own (bbolt, one process) every lease is granted
// without asking the store.
type leases struct {
	locker caunoi.Locker // nil: single process
	owner  string

	mu sync.Mutex
	// held maps a lease to when the call that last acquired it began.
	held map[string]time.Time
}

// leaseFresh is how long after an acquisition take trusts it without asking
// the store again: well inside chatLeaseTTL, which counts from a later
// instant (the store's receipt of the call).
const leaseFresh = chatLeaseTTL / 3

func newLeases(shared bool, l caunoi.Locker) *leases {
	if !shared {
		return &leases{}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &leases{locker: l, owner: hex.EncodeToString(b[:]), held: map[string]time.Time{}}
}

// take acquires or renews the lease on kind+chat.
func (l *leases) take(ctx context.Context, kind string, chat int64) (bool, error) {
	if l.locker == nil {
		return true, nil
	}
	name := kind + ":" + strconv.FormatInt(chat, 10)
	start := time.Now()
	l.mu.Lock()
	at, ok := l.held[name]
	l.mu.Unlock()
	if ok && start.Sub(at) < leaseFresh {
		return true, nil
	}
	got, err := l.locker.Acquire(ctx, name, l.owner, chatLeaseTTL)
	l.mu.Lock()
	if got && err == nil {
		l.held[name] = start
	} else {
		delete(l.held, name)
	}
	l.mu.Unlock()
	return got, err
}

// leaseWorkers bounds the leases taken or given up at once.
const leaseWorkers = 32

// takeAll takes or renews the leases on kind+chat for every chat, side by
// side: one after another, each would cost a store round trip, and a
// dispatcher or sender round may meet hundreds of chats.
func (l *leases) takeAll(ctx context.Context, kind string, chats []int64) ([]bool, []error) {
	oks, errs := make([]bool, len(chats)), make([]error, len(chats))
	l.each(chats, func(i int, chat int64) {
		oks[i], errs[i] = l.take(ctx, kind, chat)
	})
	return oks, errs
}

// dropAll gives up the leases on kind+chat for every chat, side by side.
func (l *leases) dropAll(ctx context.Context, kind string, chats []int64) {
	l.each(chats, func(_ int, chat int64) { l.drop(ctx, kind, chat) })
}

// each calls f for every chat, on up to leaseWorkers goroutines at once,
// and returns when all calls have.
func (l *leases) each(chats []int64, f func(i int, chat int64)) {
	if l.locker == nil || len(chats) == 1 {
		for i, chat := range chats {
			f(i, chat)
		}
		return
	}
	sem := make(chan struct{}, leaseWorkers)
	var wg sync.WaitGroup
	for i, chat := range chats {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i, chat)
		})
	}
	wg.Wait()
}

// drop gives the lease up.
func (l *leases) drop(ctx context.Context, kind string, chat int64) {
	if l.locker == nil {
		return
	}
	name := kind + ":" + strconv.FormatInt(chat, 10)
	l.mu.Lock()
	delete(l.held, name)
	l.mu.Unlock()
	_ = l.locker.Unlock(context.WithoutCancel(ctx), name, l.owner)
}
