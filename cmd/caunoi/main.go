// Command caunoi runs and administers Cầu Nối, the support desk that connects
// commune and ward officials with the provincial departments.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(m.Stderr, "caunoi:", err)
		}
		os.Exit(exitCode(err))
	}
}

// Main is the program, as a value so that tests can run it end to end.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment; tests replace it.
	Getenv func(string) string
}

// NewMain returns a Main wired to the process's standard streams.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// command is one subcommand. run receives the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, m *Main, args []string) error
}

// commands is filled by each subcommand's file, so that each lives on its own.
var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, m *Main, args []string) error) {
	if _, dup := commands[name]; dup {
		panic("caunoi: command registered twice: " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

// errUsage reports bad arguments; the message was already printed.
var errUsage = errors.New("usage")

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// Run executes the subcommand named by args[0].
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		m.usage(m.Stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(m.Stderr, "caunoi: không có lệnh %q (unknown command)\n\n", args[0])
		m.usage(m.Stderr)
		return errUsage
	}
	return c.run(ctx, m, args[1:])
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "Cầu Nối: bàn hỗ trợ nghiệp vụ cho cán bộ xã, phường.")
	fmt.Fprintln(w, "\nCách dùng: caunoi LỆNH [tham số]\n\nCác lệnh:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nXem hướng dẫn từng lệnh: caunoi LỆNH --help")
}

// trimArgs drops empty arguments that shells can pass through.
func trimArgs(args []string) []string {
	out := args[:0:0]
	for _, a := range args {
		if strings.TrimSpace(a) != "" {
			out = append(out, a)
		}
	}
	return out
}
