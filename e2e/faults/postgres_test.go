//go:build faults

package faults

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// cluster is a PostgreSQL cluster of a schedule's own: a copy of a template made by initdb once
// per run, on a free port, restarted by the schedule and removed after it. When the suite runs as
// root the server runs as the postgres user (it refuses to run as root).
type cluster struct {
	bin  string
	dir  string // owned by the server's user: data directory, socket, log
	port int
}

// pgTimeout bounds every pg_ctl start, restart and stop.
const pgTimeout = 60 * time.Second

var template struct {
	once sync.Once
	dir  string
	err  error
}

// pgBin is the directory of the PostgreSQL binaries: FAULTS_PG_BIN, or the newest under
// /usr/lib/postgresql.
func pgBin() (string, error) {
	if d := os.Getenv("FAULTS_PG_BIN"); d != "" {
		return d, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", errors.New("no initdb under /usr/lib/postgresql/*/bin (set FAULTS_PG_BIN)")
	}
	sort.Slice(found, func(i, j int) bool { return version(found[i]) < version(found[j]) })
	return filepath.Dir(found[len(found)-1]), nil
}

func version(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// asServerUser runs a PostgreSQL program as the postgres user when the suite is root.
func asServerUser(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

// serverOwned makes dir belong to the server's user.
func serverOwned(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	out, err := exec.Command("chown", "-R", "postgres:", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("chown %s: %v: %s", dir, err, out)
	}
	return nil
}

func makeTemplate() (string, error) {
	template.once.Do(func() {
		bin, err := pgBin()
		if err != nil {
			template.err = err
			return
		}
		dir, err := os.MkdirTemp("", "faults-pgtemplate-")
		if err == nil {
			err = serverOwned(dir)
		}
		if err != nil {
			template.err = err
			return
		}
		template.dir = dir
		out, err := asServerUser(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-A", "trust",
			"-U", "postgres", "-E", "UTF8", "--no-sync").CombinedOutput()
		if err != nil {
			template.err = fmt.Errorf("initdb: %v: %s", err, out)
		}
	})
	return template.dir, template.err
}

func removeTemplates() {
	if template.dir != "" {
		os.RemoveAll(template.dir)
	}
}

// newCluster copies the template into dir/pg and starts it on a free port.
func newCluster(dir string) (*cluster, error) {
	tpl, err := makeTemplate()
	if err != nil {
		return nil, err
	}
	bin, _ := pgBin()
	c := &cluster{bin: bin, dir: filepath.Join(dir, "pg")}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, err
	}
	if out, err := exec.Command("cp", "-a", filepath.Join(tpl, "data"), c.dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copy the template cluster: %v: %s", err, out)
	}
	if err := serverOwned(c.dir); err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken before the server binds it
		addr, err := freePort()
		if err != nil {
			return nil, err
		}
		c.port, _ = strconv.Atoi(addr[len("127.0.0.1:"):])
		if err = c.ctl("start"); err == nil {
			return c, nil
		}
		if attempt == 2 {
			return nil, err
		}
	}
	return c, nil
}

// addr is the server's host:port.
func (c *cluster) addr() string { return fmt.Sprintf("127.0.0.1:%d", c.port) }

// URL is the cluster's connection string.
func (c *cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// ctl runs pg_ctl start (or restart with a shutdown mode: fast or immediate).
func (c *cluster) ctl(action string, mode ...string) error {
	args := []string{action, "-D", filepath.Join(c.dir, "data"), "-w", "-t", strconv.Itoa(int(pgTimeout / time.Second)),
		"-l", filepath.Join(c.dir, "server.log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", c.port, c.dir)}
	if len(mode) > 0 {
		args = append(args, "-m", mode[0])
	}
	out, err := asServerUser(filepath.Join(c.bin, "pg_ctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v: %s", action, err, out)
	}
	return nil
}

// restart stops the server (fast: a clean shutdown that ends every session; immediate: like a
// crash, with recovery at the start) and starts it again.
func (c *cluster) restart(mode string) error { return c.ctl("restart", mode) }

// stop shuts the server down at once (the schedule is over).
func (c *cluster) stop() error {
	out, err := asServerUser(filepath.Join(c.bin, "pg_ctl"), "stop", "-D", filepath.Join(c.dir, "data"), "-m", "immediate",
		"-w", "-t", strconv.Itoa(int(pgTimeout/time.Second))).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}
