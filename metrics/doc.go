// Package metrics exposes Frontdesk's operational metrics for Prometheus:
// connections, messages, bot decisions, handoffs, queue lengths and waits,
// assignment latency, store and search latencies, and logged errors. It
// observes the system from the outside — a store wrapper, a searcher wrapper
// and a log handler — so no domain package depends on it.
//
// It may import data, knowledge (for the Result type) and client_golang.
package metrics
