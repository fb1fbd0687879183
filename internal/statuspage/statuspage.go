// Package statuspage serves the status page: one server-rendered HTML page
// (html/template, embedded, no script) that shows the status object
// (package status) for a person, and two buttons, "back up now" and "pause alerts until", as POST
// forms guarded against cross-site requests.
package statuspage

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/offsite-backup/offsite/notify"
	"github.com/offsite-backup/offsite/status"
)

//go:embed page.html
var files embed.FS

// Options connects the page to the program.
type Options struct {
	// Status returns the status object, the one `offsite status` and
	// /healthz show.
	Status func(context.Context) (*status.Status, error)
	// BackupNow looks for new backups in every watched folder now and runs
	// the schedules that are due. Nil when no daemon runs in this process:
	// the button then says so instead of doing nothing.
	BackupNow func() error
	// PauseAlerts silences missed-backup alerts for a watch ("" = every
	// watch) until a time, as `offsite pause --until` does.
	PauseAlerts func(ctx context.Context, watch string, until time.Time) error
	// Refresh is how often the page reloads itself; default 30s.
	Refresh time.Duration
	Log     *slog.Logger
	Now     func() time.Time // default time.Now
}

// Handler serves the page and its forms. It must sit behind the loopback
// Host check of the listener: the same-origin rule below compares Origin
// with Host, which only that check makes trustworthy.
type Handler struct {
	o     Options
	token string // per process: a page from another origin cannot read it
	mux   *http.ServeMux
}

// page is parsed once: a broken template fails every test, not a shop.
var page = template.Must(template.New("page.html").Funcs(template.FuncMap{
	"bytes": notify.HumanBytes,
	"ago":   ago,
	"state": destState,
	"depth": depth,
	"when":  func(t time.Time) string { return t.Local().Format("Mon 2 Jan 15:04") },
	"day":   func(t time.Time) string { return t.Local().Format("Mon 2 Jan 2006") },
	"percent": func(done, total int64) int64 {
		if total <= 0 {
			return 0
		}
		return done * 100 / total
	},
	"f": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
}).ParseFS(files, "page.html"))

// New builds the handler with a fresh random form token.
func New(o Options) *Handler {
	if o.Refresh <= 0 {
		o.Refresh = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{o: o, token: rand.Text(), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.show)
	h.mux.HandleFunc("POST /backup-now", h.guard(h.backupNow))
	h.mux.HandleFunc("POST /pause-alerts", h.guard(h.pauseAlerts))
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// view is what the template renders.
type view struct {
	status.Status
	Chart     chart
	Token     string
	Refresh   int
	CanBackup bool
	Flash     string // what the last button did
	Error     string // why it did not
	Tomorrow  string // the earliest date the pause form takes
	Uploading map[string][]status.Job
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	var flash string
	switch r.URL.Query().Get("done") {
	case "backup":
		flash = "Looking for new backups now. New files show up here within a minute."
	case "pause":
		flash = "Missed-backup alerts are paused; the date is shown by each folder below."
	}
	h.render(w, r, http.StatusOK, flash, "")
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, code int, flash, problem string) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	st, err := h.o.Status(ctx)
	if err != nil {
		h.o.Log.Error("status page cannot read the status", "err", err)
		http.Error(w, "offsite cannot read its queue database: "+err.Error()+"\nRun `offsite status` on this computer to see more.", http.StatusInternalServerError)
		return
	}
	v := view{Status: *st, Chart: newChart(st.Days), Token: h.token, Refresh: int(h.o.Refresh / time.Second),
		CanBackup: h.o.BackupNow != nil, Flash: flash, Error: problem,
		Tomorrow: h.o.Now().AddDate(0, 0, 1).Format(time.DateOnly), Uploading: map[string][]status.Job{}}
	for _, u := range st.Uploading {
		v.Uploading[u.Destination] = append(v.Uploading[u.Destination], u)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		h.o.Log.Error("status page cannot be rendered", "err", err)
		http.Error(w, "the status page could not be drawn: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	// No script at all, and no framing: another site cannot overlay the
	// buttons and trick a click onto them.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(code)
	if _, err := w.Write(buf.Bytes()); err != nil {
		h.o.Log.Debug("status page not sent", "err", err)
	}
}

// guard lets a form POST through only when it comes from this page: the
// browser says the request is same-origin (Sec-Fetch-Site when it sends
// it, and Origin or else Referer naming this listener), and the form
// carries this process's token. Either alone is not enough; anything else
// is 403.
func (h *Handler) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if why := crossOrigin(r); why != "" {
			h.o.Log.Warn("status page refused a form from another origin", "path", r.URL.Path, "why", why)
			http.Error(w, "refused: "+why+". Use the buttons on the status page itself, opened at http://"+r.Host+"/", http.StatusForbidden)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, "refused: the form could not be read", http.StatusForbidden)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("token")), []byte(h.token)) != 1 {
			h.o.Log.Warn("status page refused a form without this page's token", "path", r.URL.Path)
			http.Error(w, "refused: the form is out of date (offsite restarted since the page was opened). Reload the status page and press the button again", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

// crossOrigin says why a request is not from this listener's own origin,
// or "" when it is.
func crossOrigin(r *http.Request) string {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" {
		return "the request came from another site (" + s + ")"
	}
	origin := r.Header.Get("Origin")
	from := "Origin"
	if origin == "" {
		origin, from = r.Header.Get("Referer"), "Referer"
	}
	if origin == "" {
		return "the browser did not say which page sent it (no Origin or Referer)"
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || !strings.EqualFold(u.Host, r.Host) {
		return "it was sent by a page of another origin (" + from + " does not name http://" + r.Host + ")"
	}
	return ""
}

func (h *Handler) backupNow(w http.ResponseWriter, r *http.Request) {
	if h.o.BackupNow == nil {
		h.render(w, r, http.StatusServiceUnavailable, "", "The offsite service is not running in this program, so it cannot look for backups now. Start it (`offsite run`, or the installed service).")
		return
	}
	if err := h.o.BackupNow(); err != nil {
		h.render(w, r, http.StatusServiceUnavailable, "", "Could not start a backup run: "+err.Error())
		return
	}
	http.Redirect(w, r, "/?done=backup", http.StatusSeeOther)
}

func (h *Handler) pauseAlerts(w http.ResponseWriter, r *http.Request) {
	date, watch := r.PostForm.Get("until"), r.PostForm.Get("watch")
	until, err := time.ParseInLocation(time.DateOnly, date, time.Local)
	if err != nil {
		h.render(w, r, http.StatusBadRequest, "", "Pick the date when missed-backup alerts should start again.")
		return
	}
	if err := h.o.PauseAlerts(r.Context(), watch, until); err != nil {
		h.render(w, r, http.StatusBadRequest, "", "Alerts were not paused: "+err.Error())
		return
	}
	h.o.Log.Info("missed-backup alerts paused from the status page", "watch", watch, "until", until)
	http.Redirect(w, r, "/?done=pause", http.StatusSeeOther)
}
