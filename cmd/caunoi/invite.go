package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/handbook"
	"github.com/caunoi/caunoi/knowledge"
)

func init() {
	register("invite", "tạo mã mời đăng ký (cán bộ xã, cán bộ sở, quản trị)", runInvite)
}

const inviteUsage = `Cách dùng: caunoi invite --role VAI_TRÒ [--commune MÃ_XÃ | --department MÃ_SỞ]
                     [--ttl 168h] [--bot TÊN_BOT] [--store bolt:ĐƯỜNG_DẪN|redis://…]

Tạo một mã mời dùng một lần. Người nhận mở liên kết https://t.me/TÊN_BOT?start=MÃ
để đăng ký với vai trò đã chọn.

Tham số:
  --role VAI_TRÒ       official (cán bộ xã, phường), staff (cán bộ sở),
                       lead (lãnh đạo sở), editor (biên tập sổ tay), admin (quản trị)
  --commune MÃ_XÃ      bắt buộc với official; mã phải có trong danh mục xã
                       (nhập bằng: caunoi communes import TỆP.csv)
  --department MÃ_SỞ   bắt buộc với staff và lead, ví dụ tu-phap
  --ttl THỜI_HẠN       thời hạn dùng mã, ví dụ 72h (mặc định 168h = 7 ngày)
  --bot TÊN_BOT        tên bot Telegram để in liên kết, ví dụ CauNoiLaiChauBot
  --store ĐỊA_CHỈ      nơi lưu dữ liệu (mặc định: biến STORE hoặc REDIS_URL,
                       nếu không có thì bolt:caunoi.db)
  -h, --help           in hướng dẫn này
`

// defaultStore is where the command line keeps data unless told otherwise.
const defaultStore = "bolt:caunoi.db"

// storeURL returns the store named by the --store flag, else by the STORE or
// REDIS_URL environment variables (as serve reads them), else defaultStore.
func storeURL(m *Main, flag string) string {
	if flag != "" {
		return flag
	}
	if m.Getenv != nil {
		if v := strings.TrimSpace(m.Getenv("STORE")); v != "" {
			return v
		}
		if v := strings.TrimSpace(m.Getenv("REDIS_URL")); v != "" {
			return v
		}
	}
	return defaultStore
}

// flagSpec describes the flags of a subcommand: value flags and switches.
type flagSpec struct {
	values   map[string]*string
	switches map[string]*bool
}

// parse reads "--name value", "--name=value" and "-name" forms, in any
// order with positional arguments, and returns the positional ones. Its
// errors are Vietnamese sentences for the person at the terminal.
func (s flagSpec) parse(args []string) ([]string, error) {
	var pos []string
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(pos, args[i+1:]...), nil
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			pos = append(pos, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if b, ok := s.switches[name]; ok {
			if hasValue {
				return nil, fmt.Errorf("tham số --%s không nhận giá trị", name)
			}
			*b = true
			continue
		}
		v, ok := s.values[name]
		if !ok {
			return nil, fmt.Errorf("không có tham số %s", arg)
		}
		if seen[name] {
			return nil, fmt.Errorf("tham số --%s được nêu hai lần", name)
		}
		seen[name] = true
		if !hasValue {
			if i+1 >= len(args) || strings.HasPrefix(args[i+1], "--") {
				return nil, fmt.Errorf("thiếu giá trị sau --%s", name)
			}
			i++
			value = args[i]
		}
		*v = strings.TrimSpace(value)
	}
	return pos, nil
}

// badUsage prints msg and the usage text, and returns errUsage.
func badUsage(w io.Writer, cmd, usage string, msg error) error {
	fmt.Fprintf(w, "caunoi %s: %v\n\n", cmd, msg)
	fmt.Fprint(w, usage)
	return errUsage
}

// failf returns an exit error whose message is read by a person.
func failf(format string, args ...any) error {
	return &exitError{code: 1, err: fmt.Errorf(format, args...)}
}

// departments returns the departments of the embedded handbook.
var departments = sync.OnceValues(func() ([]caunoi.Department, error) {
	h, _ := knowledge.Load(handbook.FS(), time.Now())
	if h == nil || len(h.Departments) == 0 {
		return nil, errors.New("sổ tay đóng gói không có danh sách sở (departments.yaml)")
	}
	return h.Departments, nil
})

// departmentCodes lists the codes for messages.
func departmentCodes(deps []caunoi.Department) string {
	codes := make([]string, len(deps))
	for i, d := range deps {
		codes[i] = d.Code
	}
	return strings.Join(codes, ", ")
}

// openDesk opens the store at url and returns a desk on it for the
// administrator at the terminal. The caller closes the store.
func openDesk(ctx context.Context, url string) (*caunoi.Desk, caunoi.Store, error) {
	deps, err := departments()
	if err != nil {
		return nil, nil, failf("%v", err)
	}
	s, err := openStore(ctx, url)
	if err != nil {
		return nil, nil, failf("%v", err)
	}
	return &caunoi.Desk{Store: s, Departments: deps, Calendar: nil}, s, nil
}

// vnTime formats t in Vietnam's time zone.
func vnTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(caunoi.VietnamZone()).Format("02/01/2006 15:04")
}

// validBotName reports whether s is a Telegram bot username: 5 to 32
// letters, digits and underscores, ending in "bot".
func validBotName(s string) bool {
	if len(s) < 5 || len(s) > 32 || !strings.HasSuffix(strings.ToLower(s), "bot") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func runInvite(ctx context.Context, m *Main, args []string) error {
	var role, commune, department, ttlText, bot, store string
	var help bool
	spec := flagSpec{
		values: map[string]*string{
			"role": &role, "commune": &commune, "department": &department,
			"ttl": &ttlText, "bot": &bot, "store": &store,
		},
		switches: map[string]*bool{"h": &help, "help": &help},
	}
	pos, err := spec.parse(trimArgs(args))
	if err != nil {
		return badUsage(m.Stderr, "invite", inviteUsage, err)
	}
	if help {
		fmt.Fprint(m.Stdout, inviteUsage)
		return nil
	}
	if len(pos) > 0 {
		return badUsage(m.Stderr, "invite", inviteUsage, fmt.Errorf("không nhận tham số %q", pos[0]))
	}
	r := caunoi.Role(role)
	switch {
	case role == "":
		return badUsage(m.Stderr, "invite", inviteUsage, errors.New("thiếu --role"))
	case !r.Valid():
		return badUsage(m.Stderr, "invite", inviteUsage, fmt.Errorf("vai trò %q không có; chọn official, staff, lead, editor hoặc admin", role))
	case r == caunoi.RoleOfficial && commune == "":
		return badUsage(m.Stderr, "invite", inviteUsage, errors.New("mã mời cho cán bộ xã cần --commune MÃ_XÃ"))
	case r == caunoi.RoleOfficial && department != "":
		return badUsage(m.Stderr, "invite", inviteUsage, errors.New("mã mời cho cán bộ xã không dùng --department"))
	case (r == caunoi.RoleStaff || r == caunoi.RoleLead) && department == "":
		return badUsage(m.Stderr, "invite", inviteUsage, fmt.Errorf("mã mời cho %s cần --department MÃ_SỞ", r.Label()))
	case (r == caunoi.RoleStaff || r == caunoi.RoleLead) && commune != "":
		return badUsage(m.Stderr, "invite", inviteUsage, fmt.Errorf("mã mời cho %s không dùng --commune", r.Label()))
	case (r == caunoi.RoleEditor || r == caunoi.RoleAdmin) && (commune != "" || department != ""):
		return badUsage(m.Stderr, "invite", inviteUsage, fmt.Errorf("mã mời cho %s không gắn với xã hay sở", r.Label()))
	}
	var ttl time.Duration
	if ttlText != "" {
		ttl, err = time.ParseDuration(ttlText)
		if err != nil || ttl <= 0 {
			return badUsage(m.Stderr, "invite", inviteUsage, fmt.Errorf("--ttl %q không hợp lệ; ví dụ 72h hoặc 30m", ttlText))
		}
	}
	bot = strings.TrimPrefix(bot, "@")
	if bot != "" && !validBotName(bot) {
		return badUsage(m.Stderr, "invite", inviteUsage, fmt.Errorf("tên bot %q không hợp lệ: 5–32 chữ, số hoặc _, kết thúc bằng bot", bot))
	}
	deps, err := departments()
	if err != nil {
		return failf("%v", err)
	}
	if department != "" {
		if !slicesContainsCode(deps, department) {
			return badUsage(m.Stderr, "invite", inviteUsage, fmt.Errorf("không có sở mã %q; các mã: %s", department, departmentCodes(deps)))
		}
	}

	desk, s, err := openDesk(ctx, storeURL(m, store))
	if err != nil {
		return err
	}
	defer s.Close()
	var place string
	if commune != "" {
		c, err := s.Commune(ctx, commune)
		if errors.Is(err, caunoi.ErrNotFound) {
			return failf("không có xã, phường mã %q trong danh mục; nhập danh mục trước bằng: caunoi communes import TỆP.csv", commune)
		}
		if err != nil {
			return failf("không đọc được danh mục xã: %v", err)
		}
		place = c.Name + ", " + c.Province
	}
	if department != "" {
		dep, _ := desk.Department(department)
		place = dep.Name
	}
	inv, err := desk.CreateInvite(ctx, caunoi.Operator, caunoi.InviteRequest{
		Role: r, Commune: commune, Department: department, TTL: ttl,
	})
	if err != nil {
		return failf("không tạo được mã mời: %v", err)
	}
	fmt.Fprintf(m.Stdout, "Mã mời:   %s\n", inv.Code)
	fmt.Fprintf(m.Stdout, "Vai trò:  %s (%s)\n", r.Label(), r)
	if place != "" {
		fmt.Fprintf(m.Stdout, "Đơn vị:   %s\n", place)
	}
	fmt.Fprintf(m.Stdout, "Hết hạn:  %s (giờ Việt Nam), dùng được một lần\n", vnTime(inv.Expires))
	if bot != "" {
		fmt.Fprintf(m.Stdout, "Liên kết: https://t.me/%s?start=%s\n", bot, inv.Code)
	} else {
		fmt.Fprintf(m.Stdout, "Liên kết: thêm --bot TÊN_BOT để in liên kết https://t.me/TÊN_BOT?start=%s\n", inv.Code)
	}
	return nil
}

func slicesContainsCode(deps []caunoi.Department, code string) bool {
	for _, d := range deps {
		if d.Code == code {
			return true
		}
	}
	return false
}
