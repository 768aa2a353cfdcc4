// Package sqlstore implements the data store interfaces on SQL databases:
// SQLite through the pure-Go modernc.org/sqlite driver (the embedded default;
// PostgreSQL follows on the same code). It owns the numbered, embedded
// migrations, seals message bodies and personal fields before they reach a
// column, and commits concurrent message appends together (group commit).
//
// It may import data, data/seal and database drivers; nothing else of Frontdesk.
package sqlstore
