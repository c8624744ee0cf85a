package appwstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/wire"
)

// servicesAPI is the "api" of the PBX's Services API (PROTOCOL.md 3.3).
const servicesAPI = "Services"

// ServiceTarget is a service the server can hand out logins for with
// GetServiceLogin (PROTOCOL.md 3.3), as the PBX does for app services. The
// digest is built from these fields, so a target appwstest server must know
// App with Password to accept the login.
type ServiceTarget struct {
	App, Domain, SIP, GUID, DN, PbxObj string
	// Password is the target's password; it never leaves the server, only
	// the digest and the encrypted session key do.
	Password string
	// Info, if set, is sent in the login (canonical form) and covered by the
	// digest. It must be a JSON object.
	Info json.RawMessage
}

// services answers the Services API requests GetServiceLogin and
// SubscribeServices.
func (ss *Session) services(msg appws.Message) {
	switch msg.MT {
	case "GetServiceLogin":
		ss.getServiceLogin(msg)
	case "SubscribeServices":
		ss.subscribeServices(msg)
	}
}

// getServiceLogin answers GetServiceLogin with a login for the target
// service keyed by "app", or with an "error" string.
func (ss *Session) getServiceLogin(msg appws.Message) {
	var req struct {
		App       string `json:"app"`
		Challenge any    `json:"challenge"`
	}
	_ = msg.Decode(&req)
	fail := func(text string) {
		ss.sendLogged(struct {
			API   string `json:"api"`
			MT    string `json:"mt"`
			Src   string `json:"src,omitempty"`
			Error string `json:"error"`
		}{servicesAPI, "GetServiceLoginResult", msg.Src, text})
	}
	challenge, ok := req.Challenge.(string)
	if !ok || challenge == "" {
		fail("no challenge")
		return
	}
	t, ok := ss.srv.cfg.Services[req.App]
	if !ok {
		fail("unknown service")
		return
	}
	app := t.App
	if app == "" {
		app = req.App
	}
	var info json.RawMessage
	if len(t.Info) > 0 {
		var err error
		if info, err = wire.CanonicalInfo(t.Info); err != nil {
			fail("bad info of service")
			return
		}
	}
	digest, err := wire.LoginFields{App: app, Domain: t.Domain, SIP: t.SIP, GUID: t.GUID, DN: t.DN, Info: info}.Digest(challenge, t.Password)
	if err != nil {
		fail("bad info of service")
		return
	}
	var seed [16]byte
	rand.Read(seed[:])
	salt := hex.EncodeToString(seed[:])
	key := appws.Encrypt(ss.SessionKey(), salt, appws.SessionKey(challenge, t.Password))
	ss.sendLogged(struct {
		API    string          `json:"api"`
		MT     string          `json:"mt"`
		Src    string          `json:"src,omitempty"`
		App    string          `json:"app"`
		Domain string          `json:"domain"`
		SIP    string          `json:"sip"`
		GUID   string          `json:"guid"`
		DN     string          `json:"dn"`
		PbxObj string          `json:"pbxObj"`
		Info   json.RawMessage `json:"info,omitempty"`
		Digest string          `json:"digest"`
		Salt   string          `json:"salt"`
		Key    string          `json:"key"`
	}{servicesAPI, "GetServiceLoginResult", msg.Src, app, t.Domain, t.SIP, t.GUID, t.DN, t.PbxObj, info, digest, salt, key})
}

// serviceInfo is one entry of the minimal ServicesInfo.
type serviceInfo struct {
	Name  string          `json:"name"`
	Title string          `json:"title"`
	Info  json.RawMessage `json:"info,omitempty"`
}

// subscribeServices answers SubscribeServices with SubscribeServicesResult
// followed by one ServicesInfo listing the configured targets (sorted by
// key): name (the key), title (DN) and info.
func (ss *Session) subscribeServices(msg appws.Message) {
	ss.sendLogged(struct {
		API string `json:"api"`
		MT  string `json:"mt"`
		Src string `json:"src,omitempty"`
	}{servicesAPI, "SubscribeServicesResult", msg.Src})
	list := []serviceInfo{}
	names := make([]string, 0, len(ss.srv.cfg.Services))
	for name := range ss.srv.cfg.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t := ss.srv.cfg.Services[name]
		e := serviceInfo{Name: name, Title: t.DN}
		if info, err := wire.CanonicalInfo(t.Info); len(t.Info) > 0 && err == nil {
			e.Info = info
		}
		list = append(list, e)
	}
	ss.sendLogged(struct {
		API      string        `json:"api"`
		MT       string        `json:"mt"`
		Src      string        `json:"src,omitempty"`
		Services []serviceInfo `json:"services"`
	}{servicesAPI, "ServicesInfo", msg.Src, list})
}
