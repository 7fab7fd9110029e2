package schema

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParsePath splits a dotted key path as `rdd get` and `rdd set` take it:
// vm.cpus, containers.web.state, images."ghcr.io/x/y:1".state. A segment
// holding dots, slashes or colons is written in double quotes; inside
// quotes, \" and \\ escape. FormatPath is its inverse.
func ParsePath(s string) ([]string, error) {
	if s == "" {
		return nil, fmt.Errorf("empty key path")
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("key path %q is not valid UTF-8", s)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return nil, fmt.Errorf("key path %q: control character at offset %d", s, i)
	}
	var segs []string
	for i := 0; ; {
		var seg string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("key path %q: unterminated quote at offset %d", s, i)
			}
			seg, i = b.String(), j+1
			if seg == "" {
				return nil, fmt.Errorf("key path %q: empty quoted key at offset %d", s, i-2)
			}
		} else {
			j := strings.IndexAny(s[i:], ".\"")
			if j < 0 {
				j = len(s) - i
			}
			if s[i:i+j] == "" {
				return nil, fmt.Errorf("key path %q: empty key at offset %d", s, i)
			}
			seg, i = s[i:i+j], i+j
		}
		segs = append(segs, seg)
		if i == len(s) {
			return segs, nil
		}
		if s[i] != '.' {
			return nil, fmt.Errorf("key path %q: expected '.' at offset %d", s, i)
		}
		i++
		if i == len(s) {
			return nil, fmt.Errorf("key path %q: ends with '.'", s)
		}
	}
}
