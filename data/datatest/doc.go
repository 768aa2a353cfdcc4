// Package datatest is the conformance suite every data.Store backend must
// pass: call Run from the backend's own test with a function that opens a
// fresh, empty store.
//
// It imports data and the standard library only.
package datatest
