package config

import (
	"fmt"
	"sort"
	"strconv"
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

// envUse is one ${NAME} a value was expanded from, kept so that errors can
// name the variable instead of echoing its value (often a secret).
type envUse struct{ name, value string }

// noteEnv records the variables the value at path was expanded from.
func (p *problems) noteEnv(path string, used []envUse) {
	if len(used) == 0 {
		return
	}
	if p.env == nil {
		p.env = map[string][]envUse{}
	}
	p.env[path] = append(p.env[path], used...)
}

// hideEnv rewrites every problem so that no expanded value shows: each
// becomes ${NAME}. A value is hidden in the problems of its own key and
// the keys around it; one long enough to be a secret (8 bytes or more) in
// every problem, since a check may quote it under another key.
func (p *problems) hideEnv() {
	if len(p.env) == 0 {
		return
	}
	for _, e := range p.errs {
		var hide []envUse
		for path, uses := range p.env {
			related := e.Path != "" && (e.Path == path || under(e.Path, path) || under(path, e.Path))
			for _, u := range uses {
				if related || len(u.value) >= 8 {
					hide = append(hide, u)
				}
			}
		}
		// Longest first, so a value is not half-replaced by a shorter one inside it.
		sort.Slice(hide, func(i, j int) bool { return len(hide[i].value) > len(hide[j].value) })
		for _, u := range hide {
			e.Msg, e.Hint = hideValue(e.Msg, u), hideValue(e.Hint, u)
		}
	}
}

// hideValue replaces u's value in s, as written and as %q would escape it.
func hideValue(s string, u envUse) string {
	s = strings.ReplaceAll(s, u.value, "${"+u.name+"}")
	if q := strconv.Quote(u.value); q[1:len(q)-1] != u.value {
		s = strings.ReplaceAll(s, q[1:len(q)-1], "${"+u.name+"}")
	}
	return s
}

// under reports whether key path sits below parent.
func under(path, parent string) bool {
	return strings.HasPrefix(path, parent+".") || strings.HasPrefix(path, parent+"[")
}
