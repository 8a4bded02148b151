package compat

// GeneratedFrom exposes the generated list of source module versions.
var GeneratedFrom = generatedFrom
