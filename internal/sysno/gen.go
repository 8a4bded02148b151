package sysno

//go:generate go run ../cmd/gensysno -o zsysno.go
