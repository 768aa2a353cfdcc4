package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/frontdesk/frontdesk/data"
)

// Upload is a file sent by a visitor or an agent.
type Upload struct {
	ClientMsgID string
	Name        string
	Content     []byte
}

// allowedTypes are the content types accepted, detected from the bytes
// (never from the name or the declared type).
var allowedTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true,
	"application/pdf": true, "text/plain; charset=utf-8": true,
}

// FileInfo is what a file message's metadata says about its file.
type FileInfo struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// checkUpload detects the type from the content, enforces the allow-list and
// re-encodes images, which drops metadata (EXIF, GPS) and anything hidden
// after the image data.
func checkUpload(u Upload) (string, []byte, error) {
	if len(u.Content) == 0 || len(u.Content) > data.MaxFileBytes {
		return "", nil, fmt.Errorf("chat: upload: files must be 1 byte to %d MB: %w", data.MaxFileBytes>>20, data.ErrInvalid)
	}
	ct := http.DetectContentType(u.Content)
	// Markup after a byte-order mark or spaces is still markup.
	start := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(u.Content), []byte("\xef\xbb\xbf")))
	if ct == "text/plain; charset=utf-8" && (!utf8.Valid(u.Content) || bytes.HasPrefix(start, []byte("<"))) {
		ct = "application/octet-stream" // markup (SVG, HTML) is not plain text
	}
	if !allowedTypes[ct] {
		return "", nil, fmt.Errorf("chat: upload: %s files are not accepted (images, PDF and text only): %w", ct, data.ErrInvalid)
	}
	if !strings.HasPrefix(ct, "image/") {
		return ct, u.Content, nil
	}
	img, format, err := image.Decode(bytes.NewReader(u.Content))
	if err != nil {
		return "", nil, fmt.Errorf("chat: upload: the image cannot be read: %w", data.ErrInvalid)
	}
	if b := img.Bounds(); b.Dx()*b.Dy() > 40_000_000 {
		return "", nil, fmt.Errorf("chat: upload: the image is too large: %w", data.ErrInvalid)
	}
	var out bytes.Buffer
	switch format {
	case "jpeg":
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 88})
	case "gif":
		err = gif.Encode(&out, img, nil)
	default:
		ct, err = "image/png", png.Encode(&out, img)
	}
	if err != nil {
		return "", nil, fmt.Errorf("chat: upload: re-encode: %w", err)
	}
	return ct, out.Bytes(), nil
}

func cleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 32 || r == 127 || r == '"' {
			return -1
		}
		return r
	}, name)
	if name == "" || name == "." || name == "/" {
		name = "file"
	}
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "\uFFFD")
	}
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// postFile stores the file message and, in the same transaction, the file
// it carries, if the conversation is still as expect says: a retried upload
// (same client id) stores nothing new.
func (s *Service) postFile(ctx context.Context, conv data.Conversation, sender data.SenderKind, senderID string, u Upload, expect *data.Expectation) (data.Message, bool, error) {
	ct, content, err := checkUpload(u)
	if err != nil {
		return data.Message{}, false, err
	}
	f := data.File{ID: data.NewID("f_"), SiteID: conv.SiteID, ConversationID: conv.ID, UploaderKind: sender, UploaderID: senderID,
		Name: cleanName(u.Name), ContentType: ct, Content: content}
	meta, _ := json.Marshal(map[string]FileInfo{"file": {ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: int64(len(content))}})
	m, dup, err := s.store.AppendMessage(ctx, data.Message{ConversationID: conv.ID, ClientMsgID: u.ClientMsgID, SenderKind: sender, SenderID: senderID,
		Kind: data.KindFile, Text: f.Name, Metadata: meta, Attachment: &f, Expect: expect})
	if err != nil {
		return data.Message{}, false, fmt.Errorf("chat: upload: %w", staleIsConflict(err))
	}
	if !dup {
		s.publishMessage(ctx, m)
	}
	return m, dup, nil
}

// PostVisitorFile stores a visitor's upload as a file message in their current conversation.
func (s *Service) PostVisitorFile(ctx context.Context, v data.Visitor, u Upload) (data.Message, bool, error) {
	conv, created, err := s.currentConversation(ctx, v)
	if err != nil {
		return data.Message{}, false, err
	}
	if created {
		s.publishConversation(ctx, conv)
	}
	return s.postFile(ctx, conv, data.SenderVisitor, v.ID, u, &data.Expectation{VisitorID: v.ID})
}

// PostAgentFile stores an agent's upload in a conversation assigned to them.
func (s *Service) PostAgentFile(ctx context.Context, a data.Agent, conversationID string, u Upload) (data.Message, bool, error) {
	conv, err := s.store.GetConversation(ctx, conversationID)
	if err != nil {
		return data.Message{}, false, fmt.Errorf("chat: agent upload: %w", err)
	}
	if err := replyable(a, conv); err != nil {
		return data.Message{}, false, fmt.Errorf("chat: agent upload: %w", err)
	}
	return s.postFile(ctx, conv, data.SenderAgent, a.ID, u, stillAssigned(a))
}

// VisitorFile returns a file of one of the visitor's conversations.
func (s *Service) VisitorFile(ctx context.Context, v data.Visitor, id string) (data.File, error) {
	f, err := s.store.GetFile(ctx, id)
	if err != nil {
		return data.File{}, fmt.Errorf("chat: file: %w", err)
	}
	conv, err := s.store.GetConversation(ctx, f.ConversationID)
	if err != nil || conv.VisitorID != v.ID {
		return data.File{}, fmt.Errorf("chat: file: %w", data.ErrNotFound)
	}
	return f, nil
}

// AgentFile returns a file of a conversation the agent may view.
func (s *Service) AgentFile(ctx context.Context, a data.Agent, id string) (data.File, error) {
	f, err := s.store.GetFile(ctx, id)
	if err != nil {
		return data.File{}, fmt.Errorf("chat: file: %w", err)
	}
	conv, err := s.store.GetConversation(ctx, f.ConversationID)
	if err != nil || !a.CanView(conv) {
		return data.File{}, fmt.Errorf("chat: file: %w", data.ErrNotFound)
	}
	return f, nil
}
