// Package redistest runs a real redis-server for tests: on a free port, in
// a temporary directory, with the append-only file on and synced once a
// second (appendfsync everysec), as docker-compose.yml runs Redis in
// production. Benchmarks therefore measure the production setting.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startDeadline bounds how long Start waits for the server to answer PING.
const startDeadline = 10 * time.Second

// Server is a redis-server process owned by a test.
type Server struct {
	Port int
	Dir  string // the server's working directory: AOF and RDB files
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed when the process has exited
}

// Start runs redis-server for tb and stops it when tb ends. extra arguments
// are appended to the defaults and override them (for example
// "--appendfsync", "always").
// Without a redis-server on PATH it skips tb, loudly.
func Start(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server not found: SKIPPING ALL REDIS TESTS; install it with apt-get install -y redis-server")
	}
	port, err := freePort()
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	s := &Server{Port: port, Dir: tb.TempDir()}
	s.args = append([]string{bin,
		"--port", strconv.Itoa(port),
		"--dir", s.Dir,
		"--save", "",
		"--appendonly", "yes",
		"--appendfsync", "everysec",
		"--bind", "127.0.0.1",
		"--protected-mode", "yes",
	}, extra...)
	s.start(tb)
	tb.Cleanup(func() { s.Stop(tb) })
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// URL is a redis:// URL for database db.
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr(), db) }

func (s *Server) start(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &lockedBuffer{}
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.cmd, s.out, s.done = cmd, out, done

	end := time.Now().Add(startDeadline)
	for {
		reply, err := s.command("PING")
		if err == nil && reply == "+PONG" {
			return
		}
		select {
		case <-done:
			tb.Fatalf("redis-server exited at start:\n%s", out.String())
		default:
		}
		if time.Now().After(end) {
			cmd.Process.Kill()
			<-done
			tb.Fatalf("redis-server did not answer PING within %s (last error %v):\n%s", startDeadline, err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop asks the server to shut down without saving a snapshot (the AOF is
// kept) and waits for it to exit, killing it if it does not.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.command("SHUTDOWN NOSAVE")
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Kill ends the server abruptly, as a crash would, and waits for it.
func (s *Server) Kill(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts the server again on the same port and directory, after
// Stop or Kill.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.start(tb)
}

// Log returns what the server printed.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

// command sends one inline command and returns the first reply line.
func (s *Server) command(cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
