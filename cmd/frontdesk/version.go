package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprintln(stderr, "usage: frontdesk version")
		return nil
	}
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments %q (version takes none)", args)
	}
	rev := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev != "" {
		fmt.Fprintf(stdout, "frontdesk %s (%s)\n", version, rev)
		return nil
	}
	fmt.Fprintf(stdout, "frontdesk %s\n", version)
	return nil
}

// exitCoder is an error that carries a specific process exit code.
type exitCoder interface {
	error
	ExitCode() int
}

func asExitCoder(err error, target *exitCoder) bool {
	return errors.As(err, target)
}

// exitError is an error with an exit code, for commands such as lint that
// report findings with a non-zero status.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// ExitCode returns the process exit code.
func (e exitError) ExitCode() int { return e.code }
