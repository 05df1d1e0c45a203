package caunoi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Reminder notices go to the staff group of the department that holds the
// ticket: its first response or its resolution is due soon, or overdue.
const (
	NoticeResponseDueSoon   NoticeKind = "response_due_soon"
	NoticeResponseOverdue   NoticeKind = "response_overdue"
	NoticeResolutionDueSoon NoticeKind = "resolution_due_soon"
	NoticeResolutionOverdue NoticeKind = "resolution_overdue"
)

// DefaultRemindBefore is how much working time before a deadline the
// "due soon" reminder goes out.
const DefaultRemindBefore = time.Hour

// DefaultDigestAt is when, after midnight in the calendar's zone, the daily
// digest goes to the leads on working days.
const DefaultDigestAt = 7*time.Hour + 30*time.Minute

// digestUntil is the end of the office day: a digest not sent by then is
// not sent that day.
const digestUntil = 17 * time.Hour

// reminderKeep is how long the markers of sent reminders and digests are
// kept; a deadline is never that far in the past of a live ticket's
// reminder round.
const reminderKeep = 90 * 24 * time.Hour

// Reminders decides which deadline reminders are due at now, for tickets
// waiting on their department (see Overdue). Each deadline of a ticket has
// two thresholds: "due soon", when at most before of working time remains
// (before ≤ 0 turns it off), and "overdue". A reminder goes out once per
// threshold, ever: Reminders marks it in the store with KV.SetNX under
// "remind:TICKET:KIND:THRESHOLD:DUE", so that replicas sharing a store, and
// a restarted process, do not repeat it. A deadline moved by a transfer
// gets its own reminders. When both thresholds were crossed since the last
// round, only the overdue one goes out. The notices are group notices whose
// Key is the marker. A reminder marked but not delivered because the
// process stopped in between is not repeated.
func (d *Desk) Reminders(ctx context.Context, now time.Time, before time.Duration) ([]Notice, error) {
	ts, err := d.Store.Tickets(ctx, TicketFilter{Statuses: ownStatuses})
	if err != nil {
		return nil, fmt.Errorf("reminders: %w", err)
	}
	// Oldest first, so that the most pressing reminders are sent first.
	slices.Reverse(ts)
	var out []Notice
	for _, t := range ts {
		type deadlineOf struct {
			due         time.Time
			kind        string
			soon, overd NoticeKind
		}
		var checks []deadlineOf
		if t.FirstResponse.IsZero() {
			checks = append(checks, deadlineOf{t.FirstResponseDue, "response", NoticeResponseDueSoon, NoticeResponseOverdue})
		}
		checks = append(checks, deadlineOf{t.ResolutionDue, "resolution", NoticeResolutionDueSoon, NoticeResolutionOverdue})
		for _, c := range checks {
			if c.due.IsZero() {
				continue
			}
			var kind NoticeKind
			var threshold string
			switch {
			case !c.due.After(now):
				kind, threshold = c.overd, "overdue"
			case before > 0 && d.Calendar.WorkingBetween(now, c.due) <= before:
				kind, threshold = c.soon, "soon"
			default:
				continue
			}
			key := "remind:" + t.Number + ":" + c.kind + ":" + threshold + ":" + strconv.FormatInt(c.due.Unix(), 10)
			fresh, err := d.Store.SetNX(ctx, key, []byte(now.UTC().Format(time.RFC3339)), reminderKeep)
			if err != nil {
				return out, fmt.Errorf("reminders: mark %s: %w", key, err)
			}
			if fresh {
				out = append(out, Notice{Kind: kind, Department: t.Department, Ticket: t.Number, Key: key})
			}
		}
	}
	return out, nil
}

// Digest is the morning summary of a department's tickets for one lead.
type Digest struct {
	// To is the lead; Department is the lead's department.
	To         UserID
	Department string
	// Day is the start (midnight, in the calendar's zone) of the working
	// day the digest opens.
	Day time.Time
	// Open counts the tickets not yet resolved or closed; Overdue those
	// waiting on the department past a deadline; DueToday those waiting on
	// the department whose next deadline falls later on Day.
	Open, Overdue, DueToday int
	// Since is the start of the previous working day. Created counts the
	// tickets created in [Since, Day); Resolved those the official
	// confirmed, and Closed those staff closed, in the same period.
	Since                     time.Time
	Created, Resolved, Closed int
	// Key is unique per lead and day: "digest:2006-01-02:LEAD".
	Key string
}

// Digests returns the daily digests due at now: one per lead (RoleLead with
// a department), on working days, from at after midnight (in the calendar's
// zone) until the end of office hours at 17:00. Each lead gets one digest a
// day even across replicas and restarts: it is marked with KV.SetNX under
// its Key. Outside that window, and once the day's digests are all marked,
// it returns none.
func (d *Desk) Digests(ctx context.Context, now time.Time, at time.Duration) ([]Digest, error) {
	local := now.In(d.Calendar.Location())
	day := midnight(local)
	if !d.Calendar.WorkingDay(local) || local.Before(day.Add(at)) || !local.Before(day.Add(digestUntil)) {
		return nil, nil
	}
	date := day.Format("2006-01-02")
	doneKey := "digest:" + date
	if _, err := d.Store.Value(ctx, doneKey); err == nil {
		return nil, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("digests: %w", err)
	}
	leads, err := d.Store.Officials(ctx, RoleLead, "")
	if err != nil {
		return nil, fmt.Errorf("digests: leads: %w", err)
	}
	since := day
	for i := 0; i < 31; i++ {
		since = midnight(since.Add(-time.Hour))
		if d.Calendar.WorkingDay(since) {
			break
		}
	}
	figures := map[string]Digest{}
	var out []Digest
	for _, o := range leads {
		if o.Department == "" {
			continue
		}
		if _, ok := d.Department(o.Department); !ok {
			continue
		}
		f, ok := figures[o.Department]
		if !ok {
			if f, err = d.digestOf(ctx, o.Department, now, day, since); err != nil {
				return out, fmt.Errorf("digests: %w", err)
			}
			figures[o.Department] = f
		}
		f.To = o.ID
		f.Key = doneKey + ":" + strconv.FormatInt(int64(o.ID), 10)
		fresh, err := d.Store.SetNX(ctx, f.Key, []byte(now.UTC().Format(time.RFC3339)), reminderKeep)
		if err != nil {
			return out, fmt.Errorf("digests: mark %s: %w", f.Key, err)
		}
		if fresh {
			out = append(out, f)
		}
	}
	if _, err := d.Store.SetNX(ctx, doneKey, []byte(now.UTC().Format(time.RFC3339)), reminderKeep); err != nil {
		return out, fmt.Errorf("digests: mark %s: %w", doneKey, err)
	}
	return out, nil
}

// digestOf computes a department's figures for the digest of day.
func (d *Desk) digestOf(ctx context.Context, dept string, now, day, since time.Time) (Digest, error) {
	g := Digest{Department: dept, Day: day, Since: since}
	ts, err := d.Store.Tickets(ctx, TicketFilter{Department: dept, Statuses: OpenStatuses()})
	if err != nil {
		return g, fmt.Errorf("open tickets of %s: %w", dept, err)
	}
	end := day.AddDate(0, 0, 1)
	for _, t := range ts {
		g.Open++
		if !slices.Contains(ownStatuses, t.Status) {
			continue
		}
		switch at := deadline(t).At; {
		case !at.After(now):
			g.Overdue++
		case at.Before(end):
			g.DueToday++
		}
	}
	created, err := d.Store.Tickets(ctx, TicketFilter{Department: dept, CreatedAfter: since, CreatedBefore: day})
	if err != nil {
		return g, fmt.Errorf("new tickets of %s: %w", dept, err)
	}
	g.Created = len(created)
	done, err := d.Store.Tickets(ctx, TicketFilter{Department: dept, Statuses: []Status{StatusResolved, StatusClosed}, ResolvedAfter: since, ResolvedBefore: day})
	if err != nil {
		return g, fmt.Errorf("finished tickets of %s: %w", dept, err)
	}
	for _, t := range done {
		if t.Status == StatusResolved {
			g.Resolved++
		} else {
			g.Closed++
		}
	}
	return g, nil
}
