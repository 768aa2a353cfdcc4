// Command loadgen drives a running Frontdesk server on loopback with
// simulated visitors and agents, and measures an in-process gorilla echo
// server with the same client code as the reference every figure is
// compared with (docs/benchmarks.md).
package main
