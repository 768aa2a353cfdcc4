// Package data holds Frontdesk's records (sites, visitors, conversations,
// messages), the small store interfaces the rest of the program depends on,
// the sentinel errors ErrNotFound and ErrConflict, and the events published on
// the broker when records change.
//
// It imports only the standard library. Backends live in sub-packages:
// data/sqlstore (SQLite, later PostgreSQL), data/pubsub (brokers), and
// data/datatest holds the conformance suite every store must pass.
package data
