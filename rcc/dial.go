package rcc

import (
	"errors"
	"strings"
)

// Dialable turns an international number, "+" and the country code
// ("+49 7031 730090"; spaces, "-", ".", "/", "(" and ")" are ignored), into
// the digits to dial from the watched user's node, in UserCall's E164 or
// UserRedirect's: a number in the user's own country as PrefixNtl and the
// national number, any other as PrefixIntl, the country code and the
// national number. It needs the prefixes of UserInitializeResult (PBX build
// 132105 or later): without PrefixIntl it is an error, as is a number not
// in that form. Internal extensions are dialed as they are.
//
// The national form is used for the own area too: RCC.htm does not say
// whether a subscriber number may be dialed without its area code, and in
// the numbering plans where it may (Germany's, for instance) the national
// form reaches it as well, while in closed plans only the national form
// does. Area and PrefixSubs are there for callers who know their plan.
func (w Watched) Dialable(number string) (string, error) {
	if w.PrefixIntl == "" {
		return "", errors.New("rcc: Dialable: no prefixes from the PBX (UserInitializeResult has them since build 132105)")
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(number), "+")
	if !ok {
		return "", errors.New("rcc: Dialable: not an international number starting with +")
	}
	digits := make([]byte, 0, len(rest))
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')':
		default:
			return "", errors.New("rcc: Dialable: a number has digits and separators only")
		}
	}
	if len(digits) == 0 {
		return "", errors.New("rcc: Dialable: no digits after +")
	}
	// Country codes are a prefix code (ITU-T E.164): a number starting
	// with the user's country code is in the user's country.
	country := strings.TrimPrefix(w.Country, "+")
	if country != "" && allDigits(country) && len(digits) > len(country) && strings.HasPrefix(string(digits), country) {
		return w.PrefixNtl + string(digits[len(country):]), nil
	}
	return w.PrefixIntl + string(digits), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
