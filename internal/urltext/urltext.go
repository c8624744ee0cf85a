// Package urltext shows URLs in log lines and messages without the
// password a URL may carry.
package urltext

import "net/url"

// Redacted returns raw with any password replaced by "xxxxx", or "the
// server" when raw is not a URL (so that nothing unparsed is echoed).
func Redacted(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "the server"
}
