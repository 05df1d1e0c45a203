// Package loadtest drives Cầu Nối the way a province would: many officials
// asking at once, some escalating to a department, staff answering the
// cards, all through the Bot API emulator, while `caunoi serve` runs as a
// separate process that can be killed. It measures what the officials see
// and checks that nothing was lost or done twice.
package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// Person is one official of a run and the commune they work in.
type Person struct {
	User    telegramtest.User
	Commune string
}

// Population is the people of a run, registered in the emulator.
type Population struct {
	Officials []Person
	Communes  []caunoi.Commune
	// Staff and Groups are keyed by department code: one staff member per
	// department, in that department's staff group.
	Staff  map[string]telegramtest.User
	Groups map[string]int64
}

// Populate registers officials spread over communes, and one staff group
// with one staff member for each department.
func Populate(srv *telegramtest.Server, officials, communes int, departments []string) *Population {
	p := &Population{Staff: map[string]telegramtest.User{}, Groups: map[string]int64{}}
	communes = max(1, communes)
	for i := range communes {
		p.Communes = append(p.Communes, caunoi.Commune{
			Code:     fmt.Sprintf("%05d", 10000+i),
			Name:     fmt.Sprintf("Xã Thử Tải %d", i+1),
			Province: "Tỉnh Thử Nghiệm",
		})
	}
	for i := range officials {
		u := srv.AddUser(telegramtest.User{FirstName: "Cán bộ", LastName: strconv.Itoa(i + 1), LanguageCode: "vi"})
		p.Officials = append(p.Officials, Person{User: u, Commune: p.Communes[i%communes].Code})
	}
	for _, d := range departments {
		u := srv.AddUser(telegramtest.User{FirstName: "Chuyên viên", LastName: d, LanguageCode: "vi"})
		p.Staff[d] = u
		p.Groups[d] = srv.AddGroup("Cán bộ "+d, u.ID).ID
	}
	return p
}

// StaffGroups is the STAFF_GROUPS setting for the population.
func (p *Population) StaffGroups() string {
	var pairs []string
	for d, id := range p.Groups {
		pairs = append(pairs, d+"="+strconv.FormatInt(id, 10))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// Seeder is the part of the store that Seed writes to.
type Seeder interface {
	ReplaceCommunes(ctx context.Context, communes []caunoi.Commune) error
	PutOfficial(ctx context.Context, o caunoi.Official) error
}

// Seed registers the population directly in the store, as invites redeemed
// long ago would have.
func (p *Population) Seed(ctx context.Context, st Seeder, now time.Time) error {
	if err := st.ReplaceCommunes(ctx, p.Communes); err != nil {
		return fmt.Errorf("seed communes: %w", err)
	}
	for _, o := range p.Officials {
		err := st.PutOfficial(ctx, caunoi.Official{
			ID: caunoi.UserID(o.User.ID), Name: o.User.FirstName + " " + o.User.LastName,
			Commune: o.Commune, Roles: []caunoi.Role{caunoi.RoleOfficial}, Registered: now,
		})
		if err != nil {
			return fmt.Errorf("seed official %d: %w", o.User.ID, err)
		}
	}
	for d, u := range p.Staff {
		err := st.PutOfficial(ctx, caunoi.Official{
			ID: caunoi.UserID(u.ID), Name: u.FirstName + " " + u.LastName,
			Department: d, Roles: []caunoi.Role{caunoi.RoleStaff}, Registered: now,
		})
		if err != nil {
			return fmt.Errorf("seed staff of %s: %w", d, err)
		}
	}
	return nil
}

// Vocabulary turns handbook phrases (titles, sample questions) into the
// questions of a run: each phrase as written, and every other one also
// without diacritics, as officials type on a phone.
func Vocabulary(phrases []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for i, p := range phrases {
		add(p)
		if i%2 == 0 {
			add(StripMarks(p))
		}
	}
	return out
}

// StripMarks removes Vietnamese diacritics: "Đăng ký" becomes "Dang ky".
func StripMarks(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'đ':
			b.WriteRune('d')
		case r == 'Đ':
			b.WriteRune('D')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// shuffle returns a seeded permutation source, so that a run can be repeated.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
