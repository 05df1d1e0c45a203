package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
	"github.com/caunoi/caunoi/store/redisstore"
	"github.com/caunoi/caunoi/store/redistest"
	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

func TestOpenStoreBolt(t *testing.T) {
	dir := t.TempDir()
	for _, addr := range []string{
		"bolt:" + filepath.Join(dir, "a.db"),
		"bolt://" + filepath.Join(dir, "b.db"),
		filepath.Join(dir, "sub", "c.db"),
	} {
		s, err := openStore(context.Background(), addr)
		if err != nil {
			t.Errorf("openStore(%s): %v", addr, err)
			continue
		}
		if _, ok := s.(*boltstore.Store); !ok {
			t.Errorf("openStore(%s) = %T, want *boltstore.Store", addr, s)
		}
		s.Close()
	}
	for _, name := range []string{"a.db", "b.db", "sub/c.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("store file %s: %v", name, err)
		}
	}
}

func TestOpenStoreRedis(t *testing.T) {
	srv := redistest.Start(t)
	s, err := openStore(context.Background(), srv.URL(0)+"?prefix=thu:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*redisstore.Store); !ok {
		t.Errorf("openStore = %T, want *redisstore.Store", s)
	}
	if _, err := s.SetNX(context.Background(), "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
}

// TestOpenStoreNewerSchema opens a Redis store and a bbolt file that a
// newer version has upgraded, and a file whose schema is not a version:
// the message says which, in Vietnamese, and what to do.
func TestOpenStoreNewerSchema(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	if err := rdb.Set(ctx, "{moi:}schema", "3", 0).Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "caunoi.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	setBoltSchema(t, path, "3")
	odd := filepath.Join(t.TempDir(), "caunoi.db")
	if s, err = boltstore.Open(odd); err != nil {
		t.Fatal(err)
	}
	s.Close()
	setBoltSchema(t, odd, "hai")

	newer := []string{"phiên bản caunoi mới hơn", "lược đồ dữ liệu 3", "bản này ghi lược đồ 2"}
	for _, tt := range []struct {
		addr string
		want []string
	}{
		{srv.URL(0) + "?prefix=moi:", append(newer, "chạy phiên bản mới hơn")},
		{"bolt:" + path, append(newer, "khôi phục bản sao lưu")},
		{"bolt:" + odd, []string{`ghi số lược đồ dữ liệu "hai"`, "bản này ghi lược đồ 2", "chương trình khác"}},
	} {
		_, err := openStore(ctx, tt.addr)
		if err == nil {
			t.Errorf("openStore(%s) succeeded on a store of another schema", tt.addr)
			continue
		}
		for _, want := range tt.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("openStore(%s): message %q lacks %q", tt.addr, err, want)
			}
		}
	}
}

// setBoltSchema stores v as the schema of the bbolt file at path, as a
// version that wrote it would.
func setBoltSchema(t *testing.T, path, v string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("schema"), []byte(v))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenStoreErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		addr string
		want string // a phrase the message must contain
	}{
		{"", "chưa chỉ định kho dữ liệu"},
		{"bolt:", "thiếu đường dẫn"},
		{"http://máy:80/x", "không hiểu địa chỉ kho dữ liệu"},
		{"redis://an:matkhau@127.0.0.1:1/0", "không kết nối được Redis tại redis://an:xxxxx@127.0.0.1:1/0"},
		{"redis://an:matkhau@127.0.0.1:1/khong", "không hợp lệ"},
		{"redis://an:matkhau@[::1/0", "không hợp lệ"},
		{"rediss://an:matkhau@127.0.0.1:1/0?la=1", "không hợp lệ"},
		{filepath.Join(dir, "khong-co-thu-muc\x00", "x.db"), "không mở được tệp dữ liệu"},
	}
	for _, tt := range tests {
		_, err := openStore(context.Background(), tt.addr)
		if err == nil {
			t.Errorf("openStore(%q) succeeded, want an error", tt.addr)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("openStore(%q): got %q, want it to contain %q", tt.addr, err, tt.want)
		}
		if strings.Contains(err.Error(), "matkhau") {
			t.Errorf("openStore(%q) shows the password: %v", tt.addr, err)
		}
	}
}

// TestIndexProgress checks that indexing reports at most every two
// seconds, and always at the end.
func TestIndexProgress(t *testing.T) {
	var out strings.Builder
	clock := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	report := indexProgress(&out, func() time.Time { return clock })
	for done := int64(256); done <= 2560; done += 256 {
		report(done, 2600)
		clock = clock.Add(700 * time.Millisecond)
	}
	report(2600, 2600)
	want := []string{"256/2600", "1024/2600", "1792/2600", "2560/2600", "2600/2600"}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], "Đang lập chỉ mục phiếu theo trạng thái") || !strings.HasSuffix(lines[i], ": "+w+" phiếu") {
			t.Errorf("line %d = %q, want the count %s", i, lines[i], w)
		}
	}
}

// TestServeLogsIndexProgress opens a Redis store written before the
// indexes of status, as serve does: the progress of building them goes to
// the JSON log, ending with every ticket counted.
func TestServeLogsIndexProgress(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	url := srv.URL(0) + "?prefix=cu:"
	s, err := openStore(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
	const n = 600
	for i := range n {
		tk := caunoi.Ticket{Department: "tu-phap", Asker: 5, Status: caunoi.StatusNew, Created: at.Add(time.Duration(i) * time.Minute)}
		if _, _, err := s.CreateTicket(ctx, "TP", tk, caunoi.Event{Kind: caunoi.EventCreated, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	if err := rdb.Del(ctx, "{cu:}tix:indexed", "{cu:}tix:open:tu-phap", "{cu:}tix:depts").Err(); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	s, err = openStoreReporting(ctx, url, logIndexProgress(log, time.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var last struct {
		Msg         string
		Done, Total int64
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatalf("log line %q: %v", lines[len(lines)-1], err)
	}
	if !strings.Contains(last.Msg, "indexing tickets by status") || last.Done != n || last.Total != n {
		t.Errorf("last log line %+v, want the indexing message with %d of %d", last, n, n)
	}
	open, err := s.Tickets(ctx, caunoi.TicketFilter{Statuses: caunoi.OpenStatuses()})
	if err != nil || len(open) != n {
		t.Errorf("open tickets after the build: %d, %v; want %d", len(open), err, n)
	}
}

// TestServeStopsOnNewerSchema runs serve on Redis, polling the emulator,
// and raises the store's schema as a newer version's first start would:
// serve stops by itself, saying why, instead of going on answering with a
// store that refuses its ticket writes.
func TestServeStopsOnNewerSchema(t *testing.T) {
	old := schemaCheckEvery
	schemaCheckEvery = 20 * time.Millisecond
	t.Cleanup(func() { schemaCheckEvery = old })
	rs := redistest.Start(t)
	e := newE2E(t)
	e.cfg.HandbookDir = smallHandbook
	e.cfg.Store = rs.URL(0) + "?prefix=nang-cap:"
	e.cfg.AdminListen = ""
	a, err := openApp(context.Background(), e.cfg, discardLogger(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- a.serve(ctx) }()

	// Still running after many checks while the schema is its own.
	select {
	case err := <-served:
		t.Fatalf("serve stopped on a store of its own schema: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rdb.Close()
	if err := rdb.Set(ctx, "{nang-cap:}schema", "3", 0).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err == nil || !strings.Contains(err.Error(), "phiên bản caunoi mới hơn") || !strings.Contains(err.Error(), "lược đồ dữ liệu 3") {
			t.Errorf("serve returned %v, want the newer schema named", err)
		}
	case <-ctx.Done():
		t.Fatal("serve kept running on a store a newer version upgraded")
	}
}

// TestServeChecksRedisDurability opens the app as serve does on Redis
// servers that can lose data: one that deletes any key at its memory limit
// is refused with a Vietnamese explanation; one without the append-only
// file, or that deletes keys with an expiry, starts with a warning in the
// log.
func TestServeChecksRedisDurability(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		refused string // in the error; "" when it starts
		logged  string // in the log
	}{
		{"cache", []string{"--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"}, "xóa bớt khóa bất kỳ khi đầy bộ nhớ (maxmemory-policy allkeys-lru", ""},
		{"no aof", []string{"--appendonly", "no"}, "", "without the append-only file"},
		{"volatile", []string{"--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru"}, "", "set maxmemory-policy noeviction"},
		{"safe", nil, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := redistest.Start(t, tt.args...)
			e := newE2E(t)
			e.cfg.HandbookDir = smallHandbook
			e.cfg.Store = rs.URL(0) + "?prefix=ben:"
			var logs syncBuffer
			a, err := openApp(context.Background(), e.cfg, slog.New(slog.NewTextHandler(&logs, nil)), nil, nil)
			if tt.refused != "" {
				if err == nil {
					a.Close()
					t.Fatal("openApp accepted a Redis that deletes any key when full")
				}
				if !strings.Contains(err.Error(), tt.refused) || !strings.Contains(err.Error(), "noeviction") {
					t.Errorf("error %q lacks %q and the fix", err, tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a.Close()
			if tt.logged == "" && strings.Contains(logs.String(), "Redis") {
				t.Errorf("a Redis with AOF and no memory limit drew a warning:\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log lacks %q:\n%s", tt.logged, logs.String())
			}
		})
	}
}
