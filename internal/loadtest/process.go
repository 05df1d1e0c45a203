package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Serve is one `caunoi serve` process. Start, Kill and Stop may be called
// again and again on one Serve: each Start runs a new process with the same
// command, environment and log file. Safe for concurrent use.
type Serve struct {
	Bin   string   // the caunoi binary (or a test binary that acts as one)
	Args  []string // arguments, starting with "serve"
	Env   []string // KEY=VALUE pairs added to the current environment
	Admin string   // ADMIN_LISTEN address, for /healthz and /readyz
	Log   string   // file that receives the process's stderr and stdout

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	err    error // exit status of the last process
	starts int
}

// Start runs the process and waits until /healthz answers. It fails if the
// process exits first.
func (s *Serve) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return errors.New("serve is already running")
	}
	logf, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("serve log: %w", err)
	}
	cmd := exec.Command(s.Bin, s.Args...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.mu.Unlock()
		return fmt.Errorf("start %s: %w", s.Bin, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		logf.Close()
		s.mu.Lock()
		s.err = err
		if s.cmd == cmd {
			s.cmd = nil
		}
		s.mu.Unlock()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	s.starts++
	s.mu.Unlock()

	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: time.Second}
	for {
		if resp, err := client.Get("http://" + s.Admin + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			return fmt.Errorf("caunoi serve exited at start (%v); last lines of %s:\n%s", s.ExitErr(), s.Log, Tail(s.Log, 15))
		case <-ctx.Done():
			s.Kill()
			return ctx.Err()
		case <-deadline.C:
			s.Kill()
			return fmt.Errorf("caunoi serve did not answer /healthz within 60s; last lines of %s:\n%s", s.Log, Tail(s.Log, 15))
		case <-tick.C:
		}
	}
}

// Starts counts how many processes Start has run.
func (s *Serve) Starts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

// PID is the running process's id, or 0.
func (s *Serve) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Done is closed when the latest process exits; nil before the first Start.
func (s *Serve) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// ExitErr is how the last process ended (nil for status 0).
func (s *Serve) ExitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Kill sends SIGKILL and waits for the process to die.
func (s *Serve) Kill() { s.signal(syscall.SIGKILL, 0) }

// Stop sends SIGTERM, which drains in-flight work, and waits up to 30 s
// before it kills the process.
func (s *Serve) Stop() { s.signal(syscall.SIGTERM, 30*time.Second) }

func (s *Serve) signal(sig syscall.Signal, grace time.Duration) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-done:
		case <-time.After(grace):
			cmd.Process.Kill()
		}
	}
	<-done
}

// Ready asks /readyz; it reports true only for a 200 answer.
func (s *Serve) Ready(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Admin+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// RSS reads the resident set size of process pid, in bytes, from
// /proc/PID/status (VmRSS).
func RSS(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read status of process %d: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				break
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// Tail returns the last n lines of a file, for error messages.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Grep returns up to n lines of a file that contain any of words, for
// error messages.
func Grep(path string, words ...any) string {
	n := 40
	var ws []string
	for _, w := range words {
		switch v := w.(type) {
		case string:
			ws = append(ws, v)
		case int:
			n = v
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		for _, w := range ws {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	if len(out) > n {
		out = append(out[:n/2], append([]string{"…"}, out[len(out)-n/2:]...)...)
	}
	return strings.Join(out, "\n")
}
