package config

import (
	"encoding"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDocumentedDefaults keeps every "Default `X`" in docs/config.md equal to
// what the code fills in when the key is left out: a minimal config is
// loaded, and each documented literal is parsed as the key's type and
// compared with the loaded value. The first destination is a cloud one, so
// cloud-only defaults are filled in; email-only keys are looked up on the
// mailbox.
func TestDocumentedDefaults(t *testing.T) {
	dir := t.TempDir()
	watch := filepath.Join(dir, "in")
	usb := filepath.Join(dir, "usb")
	for _, d := range []string{watch, usb} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	yml := fmt.Sprintf(`state_dir: %q
watches:
  - name: pos
    path: %q
    destinations: [cloud, usb]
destinations:
  - name: cloud
    type: onedrive
    endpoint: http://127.0.0.1:1
  - name: usb
    type: local
    path: %q
  - name: mailbox
    type: email
    url: smtp://u:pw@mail.example.com:587/?from=a@example.com&to=b@example.com
schedules:
  - name: weekly
    cron: "@weekly"
    copy_latest: pos
    destinations: [usb, mailbox]
notify:
  - url: https://hooks.example.com/x
`, filepath.Join(dir, "state"), watch, usb)
	c, err := Parse([]byte(yml), filepath.Join(dir, "offsite.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(mustRead(t, "../docs/config.md"))
	section := regexp.MustCompile("(?m)^### `([^`]+)`\n")
	def := regexp.MustCompile("Default `([^`<]+)`")
	locs := section.FindAllStringSubmatchIndex(doc, -1)
	checked := 0
	for i, loc := range locs {
		key := doc[loc[2]:loc[3]]
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		m := def.FindStringSubmatch(doc[loc[1]:end])
		if m == nil {
			continue
		}
		if strings.HasPrefix(key, "keep.") {
			key = "destinations[]." + key // keep means the same under schedules
		}
		root := c
		if key == "destinations[].max_size" {
			mail := *c
			mail.Destinations = []Destination{*c.Destination("mailbox")}
			root = &mail
		}
		got, ok := lookupKey(reflect.ValueOf(root).Elem(), key)
		if !ok {
			t.Errorf("docs/config.md documents a default for %s, which the config does not have", key)
			continue
		}
		want := reflect.New(got.Type())
		if err := parseLiteral(want, m[1]); err != nil {
			t.Errorf("%s: documented default %q does not parse as %s: %v", key, m[1], got.Type(), err)
			continue
		}
		if !reflect.DeepEqual(want.Elem().Interface(), got.Interface()) {
			t.Errorf("%s: docs/config.md says the default is %q, the code uses %v", key, m[1], got.Interface())
		}
		checked++
	}
	if checked < 15 {
		t.Fatalf("checked %d documented defaults; the pattern no longer finds them", checked)
	}
}

// lookupKey follows a path such as "watches[].settle" through the config,
// taking the first element of each list.
func lookupKey(v reflect.Value, key string) (reflect.Value, bool) {
	for _, part := range strings.Split(key, ".") {
		name, list := strings.CutSuffix(part, "[]")
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return v, false
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return v, false
		}
		i, ok := fieldIndex(v.Type())[name]
		if !ok {
			return v, false
		}
		v = v.Field(i)
		if list {
			if v.Kind() != reflect.Slice || v.Len() == 0 {
				return v, false
			}
			v = v.Index(0)
		}
	}
	return v, true
}

func parseLiteral(p reflect.Value, s string) error {
	if u, ok := p.Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	v := p.Elem()
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("no parser for %s", v.Kind())
	}
	return nil
}
