package appws

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws/internal/wsframe"
)

// The wire under a session, top to bottom: gorilla's Conn, bufConn (batches
// and frames the writer's messages, reads ahead while the server streams),
// tls.Conn for wss://, and wireConn (the write deadlines), above the TCP
// connection. Only wss:// through an HTTP proxy differs: gorilla makes the
// TLS connection itself, so bufConn sits below it (see dial).

// bufConn sits between gorilla's Conn and the connection below (TLS or the
// wire). While the writer batches it collects frames and writes them in one
// go. Data frames do not go through gorilla at all: the writer frames and
// masks them straight into the batch (writeText), which saves gorilla's
// per-message allocations and a copy. Control frames still come from gorilla
// (WriteControl -> Write). A mutex keeps the rare writes gorilla makes from
// the reader goroutine (a close frame after a protocol error) apart from
// ours. Until the upgrade completes it also bounds what is read (handshake).
type bufConn struct {
	net.Conn
	wire *wireConn // the bottom layer: deadlines, closeNow

	mu       sync.Mutex
	batching bool
	buf      []byte
	pooled   *[]byte // where buf came from
	err      error
	// given counts the bytes handed to Write and writeText so far, in order
	// (buffered or written); accepted those that the connection below
	// took. A message whose last byte lies at or below accepted was
	// written whole, whatever failed after it.
	given, accepted uint64

	// The reader's alone (gorilla's handshake reads first, then readLoop):
	reads     uint64  // socket reads that returned bytes
	streaming bool    // the last socket read filled the buffer it was given
	rbuf      *[]byte // pooled read-ahead while rdata is not empty
	rdata     []byte  // read from the socket, not yet by gorilla
	handshake bool    // the upgrade is not complete: reads count against hsLeft
	hsLeft    int     // bytes the server may still send before the upgrade
	hsOver    bool    // the server sent more than that
}

// maxBuffered is the batch size that triggers a flush.
const maxBuffered = 64 << 10

// closeFrame is the first byte of a final close frame.
const closeFrame = 0x80 | websocket.CloseMessage

func (b *bufConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if len(p) > 0 && p[0] == closeFrame {
		// After a close frame nothing may follow (gorilla's rule too): send
		// what is buffered and the close frame, then refuse the rest.
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		b.given += uint64(len(p))
		n, err := b.writeLocked(p)
		if err == nil {
			b.err = websocket.ErrCloseSent
		}
		return n, err
	}
	if !b.batching {
		b.given += uint64(len(p))
		return b.writeLocked(p)
	}
	if len(b.buf)+len(p) > maxBuffered {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > maxBuffered {
			b.given += uint64(len(p))
			return b.writeLocked(p)
		}
	}
	b.grab()
	b.buf = append(b.buf, p...)
	b.given += uint64(len(p))
	return len(p), nil
}

// end returns how many bytes were handed over so far: where the message
// handed over last ends.
func (b *bufConn) end() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.given
}

// written reports how many bytes the connection below took so far.
func (b *bufConn) written() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.accepted
}

// Read reads for gorilla, whose buffer is small (4 KiB by default) so that
// an idle connection holds little: a socket read per 4 KiB is the largest
// cost of receiving a stream of small messages. So while reads keep
// filling gorilla's buffer (the server is streaming), Read reads 64 KiB at a
// time into a pooled buffer and hands it out from there; once a read comes
// back short, it reads straight into gorilla's buffer again. Only the
// goroutine reading the connection calls it.
func (b *bufConn) Read(p []byte) (int, error) {
	if b.handshake {
		return b.readHandshake(p)
	}
	if len(b.rdata) > 0 {
		n := copy(p, b.rdata)
		b.rdata = b.rdata[n:]
		if len(b.rdata) == 0 {
			bufPool.Put(b.rbuf)
			b.rbuf, b.rdata = nil, nil
		}
		return n, nil
	}
	if !b.streaming || len(p) >= maxBuffered {
		n, err := b.Conn.Read(p)
		if n > 0 {
			b.reads++
		}
		b.streaming = n == len(p) && err == nil
		return n, err
	}
	buf := bufPool.Get().(*[]byte)
	n, err := b.Conn.Read((*buf)[:maxBuffered])
	if n > 0 {
		b.reads++
	}
	b.streaming = n > len(p) && err == nil
	m := copy(p, (*buf)[:n])
	if m < n {
		b.rbuf, b.rdata = buf, (*buf)[m:n]
	} else {
		bufPool.Put(buf)
	}
	return m, err
}

// readHandshake reads while the upgrade is not complete, at most hsLeft
// bytes in all: net/http's response parser keeps every header line, so a
// server sending endless ones would otherwise grow the heap until
// HandshakeTimeout.
func (b *bufConn) readHandshake(p []byte) (int, error) {
	if b.hsLeft <= 0 {
		b.hsOver = true
		return 0, ErrHandshakeTooLarge
	}
	if len(p) > b.hsLeft {
		p = p[:b.hsLeft]
	}
	n, err := b.Conn.Read(p)
	if n > 0 {
		b.reads++
	}
	b.hsLeft -= n
	return n, err
}

// grab takes a batch buffer from the pool if there is none.
func (b *bufConn) grab() {
	if b.buf == nil {
		b.pooled = bufPool.Get().(*[]byte)
		b.buf = (*b.pooled)[:0]
	}
}

// fail makes err the batch's error if it has none yet.
func (b *bufConn) fail(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
}

// writeText adds p to the batch as one masked text frame (RFC 6455 5.2)
// and returns where the frame ends among the bytes handed over, or 0 if it
// could not be added. An error sticks and is returned by endBatch.
func (b *bufConn) writeText(p []byte) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0
	}
	b.grab()
	// The masking key only has to be unpredictable to scripts in a browser
	// (RFC 6455 10.3); the runtime's ChaCha8 generator is that and cheap.
	key := rand.Uint32()
	var hdrBuf [wsframe.MaxHeader]byte
	hdr := wsframe.AppendHeader(hdrBuf[:0], true, wsframe.OpText, uint64(len(p)), true, key)
	h := len(hdr)
	if len(b.buf)+h > maxBuffered && b.flushLocked() != nil {
		return 0
	}
	b.buf = append(b.buf, hdr...)
	for pos := 0; pos < len(p); {
		if len(b.buf) == maxBuffered && b.flushLocked() != nil {
			return 0
		}
		k := min(len(p)-pos, maxBuffered-len(b.buf))
		start := len(b.buf)
		b.buf = append(b.buf, p[pos:pos+k]...)
		wsframe.Mask(b.buf[start:], key, pos)
		pos += k
	}
	b.given += uint64(h + len(p))
	return b.given
}

// SetWriteDeadline is ignored: the wire sets its own deadline on every
// write (gorilla sets them too, and so does tls.Conn on Close).
func (b *bufConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets only the read deadline, for the same reason.
func (b *bufConn) SetDeadline(t time.Time) error { return b.Conn.SetReadDeadline(t) }

// Close closes the wire at once. Closing a tls.Conn would first write a
// close_notify alert, which waits for a write blocked on a server that does
// not read; the websocket close frame has said goodbye already.
func (b *bufConn) Close() error { return b.wire.Close() }

func (b *bufConn) writeLocked(p []byte) (int, error) {
	n, err := b.Conn.Write(p)
	b.accepted += uint64(n)
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *bufConn) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.writeLocked(b.buf)
	b.buf = b.buf[:0]
	return err
}

func (b *bufConn) startBatch() {
	b.mu.Lock()
	b.batching = true
	b.mu.Unlock()
}

// endBatch flushes the batch and returns the buffer to the pool.
func (b *bufConn) endBatch() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	err := b.err
	if err == nil {
		err = b.flushLocked()
	}
	if b.pooled != nil {
		*b.pooled = b.buf[:0]
		bufPool.Put(b.pooled)
		b.pooled, b.buf = nil, nil
	}
	return err
}

// hurry bounds every write, the one blocked now included, by d from now:
// Close may not wait WriteTimeout for a server that does not read.
func (b *bufConn) hurry(d time.Duration) { b.wire.hurry(d) }

// closeNow closes the network connection at once, ending every blocked read
// and write.
func (b *bufConn) closeNow() { _ = b.wire.Close() }

// wireConn is the bottom layer, right above the TCP connection (or whatever
// Options.NetDialContext returned), below TLS. It owns the write deadline:
// a session ends when the server took no bytes for WriteTimeout, not when
// one large write takes longer than that. So every write to the network gets
// a deadline of WriteTimeout from now, and a write that timed out after some
// of its bytes went out goes on with the rest under a fresh deadline. The
// deadline lives below TLS because a tls.Conn whose write timed out is
// broken for good: it must only ever see the final error.
type wireConn struct {
	net.Conn
	timeout time.Duration // WriteTimeout; 0: none

	mu      sync.Mutex // orders the deadline changes of Write and hurry
	hurryAt time.Time  // set by hurry: no write may go on after it
	dl      time.Time  // the write deadline set last
}

func (w *wireConn) Write(p []byte) (int, error) {
	done := 0
	for {
		hurried := w.setWriteDeadline()
		n, err := w.Conn.Write(p[done:])
		done += n
		if err == nil || n == 0 || hurried || !errors.Is(err, os.ErrDeadlineExceeded) {
			return done, err
		}
		// Timed out, but the server took bytes meanwhile: it is slow, not
		// gone.
	}
}

// setWriteDeadline sets the deadline for the next write: WriteTimeout from
// now, or hurry's, whichever comes first. It reports whether hurry's did.
func (w *wireConn) setWriteDeadline() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	var dl time.Time
	if w.timeout > 0 {
		dl = time.Now().Add(w.timeout)
	}
	hurried := !w.hurryAt.IsZero() && (dl.IsZero() || w.hurryAt.Before(dl))
	if hurried {
		dl = w.hurryAt
	}
	w.dl = dl
	_ = w.Conn.SetWriteDeadline(dl)
	return hurried
}

// hurry makes every write end by d from now at the latest, the one blocked
// now included, progress or not.
func (w *wireConn) hurry(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at := time.Now().Add(d)
	if !w.hurryAt.IsZero() && w.hurryAt.Before(at) {
		return
	}
	w.hurryAt = at
	if w.dl.IsZero() || at.Before(w.dl) {
		w.dl = at
		_ = w.Conn.SetWriteDeadline(at)
	}
}

// SetWriteDeadline is ignored: Write sets the deadline (tls.Conn sets one
// when it closes).
func (w *wireConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets only the read deadline, for the same reason.
func (w *wireConn) SetDeadline(t time.Time) error { return w.Conn.SetReadDeadline(t) }

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, maxBuffered)
	return &b
}}

// writeBufferPool lends gorilla its per-message write buffer, so an idle
// connection holds none.
type writeBufferPool struct{ p sync.Pool }

func (w *writeBufferPool) Get() any  { return w.p.Get() }
func (w *writeBufferPool) Put(x any) { w.p.Put(x) }

var gorillaWritePool = &writeBufferPool{}
