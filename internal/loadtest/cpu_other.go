//go:build !linux

package loadtest

import (
	"errors"
	"time"
)

// CPUTime needs /proc, which only Linux has.
func CPUTime(pid int) (time.Duration, error) {
	return 0, errors.New("CPU time of another process is read only on Linux")
}

// SelfCPUTime is not measured here.
func SelfCPUTime() time.Duration { return 0 }
