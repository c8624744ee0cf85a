package pbxadminapi

import (
	"context"
	"errors"
	"iter"
	"strconv"

	"github.com/appwebsocket/appws"
)

// User is a user in a SearchUsers Result (the page's user-id).
type User struct {
	CN   string `json:"cn"`
	DN   string `json:"dn,omitempty"`
	GUID string `json:"guid,omitempty"`
	H323 string `json:"h323,omitempty"`
}

// SearchUsers reads up to 20 users (and executives) in cn order, starting
// after CN, or at CN with IncludeMatch. Do reads one such page; All reads
// them all.
type SearchUsers struct {
	CN           string `json:"cn"`
	IncludeMatch bool   `json:"includeMatch,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m SearchUsers) MarshalJSON() ([]byte, error) {
	type t SearchUsers
	return encode("SearchUsers", t(m))
}

type searchResult struct {
	status
	User []User `json:"user"`
}

// Do reads one page: at most 20 users, none after the last.
func (m SearchUsers) Do(ctx context.Context, r appws.Requester) ([]User, error) {
	var res searchResult
	if err := do(ctx, r, "SearchUsers", m, &res); err != nil {
		return nil, err
	}
	return res.User, nil
}

// All reads every user from m.CN on, a page at a time as PbxAdminApi.htm
// says (each page starting after the last cn of the one before, until a
// page is empty), and yields them one by one; an error ends it. A PBX whose
// pages do not advance (a page ending on a cn a page ended on before) ends
// it with an *Error instead of a loop. Breaking out of the loop stops the
// paging.
//
//	for u, err := range (pbxadminapi.SearchUsers{}).All(ctx, c) {
//		if err != nil { ... }
//		fmt.Println(u.CN)
//	}
func (m SearchUsers) All(ctx context.Context, r appws.Requester) iter.Seq2[User, error] {
	return pages("SearchUsers", func(last string, first bool) ([]User, error) {
		if first {
			return m.Do(ctx, r)
		}
		return SearchUsers{CN: last}.Do(ctx, r)
	}, func(u User) string { return u.CN })
}

// pages yields the items of the pages fetch returns (fetch(last of the
// page before, first page?)) until a page is empty, fetch fails, or a page
// ends on a key a page ended on before.
func pages[T any](op string, fetch func(last string, first bool) ([]T, error), key func(T) string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		seen := map[string]bool{}
		last := ""
		for first := true; ; first = false {
			page, err := fetch(last, first)
			if err != nil {
				yield(zero, err)
				return
			}
			if len(page) == 0 {
				return
			}
			end := key(page[len(page)-1])
			if seen[end] {
				yield(zero, &Error{Op: op, Text: "paging does not advance: a page ended on " +
					strconv.Quote(bound(end)) + " again"})
				return
			}
			seen[end] = true
			for _, v := range page {
				if !yield(v, nil) {
					return
				}
			}
			last = end
		}
	}
}

// Reg is a registration of a device to an object.
type Reg struct {
	// HW is the hardware id of the device.
	HW string `json:"hw,omitempty"`
	// Addr is its address.
	Addr string `json:"addr,omitempty"`
}

// Registrations is the Result of GetRegs.
type Registrations struct {
	// CN is the object's cn.
	CN string `json:"cn"`
	// Regs are its current registrations.
	Regs []Reg `json:"regs"`
}

// GetRegs reads the current registrations to the object with GUID or, when
// GUID is empty, with CN.
type GetRegs struct {
	GUID string `json:"guid,omitempty"`
	CN   string `json:"cn,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m GetRegs) MarshalJSON() ([]byte, error) {
	if m.GUID == "" && m.CN == "" {
		return nil, errNoObject
	}
	type t GetRegs
	return encode("GetRegs", t(m))
}

type regsResult struct {
	status
	Registrations
}

// Do reads the registrations. A Result without a cn means there is no
// such object: an *Error matching ErrNotFound.
func (m GetRegs) Do(ctx context.Context, r appws.Requester) (Registrations, error) {
	if m.GUID == "" && m.CN == "" {
		return Registrations{}, errNoObject
	}
	var res regsResult
	if err := do(ctx, r, "GetRegs", m, &res); err != nil {
		return Registrations{}, err
	}
	if res.CN == "" {
		return Registrations{}, &Error{Op: "GetRegs", Text: "no such object", notFound: true}
	}
	return res.Registrations, nil
}

// Member is a member of a group.
type Member struct {
	CN   string `json:"cn"`
	DN   string `json:"dn,omitempty"`
	GUID string `json:"guid,omitempty"`
	// Pseudo is the member's pseudo type ("" for a user).
	Pseudo string `json:"pseudo,omitempty"`
	// Active: an active member.
	Active bool `json:"active,omitempty"`
	// Dyn is "in" or "out" for a dynamic member.
	Dyn string `json:"dyn,omitempty"`
}

// GetGroup reads the members of group Grp, at most 64 (PbxAdminApi.htm).
type GetGroup struct {
	Grp string `json:"grp"`
}

// MarshalJSON encodes the message with its api and mt.
func (m GetGroup) MarshalJSON() ([]byte, error) {
	if m.Grp == "" {
		return nil, errNoGroup
	}
	type t GetGroup
	return encode("GetGroup", t(m))
}

var errNoGroup = errors.New("pbxadminapi: GetGroup: grp is empty")

type groupResult struct {
	status
	Member []Member `json:"member"`
}

// Do reads the members.
func (m GetGroup) Do(ctx context.Context, r appws.Requester) ([]Member, error) {
	if m.Grp == "" {
		return nil, errNoGroup
	}
	var res groupResult
	if err := do(ctx, r, "GetGroup", m, &res); err != nil {
		return nil, err
	}
	return res.Member, nil
}

// GetGroups reads the names of the groups defined in the PBX.
type GetGroups struct{}

// MarshalJSON encodes the message with its api and mt.
func (m GetGroups) MarshalJSON() ([]byte, error) { return encode("GetGroups", struct{}{}) }

type groupsResult struct {
	status
	Groups []string `json:"groups"`
}

// Do reads the names.
func (m GetGroups) Do(ctx context.Context, r appws.Requester) ([]string, error) {
	var res groupsResult
	if err := do(ctx, r, "GetGroups", m, &res); err != nil {
		return nil, err
	}
	return res.Groups, nil
}

// Node is a node or location of the PBX.
type Node struct {
	// Name is the node's (SIP) name.
	Name string `json:"name"`
	// Node is its parent node.
	Node string `json:"node,omitempty"`
	// Loc, present if the node is also a PBX, is its parent PBX.
	Loc string `json:"loc,omitempty"`
}

// MaxNodesPage is the most nodes the PBX returns per GetNodes (the C++
// interface's limit).
const MaxNodesPage = 200

// GetNodes reads the nodes and locations, Limit of them (at most 200; 0:
// the PBX's choice) after the one named Last. Do reads one page; All reads
// them all. limit and last are the C++ interface's (SendGetNodes, build
// 132592); their JSON names are inferred from it.
type GetNodes struct {
	Limit int    `json:"limit,omitempty"`
	Last  string `json:"last,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m GetNodes) MarshalJSON() ([]byte, error) {
	if m.Limit < 0 || m.Limit > MaxNodesPage {
		return nil, errNodesLimit
	}
	type t GetNodes
	return encode("GetNodes", t(m))
}

var errNodesLimit = errors.New("pbxadminapi: GetNodes: limit is 0 to 200")

type nodesResult struct {
	status
	Nodes []Node `json:"nodes"`
}

// Do reads one page.
func (m GetNodes) Do(ctx context.Context, r appws.Requester) ([]Node, error) {
	if m.Limit < 0 || m.Limit > MaxNodesPage {
		return nil, errNodesLimit
	}
	var res nodesResult
	if err := do(ctx, r, "GetNodes", m, &res); err != nil {
		return nil, err
	}
	return res.Nodes, nil
}

// All reads every node after m.Last, m.Limit per page (0: 200), until a
// page is empty, as the C++ interface says; it stops with an *Error when a
// page ends on a node a page ended on before. A PBX older than build
// 132592 ignores limit and last and sends every node each time: read it
// with Do.
func (m GetNodes) All(ctx context.Context, r appws.Requester) iter.Seq2[Node, error] {
	if m.Limit == 0 {
		m.Limit = MaxNodesPage
	}
	return pages("GetNodes", func(last string, first bool) ([]Node, error) {
		if first {
			return m.Do(ctx, r)
		}
		return GetNodes{Limit: m.Limit, Last: last}.Do(ctx, r)
	}, func(n Node) string { return n.Name })
}

// Template is a config template.
type Template struct {
	// CN is the template's name.
	CN string `json:"cn"`
	// Config are up to four other templates it refers to.
	Config []string `json:"config,omitempty"`
}

// GetConfigObjects reads the config templates of the PBX.
type GetConfigObjects struct{}

// MarshalJSON encodes the message with its api and mt.
func (m GetConfigObjects) MarshalJSON() ([]byte, error) {
	return encode("GetConfigObjects", struct{}{})
}

type templatesResult struct {
	status
	Objects []Template `json:"objects"`
}

// Do reads the templates.
func (m GetConfigObjects) Do(ctx context.Context, r appws.Requester) ([]Template, error) {
	var res templatesResult
	if err := do(ctx, r, "GetConfigObjects", m, &res); err != nil {
		return nil, err
	}
	return res.Objects, nil
}

// AppObject is an object that provides an app.
type AppObject struct {
	// Title is the app's configured display name.
	Title string `json:"title,omitempty"`
	// App is the app's SIP URI.
	App string `json:"app,omitempty"`
	// URL is the URL of the app service.
	URL string `json:"url,omitempty"`
	// Connected: the object has its AppWebsocket connection to the app
	// service up.
	Connected bool   `json:"connected,omitempty"`
	GUID      string `json:"guid,omitempty"`
	// SIP is the object's SIP URI, if it has one.
	SIP string `json:"sip,omitempty"`
	// Pseudo is the object's pseudo type, if it has one.
	Pseudo string `json:"pseudo,omitempty"`
}

// GetAppObjects reads the objects that provide an app: those whose URL
// starts with URI (if set) and whose pseudo type is Pseudo (if set).
type GetAppObjects struct {
	URI    string `json:"uri,omitempty"`
	Pseudo string `json:"pseudo,omitempty"`
}

// MarshalJSON encodes the message with its api and mt.
func (m GetAppObjects) MarshalJSON() ([]byte, error) {
	type t GetAppObjects
	return encode("GetAppObjects", t(m))
}

type appsResult struct {
	status
	Objects []AppObject `json:"objects"`
}

// Do reads the objects.
func (m GetAppObjects) Do(ctx context.Context, r appws.Requester) ([]AppObject, error) {
	var res appsResult
	if err := do(ctx, r, "GetAppObjects", m, &res); err != nil {
		return nil, err
	}
	return res.Objects, nil
}
