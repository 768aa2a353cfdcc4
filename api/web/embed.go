package web

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed static
var static embed.FS

// ErrNotFound is returned for a file that is not embedded.
var ErrNotFound = fs.ErrNotExist

// File returns an embedded file by its path under static/.
func File(name string) ([]byte, error) {
	b, err := static.ReadFile("static/" + name)
	if err != nil {
		return nil, fmt.Errorf("web: %s: %w", name, err)
	}
	return b, nil
}
