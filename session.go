package appws

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// A session is one logged-in websocket connection. It has two goroutines, as
// in gorilla's chat example: readLoop is the only reader and sets every read
// deadline; the writer (serve's own goroutine, so an idle client costs one
// goroutine less) owns every write (data, ping, pong, close); the write
// deadlines live in wireConn, below TLS. The supervisor runs serve.
type session struct {
	env    sessionEnv
	id     uint64
	conn   *websocket.Conn
	bc     *bufConn
	key    string // session key: never logged
	domain string

	ctlQ chan ctlFrame
	stop chan struct{} // closed: the reader ends

	// rawFrames: bufConn carries the websocket frames themselves (ws://,
	// and wss:// where appws dialed TLS below it), so the writer frames
	// data messages on its own. Only for wss:// through an HTTP proxy does
	// bufConn sit below gorilla's TLS; then data messages go through
	// gorilla.
	rawFrames bool

	// The send queue: a slice rather than a channel of SendQueue items, so
	// an idle session holds no queue memory, and the writer takes everything
	// queued in one go. qcount and qbytes count what is accepted and not yet
	// written (queued, or in the writer's batch): they bound Send, and
	// writing frees them, never the consumer.
	qmu     sync.Mutex
	queue   []writeItem
	qcount  int
	qbytes  int
	qclosed bool          // the session ended: no more writeItems
	qroom   chan struct{} // closed when room is freed; nil while no sender waits
	qwake   chan struct{} // cap 1: something was queued

	// The writer's buffer, kept between batches (see trimBuffers).
	spare []writeItem
	sent  bool // sendQueued ran since the last trimBuffers

	scratch      []byte    // readLoop's buffer for incoming messages
	extended     time.Time // when readLoop last moved the read deadline
	readsSeen    uint64    // bc.reads then
	activitySeen uint64    // bc.reads when readLoop last noted activity
	full         bool      // the read-ahead was full after readLoop's last push
	inMessage    bool      // readLoop is inside a message: control frames keep no deadline

	// lastActivity is when a message last went out or bytes last came in
	// (UnixNano): the KeepAlive goes out after KeepAliveInterval of silence.
	lastActivity atomic.Int64
}

// sessionEnv is what a session needs of its client, handed over as a narrow
// value: the session never reaches into the Client, and the Client never
// into the session's connection.
type sessionEnv struct {
	opts   *Options
	log    *slog.Logger
	em     *emitter
	ra     *readAhead
	reqs   *requests
	stats  *stats
	nextID *atomic.Uint64 // send ids, shared by the client's sessions
}

func newSession(env sessionEnv, id uint64, d dialed, l learned) *session {
	s := &session{
		env:       env,
		id:        id,
		conn:      d.conn,
		bc:        d.bc,
		rawFrames: d.rawFrames,
		key:       l.key,
		domain:    l.domain,
		ctlQ:      make(chan ctlFrame, 4),
		stop:      make(chan struct{}),
		qwake:     make(chan struct{}, 1),
	}
	s.lastActivity.Store(time.Now().UnixNano()) // the login was traffic
	return s
}

// serve runs the session until it ends by itself (the returned error says
// why), until closing closes (a clean close: nil), or until authDone closes
// (ErrAuthenticatorClosed). When serve returns, both loops have ended, the
// connection is closed and every send accepted into the session is resolved.
func (s *session) serve(closing, authDone <-chan struct{}) error {
	s.installHandlers()
	readDone := make(chan error, 1)
	go func() { readDone <- s.readLoop() }()
	readEnded, err := s.writeLoop(closing, authDone, readDone)
	close(s.stop)
	s.bc.closeNow()
	if !readEnded {
		<-readDone
	}

	if err != nil && !readEnded && !isTyped(err) {
		err = &ConnectionError{Op: "write", Err: err}
	}
	cause := err
	if cause == nil {
		cause = ErrClosed
	}
	s.closeQueue()
	s.env.reqs.fail(s.id, cause)
	return err
}
