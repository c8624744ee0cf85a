package pbxadminapi

import (
	"encoding/json"
	"testing"

	"github.com/appwebsocket/appws"
)

// getObjectResult is a GetObjectResult of a typical user: two devices,
// groups, a diversion, presence and a stored password (1.1 KB).
const getObjectResult = `{"api":"PbxAdminApi","mt":"GetObjectResult","src":"appws-17",` +
	`"guid":"a1b2c3d4e5f60718293a4b5c6d7e8f90","cn":"Alice Smith","dn":"Alice Smith","h323":"alice",` +
	`"e164":"2710","pwd":"a50c0b9263f673a778f671fbf9e4358c856d2c3fe93f7b84","loc":"master","node":"root",` +
	`"config":"Users","apps":"phone,users,softphone,chat,contacts,calendar","filter":"internal",` +
	`"push":"push","messages":"messages","hide":false,"cfnr":20,"uclic":true,"voicemail":true,"mypbx":true,` +
	`"video":true,"app-sharing":true,` +
	`"devices":[{"hw":"0090333a1b2c","text":"Desk phone","app":"phone","tls":true,"trusted":true},` +
	`{"hw":"alice-softphone","text":"Softphone","app":"softphone","no-mob":true}],` +
	`"grp":[{"name":"sales","mode":"active"},{"name":"support","dyn":"in"}],` +
	`"presence":[{"c":"tel:","a":"busy","n":"in a meeting"},{"c":"im:","a":""}],` +
	`"cds":[{"type":"cfnr","ep":[{"e164":"2799","h323":"voicemail"}],"src":[{"type":"dont","ep":[{"ext":"true","e164":"0"}]}]}],` +
	`"wakeups":[{"h":7,"m":30,"name":"wakeup","retry":3,"mult":true,"to":60}],` +
	`"phone":{"language":"en","ringer":"1"}}`

// BenchmarkGetObjectResult decodes a GetObjectResult as GetObject.Do
// does, from the received appws.Message to the Object.
func BenchmarkGetObjectResult(b *testing.B) {
	reply := appws.Message{Session: 1, MT: "GetObjectResult", API: API, Src: "appws-17", Raw: json.RawMessage(getObjectResult)}
	b.SetBytes(int64(len(getObjectResult)))
	b.ReportAllocs()
	for b.Loop() {
		var res objectResult
		if err := decodeResult(reply, "GetObject", &res); err != nil || res.GUID == "" || len(res.Cds) != 1 {
			b.Fatal(err)
		}
	}
}
