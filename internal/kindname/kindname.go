// Package kindname names the Kind values of the typed APIs' Changes, the
// same way in every package (ARCHITECTURE.md, "Typed PBX APIs: one
// shape"): the lowerCamel name from the package's table, or "kind(N)" for
// a value that has none.
package kindname

import "strconv"

// Of returns names[k], or "kind(k)" when k is not a named kind (0, negative
// or beyond the table, or an empty entry).
func Of(names []string, k int) string {
	if k > 0 && k < len(names) && names[k] != "" {
		return names[k]
	}
	return "kind(" + strconv.Itoa(k) + ")"
}
