package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/internal/loadtest"
	"github.com/caunoi/caunoi/knowledge"
)

func init() {
	register("loadtest", "thử tải: nhiều cán bộ xã hỏi cùng lúc, đo thông lượng và độ trễ", runLoadtest)
}

const loadtestUsage = `Cách dùng: caunoi loadtest [tham số]

Thử tải Cầu Nối trên máy này: chạy máy chủ Telegram giả lập, tạo cán bộ xã và
nhóm cán bộ Sở, chạy "caunoi serve" thành một tiến trình riêng, rồi cho cán bộ
xã hỏi (câu hỏi lấy từ sổ tay, một số gõ không dấu). Cứ 10 câu có 1 câu được
chuyển Sở (bấm «Hỏi cán bộ Sở», rồi «Gửi câu hỏi») và cán bộ Sở trả lời thẻ phiếu.
In thông lượng, độ trễ từ lúc hỏi tới lúc máy chủ giả lập nhận câu trả lời,
và kiểm tra mỗi câu hỏi có đúng một câu trả lời, mỗi lần chuyển Sở đúng một phiếu.

Hai chế độ (--mode):
  capacity  bot chạy sẵn, cán bộ hỏi đều với tốc độ --rate (mặc định)
  backlog   câu hỏi dồn lại khi bot tắt (như sau một lần mất điện), rồi bật bot
            và đo thời gian xả hàng đợi, thứ tự và độ công bằng giữa các cán bộ

Tham số:
  --officials N     số cán bộ xã (mặc định 1000)
  --communes N      số xã, phường (mặc định 124)
  --questions N     số câu hỏi (mặc định 20000)
  --rate R          câu hỏi mỗi giây; 0 là nhanh nhất có thể (mặc định 500)
  --duration D      hỏi liên tục trong D (ví dụ 10m), bỏ qua --questions;
                    đo bộ nhớ RSS của tiến trình serve mỗi giây
  --store KHO       bolt (tệp bbolt tạm) hoặc redis (chạy redis-server riêng,
                    AOF, appendfsync always) (mặc định bolt)
  --fsync F         với --store redis: appendfsync của Redis, everysec (như
                    docker-compose.yml và docs/OPERATING.md khuyên) hoặc
                    always (fsync mỗi lệnh ghi) (mặc định everysec)
  --limits L        raised: nâng giới hạn gửi của bot, máy giả lập không giới
                    hạn (đo sức chứa); telegram: giới hạn thật của Telegram ở
                    cả bot và máy giả lập (mặc định raised)
  --mode M          capacity hoặc backlog (mặc định capacity)
  --escalate N      cứ N câu có một câu chuyển Sở; 0 là không (mặc định 10)
  --timeout D       chờ tối đa D cho mọi câu trả lời và phiếu (mặc định 30m)
  --seed N          hạt giống ngẫu nhiên, để lặp lại một lần chạy (mặc định 1)
  --json            in kết quả dạng JSON
  --keep            giữ thư mục tạm (nhật ký serve, dữ liệu) để xem lại
  --profile DIR     ghi hồ sơ CPU (pprof) của serve và của chính loadtest
                    (máy giả lập, người dùng giả) vào DIR
  -h, --help        in hướng dẫn này

Mã thoát: 0 khi mọi kiểm tra đạt, 1 khi có câu hỏi mất, lặp, sai thứ tự
hoặc phiếu sai, 2 khi tham số sai.
`

type loadtestOptions struct {
	officials, communes, questions, escalate int
	rate                                     float64
	duration, timeout                        time.Duration
	store, limits, mode, profile, fsync      string
	seed                                     uint64
	json, keep                               bool
}

func runLoadtest(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o loadtestOptions
	fs.IntVar(&o.officials, "officials", 1000, "")
	fs.IntVar(&o.communes, "communes", 124, "")
	fs.IntVar(&o.questions, "questions", 20000, "")
	fs.IntVar(&o.escalate, "escalate", 10, "")
	fs.Float64Var(&o.rate, "rate", 500, "")
	fs.DurationVar(&o.duration, "duration", 0, "")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "")
	fs.StringVar(&o.store, "store", "bolt", "")
	fs.StringVar(&o.limits, "limits", "raised", "")
	fs.StringVar(&o.mode, "mode", "capacity", "")
	fs.Uint64Var(&o.seed, "seed", 1, "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.keep, "keep", false, "")
	fs.StringVar(&o.profile, "profile", "", "")
	fs.StringVar(&o.fsync, "fsync", "everysec", "")
	bad := func(format string, a ...any) error {
		fmt.Fprintf(m.Stderr, "caunoi loadtest: "+format+"\n\n%s", append(a, loadtestUsage)...)
		return errUsage
	}
	if err := fs.Parse(trimArgs(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(m.Stdout, loadtestUsage)
			return nil
		}
		return bad("%v", err)
	}
	switch {
	case fs.NArg() > 0:
		return bad("thừa tham số %q", fs.Arg(0))
	case o.officials < 1 || o.communes < 1:
		return bad("--officials và --communes phải lớn hơn 0")
	case o.questions < 1 && o.duration <= 0:
		return bad("--questions phải lớn hơn 0")
	case o.rate < 0 || o.escalate < 0:
		return bad("--rate và --escalate không được âm")
	case o.store != "bolt" && o.store != "redis":
		return bad("--store %q: chọn bolt hoặc redis", o.store)
	case o.fsync != "everysec" && o.fsync != "always":
		return bad("--fsync %q: chọn everysec hoặc always", o.fsync)
	case o.limits != "raised" && o.limits != "telegram":
		return bad("--limits %q: chọn raised hoặc telegram", o.limits)
	case o.mode != "capacity" && o.mode != "backlog":
		return bad("--mode %q: chọn capacity hoặc backlog", o.mode)
	case o.mode == "backlog" && o.duration > 0:
		return bad("--duration chỉ dùng với --mode capacity")
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("không tìm được tệp chạy caunoi: %w", err)
	}
	rep, err := loadtestRun(ctx, m, o, bin, []string{"serve"})
	if err != nil {
		return err
	}
	if o.json {
		if err := rep.JSON(m.Stdout); err != nil {
			return err
		}
	} else {
		rep.Table(m.Stdout)
	}
	if len(rep.Problems) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("thử tải phát hiện %d vấn đề", len(rep.Problems))}
	}
	return nil
}

// loadWorld is everything a load run or a crash test sets up around the
// serve process: the emulator, the people, the store and the process.
type loadWorld struct {
	dir   string
	srv   *telegramtest.Server
	pop   *loadtest.Population
	redis *loadtest.Redis
	store string // STORE of the serve process
	serve *loadtest.Serve
	vocab []string
}

// worldOptions shape newLoadWorld.
type worldOptions struct {
	officials, communes int
	redis               bool
	telegramLimits      bool
	bin                 string
	args                []string
	dir                 string // where the data lives; a new temporary directory when empty
	boltDir             string // directory of the bbolt file; dir when empty
	env                 []string
	redisFsync          string // appendfsync of Redis; always when empty
}

// newLoadWorld starts the emulator, registers the people, seeds the store
// and prepares (without starting) the serve process. The caller closes it.
func newLoadWorld(ctx context.Context, o worldOptions) (_ *loadWorld, err error) {
	w := &loadWorld{dir: o.dir}
	defer func() {
		if err != nil {
			w.Close(false)
		}
	}()
	if w.dir == "" {
		if w.dir, err = os.MkdirTemp("", "caunoi-loadtest-"); err != nil {
			return nil, fmt.Errorf("tạo thư mục tạm: %w", err)
		}
	}
	hfs, err := handbookFS("")
	if err != nil {
		return nil, err
	}
	h, problems := knowledge.Load(hfs, time.Now())
	if err := problems.Err(); err != nil {
		return nil, fmt.Errorf("sổ tay có lỗi: %w", err)
	}
	var depts, phrases []string
	for _, d := range h.Departments {
		depts = append(depts, d.Code)
	}
	for _, e := range h.Entries {
		phrases = append(phrases, e.Title)
		phrases = append(phrases, e.Questions...)
	}
	w.vocab = loadtest.Vocabulary(phrases)

	port, err := loadtest.FreePort()
	if err != nil {
		return nil, err
	}
	opts := []telegramtest.Option{telegramtest.WithAddr("127.0.0.1:" + strconv.Itoa(port))}
	if o.telegramLimits {
		opts = append(opts, telegramtest.WithLimits(telegramtest.DefaultLimits()))
	}
	if w.srv, err = telegramtest.NewServer(opts...); err != nil {
		return nil, fmt.Errorf("máy chủ Telegram giả lập: %w", err)
	}
	w.pop = loadtest.Populate(w.srv, o.officials, o.communes, depts)

	if o.redis {
		rdir := filepath.Join(w.dir, "redis")
		if err := os.MkdirAll(rdir, 0o755); err != nil {
			return nil, err
		}
		var extra []string
		if o.redisFsync != "" {
			extra = []string{"--appendfsync", o.redisFsync}
		}
		if w.redis, err = loadtest.StartRedis(ctx, rdir, extra...); err != nil {
			return nil, fmt.Errorf("chạy redis-server: %w", err)
		}
		w.store = w.redis.URL("caunoi:")
	} else {
		bd := o.boltDir
		if bd == "" {
			bd = w.dir
		}
		w.store = "bolt:" + filepath.Join(bd, "caunoi.db")
	}
	st, err := openStore(ctx, w.store)
	if err != nil {
		return nil, err
	}
	err = w.pop.Seed(ctx, st, time.Now())
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}

	admin, err := loadtest.FreePort()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	sendRate, gap, groupRate := "100000", "0s", "100000"
	if o.telegramLimits {
		sendRate, gap, groupRate = "30", "1s", "20"
	}
	w.serve = &loadtest.Serve{
		Bin: o.bin, Args: o.args,
		Admin: "127.0.0.1:" + strconv.Itoa(admin),
		Log:   filepath.Join(w.dir, "serve.log"),
		Env: append([]string{
			"TELEGRAM_TOKEN=" + w.srv.Token(),
			"TELEGRAM_API_URL=" + w.srv.URL(),
			"STORE=" + w.store,
			"DATA_DIR=" + w.dir,
			"STAFF_GROUPS=" + w.pop.StaffGroups(),
			"SIGNING_KEY=" + hex.EncodeToString(key),
			"ADMIN_LISTEN=127.0.0.1:" + strconv.Itoa(admin),
			"SEND_RATE=" + sendRate,
			"CHAT_GAP=" + gap,
			"GROUP_RATE=" + groupRate,
			"LOG_LEVEL=info",
			"CAUNOI_CONFIG=",
			"REDIS_URL=",
			"HANDBOOK_DIR=",
			"PUBLIC_URL=",
		}, o.env...),
	}
	return w, nil
}

// Close stops everything; keep leaves the directory in place.
func (w *loadWorld) Close(keep bool) {
	if w.serve != nil {
		w.serve.Stop()
	}
	if w.srv != nil {
		w.srv.Close()
	}
	if w.redis != nil {
		w.redis.Stop()
	}
	if !keep && w.dir != "" {
		os.RemoveAll(w.dir)
	}
}

// openStore opens the run's store, for checks after the serve process
// stopped.
func (w *loadWorld) openStore(ctx context.Context) (caunoi.Store, error) {
	return openStore(ctx, w.store)
}

// verifyStore checks the store once the bot stopped: nothing left in the
// journal or the outbox, and exactly as many tickets as escalations.
func (w *loadWorld) verifyStore(ctx context.Context, escalations int) []string {
	st, err := w.openStore(ctx)
	if err != nil {
		return []string{"reopen the store: " + err.Error()}
	}
	defer st.Close()
	var p []string
	if pend, err := st.Pending(ctx, 10); err != nil || len(pend) > 0 {
		p = append(p, fmt.Sprintf("journal: %d updates still pending (%v)", len(pend), err))
	}
	if due, err := st.Due(ctx, time.Now().Add(24*time.Hour), 10); err != nil || len(due) > 0 {
		p = append(p, fmt.Sprintf("outbox: %d messages still queued (%v)", len(due), err))
	}
	ts, err := st.Tickets(ctx, caunoi.TicketFilter{})
	if err != nil {
		p = append(p, "list tickets: "+err.Error())
	} else if len(ts) != escalations {
		p = append(p, fmt.Sprintf("store holds %d tickets, officials opened %d", len(ts), escalations))
	}
	return p
}

// loadtestRun performs one run as o describes, with serve started as bin
// args.
func loadtestRun(ctx context.Context, m *Main, o loadtestOptions, bin string, args []string) (*loadtest.Report, error) {
	// The harness (emulator and simulated people) shares the cores with
	// serve and Redis, which are what is measured. Its garbage is collected
	// four times less often than by default, leaving them that CPU; its heap
	// holds the emulator's messages and stays small beside the machine.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	w, err := newLoadWorld(ctx, worldOptions{
		officials: o.officials, communes: o.communes, redis: o.store == "redis",
		telegramLimits: o.limits == "telegram", bin: bin, args: args,
		env: profileEnv(o.profile), redisFsync: o.fsync,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		w.Close(o.keep)
		if o.keep {
			fmt.Fprintf(m.Stderr, "caunoi loadtest: dữ liệu và nhật ký ở %s\n", w.dir)
		}
	}()
	rate := o.rate
	if o.mode == "backlog" {
		rate = 0
	}
	load := loadtest.Load{
		Srv: w.srv, Pop: w.pop, Vocabulary: w.vocab,
		Total: o.questions, Duration: o.duration, Rate: rate,
		EscalateEvery: o.escalate, Seed: o.seed,
	}
	rep := &loadtest.Report{
		Mode: o.mode, Store: o.store, Limits: o.limits,
		Officials: o.officials, Communes: o.communes, Rate: rate,
	}
	if o.store == "redis" {
		rep.Fsync = o.fsync
	}
	var run *loadtest.Run
	if o.mode == "backlog" {
		run = load.Start(ctx)
		select {
		case <-run.Sent():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		fmt.Fprintf(m.Stderr, "caunoi loadtest: %d câu hỏi đang chờ; bật bot\n", run.Asked())
		if err := w.serve.Start(ctx); err != nil {
			return nil, err
		}
		run.SetOrigin(time.Now())
	} else {
		if err := w.serve.Start(ctx); err != nil {
			return nil, err
		}
		run = load.Start(ctx)
	}
	if o.profile != "" {
		stop, err := startProfiles(ctx, o.profile, w.serve)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	harness0 := loadtest.SelfCPUTime()
	var redis0 time.Duration
	var cmds0 int64
	if w.redis != nil {
		redis0, _ = loadtest.CPUTime(w.redis.PID())
		cmds0, _ = w.redis.Commands()
	}
	rss := &loadtest.RSSSeries{}
	var loads []loadtest.Backlog
	stopRSS := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopRSS:
				return
			case <-t.C:
				if n, err := loadtest.RSS(w.serve.PID()); err == nil {
					rss.Samples = append(rss.Samples, n)
				}
				produced := run.Updates()
				if bt, err := w.serve.BotTime(ctx); err == nil {
					loads = append(loads, loadtest.Backlog{Produced: produced, Handled: bt.N})
				}
			}
		}
	}()
	res, werr := run.Wait(ctx, o.timeout, 2*time.Second)
	close(stopRSS)
	wg.Wait()
	rss.Finish()
	rep.Result, rep.RSS, rep.Sustained = res, rss, loadtest.SustainedRate(loads)
	cpu := &loadtest.CPUUse{Harness: loadtest.SelfCPUTime() - harness0}
	cpu.Serve, _ = loadtest.CPUTime(w.serve.PID())
	if w.redis != nil {
		if t, err := loadtest.CPUTime(w.redis.PID()); err == nil {
			cpu.Redis = t - redis0
		}
		if n, err := w.redis.Commands(); err == nil {
			cpu.RedisCommands = n - cmds0
		}
	}
	rep.CPU = cpu
	if bt, err := w.serve.BotTime(ctx); err != nil {
		fmt.Fprintf(m.Stderr, "caunoi loadtest: không đọc được số đo của serve: %v\n", err)
	} else {
		rep.BotTime = bt
	}
	w.serve.Stop()

	groups := map[int64]bool{}
	for _, g := range w.pop.Groups {
		groups[g] = true
	}
	rc := loadtest.CheckRates(w.srv.Requests(), groups, 30, time.Second, 20)
	rep.Rates = &rc
	rep.Problems = res.Problems()
	if werr != nil {
		rep.Problems = append(rep.Problems, "run did not finish: "+werr.Error())
	}
	if o.limits == "telegram" {
		rep.Problems = append(rep.Problems, rc.Violations...)
		if rc.Throttled > 0 {
			rep.Problems = append(rep.Problems, fmt.Sprintf("the emulator answered %d sends with 429", rc.Throttled))
		}
	}
	rep.Problems = append(rep.Problems, w.verifyStore(ctx, res.Escalations)...)
	return rep, nil
}

// profileSeconds is how much of a run's start the serve profile covers.
const profileSeconds = 20

func profileEnv(dir string) []string {
	if dir == "" {
		return nil
	}
	return []string{"ADMIN_PPROF=true"}
}

// startProfiles writes this process's CPU profile to dir/loadtest.prof until
// stop is called, and serve's for its first profileSeconds to dir/serve.prof.
func startProfiles(ctx context.Context, dir string, serve *loadtest.Serve) (stop func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("thư mục hồ sơ CPU: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "loadtest.prof"))
	if err != nil {
		return nil, fmt.Errorf("tệp hồ sơ CPU: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("hồ sơ CPU: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", serve.Admin, profileSeconds)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		out, err := os.Create(filepath.Join(dir, "serve.prof"))
		if err != nil {
			return
		}
		defer out.Close()
		_, _ = io.Copy(out, resp.Body)
	}()
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		<-done
	}, nil
}
