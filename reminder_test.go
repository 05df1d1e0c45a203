package caunoi_test

import (
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// kinds lists the notices' kinds and tickets, for comparison.
func kinds(ns []caunoi.Notice) []string {
	var out []string
	for _, n := range ns {
		out = append(out, string(n.Kind)+" "+n.Ticket+" → "+n.Department)
	}
	return out
}

// TestRemindersOncePerThreshold walks one ticket through its deadlines:
// due 14:00 Monday for the first response and 09:30 Wednesday for the
// resolution; each threshold is announced once, from two desks on one
// store asking at the same moments.
func TestRemindersOncePerThreshold(t *testing.T) {
	f := newLeadsFixture(t)
	number := f.escalate(t, vnAt(0, 8, 0), "đăng ký khai sinh quá hạn cho trẻ", "tu-phap")
	other := *f.desk // a second replica on the same store

	steps := []struct {
		when time.Time
		act  caunoi.Action
		want []string
	}{
		{when: vnAt(0, 10, 59)},
		{when: vnAt(0, 11, 0), want: []string{"response_due_soon " + number + " → tu-phap"}},
		{when: vnAt(0, 11, 5)},
		{when: vnAt(0, 12, 30)},
		{when: vnAt(0, 14, 0), want: []string{"response_overdue " + number + " → tu-phap"}},
		{when: vnAt(0, 14, 1)},
		{when: vnAt(0, 14, 30), act: caunoi.ActionClaim},
		{when: vnAt(1, 17, 0)},
		{when: vnAt(2, 8, 0), want: []string{"resolution_due_soon " + number + " → tu-phap"}},
		{when: vnAt(2, 8, 30)},
		{when: vnAt(2, 9, 0), want: []string{"resolution_overdue " + number + " → tu-phap"}},
		{when: vnAt(2, 15, 0)},
		{when: vnAt(3, 9, 0)},
	}
	for _, st := range steps {
		if st.act != "" {
			f.do(t, st.when, number, st.act)
			continue
		}
		f.clock.Set(st.when)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			got  []caunoi.Notice
			errs []error
		)
		for _, d := range []*caunoi.Desk{f.desk, &other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ns, err := d.Reminders(f.ctx, st.when, time.Hour)
				mu.Lock()
				defer mu.Unlock()
				got = append(got, ns...)
				if err != nil {
					errs = append(errs, err)
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%s: %v", st.when, errs)
		}
		if g := kinds(got); !reflect.DeepEqual(g, st.want) {
			t.Errorf("%s: reminders %v, want %v", st.when.Format("Mon 15:04"), g, st.want)
		}
		for _, n := range got {
			if n.To != 0 || n.Key == "" {
				t.Errorf("reminder %+v: want a group notice with a key", n)
			}
		}
	}
}

// TestRemindersCatchUp checks that a desk that was not asked while both
// thresholds passed announces only the overdue one, and that a transfer,
// which sets new deadlines, gets reminders of its own.
func TestRemindersCatchUp(t *testing.T) {
	f := newLeadsFixture(t)
	number := f.escalate(t, vnAt(0, 8, 0), "đăng ký khai sinh quá hạn cho trẻ", "tu-phap")
	f.clock.Set(vnAt(0, 15, 0))
	got, err := f.desk.Reminders(f.ctx, vnAt(0, 15, 0), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"response_overdue " + number + " → tu-phap"}; !reflect.DeepEqual(kinds(got), want) {
		t.Errorf("after a gap: %v, want %v", kinds(got), want)
	}

	f.clock.Set(vnAt(0, 15, 30))
	if _, err := f.desk.Transfer(f.ctx, leadsStaffTP, number, f.key(), "noi-vu", caunoi.Note{Text: "Thuộc thẩm quyền Sở Nội vụ."}); err != nil {
		t.Fatal(err)
	}
	// New first-response deadline: 15:30 + 4 working hours = 10:00 Tuesday.
	got, err = f.desk.Reminders(f.ctx, vnAt(1, 9, 0), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"response_due_soon " + number + " → noi-vu"}; !reflect.DeepEqual(kinds(got), want) {
		t.Errorf("after the transfer: %v, want %v", kinds(got), want)
	}
	// With "due soon" turned off only overdue reminders go out.
	f2 := newLeadsFixture(t)
	n2 := f2.escalate(t, vnAt(0, 8, 0), "khai sinh cho con ngoài giá thú", "tu-phap")
	got, err = f2.desk.Reminders(f2.ctx, vnAt(0, 13, 45), 0)
	if err != nil || len(got) != 0 {
		t.Errorf("due soon turned off: %v, %v; want none", kinds(got), err)
	}
	got, _ = f2.desk.Reminders(f2.ctx, vnAt(0, 14, 0), 0)
	if want := []string{"response_overdue " + n2 + " → tu-phap"}; !reflect.DeepEqual(kinds(got), want) {
		t.Errorf("overdue with due soon off: %v, want %v", kinds(got), want)
	}
}

// TestDigests checks when the digest goes out, to whom, and its figures.
// Friday 6 March 2026 is declared a holiday.
func TestDigests(t *testing.T) {
	f := newLeadsFixture(t, "2026-03-06")
	// Sunday evening: a ticket for Sở Nội vụ, due 11:30 Monday.
	e := f.escalate(t, vnAt(-1, 20, 0), "tuyển dụng công chức xã", "noi-vu")

	digests := func(when time.Time) []caunoi.Digest {
		t.Helper()
		f.clock.Set(when)
		ds, err := f.desk.Digests(f.ctx, when, caunoi.DefaultDigestAt)
		if err != nil {
			t.Fatalf("Digests at %s: %v", when, err)
		}
		return ds
	}
	if ds := digests(vnAt(-1, 7, 30)); len(ds) != 0 {
		t.Errorf("Sunday: %d digests, want none", len(ds))
	}
	if ds := digests(vnAt(0, 7, 29)); len(ds) != 0 {
		t.Errorf("Monday 07:29: %d digests, want none", len(ds))
	}
	monday := digests(vnAt(0, 7, 30))
	want := []caunoi.Digest{
		{To: leadsLeadTP, Department: "tu-phap", Day: leadsMonday, Since: vnAt(-3, 0, 0), Key: "digest:2026-03-02:300"},
		{To: leadsLeadNV, Department: "noi-vu", Day: leadsMonday, Since: vnAt(-3, 0, 0), Open: 1, DueToday: 1, Created: 1, Key: "digest:2026-03-02:301"},
		{To: leadsLeadTP2, Department: "tu-phap", Day: leadsMonday, Since: vnAt(-3, 0, 0), Key: "digest:2026-03-02:302"},
	}
	if !reflect.DeepEqual(monday, want) {
		t.Errorf("Monday 07:30:\n got %+v\nwant %+v", monday, want)
	}
	if ds := digests(vnAt(0, 7, 31)); len(ds) != 0 {
		t.Errorf("Monday 07:31, again: %d digests, want none", len(ds))
	}

	// Monday's work for Sở Tư pháp.
	a := f.escalate(t, vnAt(0, 9, 0), "đăng ký khai sinh quá hạn cho trẻ", "tu-phap")
	f.do(t, vnAt(0, 9, 30), a, caunoi.ActionClaim)
	f.do(t, vnAt(0, 10, 0), a, caunoi.ActionReply)
	f.do(t, vnAt(0, 11, 0), a, caunoi.ActionConfirm)
	b := f.escalate(t, vnAt(0, 10, 0), "khai sinh cho con ngoài giá thú", "tu-phap")
	f.do(t, vnAt(0, 15, 0), b, caunoi.ActionClose)
	f.escalate(t, vnAt(0, 14, 0), "đăng ký kết hôn với người nước ngoài", "tu-phap") // first response due 08:30 Tuesday
	d := f.escalate(t, vnAt(0, 16, 0), "kết hôn lần hai cần giấy tờ gì", "tu-phap")
	f.do(t, vnAt(0, 16, 30), d, caunoi.ActionClaim) // resolution due 17:00 Wednesday

	tuesday := digests(vnAt(1, 7, 45))
	tue := vnAt(1, 0, 0)
	want = []caunoi.Digest{
		{To: leadsLeadTP, Department: "tu-phap", Day: tue, Since: leadsMonday, Open: 2, DueToday: 1, Created: 4, Resolved: 1, Closed: 1, Key: "digest:2026-03-03:300"},
		{To: leadsLeadNV, Department: "noi-vu", Day: tue, Since: leadsMonday, Open: 1, Overdue: 1, Key: "digest:2026-03-03:301"},
		{To: leadsLeadTP2, Department: "tu-phap", Day: tue, Since: leadsMonday, Open: 2, DueToday: 1, Created: 4, Resolved: 1, Closed: 1, Key: "digest:2026-03-03:302"},
	}
	if !reflect.DeepEqual(tuesday, want) {
		t.Errorf("Tuesday 07:45:\n got %+v\nwant %+v", tuesday, want)
	}
	if ds := digests(vnAt(4, 7, 30)); len(ds) != 0 {
		t.Errorf("Friday, a holiday: %d digests, want none", len(ds))
	}
	if ds := digests(vnAt(5, 7, 30)); len(ds) != 0 {
		t.Errorf("Saturday: %d digests, want none", len(ds))
	}
	if ds := digests(vnAt(2, 17, 0)); len(ds) != 0 {
		t.Errorf("Wednesday after office hours: %d digests, want none", len(ds))
	}
	// Thursday's digest looks back to Wednesday; Monday's E is still open.
	thu := digests(vnAt(3, 8, 0))
	if i := slices.IndexFunc(thu, func(g caunoi.Digest) bool { return g.To == leadsLeadNV }); i < 0 || !thu[i].Since.Equal(vnAt(2, 0, 0)) || thu[i].Open != 1 {
		t.Errorf("Thursday, Sở Nội vụ: %+v; want since Wednesday with %s open", thu, e)
	}
	// Monday after the holiday looks back to Thursday.
	next := digests(vnAt(7, 7, 30))
	if len(next) != 3 || !next[0].Since.Equal(vnAt(3, 0, 0)) {
		t.Errorf("Monday after the holiday: %+v; want 3 digests since Thursday", next)
	}
}
