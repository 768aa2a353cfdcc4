// Package pubsub moves events between the parts of Frontdesk, and between
// nodes when scaled out: a Broker publishes bytes on string topics. The
// in-process Memory broker is the embedded default; delivery is at most once,
// and subscribers recover anything missed from the store by seq.
//
// It imports only the standard library (and, for the Redis broker, its client).
package pubsub
