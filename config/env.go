package config

import (
	"fmt"
	"strings"
)

// expand replaces ${NAME} with the variable's value and $$ with a single $.
// Any other $ is kept as written, so a password such as "pa$word" needs no
// escaping. It runs on decoded values, never on the raw file, so a value
// holding YAML or a $ cannot change how the file parses. unset lists the
// variables that are not set.
func expand(s string, lookup func(string) (string, bool)) (out string, unset []string, err error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", nil, fmt.Errorf("has ${ without a closing }")
			}
			name := s[i+2 : i+2+end]
			if !validEnvName(name) {
				// The text is not echoed: it may be part of a secret.
				return "", nil, fmt.Errorf("has a ${...} that is not a variable name (letters, digits and _, not starting with a digit); write $$ for a literal $")
			}
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				unset = append(unset, name)
			}
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), unset, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
