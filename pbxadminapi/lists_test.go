package pbxadminapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/appwebsocket/appws/pbxadminapi"
	"github.com/appwebsocket/appws/pbxadminapi/pbxadminapitest"
)

// users returns n users user00, user01, ... in a shuffled order, and an
// app object that SearchUsers must not return.
func users(n int) []pbxadminapi.Object {
	var out []pbxadminapi.Object
	for i := range n {
		j := (i * 7) % n // 7 is prime to the ns used here: every i once
		out = append(out, pbxadminapi.Object{CN: fmt.Sprintf("user%02d", j), H323: fmt.Sprintf("u%02d", j)})
	}
	return append(out, pbxadminapi.Object{CN: "user-app", Pseudo: json.RawMessage(`{"type":"app","url":"https://ap/x"}`)})
}

// TestSearchUsersPage: one page: 20 users in cn order, after cn or from it
// with includeMatch.
func TestSearchUsersPage(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: users(45)})
	c := dial(t, pbx)
	page, err := pbxadminapi.SearchUsers{}.Do(t.Context(), c)
	if err != nil || len(page) != 20 || page[0].CN != "user00" || page[19].CN != "user19" || page[0].H323 != "u00" || page[0].GUID == "" {
		t.Fatalf("%v %v", page, err)
	}
	page, _ = pbxadminapi.SearchUsers{CN: "user40"}.Do(t.Context(), c)
	if len(page) != 4 || page[0].CN != "user41" {
		t.Errorf("after user40: %v", page)
	}
	page, _ = pbxadminapi.SearchUsers{CN: "user40", IncludeMatch: true}.Do(t.Context(), c)
	if len(page) != 5 || page[0].CN != "user40" {
		t.Errorf("from user40: %v", page)
	}
}

// TestSearchUsersAll: every user, in order, a page at a time until an empty
// page: 45 users take 4 requests, each after the last cn.
func TestSearchUsersAll(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: users(45)})
	c := dial(t, pbx)
	var got []string
	for u, err := range (pbxadminapi.SearchUsers{}).All(t.Context(), c) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, u.CN)
	}
	if len(got) != 45 || !slices.IsSorted(got) || got[0] != "user00" || got[44] != "user44" {
		t.Errorf("%d users: %v", len(got), got)
	}
	var starts []string
	for _, m := range pbx.Received() {
		var r struct{ CN string }
		_ = m.Decode(&r)
		starts = append(starts, r.CN)
	}
	if strings.Join(starts, ",") != ",user19,user39,user44" {
		t.Errorf("requests from %q", starts)
	}
}

// TestSearchUsersAllStopsWhenPagingDoesNotAdvance: a PBX that answers every
// page with the first ends All with an error, not a loop.
func TestSearchUsersAllStopsWhenPagingDoesNotAdvance(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: users(45)})
	pbx.RepeatPages(true)
	c := dial(t, pbx)
	n := 0
	var last error
	for _, err := range (pbxadminapi.SearchUsers{}).All(t.Context(), c) {
		if err != nil {
			last = err
			continue
		}
		n++
	}
	if e := asError(t, last); n != 20 || e.Op != "SearchUsers" || !strings.Contains(e.Text, `"user19" again`) {
		t.Errorf("%d users, %v", n, last)
	}
	if got := len(pbx.Received()); got != 2 {
		t.Errorf("%d requests", got)
	}
}

// TestSearchUsersAllBreak: breaking out of the loop stops the paging.
func TestSearchUsersAllBreak(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: users(45)})
	c := dial(t, pbx)
	for u, err := range (pbxadminapi.SearchUsers{}).All(t.Context(), c) {
		if err != nil || u.CN == "user02" {
			break
		}
	}
	if got := len(pbx.Received()); got != 1 {
		t.Errorf("%d requests", got)
	}
}

// TestSearchUsersAllError: a failed page ends All with its error.
func TestSearchUsersAllError(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: users(5)})
	pbx.FailNext("SearchUsers", 9, "busy")
	c := dial(t, pbx)
	n := 0
	for _, err := range (pbxadminapi.SearchUsers{}).All(t.Context(), c) {
		n++
		if e := asError(t, err); e.Code != 9 {
			t.Errorf("%v", err)
		}
	}
	if n != 1 {
		t.Errorf("%d items", n)
	}
}

func nodes(n int) []pbxadminapi.Node {
	var out []pbxadminapi.Node
	for i := range n {
		out = append(out, pbxadminapi.Node{Name: fmt.Sprintf("n%03d", i), Node: "root"})
	}
	return out
}

// TestGetNodes: one page of limit nodes after last; All reads them all,
// 200 a page, until an empty page; a PBX that does not page ends it with
// an error.
func TestGetNodes(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Nodes: nodes(450)})
	c := dial(t, pbx)
	page, err := pbxadminapi.GetNodes{Limit: 10, Last: "n100"}.Do(t.Context(), c)
	if err != nil || len(page) != 10 || page[0].Name != "n101" || page[0].Node != "root" {
		t.Fatalf("%v %v", page, err)
	}
	var got []string
	for n, err := range (pbxadminapi.GetNodes{}).All(t.Context(), c) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n.Name)
	}
	if len(got) != 450 || got[449] != "n449" {
		t.Errorf("%d nodes", len(got))
	}
	msgs, _ := pbx.WaitFor(t.Context(), "GetNodes", 5)
	var reqs []string
	for _, m := range msgs[1:] {
		var r struct {
			Limit int
			Last  string
		}
		_ = m.Decode(&r)
		reqs = append(reqs, strings.TrimSpace(fmt.Sprintf("%d %s", r.Limit, r.Last)))
	}
	if strings.Join(reqs, ",") != "200,200 n199,200 n399,200 n449" {
		t.Errorf("requests %v", reqs)
	}

	pbx.RepeatPages(true)
	n := 0
	var last error
	for _, err := range (pbxadminapi.GetNodes{Limit: 100}).All(t.Context(), c) {
		if err != nil {
			last = err
			continue
		}
		n++
	}
	if e := asError(t, last); n != 100 || e.Op != "GetNodes" {
		t.Errorf("%d nodes, %v", n, last)
	}
}

// TestGetRegs: the registrations of an object by cn or guid; an unknown one
// is ErrNotFound.
func TestGetRegs(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{alice, {CN: "bob"}}})
	if err := pbx.SetRegs("alice", pbxadminapi.Reg{HW: "0090330a0b0c", Addr: "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	c := dial(t, pbx)
	for _, get := range []pbxadminapi.GetRegs{{CN: "alice"}, {GUID: alice.GUID}} {
		r, err := get.Do(t.Context(), c)
		if err != nil || r.CN != "alice" || len(r.Regs) != 1 || r.Regs[0].Addr != "192.0.2.7" {
			t.Errorf("%+v: %+v %v", get, r, err)
		}
	}
	if r, err := (pbxadminapi.GetRegs{CN: "bob"}).Do(t.Context(), c); err != nil || r.CN != "bob" || len(r.Regs) != 0 {
		t.Errorf("bob: %+v %v", r, err)
	}
	if _, err := (pbxadminapi.GetRegs{CN: "nobody"}).Do(t.Context(), c); !errors.Is(err, pbxadminapi.ErrNotFound) {
		t.Errorf("nobody: %v", err)
	}
}

// TestGroups: GetGroups names every group, GetGroup lists its members.
func TestGroups(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{
		alice,
		{CN: "bob", Grp: []pbxadminapi.Group{{Name: "sales", Dyn: "out"}, {Name: "support", Mode: "active"}}},
		{CN: "queue", Pseudo: json.RawMessage(`{"type":"waiting"}`), Grp: []pbxadminapi.Group{{Name: "sales", Mode: "active"}}},
	}})
	c := dial(t, pbx)
	groups, err := pbxadminapi.GetGroups{}.Do(t.Context(), c)
	if err != nil || strings.Join(groups, ",") != "sales,support" {
		t.Errorf("%v %v", groups, err)
	}
	members, err := pbxadminapi.GetGroup{Grp: "sales"}.Do(t.Context(), c)
	want := []pbxadminapi.Member{
		{CN: "alice", DN: "Alice Smith", GUID: alice.GUID, Active: true},
		{CN: "bob", GUID: members[1].GUID, Dyn: "out"},
		{CN: "queue", GUID: members[2].GUID, Pseudo: "waiting", Active: true},
	}
	if err != nil || !slices.Equal(members, want) {
		t.Errorf("%+v %v", members, err)
	}
	if m, err := (pbxadminapi.GetGroup{Grp: "none"}).Do(t.Context(), c); err != nil || len(m) != 0 {
		t.Errorf("none: %v %v", m, err)
	}
}

// TestGetConfigObjects: the config templates.
func TestGetConfigObjects(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{
		alice,
		{CN: "Users", Config: "Base,Phones", Pseudo: json.RawMessage(`{"type":"config"}`)},
		{CN: "Base", Pseudo: json.RawMessage(`{"type":"config"}`)},
	}})
	c := dial(t, pbx)
	ts, err := pbxadminapi.GetConfigObjects{}.Do(t.Context(), c)
	if err != nil || len(ts) != 2 || ts[0].CN != "Users" || strings.Join(ts[0].Config, ",") != "Base,Phones" || ts[1].CN != "Base" || ts[1].Config != nil {
		t.Errorf("%+v %v", ts, err)
	}
}

// TestGetAppObjects: the app objects, filtered by URL head and pseudo type.
func TestGetAppObjects(t *testing.T) {
	t.Parallel()
	pbx := pbxadminapitest.New(pbxadminapitest.Config{Objects: []pbxadminapi.Object{
		alice,
		{CN: "users-app", DN: "Users", H323: "users-app", Pseudo: json.RawMessage(`{"type":"app","url":"https://ap/users/app","app":"users"}`)},
		{CN: "queue-app", H323: "queue-app", Pseudo: json.RawMessage(`{"type":"waiting","url":"https://ap/queues/app"}`)},
	}})
	c := dial(t, pbx)
	all, err := pbxadminapi.GetAppObjects{}.Do(t.Context(), c)
	if err != nil || len(all) != 2 {
		t.Fatalf("%+v %v", all, err)
	}
	want := pbxadminapi.AppObject{Title: "Users", App: "users", URL: "https://ap/users/app", GUID: all[0].GUID, SIP: "users-app", Pseudo: "app"}
	if all[0] != want {
		t.Errorf("%+v", all[0])
	}
	for _, tc := range []struct {
		q    pbxadminapi.GetAppObjects
		want string
	}{
		{pbxadminapi.GetAppObjects{URI: "https://ap/queues"}, "queue-app"},
		{pbxadminapi.GetAppObjects{Pseudo: "app"}, "users-app"},
		{pbxadminapi.GetAppObjects{URI: "https://other/"}, ""},
	} {
		got, err := tc.q.Do(t.Context(), c)
		var sips []string
		for _, a := range got {
			sips = append(sips, a.SIP)
		}
		if err != nil || strings.Join(sips, ",") != tc.want {
			t.Errorf("%+v: %v %v", tc.q, sips, err)
		}
	}
}
