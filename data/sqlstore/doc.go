// Package sqlstore implements the data store interfaces on SQL databases:
// SQLite through the pure-Go modernc.org/sqlite driver (the embedded default)
// and PostgreSQL through pgx's database/sql driver (several nodes sharing one
// database). Both run the same code: the SQL is written once with `?`
// placeholders, and a small dialect rebinds them, classifies errors and
// supplies the clauses that differ (row locks, SKIP LOCKED, advisory locks).
// It owns the numbered, embedded migrations of each dialect, seals message
// bodies and personal fields before they reach a column, and commits
// concurrent message appends together (group commit).
//
// It may import data, data/seal and database drivers; nothing else of Frontdesk.
package sqlstore
