package appws_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// TestRequestErrors: a Request that is not a valid message fails at the
// call; one over MaxMessageSize says its size and the limit; one whose
// session ends after the write says ErrNoReply and why.
func TestRequestErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t, appwstest.Config{InMemory: true, Handler: func(s *appwstest.Session, m appws.Message) {
		if m.MT == "Crash" {
			s.Drop()
		}
	}})
	o := options(srv)
	o.MaxMessageSize = 100
	c := dial(t, o)
	nextAs[appws.ConnectComplete](t, c)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	var ce *appws.ConfigError
	if _, err := c.Request(ctx, map[string]int{"mt": 1}); !errors.As(err, &ce) {
		t.Errorf("Request without a string mt = %v, want a *ConfigError", err)
	}
	_, err := c.Request(ctx, map[string]string{"mt": "Big", "text": strings.Repeat("x", 200)})
	var tl *appws.MessageTooLargeError
	if !errors.As(err, &tl) || tl.Limit != 100 ||
		err.Error() != fmt.Sprintf("appws: message of %d bytes exceeds MaxMessageSize of 100", tl.Size) {
		t.Errorf("Request over MaxMessageSize = %v", err)
	}
	_, err = c.Request(ctx, map[string]string{"mt": "Crash"})
	var le *appws.ConnectionError
	if !errors.Is(err, appws.ErrNoReply) || !errors.As(err, &le) ||
		!strings.HasPrefix(err.Error(), appws.ErrNoReply.Error()+": ") {
		t.Errorf("Request whose session dropped = %v, want ErrNoReply and the ConnectionError", err)
	}
}
