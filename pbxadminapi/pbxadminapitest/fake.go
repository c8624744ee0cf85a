// Package pbxadminapitest is a fake of the PBX's PbxAdminApi for tests of
// code that uses package pbxadminapi, to plug into an appwstest.Server:
//
//	pbx := pbxadminapitest.New(pbxadminapitest.Config{
//		PBXPassword: "pbx-secret",
//		Objects:     []pbxadminapi.Object{{CN: "alice", H323: "alice", E164: "10"}},
//	})
//	srv := appwstest.NewServer(appwstest.Config{Apps: map[string]string{"admin": "pw"}, Handler: pbx.Handler})
//
// It keeps PBX objects and speaks what PbxAdminApi.htm (13r1 SDK build
// 132940) documents, and where the page is silent the choices of package
// pbxadminapi's doc:
//
//   - UpdateObject applies only the properties present: a boolean sent as
//     a number, and a string sent as "", delete the property; guid ""
//     creates an object (cn required), "*" updates the one with the cn,
//     "?" updates or creates it, another guid updates that object or
//     creates one with it. cn and h323 are unique. pwd is stored as sent
//     (the encrypted form); copyPwd copies the pwd of the object with that
//     h323, and is refused for objects without a pseudo configuration or
//     of pseudo type "executive". The Result carries the guid; a refused
//     update carries "error" (a number) and "errorText", and changes
//     nothing.
//   - GetObject returns every stored property, pwd included; for an
//     unknown object a Result without guid. GetRegs likewise, without cn.
//   - SearchUsers returns up to 20 users (objects without pseudo, or of
//     pseudo type "executive") in cn order (byte order), after cn, or from
//     it with includeMatch. GetNodes returns limit nodes (at most 200, 0:
//     all) in name order after last. RepeatPages makes both ignore where
//     to start, as a PBX that never ends paging.
//   - GetGroup returns up to 64 members of the objects' grp, GetGroups the
//     group names in order; GetConfigObjects the objects of pseudo type
//     "config" (their config split at commas); GetAppObjects the objects
//     whose pseudo has a "url" (title dn, sip h323, app and url from the
//     pseudo).
//   - DeleteObject deletes at once; its Result comes for unknown guids
//     too.
//   - MonitorConfig: Result, then a MonitorConfigInfo with its src, and one
//     on every SetConfig; stop ends it. MonitorAdminObject: Result, then a
//     MonitorAdminObjectInfo (key and pwd) with its src, and one on every
//     SetPBXPassword.
//   - The admin object is made from Config.PBXPassword and the PBX key
//     Config.Key as innovaphone's wiki describes: key = RC4(PBX password
//     zero-padded to 16 bytes, K), pwd = RC4(K, PBX password zero-padded
//     to 16 bytes), both in hex.
//
// Other PbxAdminApi messages are ignored, as the PBX ignores what it does
// not know; messages of other APIs go to the next handler. Every PbxAdminApi
// message is recorded (Received, WaitFor). The scripting methods send to
// the sessions before they return; with an in-memory server call them
// where the client reads. All methods are safe for concurrent use.
package pbxadminapitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rc4"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/appwstest"
	"github.com/appwebsocket/appws/pbxadminapi"
)

// Config configures a Fake.
type Config struct {
	// PBXPassword is the PBX's security password, which encrypts the PBX
	// key in the admin object ("" is an empty password). At most 16 bytes.
	PBXPassword string
	// Key is the PBX key, 16 bytes; nil: a random one.
	Key []byte
	// PBX is what MonitorConfigInfo reports.
	PBX pbxadminapi.PBXConfig
	// Objects are the PBX's objects at the start (an empty GUID gets one).
	Objects []pbxadminapi.Object
	// Nodes are the PBX's nodes and locations.
	Nodes []pbxadminapi.Node
}

// Fake is the fake PBX. Make one with New.
type Fake struct {
	mu            sync.Mutex
	k             []byte
	adminKey      string // hex, as MonitorAdminObjectInfo sends it
	adminPwd      string
	pbx           pbxadminapi.PBXConfig
	objects       []*object // in the order they were made
	nodes         []pbxadminapi.Node
	regs          map[string][]pbxadminapi.Reg // by guid
	nextGUID      int
	cfgMonitors   []sub
	adminMonitors []sub
	fail          map[string]failure
	repeatPages   bool
	received      appwstest.Record // the PbxAdminApi messages, from every session
}

type object struct {
	guid  string
	props map[string]json.RawMessage // as the PBX stores them, guid apart
}

type sub struct {
	ss  *appwstest.Session
	src string
}

type failure struct {
	code int
	text string
}

// New returns a fake PBX. It panics if cfg is invalid (a PBX password over
// 16 bytes, a Key that is not 16 bytes, objects that clash), as
// appwstest.NewServer does.
func New(cfg Config) *Fake {
	if len(cfg.PBXPassword) > pbxadminapi.MaxPBXPasswordLen {
		panic("pbxadminapitest: Config.PBXPassword is over 16 bytes")
	}
	k := bytes.Clone(cfg.Key)
	if k == nil {
		k = make([]byte, 16)
		rand.Read(k)
	}
	if len(k) != 16 {
		panic("pbxadminapitest: Config.Key is not 16 bytes")
	}
	f := &Fake{k: k, pbx: cfg.PBX, regs: map[string][]pbxadminapi.Reg{}, fail: map[string]failure{}}
	f.setAdminLocked(cfg.PBXPassword)
	for _, o := range cfg.Objects {
		if _, err := f.Put(o); err != nil {
			panic(err)
		}
	}
	f.nodes = slices.Clone(cfg.Nodes)
	return f
}

func rc4x(key, data []byte) []byte {
	c, err := rc4.NewCipher(key)
	if err != nil {
		panic(err)
	}
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

func pad(s string, n int) []byte {
	b := make([]byte, n)
	copy(b, s)
	return b
}

func (f *Fake) setAdminLocked(pbxPassword string) {
	f.adminKey = hex.EncodeToString(rc4x(pad(pbxPassword, 16), f.k))
	f.adminPwd = hex.EncodeToString(rc4x(f.k, pad(pbxPassword, 16)))
}

// Handler handles the PbxAdminApi messages of a session and passes the
// others to appwstest.Echo. Use it as appwstest.Config.Handler.
func (f *Fake) Handler(ss *appwstest.Session, m appws.Message) { f.handle(ss, m, appwstest.Echo) }

// Wrap returns a Handler that handles PbxAdminApi messages and passes the
// others to next (nil: appwstest.Echo), to compose fakes.
func (f *Fake) Wrap(next func(*appwstest.Session, appws.Message)) func(*appwstest.Session, appws.Message) {
	if next == nil {
		next = appwstest.Echo
	}
	return func(ss *appwstest.Session, m appws.Message) { f.handle(ss, m, next) }
}

// request is the union of the request fields the fake reads.
type request struct {
	GUID         string `json:"guid"`
	CN           string `json:"cn"`
	IncludeMatch bool   `json:"includeMatch"`
	Grp          string `json:"grp"`
	Limit        int    `json:"limit"`
	Last         string `json:"last"`
	URI          string `json:"uri"`
	// Pseudo is GetAppObjects' string, UpdateObject's object.
	Pseudo json.RawMessage `json:"pseudo"`
	Stop   bool            `json:"stop"`
}

// boolProps are the boolean properties of an object: sent as a number they
// are deleted.
var boolProps = map[string]bool{"hide": true, "colr": true, "uclic": true, "voicemail": true, "fax": true,
	"mobility": true, "mypbx": true, "video": true, "app-sharing": true, "reporting": true, "no-dev": true}

func (f *Fake) handle(ss *appwstest.Session, m appws.Message, next func(*appwstest.Session, appws.Message)) {
	if m.API != pbxadminapi.API {
		next(ss, m)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.received.Add(ss, m)
	f.pruneLocked()
	var req request
	if err := m.Decode(&req); err != nil {
		return // not what the PBX understands: ignored
	}
	reply := map[string]any{"api": pbxadminapi.API, "mt": m.MT + "Result"}
	if m.Src != "" {
		reply["src"] = m.Src
	}
	if fl, ok := f.fail[m.MT]; ok {
		delete(f.fail, m.MT)
		reply["error"], reply["errorText"] = fl.code, fl.text
		send(ss, reply)
		return
	}
	switch m.MT {
	case "GetObject":
		if o := f.findLocked(req.GUID, req.CN); o != nil {
			for k, v := range o.props {
				reply[k] = v
			}
			reply["guid"] = o.guid
		}
	case "UpdateObject":
		guid, code, text := f.updateLocked(m.Raw)
		if code != 0 {
			reply["error"], reply["errorText"] = code, text
		} else {
			reply["guid"] = guid
		}
	case "DeleteObject":
		if o := f.findLocked(req.GUID, ""); o != nil {
			f.objects = slices.DeleteFunc(f.objects, func(x *object) bool { return x == o })
			delete(f.regs, o.guid)
		}
	case "SearchUsers":
		reply["user"] = f.searchLocked(req)
	case "GetRegs":
		if o := f.findLocked(req.GUID, req.CN); o != nil {
			reply["cn"] = o.str("cn")
			reply["regs"] = nonNil(f.regs[o.guid])
		}
	case "GetGroup":
		reply["member"] = f.membersLocked(req.Grp)
	case "GetGroups":
		reply["groups"] = f.groupsLocked()
	case "GetNodes":
		reply["nodes"] = f.nodesLocked(req)
	case "GetConfigObjects":
		reply["objects"] = f.templatesLocked()
	case "GetAppObjects":
		reply["objects"] = f.appsLocked(req)
	case "MonitorConfig":
		f.cfgMonitors = slices.DeleteFunc(f.cfgMonitors, func(s sub) bool { return s.ss == ss })
		send(ss, reply)
		if !req.Stop {
			s := sub{ss, m.Src}
			f.cfgMonitors = append(f.cfgMonitors, s)
			send(ss, f.configInfoLocked(s))
		}
		return
	case "MonitorAdminObject":
		f.adminMonitors = slices.DeleteFunc(f.adminMonitors, func(s sub) bool { return s.ss == ss })
		send(ss, reply)
		s := sub{ss, m.Src}
		f.adminMonitors = append(f.adminMonitors, s)
		send(ss, f.adminInfoLocked(s))
		return
	default:
		return // the PBX ignores what it does not know
	}
	send(ss, reply)
}

// nonNil returns s, or an empty slice for nil: the PBX's arrays are [],
// never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// send sends msg to ss; a failure means the session is going away.
func send(ss *appwstest.Session, msg any) { _ = ss.Send(msg) }

// pruneLocked forgets the monitors of sessions that ended.
func (f *Fake) pruneLocked() {
	gone := func(s sub) bool {
		select {
		case <-s.ss.Done():
			return true
		default:
			return false
		}
	}
	f.cfgMonitors = slices.DeleteFunc(f.cfgMonitors, gone)
	f.adminMonitors = slices.DeleteFunc(f.adminMonitors, gone)
}

func (o *object) str(key string) string {
	var s string
	_ = json.Unmarshal(o.props[key], &s)
	return s
}

// pseudo returns the object's pseudo configuration, nil for a user.
func (o *object) pseudo() map[string]any {
	var p map[string]any
	_ = json.Unmarshal(o.props["pseudo"], &p)
	return p
}

func (o *object) pseudoType() string {
	t, _ := o.pseudo()["type"].(string)
	return t
}

func (f *Fake) findLocked(guid, cn string) *object {
	for _, o := range f.objects {
		if guid != "" && strings.EqualFold(o.guid, guid) || guid == "" && cn != "" && o.str("cn") == cn {
			return o
		}
	}
	return nil
}

func (f *Fake) newGUIDLocked() string {
	for {
		f.nextGUID++
		g := fmt.Sprintf("f%031x", f.nextGUID)
		if f.findLocked(g, "") == nil {
			return g
		}
	}
}

// Codes of the errors the fake answers an UpdateObject with (innovaphone
// documents none).
const (
	ErrCodeNotFound  = 1 // guid "*": no object with the cn
	ErrCodeNoCN      = 2 // a new object without cn
	ErrCodeClash     = 3 // cn or h323 used by another object
	ErrCodeCopyPwd   = 4 // copyPwd of an unknown h323, or for a user
	ErrCodeBadUpdate = 5 // a property of the wrong type
)

// updateLocked applies an UpdateObject: all of it or, with an error code,
// nothing.
func (f *Fake) updateLocked(raw json.RawMessage) (guid string, code int, text string) {
	var props map[string]json.RawMessage
	if err := json.Unmarshal(raw, &props); err != nil {
		return "", ErrCodeBadUpdate, "not an object"
	}
	str := func(key string) (string, bool) {
		var s string
		v, ok := props[key]
		if ok && json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, ok
	}
	for _, k := range []string{"guid", "cn", "h323", "pwd", "copyPwd"} {
		if _, ok := props[k]; ok {
			if _, ok := str(k); !ok {
				return "", ErrCodeBadUpdate, k + " is not a string"
			}
		}
	}
	guid, _ = str("guid")
	copyPwd, _ := str("copyPwd")
	cn, hasCN := str("cn")
	for _, k := range []string{"api", "mt", "src", "guid", "copyPwd"} {
		delete(props, k)
	}
	var target *object
	switch guid {
	case pbxadminapi.ByCN, pbxadminapi.ByCNOrCreate:
		if cn == "" {
			return "", ErrCodeNoCN, "no cn"
		}
		target = f.findLocked("", cn)
		if target == nil && guid == pbxadminapi.ByCN {
			return "", ErrCodeNotFound, "no object with this cn"
		}
		guid = ""
	case "":
	default:
		target = f.findLocked(guid, "")
	}
	o := &object{guid: guid, props: map[string]json.RawMessage{}}
	if target != nil {
		o.guid = target.guid
		for k, v := range target.props {
			o.props[k] = v
		}
	} else if !hasCN || cn == "" {
		return "", ErrCodeNoCN, "a new object needs a cn"
	}
	for k, v := range props {
		v = bytes.TrimSpace(v)
		switch {
		case string(v) == "null" || string(v) == `""`:
			delete(o.props, k)
		case boolProps[k] && v[0] != 't' && v[0] != 'f':
			var n json.Number
			if json.Unmarshal(v, &n) != nil {
				return "", ErrCodeBadUpdate, k + " is not a boolean or a number"
			}
			delete(o.props, k)
		default:
			o.props[k] = bytes.Clone(v)
		}
	}
	if copyPwd != "" {
		src := f.findByLocked("h323", copyPwd)
		if src == nil {
			return "", ErrCodeCopyPwd, "copyPwd: no object with this h323"
		}
		if p := o.pseudoType(); p == "" || p == "executive" {
			return "", ErrCodeCopyPwd, "copyPwd is not allowed for users and executives"
		}
		if pwd, ok := src.props["pwd"]; ok {
			o.props["pwd"] = pwd
		} else {
			delete(o.props, "pwd")
		}
	}
	if o.str("cn") == "" {
		return "", ErrCodeNoCN, "the cn cannot be removed"
	}
	if err := f.clashLocked(o, target); err != "" {
		return "", ErrCodeClash, err
	}
	if target != nil {
		target.props = o.props
		return target.guid, 0, ""
	}
	if o.guid == "" {
		o.guid = f.newGUIDLocked()
	}
	f.objects = append(f.objects, o)
	return o.guid, 0, ""
}

func (f *Fake) findByLocked(key, value string) *object {
	for _, o := range f.objects {
		if o.str(key) == value {
			return o
		}
	}
	return nil
}

// clashLocked says which unique property of o another object than self
// has too.
func (f *Fake) clashLocked(o, self *object) string {
	for _, x := range f.objects {
		if x == self {
			continue
		}
		if x.str("cn") == o.str("cn") {
			return "cn is used by another object"
		}
		if h := o.str("h323"); h != "" && x.str("h323") == h {
			return "h323 is used by another object"
		}
	}
	return ""
}

func (f *Fake) searchLocked(req request) []pbxadminapi.User {
	var users []pbxadminapi.User
	for _, o := range f.objects {
		if p := o.pseudoType(); p != "" && p != "executive" {
			continue
		}
		users = append(users, pbxadminapi.User{CN: o.str("cn"), DN: o.str("dn"), GUID: o.guid, H323: o.str("h323")})
	}
	slices.SortFunc(users, func(a, b pbxadminapi.User) int { return strings.Compare(a.CN, b.CN) })
	if !f.repeatPages {
		users = slices.DeleteFunc(users, func(u pbxadminapi.User) bool {
			return u.CN < req.CN || u.CN == req.CN && !req.IncludeMatch
		})
	}
	users = users[:min(len(users), 20)]
	return nonNil(users)
}

func (f *Fake) membersLocked(grp string) []pbxadminapi.Member {
	members := []pbxadminapi.Member{}
	for _, o := range f.objects {
		var groups []pbxadminapi.Group
		_ = json.Unmarshal(o.props["grp"], &groups)
		for _, g := range groups {
			if g.Name == grp && len(members) < 64 {
				members = append(members, pbxadminapi.Member{CN: o.str("cn"), DN: o.str("dn"), GUID: o.guid,
					Pseudo: o.pseudoType(), Active: g.Mode == "active", Dyn: g.Dyn})
			}
		}
	}
	return members
}

func (f *Fake) groupsLocked() []string {
	names := []string{}
	for _, o := range f.objects {
		var groups []pbxadminapi.Group
		_ = json.Unmarshal(o.props["grp"], &groups)
		for _, g := range groups {
			names = append(names, g.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func (f *Fake) nodesLocked(req request) []pbxadminapi.Node {
	nodes := slices.Clone(f.nodes)
	slices.SortFunc(nodes, func(a, b pbxadminapi.Node) int { return strings.Compare(a.Name, b.Name) })
	if !f.repeatPages {
		nodes = slices.DeleteFunc(nodes, func(n pbxadminapi.Node) bool { return req.Last != "" && n.Name <= req.Last })
	}
	if limit := min(req.Limit, pbxadminapi.MaxNodesPage); limit > 0 {
		nodes = nodes[:min(len(nodes), limit)]
	}
	return nonNil(nodes)
}

func (f *Fake) templatesLocked() []pbxadminapi.Template {
	out := []pbxadminapi.Template{}
	for _, o := range f.objects {
		if o.pseudoType() != "config" {
			continue
		}
		t := pbxadminapi.Template{CN: o.str("cn")}
		if c := o.str("config"); c != "" {
			t.Config = strings.Split(c, ",")
		}
		out = append(out, t)
	}
	return out
}

func (f *Fake) appsLocked(req request) []pbxadminapi.AppObject {
	out := []pbxadminapi.AppObject{}
	for _, o := range f.objects {
		p := o.pseudo()
		url, _ := p["url"].(string)
		var want string
		_ = json.Unmarshal(req.Pseudo, &want)
		if url == "" || !strings.HasPrefix(url, req.URI) || want != "" && o.pseudoType() != want {
			continue
		}
		app, _ := p["app"].(string)
		out = append(out, pbxadminapi.AppObject{Title: o.str("dn"), App: app, URL: url, GUID: o.guid,
			SIP: o.str("h323"), Pseudo: o.pseudoType()})
	}
	return out
}

func (f *Fake) configInfoLocked(s sub) map[string]any {
	m := map[string]any{"api": pbxadminapi.API, "mt": "MonitorConfigInfo", "domain": f.pbx.Domain,
		"pbx": f.pbx.PBX, "dns": f.pbx.DNS, "ip4": f.pbx.IP4}
	if s.src != "" {
		m["src"] = s.src
	}
	return m
}

func (f *Fake) adminInfoLocked(s sub) map[string]any {
	m := map[string]any{"api": pbxadminapi.API, "mt": "MonitorAdminObjectInfo", "key": f.adminKey, "pwd": f.adminPwd}
	if s.src != "" {
		m["src"] = s.src
	}
	return m
}

// Put adds o, or replaces the object with o's GUID, and returns its guid.
// Its Pwd is stored as given (the encrypted form; SetPassword stores a
// plain one). It sends nothing.
func (f *Fake) Put(o pbxadminapi.Object) (string, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return "", err
	}
	obj := &object{guid: o.GUID}
	if err := json.Unmarshal(b, &obj.props); err != nil {
		return "", err
	}
	delete(obj.props, "guid")
	if o.Pwd != "" {
		obj.props["pwd"], _ = json.Marshal(string(o.Pwd))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if o.CN == "" {
		return "", fmt.Errorf("pbxadminapitest: Put: an object needs a cn")
	}
	old := f.findLocked(o.GUID, "")
	if o.GUID == "" {
		old = nil
	}
	if e := f.clashLocked(obj, old); e != "" {
		return "", fmt.Errorf("pbxadminapitest: Put %q: %s", o.CN, e)
	}
	if old != nil {
		old.props = obj.props
		return old.guid, nil
	}
	if obj.guid == "" {
		obj.guid = f.newGUIDLocked()
	}
	f.objects = append(f.objects, obj)
	return obj.guid, nil
}

// Object returns the object with cn as GetObject decodes it.
func (f *Fake) Object(cn string) (pbxadminapi.Object, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.findLocked("", cn)
	if o == nil {
		return pbxadminapi.Object{}, false
	}
	var out pbxadminapi.Object
	b, _ := json.Marshal(o.props)
	_ = json.Unmarshal(b, &out)
	out.GUID = o.guid
	return out, true
}

// Stored returns the properties stored for the object with cn, as one JSON
// object with sorted keys (guid apart): what an UpdateObject changed and
// left alone.
func (f *Fake) Stored(cn string) (json.RawMessage, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.findLocked("", cn)
	if o == nil {
		return nil, false
	}
	b, _ := json.Marshal(o.props)
	return b, true
}

// Objects returns the cns of the objects, in the order they were made.
func (f *Fake) Objects() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.objects))
	for i, o := range f.objects {
		out[i] = o.str("cn")
	}
	return out
}

// SetPassword stores password for the object with cn, encrypted with the
// PBX key as the PBX stores it (zero-padded to 24 bytes).
func (f *Fake) SetPassword(cn, password string) error {
	if len(password) > pbxadminapi.MaxPasswordLen {
		return fmt.Errorf("pbxadminapitest: SetPassword: over 23 bytes")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.findLocked("", cn)
	if o == nil {
		return fmt.Errorf("pbxadminapitest: SetPassword: no object %q", cn)
	}
	o.props["pwd"], _ = json.Marshal(hex.EncodeToString(rc4x(f.k, pad(password, 24))))
	return nil
}

// Password decrypts the stored password of the object with cn with the PBX
// key ("" when it has none). An error says it is not in the stored form.
func (f *Fake) Password(cn string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.findLocked("", cn)
	if o == nil {
		return "", fmt.Errorf("pbxadminapitest: Password: no object %q", cn)
	}
	stored := o.str("pwd")
	if stored == "" {
		return "", nil
	}
	b, err := hex.DecodeString(stored)
	if err != nil || len(b) > 24 {
		return "", fmt.Errorf("pbxadminapitest: Password: %q's pwd is not in the stored form", cn)
	}
	p := rc4x(f.k, b)
	if n := bytes.IndexByte(p, 0); n >= 0 {
		p = p[:n]
	}
	return string(p), nil
}

// AdminObject returns the admin object's key and pwd, in hex, as
// MonitorAdminObjectInfo sends them.
func (f *Fake) AdminObject() (key, pwd string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adminKey, f.adminPwd
}

// SetPBXPassword changes the PBX password: the admin object is encrypted
// anew (the PBX key, and so the stored passwords, stay) and sent to the
// sessions monitoring it.
func (f *Fake) SetPBXPassword(pw string) error {
	if len(pw) > pbxadminapi.MaxPBXPasswordLen {
		return fmt.Errorf("pbxadminapitest: SetPBXPassword: over 16 bytes")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	f.setAdminLocked(pw)
	for _, s := range f.adminMonitors {
		send(s.ss, f.adminInfoLocked(s))
	}
	return nil
}

// SetConfig changes the PBX's config and sends it to the sessions
// monitoring it.
func (f *Fake) SetConfig(c pbxadminapi.PBXConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pruneLocked()
	f.pbx = c
	for _, s := range f.cfgMonitors {
		send(s.ss, f.configInfoLocked(s))
	}
}

// SetRegs sets the registrations of the object with cn.
func (f *Fake) SetRegs(cn string, regs ...pbxadminapi.Reg) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.findLocked("", cn)
	if o == nil {
		return fmt.Errorf("pbxadminapitest: SetRegs: no object %q", cn)
	}
	f.regs[o.guid] = slices.Clone(regs)
	return nil
}

// SetNodes replaces the nodes.
func (f *Fake) SetNodes(nodes ...pbxadminapi.Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes = slices.Clone(nodes)
}

// FailNext makes the fake answer the next request with mt by its Result
// carrying "error":code and "errorText":text, doing nothing else.
func (f *Fake) FailNext(mt string, code int, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[mt] = failure{code, text}
}

// RepeatPages makes SearchUsers and GetNodes ignore where to start (cn,
// last), so every page is the first: a PBX that never ends paging (or a
// PBX before build 132592, for GetNodes).
func (f *Fake) RepeatPages(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repeatPages = on
}

// Received returns the PbxAdminApi messages received so far from every session,
// in order (copies; Message.Session is the appwstest Session.ID).
func (f *Fake) Received() []appws.Message { return f.received.Messages("") }

// WaitFor waits until n PbxAdminApi messages with mt were received and returns
// them all (decode one with Message.Decode to check its fields). When ctx
// ends first, it returns those it has and an error that wraps ctx's.
func (f *Fake) WaitFor(ctx context.Context, mt string, n int) ([]appws.Message, error) {
	return f.received.WaitFor(ctx, mt, n)
}
