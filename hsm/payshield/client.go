package payshield

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/hsm"
)

// Client defaults.
const (
	// DefaultClientConns is the connection pool size: commands take microseconds at the HSM, so
	// a few connections carry thousands of commands a second.
	DefaultClientConns = 4
	// DefaultRequestTimeout bounds one command when the caller's context has no earlier
	// deadline; a payShield answers in milliseconds.
	DefaultRequestTimeout = 2 * time.Second
	// DefaultDialTimeout bounds connecting to the HSM.
	DefaultDialTimeout = 2 * time.Second
	// DefaultRedialInterval is the least time between two connection attempts on one slot, so
	// that a down HSM is not hammered.
	DefaultRedialInterval = 500 * time.Millisecond
)

// ClientConfig configures a Client. Zero fields take their defaults.
type ClientConfig struct {
	Addr               string        // host:port of the payShield or `cardswitch hsm`
	HeaderLen          int           // message header length in characters (default 4, at least 2)
	Conns              int           // connections in the pool (default 4)
	InFlightPerConnMax int           // commands outstanding per connection (default 32)
	MessageSizeMax     int           // largest request after the length prefix (default 32 KiB)
	RequestTimeout     time.Duration // per command (default 2s)
	DialTimeout        time.Duration // per connection attempt (default 2s)
	RedialInterval     time.Duration // least time between attempts on one connection (default 500ms)
}

func (c ClientConfig) withDefaults() (ClientConfig, error) {
	if c.Addr == "" {
		return c, errors.New("HSM address is empty")
	}
	setDefault(&c.HeaderLen, DefaultHeaderLen)
	if c.HeaderLen < 2 || c.HeaderLen > 9 {
		return c, fmt.Errorf("header length %d: the client needs 2 to 9 characters to match responses", c.HeaderLen)
	}
	setDefault(&c.Conns, DefaultClientConns)
	setDefault(&c.InFlightPerConnMax, DefaultInFlightPerConnMax)
	if c.InFlightPerConnMax >= pow10(c.HeaderLen) {
		return c, fmt.Errorf("in-flight limit %d: the %d-digit header numbers fewer requests", c.InFlightPerConnMax, c.HeaderLen)
	}
	setDefault(&c.MessageSizeMax, DefaultMessageSizeMax)
	if c.MessageSizeMax > 0xFFFF {
		return c, fmt.Errorf("message size max %d: at most 65535", c.MessageSizeMax)
	}
	setDefault(&c.RequestTimeout, DefaultRequestTimeout)
	setDefault(&c.DialTimeout, DefaultDialTimeout)
	setDefault(&c.RedialInterval, DefaultRedialInterval)
	return c, nil
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// Client is an hsm.HSM that sends payShield host commands over a bounded pool of TCP
// connections. Responses are matched to requests by header, so each connection carries many
// commands at once. A broken connection fails its outstanding commands with hsm.ErrUnavailable
// and is redialled by the next command that picks it. Safe for concurrent use.
type Client struct {
	cfg   ClientConfig
	log   *zap.Logger
	slots []*clientConn
	mu    sync.Mutex // guards next
	next  int
}

// NewClient returns a client; it connects lazily, on each connection's first command.
func NewClient(cfg ClientConfig, log *zap.Logger) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, log: log}
	for range cfg.Conns {
		c.slots = append(c.slots, &clientConn{cfg: &c.cfg, log: log, sem: make(chan struct{}, cfg.InFlightPerConnMax)})
	}
	return c, nil
}

// Close closes every connection and waits for their readers to stop. Outstanding commands fail
// with hsm.ErrUnavailable.
func (c *Client) Close() error {
	for _, s := range c.slots {
		s.close()
	}
	return nil
}

func (c *Client) pick() *clientConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slots[c.next]
	c.next = (c.next + 1) % len(c.slots)
	return s
}

// do sends one command and returns the error code and the response fields.
func (c *Client) do(ctx context.Context, cmd string, fields []byte) (string, []byte, error) {
	if len(fields)+c.cfg.HeaderLen+commandCodeLen > c.cfg.MessageSizeMax {
		return "", nil, fmt.Errorf("%s: %w: message too long", cmd, hsm.ErrInvalidInput)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	resp, err := c.pick().roundTrip(ctx, cmd, fields)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", cmd, err)
	}
	want := responseCode(cmd)
	if len(resp) < commandCodeLen+errorCodeLen || string(resp[:commandCodeLen]) != want {
		return "", nil, fmt.Errorf("%s: %w: unexpected response code", cmd, hsm.ErrHSM)
	}
	return string(resp[2:4]), resp[4:], nil
}

// clientConn is one pooled connection.
type clientConn struct {
	cfg *ClientConfig
	log *zap.Logger
	sem chan struct{} // bounds commands outstanding on this connection

	mu struct {
		sync.Mutex
		conn       net.Conn
		pending    map[string]chan []byte // header → where its response goes
		seq        int
		lastDial   time.Time
		readerDone chan struct{}
		closed     bool
	}
	writeMu sync.Mutex // serialises writes of whole frames
}

// roundTrip sends one command on this connection and waits for its response (without header).
func (cc *clientConn) roundTrip(ctx context.Context, cmd string, fields []byte) ([]byte, error) {
	select {
	case cc.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", hsm.ErrUnavailable, ctx.Err())
	}
	defer func() { <-cc.sem }()
	conn, header, ch, err := cc.register(ctx)
	if err != nil {
		return nil, err
	}
	defer cc.unregister(header)
	frame := make([]byte, lengthPrefixLength, lengthPrefixLength+len(header)+commandCodeLen+len(fields))
	frame = append(frame, header...)
	frame = append(frame, cmd...)
	frame = append(frame, fields...)
	binary.BigEndian.PutUint16(frame, uint16(len(frame)-lengthPrefixLength))
	cc.writeMu.Lock()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetWriteDeadline(dl)
	}
	_, err = conn.Write(frame)
	cc.writeMu.Unlock()
	if err != nil {
		cc.fail(conn)
		return nil, fmt.Errorf("%w: write: %w", hsm.ErrUnavailable, err)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%w: connection lost", hsm.ErrUnavailable)
		}
		return resp, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", hsm.ErrUnavailable, ctx.Err())
	}
}

// register returns the live connection (dialling when needed), a free header and the channel
// its response will arrive on.
func (cc *clientConn) register(ctx context.Context) (net.Conn, string, chan []byte, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.mu.closed {
		return nil, "", nil, fmt.Errorf("%w: client closed", hsm.ErrUnavailable)
	}
	if cc.mu.conn == nil {
		if err := cc.dialLocked(ctx); err != nil {
			return nil, "", nil, err
		}
	}
	space := pow10(cc.cfg.HeaderLen)
	for {
		cc.mu.seq = (cc.mu.seq + 1) % space
		h := fmt.Sprintf("%0*d", cc.cfg.HeaderLen, cc.mu.seq)
		if _, busy := cc.mu.pending[h]; !busy {
			ch := make(chan []byte, 1)
			cc.mu.pending[h] = ch
			return cc.mu.conn, h, ch, nil
		}
	}
}

func (cc *clientConn) unregister(header string) {
	cc.mu.Lock()
	delete(cc.mu.pending, header)
	cc.mu.Unlock()
}

// dialLocked connects and starts the reader. Called with cc.mu held.
func (cc *clientConn) dialLocked(ctx context.Context) error {
	if wait := cc.cfg.RedialInterval - time.Since(cc.mu.lastDial); wait > 0 {
		return fmt.Errorf("%w: reconnecting (next attempt in %s)", hsm.ErrUnavailable, wait.Round(time.Millisecond))
	}
	cc.mu.lastDial = time.Now()
	d := net.Dialer{Timeout: cc.cfg.DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", cc.cfg.Addr)
	if err != nil {
		return fmt.Errorf("%w: dial: %w", hsm.ErrUnavailable, err)
	}
	cc.mu.conn = conn
	cc.mu.pending = map[string]chan []byte{}
	done := make(chan struct{})
	cc.mu.readerDone = done
	go func() {
		defer close(done)
		cc.readLoop(conn)
	}()
	return nil
}

// readLoop delivers responses by header until the connection fails.
func (cc *clientConn) readLoop(conn net.Conn) {
	br := bufio.NewReaderSize(conn, 4096)
	var lenBuf [2]byte
	for {
		if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
			break
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		msg := make([]byte, n)
		if _, err := io.ReadFull(br, msg); err != nil {
			break
		}
		if n < cc.cfg.HeaderLen {
			continue
		}
		cc.mu.Lock()
		ch, ok := cc.mu.pending[string(msg[:cc.cfg.HeaderLen])]
		if ok {
			delete(cc.mu.pending, string(msg[:cc.cfg.HeaderLen]))
		}
		cc.mu.Unlock()
		if ok {
			ch <- msg[cc.cfg.HeaderLen:]
		}
	}
	cc.fail(conn)
}

// fail drops conn (if it is still the live one) and fails its outstanding commands.
func (cc *clientConn) fail(conn net.Conn) {
	conn.Close()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.mu.conn != conn {
		return
	}
	for h, ch := range cc.mu.pending {
		close(ch)
		delete(cc.mu.pending, h)
	}
	cc.mu.conn = nil
}

func (cc *clientConn) close() {
	cc.mu.Lock()
	cc.mu.closed = true
	conn, done := cc.mu.conn, cc.mu.readerDone
	cc.mu.Unlock()
	if conn != nil {
		cc.fail(conn)
	}
	if done != nil {
		<-done
	}
}

// codeError maps a payShield error code to the hsm sentinel; mismatch is the sentinel for the
// operation's verification failure (01).
func codeError(cmd, code string, mismatch error) error {
	var err error
	switch code {
	case codeOK:
		return nil
	case codeVerifyFailed:
		err = mismatch
	case codeKeyParity1, codeKeyParity2, codeKeyParity3:
		idx, _ := strconv.Atoi(code)
		return fmt.Errorf("%s: %w", cmd, &hsm.FieldError{Field: "key", Index: idx - 10, Err: hsm.ErrKeyParity})
	case codePINBlock, codePINLength:
		err = hsm.ErrPINBlock
	case codePINFormat:
		err = hsm.ErrPINFormat
	case codeInput:
		err = hsm.ErrInvalidInput
	case codeKeyLength:
		err = hsm.ErrKeyLength
	case codeKeyType, codeMACKeyType:
		err = hsm.ErrKeyType
	default:
		return fmt.Errorf("%s: %w: error code %s", cmd, hsm.ErrHSM, code)
	}
	return fmt.Errorf("%s: %w", cmd, err)
}
