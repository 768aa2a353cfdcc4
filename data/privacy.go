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
	AuditView     = "view_conversation"
	AuditExport   = "export_visitor"
	AuditErase    = "erase_visitor"
	AuditSettings = "change_settings"
	AuditKeys     = "change_identity_keys"
	AuditPurge    = "retention_purge"
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
	Tickets       []Ticket             `json:"tickets"`
	Events        []VisitorEvent       `json:"events"`
}

// ConversationExport is a conversation with its transcript (agents' notes excluded).
type ConversationExport struct {
	Conversation
	Messages []Message `json:"messages"`
	Files    []File    `json:"files"`
}

// PrivacyStore serves data-subject rights, retention and the audit log.
type PrivacyStore interface {
	// ListSites returns every site.
	ListSites(ctx context.Context) ([]Site, error)
	// ExportVisitor collects a visitor's data.
	ExportVisitor(ctx context.Context, visitorID string) (VisitorExport, error)
	// EraseVisitor deletes a visitor and every copy of their data:
	// conversations, messages, files, events, tickets.
	EraseVisitor(ctx context.Context, visitorID string) error
	// PurgeBefore deletes a site's conversations (with their messages,
	// files, tickets and events) not updated since before, and older visitor
	// events, at most limit conversations per call; it returns how many went.
	PurgeBefore(ctx context.Context, siteID string, before time.Time, limit int) (int, error)
	// AppendAudit adds an entry to the audit log, setting Seq, PrevHash and Hash.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// ListAudit returns up to limit entries with seq > afterSeq, in order.
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]AuditEntry, error)
}
