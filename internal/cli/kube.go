package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/gvcheck/gvcheck/internal/analyze"
	"github.com/gvcheck/gvcheck/internal/container"
	"github.com/gvcheck/gvcheck/internal/imagecheck"
	"github.com/gvcheck/gvcheck/internal/kube"
	"github.com/gvcheck/gvcheck/internal/report"
)

// splitManifests separates Kubernetes workload manifests from the other
// evidence files.
func splitManifests(args []string) (manifests, rest []string) {
	for _, a := range args {
		if a != "-" && (strings.HasSuffix(a, ".yaml") || strings.HasSuffix(a, ".yml") || strings.HasSuffix(a, ".json")) {
			if b, err := os.ReadFile(a); err == nil && kube.Sniff(b) {
				manifests = append(manifests, a)
				continue
			}
		}
		rest = append(rest, a)
	}
	return manifests, rest
}

// manifestWorkloads reports each container of the manifests on a row of
// its own: the settings that change or break under a gVisor runtime class,
// and with imageSource "docker" its image's facts.
func manifestWorkloads(ctx context.Context, files []string, imageSource, cacheDir string, tg *target, ropt report.Options) ([]report.Workload, error) {
	var out []report.Workload
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		cs, skipped, err := kube.ParseBytes(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		for _, c := range cs {
			facts := imagecheck.SettingFindings(c.Settings, tg.table, tg.flags)
			var notes []string
			if imageSource == "docker" && c.Image != "" {
				more, err := containerImageFacts(ctx, c, cacheDir, tg)
				if err != nil {
					notes = append(notes, "image not checked: "+err.Error())
				}
				facts = append(facts, more...)
			}
			rw := staticWorkload(c.Title(), "kubernetes", file, tg, facts, ropt)
			if c.Image != "" {
				rw.Notes = append(rw.Notes, "image "+c.Image)
			}
			rw.Notes = append(rw.Notes, notes...)
			if len(skipped) > 0 {
				rw.Notes = append(rw.Notes, "objects of other kinds in "+file+" not judged: "+strings.Join(skipped, ", "))
				skipped = nil
			}
			out = append(out, rw)
		}
	}
	return out, nil
}

// containerImageFacts opens a container's image in the Docker Engine and
// reads its facts, for the container's user and capabilities.
func containerImageFacts(ctx context.Context, c kube.Container, cacheDir string, tg *target) ([]analyze.Finding, error) {
	f := imageFlags{ref: "docker:" + c.Image, cache: cacheDir, capAdd: c.Settings.CapAdd, capDrop: c.CapDrop, privileged: c.Settings.Privileged}
	if c.RunAsUser != nil {
		f.user = fmt.Sprint(*c.RunAsUser)
	}
	im, err := f.openImage(ctx, tg.table.Arch)
	if err != nil {
		return nil, err
	}
	s := f.settings()
	in := imagecheck.Input{Rootfs: im.Rootfs(), SandboxCaps: sandboxCaps(s.Caps(), tg.flags), Table: tg.table, Rules: tg.rules, RunscFlags: tg.flags}
	if !tg.report.Date.IsZero() {
		in.Date = tg.report.Date.Format("2006-01-02")
	}
	if proc, err := container.NewProcess(im, nil, s); err == nil {
		in.Entrypoint, in.UID = proc.Path, proc.UID
		for _, kv := range proc.Env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				in.PathEnv = v
			}
		}
	}
	facts, err := imagecheck.Facts(in)
	if err != nil {
		return nil, err
	}
	for i := range facts {
		facts[i].Note = "image " + c.Image + ": " + facts[i].Note
	}
	return facts, nil
}
