package fakedrive

import (
	"fmt"
	"strings"
)

// predicate decides whether a file matches a files.list query.
type predicate func(f *file) bool

// parseQuery compiles the subset of Drive's q language that clients of a
// backup tool use:
//
//	name = 'x'   name != 'x'   name contains 'x'   'ID' in parents
//	trashed = true|false   mimeType = 'm'   mimeType != 'm'
//	and, or, not, parentheses
//
// 'root' names My Drive. Strings escape ' and \ with a backslash, as Drive documents.
func parseQuery(q, rootID string) (predicate, error) {
	toks, err := lexQuery(q)
	if err != nil {
		return nil, err
	}
	p := &qparser{toks: toks, root: rootID}
	if len(toks) == 0 {
		return func(*file) bool { return true }, nil
	}
	pred, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	return pred, nil
}

type qtoken struct {
	text string
	str  bool // a quoted string literal; text is unescaped
}

func lexQuery(q string) ([]qtoken, error) {
	var toks []qtoken
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')' || c == '=':
			toks = append(toks, qtoken{text: string(c)})
			i++
		case c == '!' && i+1 < len(q) && q[i+1] == '=':
			toks = append(toks, qtoken{text: "!="})
			i += 2
		case c == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(q) {
					return nil, fmt.Errorf("unterminated string")
				}
				if q[i] == '\\' && i+1 < len(q) {
					b.WriteByte(q[i+1])
					i += 2
					continue
				}
				if q[i] == '\'' {
					i++
					break
				}
				b.WriteByte(q[i])
				i++
			}
			toks = append(toks, qtoken{text: b.String(), str: true})
		case isWordByte(c):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			toks = append(toks, qtoken{text: q[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q", c)
		}
	}
	return toks, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

type qparser struct {
	toks []qtoken
	pos  int
	root string // what the 'root' alias stands for
}

func (p *qparser) peekWord(w string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].str && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *qparser) next() (qtoken, error) {
	if p.pos >= len(p.toks) {
		return qtoken{}, fmt.Errorf("query ends too early")
	}
	t := p.toks[p.pos]
	p.pos++
	return t, nil
}

func (p *qparser) or() (predicate, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekWord("or") {
		p.pos++
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(f *file) bool { return l(f) || right(f) }
	}
	return left, nil
}

func (p *qparser) and() (predicate, error) {
	left, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.peekWord("and") {
		p.pos++
		right, err := p.not()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(f *file) bool { return l(f) && right(f) }
	}
	return left, nil
}

func (p *qparser) not() (predicate, error) {
	if p.peekWord("not") {
		p.pos++
		inner, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(f *file) bool { return !inner(f) }, nil
	}
	if p.peekWord("(") {
		p.pos++
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.peekWord(")") {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return inner, nil
	}
	return p.cond()
}

func (p *qparser) cond() (predicate, error) {
	a, err := p.next()
	if err != nil {
		return nil, err
	}
	op, err := p.next()
	if err != nil {
		return nil, err
	}
	b, err := p.next()
	if err != nil {
		return nil, err
	}
	if a.str && strings.EqualFold(op.text, "in") && !b.str && b.text == "parents" {
		id := a.text
		if id == "root" {
			id = p.root
		}
		return func(f *file) bool {
			for _, pid := range f.Parents {
				if pid == id {
					return true
				}
			}
			return false
		}, nil
	}
	if a.str {
		return nil, fmt.Errorf("unsupported condition %q %s %s", a.text, op.text, b.text)
	}
	var field func(f *file) string
	switch a.text {
	case "name":
		field = func(f *file) string { return f.Name }
	case "mimeType":
		field = func(f *file) string { return f.MimeType }
	case "trashed":
		if b.str || (b.text != "true" && b.text != "false") {
			return nil, fmt.Errorf("trashed takes true or false")
		}
		field = func(f *file) string { return fmt.Sprint(f.Trashed) }
	default:
		return nil, fmt.Errorf("unsupported field %q", a.text)
	}
	if a.text != "trashed" && !b.str {
		return nil, fmt.Errorf("%s takes a quoted string", a.text)
	}
	want := b.text
	switch op.text {
	case "=":
		return func(f *file) bool { return field(f) == want }, nil
	case "!=":
		return func(f *file) bool { return field(f) != want }, nil
	case "contains":
		return func(f *file) bool { return strings.Contains(field(f), want) }, nil
	}
	return nil, fmt.Errorf("unsupported operator %q", op.text)
}
