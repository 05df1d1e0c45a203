//go:build linux

package loadtest

import (
	"os"
	"testing"
	"time"
)

func TestCPUTimeOfSelf(t *testing.T) {
	// Burn some CPU so both readings are well above one clock tick.
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	proc, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self := SelfCPUTime()
	if proc < 100*time.Millisecond || self < 100*time.Millisecond {
		t.Fatalf("CPU time from /proc %v, from getrusage %v: want both ≥ 100ms after a busy loop (%d turns)", proc, self, x)
	}
	if d := self - proc; d < -50*time.Millisecond || d > 200*time.Millisecond {
		t.Errorf("/proc says %v, getrusage %v: more apart than the clock tick allows", proc, self)
	}
	if _, err := CPUTime(-1); err == nil {
		t.Error("CPU time of pid -1: no error")
	}
}
