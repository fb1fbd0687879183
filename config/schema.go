package config

import (
	"reflect"
	"sort"
	"strings"
)

// fieldIndex maps each YAML key of a struct type to its field index.
func fieldIndex(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		if k := yamlKey(t.Field(i)); k != "" {
			m[k] = i
		}
	}
	return m
}

func yamlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return name
}

// keysOf lists a struct type's YAML keys in declaration order.
func keysOf(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if k := yamlKey(t.Field(i)); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// KeyPaths lists every key the config understands, as paths such as
// "watches[].settle", in declaration order. Documentation tests use it to
// make sure nothing goes undocumented.
func KeyPaths() []string {
	var out []string
	walkSchema(reflect.TypeFor[Config](), "", func(path string, _ reflect.Type) { out = append(out, path) })
	return out
}

func walkSchema(t reflect.Type, path string, fn func(path string, owner reflect.Type)) {
	for i := range t.NumField() {
		f := t.Field(i)
		k := yamlKey(f)
		if k == "" {
			continue
		}
		p := join(path, k)
		fn(p, t)
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft, p = ft.Elem(), p+"[]"
		}
		if ft.Kind() == reflect.Struct && !isLeaf(ft) {
			walkSchema(ft, p, fn)
		}
	}
}

func isLeaf(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[interface{ UnmarshalText([]byte) error }]())
}

// sectionsOf names the other places key belongs, when it is not a key of
// owner: "chunk_size belongs under destinations[]".
func sectionsOf(key string, owner reflect.Type) string {
	set := map[string]bool{}
	walkSchema(reflect.TypeFor[Config](), "", func(path string, t reflect.Type) {
		if t == owner {
			return
		}
		if p := parent(path); path == key || strings.HasSuffix(path, "."+key) {
			if p == "" {
				p = "the top level"
			}
			set[p] = true
		}
	})
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, " or ")
}
