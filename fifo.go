package appws

// fifo is a queue that reuses its array: popping by reslicing would make
// every append past the end allocate a new one, once per few messages.
type fifo[T any] struct {
	buf  []T
	head int
	keep int // the largest array kept once the queue is empty
}

func (q *fifo[T]) len() int { return len(q.buf) - q.head }

func (q *fifo[T]) front() T { return q.buf[q.head] }

func (q *fifo[T]) frontPtr() *T { return &q.buf[q.head] }

func (q *fifo[T]) backPtr() *T { return &q.buf[len(q.buf)-1] }

func (q *fifo[T]) push(v T) {
	if len(q.buf) == cap(q.buf) && q.head >= len(q.buf)/2 {
		// Move the live half to the front instead of growing.
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, v)
}

func (q *fifo[T]) pop() T {
	var zero T
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head++
	if q.head == len(q.buf) {
		// Empty: start over at the front; let a burst's big array go.
		q.buf, q.head = q.buf[:0], 0
		if cap(q.buf) > q.keep {
			q.buf = nil
		}
	}
	return v
}

// reset empties the queue.
func (q *fifo[T]) reset() {
	clear(q.buf)
	q.buf, q.head = nil, 0
}
