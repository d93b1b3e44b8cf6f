package load

import (
	"bufio"
	"io"
	"sync"
)

// ledgerLogBuffer is the ledger log's buffer: it is flushed every progress interval, so it only
// needs to hold a second of approvals at moderate rates; larger bursts are written through.
const ledgerLogBuffer = 256 << 10

// lineWriter is the ledger log: lines from every connection's reader, written whole and in the
// order they were decided on each connection. The first write error sticks and is reported.
type lineWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

func newLineWriter(w io.Writer) *lineWriter {
	return &lineWriter{w: bufio.NewWriterSize(w, ledgerLogBuffer)}
}

func (l *lineWriter) write(line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		_, l.err = l.w.Write(line)
	}
}

func (l *lineWriter) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = l.w.Flush()
	}
	return l.err
}
