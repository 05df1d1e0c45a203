package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/caunoi/caunoi"
)

// Config is the effective configuration of `caunoi serve`: defaults, then an
// optional YAML file, then environment variables, then flags.
type Config struct {
	// Telegram.
	Token       string `yaml:"telegram_token"`
	APIURL      string `yaml:"telegram_api_url"`
	PublicURL   string `yaml:"public_url"`     // webhook mode when set
	WebhookPath string `yaml:"webhook_path"`   // path of the webhook on Listen
	Secret      string `yaml:"webhook_secret"` // X-Telegram-Bot-Api-Secret-Token
	Listen      string `yaml:"listen"`         // webhook listener
	// Storage and content.
	Store       string `yaml:"store"` // bolt:PATH or redis://…
	DataDir     string `yaml:"data_dir"`
	HandbookDir string `yaml:"handbook_dir"` // empty: the embedded handbook
	DraftsDir   string `yaml:"drafts_dir"`
	// Desk.
	Groups   map[string]int64 `yaml:"groups"` // department code → staff group chat id
	Forums   []int64          `yaml:"forums"` // staff groups that are forums
	Holidays []string         `yaml:"holidays"`
	// RemindBefore is the working time before a deadline at which the
	// staff group is reminded ("1h"), or "off"; DigestAt is when the
	// leads' daily digest goes out ("07:30"), or "off".
	RemindBefore string `yaml:"remind_before"`
	DigestAt     string `yaml:"digest_at"`
	// KeepQuestions is how long the questions officials asked are kept
	// ("730d"), or "forever" (the default, also when empty).
	KeepQuestions string `yaml:"keep_questions"`
	// ServiceLevels maps a department code to its service level in
	// working time, first response and resolution: "4h/16h". Departments
	// not listed get caunoi.DefaultPolicy.
	ServiceLevels map[string]string `yaml:"service_levels"`
	SigningKey    string            `yaml:"signing_key"` // callback data HMAC key
	// Operation.
	AdminListen string  `yaml:"admin_listen"`
	AdminPprof  bool    `yaml:"admin_pprof"` // Go profiles at /debug/pprof/ on the admin listener
	LogLevel    string  `yaml:"log_level"`
	LogFormat   string  `yaml:"log_format"` // text or json
	SendRate    float64 `yaml:"send_rate"`  // messages per second overall
	ChatGap     string  `yaml:"chat_gap"`   // minimum gap between messages to one chat
	GroupRate   int     `yaml:"group_rate"` // messages per minute to one group
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		APIURL:       "https://api.telegram.org",
		WebhookPath:  "/telegram",
		Listen:       ":8443",
		DataDir:      "data",
		AdminListen:  "127.0.0.1:9090",
		LogLevel:     "info",
		LogFormat:    "text",
		SendRate:     30,
		ChatGap:      "1s",
		GroupRate:    20,
		RemindBefore: "1h",
		DigestAt:     "07:30",
	}
}

// envVars maps environment variables to config fields, for help and errors.
var envVars = []struct{ Name, Help string }{
	{"TELEGRAM_TOKEN", "token of the bot from @BotFather (secret)"},
	{"TELEGRAM_API_URL", "Bot API server (default https://api.telegram.org)"},
	{"PUBLIC_URL", "public HTTPS URL of the webhook; webhook mode when set"},
	{"WEBHOOK_SECRET", "secret for the webhook header (secret; required with PUBLIC_URL)"},
	{"LISTEN", "address of the webhook listener (default :8443)"},
	{"STORE", "bolt:PATH or redis://[:password@]host:port/db?prefix=caunoi: (default bolt:DATA_DIR/caunoi.db)"},
	{"REDIS_URL", "same as STORE=redis://… (for compatibility with hosting platforms)"},
	{"DATA_DIR", "directory for the bbolt file and drafts (default data)"},
	{"HANDBOOK_DIR", "handbook directory on disk; empty means the embedded handbook"},
	{"STAFF_GROUPS", "department=chat_id pairs, comma separated: tu-phap=-1001234,cong-an=-1005678"},
	{"FORUM_GROUPS", "chat ids of staff groups that are forums, comma separated"},
	{"HOLIDAYS", "holidays, YYYY-MM-DD, comma separated"},
	{"REMIND_BEFORE", "working time before a deadline to remind the staff group, e.g. 1h; off to turn reminders off (default 1h)"},
	{"SERVICE_LEVELS", "working time to first respond and to resolve, per department: tu-phap=4h/16h,cong-an=2h/8h (default 4h/16h)"},
	{"DIGEST_AT", "time of the leads' daily digest on working days, HH:MM; off to turn it off (default 07:30)"},
	{"KEEP_QUESTIONS", "how long to keep the questions officials asked, in days, e.g. 730d (at least 90d); forever keeps them all (default forever)"},
	{"SIGNING_KEY", "key that signs button data, ≥ 16 characters (secret)"},
	{"ADMIN_LISTEN", "address of /healthz, /readyz, /metrics (default 127.0.0.1:9090)"},
	{"ADMIN_PPROF", "true to serve Go profiles at /debug/pprof/ on the admin listener (default false)"},
	{"LOG_LEVEL", "debug, info, warn or error (default info)"},
	{"LOG_FORMAT", "text or json (default text)"},
	{"SEND_RATE", "messages per second overall (default 30, Telegram's limit)"},
	{"CHAT_GAP", "minimum gap between two messages to one chat (default 1s)"},
	{"GROUP_RATE", "messages per minute to one group chat (default 20, Telegram's limit)"},
	{"CAUNOI_CONFIG", "YAML file with the same settings in snake_case"},
}

// LoadConfig builds the configuration from args (flags: --config FILE) and
// the environment. It does not validate; call Validate.
func LoadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, []string, error) {
	c := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", getenv("CAUNOI_CONFIG"), "tệp cấu hình YAML (YAML config file)")
	storeFlag := fs.String("store", "", "kho dữ liệu: bolt:PATH hoặc redis://… (store URL)")
	handbookFlag := fs.String("handbook", "", "thư mục sổ tay (handbook directory)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Cách dùng: caunoi serve [--config FILE] [--store URL] [--handbook DIR]")
		fmt.Fprintln(stderr, "\nBiến môi trường (environment):")
		for _, v := range envVars {
			fmt.Fprintf(stderr, "  %-17s %s\n", v.Name, v.Help)
		}
		fmt.Fprintln(stderr, "\nTham số:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	if *file != "" {
		data, err := os.ReadFile(*file)
		if err != nil {
			return c, nil, fmt.Errorf("đọc tệp cấu hình: %w", err)
		}
		if err := yaml.UnmarshalWithOptions(data, &c, yaml.Strict()); err != nil {
			// The error quotes the file's lines: mask the secrets in them.
			return c, nil, fmt.Errorf("tệp cấu hình %s không hợp lệ:\n%s", *file, maskYAMLSource(yaml.FormatError(err, false, true)))
		}
	}
	set := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	set("TELEGRAM_TOKEN", &c.Token)
	set("TELEGRAM_API_URL", &c.APIURL)
	set("PUBLIC_URL", &c.PublicURL)
	set("WEBHOOK_SECRET", &c.Secret)
	set("LISTEN", &c.Listen)
	set("REDIS_URL", &c.Store)
	set("STORE", &c.Store)
	set("DATA_DIR", &c.DataDir)
	set("HANDBOOK_DIR", &c.HandbookDir)
	set("SIGNING_KEY", &c.SigningKey)
	set("ADMIN_LISTEN", &c.AdminListen)
	set("LOG_LEVEL", &c.LogLevel)
	set("LOG_FORMAT", &c.LogFormat)
	set("CHAT_GAP", &c.ChatGap)
	set("REMIND_BEFORE", &c.RemindBefore)
	set("DIGEST_AT", &c.DigestAt)
	set("KEEP_QUESTIONS", &c.KeepQuestions)
	var problems []string
	if v := strings.TrimSpace(getenv("STAFF_GROUPS")); v != "" {
		g, err := parseGroups(v)
		if err != nil {
			problems = append(problems, "STAFF_GROUPS: "+err.Error())
		} else {
			c.Groups = g
		}
	}
	if v := strings.TrimSpace(getenv("FORUM_GROUPS")); v != "" {
		c.Forums = nil
		for _, s := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				problems = append(problems, fmt.Sprintf("FORUM_GROUPS: %q không phải mã nhóm (chat id)", s))
				continue
			}
			c.Forums = append(c.Forums, id)
		}
	}
	if v := strings.TrimSpace(getenv("SERVICE_LEVELS")); v != "" {
		c.ServiceLevels = map[string]string{}
		for _, pair := range strings.Split(v, ",") {
			dept, level, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok {
				problems = append(problems, fmt.Sprintf("SERVICE_LEVELS: %q cần dạng mã-sở=4h/16h", pair))
				continue
			}
			c.ServiceLevels[strings.TrimSpace(dept)] = strings.TrimSpace(level)
		}
	}
	if v := strings.TrimSpace(getenv("HOLIDAYS")); v != "" {
		c.Holidays = strings.Split(v, ",")
	}
	if v := strings.TrimSpace(getenv("ADMIN_PPROF")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("ADMIN_PPROF: %q không phải true hoặc false", v))
		} else {
			c.AdminPprof = b
		}
	}
	if v := strings.TrimSpace(getenv("GROUP_RATE")); v != "" {
		r, err := strconv.Atoi(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("GROUP_RATE: %q không phải số nguyên", v))
		} else {
			c.GroupRate = r
		}
	}
	if v := strings.TrimSpace(getenv("SEND_RATE")); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil {
			problems = append(problems, fmt.Sprintf("SEND_RATE: %q không phải số", v))
		} else {
			c.SendRate = r
		}
	}
	if *storeFlag != "" {
		c.Store = *storeFlag
	}
	if *handbookFlag != "" {
		c.HandbookDir = *handbookFlag
	}
	if c.Store == "" {
		c.Store = "bolt:" + strings.TrimRight(c.DataDir, "/") + "/caunoi.db"
	}
	if c.DraftsDir == "" {
		c.DraftsDir = strings.TrimRight(c.DataDir, "/") + "/drafts"
	}
	return c, problems, nil
}

// parseGroups reads "dept=chat,dept=chat".
func parseGroups(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		dept, id, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("%q: cần dạng mã-sở=chat_id", pair)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: chat_id %q không phải số", pair, id)
		}
		out[strings.TrimSpace(dept)] = n
	}
	return out, nil
}

// Validate reports every problem with c, in Vietnamese, one per line.
// departments are the known department codes.
func (c Config) Validate(departments []string) error {
	var p []string
	if strings.TrimSpace(c.Token) == "" {
		p = append(p, "thiếu TELEGRAM_TOKEN (mã bot lấy từ @BotFather)")
	}
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p = append(p, fmt.Sprintf("TELEGRAM_API_URL %q không phải địa chỉ http(s)", c.APIURL))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || u.Scheme != "https" || u.Host == "" {
			p = append(p, fmt.Sprintf("PUBLIC_URL %q phải là địa chỉ https (Telegram chỉ gọi webhook qua HTTPS)", c.PublicURL))
		}
		if len(c.Secret) < 16 {
			p = append(p, "WEBHOOK_SECRET phải có ít nhất 16 ký tự khi dùng webhook")
		}
		for _, r := range c.Secret {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				p = append(p, "WEBHOOK_SECRET chỉ được gồm chữ cái Latin, chữ số, _ và -")
				break
			}
		}
	}
	if len(c.SigningKey) < 16 {
		p = append(p, "SIGNING_KEY phải có ít nhất 16 ký tự (khóa ký dữ liệu nút bấm)")
	}
	if !strings.HasPrefix(c.Store, "bolt:") && !strings.HasPrefix(c.Store, "redis://") && !strings.HasPrefix(c.Store, "rediss://") {
		p = append(p, fmt.Sprintf("STORE %q phải bắt đầu bằng bolt:, redis:// hoặc rediss://", maskURL(c.Store)))
	}
	known := map[string]bool{}
	for _, d := range departments {
		known[d] = true
	}
	if len(c.Groups) == 0 {
		p = append(p, "chưa khai báo nhóm cán bộ của sở nào (STAFF_GROUPS): phiếu hỏi sẽ không có nơi nhận")
	}
	codes := make([]string, 0, len(c.Groups))
	for d := range c.Groups {
		codes = append(codes, d)
	}
	sort.Strings(codes)
	for _, d := range codes {
		if !known[d] {
			p = append(p, fmt.Sprintf("STAFF_GROUPS: không có sở mã %q trong departments.yaml", d))
		}
		if c.Groups[d] >= 0 {
			p = append(p, fmt.Sprintf("STAFF_GROUPS: chat_id của %s (%d) phải là số âm (mã nhóm Telegram)", d, c.Groups[d]))
		}
	}
	for _, h := range c.Holidays {
		if _, err := time.Parse("2006-01-02", strings.TrimSpace(h)); err != nil {
			p = append(p, fmt.Sprintf("HOLIDAYS: %q không phải ngày dạng YYYY-MM-DD", h))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p = append(p, fmt.Sprintf("LOG_LEVEL %q: chọn debug, info, warn hoặc error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		p = append(p, fmt.Sprintf("LOG_FORMAT %q: chọn text hoặc json", c.LogFormat))
	}
	if c.GroupRate <= 0 {
		p = append(p, "GROUP_RATE phải lớn hơn 0")
	}
	if c.SendRate <= 0 {
		p = append(p, "SEND_RATE phải lớn hơn 0")
	}
	if _, err := time.ParseDuration(c.ChatGap); err != nil {
		p = append(p, fmt.Sprintf("CHAT_GAP %q không phải khoảng thời gian (ví dụ 1s)", c.ChatGap))
	}
	if _, err := remindBefore(c.RemindBefore); err != nil {
		p = append(p, fmt.Sprintf("REMIND_BEFORE %q: %v", c.RemindBefore, err))
	}
	if _, err := digestAt(c.DigestAt); err != nil {
		p = append(p, fmt.Sprintf("DIGEST_AT %q: %v", c.DigestAt, err))
	}
	if _, err := keepQuestions(c.KeepQuestions); err != nil {
		p = append(p, fmt.Sprintf("KEEP_QUESTIONS %q: %v", c.KeepQuestions, err))
	}
	levels := make([]string, 0, len(c.ServiceLevels))
	for d := range c.ServiceLevels {
		levels = append(levels, d)
	}
	sort.Strings(levels)
	for _, d := range levels {
		if !known[d] {
			p = append(p, fmt.Sprintf("SERVICE_LEVELS: không có sở mã %q trong departments.yaml", d))
		}
		if _, err := servicePolicy(c.ServiceLevels[d]); err != nil {
			p = append(p, fmt.Sprintf("SERVICE_LEVELS %s=%q: %v", d, c.ServiceLevels[d], err))
		}
	}
	if len(p) == 0 {
		return nil
	}
	return errors.New("cấu hình chưa đúng:\n  - " + strings.Join(p, "\n  - "))
}

// mask hides all but the last 4 characters of a secret.
func mask(s string) string {
	if s == "" {
		return "(chưa đặt)"
	}
	if len(s) <= 8 {
		return "****"
	}
	return "****" + s[len(s)-4:]
}

// maskURL hides the password in a store URL.
func maskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return maskStoreQuery(s)
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "****")
	}
	// Sentinel URLs carry passwords in the query too.
	return maskStoreQuery(u.String())
}

// Masked returns c with every secret masked, for printing.
func (c Config) Masked() Config {
	m := c
	m.Token = mask(c.Token)
	m.Secret = mask(c.Secret)
	m.SigningKey = mask(c.SigningKey)
	m.Store = maskURL(c.Store)
	return m
}

// remindBefore reads REMIND_BEFORE: a positive duration of working time,
// "off" (a negative result, which turns reminders off), or empty (zero:
// the default).
func remindBefore(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if strings.EqualFold(s, "off") {
		return -1, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 40*time.Hour {
		return 0, errors.New("cần khoảng thời gian dương, tối đa 40h (ví dụ 1h, 30m), hoặc off để tắt nhắc hạn")
	}
	return d, nil
}

// Bounds of KEEP_QUESTIONS, in days. The lower one keeps a quarter's
// statistics and gap reports whole, and stops a slip such as "9d" from
// deleting nearly everything.
const (
	minKeepDays = 90
	maxKeepDays = 36500
)

// keepQuestions reads KEEP_QUESTIONS: a whole number of days with a "d"
// ("730d") between minKeepDays and maxKeepDays, or "forever" or empty
// (zero: keep every question).
func keepQuestions(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "forever") {
		return 0, nil
	}
	digits, ok := strings.CutSuffix(strings.ToLower(s), "d")
	n, err := strconv.Atoi(digits)
	if !ok || err != nil || n < minKeepDays || n > maxKeepDays {
		return 0, fmt.Errorf("cần số ngày kèm chữ d, từ %dd đến %dd (ví dụ 730d), hoặc forever để giữ mọi câu hỏi", minKeepDays, maxKeepDays)
	}
	return time.Duration(n) * 24 * time.Hour, nil
}

// digestAt reads DIGEST_AT: a time of day "HH:MM" between 00:01 and 16:59
// (the digest is not sent after office hours), or "off" (a negative
// result, which turns the digest off), or empty (zero: the default).
func digestAt(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if strings.EqualFold(s, "off") {
		return -1, nil
	}
	t, err := time.Parse("15:04", s)
	d := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	if err != nil || d <= 0 || d >= 17*time.Hour {
		return 0, errors.New("cần giờ dạng HH:MM trước 17:00 (ví dụ 07:30), hoặc off để tắt bản tin sáng")
	}
	return d, nil
}

// servicePolicy reads a service level "4h/16h": the working time to first
// respond, then to resolve; the first may not exceed the second.
func servicePolicy(s string) (caunoi.Policy, error) {
	first, res, ok := strings.Cut(strings.TrimSpace(s), "/")
	f, err1 := time.ParseDuration(strings.TrimSpace(first))
	r, err2 := time.ParseDuration(strings.TrimSpace(res))
	if !ok || err1 != nil || err2 != nil || f <= 0 || r < f {
		return caunoi.Policy{}, errors.New("cần dạng PHẢN_HỒI/GIẢI_QUYẾT theo giờ làm việc, ví dụ 4h/16h, phản hồi không dài hơn giải quyết")
	}
	return caunoi.Policy{FirstResponse: f, Resolution: r}, nil
}

// policies returns the desk's service levels from c.ServiceLevels.
func (c Config) policies() (map[string]caunoi.Policy, error) {
	out := make(map[string]caunoi.Policy, len(c.ServiceLevels))
	for d, s := range c.ServiceLevels {
		p, err := servicePolicy(s)
		if err != nil {
			return nil, fmt.Errorf("SERVICE_LEVELS %s: %w", d, err)
		}
		out[d] = p
	}
	return out, nil
}
