// Package schematest validates gvcheck's JSON output against the JSON
// Schema files it ships (schema/ at the repository root), for tests.
package schematest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Dir is the repository's schema directory.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "schema")
}

// fileFor names the schema file of a schema name ("gvcheck.report/v1" is
// gvcheck.report.v1.schema.json).
func fileFor(name string) string {
	return filepath.Join(Dir(), strings.ReplaceAll(name, "/", ".")+".schema.json")
}

var (
	mu       sync.Mutex
	compiled = map[string]*jsonschema.Schema{}
)

// Compile compiles a schema file, asserting formats (date-time, uri).
func Compile(file string) (*jsonschema.Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[file]; ok {
		return s, nil
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// Sibling schemas are referred to by file name, relative to their $id.
	ents, err := os.ReadDir(filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	id := file
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(filepath.Dir(file), e.Name())
		doc, err := readJSON(p)
		if err != nil {
			return nil, err
		}
		url := p
		if m, ok := doc.(map[string]any); ok {
			if u, ok := m["$id"].(string); ok {
				url = u
			}
		}
		if p == file {
			id = url
		}
		if err := c.AddResource(url, doc); err != nil {
			return nil, err
		}
	}
	s, err := c.Compile(id)
	if err != nil {
		return nil, err
	}
	compiled[file] = s
	return s, nil
}

// compileText compiles a schema given as text (one not in schema/, such
// as SARIF's).
func compileText(id, text string) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, doc); err != nil {
		return nil, err
	}
	return c.Compile(id)
}

func readJSON(path string) (any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// Validate checks a JSON document against the schema it names in its
// "schema" field, or against want when that is set.
func Validate(data []byte, want string) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	name := want
	if name == "" {
		m, ok := doc.(map[string]any)
		if !ok {
			return fmt.Errorf("not a JSON object")
		}
		name, _ = m["schema"].(string)
		if name == "" {
			return fmt.Errorf("the document names no schema")
		}
	}
	s, err := Compile(fileFor(name))
	if err != nil {
		return fmt.Errorf("schema %s: %w", name, err)
	}
	return s.Validate(doc)
}

// SARIF compiles the SARIF 2.1.0 schema (OASIS) as the go-sarif module
// ships it in its source, found through the go command.
func SARIF() (*jsonschema.Schema, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/owenrumney/go-sarif/v3").Output()
	if err != nil {
		return nil, fmt.Errorf("go list go-sarif: %w", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "pkg", "report", "v210", "sarif", "schema.go"))
	if err != nil {
		return nil, err
	}
	m := regexp.MustCompile("(?s)const schema = `(.*?)`").FindSubmatch(src)
	if m == nil || !bytes.Contains(m[1], []byte("Version 2.1.0 JSON Schema")) {
		return nil, fmt.Errorf("no SARIF 2.1.0 schema in go-sarif's source")
	}
	return compileText("sarif-schema-2.1.0.json", string(m[1]))
}

// ValidateSARIF checks a SARIF log against the SARIF 2.1.0 schema.
func ValidateSARIF(data []byte) error {
	s, err := SARIF()
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(doc)
}
