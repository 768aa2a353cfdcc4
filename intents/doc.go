// Package intents normalises utterances, trains and runs the intent classifier
// with calibrated confidence and out-of-scope detection, and computes its
// evaluation metrics.
//
// It is a leaf package: it imports only the standard library and third-party
// libraries, never other Frontdesk packages. It returns errors and does not log.
package intents
