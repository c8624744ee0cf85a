package rcc

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/appwebsocket/appws"
)

// discard is an appws.Sender that sends nothing.
type discard struct{}

func (discard) Send(context.Context, any) (uint64, error) { return 0, nil }

func rccMsg(raw string) appws.Message {
	var env struct{ MT, Src string }
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		panic(err)
	}
	return appws.Message{Session: 1, MT: env.MT, API: API, Src: env.Src, Raw: json.RawMessage(raw)}
}

// userList returns the UserInfos of n users, and their UserInitializeResults
// in the order Sync sends the UserInitializes.
func userList(n int) (infos, results []appws.Message) {
	for i := range n {
		s := strconv.Itoa(i)
		infos = append(infos, rccMsg(`{"api":"RCC","mt":"UserInfo","src":"rcc-init-1","guid":"g`+s+`","cn":"u`+s+`"}`))
		results = append(results, rccMsg(`{"api":"RCC","mt":"UserInitializeResult","src":"rcc-user-`+strconv.Itoa(i+1)+`","user":`+strconv.Itoa(i+1)+`}`))
	}
	return infos, results
}

// syncWork runs a session of n users and returns the Monitor's loop steps:
// the whole list before one Sync (interleaved: a Sync after every user),
// and in the middle the UserInfo "del" of every other user still queued.
func syncWork(t *testing.T, n int, interleaved bool) uint64 {
	m := New(Config{})
	m.Handle(appws.ConnectComplete{Session: 1})
	ctx := context.Background()
	if err := m.Sync(ctx, discard{}); err != nil {
		t.Fatal(err)
	}
	infos, results := userList(n)
	for i, ui := range infos {
		m.Handle(ui)
		if interleaved {
			if err := m.Sync(ctx, discard{}); err != nil {
				t.Fatal(err)
			}
		}
		if i == n/2 && !interleaved {
			for j := 0; j < n/2; j += 2 {
				m.Handle(rccMsg(`{"api":"RCC","mt":"UserInfo","src":"rcc-init-1","update":"del","guid":"g` + strconv.Itoa(j) + `"}`))
			}
		}
	}
	m.Handle(rccMsg(`{"api":"RCC","mt":"InitializeResult","src":"rcc-init-1"}`))
	if err := m.Sync(ctx, discard{}); err != nil {
		t.Fatal(err)
	}
	var synced bool
	for _, r := range results {
		for _, ch := range m.Handle(r) {
			synced = synced || ch.Kind == Synced
		}
	}
	if !synced || m.Pending() {
		t.Fatalf("%d users: synced %v, pending %v", n, synced, m.Pending())
	}
	return m.work
}

// TestSyncIsLinear: the work of the Monitor grows linearly with the number
// of users, whether Sync runs after the whole list or after every user
// (bug: the users still to initialise were scanned for every user, which
// made Sync after the list of 100,000 users take 2 s against 0.77 s
// interleaved). It counts loop steps, not time, so it cannot flake.
func TestSyncIsLinear(t *testing.T) {
	t.Parallel()
	for _, interleaved := range []bool{false, true} {
		small, large := syncWork(t, 1000, interleaved), syncWork(t, 20000, interleaved)
		perSmall, perLarge := float64(small)/1000, float64(large)/20000
		if perLarge > 1.2*perSmall || perLarge > 10 {
			t.Errorf("interleaved %v: %.1f steps per user for 1,000 users, %.1f for 20,000: not linear", interleaved, perSmall, perLarge)
		}
	}
}
