// Package mask finds personal data in free text — phone numbers (Chinese
// mobile and international), Chinese resident ID numbers (checksum
// verified), bank card numbers (Luhn verified, known card prefixes) and
// e-mail addresses — and masks it, either for display (first/last digits
// kept) or completely (before text leaves the system, e.g. to an LLM, or
// reaches a log).
//
// It is a leaf package: standard library only.
package mask
