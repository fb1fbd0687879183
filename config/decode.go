package config

import (
	"encoding"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// The decoder walks go-yaml's syntax tree itself instead of calling
// yaml.Unmarshal with yaml.Strict(): Strict stops at the first unknown key,
// and we want every problem of the file at once, each with its line, plus a
// suggestion for a mistyped key. Keys starting with "x-" are ignored, so
// they can hold anchors (&name) for other entries to merge (<<: *name).
type decoder struct {
	p       *problems
	lookup  func(string) (string, bool)
	anchors map[string]ast.Node
}

type entry struct {
	key  string
	line int
	val  ast.Node
}

// maxMergeDepth bounds << chains; a real config needs one or two.
const maxMergeDepth = 8

// decode fills c from data, recording each key's line in p.lines and each
// problem in p.
func decode(data []byte, c *Config, p *problems, lookup func(string) (string, bool)) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		p.syntax(err)
		return
	}
	if len(f.Docs) == 0 || f.Docs[0] == nil || f.Docs[0].Body == nil {
		return
	}
	for _, doc := range f.Docs[1:] {
		if doc != nil && doc.Body != nil {
			p.addAt(line(doc.Body), "", "keep one document and remove the --- separator",
				"holds a second YAML document; offsite reads a single one")
			break
		}
	}
	d := &decoder{p: p, lookup: lookup, anchors: map[string]ast.Node{}}
	d.collectAnchors(f.Docs[0].Body, 0)
	body := d.resolve(f.Docs[0].Body, "")
	if _, ok := body.(*ast.NullNode); ok || body == nil {
		return
	}
	if !isMapping(body) {
		p.addAt(line(body), "", "start with keys such as watches: and destinations:, as in config.example.yaml",
			"is not a YAML mapping of keys")
		return
	}
	d.value(body, reflect.ValueOf(c).Elem(), "")
}

// syntax records a YAML syntax error at its line, without the source
// excerpt go-yaml adds: the line may hold a secret.
func (p *problems) syntax(err error) {
	var ye yaml.Error
	if !errors.As(err, &ye) || ye.GetToken() == nil {
		p.addAt(0, "", "check the indentation and quoting", "is not valid YAML")
		return
	}
	msg := ye.GetMessage()
	hint := "check the indentation and quoting on this line and the one above"
	switch {
	case strings.Contains(msg, "'\t'"):
		msg = "has a tab character"
		hint = "indent with spaces; YAML does not allow tabs"
	case strings.Contains(msg, "escape"):
		hint = quoteHint
	}
	p.addAt(ye.GetToken().Position.Line, "", hint, "is not valid YAML: %s", msg)
}

// collectAnchors records every &anchor before decoding, so an alias resolves
// even when its anchor sits under a key the decoder skips (x-...).
func (d *decoder) collectAnchors(n ast.Node, depth int) {
	if n == nil || depth > 64 {
		return
	}
	switch v := n.(type) {
	case *ast.AnchorNode:
		if v.Name != nil {
			d.anchors[v.Name.GetToken().Value] = v.Value
		}
		d.collectAnchors(v.Value, depth+1)
	case *ast.TagNode:
		d.collectAnchors(v.Value, depth+1)
	case *ast.MappingNode:
		for _, mv := range v.Values {
			d.collectAnchors(mv, depth+1)
		}
	case *ast.MappingValueNode:
		d.collectAnchors(v.Key, depth+1)
		d.collectAnchors(v.Value, depth+1)
	case *ast.SequenceNode:
		for _, x := range v.Values {
			d.collectAnchors(x, depth+1)
		}
	}
}

// resolve looks through anchors, aliases and tags to the node they stand for.
func (d *decoder) resolve(n ast.Node, path string) ast.Node {
	for range 16 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			name := ""
			if v.Value != nil {
				name = v.Value.GetToken().Value
			}
			t, ok := d.anchors[name]
			if !ok {
				d.p.addAt(line(v), path, "define it with &"+name+" before using it", "uses *%s, which no anchor defines", name)
				return nil
			}
			n = t
		default:
			return n
		}
	}
	d.p.addAt(line(n), path, "", "has aliases that refer to each other")
	return nil
}

func (d *decoder) value(n ast.Node, v reflect.Value, path string) {
	n = d.resolve(n, path)
	if n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	if _, ok := d.p.lines[path]; !ok {
		d.p.lines[path] = line(n)
	}
	if tu, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if s, ok := d.text(n, path); ok {
			if err := tu.UnmarshalText([]byte(s)); err != nil {
				d.p.add(path, "", "is not valid: %v", err)
			}
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		if s, ok := d.text(n, path); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if s, ok := d.text(n, path); ok {
			b, err := strconv.ParseBool(s)
			if err != nil {
				d.p.add(path, "write true or false", "must be true or false, not %q", s)
				return
			}
			v.SetBool(b)
		}
	case reflect.Int:
		if s, ok := d.text(n, path); ok {
			i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
			if err != nil {
				d.p.add(path, "write a number such as 3, without quotes or units", "must be a whole number, not %q", s)
				return
			}
			v.SetInt(i)
		}
	case reflect.Float64:
		if s, ok := d.text(n, path); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				d.p.add(path, "write a number such as 0.2", "must be a number, not %q", s)
				return
			}
			v.SetFloat(f)
		}
	case reflect.Slice:
		d.list(n, v, path)
	case reflect.Struct:
		d.mapping(n, v, path)
	}
}

func (d *decoder) list(n ast.Node, v reflect.Value, path string) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.p.add(path, "write a list, either [a, b] or one \"- item\" per line", "must be a list, not %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(seq.Values))
	for i, item := range seq.Values {
		p := index(path, i)
		if r := d.resolve(item, p); r != nil {
			d.p.lines[p] = line(r)
		}
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(item, e, p)
		out = reflect.Append(out, e)
	}
	v.Set(out)
}

func (d *decoder) mapping(n ast.Node, v reflect.Value, path string) {
	if !isMapping(n) {
		d.p.add(path, "write key: value pairs indented under it", "must be a mapping of keys, not %s", describe(n))
		return
	}
	fields := fieldIndex(v.Type())
	for _, e := range d.entries(n, path, 0) {
		if strings.HasPrefix(e.key, "x-") {
			continue
		}
		i, ok := fields[e.key]
		if !ok {
			d.unknown(e, path, v.Type())
			continue
		}
		kp := join(path, e.key)
		d.p.lines[kp] = e.line
		d.value(e.val, v.Field(i), kp)
	}
}

// entries lists a mapping's keys with merged (<<) keys first; a key written
// in the mapping itself wins over a merged one.
func (d *decoder) entries(n ast.Node, path string, depth int) []entry {
	var merged, own []entry
	for _, mv := range mapValues(n) {
		if mv.Key != nil && mv.Key.IsMergeKey() {
			if depth >= maxMergeDepth {
				d.p.addAt(line(mv), path, "", "has merges (<<) nested too deep")
				continue
			}
			src := d.resolve(mv.Value, path)
			srcs := []ast.Node{src}
			if seq, ok := src.(*ast.SequenceNode); ok {
				srcs = srcs[:0]
				for _, s := range seq.Values {
					srcs = append(srcs, d.resolve(s, path))
				}
			}
			for _, s := range srcs {
				if s == nil {
					continue
				}
				if !isMapping(s) {
					d.p.addAt(line(mv), path, "merge an anchored mapping: <<: *name", "merges %s, which is not a mapping", describe(s))
					continue
				}
				merged = append(merged, d.entries(s, path, depth+1)...)
			}
			continue
		}
		k := d.resolve(mv.Key, path)
		key, ok := scalarText(k)
		if !ok {
			d.p.addAt(line(mv), path, "write keys as plain words", "has a key that is not a plain word")
			continue
		}
		own = append(own, entry{key: key, line: line(mv.Key), val: mv.Value})
	}
	seen := map[string]bool{}
	for _, e := range own {
		seen[e.key] = true
	}
	var out []entry
	for _, e := range merged {
		if !seen[e.key] {
			seen[e.key] = true
			out = append(out, e)
		}
	}
	return append(out, own...)
}

func (d *decoder) unknown(e entry, path string, t reflect.Type) {
	known := keysOf(t)
	var hint string
	if where := sectionsOf(e.key, t); where != "" {
		hint = e.key + " belongs under " + where
	} else if s := closest(e.key, known); s != "" {
		hint = "did you mean " + s + "?"
	} else {
		hint = "the keys here are " + strings.Join(known, ", ")
	}
	d.p.addAt(e.line, join(path, e.key), hint, "is not a known key")
}

// text returns a scalar's text with ${VARS} expanded.
func (d *decoder) text(n ast.Node, path string) (string, bool) {
	s, ok := scalarText(n)
	if !ok {
		d.p.add(path, "write a single value", "must be a single value, not %s", describe(n))
		return "", false
	}
	var used []envUse
	lookup := func(name string) (string, bool) {
		v, ok := d.lookup(name)
		if ok && v != "" {
			used = append(used, envUse{name, v})
		}
		return v, ok
	}
	out, unset, err := expand(s, lookup)
	d.p.noteEnv(path, used)
	if err != nil {
		d.p.add(path, "", "%v", err)
		return "", false
	}
	if len(unset) > 0 {
		vars := make([]string, len(unset))
		for i, u := range unset {
			vars[i] = "${" + u + "}"
		}
		verb := "which is not set"
		if len(vars) > 1 {
			verb = "which are not set"
		}
		d.p.add(path, "set it in the service's environment or write the value here",
			"uses %s, %s", strings.Join(vars, " and "), verb)
		return "", false
	}
	return out, true
}

func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value == nil {
			return "", true
		}
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	}
	return "", false
}

func isMapping(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

func mapValues(n ast.Node) []*ast.MappingValueNode {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	}
	return nil
}

func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case nil:
		return "nothing"
	}
	// A scalar is not quoted: it might be a secret written at the wrong level.
	return "a single value"
}

func line(n ast.Node) int {
	if n == nil || reflect.ValueOf(n).IsNil() {
		return 0
	}
	if t := n.GetToken(); t != nil && t.Position != nil {
		return t.Position.Line
	}
	return 0
}
