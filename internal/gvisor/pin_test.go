package gvisor

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestOnePinnedRunsc: the runsc that CI installs and the README names is
// the one ModuleVersion names, so a bump changes one constant and this test
// points at the rest.
func TestOnePinnedRunsc(t *testing.T) {
	install, err := os.ReadFile("../../.ci/install")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RUNSC_VERSION=(\S+)$`).FindSubmatch(install)
	if m == nil || string(m[1]) != ModuleVersion {
		t.Errorf(".ci/install pins runsc %q, ModuleVersion is %q", m, ModuleVersion)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range regexp.MustCompile(`runsc@(v0\.0\.0-[0-9a-f-]+)`).FindAllStringSubmatch(string(readme), -1) {
		if v[1] != ModuleVersion {
			t.Errorf("README installs runsc@%s, ModuleVersion is %s", v[1], ModuleVersion)
		}
	}
	if !strings.Contains(string(readme), "runsc@"+ModuleVersion) {
		t.Errorf("README does not say how to install runsc@%s", ModuleVersion)
	}
}
