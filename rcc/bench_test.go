package rcc_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/rcc"
)

// BenchmarkMonitorCallInfo feeds CallInfo updates of one call through
// Handle: the cost of one update (1,000 a second is 1,000 times this).
// The release ends the call, so every fourth message starts a new one.
func BenchmarkMonitorCallInfo(b *testing.B) {
	m, _ := monitored(b, rcc.Config{})
	var msgs []appws.Message
	for call := 1; call <= 4096; call++ {
		c := strconv.Itoa(call)
		for _, s := range []string{`"state":129,"msg":"x-setup"`, `"state":132,"msg":"r-alert"`, `"state":133,"msg":"r-conn"`, `"state":133,"msg":"r-rel"`} {
			msgs = append(msgs, msg(1, `{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":`+c+
				`,"conf":"0123456789abcdef0123456789abcdef",`+s+`,"peer":{"type":"peer","e164":"200","dn":"Bob"}}`))
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i > 0 && i%len(msgs) == 0 {
			// A new session, so the calls are new again.
			b.StopTimer()
			m, _ = monitored(b, rcc.Config{})
			b.StartTimer()
		}
		if len(m.Handle(msgs[i%len(msgs)])) != 1 {
			b.Fatal("no change")
		}
	}
}

// BenchmarkMonitor100kUsers is one session of 100,000 watched users: the
// list, the UserInitializes Sync sends and their Results, with Sync after
// the whole list (listThenSync) or after every message (interleaved).
func BenchmarkMonitor100kUsers(b *testing.B) {
	const n = 100_000
	var infos, results []appws.Message
	for i := range n {
		s := strconv.Itoa(i)
		infos = append(infos, msg(1, `{"api":"RCC","mt":"UserInfo","src":"rcc-init-1","guid":"g`+s+`","cn":"u`+s+`","e164":"`+s+`"}`))
		results = append(results, msg(1, `{"api":"RCC","mt":"UserInitializeResult","src":"rcc-user-`+strconv.Itoa(i+1)+`","user":`+strconv.Itoa(i+1)+`}`))
	}
	done := msg(1, `{"api":"RCC","mt":"InitializeResult","src":"rcc-init-1"}`)
	for _, interleaved := range []bool{false, true} {
		name := "listThenSync"
		if interleaved {
			name = "interleaved"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var s discard
			b.ReportAllocs()
			for b.Loop() {
				m := rcc.New(rcc.Config{})
				m.Handle(appws.ConnectComplete{Session: 1})
				_ = m.Sync(ctx, s)
				for _, ui := range infos {
					m.Handle(ui)
					if interleaved {
						_ = m.Sync(ctx, s)
					}
				}
				m.Handle(done)
				_ = m.Sync(ctx, s)
				var synced bool
				for _, r := range results {
					for _, ch := range m.Handle(r) {
						synced = synced || ch.Kind == rcc.Synced
					}
				}
				if !synced {
					b.Fatal("not synced")
				}
			}
		})
	}
}

// discard is an appws.Sender that sends nothing.
type discard struct{}

func (discard) Send(context.Context, any) (uint64, error) { return 0, nil }
