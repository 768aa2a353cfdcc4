// Package realtime is Frontdesk's WebSocket layer: the wire protocol frames
// and their decoder, a sharded hub that subscribes to broker topics and fans
// events out to the sockets on this node, and the per-connection read and
// write pumps with size limits, rate limits and ping/pong deadlines.
//
// It may import chat, data, data/pubsub and gorilla/websocket; it does not
// import gin. The protocol is documented in docs/protocol.md.
package realtime
