package pbxadminapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxadminapi"
	"github.com/appwebsocket/appws/pbxadminapi/pbxadminapitest"
)

// msg builds a received message of session from its JSON text.
func msg(session uint64, raw string) appws.Message {
	var env struct{ MT, API, Src string }
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		panic(err)
	}
	return appws.Message{Session: session, MT: env.MT, API: env.API, Src: env.Src, Raw: json.RawMessage(raw)}
}

// dial starts an in-memory server with pbx as its handler and returns a
// client logged in to it; both end with the test.
func dial(t testing.TB, pbx *pbxadminapitest.Fake) *appws.Client {
	t.Helper()
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"admin": "pw"}, InMemory: true, Handler: pbx.Handler})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, srv.ClientOptions())
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
		srv.Close()
	})
	return c
}

// keys returns the top-level keys of a JSON object, sorted.
func keys(t testing.TB, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// replier is a Requester that answers every request with reply (its mt
// and body), or fails with err; it keeps what was requested.
type replier struct {
	reply string
	err   error
	sent  []json.RawMessage
}

func (r *replier) Request(_ context.Context, m any) (appws.Message, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return appws.Message{}, err
	}
	r.sent = append(r.sent, b)
	if r.err != nil {
		return appws.Message{}, r.err
	}
	return msg(1, r.reply), nil
}

// asError returns err as a *pbxadminapi.Error, failing the test if it is
// not one.
func asError(t testing.TB, err error) *pbxadminapi.Error {
	t.Helper()
	var e *pbxadminapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a *pbxadminapi.Error", err, err)
	}
	return e
}
