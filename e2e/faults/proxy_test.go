//go:build faults

package faults

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// proxy sits between the switch and one issuer simulator: each connection the switch opens is
// relayed to the issuer. Two faults: cut drops every connection in the middle of a message (the
// next chunk of each is relayed only in part, then both sides are closed), and stall holds the
// issuer's answers for a while and then delivers them (they arrive after the switch's timeout).
type proxy struct {
	ln       net.Listener
	upstream string
	wg       sync.WaitGroup
	stallEnd atomic.Int64 // unix nanoseconds until which answers are held
	mu       struct {
		sync.Mutex
		conns  map[*relay]struct{}
		closed bool
	}
}

// cutIdleAfter is how long a cut waits for a connection to carry data before closing it as it is.
const cutIdleAfter = 300 * time.Millisecond

// relay is one relayed connection.
type relay struct {
	down, up net.Conn // the switch's side, the issuer's side
	cut      atomic.Bool
	once     sync.Once
}

func (r *relay) close() {
	r.once.Do(func() {
		r.down.Close()
		r.up.Close()
	})
}

func newProxy(upstream string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, upstream: upstream}
	p.mu.conns = map[*relay]struct{}{}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.upstream, time.Second)
		if err != nil {
			down.Close() // the issuer is down: so is the link
			continue
		}
		r := &relay{down: down, up: up}
		p.mu.Lock()
		if p.mu.closed {
			p.mu.Unlock()
			r.close()
			return
		}
		p.mu.conns[r] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.pump(r, r.up, r.down, false) })
		p.wg.Go(func() { p.pump(r, r.down, r.up, true) })
	}
}

// pump copies src to dst until either side fails; answers (toSwitch) wait out a stall.
func (p *proxy) pump(r *relay, dst, src net.Conn, toSwitch bool) {
	defer func() {
		r.close()
		p.mu.Lock()
		delete(p.mu.conns, r)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if toSwitch {
				p.waitStall(r)
			}
			chunk := buf[:n]
			if r.cut.Load() {
				dst.Write(chunk[:(n+1)/2]) // half a message, then nothing
				return
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitStall sleeps while a stall lasts (or until the relay is cut).
func (p *proxy) waitStall(r *relay) {
	for !r.cut.Load() {
		end := time.Unix(0, p.stallEnd.Load())
		d := time.Until(end)
		if d <= 0 {
			return
		}
		time.Sleep(min(d, 50*time.Millisecond))
	}
}

// cutAll drops every connection open now in the middle of its next chunk; one that carries
// nothing within cutIdleAfter is closed as it is. New connections are not affected.
func (p *proxy) cutAll() {
	p.mu.Lock()
	rs := make([]*relay, 0, len(p.mu.conns))
	for r := range p.mu.conns {
		r.cut.Store(true)
		rs = append(rs, r)
	}
	p.mu.Unlock()
	time.AfterFunc(cutIdleAfter, func() {
		for _, r := range rs {
			r.close()
		}
	})
}

// stall holds the issuer's answers for d from now.
func (p *proxy) stall(d time.Duration) { p.stallEnd.Store(time.Now().Add(d).UnixNano()) }

// close stops accepting, closes every connection and waits for the relays.
func (p *proxy) close() error {
	err := p.ln.Close()
	p.mu.Lock()
	p.mu.closed = true
	for r := range p.mu.conns {
		r.close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
