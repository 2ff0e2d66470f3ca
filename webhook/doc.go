// Package webhook sends the event log's events to HTTP receivers and
// Slack, so host platforms can react to pushes without polling.
//
// Policies (Policy) select events by type, project (none for a
// system policy) and repository pattern (doublestar), and name targets.
// Policies (NewPolicies) is the service that keeps them, with every rule
// for every caller, Go or the admin API: it validates them (Validate), a
// name is unique within its project, an id (the event sequence number of the creation) is never
// given twice, and delivery jobs and the delivery log carry it, so a
// deleted policy's retries and log reach no later policy of its name;
// deleting a policy deletes its log and pending deliveries.
// The Dispatcher consumes the event log (events.Consumer, Tx mode): for
// every event and every matching target it enqueues a delivery job and
// records the delivery in the same transaction as its cursor moves, so no
// event is dropped and none is dispatched twice, whatever crashes. The
// Deliverer is the job handler: it renders the body (Harbor's default JSON
// with its event type names, CloudEvents 1.0 in structured mode, or a
// Slack message), signs it (Standard Webhooks headers: webhook-id,
// webhook-timestamp, webhook-signature = v1,base64(HMAC-SHA256)), sends it
// with the target's timeout and Authorization header, and logs each
// attempt's status code and a short error class ("http 500", "timeout",
// "connection refused", "forbidden address", "tls", ...), never the
// response's body. Failed deliveries are retried by the job queue with
// growing delays and end as dead letters, which can be redelivered.
package webhook
