package appws_test

// The Receive and Send benchmarks of bench_test.go over wss:// on loopback:
// the client ("appws") against bare gorilla/websocket ("gorilla") doing the
// same work through the same TLS server. Since appws makes the TLS
// connection itself and frames data messages above it, wss:// takes the
// write path of ws://; these show what TLS adds on either side.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws"
)

// overTLS serves what plain serves (its serve function: push, count, ...)
// over wss:// instead, and closes plain. It returns the server and a
// tls.Config that trusts it.
func overTLS(b testing.TB, plain *benchServer) (*benchServer, *tls.Config) {
	b.Helper()
	plain.Close()
	s := &benchServer{serve: plain.serve, conns: make(map[*websocket.Conn]struct{})}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.handle))
	s.URL = "wss" + strings.TrimPrefix(s.srv.URL, "https")
	b.Cleanup(s.Close)
	pool := x509.NewCertPool()
	pool.AddCert(s.srv.Certificate())
	return s, &tls.Config{RootCAs: pool}
}

// benchDialTLS is benchDial for wss://.
func benchDialTLS(b testing.TB, url string, cfg *tls.Config) *appws.Client {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	o := benchOptions(url)
	o.TLSConfig = cfg
	c, err := appws.Dial(ctx, o)
	if err != nil {
		b.Fatalf("Dial: %v", err)
	}
	if _, ok := (<-c.Events()).(appws.ConnectComplete); !ok {
		b.Fatal("first event is not ConnectComplete")
	}
	return c
}

// gorillaDialTLS is gorillaDial for wss://.
func gorillaDialTLS(b testing.TB, url string, cfg *tls.Config) *websocket.Conn {
	b.Helper()
	d := websocket.Dialer{TLSClientConfig: cfg}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		b.Fatalf("gorilla dial: %v", err)
	}
	if err := gorillaLogin(ws); err != nil {
		b.Fatal(err)
	}
	return ws
}

// BenchmarkTLSReceive: BenchmarkReceive over wss://.
func BenchmarkTLSReceive(b *testing.B) {
	b.Run("appws", func(b *testing.B) {
		srv, cfg := overTLS(b, pushServer(b, b.N, benchMsg))
		c := benchDialTLS(b, srv.URL, cfg)
		defer benchClose(c)
		receiveAppws(b, c)
	})
	b.Run("gorilla", func(b *testing.B) {
		srv, cfg := overTLS(b, pushServer(b, b.N, benchMsg))
		ws := gorillaDialTLS(b, srv.URL, cfg)
		defer gorillaClose(ws)
		receiveGorilla(b, ws)
	})
}

// BenchmarkTLSSend: BenchmarkSend/RawMessage over wss://; done when every
// SendResult is in and the server counted every frame.
func BenchmarkTLSSend(b *testing.B) {
	raw := json.RawMessage(benchMsg)
	var msg any = raw // converted once, as in BenchmarkSend
	b.Run("appws", func(b *testing.B) {
		var frames atomic.Int64
		srv, cfg := overTLS(b, countingServer(b, &frames))
		sendAppws(b, benchDialTLS(b, srv.URL, cfg), msg, len(raw), &frames)
	})
	b.Run("gorilla", func(b *testing.B) {
		var frames atomic.Int64
		srv, cfg := overTLS(b, countingServer(b, &frames))
		ws := gorillaDialTLS(b, srv.URL, cfg)
		defer gorillaClose(ws)
		sendGorilla(b, ws, msg, len(raw), &frames)
	})
}
