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
