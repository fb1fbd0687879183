// Package fakecloud is the shared part of offsite's cloud emulators: fault
// injection, request statistics, quotas, OAuth tokens and the /_fakecloud
// control API. Each service's emulator (fakedrive, fakedropbox, fakegraph)
// registers its routes on one mux through Cloud.Wrap, so a single loopback
// port serves all three, as cmd/fakecloud does.
package fakecloud

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"
)

// Service is what an emulator tells the control API about itself.
type Service interface {
	// Name is "drive", "dropbox" or "onedrive".
	Name() string
	// Files lists every stored file (not folders), paths slash-separated from the account root.
	Files() []File
	// ErrorBody renders the service's own error body for an injected status.
	ErrorBody(status int) (contentType string, body []byte)
}

// File is one stored file as /_fakecloud/files reports it.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Fault is one injected failure, as posted to /_fakecloud/faults.
type Fault struct {
	Service    string `json:"service"`          // drive | dropbox | onedrive | any
	Path       string `json:"path,omitempty"`   // substring of path+query to match; "" matches all
	Method     string `json:"method,omitempty"` // "" matches all
	Status     int    `json:"status,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"` // Go duration, sent as whole seconds
	// Times is how many matching requests fail; 0 or less means until cleared.
	Times int `json:"times,omitempty"`
	// Skip lets this many matching requests through before failing.
	Skip int `json:"skip,omitempty"`
	// ResetAfterBytes drops the connection after reading that many request-body bytes.
	ResetAfterBytes int64 `json:"reset_after_bytes,omitempty"`
	// DropResponse processes the request, then drops the connection instead
	// of answering: the "lost response" case.
	DropResponse bool `json:"drop_response,omitempty"`
	// CorruptBody flips one bit of the request body before the service
	// sees it: the service stores bytes other than those sent. The bit and
	// its offset (within the body's Content-Length, else its first read)
	// are drawn from Seed, so one seed damages the same place of every body
	// it applies to, and a test can be repeated.
	CorruptBody bool `json:"corrupt_body,omitempty"`
	// Seed picks corrupt_body's offset and bit.
	Seed uint64 `json:"seed,omitempty"`
	// Hang accepts the request, then answers nothing until the faults are
	// cleared, when it is served as usual, or the client gives up: the
	// stalled service. (It takes in the request body: only then does the
	// server notice a client that hangs up.)
	Hang bool `json:"hang,omitempty"`

	release <-chan struct{} // closed when the faults are cleared
}

// Stats counts what one service received.
type Stats struct {
	Requests  int64 `json:"requests"`
	BodyBytes int64 `json:"body_bytes"`
	// UploadBytes counts request-body bytes on upload routes only.
	UploadBytes int64 `json:"upload_bytes"`
}

// Cloud holds the state shared by every emulator on one port.
type Cloud struct {
	mu       sync.Mutex
	services map[string]Service
	faults   []*Fault
	stats    map[string]*Stats
	quota    map[string]int64
	tokenTTL time.Duration
	access   map[string]accessToken
	revoked  map[string]bool // services whose refresh tokens are revoked
	now      func() time.Time
	release  chan struct{} // closed by ClearFaults: hanging requests go on
}

type accessToken struct {
	service string
	expiry  time.Time
}

// DefaultQuota is each account's size until the control API changes it.
const DefaultQuota = 15 << 30

// New returns a Cloud whose access tokens live for tokenTTL (default 1h).
func New(tokenTTL time.Duration) *Cloud {
	if tokenTTL <= 0 {
		tokenTTL = time.Hour
	}
	return &Cloud{
		services: map[string]Service{},
		stats:    map[string]*Stats{},
		quota:    map[string]int64{},
		tokenTTL: tokenTTL,
		access:   map[string]accessToken{},
		revoked:  map[string]bool{},
		now:      time.Now,
		release:  make(chan struct{}),
	}
}

// Register makes a service known to the control API.
func (c *Cloud) Register(s Service) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.services[s.Name()] = s
}

// Quota returns the account size of service in bytes.
func (c *Cloud) Quota(service string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q, ok := c.quota[service]; ok {
		return q
	}
	if q, ok := c.quota["any"]; ok {
		return q
	}
	return DefaultQuota
}

// SetQuota sets the account size of service ("any" for all).
func (c *Cloud) SetQuota(service string, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if service == "any" {
		clear(c.quota)
	}
	c.quota[service] = bytes
}

// AddFault installs a fault.
func (c *Cloud) AddFault(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, &f)
}

// ClearFaults removes every fault and lets hanging requests go on.
func (c *Cloud) ClearFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = nil
	close(c.release)
	c.release = make(chan struct{})
}

// StatsOf returns a copy of service's counters.
func (c *Cloud) StatsOf(service string) Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.stats[service]; s != nil {
		return *s
	}
	return Stats{}
}

// take returns the first fault matching r and uses up one of its times.
func (c *Cloud) take(service string, r *http.Request) *Fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	target := r.URL.Path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	for i, f := range c.faults {
		if f.Service != "any" && f.Service != service {
			continue
		}
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if f.Path != "" && !strings.Contains(target, f.Path) {
			continue
		}
		if f.Skip > 0 {
			f.Skip--
			continue
		}
		hit := *f
		hit.release = c.release
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				c.faults = append(c.faults[:i:i], c.faults[i+1:]...)
			}
		}
		return &hit
	}
	return nil
}

// countingBody counts request-body bytes into a service's stats.
type countingBody struct {
	io.ReadCloser
	c      *Cloud
	st     *Stats
	upload bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.c.mu.Lock()
		b.st.BodyBytes += int64(n)
		if b.upload {
			b.st.UploadBytes += int64(n)
		}
		b.c.mu.Unlock()
	}
	return n, err
}

// flipBit flips bit `bit` of the byte at offset `at` of the body.
type flipBit struct {
	io.ReadCloser
	at   int64
	bit  uint
	read int64
	done bool
}

// newFlipBit draws the offset (below size, when known) and bit from seed.
func newFlipBit(body io.ReadCloser, size int64, seed uint64) *flipBit {
	r := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f := &flipBit{ReadCloser: body, bit: uint(r.IntN(8))}
	if size > 0 {
		f.at = r.Int64N(size)
	}
	return f
}

func (b *flipBit) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if !b.done && n > 0 {
		if off := b.at - b.read; off >= 0 && off < int64(n) {
			p[off] ^= 1 << b.bit
			b.done = true
		}
	}
	b.read += int64(n)
	return n, err
}

// Wrap serves h as part of service: it counts the request, applies any
// matching fault, and otherwise passes it on. upload marks routes whose
// bodies are file content.
func (c *Cloud) Wrap(service string, upload bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		st := c.stats[service]
		if st == nil {
			st = &Stats{}
			c.stats[service] = st
		}
		st.Requests++
		c.mu.Unlock()
		r.Body = &countingBody{ReadCloser: r.Body, c: c, st: st, upload: upload}

		f := c.take(service, r)
		switch {
		case f == nil:
			h.ServeHTTP(w, r)
		case f.Hang:
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			select {
			case <-f.release:
				r.Body = io.NopCloser(bytes.NewReader(body))
				h.ServeHTTP(w, r)
			case <-r.Context().Done():
			}
		case f.ResetAfterBytes > 0:
			io.CopyN(io.Discard, r.Body, f.ResetAfterBytes)
			hangUp(w)
		case f.CorruptBody:
			r.Body = newFlipBit(r.Body, r.ContentLength, f.Seed)
			h.ServeHTTP(w, r)
		case f.DropResponse:
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			hangUp(w)
		case f.Status > 0:
			io.Copy(io.Discard, r.Body)
			if d, err := time.ParseDuration(f.RetryAfter); err == nil && d > 0 {
				w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(d.Seconds()))))
			}
			ct, body := "application/json; charset=UTF-8", []byte(`{"error":"injected fault"}`)
			if s := c.service(service); s != nil {
				ct, body = s.ErrorBody(f.Status)
			}
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(f.Status)
			w.Write(body)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

func (c *Cloud) service(name string) Service {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.services[name]
}

// hangUp closes the client's connection without an answer.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// BaseURL is the scheme and host the client used to reach the emulator,
// taken from X-Forwarded-Proto/Host when a proxy sits in front.
func BaseURL(r *http.Request) string {
	proto := r.Header.Get("X-Forwarded-Proto")
	if proto == "" {
		proto = "http"
		if r.TLS != nil {
			proto = "https"
		}
	}
	host := r.Header.Get("X-Forwarded-Host")
	if host == "" {
		host = r.Host
	}
	return proto + "://" + host
}

// ---- tokens ----

// TokenState is what an API request's bearer token amounts to.
type TokenState int

const (
	TokenOK TokenState = iota
	TokenMissing
	TokenInvalid
	TokenExpired
)

// CheckToken inspects r's Authorization header for service.
func (c *Cloud) CheckToken(service string, r *http.Request) TokenState {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		return TokenMissing
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a, found := c.access[tok]
	switch {
	case !found || a.service != service:
		return TokenInvalid
	case !c.now().Before(a.expiry):
		return TokenExpired
	}
	return TokenOK
}

// IssueToken grants an access token for service, as the token endpoints do.
func (c *Cloud) IssueToken(service string) (token string, ttl time.Duration) {
	token = "fake-" + service + "-" + randomHex(16)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.access[token] = accessToken{service: service, expiry: c.now().Add(c.tokenTTL)}
	return token, c.tokenTTL
}

// ExpireTokens makes every access token of service ("any" for all) expired.
func (c *Cloud) ExpireTokens(service string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, a := range c.access {
		if service == "any" || a.service == service {
			a.expiry = time.Time{}
			c.access[k] = a
		}
	}
}

// RevokeRefresh makes refresh grants for service fail with invalid_grant
// until restored (revoked=false).
func (c *Cloud) RevokeRefresh(service string, revoked bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.revoked[service] = revoked
	if revoked {
		for k, a := range c.access {
			if a.service == service {
				delete(c.access, k)
			}
		}
	}
}

func (c *Cloud) isRevoked(service string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.revoked[service] || c.revoked["any"]
}

// TokenHandler serves a service's OAuth token endpoint: refresh_token,
// authorization_code (any code, PKCE verifier accepted unchecked) and
// device_code grants (device codes are approved at once).
func (c *Cloud) TokenHandler(service string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
			oauthError(w, http.StatusBadRequest, "invalid_request", "POST a form")
			return
		}
		refresh := ""
		switch g := r.PostForm.Get("grant_type"); g {
		case "refresh_token":
			if r.PostForm.Get("refresh_token") == "" {
				oauthError(w, http.StatusBadRequest, "invalid_request", "missing refresh_token")
				return
			}
			if c.isRevoked(service) || strings.HasPrefix(r.PostForm.Get("refresh_token"), "revoked") {
				oauthError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
				return
			}
		case "authorization_code", "urn:ietf:params:oauth:grant-type:device_code":
			refresh = "fake-refresh-" + service + "-" + randomHex(16)
			c.RevokeRefresh(service, false)
		default:
			oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+g+" is not supported")
			return
		}
		tok, ttl := c.IssueToken(service)
		resp := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl.Seconds())}
		if refresh != "" {
			resp["refresh_token"] = refresh
		}
		if s := r.PostForm.Get("scope"); s != "" {
			resp["scope"] = s
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

// DeviceCodeHandler serves a device-authorization endpoint; codes are
// approved immediately, so polling the token endpoint succeeds at once.
func (c *Cloud) DeviceCodeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := strings.ToUpper(randomHex(4))
		writeJSON(w, http.StatusOK, map[string]any{
			"device_code":      "fake-device-" + randomHex(8),
			"user_code":        code,
			"verification_uri": BaseURL(r) + "/device",
			"verification_url": BaseURL(r) + "/device",
			"expires_in":       900,
			"interval":         1,
			"message":          "To sign in, open " + BaseURL(r) + "/device and enter the code " + code + ".",
		})
	})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- control API ----

// ControlHandler serves /_fakecloud/…:
//
//	POST   /_fakecloud/faults   Fault JSON          install a fault
//	DELETE /_fakecloud/faults                       clear all faults
//	GET    /_fakecloud/files?service=drive          stored files
//	GET    /_fakecloud/stats                        counters per service
//	POST   /_fakecloud/quota    {"service","bytes"} set an account size
//	POST   /_fakecloud/tokens/expire {"service"}    expire access tokens
//	POST   /_fakecloud/tokens/revoke {"service","revoked":true} revoke refresh tokens
func (c *Cloud) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	c.mountControl(mux)
	return mux
}

// ControlRoutes lists the control API's patterns, as mounted.
func ControlRoutes() []string {
	var rec RouteRecorder
	New(time.Hour).mountControl(&rec)
	return rec
}

// Mux is what emulators mount their routes on: an *http.ServeMux when
// serving, a RouteRecorder when listing them (docs/fidelity.md must name
// every one; cmd/fakecloud's tests check that).
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// RouteRecorder is a Mux that only records the patterns mounted on it.
type RouteRecorder []string

// Handle records pattern.
func (r *RouteRecorder) Handle(pattern string, _ http.Handler) { *r = append(*r, pattern) }

func (c *Cloud) mountControl(mux Mux) {
	mux.Handle("POST /_fakecloud/faults", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil || f.Service == "" {
			http.Error(w, "want a fault as JSON with a service", http.StatusBadRequest)
			return
		}
		c.AddFault(f)
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.Handle("DELETE /_fakecloud/faults", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.Handle("GET /_fakecloud/files", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("service")
		c.mu.Lock()
		var svcs []Service
		for n, s := range c.services {
			if name == "" || name == "any" || n == name {
				svcs = append(svcs, s)
			}
		}
		c.mu.Unlock()
		files := []File{}
		for _, s := range svcs {
			files = append(files, s.Files()...)
		}
		sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
		writeJSON(w, http.StatusOK, files)
	}))
	mux.Handle("GET /_fakecloud/stats", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		out := map[string]Stats{}
		for n, s := range c.stats {
			out[n] = *s
		}
		c.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	}))
	mux.Handle("POST /_fakecloud/quota", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q struct {
			Service string `json:"service"`
			Bytes   int64  `json:"bytes"`
		}
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil || q.Service == "" {
			http.Error(w, `want {"service":"any","bytes":N}`, http.StatusBadRequest)
			return
		}
		c.SetQuota(q.Service, q.Bytes)
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.Handle("POST /_fakecloud/tokens/{op}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q struct {
			Service string `json:"service"`
			Revoked *bool  `json:"revoked"`
		}
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil || q.Service == "" {
			http.Error(w, `want {"service":"drive"}`, http.StatusBadRequest)
			return
		}
		switch r.PathValue("op") {
		case "expire":
			c.ExpireTokens(q.Service)
		case "revoke":
			c.RevokeRefresh(q.Service, q.Revoked == nil || *q.Revoked)
		default:
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

// ---- helpers for emulators ----

// ReadAllLimited reads a small request body (metadata, JSON arguments).
func ReadAllLimited(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, 16<<20))
}
