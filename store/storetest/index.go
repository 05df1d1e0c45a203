package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// IndexModel is what a test wrote to a store, ticket by ticket, to check
// the store's answers against: the store's indexes of open and finished
// tickets must give exactly what filtering every ticket would.
type IndexModel struct {
	tickets map[string]caunoi.Ticket
}

// indexDepts are the departments the index tests spread tickets over.
var indexDepts = []struct{ prefix, code string }{{"TP", "tu-phap"}, {"XD", "xay-dung"}, {"NV", "noi-vu"}}

// WriteIndexSample writes tickets in every status to s, some transferred,
// reopened, closed after resolution or given a new creation time, and
// returns what it wrote. CheckIndexes then holds the store to it. A store
// package uses the two to test that an index built for a store written
// before the index existed answers as one kept from the start.
func WriteIndexSample(tb testing.TB, s caunoi.Store) *IndexModel {
	tb.Helper()
	m := &IndexModel{tickets: map[string]caunoi.Ticket{}}
	rng := rand.New(rand.NewPCG(7, 11))
	for range 40 {
		m.create(tb, s, rng)
	}
	for range 200 {
		m.change(tb, s, rng)
	}
	return m
}

func (m *IndexModel) create(tb testing.TB, s caunoi.Store, rng *rand.Rand) {
	tb.Helper()
	d := indexDepts[rng.IntN(len(indexDepts))]
	at := suiteEpoch.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
	tk := mustCreateTicket(tb, s, d.prefix, sampleTicket(d.code, caunoi.UserID(100+rng.IntN(5)), at))
	m.tickets[tk.Number] = tk
}

// change moves a random ticket to a random status, as the desk would:
// ResolvedAt is set on entering resolved or closed and cleared on leaving
// them; now and then the ticket also changes department or creation time.
func (m *IndexModel) change(tb testing.TB, s caunoi.Store, rng *rand.Rand) {
	tb.Helper()
	numbers := make([]string, 0, len(m.tickets))
	for n := range m.tickets {
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	number := numbers[rng.IntN(len(numbers))]
	status := caunoi.Statuses[rng.IntN(len(caunoi.Statuses))]
	dept := ""
	if rng.IntN(6) == 0 {
		dept = indexDepts[rng.IntN(len(indexDepts))].code
	}
	var created time.Time
	if rng.IntN(15) == 0 {
		created = suiteEpoch.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
	}
	resolved := suiteEpoch.Add(time.Duration(30*24+rng.IntN(30*24)) * time.Hour)
	rescore := rng.IntN(3) == 0 // a finished ticket finished again, later
	got, err := s.UpdateTicket(context.Background(), number, func(cur *caunoi.Ticket) ([]caunoi.Event, error) {
		from := cur.Status
		cur.Status = status
		switch {
		case !status.Open() && (from.Open() || rescore):
			cur.ResolvedAt = resolved
		case status.Open():
			cur.ResolvedAt = time.Time{}
		}
		if dept != "" {
			cur.Department = dept
		}
		if !created.IsZero() {
			cur.Created = created
		}
		return []caunoi.Event{{Kind: caunoi.EventClaimed, Actor: 200, At: resolved, From: from, To: status}}, nil
	})
	if err != nil {
		tb.Fatalf("UpdateTicket(%s): %v", number, err)
	}
	m.tickets[number] = got
}

// want is what Tickets(f) must return: every ticket written that f
// matches, newest first, ties by number descending, cut to f.Limit.
func (m *IndexModel) want(f caunoi.TicketFilter) []string {
	var list []caunoi.Ticket
	for _, t := range m.tickets {
		if f.Matches(t) {
			list = append(list, t)
		}
	}
	slices.SortFunc(list, func(a, b caunoi.Ticket) int {
		return cmp.Or(b.Created.Compare(a.Created), strings.Compare(b.Number, a.Number))
	})
	if f.Limit > 0 && len(list) > f.Limit {
		list = list[:f.Limit]
	}
	return numbersOf(list)
}

// indexFilters are filters of every kind the stores answer from an index:
// open statuses (all departments or one, with and without a creation
// window and a limit), finished statuses in a window of resolution, and
// the kinds they do not index, for comparison.
func indexFilters() []caunoi.TicketFilter {
	day := func(d int) time.Time { return suiteEpoch.Add(time.Duration(d) * 24 * time.Hour) }
	own := []caunoi.Status{caunoi.StatusNew, caunoi.StatusClaimed, caunoi.StatusReopened, caunoi.StatusTransferred}
	var open []caunoi.Status
	for _, s := range caunoi.Statuses {
		if s.Open() {
			open = append(open, s)
		}
	}
	finished := []caunoi.Status{caunoi.StatusResolved, caunoi.StatusClosed}
	fs := []caunoi.TicketFilter{
		{Statuses: own},
		{Statuses: open},
		{Statuses: []caunoi.Status{caunoi.StatusAnswered}},
		{Statuses: own, Limit: 5},
		{Statuses: open, CreatedAfter: day(5), CreatedBefore: day(20)},
		{Statuses: finished, ResolvedAfter: day(35), ResolvedBefore: day(50)},
		{Statuses: finished, ResolvedAfter: day(40)},
		{Statuses: finished, ResolvedBefore: day(45), Limit: 3},
		{Statuses: []caunoi.Status{caunoi.StatusClosed}, ResolvedAfter: day(30), ResolvedBefore: day(60), CreatedAfter: day(10)},
		{Statuses: finished},
		{Statuses: []caunoi.Status{caunoi.StatusNew, caunoi.StatusResolved}},
		{ResolvedAfter: day(40)},
		{},
	}
	for _, d := range indexDepts {
		fs = append(fs,
			caunoi.TicketFilter{Department: d.code, Statuses: own},
			caunoi.TicketFilter{Department: d.code, Statuses: open, Limit: 4},
			caunoi.TicketFilter{Department: d.code, Statuses: finished, ResolvedAfter: day(35), ResolvedBefore: day(55)},
			caunoi.TicketFilter{Department: d.code, Statuses: []caunoi.Status{caunoi.StatusResolved}, ResolvedAfter: day(30)},
			caunoi.TicketFilter{Department: d.code, Asker: 101, Statuses: open},
		)
	}
	return fs
}

// CheckIndexes fails tb unless Tickets answers every kind of filter, and
// CountTickets counts, exactly as the tickets m wrote say.
func (m *IndexModel) CheckIndexes(tb testing.TB, s caunoi.Store) {
	tb.Helper()
	ctx := context.Background()
	for _, f := range indexFilters() {
		got, err := s.Tickets(ctx, f)
		if err != nil {
			tb.Errorf("Tickets(%+v): %v", f, err)
			continue
		}
		if g, w := numbersOf(got), m.want(f); !slices.Equal(g, w) {
			tb.Errorf("Tickets(%+v):\n got  %v\n want %v", f, g, w)
		}
		for _, t := range got {
			if !reflect.DeepEqual(t, m.tickets[t.Number]) {
				tb.Errorf("Tickets(%+v): ticket %s differs from what was written", f, t.Number)
				break
			}
		}
	}
	counts, err := s.CountTickets(ctx)
	if err != nil {
		tb.Fatalf("CountTickets: %v", err)
	}
	want := map[caunoi.DeptStatus]int{}
	for _, t := range m.tickets {
		want[caunoi.DeptStatus{Department: t.Department, Status: t.Status}]++
	}
	checkEqual(tb, "CountTickets", counts, want)
}

func testTicketIndexes(t *testing.T, open func(testing.TB) caunoi.Store) {
	s := open(t)
	m := &IndexModel{tickets: map[string]caunoi.Ticket{}}
	rng := rand.New(rand.NewPCG(3, 5))
	for round := range 6 {
		for range 12 {
			m.create(t, s, rng)
		}
		for range 50 {
			m.change(t, s, rng)
		}
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) { m.CheckIndexes(t, s) })
	}
}

// ModelOf reads every ticket of s through the creation index, which every
// store has always kept, for CheckIndexes to hold the other indexes to.
func ModelOf(tb testing.TB, s caunoi.Store) *IndexModel {
	tb.Helper()
	all, err := s.Tickets(context.Background(), caunoi.TicketFilter{})
	if err != nil {
		tb.Fatalf("Tickets: %v", err)
	}
	m := &IndexModel{tickets: map[string]caunoi.Ticket{}}
	for _, t := range all {
		m.tickets[t.Number] = t
	}
	return m
}

// Len is how many tickets m holds.
func (m *IndexModel) Len() int { return len(m.tickets) }
