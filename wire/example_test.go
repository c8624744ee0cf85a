package wire_test

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"

	"github.com/appwebsocket/appws/wire"
)

// A server reads every message's envelope with ParseMessage and dispatches
// on it.
func ExampleParseMessage() {
	m, err := wire.ParseMessage([]byte(`{"api":"PbxSignal","mt":"Signal","src":"s1","sig":{"type":"setup"}}`))
	if err != nil {
		fmt.Println("ignored:", err)
		return
	}
	fmt.Println(m.API, m.MT, m.Src)

	_, err = wire.ParseMessage([]byte(`{"api":"PbxSignal"}`))
	fmt.Println(err)
	// Output:
	// PbxSignal Signal s1
	// appws: message has no string "mt"
}

// The canonical form keeps member order and number literals, drops the
// whitespace and undoes escapes JSON.stringify does not write.
func ExampleCanonicalInfo() {
	info, err := wire.CanonicalInfo(json.RawMessage(`{ "cn" : "Test User", "n" : 1.50, "s" : "\u00e9\/" }`))
	fmt.Println(string(info), err)
	_, err = wire.CanonicalInfo(json.RawMessage(`{"cn":"a","cn":"b"}`))
	fmt.Println(err)
	// Output:
	// {"cn":"Test User","n":1.50,"s":"é/"} <nil>
	// appws: info: duplicate key at offset 14
}

// A server checks an AppLogin against the challenge it sent and the app's
// password: the digest the client sent must be the one computed here. (The
// values are a test vector of innovaphone's AppWebsocket.htm.)
func ExampleLoginFields_Digest() {
	const challenge, password = "0123456789abcdef", "pwd"
	var login struct {
		App, Domain, SIP, GUID, DN, Digest string
		Info                               json.RawMessage
	}
	_ = json.Unmarshal([]byte(`{"mt":"AppLogin","app":"pbxadminapi","domain":"","sip":"","guid":"","dn":"",
		"info":{"cn":"Test User"},"digest":"96db3c3f657230c2b68194becc6d2a77f05de9f79f01fc81e9ca0fb196b10d9d"}`), &login)

	want, err := wire.LoginFields{App: login.App, Domain: login.Domain, SIP: login.SIP, GUID: login.GUID,
		DN: login.DN, Info: login.Info}.Digest(challenge, password)
	if err != nil {
		fmt.Println("bad info:", err)
		return
	}
	fmt.Println("accepted:", subtle.ConstantTimeCompare([]byte(login.Digest), []byte(want)) == 1)
	// Output:
	// accepted: true
}
