package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/offsite-backup/offsite/internal/statuspage"
	"github.com/offsite-backup/offsite/queue"
)

// httpHandler serves the status page at /, /metrics (Prometheus) and
// /healthz on the optional loopback listener. p is the running daemon's
// pipeline, for "back up now"; nil without one.
func (a *App) httpHandler(p *pipeline) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &queueCollector{s: a.Store})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		st, err := a.Status(ctx)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			a.Log.Error("health check cannot read the status", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			if err := json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": err.Error()}); err != nil {
				a.Log.Debug("health check reply not sent", "err", err)
			}
			return
		}
		// The same verdict as `offsite status`: 503 while anything that
		// raises an alert lasts.
		if !st.OK {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if err := json.NewEncoder(w).Encode(st); err != nil {
			a.Log.Debug("health check reply not sent", "err", err)
		}
	})
	o := statuspage.Options{
		Status: a.Status,
		PauseAlerts: func(ctx context.Context, watch string, until time.Time) error {
			return a.Pause(ctx, watch, until, false)
		},
		Log: a.Log,
	}
	if p != nil && p.backupNow != nil {
		o.BackupNow = p.backupNow
	}
	mux.Handle("/", statuspage.New(o))
	return statuspage.LoopbackOnly(a.Cfg.HTTP, mux)
}

var (
	descFiles  = prometheus.NewDesc("offsite_uploaded_files_total", "Files uploaded and verified, per destination.", []string{"destination"}, nil)
	descBytes  = prometheus.NewDesc("offsite_uploaded_bytes_total", "Bytes uploaded and verified, per destination.", []string{"destination"}, nil)
	descFailed = prometheus.NewDesc("offsite_failing_jobs", "Uploads waiting for a retry or given up, per destination and state.", []string{"destination", "state"}, nil)
	descDepth  = prometheus.NewDesc("offsite_queue_depth", "Uploads not yet done, per destination.", []string{"destination"}, nil)
	descLast   = prometheus.NewDesc("offsite_last_success_timestamp_seconds", "When the newest upload to a destination finished.", []string{"destination"}, nil)
	descPaused = prometheus.NewDesc("offsite_destination_paused", "1 while a destination is paused after a fatal error.", []string{"destination", "reason"}, nil)
)

// queueCollector reads the queue at scrape time: the database is the one
// source of truth, so the numbers survive restarts and need no bookkeeping.
type queueCollector struct{ s *queue.Store }

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFiles, descBytes, descFailed, descDepth, descLast, descPaused} {
		ch <- d
	}
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum, err := c.s.Summary(ctx)
	if err != nil {
		return
	}
	for _, d := range sum {
		ch <- prometheus.MustNewConstMetric(descFiles, prometheus.CounterValue, float64(d.Counts[queue.Done]), d.Destination)
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(d.Bytes), d.Destination)
		for _, st := range []queue.State{queue.Failed, queue.Dead} {
			ch <- prometheus.MustNewConstMetric(descFailed, prometheus.GaugeValue, float64(d.Counts[st]), d.Destination, string(st))
		}
		depth := d.Counts[queue.Pending] + d.Counts[queue.Uploading] + d.Counts[queue.Failed]
		ch <- prometheus.MustNewConstMetric(descDepth, prometheus.GaugeValue, float64(depth), d.Destination)
		if !d.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, float64(d.LastSuccess.Unix()), d.Destination)
		}
	}
	if ps, err := c.s.Pauses(ctx); err == nil {
		for _, p := range ps {
			ch <- prometheus.MustNewConstMetric(descPaused, prometheus.GaugeValue, 1, p.Destination, p.Reason)
		}
	}
}
