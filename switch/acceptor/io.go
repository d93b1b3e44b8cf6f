package acceptor

import (
	"bufio"
	"errors"
	"io"
)

func readFull(r *bufio.Reader, b []byte) (int, error) { return io.ReadFull(r, b) }

func isEOF(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) }
