package compat_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gvcheck/gvcheck/internal/compat"
	"github.com/gvcheck/gvcheck/internal/compat/extract"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

func TestGeneratedFilesAgree(t *testing.T) {
	var ids []string
	for _, v := range compat.Versions() {
		if v.ID != extract.DocsID {
			ids = append(ids, v.ID)
		}
	}
	var gen, src []string
	for _, g := range compat.GeneratedFrom {
		gen = append(gen, g.Version)
	}
	for _, s := range extract.Sources {
		src = append(src, s.Module)
	}
	if !slices.Equal(ids, gen) || !slices.Equal(ids, src) {
		t.Errorf("embedded versions %v\ngenerated from %v\nsources %v", ids, gen, src)
	}
}

// checkResult compares an extraction result with the embedded data.
func checkResult(t *testing.T, res *extract.Result) {
	t.Helper()
	v, err := compat.ResolveVersion(res.Version.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Date.Equal(res.Version.Date) || v.Tag != res.Version.Tag || v.Source != res.Version.Source ||
		v.NamesOnly != res.Version.NamesOnly || !slices.Equal(v.Variants, res.Version.Variants) {
		t.Errorf("version metadata differs:\nextracted %+v\nembedded  %+v", res.Version, v)
	}
	for _, a := range sysno.Arches {
		vars := res.Tables[a]
		if !slices.Contains(v.Arches(), a) != (vars == nil) {
			t.Errorf("%s: extracted %s tables %v, embedded arches %v", v.ID, a, len(vars), v.Arches())
		}
		for variant, entries := range vars {
			emb, err := compat.Load(v, a, variant)
			if err != nil {
				t.Fatal(err)
			}
			ext := compat.NewTable(res.Version, a, variant, entries)
			if ext.Len() != emb.Len() {
				t.Errorf("%s %s %q: extracted %d entries, embedded %d", v.ID, a, variant, ext.Len(), emb.Len())
			}
			for _, c := range compat.Diff(emb, ext) {
				t.Errorf("%s %s %q: %d %s differs in %v", v.ID, a, variant, c.Number, c.Name, c.Fields)
			}
			t.Logf("%s %s %q: %d entries match", v.ID, a, variant, ext.Len())
		}
	}
}

// TestRegenerate re-runs the generator's extraction for the newest version
// and for a VFS2-era one (2021-10-20, with a --vfs2 variant) from freshly
// downloaded module source, and for the documentation list, and expects
// exactly the embedded data. All 27 versions take about 35 s to download
// on an empty module cache; these two a few seconds.
func TestRegenerate(t *testing.T) {
	docs, err := extract.Docs()
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, docs)

	want := []string{compat.Latest().ID, v211020}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	start := time.Now()
	dl, err := extract.Download(ctx, want)
	if err != nil {
		testenv.Missingf(t, "cannot download gVisor source (no network, or verification disabled): %v", err)
	}
	t.Logf("downloaded %d versions in %s", len(want), time.Since(start).Round(time.Millisecond))
	for _, id := range want {
		src, ok := extract.FindSource(id)
		if !ok {
			t.Fatalf("%s not among the generator's sources", id)
		}
		res, err := extract.Extract(dl[id].Dir, src)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, res)
		for _, g := range compat.GeneratedFrom {
			if g.Version == id && g.Sum != dl[id].Sum {
				t.Errorf("%s: module hash %s, generated from %s", id, dl[id].Sum, g.Sum)
			}
		}
	}
}
