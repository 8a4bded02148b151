package compat

import (
	"crypto/sha256"
	"encoding/hex"
)

// GeneratedFrom exposes the generated list of source module versions.
var GeneratedFrom = generatedFrom

// EmbeddedSHA256 is the hash of the embedded data file, to compare with
// the one the generator recorded.
func EmbeddedSHA256() (got, recorded string) {
	sum := sha256.Sum256(embedded)
	return hex.EncodeToString(sum[:]), dataSHA256
}
