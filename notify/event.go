package notify

import (
	"fmt"
	"time"
)

// Kind is the class of an event; each channel subscribes to some kinds.
type Kind string

const (
	KindFailure   Kind = "failure"   // something needs a person: login refused, disk full, file stuck
	KindRecovered Kind = "recovered" // a failure cleared by itself or after the fix
	KindMissed    Kind = "missed"    // the shop software did not write a (plausible) backup
	KindReport    Kind = "report"    // summary after each upload run
	KindWeekly    Kind = "weekly"    // proof of backup: the newest verified copy per destination
)

// Kinds lists every kind, in the order documentation shows them.
func Kinds() []Kind {
	return []Kind{KindFailure, KindRecovered, KindMissed, KindReport, KindWeekly}
}

// DefaultOn is what a channel receives when its config names no kinds:
// everything a person must act on, plus the weekly proof, but not a
// report after every run, which would teach people to ignore the channel.
func DefaultOn() []Kind {
	return []Kind{KindFailure, KindRecovered, KindMissed, KindWeekly}
}

// ParseKind accepts one of the kind names.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown notification kind %q (want one of %v)", s, Kinds())
}

func (k Kind) valid() bool {
	_, err := ParseKind(string(k))
	return err == nil
}

// Event is one thing worth telling. Builders in this package (DestinationFailed,
// Missed, Report, ...) fill it with plain-language text; callers rarely build one
// by hand.
type Event struct {
	Kind    Kind
	Key     string            // the cause, e.g. "dest/cloud/auth"; same Key → sent once per channel
	Subject string            // one line
	Text    string            // plain language: what happened, to what, what to do
	Fields  map[string]string // machine-readable: watch, destination, file, reason, hint, size, hash, ...
	Time    time.Time         // when it happened; Notify fills it in when zero
}

// Episode qualifies the event's Key with the start of the episode it belongs
// to. Keys dedupe forever, so a cause that clears and comes back (a login
// revoked twice in a year) needs a key per episode, or the second alert would
// be swallowed. Pass a time that survives restarts, e.g. when the destination
// was paused, so a restart re-derives the same key and sends nothing twice.
func (e Event) Episode(start time.Time) Event {
	e.Key = e.Key + "@" + start.UTC().Format(time.RFC3339)
	return e
}
