package caunoi_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
	"github.com/caunoi/caunoi/store/storetest"
)

// TestDesk runs the desk's use cases against a real bbolt file.
func TestDesk(t *testing.T) {
	storetest.RunDesk(t, func(tb testing.TB) caunoi.Store {
		s, err := boltstore.Open(filepath.Join(tb.TempDir(), "caunoi.db"))
		if err != nil {
			tb.Fatalf("open bolt store: %v", err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	})
}

// TestTransitionTable checks the shape of the state machine: closed is
// final, every status but closed can be left, official actions are only
// offered where the official has a say, and every action is allowed
// somewhere.
func TestTransitionTable(t *testing.T) {
	for _, a := range caunoi.Actions {
		t.Run(string(a), func(t *testing.T) {
			n := 0
			for _, s := range caunoi.Statuses {
				next, ok := caunoi.Transition(s, a)
				if !ok {
					continue
				}
				n++
				if s == caunoi.StatusClosed {
					t.Errorf("%s allowed on a closed ticket", a)
				}
				if next == caunoi.StatusResolved && a != caunoi.ActionConfirm && a != caunoi.ActionRate {
					t.Errorf("%s in %s resolves the ticket; only the official's confirmation may", a, s)
				}
			}
			if n == 0 {
				t.Errorf("%s is allowed in no status", a)
			}
		})
	}
	for _, s := range caunoi.Statuses {
		leaves := false
		for _, a := range caunoi.Actions {
			if next, ok := caunoi.Transition(s, a); ok && next != s {
				leaves = true
			}
		}
		if leaves != (s != caunoi.StatusClosed) {
			t.Errorf("status %s: can be left = %v", s, leaves)
		}
	}
	tests := []struct {
		from caunoi.Status
		a    caunoi.Action
		want caunoi.Status
		ok   bool
	}{
		{caunoi.StatusNew, caunoi.ActionClaim, caunoi.StatusClaimed, true},
		{caunoi.StatusReopened, caunoi.ActionClaim, caunoi.StatusClaimed, true},
		{caunoi.StatusTransferred, caunoi.ActionClaim, caunoi.StatusClaimed, true},
		{caunoi.StatusClaimed, caunoi.ActionClaim, "", false},
		{caunoi.StatusWaitingOfficial, caunoi.ActionFollowUp, caunoi.StatusClaimed, true},
		{caunoi.StatusClaimed, caunoi.ActionResolve, caunoi.StatusAnswered, true},
		{caunoi.StatusAnswered, caunoi.ActionConfirm, caunoi.StatusResolved, true},
		{caunoi.StatusResolved, caunoi.ActionReopen, caunoi.StatusReopened, true},
		{caunoi.StatusAnswered, caunoi.ActionRate, "", false},
		{caunoi.StatusClosed, caunoi.ActionReopen, "", false},
	}
	for _, tt := range tests {
		got, ok := caunoi.Transition(tt.from, tt.a)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Transition(%s, %s) = %s, %v; want %s, %v", tt.from, tt.a, got, ok, tt.want, tt.ok)
		}
	}
}

func TestInviteCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		code, err := caunoi.NewInviteCode(cryptoRand{})
		if err != nil {
			t.Fatal(err)
		}
		if !caunoi.ValidInviteCode(code) || len(code) != 24 {
			t.Fatalf("code %q: want 24 deep-link characters", code)
		}
		if seen[code] {
			t.Fatalf("code %q repeated", code)
		}
		seen[code] = true
	}
	for _, s := range []string{"", "có-dấu", "a b", "a+b/c=", string(make([]byte, 65))} {
		if caunoi.ValidInviteCode(s) {
			t.Errorf("ValidInviteCode(%q) = true", s)
		}
	}
}

type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) { return rand.Read(p) }

// BenchmarkDeskLifecycle runs one ticket's whole life on a bbolt file:
// escalate, claim, reply, resolve, confirm, rate (six durable writes).
func BenchmarkDeskLifecycle(b *testing.B) {
	ctx := context.Background()
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "caunoi.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const official, staff caunoi.UserID = 1, 2
	for _, p := range []caunoi.Official{
		{ID: official, Name: "A", Commune: "00001", Roles: []caunoi.Role{caunoi.RoleOfficial}},
		{ID: staff, Name: "B", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}},
	} {
		if err := s.PutOfficial(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	d := &caunoi.Desk{Store: s, Departments: []caunoi.Department{{Code: "tu-phap", Prefix: "TP"}}}
	note := caunoi.Note{Text: "Trả lời"}
	i := 0
	for b.Loop() {
		i++
		k := strconv.Itoa(i)
		out, err := d.Escalate(ctx, official, caunoi.EscalateRequest{Text: "Câu hỏi " + k, Department: "tu-phap", Key: k})
		if err != nil {
			b.Fatal(err)
		}
		n := out.Ticket.Number
		steps := []func() (caunoi.Outcome, error){
			func() (caunoi.Outcome, error) { return d.Claim(ctx, staff, n, k+"c") },
			func() (caunoi.Outcome, error) { return d.Reply(ctx, staff, n, k+"r", note) },
			func() (caunoi.Outcome, error) { return d.Resolve(ctx, staff, n, k+"s", note) },
			func() (caunoi.Outcome, error) { return d.Confirm(ctx, official, n, k+"f") },
			func() (caunoi.Outcome, error) { return d.Rate(ctx, official, n, k+"t", 5) },
		}
		for _, step := range steps {
			if _, err := step(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestOpenStatuses checks that OpenStatuses is every status but resolved
// and closed, each once.
func TestOpenStatuses(t *testing.T) {
	got := caunoi.OpenStatuses()
	var want []caunoi.Status
	for _, s := range caunoi.Statuses {
		if s != caunoi.StatusResolved && s != caunoi.StatusClosed {
			want = append(want, s)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("OpenStatuses() = %v, want %v", got, want)
	}
	if !(caunoi.TicketFilter{Statuses: got}).OpenOnly() {
		t.Error("a filter on OpenStatuses() is not OpenOnly")
	}
}
