package storetest

import (
	"testing"
	"time"
)

func TestParseSteal(t *testing.T) {
	const stat = "cpu  2255 34 2290 22625563 6290 127 456 1530 0 0\n" +
		"cpu0 1132 34 1441 11311059 6236 101 248 760 0 0\n" +
		"intr 114930548 113199788 3 0 5 263 0 4\n"
	got, err := parseSteal(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 15300 * time.Millisecond; got != want {
		t.Errorf("parseSteal = %v, want %v (1530 ticks of 10 ms)", got, want)
	}
	for _, bad := range []string{
		"",
		"cpu0 1 2 3 4 5 6 7 8\n",
		"cpu  1 2 3 4 5 6 7\n",
		"cpu  1 2 3 4 5 6 7 x 0\n",
		"cpu  1 2 3 4 5 6 7 -3 0\n",
	} {
		if d, err := parseSteal(bad); err == nil {
			t.Errorf("parseSteal(%q) = %v, want an error", bad, d)
		}
	}
}
