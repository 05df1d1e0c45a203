package caunoi

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Stats summarises the tickets created in a period.
type Stats struct {
	// Department is the department, or empty for all of them.
	Department string
	From, To   time.Time
	// Tickets is how many tickets were created in [From, To).
	Tickets  int
	ByStatus map[Status]int
	// Overdue counts the tickets still past a deadline now (see Desk.Overdue).
	Overdue int
	// Responded counts tickets with a first response; MedianFirstResponse is
	// the median working time to it.
	Responded           int
	MedianFirstResponse time.Duration
	// Resolved counts tickets confirmed resolved; MedianResolution is the
	// median working time from creation to confirmation.
	Resolved         int
	MedianResolution time.Duration
	// Rated counts rated tickets; MeanRating is their mean rating (0 if none).
	Rated      int
	MeanRating float64
}

// Stats returns the statistics of the tickets of department dept created in
// [from, to). Leads of dept and admins may ask; only admins may ask for all
// departments (dept empty). Others get ErrForbidden. A period that does not
// end after it starts is ErrInvalid.
func (d *Desk) Stats(ctx context.Context, actor UserID, dept string, from, to time.Time) (Stats, error) {
	p, err := d.person(ctx, actor)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	allowed := p.Has(RoleAdmin) || (dept != "" && p.Has(RoleLead) && p.Department == dept)
	if !allowed {
		return Stats{}, fmt.Errorf("stats of %q for user %d: %w", dept, actor, ErrForbidden)
	}
	if !to.After(from) {
		return Stats{}, fmt.Errorf("stats: period ends before it starts: %w", ErrInvalid)
	}
	ts, err := d.Store.Tickets(ctx, TicketFilter{Department: dept, CreatedAfter: from, CreatedBefore: to})
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	now := d.now()
	s := Stats{Department: dept, From: from, To: to, Tickets: len(ts), ByStatus: map[Status]int{}}
	var firsts, resolutions []time.Duration
	stars := 0
	for _, t := range ts {
		s.ByStatus[t.Status]++
		if slices.Contains(ownStatuses, t.Status) && !deadline(t).At.After(now) {
			s.Overdue++
		}
		if !t.FirstResponse.IsZero() {
			firsts = append(firsts, d.Calendar.WorkingBetween(t.Created, t.FirstResponse))
		}
		if t.Status == StatusResolved && !t.ResolvedAt.IsZero() {
			resolutions = append(resolutions, d.Calendar.WorkingBetween(t.Created, t.ResolvedAt))
		}
		if t.Rating > 0 {
			s.Rated++
			stars += t.Rating
		}
	}
	s.Responded, s.MedianFirstResponse = len(firsts), median(firsts)
	s.Resolved, s.MedianResolution = len(resolutions), median(resolutions)
	if s.Rated > 0 {
		s.MeanRating = float64(stars) / float64(s.Rated)
	}
	return s, nil
}

// median returns the median of ds (the lower middle for an even count), or
// zero for none. It sorts ds.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(len(ds)-1)/2]
}
