package load

// ring is a bounded FIFO that overwrites its oldest item when full: the follow-up pools keep the
// most recent candidates and forget old ones, so that memory stays bounded however long a run is.
type ring[T any] struct {
	buf  []T
	head int // index of the oldest item
	n    int
}

func newRing[T any](capacity int) ring[T] { return ring[T]{buf: make([]T, capacity)} }

func (r *ring[T]) len() int { return r.n }

// push appends v; when the ring is full the oldest item is dropped and returned with true.
func (r *ring[T]) push(v T) (dropped T, full bool) {
	if r.n == len(r.buf) {
		dropped = r.buf[r.head]
		r.buf[r.head] = v
		r.head = (r.head + 1) % len(r.buf)
		return dropped, true
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
	return dropped, false
}

// oldest returns the oldest item without removing it; the ring must not be empty.
func (r *ring[T]) oldest() *T { return &r.buf[r.head] }

// popOldest removes and returns the oldest item; the ring must not be empty.
func (r *ring[T]) popOldest() T {
	var zero T
	v := r.buf[r.head]
	r.buf[r.head] = zero
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return v
}

// popNewest removes and returns the newest item; the ring must not be empty.
func (r *ring[T]) popNewest() T {
	var zero T
	i := (r.head + r.n - 1) % len(r.buf)
	v := r.buf[i]
	r.buf[i] = zero
	r.n--
	return v
}
