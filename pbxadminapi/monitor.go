package pbxadminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/appwebsocket/appws"
	"github.com/appwebsocket/appws/internal/kindname"
	"github.com/appwebsocket/appws/internal/outbox"
)

// PBXConfig is the local PBX's config as MonitorConfigInfo reports it.
type PBXConfig struct {
	// Domain is the PBX's domain.
	Domain string `json:"domain,omitempty"`
	// PBX is the PBX's name.
	PBX string `json:"pbx,omitempty"`
	// DNS is the PBX's DNS name as configured.
	DNS string `json:"dns,omitempty"`
	// IP4 is the PBX's local IPv4 address.
	IP4 string `json:"ip4,omitempty"`
}

// Config configures a ConfigMonitor.
type Config struct {
	// AdminObject also monitors the admin object (MonitorAdminObject), whose
	// key pair AdminKey then returns: SetPassword needs it. Synced then
	// waits for the admin object too.
	AdminObject bool
}

// Kind says what a Change reports.
type Kind int

// The kinds of Change.
const (
	// ConfigChanged: the PBX's config is new or changed: Change.Config is
	// it, Change.Old what was kept before (nil the first time).
	ConfigChanged Kind = iota + 1
	// AdminKeyChanged: the admin object's key pair is new or changed (read
	// it with AdminKey; a Change never carries it).
	AdminKeyChanged
	// MonitorEnded: the session was lost (Change.Lost), and with it the
	// monitoring; what was learned is kept, and a new session's Sync starts
	// it again.
	MonitorEnded
	// Synced: the monitoring of this session is up and complete (both
	// Results and the first Infos came); the changes before it were the
	// difference to what was kept.
	Synced
	// Invalid: a message of the API that did not decode, or a Result that
	// refused the monitoring; Change.Err says what. It changed nothing.
	Invalid
)

var kindNames = [...]string{
	ConfigChanged:   "configChanged",
	AdminKeyChanged: "adminKeyChanged",
	MonitorEnded:    "monitorEnded",
	Synced:          "synced",
	Invalid:         "invalid",
}

// String returns the kind's lowerCamel name, e.g. "configChanged".
func (k Kind) String() string { return kindname.Of(kindNames[:], int(k)) }

// MarshalText makes a Kind its name in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Change is one thing a ConfigMonitor learned from an event. Its JSON
// encoding (with "error" for Err) is what appws admin prints.
type Change struct {
	Kind Kind `json:"kind"`
	// Session is the appws session the change belongs to.
	Session uint64 `json:"session"`
	// Config is the PBX's config after a ConfigChanged.
	Config *PBXConfig `json:"config,omitempty"`
	// Old is the config before a ConfigChanged, nil if there was none.
	Old *PBXConfig `json:"old,omitempty"`
	// Lost is set on MonitorEnded: the session ended.
	Lost bool `json:"lost,omitempty"`
	// Err says what was wrong, for Invalid.
	Err error `json:"-"`
}

// MarshalJSON encodes the change, Err as "error" (its message).
func (c Change) MarshalJSON() ([]byte, error) {
	type plain Change
	var e string
	if c.Err != nil {
		e = c.Err.Error()
	}
	return json.Marshal(struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain(c), e})
}

// The srcs of the messages a ConfigMonitor sends. They are sent, not
// requested: the Infos carry the src of their monitor message and may come
// before its Result.
const (
	srcConfig = "pbxadminapi-config"
	srcAdmin  = "pbxadminapi-admin"
)

// MonitorConfig starts (or with Stop, stops) the monitoring of the local
// PBX's config: MonitorConfigResult, then a MonitorConfigInfo whenever the
// config changes. A ConfigMonitor sends it; it is here for those who
// monitor by hand.
type MonitorConfig struct {
	Stop bool   `json:"stop,omitempty"`
	Src  string `json:"src,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m MonitorConfig) MarshalJSON() ([]byte, error) {
	type t MonitorConfig
	return encode("MonitorConfig", t(m))
}

// MonitorAdminObject starts the monitoring of the admin object:
// MonitorAdminObjectResult, then a MonitorAdminObjectInfo (its key pair)
// whenever it changes. A ConfigMonitor with Config.AdminObject sends it.
type MonitorAdminObject struct {
	Src string `json:"src,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m MonitorAdminObject) MarshalJSON() ([]byte, error) {
	type t MonitorAdminObject
	return encode("MonitorAdminObject", t(m))
}

// ConfigMonitor follows the local PBX's config (MonitorConfig) and, with
// Config.AdminObject, the admin object's key pair (MonitorAdminObject),
// from the events of an appws client fed to Handle. It starts the
// monitoring in every session, through Sync. It has no goroutines; its
// methods are safe from any goroutine, but Handle must get the events in
// the order Events() delivered them.
type ConfigMonitor struct {
	cfg Config

	gate outbox.Gate // one Sync sends at a time

	mu      sync.Mutex
	session uint64 // the session monitored, or the last one
	up      bool   // session is up: its end is still to be reported
	gen     uint64 // counts the replacements of pending
	pending []any  // to send in session
	// What came in session.
	cfgResult, cfgInfo, adminResult, adminInfo, synced bool
	// What outlives a session.
	pbx    PBXConfig
	hasPBX bool
	admin  AdminKey
}

// New returns a ConfigMonitor. It sends nothing until Handle sees a
// ConnectComplete and Sync is called.
func New(cfg Config) *ConfigMonitor { return &ConfigMonitor{gate: outbox.NewGate(), cfg: cfg} }

// Handle takes the next event of the client and returns what changed, in
// order; nil for events that are not the monitor's. It never sends and
// never blocks. A ConnectComplete queues the monitor messages for Sync; the
// end of the session (Disconnected, Closed, or the ConnectComplete of a
// newer session) is reported at once as MonitorEnded with Lost set.
func (m *ConfigMonitor) Handle(ev appws.Event) []Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch ev := ev.(type) {
	case appws.ConnectComplete:
		if ev.Session <= m.session {
			return nil
		}
		var out []Change
		if m.up {
			out = append(out, m.lostLocked())
		}
		m.session, m.up = ev.Session, true
		m.cfgResult, m.cfgInfo, m.adminResult, m.adminInfo, m.synced = false, false, false, false, false
		m.gen++
		m.pending = []any{MonitorConfig{Src: srcConfig}}
		if m.cfg.AdminObject {
			m.pending = append(m.pending, MonitorAdminObject{Src: srcAdmin})
		}
		return out
	case appws.Disconnected:
		if m.up && ev.Session == m.session {
			return []Change{m.lostLocked()}
		}
	case appws.Closed:
		if m.up {
			return []Change{m.lostLocked()}
		}
	case appws.Message:
		if m.up && ev.Session == m.session && ev.API == API {
			return m.messageLocked(ev)
		}
	}
	return nil
}

// lostLocked ends the session's monitoring.
func (m *ConfigMonitor) lostLocked() Change {
	m.up, m.synced = false, false
	m.gen++
	m.pending = nil
	return Change{Kind: MonitorEnded, Session: m.session, Lost: true}
}

func (m *ConfigMonitor) messageLocked(msg appws.Message) []Change {
	invalid := func(err error) []Change {
		return []Change{{Kind: Invalid, Session: msg.Session, Err: err}}
	}
	var out []Change
	switch msg.MT {
	case "MonitorConfigResult", "MonitorAdminObjectResult":
		if msg.MT == "MonitorAdminObjectResult" && !m.cfg.AdminObject {
			return nil
		}
		var res emptyResult
		op := msg.MT[:len(msg.MT)-len("Result")]
		if err := decodeResult(msg, op, &res); err != nil {
			return invalid(err)
		}
		if op == "MonitorConfig" {
			m.cfgResult = true
		} else {
			m.adminResult = true
		}
	case "MonitorConfigInfo":
		var c PBXConfig
		if err := msg.Decode(&c); err != nil {
			return invalid(&Error{Op: "MonitorConfig", Text: "bad MonitorConfigInfo: " + bound(err.Error())})
		}
		m.cfgInfo = true
		if !m.hasPBX || c != m.pbx {
			ch := Change{Kind: ConfigChanged, Session: msg.Session, Config: &c}
			if m.hasPBX {
				old := m.pbx
				ch.Old = &old
			}
			m.pbx, m.hasPBX = c, true
			out = append(out, ch)
		}
	case "MonitorAdminObjectInfo":
		if !m.cfg.AdminObject {
			return nil
		}
		var info struct {
			Key string `json:"key"`
			Pwd string `json:"pwd"`
		}
		if err := msg.Decode(&info); err != nil {
			return invalid(&Error{Op: "MonitorAdminObject", Text: "bad MonitorAdminObjectInfo"})
		}
		a, err := ParseAdminKey(info.Key, info.Pwd)
		if err != nil {
			return invalid(&Error{Op: "MonitorAdminObject", Text: "bad MonitorAdminObjectInfo: " + strings.TrimPrefix(err.Error(), "pbxadminapi: ")})
		}
		m.adminInfo = true
		if !a.Equal(m.admin) {
			m.admin = a
			out = append(out, Change{Kind: AdminKeyChanged, Session: msg.Session})
		}
	default:
		return nil // a late Result of an operation, or what the monitor does not follow
	}
	if !m.synced && m.cfgResult && m.cfgInfo && (!m.cfg.AdminObject || m.adminResult && m.adminInfo) {
		m.synced = true
		out = append(out, Change{Kind: Synced, Session: msg.Session})
	}
	return out
}

// Pending reports whether Sync has something to send.
func (m *ConfigMonitor) Pending() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending) > 0
}

// Sync sends what the monitor needs (MonitorConfig, MonitorAdminObject
// after every ConnectComplete) with s; it is a no-op when nothing is
// pending, so the event loop calls it after every Handle. A Send that
// fails leaves its message and those after it pending for the next Sync,
// and Sync returns its error; the next session replaces what was pending.
// Sync does not hold the monitor's lock while it sends.
//
// One Sync sends at a time; another waits for its turn no longer than its
// ctx. When s knows its session (an *appws.Client does) and that is not
// the session last fed to Handle, Sync sends nothing and returns nil: the
// consumer is behind, the messages are for a session that is gone, and
// the events still to come (Disconnected, the next ConnectComplete) say
// what to send next.
func (m *ConfigMonitor) Sync(ctx context.Context, s appws.Sender) error {
	if err := m.gate.Enter(ctx); err != nil {
		return err
	}
	defer m.gate.Leave()
	for {
		m.mu.Lock()
		if len(m.pending) == 0 || outbox.Stale(s, m.session) {
			m.mu.Unlock()
			return nil
		}
		msg, gen := m.pending[0], m.gen
		m.mu.Unlock()
		if _, err := s.Send(ctx, msg); err != nil {
			return fmt.Errorf("pbxadminapi: sending %s: %w", mtOf(msg), err)
		}
		m.mu.Lock()
		if m.gen == gen {
			m.pending = m.pending[1:]
		}
		m.mu.Unlock()
	}
}

func mtOf(msg any) string {
	if _, ok := msg.(MonitorAdminObject); ok {
		return "MonitorAdminObject"
	}
	return "MonitorConfig"
}

// PBX returns the PBX's config as last reported, and whether one was; it is
// kept across sessions.
func (m *ConfigMonitor) PBX() (PBXConfig, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pbx, m.hasPBX
}

// AdminKey returns the admin object's key pair as last reported (with
// Config.AdminObject), and whether one was; it is kept across sessions.
// EncryptPassword and SetPassword take it.
func (m *ConfigMonitor) AdminKey() (AdminKey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.admin, !m.admin.IsZero()
}

// Synced reports whether the monitoring of the current session is up and
// complete.
func (m *ConfigMonitor) Synced() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.synced
}
