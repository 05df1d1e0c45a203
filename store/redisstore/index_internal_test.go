package redisstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/redistest"
)

// TestIndexPageSkipsChangedTickets runs indexPageScript with the digest of
// a state the ticket has left: the script must not index that ticket, and
// must name it for the caller to read again, while it indexes the others.
func TestIndexPageSkipsChangedTickets(t *testing.T) {
	ctx := context.Background()
	s := open(t, redistest.Start(t), "page:")
	at := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	var numbers []string
	for i := range 3 {
		tk, _, err := s.CreateTicket(ctx, "TP", caunoi.Ticket{Department: "tu-phap", Asker: 7, Status: caunoi.StatusNew, Created: at.Add(time.Duration(i) * time.Hour)},
			caunoi.Event{Kind: caunoi.EventCreated, Actor: 7, At: at})
		if err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, tk.Number)
	}
	open := s.deptKeysOf("tu-phap").open
	if err := s.rdb.Del(ctx, open, s.deptsKey).Err(); err != nil {
		t.Fatal(err)
	}
	keys := []string{s.deptsKey}
	var args []any
	for i, n := range numbers {
		raw, err := s.rdb.Get(ctx, s.ticketKey(n)).Result()
		if err != nil {
			t.Fatal(err)
		}
		st := ticketState{sum: sumOfString(raw)}
		if i == 1 {
			st = ticketState{sum: sumOfString(raw + " ")} // a state the ticket has left
		}
		keys = append(keys, s.ticketKey(n), open)
		args = append(args, st.hexSum(), n, microsArg(at), "tu-phap")
	}
	res, err := s.run(ctx, indexPageScript, append(s.fencedArgs(indexPageScript, keys, len(args)), args...)).Slice()
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0] != int64(2) {
		t.Fatalf("indexPageScript returned %v, want [2]: the second ticket changed", res)
	}
	got, err := s.rdb.ZRange(ctx, open, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{numbers[0], numbers[2]}; !slices.Equal(got, want) {
		t.Errorf("indexed %v, want %v", got, want)
	}
	if depts := s.rdb.SMembers(ctx, s.deptsKey).Val(); !slices.Equal(depts, []string{"tu-phap"}) {
		t.Errorf("tix:depts = %v, want [tu-phap]", depts)
	}
	// indexPage reads again and indexes what it was told changed.
	stale, err := s.indexPage(ctx, []string{numbers[1]})
	if err != nil || len(stale) != 0 {
		t.Fatalf("indexPage = %v, %v; want nothing stale", stale, err)
	}
	if n := s.rdb.ZCard(ctx, open).Val(); n != 3 {
		t.Errorf("%d tickets indexed, want 3", n)
	}
}

// TestIndexPageFenced checks that a build of the indexes of status stops,
// indexing nothing, once a newer version has raised the schema.
func TestIndexPageFenced(t *testing.T) {
	ctx := context.Background()
	s := open(t, redistest.Start(t), "pf:")
	at := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	tk, _, err := s.CreateTicket(ctx, "TP", caunoi.Ticket{Department: "tu-phap", Asker: 7, Status: caunoi.StatusNew, Created: at},
		caunoi.Event{Kind: caunoi.EventCreated, Actor: 7, At: at})
	if err != nil {
		t.Fatal(err)
	}
	open := s.deptKeysOf("tu-phap").open
	if err := s.rdb.Del(ctx, open).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.Set(ctx, s.schemaKey, "3", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err = s.indexPage(ctx, []string{tk.Number})
	if se, ok := err.(*caunoi.SchemaError); !ok || se.Found != "3" {
		t.Fatalf("indexPage under schema 3: %v, want a *SchemaError", err)
	}
	if n := s.rdb.ZCard(ctx, open).Val(); n != 0 {
		t.Errorf("%d tickets indexed under a newer schema, want 0", n)
	}
}

// TestParseDurabilityErrors feeds parseDurability what a server or a proxy
// that hides fields could answer.
func TestParseDurabilityErrors(t *testing.T) {
	for _, text := range []string{
		"",
		"# Persistence\r\naof_enabled:1\r\n",
		"aof_enabled:1\r\nmaxmemory:lots\r\nmaxmemory_policy:noeviction\r\n",
	} {
		if d, err := parseDurability(text); err == nil {
			t.Errorf("parseDurability(%q) = %+v, want an error", text, d)
		}
	}
	d, err := parseDurability("# Memory\r\nmaxmemory:100\r\nmaxmemory_policy:allkeys-lfu\r\n# Persistence\r\naof_enabled:0\r\n")
	if err != nil || d != (Durability{AOF: false, MaxMemory: 100, Policy: "allkeys-lfu"}) {
		t.Errorf("parseDurability = %+v, %v", d, err)
	}
}
