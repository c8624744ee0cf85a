package appwstest

import (
	"context"
	"net"
	"sync"
)

// gateConn wraps every accepted connection. It lets the server stop reading
// from the socket on demand (Session.Stall) so that TCP back-pressure really
// reaches the client, and it lets Server.Close find and close connections
// that net/http has handed over to the websocket layer (hijacked).
type gateConn struct {
	net.Conn
	srv *Server

	mu      sync.Mutex
	stalled chan struct{} // non-nil while stalled; closed by resume
	closed  chan struct{}
	once    sync.Once
}

func newGateConn(c net.Conn, srv *Server) *gateConn {
	return &gateConn{Conn: c, srv: srv, closed: make(chan struct{})}
}

// Read blocks while the connection is stalled, both before touching the
// socket and before handing over bytes that a read already in progress
// returned, so nothing that arrives after Stall is processed until Resume.
func (g *gateConn) Read(b []byte) (int, error) {
	if err := g.wait(); err != nil {
		return 0, err
	}
	n, err := g.Conn.Read(b)
	if n > 0 {
		if werr := g.wait(); werr != nil {
			return 0, werr
		}
	}
	return n, err
}

func (g *gateConn) wait() error {
	for {
		g.mu.Lock()
		ch := g.stalled
		g.mu.Unlock()
		if ch == nil {
			return nil
		}
		select {
		case <-ch:
		case <-g.closed:
			return net.ErrClosed
		}
	}
}

func (g *gateConn) stall() {
	g.mu.Lock()
	if g.stalled == nil {
		g.stalled = make(chan struct{})
	}
	g.mu.Unlock()
}

func (g *gateConn) resume() {
	g.mu.Lock()
	if g.stalled != nil {
		close(g.stalled)
		g.stalled = nil
	}
	g.mu.Unlock()
}

// Close closes the socket and forgets the connection; it is idempotent.
func (g *gateConn) Close() error {
	err := net.ErrClosed
	g.once.Do(func() {
		close(g.closed)
		err = g.Conn.Close()
		g.srv.forgetConn(g)
	})
	return err
}

// trackingListener wraps accepted connections in a gateConn and registers
// them with the server.
type trackingListener struct {
	net.Listener
	srv *Server
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	g := newGateConn(c, l.srv)
	if !l.srv.trackConn(g) {
		c.Close()
		return nil, net.ErrClosed
	}
	return g, nil
}

// pipeListener is an in-memory net.Listener: dial creates a net.Pipe, hands
// one end to Accept and returns the other. It uses only channels, so it works
// inside a testing/synctest bubble and leaves no goroutine behind.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "pipe", Addr: pipeAddr{}, Err: net.ErrClosed}
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "pipe", Addr: pipeAddr{}, Err: ctx.Err()}
	}
}

// pipeAddr is the address of both ends of an in-memory connection.
type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return inMemoryHost }
