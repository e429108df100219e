// Package e2e runs imagegate's binary end to end against a real API server
// (envtest), a registry on loopback and a smart-HTTP git server. TestDemo
// is also `make demo`: it tells what it does on standard output.
package e2e
