// Package sysargs decodes the key argument of argument-sensitive syscalls
// (prctl option, ioctl request, socket family/type/protocol, ...) into one
// canonical form, from raw registers (the tracer) or from strace's printed
// arguments (the log parser), so both produce the same profile key.
package sysargs

//go:generate go run ../cmd/gensysargs -o zconst.go
