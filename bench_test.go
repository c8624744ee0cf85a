package appws_test

// Benchmarks against bare gorilla/websocket (issue 7). Every benchmark pairs
// the client ("appws") with a baseline ("gorilla") against the same minimal
// server in this file, so one run prints both; BENCHMARKS.md has the commands
// and the figures. The server logs in with the real AppWebsocket exchange and
// then does as little as it can: it pushes pre-encoded frames, counts frames
// without unmasking them, or echoes.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/wire"
)

const (
	benchApp       = "bench"
	benchPass      = "bench-pw"
	benchChallenge = "1234567890123456"
	benchTimeout   = 30 * time.Second
)

// benchMsg is a typical 170-byte AppWebsocket message.
var benchMsg = func() []byte {
	m := `{"mt":"UpdatePresence","api":"PbxSignal","src":"s17","sip":"alice","dn":"Alice Example","presence":[{"status":"open","activity":"busy","note":"in a call"}],"n":123456789}`
	if len(m) != 170 {
		panic("benchMsg is not 170 bytes")
	}
	return []byte(m)
}()

// benchStruct is the struct payload of the Send benchmark; it encodes to
// about the same size as benchMsg.
type benchStruct struct {
	MT       string `json:"mt"`
	API      string `json:"api"`
	Src      string `json:"src"`
	SIP      string `json:"sip"`
	DN       string `json:"dn"`
	Status   string `json:"status"`
	Activity string `json:"activity"`
	Note     string `json:"note"`
	N        int    `json:"n"`
}

var benchStructValue = benchStruct{
	MT: "UpdatePresence", API: "PbxSignal", Src: "s17", SIP: "alice", DN: "Alice Example",
	Status: "open", Activity: "busy", Note: "in a call, back at three", N: 1234567,
}

// benchServer is a gorilla server that performs the AppWebsocket login and
// then runs serve on the connection.
type benchServer struct {
	srv   *httptest.Server
	URL   string
	serve func(ws *websocket.Conn)

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[*websocket.Conn]struct{}
}

func newBenchServer(b testing.TB, serve func(ws *websocket.Conn)) *benchServer {
	b.Helper()
	s := &benchServer{serve: serve, conns: make(map[*websocket.Conn]struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	s.URL = "ws" + strings.TrimPrefix(s.srv.URL, "http")
	b.Cleanup(s.Close)
	return s
}

var benchUpgrader = websocket.Upgrader{}

func (s *benchServer) handle(w http.ResponseWriter, r *http.Request) {
	ws, err := benchUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.conns == nil { // closing
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.conns[ws] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		ws.Close()
		s.mu.Lock()
		delete(s.conns, ws)
		s.mu.Unlock()
		s.wg.Done()
	}()
	if serverLogin(ws) != nil {
		return
	}
	s.serve(ws)
}

// Close drops every connection (the upgraded ones are hijacked, so
// httptest.Server.Close does not see them) and waits for the handlers.
func (s *benchServer) Close() {
	s.mu.Lock()
	for ws := range s.conns {
		ws.NetConn().Close()
	}
	s.conns = nil
	s.mu.Unlock()
	s.wg.Wait()
	s.srv.Close()
}

// serverLogin is the server's half of PROTOCOL.md 3: a fixed challenge, the
// digest checked with appws.Digest.
func serverLogin(ws *websocket.Conn) error {
	_, data, err := ws.ReadMessage()
	if err != nil {
		return err
	}
	if m, err := wire.ParseMessage(data); err != nil || m.MT != "AppChallenge" {
		return errors.New("bench server: expected AppChallenge")
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"mt":"AppChallengeResult","challenge":"`+benchChallenge+`"}`)); err != nil {
		return err
	}
	_, data, err = ws.ReadMessage()
	if err != nil {
		return err
	}
	var l struct {
		MT, App, Domain, SIP, GUID, DN, Digest string
		Info                                   json.RawMessage
	}
	if err := json.Unmarshal(data, &l); err != nil || l.MT != "AppLogin" {
		return errors.New("bench server: expected AppLogin")
	}
	want, err := wire.Digest(l.App, l.Domain, l.SIP, l.GUID, l.DN, l.Info, benchChallenge, benchPass)
	if err != nil || l.App != benchApp || l.Digest != want {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"mt":"AppLoginResult","ok":false,"error":4}`))
		return errors.New("bench server: wrong digest")
	}
	return ws.WriteMessage(websocket.TextMessage, []byte(`{"mt":"AppLoginResult","ok":true,"domain":"bench.example"}`))
}

// serverFrame encodes msg as one unmasked server text frame.
func serverFrame(msg []byte) []byte {
	f := []byte{0x81}
	switch n := len(msg); {
	case n < 126:
		f = append(f, byte(n))
	case n < 1<<16:
		f = append(f, 126, byte(n>>8), byte(n))
	default:
		f = append(f, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, msg...)
}

// serverClose is the server's close frame (1000).
var serverClose = []byte{0x88, 2, 0x03, 0xe8}

// frameReader reads the client's frames off the raw connection without
// unmasking their payload: the cheapest server there is.
type frameReader struct {
	nc net.Conn
	br *bufio.Reader
	h  [8]byte // header scratch; a local would escape and allocate per frame
}

func newFrameReader(ws *websocket.Conn) *frameReader {
	return &frameReader{nc: ws.NetConn(), br: bufio.NewReaderSize(ws.NetConn(), 64<<10)}
}

// next skips one frame and returns its opcode; it answers a close frame.
func (f *frameReader) next() (opcode byte, err error) {
	h := f.h[:]
	if _, err := io.ReadFull(f.br, h[:2]); err != nil {
		return 0, err
	}
	b0, b1 := h[0], h[1]
	n := int(b1 & 0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(f.br, h[:2]); err != nil {
			return 0, err
		}
		n = int(binary.BigEndian.Uint16(h[:2]))
	case 127:
		if _, err := io.ReadFull(f.br, h[:8]); err != nil {
			return 0, err
		}
		n = int(binary.BigEndian.Uint64(h[:8]))
	}
	if b1&0x80 != 0 {
		n += 4 // the mask key
	}
	if _, err := f.br.Discard(n); err != nil {
		return 0, err
	}
	op := b0 & 0x0f
	if op == websocket.CloseMessage {
		_, _ = f.nc.Write(serverClose)
		return op, io.EOF
	}
	return op, nil
}

// countingServer counts the text frames it receives in n.
func countingServer(b testing.TB, n *atomic.Int64) *benchServer {
	return newBenchServer(b, func(ws *websocket.Conn) {
		fr := newFrameReader(ws)
		for {
			op, err := fr.next()
			if err != nil {
				return
			}
			if op == websocket.TextMessage {
				n.Add(1)
			}
		}
	})
}

// pushServer waits for one message from the client, then pushes n copies of
// msg as pre-encoded frames, 64 KiB per write.
func pushServer(b testing.TB, n int, msg []byte) *benchServer {
	frame := serverFrame(msg)
	chunk := make([]byte, 0, 64<<10)
	for len(chunk)+len(frame) <= cap(chunk) {
		chunk = append(chunk, frame...)
	}
	perChunk := len(chunk) / len(frame)
	return newBenchServer(b, func(ws *websocket.Conn) {
		fr := newFrameReader(ws)
		if _, err := fr.next(); err != nil {
			return
		}
		for left := n; left > 0; left -= perChunk {
			k := min(left, perChunk)
			if _, err := fr.nc.Write(chunk[:k*len(frame)]); err != nil {
				return
			}
		}
		for {
			if _, err := fr.next(); err != nil {
				return
			}
		}
	})
}

// echoServer sends every message back.
func echoServer(b testing.TB) *benchServer {
	return newBenchServer(b, func(ws *websocket.Conn) {
		for {
			typ, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if err := ws.WriteMessage(typ, data); err != nil {
				return
			}
		}
	})
}

// idleServer reads until the client goes.
func idleServer(b testing.TB) *benchServer {
	return newBenchServer(b, func(ws *websocket.Conn) {
		for {
			if _, _, err := ws.NextReader(); err != nil {
				return
			}
		}
	})
}

func benchOptions(url string) appws.Options {
	return appws.Options{URL: url, App: benchApp, Password: benchPass, NoProxy: true}
}

// benchDial logs a client in and takes its ConnectComplete.
func benchDial(b testing.TB, url string) *appws.Client {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	c, err := appws.Dial(ctx, benchOptions(url))
	if err != nil {
		b.Fatalf("Dial: %v", err)
	}
	if _, ok := (<-c.Events()).(appws.ConnectComplete); !ok {
		b.Fatal("first event is not ConnectComplete")
	}
	return c
}

// benchClose closes c and drains its events.
func benchClose(c *appws.Client) {
	_ = c.Close()
	for range c.Events() {
	}
}

// gorillaDial connects with bare gorilla and logs in by hand.
func gorillaDial(b testing.TB, url string) *websocket.Conn {
	b.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatalf("gorilla dial: %v", err)
	}
	if err := gorillaLogin(ws); err != nil {
		b.Fatal(err)
	}
	return ws
}

func gorillaLogin(ws *websocket.Conn) error {
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"mt":"AppChallenge"}`)); err != nil {
		return err
	}
	var cr struct{ Challenge string }
	if err := ws.ReadJSON(&cr); err != nil {
		return err
	}
	digest, err := wire.Digest(benchApp, "", "", "", "", nil, cr.Challenge, benchPass)
	if err != nil {
		return err
	}
	login := `{"mt":"AppLogin","app":"` + benchApp + `","domain":"","sip":"","guid":"","dn":"","digest":"` + digest + `"}`
	if err := ws.WriteMessage(websocket.TextMessage, []byte(login)); err != nil {
		return err
	}
	var lr struct{ OK bool }
	if err := ws.ReadJSON(&lr); err != nil {
		return err
	}
	if !lr.OK {
		return errors.New("gorilla login refused")
	}
	return nil
}

// gorillaClose sends a close frame and waits for the server to end.
func gorillaClose(ws *websocket.Conn) {
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = ws.SetReadDeadline(time.Now().Add(time.Second))
	for {
		if _, _, err := ws.NextReader(); err != nil {
			break
		}
	}
	ws.Close()
}

func reportRate(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkReceive: the server pushes 170-byte messages; the client takes
// each through Events() and MessageComplete.
func BenchmarkReceive(b *testing.B) {
	b.Run("appws", func(b *testing.B) {
		srv := pushServer(b, b.N, benchMsg)
		c := benchDial(b, srv.URL)
		defer benchClose(c)
		receiveAppws(b, c)
	})
	b.Run("gorilla", func(b *testing.B) {
		srv := pushServer(b, b.N, benchMsg)
		ws := gorillaDial(b, srv.URL)
		defer gorillaClose(ws)
		receiveGorilla(b, ws)
	})
}

// receiveAppws is the timed part of a Receive benchmark: ask the push server
// to start, then take b.N Messages through Events and MessageComplete.
func receiveAppws(b *testing.B, c *appws.Client) {
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	b.ResetTimer()
	if _, err := c.Send(context.Background(), json.RawMessage(`{"mt":"Go"}`)); err != nil {
		b.Fatal(err)
	}
	evs := c.Events()
	for got := 0; got < b.N; {
		c.MessageComplete()
		switch ev := (<-evs).(type) {
		case appws.Message:
			if len(ev.Raw) != len(benchMsg) {
				b.Fatalf("got %d bytes", len(ev.Raw))
			}
			got++
		case appws.SendResult:
		default:
			b.Fatalf("unexpected %T %+v", ev, ev)
		}
	}
	b.StopTimer()
	reportRate(b, b.N)
}

// receiveGorilla is receiveAppws for the bare gorilla baseline.
func receiveGorilla(b *testing.B, ws *websocket.Conn) {
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	b.ResetTimer()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"mt":"Go"}`)); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		_, data, err := ws.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		if len(data) != len(benchMsg) {
			b.Fatalf("got %d bytes", len(data))
		}
	}
	b.StopTimer()
	reportRate(b, b.N)
}

// resultCounter reads c's events in a goroutine and counts SendResults.
type resultCounter struct {
	n    atomic.Int64
	errs atomic.Int64
	done chan struct{}
}

func countResults(c *appws.Client) *resultCounter {
	r := &resultCounter{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ev := range c.Events() {
			if sr, ok := ev.(appws.SendResult); ok {
				if sr.Err != nil {
					r.errs.Add(1)
				}
				r.n.Add(1)
			}
		}
	}()
	return r
}

// waitCount spins (with sleeps) until n reaches want.
func waitCount(b *testing.B, n *atomic.Int64, want int64) {
	deadline := time.Now().Add(benchTimeout)
	for i := 0; n.Load() < want; i++ {
		if time.Now().After(deadline) {
			b.Fatalf("count %d, want %d", n.Load(), want)
		}
		if i < 100 {
			time.Sleep(time.Microsecond)
		} else {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// BenchmarkSend: Send in a loop; done when every SendResult is in and the
// server counted every frame.
func BenchmarkSend(b *testing.B) {
	raw := json.RawMessage(benchMsg)
	structBytes, _ := json.Marshal(benchStructValue)
	for _, tc := range []struct {
		name string
		msg  any
		size int
	}{
		{"RawMessage", raw, len(raw)},
		{"Struct", benchStructValue, len(structBytes)},
	} {
		b.Run(tc.name+"/appws", func(b *testing.B) {
			var frames atomic.Int64
			srv := countingServer(b, &frames)
			sendAppws(b, benchDial(b, srv.URL), tc.msg, tc.size, &frames)
		})
		b.Run(tc.name+"/gorilla", func(b *testing.B) {
			var frames atomic.Int64
			srv := countingServer(b, &frames)
			ws := gorillaDial(b, srv.URL)
			defer gorillaClose(ws)
			sendGorilla(b, ws, tc.msg, tc.size, &frames)
		})
	}
}

// sendAppws is the timed part of a Send benchmark: b.N sends of msg, done
// when every SendResult is in and the server counted every frame; it closes
// c.
func sendAppws(b *testing.B, c *appws.Client, msg any, size int, frames *atomic.Int64) {
	rc := countResults(c)
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	waitCount(b, &rc.n, int64(b.N))
	waitCount(b, frames, int64(b.N))
	b.StopTimer()
	reportRate(b, b.N)
	_ = c.Close()
	<-rc.done
	if rc.errs.Load() > 0 {
		b.Fatalf("%d sends failed", rc.errs.Load())
	}
}

// sendGorilla is sendAppws for the bare gorilla baseline: a json.RawMessage
// is written as it is, anything else marshalled first, as a caller would.
func sendGorilla(b *testing.B, ws *websocket.Conn, msg any, size int, frames *atomic.Int64) {
	raw, isRaw := msg.(json.RawMessage)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		data := raw
		if !isRaw {
			var err error
			if data, err = json.Marshal(msg); err != nil {
				b.Fatal(err)
			}
		}
		if err := ws.WriteMessage(websocket.TextMessage, data); err != nil {
			b.Fatal(err)
		}
	}
	waitCount(b, frames, int64(b.N))
	b.StopTimer()
	reportRate(b, b.N)
}

// BenchmarkSendBurst: 16 goroutines send at once. The writer coalesces what
// queues up into one write; gorilla needs a mutex and makes one write per
// message.
func BenchmarkSendBurst(b *testing.B) {
	raw := json.RawMessage(benchMsg)
	const parallelism = 8 // × GOMAXPROCS goroutines
	b.Run("appws", func(b *testing.B) {
		var frames atomic.Int64
		srv := countingServer(b, &frames)
		c := benchDial(b, srv.URL)
		rc := countResults(c)
		b.SetBytes(int64(len(raw)))
		b.SetParallelism(parallelism)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				if _, err := c.Send(ctx, raw); err != nil {
					b.Error(err)
					return
				}
			}
		})
		waitCount(b, &rc.n, int64(b.N))
		waitCount(b, &frames, int64(b.N))
		b.StopTimer()
		reportRate(b, b.N)
		_ = c.Close()
		<-rc.done
	})
	b.Run("gorilla", func(b *testing.B) {
		var frames atomic.Int64
		srv := countingServer(b, &frames)
		ws := gorillaDial(b, srv.URL)
		defer gorillaClose(ws)
		var mu sync.Mutex
		b.SetBytes(int64(len(raw)))
		b.SetParallelism(parallelism)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mu.Lock()
				err := ws.WriteMessage(websocket.TextMessage, raw)
				mu.Unlock()
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
		waitCount(b, &frames, int64(b.N))
		b.StopTimer()
		reportRate(b, b.N)
	})
}

// latencies collects one duration per op and reports p50 and p99.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2]), "p50-ns")
	b.ReportMetric(float64(l[(len(l)*99)/100]), "p99-ns")
}

// BenchmarkRoundTrip: Send, the server echoes, the Message event arrives,
// MessageComplete.
func BenchmarkRoundTrip(b *testing.B) {
	raw := json.RawMessage(benchMsg)
	b.Run("appws", func(b *testing.B) {
		srv := echoServer(b)
		c := benchDial(b, srv.URL)
		defer benchClose(c)
		ctx := context.Background()
		evs := c.Events()
		lat := make(latencies, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		c.MessageComplete()
		for range b.N {
			t0 := time.Now()
			if _, err := c.Send(ctx, raw); err != nil {
				b.Fatal(err)
			}
			for {
				ev := <-evs
				if _, ok := ev.(appws.Message); ok {
					break
				}
			}
			c.MessageComplete()
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		lat.report(b)
	})
	b.Run("appws-Request", func(b *testing.B) {
		srv := echoServer(b)
		c := benchDial(b, srv.URL)
		defer benchClose(c)
		ctx := context.Background()
		lat := make(latencies, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			if _, err := c.Request(ctx, raw); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		lat.report(b)
	})
	b.Run("gorilla", func(b *testing.B) {
		srv := echoServer(b)
		ws := gorillaDial(b, srv.URL)
		defer gorillaClose(ws)
		lat := make(latencies, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			if err := ws.WriteMessage(websocket.TextMessage, raw); err != nil {
				b.Fatal(err)
			}
			if _, _, err := ws.ReadMessage(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		lat.report(b)
	})
}

// BenchmarkLogin: Dial to ConnectComplete. Closing is not timed.
func BenchmarkLogin(b *testing.B) {
	b.Run("appws", func(b *testing.B) {
		srv := idleServer(b)
		b.ReportAllocs()
		for range b.N {
			c := benchDial(b, srv.URL)
			b.StopTimer()
			benchClose(c)
			b.StartTimer()
		}
	})
	b.Run("gorilla", func(b *testing.B) {
		srv := idleServer(b)
		b.ReportAllocs()
		for range b.N {
			ws := gorillaDial(b, srv.URL)
			b.StopTimer()
			gorillaClose(ws)
			b.StartTimer()
		}
	})
}

// BenchmarkCrypto: the session-key helpers on 100 bytes. The digest's and
// the info's are package wire's (BenchmarkDigest).
func BenchmarkCrypto(b *testing.B) {
	key := appws.SessionKey(benchChallenge, benchPass)
	data := strings.Repeat("0123456789", 10)
	enc := appws.Encrypt(key, "seed", data)
	b.Run("Encrypt", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_ = appws.Encrypt(key, "seed", data)
		}
	})
	b.Run("Decrypt", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := appws.Decrypt(key, "seed", enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Hash", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_ = appws.Hash(key, "seed", data)
		}
	})
}
