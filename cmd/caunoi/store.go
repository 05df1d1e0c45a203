package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
	"github.com/caunoi/caunoi/store/redisstore"
)

// openStore opens the store that addr names:
//
//   - bolt:PATH, or a bare PATH: the embedded store, one bbolt file;
//   - redis://… or rediss://…: Redis, with an optional prefix parameter for
//     the key prefix (redis://localhost:6379/0?prefix=caunoi:). A
//     master_name parameter selects Sentinel, several addr parameters or
//     cluster=true select Cluster.
//
// Errors are sentences for the administrator, in Vietnamese; they never
// contain a Redis password.
func openStore(ctx context.Context, addr string) (caunoi.Store, error) {
	return openStoreReporting(ctx, addr, indexProgress(os.Stderr, time.Now))
}

// openStoreReporting is openStore, with the progress of indexing a Redis
// store's tickets by status (once, on the first start after an upgrade)
// reported to progress.
func openStoreReporting(ctx context.Context, addr string, progress redisstore.IndexProgress) (caunoi.Store, error) {
	addr = strings.TrimSpace(addr)
	switch {
	case addr == "":
		return nil, errors.New("chưa chỉ định kho dữ liệu: cần đường dẫn tệp (bolt:ĐƯỜNG_DẪN) hoặc địa chỉ redis://")
	case strings.HasPrefix(addr, "redis://"), strings.HasPrefix(addr, "rediss://"):
		s, err := redisstore.Open(ctx, addr, redisstore.WithIndexProgress(progress))
		var se *caunoi.SchemaError
		switch {
		case errors.As(err, &se):
			return nil, schemaErr("kho Redis tại "+storeDisplay(addr), se, "bản này không được ghi vào kho đó nữa; chạy phiên bản mới hơn")
		case errors.Is(err, caunoi.ErrInvalid):
			return nil, fmt.Errorf("địa chỉ Redis %s không hợp lệ: %v", storeDisplay(addr), err)
		case err != nil:
			return nil, fmt.Errorf("không kết nối được Redis tại %s: %v", storeDisplay(addr), err)
		}
		return s, nil
	case strings.Contains(addr, "://") && !strings.HasPrefix(addr, "bolt:"):
		return nil, fmt.Errorf("không hiểu địa chỉ kho dữ liệu %s: dùng bolt:ĐƯỜNG_DẪN, một đường dẫn tệp, hoặc redis://máy:cổng/số?prefix=…", storeDisplay(addr))
	}
	path := strings.TrimPrefix(strings.TrimPrefix(addr, "bolt:"), "//")
	if path == "" {
		return nil, errors.New("thiếu đường dẫn tệp dữ liệu sau bolt:")
	}
	s, err := boltstore.Open(path)
	var se *caunoi.SchemaError
	switch {
	case errors.As(err, &se):
		return nil, schemaErr("tệp dữ liệu "+path, se, "bản này không được ghi vào tệp đó; chạy phiên bản mới hơn, hoặc khôi phục bản sao lưu chụp trước khi nâng cấp")
	case errors.Is(err, boltstore.ErrLocked):
		return nil, fmt.Errorf("tệp dữ liệu %s đang được một tiến trình caunoi khác dùng; dừng tiến trình đó (hoặc dùng Redis để chạy nhiều bản) rồi thử lại", path)
	case err != nil:
		return nil, fmt.Errorf("không mở được tệp dữ liệu %s: %v", path, err)
	}
	return s, nil
}

// schemaText says in Vietnamese what se found: a store that a newer
// version has upgraded, or a schema that is not a version this one knows.
func schemaText(se *caunoi.SchemaError) string {
	if se.Newer() {
		return fmt.Sprintf("đã được một phiên bản caunoi mới hơn nâng cấp (lược đồ dữ liệu %s, bản này ghi lược đồ %d)", se.Found, se.Want)
	}
	return fmt.Sprintf("ghi số lược đồ dữ liệu %q, không phải số mà bản này biết (bản này ghi lược đồ %d). "+
		"Số này do caunoi tự ghi; nếu không ai sửa tay, có thể một chương trình khác đang ghi vào cùng chỗ", se.Found, se.Want)
}

// schemaErr is the error for se, found in what: schemaText, and when a
// newer version wrote it, what to do (ifNewer).
func schemaErr(what string, se *caunoi.SchemaError, ifNewer string) error {
	if se.Newer() {
		return fmt.Errorf("%s %s: %s", what, schemaText(se), ifNewer)
	}
	return fmt.Errorf("%s %s", what, schemaText(se))
}

// indexProgress reports on w, at most every two seconds and at the end,
// how far opening a Redis store has come in indexing its tickets by
// status: work done once, on the first start after an upgrade (100,000
// tickets took about 2 s on a 2-core machine).
func indexProgress(w io.Writer, now func() time.Time) redisstore.IndexProgress {
	return everyTwoSeconds(now, func(done, total int64) {
		fmt.Fprintf(w, "Đang lập chỉ mục phiếu theo trạng thái (một lần, sau khi nâng cấp): %d/%d phiếu\n", done, total)
	})
}

// logIndexProgress is indexProgress for caunoi serve, whose log is JSON.
func logIndexProgress(log *slog.Logger, now func() time.Time) redisstore.IndexProgress {
	return everyTwoSeconds(now, func(done, total int64) {
		log.Info("indexing tickets by status, once after an upgrade", "done", done, "total", total)
	})
}

// everyTwoSeconds passes progress on to report at most every two seconds,
// and always at the end.
func everyTwoSeconds(now func() time.Time, report redisstore.IndexProgress) redisstore.IndexProgress {
	var last time.Time
	return func(done, total int64) {
		if t := now(); t.Sub(last) >= 2*time.Second || done >= total {
			last = t
			report(done, total)
		}
	}
}

// storeDisplay returns addr fit for messages and logs: a URL's password is
// replaced by "xxxxx", and an address that does not parse but seems to
// carry credentials is cut to its scheme.
func storeDisplay(addr string) string {
	if !strings.Contains(addr, "://") {
		return addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		scheme, _, _ := strings.Cut(addr, "://")
		if strings.Contains(addr, "@") {
			return scheme + "://…"
		}
		return addr
	}
	return u.Redacted()
}

// checkDurability looks at what the Redis server of s does that can lose
// the store's data. A server that deletes any key when its memory is full
// is refused: tickets and accounts would vanish without a word. Keys with
// an expiry deleted early, or no append-only file, are logged as warnings.
// Settings that cannot be read (INFO refused) are logged and let pass.
// Settings read are kept in w for watchDurability and /metrics.
func checkDurability(ctx context.Context, s *redisstore.Store, addr string, log *slog.Logger, w *durabilityWatch) error {
	d, err := s.Durability(ctx)
	if err != nil {
		log.Warn("could not read the Redis server's persistence and eviction settings", "err", err)
		return nil
	}
	if d.EvictsRecords() {
		return fmt.Errorf("Redis tại %s xóa bớt khóa bất kỳ khi đầy bộ nhớ (maxmemory-policy %s, maxmemory %d byte): "+
			"phiếu, tài khoản và câu hỏi có thể mất mà không báo. Đặt maxmemory-policy noeviction (hoặc bỏ giới hạn maxmemory) rồi chạy lại",
			storeDisplay(addr), d.Policy, d.MaxMemory)
	}
	logDurabilityChange(log, redisstore.Durability{AOF: true}, d) // the warnings, against a safe server
	w.set(d)
	return nil
}

// What serve logs about Redis settings that can lose data, at start and
// when they change while it runs.
const (
	msgEvictsRecords  = "Redis deletes any key when its memory is full: tickets, accounts and questions can vanish without notice; set maxmemory-policy noeviction"
	msgEvictsExpiring = "Redis may delete keys with an expiry (leases, idempotency keys) before they expire when its memory is full; set maxmemory-policy noeviction"
	msgNoAOF          = "Redis runs without the append-only file: a crash of the Redis server loses every change since its last snapshot; set appendonly yes and appendfsync everysec"
)

// durabilityWatch holds the Redis server's settings as serve last read
// them, for /metrics. The zero value knows nothing yet.
type durabilityWatch struct {
	mu    sync.Mutex
	d     redisstore.Durability
	known bool
}

func (w *durabilityWatch) set(d redisstore.Durability) {
	w.mu.Lock()
	w.d, w.known = d, true
	w.mu.Unlock()
}

func (w *durabilityWatch) get() (redisstore.Durability, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d, w.known
}

// durabilityCheckEvery is how often serve reads the Redis server's
// settings again: an operator, a restart with another configuration or a
// managed service can change them under a running desk.
var durabilityCheckEvery = time.Minute

// watchDurability reads s's settings every every until ctx is done, keeps
// them in w and logs each change that matters: an error when Redis starts
// deleting records at its memory limit, a warning when it turns the
// append-only file off or starts deleting keys with an expiry early, and
// a line when either is put right. A failed read is left to /readyz. The
// desk keeps serving: stopping it would lose more than the risk does.
func watchDurability(ctx context.Context, s *redisstore.Store, w *durabilityWatch, every time.Duration, log *slog.Logger) error {
	return eachTick(ctx, every, func() error {
		d, err := s.Durability(ctx)
		if err != nil {
			return nil
		}
		was, known := w.get()
		w.set(d)
		if known {
			logDurabilityChange(log, was, d)
		}
		return nil
	})
}

func logDurabilityChange(log *slog.Logger, was, now redisstore.Durability) {
	attrs := []any{"maxmemory_policy", now.Policy, "maxmemory", now.MaxMemory}
	switch {
	case now.EvictsRecords() && !was.EvictsRecords():
		log.Error(msgEvictsRecords, attrs...)
	case !now.EvictsRecords() && was.EvictsRecords():
		log.Info("Redis no longer deletes records when its memory is full", attrs...)
	}
	switch {
	case now.EvictsExpiring() && !was.EvictsExpiring():
		log.Warn(msgEvictsExpiring, attrs...)
	case !now.EvictsExpiring() && was.EvictsExpiring():
		log.Info("Redis no longer deletes keys with an expiry early", attrs...)
	}
	switch {
	case !now.AOF && was.AOF:
		log.Warn(msgNoAOF)
	case now.AOF && !was.AOF:
		log.Info("Redis writes the append-only file again")
	}
}
