package pbxadminapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxadminapi"
	"github.com/appwebsocket/appws/pbxadminapi/pbxadminapitest"
)

// connect starts a test server in memory with pbx as the PBX, and logs in
// to it. stop closes both.
func connect(pbx *pbxadminapitest.Fake) (c *appws.Client, stop func()) {
	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"admin": "pw"}, InMemory: true, Handler: pbx.Handler})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := appws.Dial(ctx, srv.ClientOptions()) // in real life: wss://pbx/PBX0/APPS/websocket, app and password
	if err != nil {
		srv.Close()
		panic(err)
	}
	return c, func() {
		c.Close()
		for range c.Events() {
		}
		srv.Close()
	}
}

// A service follows the PBX's config with a ConfigMonitor: every event goes
// to Handle, Sync sends MonitorConfig (again after every reconnect), and
// Handled lets the next message in.
func Example() {
	pbx := pbxadminapitest.New(pbxadminapitest.Config{
		PBX: pbxadminapi.PBXConfig{Domain: "example.com", PBX: "pbx1", DNS: "pbx.example.com", IP4: "192.0.2.1"},
	})
	c, stop := connect(pbx)
	defer stop()
	ctx := context.Background()

	m := pbxadminapi.New(pbxadminapi.Config{})
	for ev := range c.Events() {
		for _, ch := range m.Handle(ev) {
			switch ch.Kind {
			case pbxadminapi.ConfigChanged:
				fmt.Println("config", ch.Config.PBX, ch.Config.DNS, ch.Config.IP4)
				if ch.Old != nil {
					c.Close() // enough for an example
				}
			case pbxadminapi.Synced:
				fmt.Println("synced")
				pbx.SetConfig(pbxadminapi.PBXConfig{Domain: "example.com", PBX: "pbx1", DNS: "pbx.example.com", IP4: "192.0.2.2"})
			case pbxadminapi.MonitorEnded:
				fmt.Println("monitoring ended, lost:", ch.Lost)
			case pbxadminapi.Invalid:
				fmt.Println("invalid:", ch.Err)
			}
		}
		if err := m.Sync(ctx, c); err != nil {
			fmt.Println("sync:", err) // sent again by the next Sync
		}
		c.Handled(ev)
	}
	// Output:
	// config pbx1 pbx.example.com 192.0.2.1
	// synced
	// config pbx1 pbx.example.com 192.0.2.2
	// monitoring ended, lost: true
}

func ExampleGetObject() {
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{
		{CN: "alice", DN: "Alice Smith", H323: "alice", E164: "10", Voicemail: true,
			Devices: []pbxadminapi.Device{{HW: "0090330a0b0c", Text: "desk"}}},
	}})
	c, stop := connect(pbx)
	defer stop()
	ctx := context.Background()

	o, err := pbxadminapi.GetObject{CN: "alice"}.Do(ctx, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.DN, o.E164, o.Voicemail, o.Devices[0].Text)
	b, _ := json.Marshal(o) // the PBX's names; no pwd
	fmt.Println(string(b))

	_, err = pbxadminapi.GetObject{CN: "nobody"}.Do(ctx, c)
	fmt.Println(errors.Is(err, pbxadminapi.ErrNotFound), err)
	// Output:
	// Alice Smith 10 true desk
	// {"guid":"f0000000000000000000000000000001","cn":"alice","dn":"Alice Smith","h323":"alice","e164":"10","voicemail":true,"devices":[{"hw":"0090330a0b0c","text":"desk"}]}
	// true pbxadminapi: GetObject: no such object
}

// UpdateObject sends only what is set: here a new user is created, then
// its number changed, its display name cleared and its own video setting
// deleted (the config template's applies), leaving the rest as it is.
func ExampleUpdateObject() {
	pbx := pbxadminapitest.New(pbxadminapitest.Config{})
	c, stop := connect(pbx)
	defer stop()
	ctx := context.Background()

	guid, err := pbxadminapi.UpdateObject{
		CN: pbxadminapi.Set("bob"), DN: pbxadminapi.Set("Bob"), H323: pbxadminapi.Set("bob"),
		E164: pbxadminapi.Set("11"), Video: pbxadminapi.True, Config: pbxadminapi.Set("Users"),
	}.Do(ctx, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = pbxadminapi.UpdateObject{
		GUID:  guid,
		E164:  pbxadminapi.Set("211"),
		DN:    pbxadminapi.Set(""),
		Video: pbxadminapi.Inherit,
	}.Do(ctx, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	o, _ := pbxadminapi.GetObject{GUID: guid}.Do(ctx, c)
	fmt.Printf("%s %q %s video:%v config:%s\n", o.CN, o.DN, o.E164, o.Video, o.Config)

	// By cn: "*" updates, "?" updates or creates.
	_, err = pbxadminapi.UpdateObject{GUID: pbxadminapi.ByCN, CN: pbxadminapi.Set("carol"), E164: pbxadminapi.Set("12")}.Do(ctx, c)
	fmt.Println(err)
	// Output:
	// bob "" 211 video:false config:Users
	// pbxadminapi: UpdateObject: error 1: no object with this cn
}

func ExampleDeleteObject() {
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{{CN: "alice"}, {CN: "bob"}}})
	c, stop := connect(pbx)
	defer stop()
	ctx := context.Background()

	o, _ := pbxadminapi.GetObject{CN: "alice"}.Do(ctx, c)
	if err := (pbxadminapi.DeleteObject{GUID: o.GUID}).Do(ctx, c); err != nil {
		fmt.Println(err)
		return
	}
	_, err := pbxadminapi.GetObject{CN: "alice"}.Do(ctx, c)
	fmt.Println(errors.Is(err, pbxadminapi.ErrNotFound))
	// Output:
	// true
}

// All reads every user, 20 a page; Do reads one page.
func ExampleSearchUsers_All() {
	var objs []pbxadminapi.Object
	for i := range 45 {
		objs = append(objs, pbxadminapi.Object{CN: fmt.Sprintf("user%02d", i)})
	}
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: objs})
	c, stop := connect(pbx)
	defer stop()
	ctx := context.Background()

	n, last := 0, ""
	for u, err := range (pbxadminapi.SearchUsers{}).All(ctx, c) {
		if err != nil {
			fmt.Println(err)
			return
		}
		n, last = n+1, u.CN
	}
	fmt.Println(n, "users, the last", last)
	page, _ := pbxadminapi.SearchUsers{CN: "user40"}.Do(ctx, c)
	fmt.Println(len(page), "after user40")
	// Output:
	// 45 users, the last user44
	// 4 after user40
}

func ExampleGetNodes_All() {
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Nodes: []pbxadminapi.Node{
		{Name: "root"}, {Name: "berlin", Node: "root", Loc: "master"}, {Name: "sales", Node: "berlin"},
	}})
	c, stop := connect(pbx)
	defer stop()
	ctx := context.Background()

	for n, err := range (pbxadminapi.GetNodes{Limit: 2}).All(ctx, c) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s parent=%q loc=%q\n", n.Name, n.Node, n.Loc)
	}
	// Output:
	// berlin parent="root" loc="master"
	// root parent="" loc=""
	// sales parent="berlin" loc=""
}

func ExampleGetRegs() {
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{{CN: "alice"}}})
	_ = pbx.SetRegs("alice", pbxadminapi.Reg{HW: "0090330a0b0c", Addr: "192.0.2.7"})
	c, stop := connect(pbx)
	defer stop()

	r, err := pbxadminapi.GetRegs{CN: "alice"}.Do(context.Background(), c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.CN, r.Regs)
	// Output:
	// alice [{0090330a0b0c 192.0.2.7}]
}

func ExampleGetGroup() {
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{
		{CN: "alice", Grp: []pbxadminapi.Group{{Name: "sales", Mode: "active"}}},
		{CN: "bob", Grp: []pbxadminapi.Group{{Name: "sales", Dyn: "out"}}},
	}})
	c, stop := connect(pbx)
	defer stop()

	members, err := pbxadminapi.GetGroup{Grp: "sales"}.Do(context.Background(), c)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range members {
		fmt.Printf("%s active=%v dyn=%q\n", m.CN, m.Active, m.Dyn)
	}
	// Output:
	// alice active=true dyn=""
	// bob active=false dyn="out"
}

func ExampleGetGroups() {
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{
		{CN: "alice", Grp: []pbxadminapi.Group{{Name: "sales"}, {Name: "support"}}},
		{CN: "bob", Grp: []pbxadminapi.Group{{Name: "sales"}}},
	}})
	c, stop := connect(pbx)
	defer stop()

	groups, err := pbxadminapi.GetGroups{}.Do(context.Background(), c)
	fmt.Println(groups, err)
	// Output:
	// [sales support] <nil>
}

func ExampleGetConfigObjects() {
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{
		{CN: "Users", Config: "Base", Pseudo: json.RawMessage(`{"type":"config"}`)},
		{CN: "Base", Pseudo: json.RawMessage(`{"type":"config"}`)},
		{CN: "alice", Config: "Users"},
	}})
	c, stop := connect(pbx)
	defer stop()

	templates, err := pbxadminapi.GetConfigObjects{}.Do(context.Background(), c)
	fmt.Println(templates, err)
	// Output:
	// [{Users [Base]} {Base []}] <nil>
}

func ExampleGetAppObjects() {
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{
		{CN: "users-app", DN: "Users", H323: "users-app", Pseudo: json.RawMessage(`{"type":"app","url":"https://ap.example.com/users/app"}`)},
		{CN: "alice"},
	}})
	c, stop := connect(pbx)
	defer stop()

	apps, err := pbxadminapi.GetAppObjects{URI: "https://ap.example.com/"}.Do(context.Background(), c)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range apps {
		fmt.Println(a.Title, a.SIP, a.URL)
	}
	// Output:
	// Users users-app https://ap.example.com/users/app
}

// A password is set in the form the PBX stores: the ConfigMonitor, with
// AdminObject, brings the admin object's key, which the PBX password
// (from the administrator, here from the fake) decrypts.
func ExampleSetPassword() {
	const pbxPassword = "pbx-Secret" // the PBX's security password
	pbx := pbxadminapitest.New(pbxadminapitest.Config{PBXPassword: pbxPassword, Objects: []pbxadminapi.Object{{CN: "alice"}}})
	c, stop := connect(pbx)
	defer stop()
	ctx := context.Background()

	m := pbxadminapi.New(pbxadminapi.Config{AdminObject: true})
	for ev := range c.Events() {
		for _, ch := range m.Handle(ev) {
			if ch.Kind != pbxadminapi.Synced {
				continue
			}
			admin, _ := m.AdminKey()
			_, err := pbxadminapi.SetPassword{
				GUID: pbxadminapi.ByCN, CN: "alice", Password: "n3w-Passw0rd",
				PBXPassword: pbxPassword, Admin: admin,
			}.Do(ctx, c)
			fmt.Println("set:", err)
			_, err = pbxadminapi.SetPassword{
				GUID: pbxadminapi.ByCN, CN: "alice", Password: "x",
				PBXPassword: "a wrong one", Admin: admin,
			}.Do(ctx, c)
			fmt.Println("wrong PBX password:", err)
			c.Close()
		}
		if err := m.Sync(ctx, c); err != nil {
			fmt.Println("sync:", err)
		}
		c.Handled(ev)
	}
	fmt.Println(pbx.Password("alice")) // the fake decrypts what it stored
	// Output:
	// set: <nil>
	// wrong PBX password: pbxadminapi: the PBX password does not match the admin object
	// n3w-Passw0rd <nil>
}

// The public example of innovaphone's wiki: PBX password "pwd", and the
// admin object's key and pwd as MonitorAdminObjectInfo reports them.
func ExampleEncryptPassword() {
	admin, err := pbxadminapi.ParseAdminKey("566e2a2f1d259e4136046d5cbacaea9f", "a61e0ce0068273a778f671fbf9e4358c")
	if err != nil {
		fmt.Println(err)
		return
	}
	stored, err := pbxadminapi.EncryptPassword(admin, "pwd", "secret")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(stored)         // a Secret prints redacted
	fmt.Println(string(stored)) // its value
	fmt.Println(pbxadminapi.DecryptPassword(admin, "pwd", stored))
	// Output:
	// [redacted]
	// a50c0b9263f673a778f671fbf9e4358c856d2c3fe93f7b84
	// secret <nil>
}
