// Package boltstore keeps Cầu Nối's data in one bbolt file, for a single
// machine. It is the default store.
package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var _ caunoi.Store = (*Store)(nil)

// Bucket names. Each aggregate has its own bucket; index buckets hold keys
// only.
var (
	bktOfficials = []byte("officials")    // id → Official
	bktInvites   = []byte("invites")      // code → Invite
	bktCommunes  = []byte("communes")     // code → Commune
	bktTickets   = []byte("tickets")      // number → Ticket
	bktEvents    = []byte("events")       // number 0x00 seq → Event
	bktIdem      = []byte("ticket_idem")  // idem key → number
	bktByAsker   = []byte("ticket_asker") // asker created number → nil
	bktByDept    = []byte("ticket_dept")  // dept 0x00 created number → nil
	bktByCreated = []byte("ticket_time")  // created number → nil
	bktOpen      = []byte("ticket_open")  // dept 0x00 created number → nil, for open tickets only
	bktDone      = []byte("ticket_done")  // status 0x00 dept 0x00 resolved number → nil, for resolved and closed tickets
	bktSeq       = []byte("ticket_seq")   // prefix 0x00 year → bucket with NextSequence
	bktQuestions = []byte("questions")    // id → QuestionRecord
	bktQByAt     = []byte("question_at")  // at id → nil
	bktQSeq      = []byte("question_seq") // NextSequence for question ids
	bktJournal   = []byte("journal")      // id → JournalEntry (pending)
	bktJDone     = []byte("journal_done") // id → received
	bktOutbox    = []byte("outbox")       // key → OutMessage
	bktOutDue    = []byte("outbox_due")   // notBefore key → nil
	bktLocks     = []byte("locks")        // name → lease
	bktKV        = []byte("kv")           // key → kvValue
)

var allBuckets = [][]byte{
	bktOfficials, bktInvites, bktCommunes, bktTickets, bktEvents, bktIdem,
	bktByAsker, bktByDept, bktByCreated, bktOpen, bktDone, bktSeq,
	bktQuestions, bktQByAt, bktQSeq, bktJournal, bktJDone, bktOutbox,
	bktOutDue, bktLocks, bktKV, bktMeta,
}

// ordered lists the buckets whose new keys arrive in the order of the
// keys, or at a point that moves forward through them: ticket numbers
// within a prefix and year, question IDs, times within a department.
//
// bbolt splits a page that overflows where it is FillPercent full, 0.5 by
// default, which suits keys that arrive anywhere. For keys that arrive in
// order it leaves every page behind that point half empty: the file is
// larger, and a commit writes more pages than its new entries fill. The
// timeline (bktEvents) is not listed: most of a ticket's events arrive
// after newer tickets exist, in the middle of the bucket, where full pages
// would split at every event. Nor are the asker and idempotency indexes,
// whose keys arrive anywhere. BENCHMARKS.md has the page writes measured.
var ordered = [][]byte{
	bktTickets, bktByCreated, bktByDept, bktOpen, bktDone,
	bktQuestions, bktQByAt, bktJournal, bktJDone,
}

// fillOrdered has the pages of the ordered buckets filled before they are
// split, in the write transaction tx. bbolt does not keep FillPercent in
// the file, so every write transaction sets it.
func fillOrdered(tx *bolt.Tx) {
	for _, name := range ordered {
		if b := tx.Bucket(name); b != nil {
			b.FillPercent = 1
		}
	}
}

// Store is a caunoi.Store in one bbolt file. It is safe for concurrent use
// within one process; a second process opening the same file waits for the
// lock and then fails.
type Store struct {
	db  *bolt.DB
	now func() time.Time

	mu         sync.Mutex
	queue      []call // updates waiting for the next group commit
	committing bool   // a commit goroutine is running
}

type options struct {
	lockTimeout time.Duration
	now         func() time.Time
}

// Option configures Open.
type Option func(*options)

// WithLockTimeout sets how long Open waits for another process to release
// the file (default 5 s).
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// WithClock sets the clock used for lease and key expiry (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("database file is in use by another process")

// Open opens or creates the store at path with mode 0600, creating the
// parent directory if needed. It returns an error wrapping ErrLocked when
// another process holds the file for longer than the lock timeout.
//
// A file written before the indexes of open and finished tickets existed,
// or before the schema key (schema.go), gets them here, built from every
// ticket in the transaction that creates their buckets: a crash leaves
// either the file as it was or the complete indexes, never a part of them.
// A file of a newer version is refused with a *caunoi.SchemaError, and left
// as it was.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{lockTimeout: 5 * time.Second, now: time.Now}
	for _, fn := range opts {
		fn(&o)
	}
	if path == "" {
		return nil, fmt.Errorf("open bolt store: empty path: %w", caunoi.ErrInvalid)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open bolt store: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.lockTimeout, InitialMmapSize: mapSize(path)})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open bolt store %s: waited %s: %w", path, o.lockTimeout, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	var what string // the step that failed
	err = db.Update(func(tx *bolt.Tx) error {
		what = "check the schema"
		version, err := CheckSchema(tx)
		if err != nil {
			return err
		}
		// A file without the indexes of status, or one that a version
		// before the schema key may have written without keeping them,
		// has them built from its tickets.
		rebuild := version < schemaVersion || tx.Bucket(bktOpen) == nil
		what = "create buckets"
		if rebuild {
			for _, name := range [][]byte{bktOpen, bktDone} {
				if tx.Bucket(name) == nil {
					continue
				}
				if err := tx.DeleteBucket(name); err != nil {
					return err
				}
			}
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		fillOrdered(tx)
		if rebuild {
			what = "index tickets by status"
			if err := indexStatuses(tx); err != nil {
				return err
			}
		}
		what = "record the schema"
		if version < schemaVersion {
			return tx.Bucket(bktMeta).Put(schemaKey, []byte(strconv.Itoa(schemaVersion)))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open bolt store %s: %s: %w", path, what, err)
	}
	return &Store{db: db, now: o.now}, nil
}

// mapSize returns the size to map the file at path with: its size now and
// 4 GiB more (256 MiB in a 32-bit program, whose addresses run out
// sooner), or 0 for bbolt's default.
//
// bbolt maps the file into memory and maps it again, larger, when a commit
// needs room beyond the mapping; that waits until every read transaction
// has ended, and holds up every other call meanwhile. A backup is a read
// transaction that lasts as long as copying the whole file takes, so with
// bbolt's default, which maps little more than the file, the desk would
// stop writing for the rest of any backup during which the file grew
// (TestWritesDuringBackup). The mapping is address space only: memory is
// used for the pages read, as before. On Windows bbolt would grow the file
// to the mapping, so there it keeps its default.
func mapSize(path string) int {
	if runtime.GOOS == "windows" {
		return 0
	}
	headroom := int64(4 << 30)
	if strconv.IntSize < 64 {
		headroom = 256 << 20
	}
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	if size > math.MaxInt-headroom {
		return 0
	}
	return int(size + headroom)
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.db.Path() }

// Close closes the file. Calls in progress finish first.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close bolt store: %w", err)
	}
	return nil
}

// Ping reports whether the store is open.
func (s *Store) Ping(ctx context.Context) error {
	err := s.db.View(func(tx *bolt.Tx) error { return nil })
	if err != nil {
		return fmt.Errorf("ping bolt store: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of the whole file to w while the store
// keeps serving, and returns the number of bytes written.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(ctxWriter{ctx: ctx, w: w})
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup bolt store: %w", err)
	}
	return n, nil
}

// ctxWriter stops a long copy when ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// view runs fn in a read transaction after checking ctx.
func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(fn)
	var ce cleanError
	if errors.As(err, &ce) {
		return ce.err
	}
	return err
}

// update runs fn in a write transaction. Concurrent updates are committed
// together (group commit): the first caller starts a committer, and callers
// that arrive while a commit is being synced to disk join the next one, so
// one fsync serves many writes without any added delay. fn may run more
// than once and must set its results afresh on every call. An error that fn
// wraps with clean is returned to its caller without disturbing the others
// in the group; any other error rolls the group back and fn runs again on
// its own.
func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := call{fn: fn, done: make(chan error, 1)}
	s.mu.Lock()
	s.queue = append(s.queue, c)
	if !s.committing {
		s.committing = true
		go s.commit()
	}
	s.mu.Unlock()
	err := <-c.done
	if err == errSolo {
		err = s.write(fn)
	}
	var ce cleanError
	if errors.As(err, &ce) {
		return ce.err
	}
	return err
}

type call struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// cleanError marks an error that fn returned before writing anything.
type cleanError struct{ err error }

func (e cleanError) Error() string { return e.err.Error() }
func (e cleanError) Unwrap() error { return e.err }

// clean marks err as returned before fn wrote anything in the transaction.
func clean(err error) error { return cleanError{err} }

var errSolo = errors.New("run the update on its own")

// write runs fn in a write transaction of its own, with the ordered
// buckets filled.
func (s *Store) write(fn func(*bolt.Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		fillOrdered(tx)
		return fn(tx)
	})
}

// commit commits queued updates in groups until the queue is empty.
func (s *Store) commit() {
	for {
		s.mu.Lock()
		calls := s.queue
		s.queue = nil
		if len(calls) == 0 {
			s.committing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.commitGroup(calls)
	}
}

func (s *Store) commitGroup(calls []call) {
	for len(calls) > 0 {
		results := make([]error, len(calls))
		failed := -1
		err := s.write(func(tx *bolt.Tx) error {
			for i, c := range calls {
				err := c.fn(tx)
				var ce cleanError
				if err != nil && !errors.As(err, &ce) {
					failed = i
					return err
				}
				results[i] = err
			}
			return nil
		})
		if failed >= 0 {
			calls[failed].done <- errSolo
			calls = slices.Delete(calls, failed, failed+1)
			continue
		}
		for i, c := range calls {
			if err != nil {
				c.done <- err
			} else {
				c.done <- results[i]
			}
		}
		return
	}
}

// Key encodings. Integers are big-endian with the sign bit flipped so that
// byte order equals numeric order; times are seconds then nanoseconds, which
// also covers the zero time.

func int64Key(v int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v)^(1<<63))
	return b
}

func keyInt64(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

func timeKey(t time.Time) []byte { return appendTimeKey(make([]byte, 0, 12), t) }

// appendTimeKey appends the 12 bytes of timeKey(t) to b.
func appendTimeKey(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

func keyTime(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

func cat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func put(b *bolt.Bucket, key []byte, v any) error {
	data, err := codec.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// get decodes the value under key into v, or returns caunoi.ErrNotFound
// (marked clean: nothing was written).
func get(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return clean(caunoi.ErrNotFound)
	}
	return codec.Unmarshal(data, v)
}
