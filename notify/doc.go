// Package notify tells people what offsite did and what they should do:
// alerts (failure, recovered, missed), run reports and the weekly proof of
// backup, sent by email, chat services and JSON webhooks, plus health pings.
//
// Delivery is durable. Notify only stores one message per channel in an
// Outbox (the daemon's SQLite queue) and returns; Run delivers due messages
// in its own goroutine, retrying with backoff, so a mail server that is down
// never blocks an upload and a restart never loses or repeats an alert.
// An Event's Key names its cause: the Outbox keeps one message per
// (channel, Key), which is what makes "one alert per cause, not per retry".
package notify
