package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
)

// runStoreMain runs one caunoi command with env and returns its output and
// exit status.
func runStoreMain(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb strings.Builder
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	if err := m.Run(context.Background(), args); err != nil {
		code = exitCode(err)
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

// TestBackupRestoreRoundTrip backs up the store while the bot runs on it,
// restores the copy into a new path and reads the data back.
func TestBackupRestoreRoundTrip(t *testing.T) {
	o := mustStartOps(t)
	o.register()
	o.ask(t, "thủ tục đăng ký khai sinh")
	live := strings.TrimPrefix(o.cfg.Store, "bolt:")
	env := map[string]string{
		"STORE":        o.cfg.Store,
		"SIGNING_KEY":  o.cfg.SigningKey,
		"ADMIN_LISTEN": strings.TrimPrefix(o.url, "http://"),
	}
	backup := filepath.Join(t.TempDir(), "sao-luu", "caunoi.db")

	stdout, stderr, code := runStoreMain(t, env, "backup", backup)
	if code != 0 {
		t.Fatalf("backup while the bot runs: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "qua cổng quản trị") {
		t.Errorf("backup output %q does not say it went through the admin endpoint", stdout)
	}

	// The bot keeps working on the live store after the backup.
	o.ask(t, "dang ky ket hon can giay to gi")

	restored := filepath.Join(t.TempDir(), "moi", "caunoi.db")
	stdout, stderr, code = runStoreMain(t, nil, "restore", "--store", "bolt:"+restored, backup)
	if code != 0 {
		t.Fatalf("restore into a new path: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "2 người dùng") || !strings.Contains(stdout, "1 câu hỏi") {
		t.Errorf("restore summary %q, want 2 người dùng and 1 câu hỏi", stdout)
	}

	// Restoring over an existing store needs --force; over the live one it
	// is refused even with --force.
	if _, stderr, code := runStoreMain(t, nil, "restore", "--store", "bolt:"+restored, backup); code != 1 || !strings.Contains(stderr, "--force") {
		t.Errorf("restore over an existing store without --force: exit %d, %q; want 1 and a hint about --force", code, stderr)
	}
	if _, stderr, code := runStoreMain(t, nil, "restore", "--force", "--store", "bolt:"+restored, backup); code != 0 {
		t.Errorf("restore --force over a stopped store: exit %d, %s", code, stderr)
	}
	if _, stderr, code := runStoreMain(t, nil, "restore", "--force", "--store", o.cfg.Store, backup); code != 1 || !strings.Contains(stderr, "đang được") {
		t.Errorf("restore over the store in use: exit %d, %q; want 1 and a message that it is in use", code, stderr)
	}

	s, err := boltstore.Open(restored)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, u := range []int64{o.official.ID, o.staff.ID} {
		if _, err := s.Official(ctx, caunoi.UserID(u)); err != nil {
			t.Errorf("restored store: official %d: %v", u, err)
		}
	}
	cs, err := s.Communes(ctx)
	if err != nil || len(cs) != 1 || cs[0].Name != "Xã Thử Nghiệm" {
		t.Errorf("restored communes = %v, %v; want Xã Thử Nghiệm", cs, err)
	}
	qs, err := s.Questions(ctx, time.Time{}, time.Now().Add(time.Hour))
	if err != nil || len(qs) != 1 || qs[0].Text != "thủ tục đăng ký khai sinh" {
		t.Errorf("restored questions = %v, %v; want the one asked before the backup", qs, err)
	}

	// With the bot stopped, backup reads the file itself.
	o.stop()
	second := filepath.Join(t.TempDir(), "caunoi-2.db")
	stdout, stderr, code = runStoreMain(t, map[string]string{"STORE": "bolt:" + live}, "backup", second)
	if code != 0 || !strings.Contains(stdout, "từ tệp") {
		t.Fatalf("backup of a stopped store: exit %d\n%s%s", code, stdout, stderr)
	}
	if summary, err := validateBackup(second); err != nil || !strings.Contains(summary, "2 câu hỏi") {
		t.Errorf("second backup: %q, %v; want both questions", summary, err)
	}
}

func TestBackupWrongSigningKey(t *testing.T) {
	o := mustStartOps(t)
	backup := filepath.Join(t.TempDir(), "caunoi.db")
	env := map[string]string{
		"STORE":        o.cfg.Store,
		"SIGNING_KEY":  "another-signing-key-0123456789",
		"ADMIN_LISTEN": strings.TrimPrefix(o.url, "http://"),
	}
	_, stderr, code := runStoreMain(t, env, "backup", backup)
	if code != 1 || !strings.Contains(stderr, "SIGNING_KEY") {
		t.Errorf("backup with a wrong key: exit %d, %q; want 1 and a message about SIGNING_KEY", code, stderr)
	}
	if _, err := os.Stat(backup); !os.IsNotExist(err) {
		t.Errorf("a failed backup left %s behind (%v)", backup, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(backup), ".*tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestBackupRedis(t *testing.T) {
	for _, cmd := range []string{"backup", "restore"} {
		_, stderr, code := runStoreMain(t, nil, cmd, "--store", "redis://:secret-pass@localhost:6379/0", filepath.Join(t.TempDir(), "x.db"))
		if code != 2 || !strings.Contains(stderr, "AOF") || !strings.Contains(stderr, "BGSAVE") {
			t.Errorf("%s of a Redis store: exit %d, %q; want 2 and an explanation of AOF/RDB", cmd, code, stderr)
		}
		if strings.Contains(stderr, "secret-pass") {
			t.Errorf("%s printed the Redis password: %q", cmd, stderr)
		}
	}
}

// mustWriteStore creates a Cầu Nối store at path holding one commune.
func mustWriteStore(t *testing.T, path, commune string) {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceCommunes(context.Background(), []caunoi.Commune{{Code: "00001", Name: commune}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// backupBytes returns what a backup of the store at path holds: the pages
// in use. The file itself is longer, since bbolt grows it ahead of the
// data, so cutting the file would not cut the data.
func backupBytes(t *testing.T, path string) []byte {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var buf bytes.Buffer
	if _, err := s.Backup(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRestoreRejectsBadBackups(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	mustWriteStore(t, good, "Phường Gốc")
	data := backupBytes(t, good)

	truncated := filepath.Join(dir, "truncated.db")
	if err := os.WriteFile(truncated, data[:len(data)/3], 0o600); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "text.db")
	if err := os.WriteFile(text, []byte("đây không phải bản sao lưu\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	db, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	newer := filepath.Join(dir, "newer.db") // a backup that a newer version wrote
	if err := os.WriteFile(newer, data, 0o600); err != nil {
		t.Fatal(err)
	}
	setBoltSchema(t, newer, "3")

	target := filepath.Join(dir, "live", "caunoi.db")
	mustWriteStore(t, target, "Xã Đang Dùng")
	cases := []struct{ name, file, want string }{
		{"newer", newer, "bản sao đã được một phiên bản caunoi mới hơn nâng cấp (lược đồ dữ liệu 3, bản này ghi lược đồ 2): khôi phục bằng phiên bản đó"},
		{"truncated", truncated, "không dùng được"},
		{"text", text, "không phải tệp bbolt"},
		{"foreign", foreign, "không phải kho dữ liệu Cầu Nối"},
		{"missing", filepath.Join(dir, "khong-co.db"), "không dùng được"},
		{"directory", dir, "thư mục"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runStoreMain(t, nil, "restore", "--force", "--store", "bolt:"+target, c.file)
			if code != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, %q; want 1 and %q", code, stderr, c.want)
			}
		})
	}
	s, err := boltstore.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs, err := s.Communes(context.Background())
	if err != nil || len(cs) != 1 || cs[0].Name != "Xã Đang Dùng" {
		t.Errorf("target after refused restores = %v, %v; want it unchanged", cs, err)
	}
}

func TestBackupProgress(t *testing.T) {
	old := progressStep
	progressStep = 8 << 10
	t.Cleanup(func() { progressStep = old })

	dir := t.TempDir()
	src := filepath.Join(dir, "caunoi.db")
	mustWriteStore(t, src, "Xã Tiến Độ")
	_, stderr, code := runStoreMain(t, nil, "backup", "--store", "bolt:"+src, filepath.Join(dir, "b.db"))
	if code != 0 {
		t.Fatalf("backup: exit %d, %s", code, stderr)
	}
	if !strings.Contains(stderr, "đã chép 8.0 KiB") {
		t.Errorf("no progress line in %q", stderr)
	}
}

func TestBackupUsage(t *testing.T) {
	src := filepath.Join(t.TempDir(), "caunoi.db")
	mustWriteStore(t, src, "Xã Thử")
	cases := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"backup"}, 2, "thiếu tên tệp sao lưu"},
		{[]string{"backup", "a.db", "b.db"}, 2, "thừa tham số"},
		{[]string{"restore", "--store"}, 2, "--store"},
		{[]string{"restore", "--help"}, 0, "Cách dùng: caunoi restore"},
		{[]string{"backup", "--store", "bolt:" + src, src}, 1, "trùng với tệp dữ liệu"},
		{[]string{"backup", "--store", "bolt:" + filepath.Join(t.TempDir(), "khong-co.db"), "x.db"}, 1, "không đọc được tệp dữ liệu"},
		{[]string{"backup", "--store", "mysql://db/caunoi", "x.db"}, 2, "không hiểu địa chỉ"},
	}
	for _, c := range cases {
		stdout, stderr, code := runStoreMain(t, nil, c.args...)
		if code != c.wantCode || !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", c.args, code, stdout+stderr, c.wantCode, c.want)
		}
	}
}

// TestBackupCutShort has the admin endpoint stop halfway: the backup fails
// and the previous backup stays as it was.
func TestBackupCutShort(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "caunoi.db")
	mustWriteStore(t, live, "Xã Đang Chạy")
	data := backupBytes(t, live)
	// The store is open, as under caunoi serve: backup must go over HTTP.
	s, err := boltstore.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const key = "a-test-signing-key-0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/backup" || r.Header.Get("Authorization") != "Bearer "+backupToken(key) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write(data[:len(data)/2])
	}))
	defer srv.Close()

	previous := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(previous, []byte("bản sao lưu hôm qua"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STORE": "bolt:" + live, "SIGNING_KEY": key, "ADMIN_LISTEN": strings.TrimPrefix(srv.URL, "http://")}
	_, stderr, code := runStoreMain(t, env, "backup", previous)
	if code != 1 || !strings.Contains(stderr, "cắt") {
		t.Errorf("backup cut short: exit %d, %q; want 1 and a message that the copy is cut", code, stderr)
	}
	if got, _ := os.ReadFile(previous); string(got) != "bản sao lưu hôm qua" {
		t.Errorf("the previous backup was replaced by %d bytes", len(got))
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
