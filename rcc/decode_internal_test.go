package rcc

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/appwebsocket/appws/internal/jsonscan"
)

// fastDecode is decode's fast path alone.
func fastDecode(raw []byte, v message) bool {
	end, ok := members(raw, jsonscan.SkipSpace(raw, 0), v)
	return ok && jsonscan.SkipSpace(raw, end) == len(raw)
}

// FuzzDecode: where the fast path decodes a message, encoding/json decodes
// it without error and to the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"api":"RCC","mt":"CallInfo","src":"rcc-user-1","user":7,"call":3,"conf":"c","state":133,"msg":"r-conn","peer":{"type":"peer","e164":"200","dn":"B\u00f6b"},"no":[{"type":"ct","cn":"x"}],"info":[{"type":"cause","vali":1,"vals":"x"}],"active":false}`,
		`{"api":"RCC","mt":"UserInfo","update":"del","guid":"a1","cn":"alice","dn":"A\"lice","h323":"a","e164":"10","node":"n","pbx":"p","pseudo":"","regs":[{"hw":"h"}],"alert":1,"channel":2}`,
		`{"api":"RCC","mt":"UserInitializeResult","user":8,"prefixIntl":"000","prefixNtl":"00","prefixSubs":"0","area":"7031","country":"49","mobile":{"e164":"1","h323":"m","off":true},"error":"x","errorText":"y"}`,
		`{"api":"RCC","mt":"CallAdd","guid":"g","cn":"c","call":11,"state":129,"conf-id":"c0","call-id":"d0","msg":"m","local":{"e164":"10"},"remote":{"h323":"x"}}`,
		`{"CALL":1,"call":2}`, `{"user":1e2}`, `{"state":null,"active":null,"mobile":null,"peer":null}`,
		`{"cn":"\ud800"}`, `{"cn":5}`, `{"user":"5"}`, `{"user":99999999999999999999}`, ` { "call" : 1 } `, `{}`, `[]`,
		`{"active":true,"active":null}`, `{"peer":{"e164":"1"},"peer":{"dn":"x"}}`, `{"regs":null}`, `{"error":{"a":[1]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		check := func(fast, slow message) {
			if !fastDecode(raw, fast) {
				return
			}
			if err := json.Unmarshal(raw, slow); err != nil {
				t.Fatalf("%T: the fast path took %q, encoding/json says %v", fast, raw, err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%T of %q:\nfast %+v\njson %+v", fast, raw, fast, slow)
			}
		}
		check(&callInfoMsg{}, &callInfoMsg{})
		check(&userInfoMsg{}, &userInfoMsg{})
		check(&userInitResult{}, &userInitResult{})
		check(&pbxCallMsg{}, &pbxCallMsg{})
	})
}
