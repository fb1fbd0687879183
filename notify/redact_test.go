package notify

import (
	"errors"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"smtp://shop%40example.com:s3cret@mail.example.com:587/?from=a@example.com&to=b@example.com,c@example.com",
			"smtp://shop%40example.com:***@mail.example.com:587/?from=a@example.com&to=b@example.com,c@example.com"},
		{"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx",
			"https://hooks.slack.com/services/***/***/***"},
		{"https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789_abcdefghijk",
			"https://discord.com/api/webhooks/***/***"},
		{"telegram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw@telegram?chats=@shopalerts",
			"telegram://123456789:***@telegram?chats=@shopalerts"},
		{"discord://AbCdEfGhIjKlMnOpQrSt@123456789012345678", "discord://***@***"},
		{"slack://hook:WNA3PBYV6-F20DUQND3RQ-Webc4MAvoacrpPakR8phF0zi@webhook", "slack://hook:***@webhook"},
		{"slack://T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx", "slack://***/***/***"},
		{"teams://group@2a3b4c5d-1111-2222-3333-444455556666/altId/groupOwner?host=shop.webhook.office.com",
			"teams://***@***/altId/***?host=***"},
		{"teams://?host=https%3A%2F%2Fprod-00.westus.logic.azure.com%3A443%2Fworkflows%2Fabc123%2Ftriggers%3Fsig%3DXXXXXXXX&title=Alert",
			"teams://?host=***&title=Alert"},
		{"ntfy://ntfy.sh/offsite-shop", "ntfy://ntfy.sh/offsite-shop"},
		{"https://hc-ping.com/3f2a1b9c-7d4e-4b0a-9c1d-2e3f4a5b6c7d", "https://hc-ping.com/***"},
		{"https://kuma.shop.lan/api/push/Xk3bD9a2QZ?status=up&msg=OK&ping=", "https://kuma.shop.lan/api/push/***?status=up&msg=OK&ping="},
		{"https://hooks.example.com/offsite?token=abc&x=1", "https://hooks.example.com/offsite?token=***&x=***"},
		{"https://user:pw@hooks.example.com/offsite", "https://user:***@hooks.example.com/offsite"},
		{"not a url", "<invalid URL>"},
		{"://nothing", "<invalid URL>"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestScrubRemovesEverySecret(t *testing.T) {
	raw := "https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789"
	err := errors.New(`Post "` + raw + `": EOF; token AbCdEfGhIjKlMnOpQrStUvWxYz-0123456789 rejected`)
	got := scrub(err, raw).Error()
	if strings.Contains(got, "AbCdEf") || strings.Contains(got, "123456789012345678") {
		t.Errorf("scrub left a secret: %s", got)
	}
	if !strings.Contains(got, "https://discord.com/api/webhooks/***/***") || !strings.Contains(got, "EOF") {
		t.Errorf("scrub lost context: %s", got)
	}
	if scrub(nil, raw) != nil {
		t.Error("nil error became non-nil")
	}
}
