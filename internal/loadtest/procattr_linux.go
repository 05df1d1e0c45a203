package loadtest

import "syscall"

// childAttr makes a child process die with the process that started it,
// so that a harness killed halfway leaves no serve or redis-server behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
