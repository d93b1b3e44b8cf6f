package acceptor

import "sync/atomic"

// workers runs request handlers on goroutines that are kept for the next request instead of one
// new goroutine per request: a handler's call chain (engine, issuer link, ledger) grows a fresh
// goroutine's stack several times, and that copying was 5% of the switch's CPU. The number of
// workers never exceeds the requests in flight (bounded by MaxInFlight), and at most maxIdle
// wait for work; the others exit when they finish.
type workers struct {
	tasks   chan func() // unbuffered: a send succeeds only when a worker is waiting
	idle    atomic.Int32
	maxIdle int32
	stop    chan struct{}
}

func newWorkers(maxIdle int) *workers {
	return &workers{tasks: make(chan func()), maxIdle: int32(maxIdle), stop: make(chan struct{})}
}

// run hands task to a waiting worker, or starts one.
func (w *workers) run(task func()) {
	select {
	case w.tasks <- task:
	default:
		go w.loop(task)
	}
}

func (w *workers) loop(task func()) {
	for {
		task()
		if w.idle.Add(1) > w.maxIdle {
			w.idle.Add(-1)
			return
		}
		select {
		case task = <-w.tasks:
			w.idle.Add(-1)
		case <-w.stop:
			w.idle.Add(-1)
			return
		}
	}
}

// close stops the idle workers; busy ones exit after their task.
func (w *workers) close() { close(w.stop) }
