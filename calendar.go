package caunoi

import (
	"fmt"
	"sort"
	"time"
)

// Vietnam observes no daylight saving time; its offset is UTC+7 all year.
const vietnamOffset = 7 * 60 * 60

// VietnamZone returns the Asia/Ho_Chi_Minh location. When the system has no
// time zone database it returns a fixed UTC+7 zone with the same name, which
// gives identical results because the zone has no daylight saving time.
func VietnamZone() *time.Location {
	if loc, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return loc
	}
	return time.FixedZone("Asia/Ho_Chi_Minh", vietnamOffset)
}

// shift is one working period of a day, as minutes after midnight, [start, end).
type shift struct{ start, end int }

// workingShifts are the office hours of a working day: 07:30–11:30 and
// 13:30–17:00, seven and a half hours in all.
var workingShifts = []shift{{7*60 + 30, 11*60 + 30}, {13*60 + 30, 17 * 60}}

// civilDate is a calendar day without a time or zone.
type civilDate struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

// Calendar is the working calendar of the provincial departments: Monday to
// Friday, 07:30–11:30 and 13:30–17:00 in Asia/Ho_Chi_Minh, except holidays,
// plus make-up working days (a Saturday worked in exchange for a bridge
// holiday). A nil *Calendar behaves as a calendar with no holidays.
// A Calendar is immutable and safe for concurrent use.
type Calendar struct {
	loc      *time.Location
	holidays map[civilDate]bool
	makeUp   map[civilDate]bool
}

// NewCalendar returns a calendar with the given holidays and make-up working
// days, each written as "2006-01-02". It returns an error wrapping ErrInvalid
// that names the first date it cannot read, or a date listed as both.
func NewCalendar(holidays, makeUpDays []string) (*Calendar, error) {
	c := &Calendar{loc: VietnamZone(), holidays: map[civilDate]bool{}, makeUp: map[civilDate]bool{}}
	for _, s := range holidays {
		d, err := parseCivilDate(s)
		if err != nil {
			return nil, fmt.Errorf("ngày nghỉ lễ %q (holiday): %w", s, err)
		}
		c.holidays[d] = true
	}
	for _, s := range makeUpDays {
		d, err := parseCivilDate(s)
		if err != nil {
			return nil, fmt.Errorf("ngày làm bù %q (make-up day): %w", s, err)
		}
		if c.holidays[d] {
			return nil, fmt.Errorf("ngày %s vừa là ngày nghỉ vừa là ngày làm bù (both holiday and make-up day): %w", s, ErrInvalid)
		}
		c.makeUp[d] = true
	}
	return c, nil
}

func parseCivilDate(s string) (civilDate, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return civilDate{}, fmt.Errorf("cần dạng YYYY-MM-DD: %w", ErrInvalid)
	}
	return dateOf(t), nil
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location {
	if c == nil || c.loc == nil {
		return defaultZone
	}
	return c.loc
}

var defaultZone = VietnamZone()

// Holidays returns the holidays in order, as "2006-01-02".
func (c *Calendar) Holidays() []string {
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.holidays))
	for d := range c.holidays {
		out = append(out, fmt.Sprintf("%04d-%02d-%02d", d.year, d.month, d.day))
	}
	sort.Strings(out)
	return out
}

// WorkingDay reports whether the day containing t (in the calendar's zone)
// is a working day.
func (c *Calendar) WorkingDay(t time.Time) bool {
	t = t.In(c.Location())
	d := dateOf(t)
	if c != nil {
		if c.makeUp[d] {
			return true
		}
		if c.holidays[d] {
			return false
		}
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// maxScanDays bounds the search for working time, so that a calendar made
// only of holidays cannot loop for ever. Ten years is far beyond any policy.
const maxScanDays = 3660

// AddWorkingHours returns the instant at which d of working time has passed
// after start. A start outside working hours counts from the next opening.
// When the last working minute ends a period, the result is the period's
// end (11:30 or 17:00), not the next opening. A d ≤ 0 returns start. The
// result is in the calendar's zone.
func (c *Calendar) AddWorkingHours(start time.Time, d time.Duration) time.Time {
	loc := c.Location()
	t := start.In(loc)
	if d <= 0 {
		return t
	}
	remaining := d
	day := midnight(t)
	for i := 0; i < maxScanDays; i++ {
		if c.WorkingDay(day) {
			for _, s := range workingShifts {
				open := day.Add(time.Duration(s.start) * time.Minute)
				end := day.Add(time.Duration(s.end) * time.Minute)
				if !t.Before(end) {
					continue
				}
				from := t
				if from.Before(open) {
					from = open
				}
				avail := end.Sub(from)
				if remaining <= avail {
					return from.Add(remaining)
				}
				remaining -= avail
				t = end
			}
		}
		day = nextMidnight(day)
		if t.Before(day) {
			t = day
		}
	}
	return t
}

// WorkingBetween returns the working time in [a, b). It is zero when b is not
// after a.
func (c *Calendar) WorkingBetween(a, b time.Time) time.Duration {
	loc := c.Location()
	a, b = a.In(loc), b.In(loc)
	if !b.After(a) {
		return 0
	}
	var total time.Duration
	for day := midnight(a); day.Before(b); day = nextMidnight(day) {
		if !c.WorkingDay(day) {
			continue
		}
		for _, s := range workingShifts {
			open := day.Add(time.Duration(s.start) * time.Minute)
			end := day.Add(time.Duration(s.end) * time.Minute)
			if open.Before(a) {
				open = a
			}
			if end.After(b) {
				end = b
			}
			if end.After(open) {
				total += end.Sub(open)
			}
		}
	}
	return total
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func nextMidnight(day time.Time) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, day.Location())
}

// Policy is a department's service level, in working time.
type Policy struct {
	// FirstResponse is how long staff have to first act on a new ticket.
	FirstResponse time.Duration
	// Resolution is how long they have to answer it.
	Resolution time.Duration
}

// DefaultPolicy applies to departments without a policy of their own: four
// working hours to first respond and sixteen to resolve.
var DefaultPolicy = Policy{FirstResponse: 4 * time.Hour, Resolution: 16 * time.Hour}
