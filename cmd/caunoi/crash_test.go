package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/internal/loadtest"
)

// serveChildEnv makes the test binary act as `caunoi serve`: the crash
// tests run it as a separate process that they can kill.
const serveChildEnv = "CAUNOI_TEST_SERVE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(serveChildEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		mm := NewMain()
		err := mm.Run(ctx, os.Args[1:])
		stop()
		if err != nil {
			fmt.Fprintln(mm.Stderr, "caunoi:", err)
			os.Exit(exitCode(err))
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// missing skips t because a prerequisite of the proof is missing on this
// machine, and says so loudly. With CAUNOI_CRASH_TESTS=1 (a machine that
// must run every proof, such as CI) it fails instead.
func missing(t *testing.T, what string) {
	t.Helper()
	msg := "SKIPPED, NOT PROVEN HERE: " + what
	if os.Getenv("CAUNOI_CRASH_TESTS") == "1" {
		t.Fatal(msg + " (CAUNOI_CRASH_TESTS=1 requires every crash and fault proof to run)")
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", t.Name(), msg)
	t.Skip(msg)
}

// crashWorld is a load world whose serve process is this test binary.
func crashWorld(t *testing.T, o worldOptions) *loadWorld {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	o.bin, o.args = bin, []string{"serve"}
	o.env = append(o.env, serveChildEnv+"=1")
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	w, err := newLoadWorld(context.Background(), o)
	if errors.Is(err, loadtest.ErrNoRedis) {
		missing(t, "redis-server not found; install it with apt-get install -y redis-server")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve log: warnings and errors:\n%s", loadtest.Grep(w.serve.Log, "level=WARN", "level=ERROR", 40))
		}
		w.Close(true) // t.TempDir removes the directory
	})
	return w
}

// scale picks the short or the long size of a test. The short size is the
// default, so that `go test ./...` (and CI) stays within minutes; set
// CAUNOI_LONG_TESTS=1 for the long runs documented in docs/RELIABILITY.md.
func scale(short, long int) int {
	if testing.Short() || os.Getenv("CAUNOI_LONG_TESTS") != "1" {
		return short
	}
	return long
}

// The deadlines below are generous: each wait returns as soon as its
// condition holds, and a deadline only turns a hang into a failure on a
// machine that other builds keep busy.
const (
	askDeadline    = 5 * time.Minute // for the officials to ask so many questions
	settleDeadline = 6 * time.Minute // for every answer, ticket and staff reply
	readyDeadline  = 2 * time.Minute // for /readyz to turn
	// quiet is how long a settled run is watched for late duplicates.
	quiet = 3 * time.Second
)

// paced is a load whose officials stay inside the bot's flood limit (20
// updates a minute, burst 8). An escalating official sends three updates
// per question (the question and two button presses), and the load hands
// escalations to the same few officials again and again; so each official
// waits 9 s between questions: three updates in 9 s is 20 a minute. The
// officials are as many as the rate needs, given that pace.
func paced(w *loadWorld, total int, rate float64, seed uint64) loadtest.Load {
	return loadtest.Load{Srv: w.srv, Pop: w.pop, Vocabulary: w.vocab, Total: total, Rate: rate,
		EscalateEvery: 10, Seed: seed, Gap: floodGap}
}

const floodGap = 9 * time.Second

// officialsFor is how many officials ask rate questions a second at
// floodGap apart (plus the load's jitter of up to a quarter of it).
func officialsFor(rate float64) int {
	return int(rate*floodGap.Seconds()*1.25) + 1
}

// waitAsked waits until the officials asked at least n questions.
func waitAsked(t *testing.T, w *loadWorld, run *loadtest.Run, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), askDeadline)
	defer cancel()
	if err := w.srv.WaitFor(ctx, func() bool { return run.Asked() >= n }); err != nil {
		t.Fatalf("officials asked %d questions, waited for %d: %v", run.Asked(), n, err)
	}
}

// checkResult fails t for every broken promise. A message sent again after
// a kill -9 between Telegram's answer and the outbox's record is the one
// known at-least-once window; it is reported, and allowed only when
// allowResent.
func checkResult(t *testing.T, w *loadWorld, res *loadtest.Result, err error, allowResent bool) {
	t.Helper()
	t.Logf("questions %d, answers %d, escalations %d, staff replies delivered %d, extra %d (resent %d, handled twice %d), latency p50 %s p99 %s",
		res.Questions, res.Answers, res.Escalations, res.Delivered, res.Extra, res.Resent, res.Rehandled, res.Latency.P50, res.Latency.P99)
	if len(res.Other) > 0 {
		t.Logf("other messages to officials and groups: %v", res.Other)
	}
	if err != nil {
		t.Errorf("load: %v; %d updates still queued in the emulator", err, len(w.srv.PendingUpdates()))
	}
	for _, e := range res.Errors {
		t.Errorf("load: %s", e)
	}
	if res.Questions == 0 || res.Escalations == 0 {
		t.Errorf("got %d questions and %d escalations; the run proves nothing without both", res.Questions, res.Escalations)
	}
	// A card, notice or staff reply seen twice names the same ticket, and
	// the store is checked below to hold exactly one ticket per
	// escalation: a second copy is the same message sent again.
	resendOnly := res.Rehandled == 0 && res.Missing == 0 && res.OutOfOrder == 0 && res.MissingCards == 0 && res.Delivered == res.Escalations
	for _, p := range res.Problems() {
		known := strings.HasPrefix(p, fmt.Sprintf("%d answers too many", res.Extra)) ||
			strings.HasPrefix(p, "tickets: 0 without a card") || strings.HasPrefix(p, "staff replies: ")
		if allowResent && resendOnly && known {
			t.Logf("known at-least-once window: %s", p)
			continue
		}
		t.Error(p)
	}
	w.serve.Stop()
	for _, p := range w.verifyStore(context.Background(), res.Escalations) {
		t.Error(p)
	}
}

// TestKill9DuringLoad kills `caunoi serve` with SIGKILL five times while
// officials ask and escalate, and starts it again each time on the same
// bbolt file: every question gets exactly one answer, every escalation
// exactly one ticket, every staff reply reaches the official once.
func TestKill9DuringLoad(t *testing.T) {
	w := crashWorld(t, worldOptions{officials: officialsFor(15), communes: 5})
	ctx := context.Background()
	if err := w.serve.Start(ctx); err != nil {
		t.Fatal(err)
	}
	total := scale(300, 2000)
	run := paced(w, total, 15, 7).Start(ctx)
	for i := 1; i <= 5; i++ {
		waitAsked(t, w, run, i*total/6)
		w.serve.Kill()
		if err := w.serve.Start(ctx); err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
	}
	res, err := run.Wait(ctx, settleDeadline, quiet)
	if got := w.serve.Starts(); got != 6 {
		t.Errorf("serve started %d times, want 6", got)
	}
	checkResult(t, w, res, err, true)
}

// TestRedisKilledDuringLoad kills redis-server (AOF, appendfsync always)
// while officials ask: /readyz turns false while it is down, the bot
// recovers once it is back without being restarted, and no question or
// ticket is lost.
func TestRedisKilledDuringLoad(t *testing.T) {
	w := crashWorld(t, worldOptions{officials: officialsFor(15), communes: 5, redis: true})
	ctx := context.Background()
	if err := w.serve.Start(ctx); err != nil {
		t.Fatal(err)
	}
	total := scale(300, 2000)
	run := paced(w, total, 15, 11).Start(ctx)
	for i := 1; i <= 2; i++ {
		waitAsked(t, w, run, i*total/3)
		w.redis.Kill()
		waitReady(t, w, false)
		// Questions keep arriving while Redis is down.
		waitAsked(t, w, run, i*total/3+total/10)
		if err := w.redis.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		waitReady(t, w, true)
	}
	res, err := run.Wait(ctx, settleDeadline, quiet)
	if got := w.serve.Starts(); got != 1 {
		t.Errorf("serve started %d times; it should recover without a restart", got)
	}
	checkResult(t, w, res, err, false)
}

// waitReady polls /readyz until it reports want.
func waitReady(t *testing.T, w *loadWorld, want bool) {
	t.Helper()
	deadline := time.Now().Add(readyDeadline)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		if w.serve.Ready(context.Background()) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not turn %v within %s", want, readyDeadline)
		}
	}
}

// TestTelegramFaults makes the emulator answer 429 with retry_after, 500
// and 502, stall for 10 seconds and reset connections, while it enforces
// Telegram's limits: everything is delivered once and in order, and the
// request log shows the bot inside the per-chat, per-group and overall
// rates.
func TestTelegramFaults(t *testing.T) {
	w := crashWorld(t, worldOptions{officials: scale(24, 80), communes: 3, telegramLimits: true})
	ctx := context.Background()
	if err := w.serve.Start(ctx); err != nil {
		t.Fatal(err)
	}
	victim := w.pop.Officials[0].User.ID
	faults := []telegramtest.Fault{
		{Method: "sendMessage", Status: 429, RetryAfter: 2, Times: 3},
		{Method: "sendMessage", Status: 502, Times: 3},
		{Method: "sendMessage", Status: 500, Times: 2},
		{Method: "sendMessage", ChatID: victim, Delay: 10 * time.Second, Times: 1},
		{Method: "sendMessage", Drop: true, Times: 3},
		{Method: "getUpdates", Status: 502, Times: 2},
		{Method: "getUpdates", Drop: true, Times: 1},
	}
	total := scale(60, 300)
	run := paced(w, total, 8, 13).Start(ctx)
	for i, f := range faults {
		waitAsked(t, w, run, (i+1)*total/(len(faults)+2))
		w.srv.Inject(f)
	}
	res, err := run.Wait(ctx, settleDeadline, quiet)
	groups := map[int64]bool{}
	for _, g := range w.pop.Groups {
		groups[g] = true
	}
	rc := loadtest.CheckRates(w.srv.Requests(), groups, 30, time.Second, 20)
	t.Logf("sends %d, most in one second %d, smallest gap in a chat %s, most to a group in a minute %d, faults applied %d",
		rc.Sends, rc.MaxPerSec, rc.MinGap, rc.MaxPerMin, w.srv.Stats().Faults)
	for _, v := range rc.Violations {
		t.Error(v)
	}
	if rc.Throttled > 0 {
		t.Errorf("the emulator's own limits refused %d sends", rc.Throttled)
	}
	if st := w.srv.Stats(); st.Faults < 10 {
		t.Errorf("only %d calls met an injected fault", st.Faults)
	}
	checkResult(t, w, res, err, false)
}

// mountTmpfs mounts a tmpfs of size at dir; it reports false when this
// process may not mount.
func mountTmpfs(t *testing.T, dir, size string) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		return false
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Logf("mount tmpfs: %v: %s", err, out)
		return false
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return true
}

func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", dir, opts, err, out)
	}
}

// checkBolt opens the bbolt file read-only and runs its consistency check.
func checkBolt(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open %s after the fault: %v", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Errorf("bbolt check of %s: %v", path, err)
	}
}

// TestBoltDiskFull fills the filesystem under the bbolt file during load (a
// 1 MB tmpfs): the bot logs the error and keeps running; once space is
// back it answers every question exactly once, delivers every staff reply,
// leaves nothing in the journal or the outbox, and the file passes bbolt's
// check. It needs root to mount the tmpfs.
func TestBoltDiskFull(t *testing.T) {
	boltDir := t.TempDir()
	if !mountTmpfs(t, boltDir, "1m") {
		missing(t, "cannot mount a tmpfs (needs root): full disk not simulated")
	}
	w := crashWorld(t, worldOptions{officials: officialsFor(6), communes: 2, boltDir: boltDir})
	ctx := context.Background()
	if err := w.serve.Start(ctx); err != nil {
		t.Fatal(err)
	}
	run := paced(w, scale(600, 1500), 6, 17).Start(ctx)
	full := func() bool {
		data, _ := os.ReadFile(w.serve.Log)
		return strings.Contains(string(data), "no space left on device")
	}
	deadline := time.Now().Add(askDeadline)
	tick := time.NewTicker(100 * time.Millisecond)
	for range tick.C {
		if full() {
			break
		}
		select {
		case <-w.serve.Done():
			t.Fatalf("serve exited on a full disk: %v", w.serve.ExitErr())
		default:
		}
		if time.Now().After(deadline) {
			tick.Stop()
			t.Fatalf("the disk did not fill up within %s", askDeadline)
		}
	}
	tick.Stop()
	// Full for a while longer: the bot must stay up.
	waitAsked(t, w, run, run.Asked()+60)
	select {
	case <-w.serve.Done():
		t.Fatalf("serve exited on a full disk: %v", w.serve.ExitErr())
	default:
	}
	remount(t, boltDir, "size=64m")
	res, err := run.Wait(ctx, settleDeadline, quiet)
	select {
	case <-w.serve.Done():
		t.Errorf("serve exited: %v", w.serve.ExitErr())
	default:
	}
	// Nothing lost, nothing repeated; the journal and the outbox end empty
	// and the store holds one ticket per escalation.
	checkResult(t, w, res, err, false)
	checkBolt(t, filepath.Join(boltDir, "caunoi.db"))
}

// TestBoltReadOnlyDir starts serve on a bbolt file in a read-only
// directory: it refuses to start with a clear message, and starts cleanly
// on the same data once the directory is writable again.
func TestBoltReadOnlyDir(t *testing.T) {
	boltDir := t.TempDir()
	tmpfs := mountTmpfs(t, boltDir, "16m")
	w := crashWorld(t, worldOptions{officials: 15, communes: 1, boltDir: boltDir})
	ctx := context.Background()
	if tmpfs {
		remount(t, boltDir, "ro")
	} else {
		if os.Geteuid() == 0 {
			missing(t, "root ignores file modes and cannot mount: read-only directory not simulated")
		}
		os.Chmod(filepath.Join(boltDir, "caunoi.db"), 0o444)
		os.Chmod(boltDir, 0o555)
	}
	err := w.serve.Start(ctx)
	if err == nil {
		t.Fatal("serve started on a read-only data directory")
	}
	if log := loadtest.Tail(w.serve.Log, 5); !strings.Contains(log, "không mở được tệp dữ liệu") {
		t.Errorf("serve's message on a read-only store does not say so:\n%s", log)
	}
	if tmpfs {
		remount(t, boltDir, "rw")
	} else {
		os.Chmod(boltDir, 0o755)
		os.Chmod(filepath.Join(boltDir, "caunoi.db"), 0o644)
	}
	checkBolt(t, filepath.Join(boltDir, "caunoi.db"))
	if err := w.serve.Start(ctx); err != nil {
		t.Fatalf("serve on the writable directory again: %v", err)
	}
	run := paced(w, 30, 20, 19).Start(ctx)
	res, werr := run.Wait(ctx, settleDeadline, quiet)
	checkResult(t, w, res, werr, false)
}
