package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/frontdesk/frontdesk/data"
)

func fileAAD(id, field string) []byte { return []byte("file:" + id + ":" + field) }

// insertFile seals a valid file's name and content (bound to its id) and
// inserts it inside tx; it returns the file with its size and time set.
func (s *Store) insertFile(ctx context.Context, tx *txn, f data.File) (data.File, error) {
	if f.CreatedAt.IsZero() {
		f.CreatedAt = now()
	}
	f.Size = int64(len(f.Content))
	name, err := s.sealer.Seal([]byte(f.Name), fileAAD(f.ID, "name"))
	if err != nil {
		return data.File{}, err
	}
	content, err := s.sealer.Seal(f.Content, fileAAD(f.ID, "content"))
	if err != nil {
		return data.File{}, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO files (id, site_id, conversation_id, uploader_kind, uploader_id, name, content_type, size, content, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.ID, f.SiteID, f.ConversationID, string(f.UploaderKind), f.UploaderID, name, f.ContentType, f.Size, content, ms(f.CreatedAt))
	switch {
	case isFKViolation(err):
		return data.File{}, data.ErrNotFound
	case isUniqueViolation(err):
		return data.File{}, data.ErrConflict
	case err != nil:
		return data.File{}, err
	}
	return f, nil
}

// GetFile returns a file with its content opened.
func (s *Store) GetFile(ctx context.Context, id string) (data.File, error) {
	var (
		f             data.File
		kind          string
		name, content []byte
		created       int64
	)
	err := s.read.QueryRowContext(ctx, `SELECT id, site_id, conversation_id, uploader_kind, uploader_id, name, content_type, size, content, created_at FROM files WHERE id = ?`, id).
		Scan(&f.ID, &f.SiteID, &f.ConversationID, &kind, &f.UploaderID, &name, &f.ContentType, &f.Size, &content, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return data.File{}, fmt.Errorf("sqlstore: get file %s: %w", id, data.ErrNotFound)
	}
	if err != nil {
		return data.File{}, fmt.Errorf("sqlstore: get file %s: %w", id, err)
	}
	n, err := s.sealer.Open(name, fileAAD(f.ID, "name"))
	if err != nil {
		return data.File{}, fmt.Errorf("sqlstore: get file %s: %w", id, err)
	}
	if f.Content, err = s.sealer.Open(content, fileAAD(f.ID, "content")); err != nil {
		return data.File{}, fmt.Errorf("sqlstore: get file %s: %w", id, err)
	}
	f.Name, f.UploaderKind, f.CreatedAt = string(n), data.SenderKind(kind), fromMS(created)
	return f, nil
}
