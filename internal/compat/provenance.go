package compat

// ModuleSum is one gvisor.dev/gvisor module version the embedded tables
// were generated from, with the go.sum hash of its module zip.
type ModuleSum struct {
	Version string `json:"version"`
	Sum     string `json:"sum"`
}

// Provenance lists the module versions behind the embedded tables, so
// that a binary can say exactly what its database was built from.
func Provenance() []ModuleSum {
	out := make([]ModuleSum, len(generatedFrom))
	for i, g := range generatedFrom {
		out[i] = ModuleSum{g.Version, g.Sum}
	}
	return out
}
