package kube_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gvcheck/gvcheck/internal/imagecheck"
	"github.com/gvcheck/gvcheck/internal/kube"
)

func TestParse(t *testing.T) {
	b, err := os.ReadFile("testdata/pods.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !kube.Sniff(b) {
		t.Fatal("the fixture does not sniff as a manifest")
	}
	cs, skipped, err := kube.ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, c := range cs {
		titles = append(titles, c.Title())
	}
	want := []string{"ops/Deployment/monitor init container setup", "ops/Deployment/monitor container agent",
		"ops/Deployment/monitor container pinger", "Pod/edge container proxy", "Pod/plain container web", "CronJob/nightly container job"}
	if !slices.Equal(titles, want) {
		t.Fatalf("containers:\n got %q\nwant %q", titles, want)
	}
	if !slices.Equal(skipped, []string{"Service"}) {
		t.Errorf("skipped %q", skipped)
	}
	agent, pinger, proxy, web, job := cs[1].Settings, cs[2].Settings, cs[3].Settings, cs[4], cs[5].Settings
	if !agent.Privileged || !agent.HostPID || agent.AppArmor != "runtime/default" ||
		!slices.Equal(agent.HostPaths, []imagecheck.HostPath{{Path: "/var/run/docker.sock", Socket: true}, {Path: "/srv/data"}}) {
		t.Errorf("agent: %+v", agent)
	}
	if !slices.Equal(pinger.CapAdd, []string{"NET_RAW"}) || !slices.Equal(cs[2].CapDrop, []string{"ALL"}) || pinger.Seccomp != "RuntimeDefault" || len(pinger.HostPaths) != 0 {
		t.Errorf("pinger: %+v", pinger)
	}
	if !proxy.HostNetwork || proxy.HostPID {
		t.Errorf("proxy: %+v", proxy)
	}
	if web.RunAsUser == nil || *web.RunAsUser != 1000 || web.Image != "gvcheck-test/web:1" {
		t.Errorf("web: %+v", web)
	}
	if job.AppArmor != "Localhost/strict" {
		t.Errorf("job: %+v", job)
	}
}

func TestParseErrors(t *testing.T) {
	for name, in := range map[string]string{
		"yaml":          "kind: Pod\nspec: [\n",
		"no containers": "kind: Pod\nmetadata: {name: x}\nspec: {}\n",
		"bad spec":      "kind: Deployment\nspec: 3\n",
	} {
		if _, _, err := kube.Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cs, _, err := kube.Parse(strings.NewReader("apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: a}\n  spec: {containers: [{name: c, image: i}]}\n"))
	if err != nil || len(cs) != 1 || cs[0].Title() != "Pod/a container c" {
		t.Errorf("List: %+v %v", cs, err)
	}
}

func FuzzParse(f *testing.F) {
	b, _ := os.ReadFile("testdata/pods.yaml")
	f.Add(b)
	f.Add([]byte("kind: Pod\nspec: {containers: [{name: a}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = kube.ParseBytes(data)
	})
}
