package issuer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger/reconcile"
)

// Journal is the simulator's record of what it decided: one JSON line (reconcile.Record) per
// request it answered or left unanswered and per reversal or advice it received, written with one
// write(2) on a file opened for appending before the answer is queued. A record therefore
// survives the simulator's own SIGKILL (it is in the kernel's page cache; a power loss is another
// matter, see Sync), and an answer that left the simulator always has its record. A simulator
// restarted on the same file appends to it; an incomplete last line left by a kill is cut off
// when the file is opened (its request was never answered).
type Journal struct {
	mu  sync.Mutex
	f   *os.File
	buf []byte
	// sync makes every append also fsync the file (survives a power loss; costs a disk flush).
	sync bool
}

// OpenJournal opens (creating it if needed) the journal at path for appending, after cutting off
// an incomplete last line. With sync, each record is flushed to the disk before its answer
// leaves. The file is locked: a second simulator on the same file is refused.
func OpenJournal(path string, sync bool) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if err := cutTornLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	return &Journal{f: f, sync: sync}, nil
}

// cutTornLine truncates f after its last newline: what follows it is a line a killed writer did
// not finish.
func cutTornLine(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	const chunk = 4096
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(end-chunk, 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			if keep := start + int64(i) + 1; keep != size {
				return f.Truncate(keep)
			}
			return nil
		}
		end = start
	}
	if size > 0 {
		return f.Truncate(0) // one line, torn
	}
	return nil
}

// Append writes one record as a line. An error means the record may not be in the file: the
// caller must not give an answer that depends on it.
func (j *Journal) Append(rec reconcile.Record) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf = append(append(j.buf[:0], line...), '\n')
	if _, err := j.f.Write(j.buf); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if j.sync {
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	return nil
}

// Close closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.f.Close()
}

// journaled reports whether a request of this MTI is recorded: authorizations, financial
// requests, advices and reversals, and their repeats (not network management).
func journaled(mti string) bool {
	switch iso8583.MTIClass(mti) {
	case iso8583.MTIAuthorization, iso8583.MTIFinancial, mtiAuthAdvice, iso8583.MTICompletion,
		iso8583.MTIReversal, iso8583.MTIReversalAdvice:
		return true
	}
	return false
}
