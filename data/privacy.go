package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one row of the append-only, hash-chained audit log of
// access to personal data. Detail names records, never personal data.
type AuditEntry struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
	ActorKind string    `json:"actor_kind"` // "agent", "admin", "system", "cli"
	ActorID   string    `json:"actor_id"`
	Action    string    `json:"action"` // AuditView, AuditExport, ...
	SiteID    string    `json:"site_id,omitempty"`
	Target    string    `json:"target,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	PrevHash  string    `json:"prev_hash"`
	Hash      string    `json:"hash"`
}

// The audited actions.
const (
	AuditView   = "view_conversation"
	AuditExport = "export_visitor"
	AuditErase  = "erase_visitor"
	// AuditEraseSearch is the search of a site's personal data for an
	// e-mail address before an erasure (the address is not recorded).
	AuditEraseSearch = "erase_by_email"
	AuditSettings    = "change_settings"
	AuditKeys        = "change_identity_keys"
	AuditPurge       = "retention_purge"
)

// ComputeHash returns the entry's hash: SHA-256 over the previous hash and
// every field but Hash, so changing any of them breaks the chain.
func (e AuditEntry) ComputeHash() string {
	fields := []string{e.PrevHash, strconv.FormatInt(e.Seq, 10), strconv.FormatInt(e.At.UnixMilli(), 10),
		e.ActorKind, e.ActorID, e.Action, e.SiteID, e.Target, e.Detail}
	for i, f := range fields {
		fields[i] = strconv.Quote(f)
	}
	sum := sha256.Sum256([]byte(strings.Join(fields, "|")))
	return hex.EncodeToString(sum[:])
}

// VisitorExport is everything stored about one visitor (data portability).
type VisitorExport struct {
	Visitor       Visitor              `json:"visitor"`
	Conversations []ConversationExport `json:"conversations"`
	Tickets       []TicketExport       `json:"tickets"`
	Events        []VisitorEvent       `json:"events"`
}

// ConversationExport is a conversation with its transcript (agents' notes
// excluded), its files with their contents and the rating's comment.
type ConversationExport struct {
	Conversation
	RatingComment string       `json:"rating_comment,omitempty"`
	Messages      []Message    `json:"messages"`
	Files         []FileExport `json:"files"`
}

// FileExport is a file with its bytes (base64 in JSON).
type FileExport struct {
	File
	Content []byte `json:"content"`
}

// TicketExport is a ticket with its history: replies e-mailed to the
// visitor and status changes (agents' internal notes excluded, as in
// transcripts).
type TicketExport struct {
	Ticket
	Events []TicketEvent `json:"events"`
}

// EmailMatches is what a site stores under one e-mail address: visitors
// whose personal fields (verified or not) have it, and tickets whose
// contact has it, each with the visitor it belongs to ("" when none).
type EmailMatches struct {
	VisitorIDs []string
	Tickets    []TicketRef
}

// TicketRef names a ticket and the visitor it belongs to ("" when none).
type TicketRef struct {
	ID        string
	VisitorID string
}

// PrivacyStore serves data-subject rights, retention and the audit log.
type PrivacyStore interface {
	// ListSites returns every site.
	ListSites(ctx context.Context) ([]Site, error)
	// ExportVisitor collects a visitor's data.
	ExportVisitor(ctx context.Context, visitorID string) (VisitorExport, error)
	// EraseVisitor deletes a visitor and every copy of their data:
	// conversations, messages, files, events, tickets, and the outbox items
	// (e-mails, webhook deliveries) about them, pending or delivered.
	EraseVisitor(ctx context.Context, visitorID string) error
	// FindByEmail finds everything of a site stored under an e-mail address
	// (compared without case and surrounding spaces), verified or not. It
	// opens every visitor's personal fields and every ticket's contact of
	// the site: meant for rare erasure requests, not for lookups.
	FindByEmail(ctx context.Context, siteID, email string) (EmailMatches, error)
	// EraseTicket deletes a ticket with its history and outbox items.
	EraseTicket(ctx context.Context, ticketID string) error
	// PurgeBefore deletes a site's conversations (with their messages,
	// files, tickets, events and outbox items) not updated since before,
	// older visitor events and the site's outbox items delivered before it,
	// at most limit conversations per call; it returns how many went.
	PurgeBefore(ctx context.Context, siteID string, before time.Time, limit int) (int, error)
	// AppendAudit adds an entry to the audit log, setting Seq, PrevHash and Hash.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// ListAudit returns up to limit entries with seq > afterSeq, in order.
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]AuditEntry, error)
}
