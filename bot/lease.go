package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
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
}

func newLeases(shared bool, l caunoi.Locker) *leases {
	if !shared {
		return &leases{}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &leases{locker: l, owner: hex.EncodeToString(b[:])}
}

// take acquires or renews the lease on kind+chat.
func (l *leases) take(ctx context.Context, kind string, chat int64) (bool, error) {
	if l.locker == nil {
		return true, nil
	}
	return l.locker.Acquire(ctx, kind+":"+strconv.FormatInt(chat, 10), l.owner, chatLeaseTTL)
}

// drop gives the lease up.
func (l *leases) drop(ctx context.Context, kind string, chat int64) {
	if l.locker == nil {
		return
	}
	_ = l.locker.Unlock(context.WithoutCancel(ctx), kind+":"+strconv.FormatInt(chat, 10), l.owner)
}
