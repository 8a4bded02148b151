package extract

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	cextract "github.com/gvcheck/gvcheck/internal/compat/extract"
	"github.com/gvcheck/gvcheck/internal/rules"
	"github.com/gvcheck/gvcheck/internal/sysno"
	"github.com/gvcheck/gvcheck/internal/testenv"
)

const (
	v2021   = "v0.0.0-20211020211948-f76a604701b6"
	v2023   = "v0.0.0-20230927004350-cbd86285d259"
	vNewest = "v0.0.0-20260905035102-160fafc42237"
)

var (
	dlOnce sync.Once
	dl     map[string]cextract.Downloaded
	dlErr  error
)

// source downloads (or finds in the module cache) gVisor's source. Without
// network the test skips, except under CI, where it must work.
func source(t *testing.T, version string) string {
	t.Helper()
	dlOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dl, dlErr = cextract.Download(ctx, []string{v2021, v2023, vNewest})
	})
	if dlErr != nil {
		testenv.Missingf(t, "download gVisor source: %v", dlErr)
	}
	return dl[version].Dir
}

var (
	resMu    sync.Mutex
	resCache = map[string]*Result{}
)

func extractVersion(t *testing.T, version string, arch sysno.Arch) *Result {
	t.Helper()
	dir := source(t, version)
	resMu.Lock()
	defer resMu.Unlock()
	k := version + string(arch)
	if r, ok := resCache[k]; ok {
		return r
	}
	tr, err := NewTree(dir, version, arch)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Extract()
	if err != nil {
		t.Fatal(err)
	}
	resCache[k] = res
	return res
}

type fact struct {
	sys    string
	values []uint64
	flags  []string
	want   rules.Answer
	errno  string
}

// Facts read in gVisor's source of each version (file named per fact).
var facts = map[string][]fact{
	v2021: {
		{"prctl", []uint64{15}, nil, rules.AnswerSupported, ""},                 // sys_prctl.go: PR_SET_NAME
		{"prctl", []uint64{35, 1}, nil, rules.AnswerUnsupported, "EINVAL"},      // PR_SET_MM_START_CODE: unimplemented event, EINVAL
		{"prctl", []uint64{35, 13}, nil, rules.AnswerSupported, ""},             // PR_SET_MM_EXE_FILE
		{"prctl", []uint64{0x53564d41}, nil, rules.AnswerUnsupported, "EINVAL"}, // PR_SET_VMA: not yet in 2021
		{"arch_prctl", []uint64{0x1001}, nil, rules.AnswerUnsupported, "EINVAL"},
		{"socket", []uint64{17, 3, 0x300}, nil, rules.AnswerNeedsFlag, "EPERM"},          // netstack/provider.go: packet sockets
		{"socket", []uint64{16, 3, 9}, nil, rules.AnswerUnsupported, "EPROTONOSUPPORT"},  // only ROUTE and KOBJECT_UEVENT
		{"socket", []uint64{16, 3, 15}, nil, rules.AnswerSupported, ""},                  // NETLINK_KOBJECT_UEVENT
		{"socket", []uint64{16, 3, 12}, nil, rules.AnswerUnsupported, "EPROTONOSUPPORT"}, // NETLINK_NETFILTER: later
		{"socket", []uint64{38, 5, 0}, nil, rules.AnswerUnsupported, "EAFNOSUPPORT"},
		{"futex", []uint64{6}, nil, rules.AnswerSupported, ""},
		{"futex", []uint64{11}, nil, rules.AnswerUnsupported, "ENOSYS"},
		{"fallocate", []uint64{2}, nil, rules.AnswerUnsupported, "EOPNOTSUPP"},
		{"madvise", []uint64{100}, nil, rules.AnswerUnsupported, "EPERM"},
		{"clone", []uint64{0x20000}, nil, rules.AnswerIgnored, ""}, // CLONE_NEWNS: "TODO: Implement CLONE_NEWNS"
		{"setrlimit", []uint64{13}, nil, rules.AnswerUnsupported, "EPERM"},
		{"io_uring_setup", nil, nil, rules.AnswerUnknown, ""}, // no --iouring flag yet
		{"ioctl", []uint64{0x5401}, nil, rules.AnswerSupported, ""},
		{"setxattr", []uint64{3}, nil, rules.AnswerUnsupported, "EOPNOTSUPP"}, // gofer.go, sys_xattr.go: user.* only
		{"setxattr", []uint64{2}, nil, rules.AnswerUnsupported, "EOPNOTSUPP"},
		{"fsetxattr", []uint64{5}, nil, rules.AnswerUnsupported, "EOPNOTSUPP"},
		{"setxattr", []uint64{1}, nil, rules.AnswerUnknown, ""},
		{"sendto", []uint64{0, 0x22, 1}, nil, rules.AnswerUnsupported, "EOPNOTSUPP"}, // route/protocol.go: RTM_GETRULE dump
		{"sendmsg", []uint64{0, 0x16, 1}, nil, rules.AnswerSupported, ""},            // RTM_GETADDR dump
		{"sendto", []uint64{0, 0x10, 0}, nil, rules.AnswerUnsupported, "EOPNOTSUPP"}, // RTM_NEWLINK: later
		{"memfd_create", []uint64{0x4}, nil, rules.AnswerUnsupported, "EINVAL"},      // vfs2/memfd.go: memfdAllFlags
	},
	v2023: {
		{"prctl", []uint64{35, 1}, nil, rules.AnswerUnsupported, "EINVAL"},
		{"socket", []uint64{16, 3, 9}, nil, rules.AnswerUnsupported, "EPROTONOSUPPORT"},
		{"clone", []uint64{0x2000000}, nil, rules.AnswerUnsupported, "EINVAL"}, // task_clone.go: CLONE_NEWCGROUP not in SupportedCloneFlags
		{"clone3", []uint64{0x80}, nil, rules.AnswerUnsupported, "EINVAL"},     // CLONE_NEWTIME
		{"io_uring_setup", nil, nil, rules.AnswerNeedsFlag, "ENOSYS"},
		{"io_uring_setup", nil, []string{"--iouring"}, rules.AnswerSupported, ""},
		{"keyctl", []uint64{0}, nil, rules.AnswerSupported, ""}, // sys_key.go: KEYCTL_GET_KEYRING_ID
		{"shmctl", []uint64{11}, nil, rules.AnswerIgnored, ""},  // sys_shm.go: SHM_LOCK is a no-op
		{"removexattr", []uint64{3}, nil, rules.AnswerUnsupported, "EOPNOTSUPP"},
	},
	vNewest: {
		{"prctl", []uint64{0x53564d41}, nil, rules.AnswerSupported, ""},                // PR_SET_VMA
		{"socket", []uint64{16, 3, 12}, nil, rules.AnswerNeedsFlag, "EPROTONOSUPPORT"}, // netfilter/protocol.go: NewProtocol refuses unless nftables is on (--TESTONLY-nftables)
		{"clone", []uint64{0x2000000}, nil, rules.AnswerUnsupported, "EINVAL"},
		{"unshare", []uint64{0x100}, nil, rules.AnswerUnsupported, "EINVAL"},         // CLONE_VM
		{"setsockopt", []uint64{1, 50}, nil, rules.AnswerIgnored, ""},                // SO_ATTACH_BPF: metric only
		{"keyctl", []uint64{2}, nil, rules.AnswerUnsupported, "ENOSYS"},              // KEYCTL_UPDATE
		{"mmap", []uint64{0x40000}, nil, rules.AnswerIgnored, ""},                    // MAP_HUGETLB
		{"setxattr", []uint64{3}, nil, rules.AnswerUnsupported, "EOPNOTSUPP"},        // vfs/permissions.go: CheckXattrPermissions
		{"fsetxattr", []uint64{5}, nil, rules.AnswerSupported, ""},                   // security.capability aside
		{"lsetxattr", []uint64{2}, nil, rules.AnswerUnknown, ""},                     // trusted.*: root may, as on Linux
		{"sendto", []uint64{0, 0x26, 1}, nil, rules.AnswerUnsupported, "EOPNOTSUPP"}, // RTM_GETQDISC dump
		{"sendmsg", []uint64{0, 0x12, 1}, nil, rules.AnswerSupported, ""},            // RTM_GETLINK dump
		{"sendto", []uint64{0, 0x10, 0}, nil, rules.AnswerSupported, ""},             // RTM_NEWLINK
		{"sendto", []uint64{0, 0x1e, 0}, nil, rules.AnswerUnsupported, "EOPNOTSUPP"}, // RTM_GETNEIGH
		{"memfd_create", []uint64{0x4}, nil, rules.AnswerUnsupported, "EINVAL"},      // sys_file.go: MFD_HUGETLB outside memfdAllFlags
		{"memfd_create", []uint64{0x8}, nil, rules.AnswerUnsupported, "EINVAL"},      // MFD_NOEXEC_SEAL
		{"memfd_create", []uint64{0x2}, nil, rules.AnswerSupported, ""},              // MFD_ALLOW_SEALING
		{"mremap", []uint64{0x4}, nil, rules.AnswerUnsupported, "EINVAL"},            // sys_mmap.go: MREMAP_DONTUNMAP
		{"mremap", []uint64{0x1}, nil, rules.AnswerSupported, ""},                    // MREMAP_MAYMOVE
	},
}

func TestExtractFacts(t *testing.T) {
	for version, fs := range facts {
		t.Run(version, func(t *testing.T) {
			res := extractVersion(t, version, sysno.AMD64)
			set := rules.NewSet(rules.VersionData{Version: version, Arch: sysno.AMD64, Rules: res.Rules, Paths: res.Paths, Roots: Roots})
			for _, f := range fs {
				v, r := set.Judge(f.sys, f.values, f.flags)
				errno := ""
				if r != nil {
					errno = r.Errno
					if r.Source == "" {
						t.Errorf("%s%#x: rule without source", f.sys, f.values)
					}
				}
				if v != f.want || f.errno != "" && errno != f.errno {
					t.Errorf("%s%#x %v: %v %q (%+v), want %v %q", f.sys, f.values, f.flags, v, errno, r, f.want, f.errno)
				}
			}
			for _, p := range []struct {
				path string
				want bool
			}{{"/proc/self/maps", true}, {"/proc/cpuinfo", true}, {"/proc/kcore", false}, {"/dev/null", true},
				{"/dev/kmsg", false}, {"/proc/sys/kernel/hostname", true}} {
				if got, note := set.PathProvided(p.path); got != p.want {
					t.Errorf("PathProvided(%s) = %v (%s)", p.path, got, note)
				}
			}
			if len(res.Rules) < 300 || len(res.Paths) < 100 {
				t.Errorf("%d rules, %d paths: extractors found too little", len(res.Rules), len(res.Paths))
			}
		})
	}
}

// TestEmbeddedUpToDate regenerates the newest version's rules and compares
// them with what internal/rules embeds.
func TestEmbeddedUpToDate(t *testing.T) {
	for _, arch := range sysno.Arches {
		res := extractVersion(t, vNewest, arch)
		emb, ok := rules.For(vNewest, arch)
		if !ok || emb.Version != vNewest {
			t.Fatalf("%s not embedded", vNewest)
		}
		fresh := rules.NewSet(rules.VersionData{Version: vNewest, Arch: arch, Rules: res.Rules, Paths: res.Paths, Roots: Roots})
		for _, sys := range fresh.Syscalls() {
			a, b := fresh.Rules(sys), emb.Rules(sys)
			if !slices.EqualFunc(a, b, func(x, y rules.Rule) bool {
				return x.Key == y.Key && slices.Equal(x.Values, y.Values) && x.Supported == y.Supported &&
					x.Errno == y.Errno && x.Ignored == y.Ignored && x.NeedsFlag == y.NeedsFlag && x.Source == y.Source
			}) {
				t.Errorf("%s %s: embedded rules differ from the source; run go generate ./internal/rules", arch, sys)
			}
		}
		if len(fresh.Paths()) != len(emb.Paths()) {
			t.Errorf("%s: %d paths extracted, %d embedded; run go generate ./internal/rules", arch, len(fresh.Paths()), len(emb.Paths()))
		}
	}
}
