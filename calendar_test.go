package caunoi_test

import (
	"errors"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

var hcm = caunoi.VietnamZone()

// at builds a time in Asia/Ho_Chi_Minh from "2006-01-02 15:04".
func at(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", s, hcm)
	if err != nil {
		tb.Fatalf("bad test time %q: %v", s, err)
	}
	return t
}

// MustCalendar returns a calendar with 2025's National Day holidays
// (Tuesday 2 September, with Monday 1 September) and a made-up Saturday.
func MustCalendar(tb testing.TB) *caunoi.Calendar {
	tb.Helper()
	c, err := caunoi.NewCalendar([]string{"2025-09-01", "2025-09-02"}, []string{"2025-08-30"})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestAddWorkingHours(t *testing.T) {
	cal := MustCalendar(t)
	// 2025-07-07 is a Monday.
	tests := []struct {
		name  string
		start string
		d     time.Duration
		want  string
	}{
		{"within morning", "2025-07-07 08:00", 2 * time.Hour, "2025-07-07 10:00"},
		{"ends exactly at lunch", "2025-07-07 09:30", 2 * time.Hour, "2025-07-07 11:30"},
		{"across lunch", "2025-07-07 10:30", 2 * time.Hour, "2025-07-07 14:30"},
		{"start during lunch", "2025-07-07 12:00", time.Hour, "2025-07-07 14:30"},
		{"start before opening", "2025-07-07 05:00", 30 * time.Minute, "2025-07-07 08:00"},
		{"start after closing", "2025-07-07 18:00", time.Hour, "2025-07-08 08:30"},
		{"into next day", "2025-07-07 16:00", 2 * time.Hour, "2025-07-08 08:30"},
		{"full day", "2025-07-07 07:30", 7*time.Hour + 30*time.Minute, "2025-07-07 17:00"},
		{"default first response", "2025-07-07 15:00", 4 * time.Hour, "2025-07-08 09:30"},
		{"friday over weekend", "2025-07-11 16:00", 2 * time.Hour, "2025-07-14 08:30"},
		{"start on saturday", "2025-07-12 09:00", time.Hour, "2025-07-14 08:30"},
		{"start on sunday night", "2025-07-13 23:59", time.Minute, "2025-07-14 07:31"},
		{"friday before holidays", "2025-08-29 16:00", 2 * time.Hour, "2025-08-30 08:30"},
		{"make-up saturday into holidays", "2025-08-30 16:00", 2 * time.Hour, "2025-09-03 08:30"},
		{"start on holiday", "2025-09-02 10:00", time.Hour, "2025-09-03 08:30"},
		{"default resolution", "2025-07-07 07:30", 16 * time.Hour, "2025-07-09 08:30"},
		{"zero", "2025-07-12 09:00", 0, "2025-07-12 09:00"},
		{"negative", "2025-07-07 09:00", -time.Hour, "2025-07-07 09:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cal.AddWorkingHours(at(t, tt.start), tt.d)
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("AddWorkingHours(%s, %v) = %s, want %s", tt.start, tt.d, got.Format("2006-01-02 15:04 Mon"), tt.want)
			}
		})
	}
}

func TestAddWorkingHoursUTCInput(t *testing.T) {
	// 01:00 UTC is 08:00 in Hanoi.
	start := time.Date(2025, 7, 7, 1, 0, 0, 0, time.UTC)
	got := MustCalendar(t).AddWorkingHours(start, time.Hour)
	if want := at(t, "2025-07-07 09:00"); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
	if got.Location().String() != "Asia/Ho_Chi_Minh" {
		t.Errorf("location = %s, want Asia/Ho_Chi_Minh", got.Location())
	}
}

func TestWorkingBetween(t *testing.T) {
	cal := MustCalendar(t)
	tests := []struct {
		name string
		a, b string
		want time.Duration
	}{
		{"same morning", "2025-07-07 08:00", "2025-07-07 10:00", 2 * time.Hour},
		{"across lunch", "2025-07-07 11:00", "2025-07-07 14:00", time.Hour},
		{"lunch only", "2025-07-07 11:30", "2025-07-07 13:30", 0},
		{"whole day", "2025-07-07 00:00", "2025-07-08 00:00", 7*time.Hour + 30*time.Minute},
		{"weekend only", "2025-07-12 00:00", "2025-07-14 00:00", 0},
		{"friday to monday", "2025-07-11 16:00", "2025-07-14 08:30", 2 * time.Hour},
		{"holidays skipped, make-up counted", "2025-08-29 16:00", "2025-09-03 08:30", 9*time.Hour + 30*time.Minute},
		{"reversed", "2025-07-07 10:00", "2025-07-07 08:00", 0},
		{"equal", "2025-07-07 10:00", "2025-07-07 10:00", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cal.WorkingBetween(at(t, tt.a), at(t, tt.b)); got != tt.want {
				t.Errorf("WorkingBetween(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// TestCalendarRoundTrip checks that the two functions agree: the working
// time between start and AddWorkingHours(start, d) is d.
func TestCalendarRoundTrip(t *testing.T) {
	cal := MustCalendar(t)
	start := at(t, "2025-08-25 06:10")
	for m := 0; m < 3*24*60; m += 37 {
		s := start.Add(time.Duration(m) * time.Minute)
		for _, d := range []time.Duration{time.Minute, 90 * time.Minute, 4 * time.Hour, 16 * time.Hour} {
			end := cal.AddWorkingHours(s, d)
			if got := cal.WorkingBetween(s, end); got != d {
				t.Fatalf("WorkingBetween(%s, AddWorkingHours(_, %v)=%s) = %v", s, d, end, got)
			}
		}
	}
}

func TestNilCalendar(t *testing.T) {
	var cal *caunoi.Calendar
	got := cal.AddWorkingHours(at(t, "2025-09-01 16:00"), 2*time.Hour)
	// Without holidays, Monday 1 September is a working day.
	if want := at(t, "2025-09-02 08:30"); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestNewCalendarInvalid(t *testing.T) {
	tests := []struct {
		name             string
		holidays, makeUp []string
	}{
		{"bad holiday", []string{"2025-13-01"}, nil},
		{"bad make-up", nil, []string{"30/08/2025"}},
		{"both", []string{"2025-08-30"}, []string{"2025-08-30"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := caunoi.NewCalendar(tt.holidays, tt.makeUp)
			if !errors.Is(err, caunoi.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestFixedZoneFallbackAgrees(t *testing.T) {
	fixed := time.FixedZone("Asia/Ho_Chi_Minh", 7*60*60)
	for _, s := range []string{"2025-01-01 00:00", "2025-06-30 23:00", "2025-12-31 12:00"} {
		a := at(t, s)
		b, _ := time.ParseInLocation("2006-01-02 15:04", s, fixed)
		if !a.Equal(b) {
			t.Errorf("%s: zone database and fixed zone disagree: %s vs %s", s, a, b)
		}
	}
}

func BenchmarkAddWorkingHours(b *testing.B) {
	cal := MustCalendar(b)
	start := at(b, "2025-08-29 16:00")
	for b.Loop() {
		cal.AddWorkingHours(start, 16*time.Hour)
	}
}

func BenchmarkWorkingBetween(b *testing.B) {
	cal := MustCalendar(b)
	a, c := at(b, "2025-08-01 10:00"), at(b, "2025-09-30 15:00")
	for b.Loop() {
		cal.WorkingBetween(a, c)
	}
}
