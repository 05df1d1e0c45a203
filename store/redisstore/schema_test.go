package redisstore_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/redisstore"
	"github.com/caunoi/caunoi/store/storetest"
	"github.com/redis/go-redis/v9"
)

// snapshot returns every key under prefix with its DUMP, to tell whether
// anything changed.
func snapshot(t *testing.T, rdb *redis.Client, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "{"+prefix+"}*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		v, err := rdb.Dump(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

func schemaTicket(at time.Time) (caunoi.Ticket, caunoi.Event) {
	return caunoi.Ticket{Department: "tu-phap", Asker: 30, Commune: "26734", Question: "Đăng ký kết hôn có yếu tố nước ngoài nộp ở đâu?", Status: caunoi.StatusNew, Created: at, Updated: at, IdemKey: "hoi:" + at.Format(time.RFC3339)},
		caunoi.Event{Kind: caunoi.EventCreated, Actor: 30, At: at, Text: "Hỏi Sở Tư pháp", To: caunoi.StatusNew}
}

func isSchemaError(t *testing.T, what string, err error, found string) {
	t.Helper()
	var se *caunoi.SchemaError
	if !errors.As(err, &se) || !errors.Is(err, caunoi.ErrSchema) {
		t.Errorf("%s: got error %v, want a *SchemaError", what, err)
		return
	}
	if se.Found != found || se.Want != 2 {
		t.Errorf("%s: SchemaError{%q, %d}, want {%q, 2}", what, se.Found, se.Want, found)
	}
}

// TestSchemaFence raises the store's schema as a newer version's Open
// would, and checks that a store of this version, opened before, can no
// longer write a ticket by any path (create, a replayed create, an update
// from its cache or after a read, building the indexes), that its Ping
// and a new Open fail, and that nothing under the prefix changed.
func TestSchemaFence(t *testing.T) {
	ctx := context.Background()
	srv, rdb := startWithClient(t)
	s := MustOpen(t, srv, "f:")
	if v, err := rdb.Get(ctx, "{f:}schema").Result(); err != nil || v != "2" {
		t.Fatalf("schema after Open = %q, %v; want 2", v, err)
	}
	at := time.Date(2025, 9, 3, 8, 0, 0, 0, time.UTC)
	tk, ev := schemaTicket(at)
	first, _, err := s.CreateTicket(ctx, "TP", tk, ev)
	if err != nil {
		t.Fatal(err)
	}
	cold := MustOpen(t, srv, "f:") // has not seen the ticket: its update reads first
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping before the upgrade: %v", err)
	}

	if err := rdb.Set(ctx, "{f:}schema", "3", 0).Err(); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, rdb, "f:")

	tk2, ev2 := schemaTicket(at.Add(time.Minute))
	_, _, err = s.CreateTicket(ctx, "TP", tk2, ev2)
	isSchemaError(t, "CreateTicket", err, "3")
	_, _, err = s.CreateTicket(ctx, "TP", tk, ev)
	isSchemaError(t, "CreateTicket with a used key", err, "3")
	claim := func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		cur.Status, cur.Assignee, cur.Updated = caunoi.StatusClaimed, 100, at.Add(time.Hour)
		return []caunoi.Event{{Kind: caunoi.EventClaimed, Actor: 100, At: at.Add(time.Hour), From: caunoi.StatusNew, To: caunoi.StatusClaimed}}, nil
	}
	_, err = s.UpdateTicket(ctx, first.Number, claim)
	isSchemaError(t, "UpdateTicket (cached)", err, "3")
	_, err = cold.UpdateTicket(ctx, first.Number, claim)
	isSchemaError(t, "UpdateTicket (read first)", err, "3")
	_, err = s.UpdateTicket(ctx, first.Number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		cur.Status, cur.ResolvedAt = caunoi.StatusClosed, at.Add(2*time.Hour) // moves it between indexes
		return nil, nil
	})
	isSchemaError(t, "UpdateTicket (closing)", err, "3")
	isSchemaError(t, "Ping", s.Ping(ctx), "3")

	_, err = redisstore.Open(ctx, srv.URL(0)+"?prefix=f:")
	isSchemaError(t, "Open", err, "3")
	if err != nil && !strings.Contains(err.Error(), "newer version") {
		t.Errorf("Open's error does not say why: %v", err)
	}

	// Reads still work: the newer version's tickets can be looked at.
	if got, err := s.Ticket(ctx, first.Number); err != nil || got.Status != caunoi.StatusNew {
		t.Errorf("Ticket after the upgrade: %v, %v", got.Status, err)
	}
	if after := snapshot(t, rdb, "f:"); !maps.Equal(before, after) {
		t.Errorf("the refused writes changed the store: %d keys before, %d after", len(before), len(after))
	}
}

// TestSchemaClaimedOnOpen checks what Open does with the key schema: it
// sets it on a store without one, raises an older version, keeps its own
// and refuses a value that is not a version (a *caunoi.SchemaError that is
// not Newer), changing nothing then.
func TestSchemaClaimedOnOpen(t *testing.T) {
	ctx := context.Background()
	srv, rdb := startWithClient(t)
	open := func(prefix string) error {
		s, err := redisstore.Open(ctx, srv.URL(0)+"?prefix="+prefix)
		if err == nil {
			s.Close()
		}
		return err
	}
	// A store that a version before the key wrote: tickets, no schema.
	at := time.Date(2025, 9, 3, 8, 0, 0, 0, time.UTC)
	old := redisstore.New(rdb, "v1:")
	tk, ev := schemaTicket(at)
	if _, _, err := old.CreateTicket(ctx, "TP", tk, ev); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ prefix, stored, want string }{
		{"v1:", "", "2"},
		{"v1b:", "1", "2"},
		{"v2:", "2", "2"},
	} {
		if tt.stored != "" {
			rdb.Set(ctx, "{"+tt.prefix+"}schema", tt.stored, 0)
		}
		if err := open(tt.prefix); err != nil {
			t.Errorf("Open on schema %q: %v", tt.stored, err)
			continue
		}
		if v, err := rdb.Get(ctx, "{"+tt.prefix+"}schema").Result(); err != nil || v != tt.want {
			t.Errorf("schema after Open on %q = %q, %v; want %q", tt.stored, v, err, tt.want)
		}
	}
	// Opened once, the store of the older version has its indexes of
	// status: the ticket it created is among the open ones.
	s := MustOpen(t, srv, "v1:")
	if got, err := s.Tickets(ctx, caunoi.TicketFilter{Statuses: caunoi.OpenStatuses()}); err != nil || len(got) != 1 {
		t.Errorf("open tickets after the upgrade: %d, %v; want 1", len(got), err)
	}

	for _, bad := range []string{"hai", "0", "2.5", "-1"} {
		rdb.Set(ctx, "{bad:}schema", bad, 0)
		before := snapshot(t, rdb, "bad:")
		err := open("bad:")
		var se *caunoi.SchemaError
		if !errors.As(err, &se) || se.Found != bad || se.Newer() || !strings.Contains(err.Error(), "knows no other") {
			t.Errorf("Open on schema %q: %v, want a *caunoi.SchemaError that is not Newer", bad, err)
		}
		if after := snapshot(t, rdb, "bad:"); !maps.Equal(before, after) {
			t.Errorf("Open on schema %q changed the store", bad)
		}
	}
}

// TestSchemaClaimRebuildsIndexes opens a store whose indexes of status are
// marked complete but miss a ticket, as a process of a version before the
// key schema leaves them when it creates a ticket after they were built.
// The first Open of this version builds them again; a later one does not.
func TestSchemaClaimRebuildsIndexes(t *testing.T) {
	ctx := context.Background()
	srv, rdb := startWithClient(t)
	m := storetest.WriteIndexSample(t, MustOpen(t, srv, "cu:"))
	open, err := rdb.Keys(ctx, "{cu:}tix:open:*").Result()
	if err != nil || len(open) == 0 {
		t.Fatalf("no index of open tickets (%v)", err)
	}
	missing, err := rdb.ZRange(ctx, open[0], 0, 0).Result()
	if err != nil || len(missing) != 1 {
		t.Fatalf("empty index %s (%v)", open[0], err)
	}
	if err := rdb.ZRem(ctx, open[0], missing[0]).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, "{cu:}schema").Err(); err != nil {
		t.Fatal(err)
	}

	var built int64
	openStore := func() {
		t.Helper()
		built = 0
		s, err := redisstore.Open(ctx, srv.URL(0)+"?prefix=cu:", redisstore.WithIndexProgress(func(done, _ int64) { built = done }))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		m.CheckIndexes(t, s)
	}
	openStore()
	if built != int64(m.Len()) {
		t.Errorf("the first Open indexed %d tickets, want all %d", built, m.Len())
	}
	if ok, err := rdb.ZScore(ctx, open[0], missing[0]).Result(); err != nil {
		t.Errorf("ticket %s is still missing from %s after the rebuild (%v, %v)", missing[0], open[0], ok, err)
	}
	openStore()
	if built != 0 {
		t.Errorf("a second Open indexed %d tickets again, want none", built)
	}
}
