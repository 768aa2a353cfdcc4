package intents

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
)

//go:embed starter/*.yaml
var starterFS embed.FS

// StarterData returns the embedded bilingual (zh-CN and en) starter training set of the demo company.
func StarterData() (Dataset, error) {
	files, err := fs.Glob(starterFS, "starter/*.yaml")
	if err != nil {
		return Dataset{}, fmt.Errorf("intents: starter: %w", err)
	}
	var sets []Dataset
	for _, name := range files {
		f, err := starterFS.Open(name)
		if err != nil {
			return Dataset{}, fmt.Errorf("intents: starter: %w", err)
		}
		d, err := ParseYAML(f)
		f.Close()
		if err != nil {
			return Dataset{}, fmt.Errorf("%w (in %s)", err, path.Base(name))
		}
		sets = append(sets, d)
	}
	return Merge(sets...), nil
}

// Starter trains the classifier on the embedded starter set (in well under a second), for start-up and demos.
func Starter(ctx context.Context) (*Model, error) {
	d, err := StarterData()
	if err != nil {
		return nil, err
	}
	return Train(ctx, d, Options{})
}
