package statuspage

import (
	"net"
	"net/http"
	"strings"
)

// LoopbackOnly answers only requests addressed to this computer by
// name: a web page the shop's browser opens could otherwise point its own
// host name at 127.0.0.1 (DNS rebinding) and read every page here as
// same-origin. The browser still sends that page's name as Host, so it is
// turned away with 421 Misdirected Request.
func LoopbackOnly(listen string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host, listen) {
			http.Error(w, "offsite answers only requests to localhost, 127.0.0.1 or [::1]", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a Host header (with or without a port)
// names this computer: localhost, a loopback address, or the host of the
// configured listen address.
func loopbackHost(host, listen string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	} else {
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	}
	if h == "" {
		return false
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	lh, _, err := net.SplitHostPort(listen)
	return err == nil && strings.EqualFold(h, lh)
}
