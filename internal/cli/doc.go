package cli

//go:generate go run ../cmd/genman -o ../../man
