//go:build faults

package faults

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// proc is one cardswitch subcommand that a schedule may kill and start again: each start appends
// its output to the same log file.
type proc struct {
	name string
	args []string
	env  []string
	log  string // file the output goes to

	mu struct {
		sync.Mutex
		cmd  *exec.Cmd
		done chan struct{} // closed when the current process has exited
	}
}

func newProc(name, log string, env []string, args ...string) *proc {
	return &proc{name: name, args: args, env: env, log: log}
}

// start runs the process unless it is running.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return nil
	}
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "=== %s start %s\n", time.Now().UTC().Format(time.RFC3339Nano), p.name)
	cmd := exec.Command(binary, p.args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), p.env...)
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		out.Close()
		close(done)
	}()
	p.mu.cmd, p.mu.done = cmd, done
	return nil
}

func (p *proc) runningLocked() bool {
	if p.mu.done == nil {
		return false
	}
	select {
	case <-p.mu.done:
		return false
	default:
		return true
	}
}

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runningLocked()
}

// kill sends SIGKILL and waits for the exit (bounded).
func (p *proc) kill() error { return p.signal(syscall.SIGKILL, 10*time.Second) }

// stop sends SIGTERM and waits for the exit; past the timeout it kills.
func (p *proc) stop(timeout time.Duration) error {
	err := p.signal(syscall.SIGTERM, timeout)
	if err != nil {
		p.kill()
	}
	return err
}

func (p *proc) signal(sig syscall.Signal, timeout time.Duration) error {
	p.mu.Lock()
	cmd, done := p.mu.cmd, p.mu.done
	running := p.runningLocked()
	p.mu.Unlock()
	if !running {
		return nil
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s did not exit within %v of %v", p.name, timeout, sig)
	}
}

// pause stops the process (SIGSTOP) without waiting; resume continues it (SIGCONT).
func (p *proc) pause() error  { return p.send(syscall.SIGSTOP) }
func (p *proc) resume() error { return p.send(syscall.SIGCONT) }

func (p *proc) send(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.runningLocked() {
		return nil
	}
	return p.mu.cmd.Process.Signal(sig)
}

// exitCode waits for the process to exit (bounded) and returns its exit status.
func (p *proc) wait(timeout time.Duration) (int, error) {
	p.mu.Lock()
	cmd, done := p.mu.cmd, p.mu.done
	p.mu.Unlock()
	if done == nil {
		return 0, errors.New(p.name + " never started")
	}
	select {
	case <-done:
		return cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		return -1, fmt.Errorf("%s still running after %v", p.name, timeout)
	}
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitTCP polls until addr accepts connections, up to timeout.
func waitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %v", addr, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
