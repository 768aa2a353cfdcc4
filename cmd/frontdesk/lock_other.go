//go:build !unix

package main

// lockDataDir does nothing where flock(2) is missing: the operator must
// not start two servers on one data directory.
func lockDataDir(string) (release func(), err error) {
	return func() {}, nil
}
