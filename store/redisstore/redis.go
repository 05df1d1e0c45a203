// Package redisstore keeps Cầu Nối's data in Redis, so that several bot
// replicas share one store. All keys live under one prefix inside a hash tag
// ("{caunoi:}t:TP-2025-000042"), so that multi-key scripts and transactions
// also work on Redis Cluster. Run Redis with the append-only file on.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/codec"
	"github.com/redis/go-redis/v9"
)

var _ caunoi.Store = (*Store)(nil)

// DefaultPrefix is used when no prefix is given.
const DefaultPrefix = "caunoi:"

// maxTxAttempts bounds how often an optimistic transaction is retried when
// a watched key changes under it.
const maxTxAttempts = 100

// Store is a caunoi.Store on Redis. It is safe for concurrent use, also by
// several processes sharing one Redis.
type Store struct {
	rdb  redis.UniversalClient
	c    redis.Cmdable // rdb's commands, batched across goroutines when rdb can
	proc processor     // c, to send a command built here
	pre  string        // "{prefix}"
	owns bool          // Close closes rdb

	tickets *ticketCache // tickets this process wrote last

	// Keys every ticket write names, built once.
	ticketKeyPrefix, eventsKeyPrefix, createdIndex string

	numbering memo[numberingKey, numbering] // of the departments and years seen
	deptKeys  memo[string, deptKeys]        // of the departments seen

	deptsKey, indexedKey string
	schemaKey            string      // schema.go
	schemaKeyArg         any         // schemaKey, boxed once
	indexed              atomic.Bool // tix:indexed was seen: the status indexes are complete
}

// New returns a store on client with keys under prefix (DefaultPrefix when
// empty). The caller keeps ownership of client: Close does not close it.
func New(client redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	s := &Store{rdb: client, c: batched(client), pre: "{" + prefix + "}", tickets: newTicketCache()}
	s.proc, _ = s.c.(processor)
	if s.proc == nil {
		s.proc = client
	}
	s.ticketKeyPrefix, s.eventsKeyPrefix, s.createdIndex = s.key("t", ""), s.key("ev", ""), s.key("tix", "created")
	s.deptsKey, s.indexedKey = s.key("tix", "depts"), s.key("tix", "indexed")
	s.schemaKey = s.key("schema")
	s.schemaKeyArg = s.schemaKey
	return s
}

// batched returns the command surface of client that sends the commands of
// concurrent callers to Redis together, one pipeline per round trip
// (go-redis's blocking autopipeliner), or client itself when it has none.
// A caller still waits for its own command, so each goroutine's commands
// keep their order. Under load this turns many small round trips, each a
// write and a read on both sides, into a few: less CPU in Redis and here,
// and a shorter queue behind busy clients. Transactions and Watch stay on
// client, since their commands must share one connection.
//
// The batch target is 100 commands, the size of the queues go-redis's pool
// makes: with its default of 300 a flush often allocated a fresh 300-slot
// queue instead (0.5–0.8 KB per ticket write in the store's benchmark). A
// caller has one command in flight, so batches stay far smaller either way. The autopipeliner belongs to client: closing client
// closes it.
func batched(client redis.UniversalClient) redis.Cmdable {
	ap, ok := client.(interface {
		AutoPipelineWithOptions(*redis.AutoPipelineOptions) (*redis.AutoPipeliner, error)
	})
	if !ok {
		return client
	}
	o := redis.DefaultBlockingAutoPipelineOptions()
	o.MaxBatchSize = 100
	p, err := ap.AutoPipelineWithOptions(o)
	if err != nil {
		return client
	}
	return p
}

// processor sends a command go-redis has not built.
type processor interface {
	Process(ctx context.Context, cmd redis.Cmder) error
}

type options struct {
	prefix   string
	progress IndexProgress
}

// Option configures Open.
type Option func(*options)

// WithPrefix sets the key prefix, overriding the URL's prefix parameter.
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// WithIndexProgress has Open report its progress to fn while it indexes
// the tickets of a store written before the indexes of status existed.
func WithIndexProgress(fn IndexProgress) Option { return func(o *options) { o.progress = fn } }

// Open connects to the Redis at rawURL and checks that it answers. The URL
// is go-redis's: redis:// or rediss://, with an optional "prefix" query
// parameter for the key prefix. A "master_name" parameter selects Sentinel
// (the host and any "addr" parameters are sentinels); several "addr"
// parameters or "cluster=true" select Cluster. Errors never contain the
// password. A store written before the indexes of status existed gets
// them here, once (see buildIndexes): WithIndexProgress reports on it.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("open redis store: malformed URL: %v: %w", err, caunoi.ErrInvalid)
	}
	safe := u.Redacted()
	q := u.Query()
	o := options{prefix: q.Get("prefix")}
	for _, fn := range opts {
		fn(&o)
	}
	q.Del("prefix")
	cluster := q.Get("cluster")
	q.Del("cluster")
	u.RawQuery = q.Encode()
	clean := u.String()

	var client redis.UniversalClient
	switch {
	case q.Has("master_name"):
		fo, err := redis.ParseFailoverURL(clean)
		if err != nil {
			return nil, fmt.Errorf("open redis store %s: %v: %w", safe, err, caunoi.ErrInvalid)
		}
		client = redis.NewFailoverClient(fo)
	case len(q["addr"]) > 0 || cluster == "true" || cluster == "1":
		co, err := redis.ParseClusterURL(clean)
		if err != nil {
			return nil, fmt.Errorf("open redis store %s: %v: %w", safe, err, caunoi.ErrInvalid)
		}
		client = redis.NewClusterClient(co)
	default:
		so, err := redis.ParseURL(clean)
		if err != nil {
			return nil, fmt.Errorf("open redis store %s: %v: %w", safe, err, caunoi.ErrInvalid)
		}
		client = redis.NewClient(so)
	}
	s := New(client, o.prefix)
	s.owns = true
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("open redis store %s: %w", safe, err)
	}
	if err := s.claimSchema(ctx); err != nil {
		client.Close()
		return nil, fmt.Errorf("open redis store %s: %w", safe, err)
	}
	if err := s.buildIndexes(ctx, o.progress); err != nil {
		client.Close()
		return nil, fmt.Errorf("open redis store %s: index tickets by status: %w", safe, err)
	}
	return s, nil
}

// Ping checks that Redis answers, and that no newer version of caunoi has
// upgraded the store since this one opened it (a *caunoi.SchemaError).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.checkSchema(ctx); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Close closes the client if Open created it.
func (s *Store) Close() error {
	if !s.owns {
		return nil
	}
	if err := s.rdb.Close(); err != nil {
		return fmt.Errorf("close redis store: %w", err)
	}
	return nil
}

// memo remembers values built from their keys, up to maxMemo of them;
// past that they are built per call. It holds what every ticket write
// would otherwise format again: a department's keys, a numbering.
type memo[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]*V
}

// maxMemo bounds a memo (departments, or departments times years: a few
// dozen in practice).
const maxMemo = 1024

// get returns the value of k, built by build the first time.
func (m *memo[K, V]) get(k K, build func() (*V, error)) (*V, error) {
	m.mu.RLock()
	v, ok := m.m[k]
	m.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.m == nil {
		m.m = map[K]*V{}
	}
	if len(m.m) < maxMemo {
		m.m[k] = v
	}
	m.mu.Unlock()
	return v, nil
}

// key joins parts under the store's prefix.
func (s *Store) key(parts ...string) string {
	n := len(s.pre) + len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(s.pre)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(p)
	}
	return b.String()
}

// watch runs fn in an optimistic transaction on keys, retrying while a
// watched key changes under it. fn's own errors come back unchanged.
func (s *Store) watch(ctx context.Context, fn func(*redis.Tx) error, keys ...string) error {
	for range maxTxAttempts {
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return fmt.Errorf("gave up after %d attempts under contention: %w", maxTxAttempts, caunoi.ErrConflict)
}

// getJSON decodes the value at key into v, or returns caunoi.ErrNotFound.
func getJSON(ctx context.Context, c redis.Cmdable, key string, v any) error {
	data, err := c.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return caunoi.ErrNotFound
	}
	if err != nil {
		return err
	}
	return codec.UnmarshalString(data, v)
}

// micros is the sorted-set score for t: microseconds since 1970, exact in a
// float64 for any date people will use.
func micros(t time.Time) float64 { return float64(t.UnixMicro()) }

func microsArg(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// mgetJSON fetches keys and decodes the values that exist with decode.
func mgetJSON(ctx context.Context, c redis.Cmdable, keys []string, decode func(data string) error) error {
	const chunk = 500
	for len(keys) > 0 {
		n := min(chunk, len(keys))
		vals, err := c.MGet(ctx, keys[:n]...).Result()
		if err != nil {
			return err
		}
		for _, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue
			}
			if err := decode(str); err != nil {
				return err
			}
		}
		keys = keys[n:]
	}
	return nil
}

// script is a Lua script on a hot path, called with an argument list the
// store builds in one slice (script.args), instead of go-redis's Run, which
// copies the caller's arguments into a list of its own.
type script struct {
	hash, src any // the SHA-1 and the source, boxed once
}

func newScript(src string) script {
	return script{hash: redis.NewScript(src).Hash(), src: src}
}

// args begins the argument list of EVALSHA of sc on keys, with room for n
// arguments to append.
func (sc script) args(keys []string, n int) []any {
	a := make([]any, 0, 3+len(keys)+n)
	a = append(a, "evalsha", sc.hash, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	return a
}

// run sends a, built by sc.args, and sends the script itself (EVAL) when
// Redis does not know it, as after a restart or SCRIPT FLUSH.
func (s *Store) run(ctx context.Context, sc script, a []any) *redis.Cmd {
	cmd := s.send(ctx, a)
	if err := cmd.Err(); err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT")) {
		a[0], a[1] = "eval", sc.src
		cmd = s.send(ctx, a)
	}
	if err := cmd.Err(); err != nil {
		if se := schemaError(err); se != err {
			cmd.SetErr(se)
		}
	}
	return cmd
}

func (s *Store) send(ctx context.Context, a []any) *redis.Cmd {
	cmd := redis.NewCmd(ctx, a...)
	if n, _ := a[2].(int); n > 0 {
		cmd.SetFirstKeyPos(3) // where Cluster finds the slot
	}
	_ = s.proc.Process(ctx, cmd)
	return cmd
}
