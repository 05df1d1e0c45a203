package storetest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the times in /proc/stat: Linux reports them in
// hundredths of a second on every architecture (USER_HZ).
const userHZ = 100

// stolen returns the time the hypervisor has kept this machine's virtual
// CPUs from running since boot, summed over the CPUs, or false where it
// cannot tell (not Linux). A benchmark reports the difference over its
// run as steal-ms: on a shared host the slowest calls of a run come with
// it, and a p99 without it cannot be read.
func stolen() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	d, err := parseSteal(string(data))
	if err != nil {
		return 0, false
	}
	return d, true
}

// parseSteal reads the steal time from the text of /proc/stat: the eighth
// number of the line that starts with "cpu " (user, nice, system, idle,
// iowait, irq, softirq, steal).
func parseSteal(stat string) (time.Duration, error) {
	for line := range strings.Lines(stat) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "cpu" {
			continue
		}
		if len(fields) < 9 {
			return 0, fmt.Errorf("/proc/stat: the cpu line has %d numbers, want at least 8", len(fields)-1)
		}
		ticks, err := strconv.ParseInt(fields[8], 10, 64)
		if err != nil || ticks < 0 {
			return 0, fmt.Errorf("/proc/stat: steal %q is not a count of ticks", fields[8])
		}
		return time.Duration(ticks) * time.Second / userHZ, nil
	}
	return 0, fmt.Errorf("/proc/stat: no line for all CPUs")
}
