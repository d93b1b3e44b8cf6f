//go:build unix

package issuer

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on the journal for this process's lifetime: two simulators
// appending to one journal would interleave their records.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errors.New("in use by another process")
	}
	return err
}
