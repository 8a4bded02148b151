// gvcheck's eBPF backend: a complete syscall inventory of a process tree,
// aggregated in the kernel.
//
// One program on the raw sys_exit tracepoint sees every syscall of the
// machine once, when it returns: its number, the arguments still in the
// saved registers, the result. Tasks of the traced tree carry a task
// storage entry; a task without one is adopted when it belongs to the tree
// (a seed thread group, or the traced cgroup). Calls are counted in maps
// rather than sent to user space:
//   - counts: an array striped per CPU and indexed by (executable, syscall)
//     for calls that succeeded and have neither a key argument nor a path:
//     a hot loop of read costs one array increment;
//   - calls: a hash of (syscall, executable, errno, key arguments) for the
//     rest;
//   - paths: a hash of (path, syscall, errno) for paths under /proc, /sys
//     and /dev, whose strings are kept once in path_strs.
// Nothing is dropped silently: every failure to record is counted in a
// lost_ counter, which user space reports as an incomplete inventory.
//
// sched_process_fork adopts the children of traced tasks; sched_prepare_exec
// records the path exec was given (no longer in user memory when execve
// returns) and sched_process_exec the new executable; sched_process_exit
// counts exit and exit_group, which never return, and the traced tasks still
// alive.
//
// The heavy parts (path walks, key arguments, paths) are global functions,
// which the verifier checks once each rather than at every call site, and
// the loops are bpf_loop callbacks whose state lives in a per-CPU scratch
// value, which the verifier does not track: loading stays fast.

#include "kernel.h"

#define NR_MAX 512   // syscall numbers below this have a spec and a counts column
#define PATH_BUF 4096
#define MAX_DEPTH 40 // path components walked up from a dentry
#define ERRNO_MAX 4095
#define ENOSYS 38
#define AT_FDCWD -100
#define PR_SET_MM 35
#define TS_COMPAT 0x0002
#define ERESTARTSYS 512
#define ERESTART_RESTARTBLOCK 516
#define SIGKILL 9

// struct spec flags: how a syscall's key arguments and path are found.
#define SP_KEY (1 << 0)      // arg[] name the argument registers that form the key
#define SP_PATH (1 << 1)     // path_arg names a path, relative to dir_arg or the cwd
#define SP_CHILD0 (1 << 2)   // clone family: a return of 0 is the child's, not a call
#define SP_PRCTL_MM (1 << 3) // the second key value counts only for PR_SET_MM
#define SP_NONNULL2 (1 << 4) // the third key value is whether the pointer is non-NULL
#define SP_EXEC (1 << 6)     // execve/execveat: on success the path comes from sched_prepare_exec
#define SP_CHDIR (1 << 7)    // chdir: on success a relative path names the new working directory

// task_state flags.
#define TS_PREEXEC (1 << 0) // the launcher before its exec: only execve is the program's
#define TS_LIVE (1 << 1)    // counted in live

// cfg_mode: how tasks join the traced tree besides being forked from it.
#define MODE_SEEDS (1 << 0)   // thread groups listed in seeds
#define MODE_CGROUP2 (1 << 1) // tasks in cfg_cgroup_id or below

// struct spec mem: where a key that is not in registers lives.
#define MEM_U64 1    // the first key value is the u64 its register points to
#define MEM_STR 2    // the key values are the first bytes of the string it points to
#define MEM_NL_BUF 3 // sendto(fd, buf, len): the netlink message in buf, if fd is a netlink socket
#define MEM_NL_MSG 4 // sendmsg(fd, msghdr): the netlink message in its first iovec

struct spec {
	__u8 flags;
	__s8 arg[3];   // argument registers of the key, 6 for none
	__s8 path_arg; // -1 for none
	__s8 dir_arg;  // -1: the working directory
	__u8 mem;      // MEM_*, 0 for a key in registers
	__u8 pad;
};

struct task_state {
	__u32 exe;     // executable id; cfg_no_exe when unknown
	__u32 flags;   // TS_*
	__u32 exec_nr; // execve or execveat, while an exec is under way
	__u32 pad;
};

struct call_key {
	__u32 nr;
	__u32 exe;
	__u32 err; // errno, 0 for success or no return
	__u32 pad;
	__u64 args[3];
};

struct path_key {
	__u64 hash;
	__u32 nr;
	__u32 err;
};

struct path_str {
	__u32 len; // bytes in s, without the NUL
	__u32 rel; // 1: joined from a directory and a relative path (clean it)
	char s[PATH_BUF];
};

struct exe_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

// Per-CPU scratch space, also the state of the global functions and of the
// bpf_loop callbacks. ps must come first and buf follow it, so that a string
// appended at any offset below PATH_BUF stays inside the value.
struct scratch {
	struct path_str ps;
	char buf[PATH_BUF + 256];
	char rel[PATH_BUF];
	__u64 comps[MAX_DEPTH];
	// a call: its registers (and two zeros, for spec arguments that name
	// none), number, result, executable, task
	__u64 args[8];
	__u64 task;
	long ret;
	__u32 nr, exe;
	// record_path's input: the path's length with its NUL, the directory
	// fd it is relative to, the errno; moved: the call succeeded in making
	// the path the working directory, which it now is
	long n;
	int dfd;
	__u32 err, moved;
	// walk's input: a dentry and mount, and the root to stop at
	__u64 dentry, mnt, root_dentry, root_mnt;
	// walk's output: the number of components and the kind of the first;
	// werr: too deep or too long; off: the length so far
	__u32 depth, top, werr, off;
	// clean_step's state: the current component's length and first bytes
	__u32 clen, cpack;
	// hash_step's state
	__u64 hash;
};

// Configuration, set by user space before loading.
const volatile __u32 cfg_mode = 0;
const volatile __u64 cfg_cgroup_id = 0;
const volatile __u32 cfg_cgroup_level = 0;
const volatile __u32 cfg_rows = 1;       // executables with a row in counts
const volatile __u32 cfg_no_exe = 0;     // the id of an unknown executable
const volatile __u32 cfg_max_exes = 0;   // executable ids
const volatile __u32 cfg_nr_exit = 0xffffffff;
const volatile __u32 cfg_nr_exit_group = 0xffffffff;
const volatile __u32 cfg_nr_execve = 0xffffffff;
const volatile __u32 cfg_nr_execveat = 0xffffffff;
const volatile struct spec specs[NR_MAX] = {};

// Counters read by user space.
__u64 live = 0;       // traced tasks alive
__u64 processes = 0;  // thread groups adopted or forked
__u32 next_exe = 0;   // next free executable id
__u64 slow_calls = 0; // calls recorded in the calls map
__u64 lost_calls = 0; // calls not recorded: the calls map was full
__u64 lost_paths = 0; // paths not recorded: a map was full, or the path too long or deep
__u64 lost_tasks = 0; // calls of tasks whose state could not be allocated
__u64 lost_exes = 0;  // executables beyond the ids: their calls name no executable

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);   // thread group id
	__type(value, __u32); // task_state flags for its tasks
} seeds SEC(".maps");

// counts[(cpu * cfg_rows + exe) * NR_MAX + nr]: each CPU increments its own
// stripe, so plain increments neither race nor share cache lines.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); // set by user space
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct call_key);
	__type(value, __u64);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct path_key);
	__type(value, __u64);
} paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct path_str);
} path_strs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1); // set by user space
	__type(key, struct exe_key);
	__type(value, __u32);
} exes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1); // set by user space
	__type(key, __u32);
	__type(value, struct path_str);
} exe_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

// The state of the task that last made a syscall on this CPU: a hot loop
// finds it here instead of in task storage. It is valid while gen is: gen
// changes whenever a traced task execs or exits (a task_struct may be
// reused).
struct cpu_cache {
	__u64 task;
	__u32 exe;
	__u32 flags;
	__u32 gen;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_cache);
} cpu_cache SEC(".maps");

__u32 gen = 1;

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline void count(__u32 exe, __u32 nr)
{
	__u32 i = (bpf_get_smp_processor_id() * cfg_rows + exe) * NR_MAX + nr;
	__u64 *c = bpf_map_lookup_elem(&counts, &i);
	if (c)
		*c += 1;
}

static __always_inline void add(void *map, void *key, __u64 *lost)
{
	__u64 *c = bpf_map_lookup_elem(map, key);
	if (c) {
		__sync_fetch_and_add(c, 1);
		return;
	}
	__u64 one = 1;
	if (bpf_map_update_elem(map, key, &one, BPF_NOEXIST) == 0)
		return;
	c = bpf_map_lookup_elem(map, key); // created meanwhile, or the map is full
	if (c)
		__sync_fetch_and_add(c, 1);
	else
		__sync_fetch_and_add(lost, 1);
}

// Path strings.

enum { TOP_NONE, TOP_OTHER, TOP_PROC, TOP_SYS, TOP_DEV };

// classify names the kind of a path component of len bytes whose first
// bytes (up to four) are packed little-endian in c.
static __always_inline int classify(__u32 len, __u32 c)
{
	if (len == 4 && c == ('p' | 'r' << 8 | 'o' << 16 | 'c' << 24))
		return TOP_PROC;
	if (len == 3 && c == ('s' | 'y' << 8 | 's' << 16))
		return TOP_SYS;
	if (len == 3 && c == ('d' | 'e' << 8 | 'v' << 16))
		return TOP_DEV;
	return TOP_OTHER;
}

// pack packs the first (up to four) of the len bytes at s for classify.
static __always_inline __u32 pack(const char *s, __u32 len)
{
	__u32 c = 0;
	for (int i = 0; i < 4; i++)
		if (i < len)
			c |= (__u32)(__u8)s[i] << (8 * i);
	return c;
}

// synthesized reports whether the absolute path s starts with /proc, /sys
// or /dev as a whole component, as sysargs.SynthesizedPath decides.
static __always_inline bool synthesized(const char *s)
{
	__u32 n = 0;
	if (s[0] != '/')
		return false;
	for (int i = 1; i < 6; i++) {
		if (s[i] == '/' || s[i] == 0)
			break;
		n++;
	}
	return classify(n, pack(s + 1, n)) >= TOP_PROC;
}

// The context of the bpf_loop callbacks; their state is in the scratch
// value.
struct loop_ctx {
	struct scratch *s;
};

static long walk_up(__u32 i, struct loop_ctx *c)
{
	struct scratch *s = c->s;
	if (s->dentry == s->root_dentry && s->mnt == s->root_mnt)
		return 1;
	__u64 mnt_root = 0;
	KREAD(mnt_root, s->mnt, struct vfsmount, mnt_root);
	if (s->dentry == mnt_root) {
		__u64 moff = KOFFSET(struct mount, mnt);
		__u64 m = s->mnt - moff, parent = 0;
		KREAD(parent, m, struct mount, mnt_parent);
		if (parent == m || parent == 0)
			return 1; // the root of the mount tree
		KREAD(s->dentry, m, struct mount, mnt_mountpoint);
		s->mnt = parent + moff;
		return 0;
	}
	__u32 n = s->depth;
	if (n >= MAX_DEPTH) {
		s->werr = 1;
		return 1;
	}
	s->comps[n] = s->dentry;
	s->depth = n + 1;
	__u64 parent = 0;
	KREAD(parent, s->dentry, struct dentry, d_parent);
	if (parent == s->dentry || parent == 0)
		return 1;
	s->dentry = parent;
	return 0;
}

static long walk_down(__u32 i, struct loop_ctx *c)
{
	struct scratch *s = c->s;
	__u32 j = s->depth - 1 - i;
	__u32 off = s->off;
	if (j >= MAX_DEPTH || off >= PATH_BUF - 256) {
		s->werr = 1;
		return 1;
	}
	__u64 name = 0;
	KREAD(name, s->comps[j], struct dentry, d_name.name);
	s->ps.s[off] = '/';
	off++;
	long l = bpf_probe_read_kernel_str(&s->ps.s[off], 256, (const void *)name);
	if (l <= 1) {
		s->werr = 1;
		return 1;
	}
	if (i == 0)
		s->top = classify(l - 1, pack(&s->ps.s[off], l - 1));
	s->off = off + l - 1;
	return 0;
}

// walk writes the path of (s->dentry, s->mnt) as seen from the root
// (s->root_dentry, s->root_mnt) into s->ps.s, following mounts up to their
// mount points, and returns its length, or -1 when it is too deep or too
// long. It sets s->top to the kind of its first component and s->depth to
// its number of components.
__attribute__((noinline)) int walk(struct scratch *s)
{
	if (!s)
		return -1;
	struct loop_ctx c = {.s = s};
	s->depth = 0;
	s->werr = 0;
	s->off = 0;
	s->top = TOP_NONE;
	bpf_loop(MAX_DEPTH + 16, walk_up, &c, 0);
	if (s->werr)
		return -1;
	bpf_loop(s->depth, walk_down, &c, 0);
	if (s->werr)
		return -1;
	if (s->off == 0) {
		s->ps.s[0] = '/';
		s->off = 1;
	}
	s->ps.s[s->off & (PATH_BUF - 1)] = 0;
	return s->off;
}

// clean_step follows the lexical cleaning of base/rel (filepath.Clean),
// reduced to what decides whether the result is synthesized: its depth and
// the kind of its first component.
static long clean_step(__u32 i, struct loop_ctx *c)
{
	struct scratch *s = c->s;
	char ch = s->rel[i & (PATH_BUF - 1)];
	__u32 len = s->clen;
	if (ch != '/' && ch != 0) {
		if (len < 4)
			s->cpack |= (__u32)(__u8)ch << (8 * len);
		s->clen = len + 1;
		return 0;
	}
	if (len == 0 || (len == 1 && s->cpack == '.')) {
		// empty or "."
	} else if (len == 2 && s->cpack == ('.' | '.' << 8)) {
		if (s->depth > 0)
			s->depth--;
		if (s->depth == 0)
			s->top = TOP_NONE;
	} else {
		if (s->depth == 0)
			s->top = classify(len, s->cpack);
		s->depth++;
	}
	s->clen = 0;
	s->cpack = 0;
	return ch == 0;
}

static long hash_step(__u32 i, struct loop_ctx *c)
{
	struct scratch *s = c->s;
	__u32 off = (i * 8) & (PATH_BUF - 1);
	__u64 w = *(__u64 *)&s->ps.s[off];
	__u32 left = s->ps.len - i * 8;
	if (left < 8)
		w &= (1ULL << (8 * left)) - 1;
	__u64 h = s->hash;
	for (int b = 0; b < 8; b++) {
		h ^= (w >> (8 * b)) & 0xff;
		h *= 0x100000001b3ULL; // FNV-1a
	}
	s->hash = h;
	return 0;
}

// base_of sets s->dentry and s->mnt to the directory a relative path of the
// current task is resolved against: the directory fd dfd, or the working
// directory for AT_FDCWD; and the root to stop at.
static __always_inline bool base_of(struct scratch *s, int dfd)
{
	__u64 task = bpf_get_current_task(), fs = 0;
	KREAD(fs, task, struct task_struct, fs);
	if (!fs)
		return false;
	KREAD(s->root_dentry, fs, struct fs_struct, root.dentry);
	KREAD(s->root_mnt, fs, struct fs_struct, root.mnt);
	if (dfd == AT_FDCWD) {
		KREAD(s->dentry, fs, struct fs_struct, pwd.dentry);
		KREAD(s->mnt, fs, struct fs_struct, pwd.mnt);
		return true;
	}
	__u64 files = 0, fdt = 0, fdarr = 0, file = 0;
	__u32 max_fds = 0;
	KREAD(files, task, struct task_struct, files);
	if (!files)
		return false;
	KREAD(fdt, files, struct files_struct, fdt);
	KREAD(max_fds, fdt, struct fdtable, max_fds);
	if (dfd < 0 || (__u32)dfd >= max_fds)
		return false;
	KREAD(fdarr, fdt, struct fdtable, fd);
	bpf_probe_read_kernel(&file, sizeof(file), (const void *)(fdarr + 8 * (__u64)dfd));
	if (!file)
		return false;
	KREAD(s->dentry, file, struct file, f_path.dentry);
	KREAD(s->mnt, file, struct file, f_path.mnt);
	return true;
}

// record_path counts the path in s->rel (s->n bytes with its NUL) used by
// syscall s->nr of the current task with errno s->err, when it lies under
// /proc, /sys or /dev once resolved against the directory fd s->dfd.
__attribute__((noinline)) int record_path(struct scratch *s)
{
	if (!s)
		return 0;
	long n = s->n;
	if (n <= 1)
		return 0; // unreadable or empty: no path
	if (n > PATH_BUF)
		n = PATH_BUF;
	if (s->rel[0] == '/') {
		if (!synthesized(s->rel))
			return 0;
		bpf_probe_read_kernel(s->ps.s, n, s->rel);
		s->ps.len = n - 1;
		s->ps.rel = 0;
	} else if (s->moved) {
		// The working directory already is the path (resolved, unlike
		// the lexical join: a symbolic link in it is followed).
		if (!base_of(s, AT_FDCWD))
			return 0;
		int blen = walk(s);
		if (blen < 0) {
			__sync_fetch_and_add(&lost_paths, 1);
			return 0;
		}
		if (s->depth == 0 || s->top < TOP_PROC)
			return 0;
		s->ps.len = blen;
		s->ps.rel = 0;
	} else {
		if (!base_of(s, s->dfd))
			return 0;
		int blen = walk(s);
		if (blen < 0) {
			__sync_fetch_and_add(&lost_paths, 1);
			return 0;
		}
		struct loop_ctx c = {.s = s};
		s->clen = 0;
		s->cpack = 0;
		bpf_loop(n, clean_step, &c, 0);
		if (s->depth == 0 || s->top < TOP_PROC)
			return 0;
		if (blen + n >= PATH_BUF) {
			__sync_fetch_and_add(&lost_paths, 1);
			return 0;
		}
		s->ps.s[blen & (PATH_BUF - 1)] = '/';
		bpf_probe_read_kernel(&s->ps.s[(blen + 1) & (PATH_BUF - 1)], n, s->rel);
		s->ps.len = blen + n;
		s->ps.rel = 1;
	}
	struct loop_ctx c = {.s = s};
	s->hash = 0xcbf29ce484222325ULL ^ s->ps.rel;
	bpf_loop((s->ps.len + 7) / 8, hash_step, &c, 0);
	__u64 h = s->hash;
	if (!bpf_map_lookup_elem(&path_strs, &h) && bpf_map_update_elem(&path_strs, &h, &s->ps, BPF_NOEXIST) != 0 &&
	    !bpf_map_lookup_elem(&path_strs, &h)) {
		__sync_fetch_and_add(&lost_paths, 1);
		return 0;
	}
	struct path_key pk = {.hash = h, .nr = s->nr, .err = s->err};
	add(&paths, &pk, &lost_paths);
	return 0;
}

#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define AF_NETLINK 16

// netlink_protocol returns the protocol of the current task's descriptor
// fd when it is a netlink socket, and -1 otherwise.
static __always_inline int netlink_protocol(__u64 fd)
{
	__u64 task = bpf_get_current_task(), files = 0, fdt = 0, fdarr = 0, file = 0;
	__u64 inode = 0, sock = 0, sk = 0;
	__u32 max_fds = 0;
	__u16 mode = 0, family = 0, proto = 0;
	KREAD(files, task, struct task_struct, files);
	if (!files)
		return -1;
	KREAD(fdt, files, struct files_struct, fdt);
	KREAD(max_fds, fdt, struct fdtable, max_fds);
	if (fd >= max_fds)
		return -1;
	KREAD(fdarr, fdt, struct fdtable, fd);
	bpf_probe_read_kernel(&file, sizeof(file), (const void *)(fdarr + 8 * fd));
	if (!file)
		return -1;
	KREAD(inode, file, struct file, f_inode);
	KREAD(mode, inode, struct inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return -1;
	KREAD(sock, file, struct file, private_data);
	KREAD(sk, sock, struct socket, sk);
	if (!sk)
		return -1;
	KREAD(family, sk, struct sock, __sk_common.skc_family);
	if (family != AF_NETLINK)
		return -1;
	KREAD(proto, sk, struct sock, sk_protocol);
	return proto;
}

struct nlmsghdr {
	__u32 len;
	__u16 type;
	__u16 flags;
	__u32 seq;
	__u32 pid;
};

// netlink_key makes the key of a sendto or sendmsg to a netlink socket:
// the socket's protocol plus one, the first message's type and flags, as
// sysargs.FromTracee does in user space; zeros when there is no such
// message. The socket is only looked at when the bytes read as a request.
static __always_inline void netlink_key(__u64 *args, __u8 mem)
{
	__u64 fd = args[0], addr = args[1], size = args[2];
	args[0] = args[1] = args[2] = 0;
	if (mem == MEM_NL_MSG) {
		// struct msghdr: msg_iov at 16, msg_iovlen at 24; struct iovec:
		// iov_base, iov_len.
		__u64 mh[4] = {}, iov[2] = {};
		if (bpf_probe_read_user(mh, sizeof(mh), (const void *)addr) != 0 || mh[3] == 0)
			return;
		if (bpf_probe_read_user(iov, sizeof(iov), (const void *)mh[2]) != 0)
			return;
		addr = iov[0];
		size = iov[1];
	}
	struct nlmsghdr h = {};
	if (!addr || size < sizeof(h) || bpf_probe_read_user(&h, sizeof(h), (const void *)addr) != 0)
		return;
	if (h.len < sizeof(h) || h.len > size || h.type < 0x10)
		return;
	int proto = netlink_protocol(fd);
	if (proto < 0)
		return;
	args[0] = (__u64)proto + 1;
	args[1] = h.type;
	args[2] = h.flags;
}

// record counts the call in s (number, registers, result, executable) with
// its key arguments and path: the calls the counts array does not take.
__attribute__((noinline)) int record(struct scratch *s)
{
	if (!s)
		return 0;
	__u32 nr = s->nr;
	__u32 err = (__u64)s->ret >= (__u64)-ERRNO_MAX ? -s->ret : 0;
	if (err >= ERESTARTSYS && err <= ERESTART_RESTARTBLOCK) {
		// A call interrupted by SIGKILL never returns to the program:
		// count it without a result, as a ptrace tracer sees it.
		__u64 task = bpf_get_current_task(), pending = 0;
		KREAD(pending, task, struct task_struct, pending.signal.sig[0]);
		if (pending & (1UL << (SIGKILL - 1)))
			err = 0;
	}
	struct call_key k = {.nr = nr, .exe = s->exe, .err = err};
	__sync_fetch_and_add(&slow_calls, 1);
	if (nr >= NR_MAX) {
		add(&calls, &k, &lost_calls);
		return 0;
	}
	struct spec sp = specs[nr];
	if (sp.flags & SP_KEY) {
		// Spec arguments are 0-5, or 6 for none: no branches to explore.
		k.args[0] = s->args[sp.arg[0] & 7];
		k.args[1] = s->args[sp.arg[1] & 7];
		k.args[2] = s->args[sp.arg[2] & 7];
		if ((sp.flags & SP_PRCTL_MM) && (k.args[0] & 0xffffffff) != PR_SET_MM)
			k.args[1] = 0;
		if (sp.flags & SP_NONNULL2)
			k.args[2] = k.args[2] != 0;
		if (sp.mem == MEM_U64) {
			__u64 v = 0;
			if (bpf_probe_read_user(&v, sizeof(v), (const void *)k.args[0]) != 0)
				v = 0;
			k.args[0] = v;
		} else if (sp.mem == MEM_NL_BUF || sp.mem == MEM_NL_MSG) {
			netlink_key(k.args, sp.mem);
			if (!k.args[0] && !err && s->exe < cfg_rows) {
				// Not a netlink request: an ordinary send, counted as
				// calls without a key are.
				count(s->exe, nr);
				return 0;
			}
		} else if (sp.mem == MEM_STR) {
			// The bytes are part of the map key: zero what the string
			// does not fill, and all of it when it cannot be read.
			const void *p = (const void *)k.args[0];
			k.args[0] = k.args[1] = k.args[2] = 0;
			if (bpf_probe_read_user_str(k.args, sizeof(k.args), p) < 0)
				k.args[0] = k.args[1] = k.args[2] = 0;
		}
	}
	add(&calls, &k, &lost_calls);
	if (!(sp.flags & SP_PATH) || ((sp.flags & SP_EXEC) && err == 0))
		return 0;
	if (sp.path_arg < 0 || sp.path_arg >= 6)
		return 0;
	s->n = bpf_probe_read_user_str(s->rel, PATH_BUF, (const void *)s->args[sp.path_arg]);
	s->dfd = sp.dir_arg >= 0 && sp.dir_arg < 6 ? (int)s->args[sp.dir_arg] : AT_FDCWD;
	s->err = err;
	s->moved = (sp.flags & SP_CHDIR) && err == 0;
	record_path(s);
	return 0;
}

// Tasks and executables.

// exe_id returns the id of the current task's executable, recording its
// path the first time it is seen.
__attribute__((noinline)) __u32 exe_id(struct scratch *s)
{
	if (!s)
		return cfg_no_exe;
	__u64 task = bpf_get_current_task(), mm = 0, file = 0, inode = 0, sb = 0, fs = 0;
	struct exe_key k = {};
	KREAD(mm, task, struct task_struct, mm);
	if (!mm)
		return cfg_no_exe;
	KREAD(file, mm, struct mm_struct, exe_file);
	if (!file)
		return cfg_no_exe;
	KREAD(inode, file, struct file, f_inode);
	KREAD(k.ino, inode, struct inode, i_ino);
	KREAD(sb, inode, struct inode, i_sb);
	KREAD(k.dev, sb, struct super_block, s_dev);
	__u32 *id = bpf_map_lookup_elem(&exes, &k);
	if (id)
		return *id;

	__u32 n = __sync_fetch_and_add(&next_exe, 1);
	if (n >= cfg_max_exes) {
		__sync_fetch_and_add(&lost_exes, 1);
		return cfg_no_exe;
	}
	s->root_dentry = 0;
	s->root_mnt = 0;
	KREAD(s->dentry, file, struct file, f_path.dentry);
	KREAD(s->mnt, file, struct file, f_path.mnt);
	KREAD(fs, task, struct task_struct, fs);
	if (fs) {
		KREAD(s->root_dentry, fs, struct fs_struct, root.dentry);
		KREAD(s->root_mnt, fs, struct fs_struct, root.mnt);
	}
	int len = walk(s);
	s->ps.len = len < 0 ? 0 : len; // unnamed rather than misnamed
	s->ps.rel = 0;
	bpf_map_update_elem(&exe_paths, &n, &s->ps, BPF_ANY);
	if (bpf_map_update_elem(&exes, &k, &n, BPF_NOEXIST) != 0) {
		// Another CPU recorded the same executable meanwhile.
		id = bpf_map_lookup_elem(&exes, &k);
		if (id)
			return *id;
	}
	return n;
}

// member reports whether the current task belongs to the traced tree
// (without a state yet), and with which task_state flags: -1 if not.
__attribute__((noinline)) long member(void)
{
	if (cfg_mode & MODE_SEEDS) {
		__u64 task = bpf_get_current_task();
		__u32 tgid = 0;
		KREAD(tgid, task, struct task_struct, tgid);
		__u32 *f = bpf_map_lookup_elem(&seeds, &tgid);
		if (f)
			return *f;
	}
	if ((cfg_mode & MODE_CGROUP2) && bpf_get_current_ancestor_cgroup_id(cfg_cgroup_level) == cfg_cgroup_id)
		return 0;
	return -1;
}

static __always_inline void count_process(void)
{
	__u64 task = bpf_get_current_task();
	int pid = 0, tgid = 0;
	KREAD(pid, task, struct task_struct, pid);
	KREAD(tgid, task, struct task_struct, tgid);
	if (pid == tgid)
		__sync_fetch_and_add(&processes, 1);
}

// traced returns the state of the current task, adopting it when it
// belongs to the traced tree.
static __always_inline struct task_state *traced(struct task_struct *task)
{
	struct task_state *st = bpf_task_storage_get(&tasks, task, 0, 0);
	if (st)
		return st;
	long flags = member();
	if (flags < 0)
		return NULL;
	struct scratch *s = get_scratch();
	if (!s)
		return NULL;
	st = bpf_task_storage_get(&tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		__sync_fetch_and_add(&lost_tasks, 1);
		return NULL;
	}
	st->flags = flags | TS_LIVE;
	st->exe = (flags & TS_PREEXEC) ? cfg_no_exe : exe_id(s);
	__sync_fetch_and_add(&live, 1);
	count_process();
	return st;
}

static __always_inline bool compat(struct task_struct *task)
{
	return task->thread_info.status & TS_COMPAT;
}

SEC("tp_btf/sys_exit")
int sys_exit(__u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	long ret = (long)ctx[1];
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 zero = 0, exe, flags;
	struct cpu_cache *cc = bpf_map_lookup_elem(&cpu_cache, &zero);
	if (!cc)
		return 0;
	__u32 g = gen;
	if (cc->task == (__u64)task && cc->gen == g) {
		exe = cc->exe;
		flags = cc->flags;
	} else {
		struct task_state *st = traced(task);
		if (!st)
			return 0;
		exe = st->exe;
		flags = st->flags;
		cc->task = (__u64)task;
		cc->exe = exe;
		cc->flags = flags;
		cc->gen = g;
	}
	__u64 nr = regs->orig_ax;
	if (nr >= 0x80000000ULL || compat(task))
		return 0; // no syscall (-1), or the i386 ABI, which gVisor lacks
	if ((flags & TS_PREEXEC) && nr != cfg_nr_execve && nr != cfg_nr_execveat)
		return 0; // the launcher's own calls
	if (nr < NR_MAX) {
		__u8 f = specs[nr].flags;
		if ((f & SP_CHILD0) && ret == 0)
			return 0; // a new task's first return from fork or clone
		if (!(f & (SP_KEY | SP_PATH)) && (__u64)ret < (__u64)-ERRNO_MAX && exe < cfg_rows) {
			count(exe, nr);
			return 0;
		}
		if (nr == cfg_nr_execve && ret == 0) {
			// exec set orig_ax to execve: the call may have been execveat.
			struct task_state *st = bpf_task_storage_get(&tasks, task, 0, 0);
			if (st && st->exec_nr == cfg_nr_execveat)
				nr = cfg_nr_execveat;
		}
	}
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	s->args[0] = regs->di;
	s->args[1] = regs->si;
	s->args[2] = regs->dx;
	s->args[3] = regs->r10;
	s->args[4] = regs->r8;
	s->args[5] = regs->r9;
	s->args[6] = 0;
	s->args[7] = 0;
	s->nr = nr;
	s->ret = ret;
	s->exe = exe;
	record(s);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int sched_process_fork(__u64 *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx[0];
	struct task_struct *child = (struct task_struct *)ctx[1];
	struct task_state *st = traced(parent);
	if (!st)
		return 0;
	struct task_state *cst = bpf_task_storage_get(&tasks, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cst) {
		__sync_fetch_and_add(&lost_tasks, 1);
		return 0;
	}
	cst->exe = st->exe;
	cst->flags = (st->flags & TS_PREEXEC) | TS_LIVE;
	cst->exec_nr = 0;
	__sync_fetch_and_add(&live, 1);
	if (child->pid == child->tgid)
		__sync_fetch_and_add(&processes, 1);
	return 0;
}

// sched_prepare_exec runs when exec has found its binary, before it
// replaces the program (and before it pretends the call was execve): the
// path the call was given is still in user memory.
SEC("tp_btf/sched_prepare_exec")
int sched_prepare_exec(__u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	struct task_state *st = traced(task);
	if (!st)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	__u64 nr = regs->orig_ax;
	if ((nr != cfg_nr_execve && nr != cfg_nr_execveat) || compat(task))
		return 0;
	st->exec_nr = nr;
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	struct spec sp = specs[nr & (NR_MAX - 1)];
	if (sp.path_arg < 0 || sp.path_arg >= 6)
		return 0;
	s->args[0] = regs->di;
	s->args[1] = regs->si;
	s->n = bpf_probe_read_user_str(s->rel, PATH_BUF, (const void *)s->args[sp.path_arg & 1]);
	s->dfd = sp.dir_arg == 0 ? (int)s->args[0] : AT_FDCWD;
	s->nr = nr;
	s->err = 0;
	s->moved = 0;
	record_path(s);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int sched_process_exec(__u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	struct task_state *st = traced(task);
	if (!st)
		return 0;
	struct scratch *s = get_scratch();
	if (!s)
		return 0;
	st->flags &= ~TS_PREEXEC;
	st->exe = exe_id(s);
	__sync_fetch_and_add(&gen, 1);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int sched_process_exit(__u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	if (cfg_mode & MODE_SEEDS) {
		// The last thread of a seed thread group: its id may be reused.
		// (do_exit decrements signal->live before this tracepoint; newer
		// kernels also pass it as an argument.)
		int alive = 1;
		__u64 sig = 0;
		KREAD(sig, task, struct task_struct, signal);
		if (sig)
			KREAD(alive, sig, struct signal_struct, live.counter);
		if (alive == 0) {
			__u32 tgid = task->tgid;
			bpf_map_delete_elem(&seeds, &tgid);
		}
	}
	struct task_state *st = bpf_task_storage_get(&tasks, task, 0, 0);
	if (!st)
		return 0;
	// exit and exit_group never return: count them here. ax is -ENOSYS
	// until a syscall returns.
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (regs && !(st->flags & TS_PREEXEC) && !compat(task) && regs->ax == (__u64)-ENOSYS) {
		__u64 nr = regs->orig_ax;
		if (nr == cfg_nr_exit || nr == cfg_nr_exit_group) {
			if (st->exe < cfg_rows) {
				count(st->exe, nr);
			} else {
				struct call_key k = {.nr = nr, .exe = st->exe};
				add(&calls, &k, &lost_calls);
			}
		}
	}
	if (st->flags & TS_LIVE) {
		st->flags &= ~TS_LIVE;
		__sync_fetch_and_sub(&live, 1);
	}
	__sync_fetch_and_add(&gen, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
