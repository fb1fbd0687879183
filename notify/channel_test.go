package notify

import (
	"slices"
	"strings"
	"testing"
)

func TestParseChannels(t *testing.T) {
	chs, err := ParseChannels([]string{
		" smtp://u:p@mail.example.com:465/?from=a@example.com&to=b@example.com ",
		"https://hooks.example.com/offsite",
		"ntfy://ntfy.sh/offsite-shop",
	}, [][]Kind{{KindFailure, KindReport}})
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 3 {
		t.Fatalf("got %d channels", len(chs))
	}
	if !slices.Equal(chs[0].On, []Kind{KindFailure, KindReport}) || !slices.Equal(chs[1].On, DefaultOn()) {
		t.Errorf("on = %v, %v", chs[0].On, chs[1].On)
	}
	if strings.HasPrefix(chs[0].URL, " ") {
		t.Error("URL not trimmed")
	}
	for _, ch := range chs {
		if len(ch.ID) != 16 || strings.Contains(ch.URL, ch.ID) {
			t.Errorf("ID %q", ch.ID)
		}
	}
	again, _ := ParseChannels([]string{chs[1].URL}, nil)
	if again[0].ID != chs[1].ID {
		t.Error("ID not stable")
	}
}

// The URL forms the shoutrrr documentation gives for the services the issue
// names are accepted as they are.
func TestParseChannelsAcceptsChatServices(t *testing.T) {
	urls := []string{
		"slack://hook:WNA3PBYV6-F20DUQND3RQ-Webc4MAvoacrpPakR8phF0zi@webhook",
		"slack://xoxb:123456789012-1234567890123-4mt0t4l1YL3g1T5L4cK70k3N@C001CH4NN3L",
		"discord://W3dE2OZz4C13_4z_uHfDOoC7BqTW288s-z1ykqI0iJnY_HjRqMGO8Sc7YDqvf_KVKjhJ@693853386302554172",
		"telegram://110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw@telegram?chats=@shopalerts,-1001234567890",
		"teams://?host=https%3A%2F%2Fprod-00.westus.logic.azure.com%3A443%2Fworkflows%2Fabc123%2Ftriggers%2Fmanual%2Fpaths%2Finvoke%3Fapi-version%3D2016-06-00%26sig%3DXXXXXXXX",
		"ntfy://ntfy.sh/offsite-shop-7f3k2",
		"ntfy://user:pass@ntfy.example.com/private",
		"smtp://user:pass@mail.example.com:587/?from=a@example.com&to=b@example.com,c@example.com",
	}
	if _, err := ParseChannels(urls, nil); err != nil {
		t.Fatal(err)
	}
}

func TestParseChannelsRejects(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		on        []Kind
		want      string
	}{
		{"smtp without to", "smtp://u:Secr3tPassw0rd@mail.example.com/?from=a@example.com", nil, "no recipient: add &to="},
		{"unknown scheme", "carrierpigeon://Secr3tPassw0rd@loft", nil, "unknown service"},
		{"webhook without host", "https:///path", nil, "no host"},
		{"bad kind", "https://hooks.example.com/x", []Kind{"sometimes"}, "unknown notification kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseChannels([]string{tc.url}, [][]Kind{tc.on})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Secr3tPassw0rd") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
	_, err := ParseChannels([]string{"https://a.example/x", "https://a.example/x"}, nil)
	if err == nil || !strings.Contains(err.Error(), "same URL as notify[0]") {
		t.Errorf("duplicate: %v", err)
	}
}
