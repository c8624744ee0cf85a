package rcc

import "strconv"

// State is the phase of a call: the low four bits (mask 0xF) of the
// "state" bit field of CallInfo and CallAdd, as the PBX SOAP API's state
// table defines them and RCC.htm's CallAdd lists them (build 132455).
type State int

// The call phases of the state table.
const (
	StateInit      State = 0 // init (CallAdd)
	StateSetup     State = 1 // setup
	StateSetupAck  State = 2 // setup-ack: overlap dialing
	StateCallProc  State = 3 // call-proc: the call proceeds
	StateAlert     State = 4 // alert: ringing
	StateConnected State = 5 // connect
	StateDiscSent  State = 6 // disconnect sent
	StateDiscRecv  State = 7 // disconnect received
	StateParked    State = 8 // parked
)

var stateNames = [...]string{
	StateInit:      "init",
	StateSetup:     "setup",
	StateSetupAck:  "setup-ack",
	StateCallProc:  "call-proc",
	StateAlert:     "alert",
	StateConnected: "connected",
	StateDiscSent:  "disconnect-sent",
	StateDiscRecv:  "disconnect-received",
	StateParked:    "parked",
}

// String returns the state's name as in the state table ("alert",
// "connected", ...), or "state(N)" for a value the table does not define.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText makes a State its name in JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Direction says who placed a call, seen from the monitored user.
type Direction int

// The directions. The PBX API is PBX-centric: the state table's "outbound"
// bit (0x80; CallAdd's "add 128 for outgoing") marks a call from the PBX to
// the user's device, which is an Incoming call for the user; without it the
// user's device placed the call (Outgoing).
const (
	Outgoing Direction = 0
	Incoming Direction = 1
)

// String returns "outgoing" or "incoming".
func (d Direction) String() string {
	if d == Incoming {
		return "incoming"
	}
	return "outgoing"
}

// MarshalText makes a Direction its name in JSON.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// The bits of the CallInfo "state" field besides the phase.
const (
	stateMask     = 0xF
	bitToDevice   = 0x80  // "outbound": from the PBX to the device
	bitHold       = 0x100 // the user put the call on hold
	bitHeldByPeer = 0x200 // the peer put the call on hold
	bitWaiting    = 0x400 // a waiting call (CallAdd, build 132455)
)

// setState sets c's state from the "state" bit field.
func (c *Call) setState(raw int) {
	c.RawState = raw
	c.State = State(raw & stateMask)
	c.Direction = Outgoing
	if raw&bitToDevice != 0 {
		c.Direction = Incoming
	}
	c.Hold = raw&bitHold != 0
	c.HeldByPeer = raw&bitHeldByPeer != 0
	c.Waiting = raw&bitWaiting != 0
}
