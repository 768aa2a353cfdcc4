// Package pubsub moves events between the parts of Frontdesk, and between
// nodes when scaled out: a Broker publishes bytes on string topics. The
// in-process Memory broker is the embedded default (and an EventBroker: it
// hands subscribers the published data.Event itself, with no JSON in
// between); the Redis broker links
// several nodes through Redis pub/sub, reconnects and resubscribes after a
// Redis restart and then replays each topic's current state through a
// Recoverer. Delivery is at most once either way, and subscribers recover
// anything missed from the store by seq.
//
// It imports the standard library, data (for the Publisher's events) and,
// for the Redis broker, its client.
package pubsub
