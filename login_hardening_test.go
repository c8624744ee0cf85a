package appws_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
)

// Login hardening (issue 11): what a hostile or unlucky server can do to a
// login, and the typed errors users match on.

// scriptedLogin plays a server that answers AppChallenge with a challenge
// and AppLogin with loginResult.
func scriptedLogin(t *testing.T, loginResult string) *scripted {
	return newScripted(t, func(ws *websocket.Conn) {
		if _, ok := readMT(ws, "AppChallenge"); !ok {
			return
		}
		if !sendText(ws, `{"mt":"AppChallengeResult","challenge":"1234567890123456"}`) {
			return
		}
		if _, ok := readMT(ws, "AppLogin"); !ok {
			return
		}
		sendText(ws, loginResult)
		discard(ws)
	})
}

// checkBounded fails unless s is valid UTF-8, no longer than limit plus the
// cut mark, and ends in the cut mark.
func checkBounded(t *testing.T, what, s string, limit int) {
	t.Helper()
	const mark = "...[cut]"
	if !utf8.ValidString(s) || len(s) > limit+len(mark) || !strings.HasSuffix(s, mark) {
		t.Errorf("%s: %d bytes, valid UTF-8 %v, %.40q...%q", what, len(s), utf8.ValidString(s), s, s[max(0, len(s)-20):])
	}
}

// TestLoginErrorIsBounded: an AppLoginResult whose "error" and "errorText"
// are 3 MiB each gives a LoginError with 64 bytes of the code and 256 of
// the text, cut at a UTF-8 boundary and marked as cut; the log stays small
// too.
func TestLoginErrorIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		huge := "x" + strings.Repeat("é", 3<<19) // 3 MiB; 64 and 256 fall inside a rune
		srv := scriptedLogin(t, `{"mt":"AppLoginResult","ok":false,"error":"`+huge+`","errorText":"`+huge+`"}`)
		var logs logBuffer
		o := srv.options()
		o.ReadLimit = 8 << 20
		o.Logger = logs.logger()
		c, err := appws.Dial(context.Background(), o)
		if c != nil {
			closeAndDrain(t, c)
			t.Fatal("Dial succeeded")
		}
		var le *appws.LoginError
		if !errors.As(err, &le) {
			t.Fatalf("Dial = %.200v, want a *LoginError", err)
		}
		checkBounded(t, "Code", le.Code, 64)
		checkBounded(t, "Text", le.Text, 256)
		if n := len(err.Error()); n > 1024 {
			t.Errorf("error of %d bytes", n)
		}
		if n := len(logs.String()); n > 4096 {
			t.Errorf("%d bytes of log", n)
		}
	})
}

// TestLoginErrorKeepsShortText: a short error and errorText arrive whole,
// and a numeric error keeps its literal text.
func TestLoginErrorKeepsShortText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := scriptedLogin(t, `{"mt":"AppLoginResult","error":17,"errorText":"wrong password: é"}`)
		_, err := appws.Dial(context.Background(), srv.options())
		var le *appws.LoginError
		if !errors.As(err, &le) || le.Code != "17" || le.Text != "wrong password: é" {
			t.Fatalf("Dial = %v (%+v), want LoginError 17", err, le)
		}
	})
}

// TestLoginTimeoutIsTyped: a server that never answers AppChallenge makes
// Dial fail after LoginTimeout with a *ConnectError of the login step that
// matches ErrLoginTimeout, and that is neither a login rejection nor the
// caller's deadline.
func TestLoginTimeoutIsTyped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newScripted(t, discard)
		o := srv.options()
		o.LoginTimeout = 3 * time.Second
		c, err := appws.Dial(context.Background(), o)
		if c != nil {
			closeAndDrain(t, c)
			t.Fatal("Dial succeeded")
		}
		var ce *appws.ConnectError
		if !errors.Is(err, appws.ErrLoginTimeout) || !errors.As(err, &ce) {
			t.Fatalf("Dial = %v (%T), want ErrLoginTimeout", err, err)
		}
		if ce.Step != "login" || !ce.Timeout() {
			t.Errorf("ConnectError %+v", ce)
		}
		if want := "appws: login: timed out after 3s"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		var le *appws.LoginError
		if errors.As(err, &le) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("timeout %v also matches a rejection or the caller's deadline", err)
		}
	})
}

// TestServiceLoginRefusedIsTyped: a GetServiceLoginResult with an error
// fails the target's login with a *ServiceLoginError carrying the PBX's
// code and text, bounded like a LoginError's.
func TestServiceLoginRefusedIsTyped(t *testing.T) {
	const target = "target"
	huge := strings.Repeat("€", 1<<20) // 3 MiB
	cases := []struct {
		name, fields string
		code, text   string // "" with cut: bounded
		cut          bool
	}{
		{"number and text", `"error":3,"errorText":"no such app"`, "3", "no such app", false},
		{"string code", `"error":"NotAllowed"`, "NotAllowed", "", false},
		{"3 MiB code and text", `"error":"` + huge + `","errorText":"` + huge + `"`, "", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pbxSrv := newServer(t, appwstest.Config{Handler: func(s *appwstest.Session, m appws.Message) {
				src, _ := json.Marshal(m.Src)
				_ = s.SendText(`{"api":"Services","mt":"GetServiceLoginResult","src":` + string(src) + `,` + tc.fields + `}`)
			}})
			targetSrv := newServer(t, appwstest.Config{Apps: map[string]string{target: "target-pw"}})
			po := options(pbxSrv)
			po.ReadLimit = 8 << 20
			pbx := dial(t, po)
			nextAs[appws.ConnectComplete](t, pbx)
			o := options(targetSrv)
			o.App, o.Password = target, ""
			o.Authenticator = appws.ServicesAuthenticator(pbx)
			c, err := appws.Dial(context.Background(), o)
			if c != nil {
				closeAndDrain(t, c)
				t.Fatal("Dial succeeded")
			}
			var se *appws.ServiceLoginError
			if !errors.As(err, &se) {
				t.Fatalf("Dial = %.200v (%T), want a *ServiceLoginError", err, err)
			}
			if se.App != target {
				t.Errorf("App %q", se.App)
			}
			if tc.cut {
				checkBounded(t, "Code", se.Code, 64)
				checkBounded(t, "Text", se.Text, 256)
			} else if se.Code != tc.code || se.Text != tc.text {
				t.Errorf("Code %q Text %q, want %q %q", se.Code, se.Text, tc.code, tc.text)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "appws: ") || !strings.Contains(msg, "refused") || len(msg) > 1024 {
				t.Errorf("error %.300q", msg)
			}
			var le *appws.LoginError
			if errors.As(err, &le) {
				t.Errorf("a refused GetServiceLogin is not the target's LoginError: %v", err)
			}
		})
	}
}

// TestAppChallengeUserAndAppObj: AppChallenge is exactly
// {"mt":"AppChallenge"} unless Options.User or Options.AppObj is set; each
// set field is sent, JSON-escaped, and only then.
func TestAppChallengeUserAndAppObj(t *testing.T) {
	const odd = "a\"b\\c\n</d>é\u2028"
	cases := []struct {
		user, appObj, want string
	}{
		{"", "", `{"mt":"AppChallenge"}`},
		{"alice@example.com", "", `{"mt":"AppChallenge","user":"alice@example.com"}`},
		{"", "PBX0/APPS", `{"mt":"AppChallenge","appObj":"PBX0/APPS"}`},
		{odd, odd, `{"mt":"AppChallenge","user":"a\"b\\c\n</d>é` + "\u2028" + `","appObj":"a\"b\\c\n</d>é` + "\u2028" + `"}`},
	}
	for _, tc := range cases {
		synctest.Test(t, func(t *testing.T) {
			got := make(chan string, 1)
			srv := newScripted(t, func(ws *websocket.Conn) {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				got <- string(data)
				if !sendText(ws, `{"mt":"AppChallengeResult","challenge":"1234567890123456"}`) {
					return
				}
				if _, ok := readMT(ws, "AppLogin"); ok && sendText(ws, `{"mt":"AppLoginResult","ok":true}`) {
					discard(ws)
				}
			})
			o := srv.options()
			o.User, o.AppObj = tc.user, tc.appObj
			c := dial(t, o)
			nextAs[appws.ConnectComplete](t, c)
			msg := <-got
			if msg != tc.want {
				t.Errorf("User %q AppObj %q: sent %s, want %s", tc.user, tc.appObj, msg, tc.want)
			}
			var f map[string]string
			if err := json.Unmarshal([]byte(msg), &f); err != nil || f["user"] != tc.user || f["appObj"] != tc.appObj {
				t.Errorf("%s decodes to %q, %v", msg, f, err)
			}
		})
	}
}
