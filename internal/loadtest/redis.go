package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Redis is a redis-server process that a load run or a crash test owns: on
// a free loopback port, in its own directory, with the append-only file on.
// Its methods are safe for concurrent use.
type Redis struct {
	Port int
	Dir  string // working directory: the AOF lives here
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// ErrNoRedis is returned by StartRedis when no redis-server is installed.
var ErrNoRedis = errors.New("redis-server not found on PATH")

// StartRedis runs redis-server in dir with AOF on and fsync after every
// write (appendfsync always), plus extra arguments, and waits until it
// answers PING. The caller must Stop it.
func StartRedis(ctx context.Context, dir string, extra ...string) (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoRedis
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	r := &Redis{Port: port, Dir: dir}
	r.args = append([]string{bin,
		"--port", strconv.Itoa(port),
		"--dir", dir,
		"--save", "",
		"--appendonly", "yes",
		"--appendfsync", "always",
		"--bind", "127.0.0.1",
		"--protected-mode", "yes",
	}, extra...)
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Addr is host:port.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port)) }

// URL is the store URL for database 0 with the given key prefix.
func (r *Redis) URL(prefix string) string {
	return fmt.Sprintf("redis://%s/0?prefix=%s", r.Addr(), prefix)
}

func (r *Redis) start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	logf, err := os.OpenFile(filepath.Join(r.Dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("redis log: %w", err)
	}
	cmd := exec.Command(r.args[0], r.args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	r.cmd, r.done, r.log = cmd, done, logf
	deadline := time.Now().Add(10 * time.Second)
	for {
		reply, err := r.command("PING")
		if err == nil && reply == "+PONG" {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server exited at start; see %s", logf.Name())
		case <-ctx.Done():
			cmd.Process.Kill()
			<-done
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server did not answer PING within 10s (last error %v)", err)
		}
	}
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
func (r *Redis) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.log.Close()
	r.cmd = nil
}

// Restart starts the server again on the same port and directory; the AOF
// brings back every acknowledged write.
func (r *Redis) Restart(ctx context.Context) error { return r.start(ctx) }

// Stop shuts the server down and waits for it, killing it after 5 s.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.command("SHUTDOWN NOSAVE")
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
	r.log.Close()
	r.cmd = nil
}

// PID is the server's process id, or 0 when it is not running.
func (r *Redis) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// command sends one inline command and returns the first line of the reply.
func (r *Redis) command(cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	line = strings.TrimSpace(line)
	if err != nil || !strings.HasPrefix(line, "$") {
		return line, err
	}
	// A bulk reply: its length, then the body.
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 || n > 1<<20 {
		return "", fmt.Errorf("%s: bad reply length %q", cmd, line)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return "", err
	}
	return string(body), nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Commands returns how many commands the server has processed since it
// started (INFO's total_commands_processed): a measure of the round trips a
// run cost, steadier than time on a busy machine.
func (r *Redis) Commands() (int64, error) {
	info, err := r.command("INFO stats")
	if err != nil {
		return 0, fmt.Errorf("INFO: %w", err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_commands_processed:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("INFO: no total_commands_processed")
}
