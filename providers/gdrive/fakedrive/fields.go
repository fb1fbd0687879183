package fakedrive

import (
	"fmt"
	"strings"
)

// selection is a parsed `fields` parameter: each key maps to the selection
// of its sub-fields, nil meaning all of them.
type selection map[string]selection

// parseFields reads Google's partial-response syntax:
// "nextPageToken,files(id,name,size)", "files/id", "*".
func parseFields(s string) (selection, error) {
	sel, rest, err := parseFieldList(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("unexpected %q in fields", rest)
	}
	return sel, nil
}

func parseFieldList(s string) (selection, string, error) {
	sel := selection{}
	for s != "" && s[0] != ')' {
		name, sub, rest, err := parseFieldItem(s)
		if err != nil {
			return nil, "", err
		}
		sel[name] = merge(sel[name], sub, sel.has(name))
		s = rest
		s = strings.TrimPrefix(s, ",")
	}
	return sel, s, nil
}

// parseFieldItem reads one "name", "name(list)" or "name/item".
func parseFieldItem(s string) (string, selection, string, error) {
	i := strings.IndexAny(s, ",()/")
	if i < 0 {
		i = len(s)
	}
	name, s := s[:i], s[i:]
	if name == "" {
		return "", nil, "", fmt.Errorf("empty field name in fields")
	}
	switch {
	case strings.HasPrefix(s, "("):
		sub, rest, err := parseFieldList(s[1:])
		if err != nil {
			return "", nil, "", err
		}
		if !strings.HasPrefix(rest, ")") {
			return "", nil, "", fmt.Errorf("missing ) in fields")
		}
		return name, sub, rest[1:], nil
	case strings.HasPrefix(s, "/"):
		subName, subSel, rest, err := parseFieldItem(s[1:])
		if err != nil {
			return "", nil, "", err
		}
		return name, selection{subName: subSel}, rest, nil
	}
	return name, nil, s, nil
}

func (sel selection) has(name string) bool { _, ok := sel[name]; return ok }

// merge combines two selections of one field; nil (all) wins.
func merge(a, b selection, hadA bool) selection {
	if !hadA {
		return b
	}
	if a == nil || b == nil {
		return nil
	}
	for k, v := range b {
		a[k] = merge(a[k], v, a.has(k))
	}
	return a
}

// apply keeps only the selected keys of obj, recursing into objects and
// lists of objects. A nil selection keeps everything.
func (sel selection) apply(obj map[string]any) map[string]any {
	if sel == nil || sel.has("*") {
		return obj
	}
	out := map[string]any{}
	for k, sub := range sel {
		v, ok := obj[k]
		if !ok {
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			out[k] = sub.apply(v)
		case []map[string]any:
			list := make([]map[string]any, len(v))
			for i, o := range v {
				list[i] = sub.apply(o)
			}
			out[k] = list
		default:
			out[k] = v
		}
	}
	return out
}
