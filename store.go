package caunoi

import (
	"context"
	"strconv"
	"time"
)

// The store interfaces are the one exception to "declare interfaces where
// they are used": two implementations (store/boltstore, store/redisstore)
// share them and pass one behaviour suite, store/storetest. Every method is
// safe for concurrent use, returns ErrNotFound for a missing record (never a
// zero value with a nil error), and leaves data unchanged when it returns an
// error.

// OfficialStore keeps registered people, invites and the commune registry.
type OfficialStore interface {
	// Official returns the person with id, or ErrNotFound.
	Official(ctx context.Context, id UserID) (Official, error)
	// PutOfficial creates or replaces a person.
	PutOfficial(ctx context.Context, o Official) error
	// Officials lists people holding role in department (either may be empty
	// to match all), ordered by ID.
	Officials(ctx context.Context, role Role, department string) ([]Official, error)

	// CreateInvite stores a new invite; ErrConflict if the code exists.
	CreateInvite(ctx context.Context, inv Invite) error
	// Invite returns the invite with code, or ErrNotFound.
	Invite(ctx context.Context, code string) (Invite, error)
	// RedeemInvite atomically marks the invite used by o.ID at now and stores
	// o with the invite's role, commune and department merged in. It returns
	// ErrNotFound for an unknown code and ErrExpired for a used or expired
	// one; exactly one of several concurrent redemptions succeeds.
	RedeemInvite(ctx context.Context, code string, o Official, now time.Time) (Official, error)

	// ReplaceCommunes atomically replaces the whole registry.
	ReplaceCommunes(ctx context.Context, communes []Commune) error
	// Commune returns the commune with code, or ErrNotFound.
	Commune(ctx context.Context, code string) (Commune, error)
	// Communes lists the registry ordered by code.
	Communes(ctx context.Context) ([]Commune, error)
}

// TicketStore keeps tickets and their timelines.
type TicketStore interface {
	// CreateTicket stores t with ev as its first event. It assigns t.Number
	// from prefix, the year of t.Created and a sequence that never repeats.
	// When t.IdemKey is set and a ticket was already created with that key,
	// it returns that ticket and created=false, and stores nothing.
	CreateTicket(ctx context.Context, prefix string, t Ticket, ev Event) (_ Ticket, created bool, _ error)
	// Ticket returns the ticket with number, or ErrNotFound.
	Ticket(ctx context.Context, number string) (Ticket, error)
	// UpdateTicket applies fn to the current ticket atomically: fn sees the
	// latest state, and its changes and the events it returns are stored
	// together or not at all. If fn returns an error, nothing is stored and
	// the error is returned unchanged. fn may be called more than once under
	// contention, so it must have no side effects, and must not keep the
	// pointer it is given after it returns.
	UpdateTicket(ctx context.Context, number string, fn func(*Ticket) ([]Event, error)) (Ticket, error)
	// Events returns the ticket's timeline in order, or ErrNotFound.
	Events(ctx context.Context, number string) ([]Event, error)
	// Tickets lists tickets matching f, newest first. A filter that is
	// OpenOnly or FinishedWindow reads only the open tickets, or those
	// finished in the window, from indexes the store keeps by status: what
	// runs on a schedule must not read every ticket ever made.
	Tickets(ctx context.Context, f TicketFilter) ([]Ticket, error)
	// CountTickets counts the tickets of each department and status, for
	// metrics, from the indexes by status: it reads the open tickets and
	// counts the finished ones. A ticket created or changed while it
	// counts may be counted in its old state, or, on Redis, once too often
	// or not at all.
	CountTickets(ctx context.Context) (map[DeptStatus]int, error)
}

// DeptStatus is a department and a status, what CountTickets counts by.
type DeptStatus struct {
	Department string
	Status     Status
}

// QuestionRecord is one question asked, with how the handbook answered it.
type QuestionRecord struct {
	ID         string // assigned by LogQuestion when empty
	Asker      UserID
	Commune    string
	Text       string
	Confidence Confidence
	Top        []Candidate
	Version    string // handbook version that answered
	At         time.Time
	// Helpful is nil until the official gives feedback.
	Helpful *bool
	// Escalated is the ticket number when the question was escalated.
	Escalated string
}

// QuestionID is the ID of the question record numbered n.
func QuestionID(n int64) string { return "Q" + strconv.FormatInt(n, 10) }

// QuestionLog records questions and feedback, for statistics and for the
// editors' knowledge-gap report.
type QuestionLog interface {
	// LogQuestion stores q and returns it with its ID.
	LogQuestion(ctx context.Context, q QuestionRecord) (QuestionRecord, error)
	// ReserveQuestionIDs takes n ≥ 1 numbers from the sequence LogQuestion
	// numbers records from and returns the first; QuestionID of each names
	// a record no one else will. Numbers not used are skipped, not reused.
	ReserveQuestionIDs(ctx context.Context, n int) (first int64, err error)
	// Question returns the record with id, or ErrNotFound.
	Question(ctx context.Context, id string) (QuestionRecord, error)
	// UpdateQuestion applies fn atomically, as TicketStore.UpdateTicket does.
	UpdateQuestion(ctx context.Context, id string, fn func(*QuestionRecord) error) (QuestionRecord, error)
	// Questions lists records with At in [since, until), oldest first.
	Questions(ctx context.Context, since, until time.Time) ([]QuestionRecord, error)
	// PruneQuestions deletes up to limit ≥ 1 records with At before
	// before, oldest first, and returns how many it deleted: fewer than
	// limit means none is left. Each record goes with its index entry, in
	// one atomic change per call, which holds up the store's other writes
	// while it runs: keep limit in the hundreds. Their numbers are not
	// reused.
	PruneQuestions(ctx context.Context, before time.Time, limit int) (int, error)
}

// JournalEntry is one inbound update from the channel, stored before it is
// acknowledged so that a crash never loses it.
type JournalEntry struct {
	ID       int64  // the channel's update id
	Chat     int64  // the chat whose order the update belongs to
	Payload  []byte // the raw update
	Received time.Time
}

// Journal is the durable intake of updates.
type Journal interface {
	// Append stores e unless an entry with its ID was stored before (pending
	// or done); added reports whether it was new.
	Append(ctx context.Context, e JournalEntry) (added bool, err error)
	// Pending returns up to limit entries not yet marked done, by ID.
	Pending(ctx context.Context, limit int) ([]JournalEntry, error)
	// Done marks the entry handled. Its ID is remembered for deduplication
	// until Prune forgets it.
	Done(ctx context.Context, id int64) error
	// Prune forgets done entries received before before, and the outbox's
	// record of messages sent before before (after which the same key may be
	// enqueued again).
	Prune(ctx context.Context, before time.Time) error
}

// OutMessage is a message waiting to be delivered to a chat.
type OutMessage struct {
	// Key is unique and makes Enqueue idempotent: the same logical message
	// produced twice is stored once, and once sent it is not stored again.
	Key     string
	Chat    int64
	Payload []byte // the adapter's rendering of the message
	Created time.Time
	// NotBefore holds delivery back, for retries and for unreachable users.
	NotBefore time.Time
	Attempts  int
}

// Outbox is the durable queue of outbound messages. Each chat's pending
// messages form a FIFO ordered by Created, then Key; only its oldest
// message, the head, is ever due, so a chat's messages go out in order even
// across retries and restarts.
type Outbox interface {
	// Enqueue stores, atomically, the messages whose keys were never
	// stored: neither pending nor sent and still remembered (see Sent).
	// Within msgs the first message with a key wins. A message without a
	// key is ErrInvalid.
	Enqueue(ctx context.Context, msgs []OutMessage) error
	// Due returns the heads of up to limit chats (all chats when limit ≤ 0)
	// whose head has NotBefore ≤ now, ordered by the head's NotBefore, then
	// Created. A chat whose head is held returns nothing, even if newer
	// messages of it would be due. Its cost grows with limit, not with the
	// number of pending messages.
	Due(ctx context.Context, now time.Time, limit int) ([]OutMessage, error)
	// Sent removes the message with key, or returns ErrNotFound, and makes
	// the chat's next message its head. The key is remembered, so that
	// Enqueue ignores it, until Prune forgets messages sent before its
	// cutoff.
	Sent(ctx context.Context, key string) error
	// Retry records a failed attempt and holds the message until
	// notBefore, and with it its chat while it is the head. An unknown key
	// is ErrNotFound.
	Retry(ctx context.Context, key string, notBefore time.Time) error
	// ReleaseChat makes every held message for chat due now (the person
	// wrote again after blocking the bot).
	ReleaseChat(ctx context.Context, chat int64, now time.Time) error
}

// Locker grants a named lease to one holder at a time, for work that only
// one replica may do (reminders, digests).
type Locker interface {
	// Acquire takes name for ttl if it is free or expired, or extends it if
	// owner already holds it. It reports whether owner holds the lease.
	Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// Unlock gives up name if owner holds it.
	Unlock(ctx context.Context, name, owner string) error
}

// KV keeps small named values (sent reminders, settings) with optional
// expiry. SetNX is the primitive for "only once".
type KV interface {
	// SetNX stores value under key unless the key exists; it reports whether
	// it stored. ttl 0 means no expiry.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Value returns the value under key, or ErrNotFound.
	Value(ctx context.Context, key string) ([]byte, error)
}

// Store is everything the desk and the bot need from storage.
type Store interface {
	OfficialStore
	TicketStore
	QuestionLog
	Journal
	Outbox
	Locker
	KV
	// EnqueueDone is LogQuestion of each of qs, which must have IDs,
	// Enqueue(msgs) and Done(id) as one change: all happen or none. An
	// entry that is not pending is left as it is. The bot stores an
	// update's question log, its replies (whose buttons name the questions)
	// and the end of its handling so, in one write instead of three.
	EnqueueDone(ctx context.Context, msgs []OutMessage, id int64, qs ...QuestionRecord) error
	// Ping checks that the store is reachable.
	Ping(ctx context.Context) error
	Close() error
}
