package appwstest

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/appwebsocket/appws/internal/wsframe"
)

// The server writes websocket frames itself (servers send them unmasked, so
// a frame is just a header and the payload). One goroutine per connection,
// the writer, owns every write; everything else queues work for it. Each
// frame goes to the socket in one Write call, so frames never interleave.

// Websocket opcodes (RFC 6455 section 5.2).
const (
	opContinuation = wsframe.OpContinuation
	opText         = wsframe.OpText
	opBinary       = wsframe.OpBinary
	opClose        = wsframe.OpClose
	opPing         = wsframe.OpPing
	opPong         = wsframe.OpPong
)

// closeWriteTimeout bounds writing a close frame, and closeGrace how long
// the server waits for the peer's closing handshake before it closes the
// socket anyway.
const (
	closeWriteTimeout = time.Second
	closeGrace        = time.Second
)

// ErrSessionClosed is returned by the send methods of a Session whose
// connection has ended or is closing.
var ErrSessionClosed = errors.New("appwstest: session closed")

// frame returns one complete unmasked frame.
func frame(fin bool, op byte, payload []byte) []byte {
	return append(frameHeader(fin, op, uint64(len(payload))), payload...)
}

// message returns the frames of one data message (op text or binary): a
// single frame, or, above the server's MaxFrameSize, a first frame with op
// and continuation frames of MaxFrameSize payload bytes each, the last one
// with FIN set.
func (s *Server) message(op byte, payload []byte) [][]byte {
	if s.maxFrame <= 0 || len(payload) <= s.maxFrame {
		return [][]byte{frame(true, op, payload)}
	}
	frames := make([][]byte, 0, (len(payload)+s.maxFrame-1)/s.maxFrame)
	for len(payload) > 0 {
		n := min(len(payload), s.maxFrame)
		frames = append(frames, frame(n == len(payload), op, payload[:n]))
		payload = payload[n:]
		op = opContinuation
	}
	return frames
}

// frameHeader returns the header of an unmasked frame announcing length
// payload bytes.
func frameHeader(fin bool, op byte, length uint64) []byte {
	return wsframe.AppendHeader(nil, fin, op, length, false, 0)
}

// closePayload formats the payload of a close frame. Code 0 means a close
// frame without a status code; the reason is cut to fit the 125-byte limit
// of control frames.
func closePayload(code int, reason string) []byte {
	if code == 0 {
		return nil
	}
	p := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	p = append(p, reason...)
	if len(p) > 125 {
		p = p[:125]
	}
	return p
}

// writeReq is a queued write: frames written in order, done receives the
// result.
type writeReq struct {
	frames [][]byte
	done   chan error
}

// closeReq asks the writer to send a close frame.
type closeReq struct {
	payload []byte
	done    chan error // buffered: the writer never blocks on it
}

// enqueue queues frames for the writer and waits until they were written or
// the connection ended.
func (ss *Session) enqueue(frames ...[]byte) error {
	req := &writeReq{frames: frames, done: make(chan error, 1)}
	ss.wmu.Lock()
	if ss.closeQueued || ss.writerDead {
		ss.wmu.Unlock()
		return ErrSessionClosed
	}
	ss.wq = append(ss.wq, req)
	ss.wmu.Unlock()
	ss.wakeWriter()
	select {
	case err := <-req.done:
		return err
	case <-ss.writerDone:
		select {
		case err := <-req.done:
			return err
		default:
			return ErrSessionClosed
		}
	}
}

func (ss *Session) wakeWriter() {
	select {
	case ss.wsig <- struct{}{}:
	default:
	}
}

// queueClose asks the writer to send a close frame ahead of queued data. It
// returns nil if a close frame was already queued (the first one wins).
func (ss *Session) queueClose(code int, reason string) chan error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if ss.closeQueued || ss.writerDead {
		return nil
	}
	ss.closeQueued = true
	ss.closeQ = &closeReq{payload: closePayload(code, reason), done: make(chan error, 1)}
	ss.wakeWriter()
	return ss.closeQ.done
}

// queuePong asks the writer to answer a ping; a newer ping replaces an
// unanswered older one, as RFC 6455 allows.
func (ss *Session) queuePong(data []byte) {
	ss.wmu.Lock()
	ss.pong = data
	ss.pongQueued = true
	ss.wmu.Unlock()
	ss.wakeWriter()
}

// queuePing asks the writer to send a ping with data; false when the
// connection has ended or is closing.
func (ss *Session) queuePing(data []byte) bool {
	ss.wmu.Lock()
	if ss.closeQueued || ss.writerDead {
		ss.wmu.Unlock()
		return false
	}
	ss.pings = append(ss.pings, data)
	ss.wmu.Unlock()
	ss.wakeWriter()
	return true
}

// writeLoop is the writer goroutine. It ends when the connection is torn
// down (ss.kill) or a write fails; queued requests then fail.
func (ss *Session) writeLoop() {
	defer close(ss.writerDone)
	defer ss.failQueued()
	for {
		select {
		case <-ss.wsig:
		case <-ss.kill:
			return
		}
		for {
			if err := ss.writeControl(); err != nil {
				return
			}
			ss.wmu.Lock()
			if ss.closeSent {
				// Nothing may follow a close frame.
				q := ss.wq
				ss.wq = nil
				ss.wmu.Unlock()
				for _, r := range q {
					r.done <- ErrSessionClosed
				}
				break
			}
			if len(ss.wq) == 0 {
				ss.wmu.Unlock()
				break
			}
			req := ss.wq[0]
			ss.wq = ss.wq[1:]
			ss.wmu.Unlock()
			if err := ss.writeFrames(req); err != nil {
				return
			}
		}
	}
}

// writeFrames writes the frames of one request, answering pings and sending
// a requested close frame between frames so a long burst does not starve
// them.
func (ss *Session) writeFrames(req *writeReq) error {
	for i, f := range req.frames {
		if i > 0 {
			if err := ss.writeControl(); err != nil {
				req.done <- err
				return err
			}
			ss.wmu.Lock()
			closing := ss.closeSent
			ss.wmu.Unlock()
			if closing {
				req.done <- ErrSessionClosed
				return nil
			}
		}
		if _, err := ss.conn.Write(f); err != nil {
			req.done <- err
			ss.log.Debug("appwstest: write failed", "session", ss.id, "err", err)
			return err
		}
	}
	req.done <- nil
	return nil
}

// writeControl sends a pending pong, pending pings and a pending close
// frame. After the
// close frame it gives the peer closeGrace to answer, then the read side
// ends the connection.
func (ss *Session) writeControl() error {
	ss.wmu.Lock()
	if ss.closeSent {
		ss.wmu.Unlock()
		return nil
	}
	pong, sendPong := ss.pong, ss.pongQueued
	ss.pongQueued = false
	pings := ss.pings
	ss.pings = nil
	cr := ss.closeQ
	ss.closeQ = nil
	ss.wmu.Unlock()
	if sendPong {
		if _, err := ss.conn.Write(frame(true, opPong, pong)); err != nil {
			return err
		}
	}
	for _, p := range pings {
		if _, err := ss.conn.Write(frame(true, opPing, p)); err != nil {
			return err
		}
	}
	if cr != nil {
		ss.conn.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
		_, err := ss.conn.Write(frame(true, opClose, cr.payload))
		ss.wmu.Lock()
		ss.closeSent = true
		ss.wmu.Unlock()
		close(ss.closeWritten)
		cr.done <- err
		if err != nil {
			return err
		}
		ss.raw.resume()
		ss.raw.SetReadDeadline(time.Now().Add(closeGrace))
	}
	return nil
}

// failQueued fails every request still queued when the writer ends.
func (ss *Session) failQueued() {
	ss.wmu.Lock()
	ss.writerDead = true
	q := ss.wq
	ss.wq = nil
	cr := ss.closeQ
	ss.closeQ = nil
	ss.wmu.Unlock()
	for _, r := range q {
		r.done <- ErrSessionClosed
	}
	if cr != nil {
		cr.done <- ErrSessionClosed
	}
}
