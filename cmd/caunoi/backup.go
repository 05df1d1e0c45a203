package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
)

func init() {
	register("backup", "sao lưu kho dữ liệu bbolt ra một tệp, kể cả khi bot đang chạy", runBackup)
	register("restore", "khôi phục kho dữ liệu bbolt từ một tệp sao lưu", runRestore)
}

const backupUsage = `Cách dùng: caunoi backup [--store bolt:ĐƯỜNG_DẪN] [--admin MÁY:CỔNG] TỆP_SAO_LƯU

Chép toàn bộ kho dữ liệu bbolt ra TỆP_SAO_LƯU. Bản chép nhất quán (một giao
dịch đọc của bbolt), được ghi ra tệp tạm rồi mới đổi tên, nên tệp sao lưu cũ
chỉ bị thay khi bản mới đã đầy đủ và đọc lại được.

Khi caunoi serve đang chạy, tệp dữ liệu bị khóa: lệnh lấy bản chép qua cổng
quản trị của tiến trình đó (GET /backup), xác thực bằng khóa suy ra từ
SIGNING_KEY, nên cần cùng cấu hình với tiến trình đang chạy.

Kho Redis không sao lưu bằng lệnh này: Redis tự lưu bằng AOF/RDB.

Tham số:
  --store ĐỊA_CHỈ     kho dữ liệu (mặc định: như caunoi serve, từ STORE, REDIS_URL
                      hoặc DATA_DIR/caunoi.db)
  --admin MÁY:CỔNG    cổng quản trị của caunoi serve (mặc định: ADMIN_LISTEN)
  --config TỆP        tệp cấu hình YAML (mặc định: biến CAUNOI_CONFIG)
  -h, --help          in hướng dẫn này

Ví dụ: caunoi backup --store bolt:/data/caunoi.db /data/backup/caunoi-$(date +%F).db
`

const restoreUsage = `Cách dùng: caunoi restore [--store bolt:ĐƯỜNG_DẪN] [--force] TỆP_SAO_LƯU

Thay kho dữ liệu bbolt bằng TỆP_SAO_LƯU. Tệp sao lưu được kiểm tra trước
(mở chỉ đọc, kiểm tra cấu trúc và các ngăn dữ liệu của Cầu Nối), được chép ra
tệp tạm cạnh kho rồi mới đổi tên, nên kho cũ chỉ bị thay khi bản mới đầy đủ.

Lệnh từ chối khi caunoi serve đang dùng kho (hãy dừng nó trước), và từ chối
ghi đè một kho đã có nếu thiếu --force.

Tham số:
  --store ĐỊA_CHỈ     kho dữ liệu cần khôi phục (mặc định: như caunoi serve)
  --force             cho phép thay kho đã có; dữ liệu hiện có sẽ mất
  --config TỆP        tệp cấu hình YAML (mặc định: biến CAUNOI_CONFIG)
  -h, --help          in hướng dẫn này
`

// redisBackupNote explains why backup and restore do not handle Redis.
const redisBackupNote = "kho dữ liệu là Redis: Redis tự giữ dữ liệu bằng AOF/RDB, lệnh này chỉ dành cho kho bbolt. " +
	"Để sao lưu, chạy BGSAVE rồi chép tệp dump.rdb (và thư mục appendonlydir nếu bật AOF) khỏi máy chủ Redis; " +
	"để khôi phục, dừng Redis, đặt các tệp đó vào thư mục dữ liệu của Redis rồi khởi động lại (xem docs/OPERATING.md)"

// progressStep is how many bytes pass between two progress lines.
var progressStep int64 = 64 << 20

// lockProbe is how long backup and restore wait for the store's file lock
// before deciding that another process uses the store.
const lockProbe = 500 * time.Millisecond

// requiredBuckets are buckets every Cầu Nối bbolt store has; a file without
// them is not a backup of one.
var requiredBuckets = []string{"officials", "invites", "communes", "tickets", "events", "questions", "journal", "outbox", "kv"}

// storeArgs are the flags backup and restore share.
type storeArgs struct {
	store, config, admin string
	force, help          bool
}

// parseStoreArgs reads the flags of cmd and returns the one file argument.
func parseStoreArgs(m *Main, cmd, usage string, args []string, force bool) (storeArgs, string, error) {
	var a storeArgs
	spec := flagSpec{
		values:   map[string]*string{"store": &a.store, "config": &a.config},
		switches: map[string]*bool{"h": &a.help, "help": &a.help},
	}
	if force {
		spec.switches["force"] = &a.force
	} else {
		spec.values["admin"] = &a.admin
	}
	pos, err := spec.parse(args)
	if err != nil {
		return a, "", badUsage(m.Stderr, cmd, usage, err)
	}
	if a.help {
		fmt.Fprint(m.Stdout, usage)
		return a, "", nil
	}
	switch {
	case len(pos) == 0:
		return a, "", badUsage(m.Stderr, cmd, usage, errors.New("thiếu tên tệp sao lưu"))
	case len(pos) > 1:
		return a, "", badUsage(m.Stderr, cmd, usage, fmt.Errorf("thừa tham số %q", pos[1]))
	}
	return a, pos[0], nil
}

// resolve returns the configuration as serve would see it, with the store
// flag applied.
func (a storeArgs) resolve(m *Main) (Config, error) {
	var args []string
	if a.config != "" {
		args = append(args, "--config", a.config)
	}
	if a.store != "" {
		args = append(args, "--store", a.store)
	}
	cfg, _, err := LoadConfig(args, m.Getenv, io.Discard)
	if err != nil {
		return cfg, &exitError{code: 2, err: err}
	}
	return cfg, nil
}

// boltPath returns the file of a bolt store address, or an exit error with
// status 2 for Redis and for addresses that are not stores.
func boltPath(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	switch {
	case strings.HasPrefix(addr, "redis://"), strings.HasPrefix(addr, "rediss://"):
		return "", &exitError{code: 2, err: errors.New(redisBackupNote)}
	case strings.Contains(addr, "://") && !strings.HasPrefix(addr, "bolt:"):
		return "", &exitError{code: 2, err: fmt.Errorf("không hiểu địa chỉ kho dữ liệu %s: dùng bolt:ĐƯỜNG_DẪN", storeDisplay(addr))}
	}
	path := strings.TrimPrefix(strings.TrimPrefix(addr, "bolt:"), "//")
	if path == "" {
		return "", &exitError{code: 2, err: errors.New("thiếu đường dẫn tệp dữ liệu sau bolt:")}
	}
	return path, nil
}

func runBackup(ctx context.Context, m *Main, args []string) error {
	a, file, err := parseStoreArgs(m, "backup", backupUsage, args, false)
	if err != nil || a.help {
		return err
	}
	cfg, err := a.resolve(m)
	if err != nil {
		return err
	}
	path, err := boltPath(cfg.Store)
	if err != nil {
		return err
	}
	if samePath(file, path) {
		return failf("tệp sao lưu không được trùng với tệp dữ liệu %s", path)
	}
	info, err := os.Stat(path)
	if err != nil {
		return failf("không đọc được tệp dữ liệu %s: %v", path, err)
	}
	if info.IsDir() {
		return failf("%s là thư mục, không phải tệp dữ liệu", path)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return failf("tạo thư mục cho tệp sao lưu: %v", err)
	}
	start := time.Now()
	var via string
	n, err := writeAtomic(file, func(w io.Writer) (int64, error) {
		pw := &progressWriter{w: w, out: m.Stderr, total: info.Size(), verb: "đã chép"}
		s, err := boltstore.Open(path, boltstore.WithLockTimeout(lockProbe))
		if err == nil {
			defer s.Close()
			via = "từ tệp"
			return s.Backup(ctx, pw)
		}
		if !errors.Is(err, boltstore.ErrLocked) {
			return 0, fmt.Errorf("mở tệp dữ liệu %s: %v", path, err)
		}
		addr := a.admin
		if addr == "" {
			addr = cfg.AdminListen
		}
		token := backupToken(cfg.SigningKey)
		if token == "" || addr == "" {
			return 0, fmt.Errorf("tệp dữ liệu %s đang được caunoi serve dùng; cần SIGNING_KEY và ADMIN_LISTEN như của tiến trình đó để sao lưu qua cổng quản trị", path)
		}
		fmt.Fprintf(m.Stderr, "tệp dữ liệu đang được caunoi serve dùng: sao lưu qua cổng quản trị %s\n", addr)
		via = "qua cổng quản trị"
		return fetchBackup(ctx, adminURL(addr)+"/backup", token, pw)
	})
	if err != nil {
		return failf("sao lưu %s: %v", path, err)
	}
	fmt.Fprintf(m.Stdout, "đã sao lưu %s (%s, %s) vào %s trong %s\n", path, byteSize(n), via, file, time.Since(start).Round(time.Millisecond))
	return nil
}

// fetchBackup copies the backup served by a running caunoi's admin
// endpoint to w.
func fetchBackup(ctx context.Context, url, token string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("địa chỉ %s không hợp lệ: %v", url, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("không gọi được %s: %v", url, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return 0, fmt.Errorf("%s từ chối: SIGNING_KEY ở đây khác với của caunoi serve đang chạy", url)
	default:
		return 0, fmt.Errorf("%s trả lời %s", url, resp.Status)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("nhận bản sao lưu: %v", err)
	}
	return n, nil
}

func runRestore(ctx context.Context, m *Main, args []string) error {
	a, file, err := parseStoreArgs(m, "restore", restoreUsage, args, true)
	if err != nil || a.help {
		return err
	}
	cfg, err := a.resolve(m)
	if err != nil {
		return err
	}
	path, err := boltPath(cfg.Store)
	if err != nil {
		return err
	}
	if samePath(file, path) {
		return failf("tệp sao lưu không được trùng với tệp dữ liệu %s", path)
	}
	summary, err := validateBackup(file)
	if err != nil {
		return failf("tệp sao lưu %s không dùng được: %v", file, err)
	}
	if _, err := os.Stat(path); err == nil {
		// Hold the lock until the new file is in place, so that no caunoi
		// starts on the old one meanwhile.
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockProbe})
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return failf("tệp dữ liệu %s đang được một tiến trình caunoi dùng; dừng caunoi serve rồi khôi phục lại", path)
		case err == nil:
			defer db.Close()
		case !a.force:
			return failf("tệp dữ liệu %s đã có (và không đọc được: %v); thêm --force để thay nó bằng bản sao lưu", path, err)
		}
		if !a.force {
			return failf("tệp dữ liệu %s đã có; thêm --force để thay nó bằng bản sao lưu (dữ liệu hiện có sẽ mất)", path)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return failf("không đọc được %s: %v", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return failf("tạo thư mục dữ liệu: %v", err)
	}
	src, err := os.Open(file)
	if err != nil {
		return failf("mở tệp sao lưu: %v", err)
	}
	defer src.Close()
	var total int64
	if info, err := src.Stat(); err == nil {
		total = info.Size()
	}
	_, err = writeAtomic(path, func(w io.Writer) (int64, error) {
		pw := &progressWriter{w: w, out: m.Stderr, total: total, verb: "đã khôi phục"}
		return io.Copy(pw, src)
	})
	if err != nil {
		return failf("khôi phục %s: %v", path, err)
	}
	fmt.Fprintf(m.Stdout, "đã khôi phục %s từ %s (%s)\n", path, file, summary)
	return nil
}

// samePath reports whether a and b name the same file.
func samePath(a, b string) bool {
	if ia, err := os.Stat(a); err == nil {
		if ib, err := os.Stat(b); err == nil {
			return os.SameFile(ia, ib)
		}
	}
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == ab
}

// writeAtomic writes a file through fill: into a temporary file next to it,
// synced, checked to be a Cầu Nối store, then renamed over path. Whatever
// fails, path is left as it was and the temporary file is removed.
func writeAtomic(path string, fill func(w io.Writer) (int64, error)) (n int64, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("tạo tệp tạm: %v", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return 0, fmt.Errorf("đặt quyền tệp tạm: %v", err)
	}
	if n, err = fill(f); err != nil {
		return n, err
	}
	if err = f.Sync(); err != nil {
		return n, fmt.Errorf("ghi xuống đĩa: %v", err)
	}
	if err = f.Close(); err != nil {
		return n, fmt.Errorf("đóng tệp tạm: %v", err)
	}
	if _, err = validateBackup(tmp); err != nil {
		return n, fmt.Errorf("bản chép không đọc lại được (có thể bị cắt giữa chừng): %v", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return n, fmt.Errorf("đổi tên tệp tạm: %v", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return n, nil
}

// validateBackup opens path read-only and checks that it is a sound bbolt
// file holding a Cầu Nối store. It returns a short summary of the contents.
func validateBackup(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if info.IsDir() {
		return "", errors.New("đây là thư mục")
	}
	// bbolt maps the file into memory and would crash on pages past its
	// end; a cut copy must be caught before it is opened.
	if err := checkBoltSize(path, info.Size()); err != nil {
		return "", err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockProbe})
	if err != nil {
		return "", fmt.Errorf("không phải tệp bbolt đọc được: %v", err)
	}
	defer db.Close()
	var summary string
	err = db.View(func(tx *bolt.Tx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("tệp hỏng: %v", r)
			}
		}()
		for _, name := range requiredBuckets {
			if tx.Bucket([]byte(name)) == nil {
				return fmt.Errorf("không phải kho dữ liệu Cầu Nối: thiếu ngăn %q", name)
			}
		}
		var se *caunoi.SchemaError
		if _, err := boltstore.CheckSchema(tx); errors.As(err, &se) {
			return schemaErr("bản sao", se, "khôi phục bằng phiên bản đó")
		} else if err != nil {
			return err
		}
		var broken error
		for cerr := range tx.Check() { // drained fully: Check's goroutine holds the transaction
			if broken == nil {
				broken = fmt.Errorf("tệp hỏng: %v", cerr)
			}
		}
		if broken != nil {
			return broken
		}
		count := func(name string) int { return tx.Bucket([]byte(name)).Stats().KeyN }
		summary = fmt.Sprintf("%d người dùng, %d phiếu, %d câu hỏi", count("officials"), count("tickets"), count("questions"))
		return nil
	})
	return summary, err
}

// bbolt's file layout: a 16-byte page header, then the meta: magic,
// version, page size, flags (4 bytes each), root bucket (16), freelist page,
// high-water page id and transaction id (8 each), and an FNV-64a checksum of
// the 56 bytes before it. Values are in the machine's byte order, little
// endian on every platform Cầu Nối is built for.
const (
	boltMagic      = 0xED0CDAED
	boltMetaOffset = 16
	boltMetaSize   = 64
)

// checkBoltSize reads the two meta pages of the bbolt file at path and
// checks that the file holds every page they claim. It returns an error for
// a file that is not bbolt or is shorter than its meta says.
func checkBoltSize(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	valid := 0
	var pageSize int64 = 4096
	for i, off := range []int64{0, -1} {
		if i == 1 {
			off = pageSize
		}
		buf := make([]byte, boltMetaOffset+boltMetaSize)
		if _, err := f.ReadAt(buf, off); err != nil {
			continue
		}
		m := buf[boltMetaOffset:]
		if binary.LittleEndian.Uint32(m[0:]) != boltMagic {
			continue
		}
		h := fnv.New64a()
		h.Write(m[:56])
		if h.Sum64() != binary.LittleEndian.Uint64(m[56:]) {
			continue
		}
		ps := int64(binary.LittleEndian.Uint32(m[8:]))
		if ps < 512 || ps > 1<<20 || ps&(ps-1) != 0 {
			continue
		}
		if i == 0 {
			pageSize = ps
		}
		hwm := int64(binary.LittleEndian.Uint64(m[40:]))
		if hwm < 0 || hwm > size/ps {
			return fmt.Errorf("tệp bị cắt: cần %s, chỉ có %s", byteSize(hwm*ps), byteSize(size))
		}
		valid++
	}
	if valid == 0 {
		return errors.New("không phải tệp bbolt đọc được")
	}
	return nil
}

// progressWriter prints a line each time another progressStep bytes pass,
// so that copying a big file shows it is moving. Small files print nothing.
type progressWriter struct {
	w     io.Writer
	out   io.Writer
	total int64 // expected size, 0 if unknown
	verb  string
	n     int64
	next  int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.next == 0 {
		p.next = progressStep
	}
	for p.n >= p.next && progressStep > 0 {
		if p.total > 0 {
			fmt.Fprintf(p.out, "  %s %s / %s (%d%%)\n", p.verb, byteSize(p.n), byteSize(p.total), min(100, p.n*100/p.total))
		} else {
			fmt.Fprintf(p.out, "  %s %s\n", p.verb, byteSize(p.n))
		}
		for p.next <= p.n {
			p.next += progressStep
		}
	}
	return n, err
}

// byteSize formats n bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
