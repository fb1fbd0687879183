package config

import (
	"strings"
	"testing"
)

const testRecipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"

func TestStoredFormKeys(t *testing.T) {
	f := newFixture(t)
	c, errs := parseTest(t, f, base+"    compress: zstd\n    encrypt:\n      recipients: [\""+testRecipient+"\"]\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	spec := c.Destinations[0].Codec()
	if !spec.Compress || len(spec.Recipients) != 1 || spec.Suffix() != ".zst.age" {
		t.Fatalf("codec = %+v", spec)
	}
	c, errs = parseTest(t, f, base)
	if len(errs) > 0 || !c.Destinations[0].Codec().Plain() {
		t.Fatalf("a destination without compress or encrypt stores files as they are: %+v %v", c.Destinations[0].Codec(), errs)
	}
}

func TestStoredFormErrors(t *testing.T) {
	f := newFixture(t)
	private := "AGE-SECRET-KEY-1GQ9778VQXMMJVE8SK7J6VT8UJ4HDQAJUVSFCWCM02D8GEWQ72PVQ2Y5J33"
	cases := []struct {
		name, yaml, path, want string
	}{
		{"compress typo", "    compress: zstandard\n", "destinations[0].compress", "use off, zstd"},
		{"not a key", "    encrypt:\n      recipients: [age1nope]\n", "destinations[0].encrypt.recipients[0]", "offsite key generate"},
		{"private key as recipient", "    encrypt:\n      recipients: [" + private + "]\n", "destinations[0].encrypt.recipients[0]", "private key"},
		{"both", "    encrypt:\n      recipients: [" + testRecipient + "]\n      passphrase: a-long-enough-phrase\n", "destinations[0].encrypt.passphrase", "either recipients or passphrase"},
		{"empty", "    encrypt: {}\n", "destinations[0].encrypt", "offsite key generate"},
		{"short passphrase", "    encrypt:\n      passphrase: abc\n", "destinations[0].encrypt.passphrase", "at least 12"},
		{"unset variable", "    encrypt:\n      passphrase: ${NOT_SET_ANYWHERE}\n", "destinations[0].encrypt.passphrase", "NOT_SET_ANYWHERE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := parseTest(t, f, base+tc.yaml)
			found := false
			for _, e := range errs {
				if strings.Contains(e.Error(), private) {
					t.Errorf("an error quotes the private key: %v", e)
				}
				if e.Path == tc.path && strings.Contains(e.Error(), tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("want an error at %s mentioning %q; got %v", tc.path, tc.want, errs)
			}
		})
	}
}
