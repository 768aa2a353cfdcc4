package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// runSection replaces (or appends) the "## <title>" section of a Markdown
// file with the text read from in, keeping every other section.
func runSection(args []string, in io.Reader, stderr io.Writer) error {
	fs := flag.NewFlagSet("section", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "docs/benchmarks.md", "Markdown file to change")
	title := fs.String("title", "", "section title without the leading ##")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *title == "" {
		return fmt.Errorf("--title is required")
	}
	body, err := io.ReadAll(io.LimitReader(in, 1<<20))
	if err != nil {
		return fmt.Errorf("read section: %w", err)
	}
	old, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("section: %w", err)
	}
	out := replaceSection(string(old), *title, string(body))
	return os.WriteFile(*file, []byte(out), 0o644)
}

// replaceSection swaps the body of "## title" up to the next "## " heading.
func replaceSection(doc, title, body string) string {
	heading := "## " + title
	body = strings.TrimRight(body, "\n") + "\n"
	lines := strings.SplitAfter(doc, "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimRight(l, "\n") == heading {
			start = i
			break
		}
	}
	if start < 0 {
		return strings.TrimRight(doc, "\n") + "\n\n" + heading + "\n\n" + body
	}
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "## ") {
			end = i
			break
		}
	}
	tail := strings.Join(lines[end:], "")
	if tail != "" {
		tail = "\n" + tail
	}
	return strings.Join(lines[:start], "") + heading + "\n\n" + body + tail
}
