// Package privacy serves the rights of the people in the data: export and
// erasure of a visitor's data, the per-site retention purge, and the
// hash-chained audit log of access to personal data.
package privacy
