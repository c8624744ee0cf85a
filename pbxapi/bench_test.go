package pbxapi_test

import (
	"testing"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/pbxapi"
)

// BenchmarkWatcherPresenceUpdate: Handle on a PresenceUpdate of three
// items (one subscription of 100, matched by src), which changes the
// presence every time: decoding, comparing, keeping, and the Change with
// its copy of the subscription.
//
//	go test -run '^$' -bench WatcherPresenceUpdate -benchmem -cpu 1,2 ./pbxapi
func BenchmarkWatcherPresenceUpdate(b *testing.B) {
	w := pbxapi.New(pbxapi.Config{})
	for i := range 100 {
		_ = w.SubscribePresence(pbxapi.Target{SIP: "user" + string(rune('a'+i%26)) + string(rune('a'+i/26))})
	}
	w.Handle(appws.ConnectComplete{Session: 1})
	s := &recSender{}
	if err := w.Sync(b.Context(), s); err != nil {
		b.Fatal(err)
	}
	src := s.msgs[42].Src
	var msgs [2]appws.Message
	for i, act := range []string{"away", "busy"} {
		msgs[i] = msg(1, "PresenceUpdate", src, `"presence":[{"contact":"tel:","activity":"`+act+`","note":"back at 3"},`+
			`{"contact":"im:","status":"open","activity":""},{"contact":"calendar:","activity":"busy","note":"Weekly"}]`)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if chs := w.Handle(msgs[i&1]); len(chs) != 1 || chs[0].Kind != pbxapi.PresenceChanged {
			b.Fatalf("changes %v", chs)
		}
		i++
	}
}
