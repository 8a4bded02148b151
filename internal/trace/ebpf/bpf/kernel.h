/* The few kernel types, helpers and macros gvcheck's BPF program uses,
 * written out instead of including a generated vmlinux.h or libbpf's
 * headers, so that the object depends only on the compiler. Structures are
 * declared with preserve_access_index: clang records each field access as
 * a CO-RE relocation, and the loader resolves it against the running
 * kernel's BTF, so only the fields named here must exist, at any offset. */
#ifndef GVCHECK_KERNEL_H
#define GVCHECK_KERNEL_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

#define SEC(name) __attribute__((section(name), used))
#define __always_inline inline __attribute__((always_inline))
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

#define CORE __attribute__((preserve_access_index))

struct qstr {
	union {
		struct {
			__u32 hash;
			__u32 len;
		};
		__u64 hash_len;
	};
	const unsigned char *name;
} CORE;

struct super_block {
	__u32 s_dev;
} CORE;

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
	struct super_block *i_sb;
} CORE;

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
} CORE;

struct vfsmount {
	struct dentry *mnt_root;
} CORE;

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} CORE;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} CORE;

struct file {
	struct path f_path;
	struct inode *f_inode;
	void *private_data;
} CORE;

struct sock_common {
	unsigned short skc_family;
} CORE;

/* sk_protocol is a u16 since Linux 5.6; the program needs 5.11. */
struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
} CORE;

/* A socket file's private_data. */
struct socket {
	struct sock *sk;
} CORE;

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} CORE;

struct files_struct {
	struct fdtable *fdt;
} CORE;

struct fs_struct {
	struct path root;
	struct path pwd;
} CORE;

struct mm_struct {
	struct file *exe_file;
} CORE;

struct thread_info {
	__u32 status;
} CORE;

struct sigpending {
	struct {
		unsigned long sig[1];
	} signal;
} CORE;

struct signal_struct {
	struct {
		int counter;
	} live;
} CORE;

struct task_struct {
	struct thread_info thread_info;
	struct signal_struct *signal;
	struct sigpending pending;
	int pid;
	int tgid;
	struct mm_struct *mm;
	struct fs_struct *fs;
	struct files_struct *files;
} CORE;

struct linux_binprm {
	struct file *file;
	const char *filename;
} CORE;

/* x86_64: the saved user registers; orig_ax is the syscall number and ax
 * holds -ENOSYS until the syscall returns. */
struct pt_regs {
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long ax;
	unsigned long dx;
	unsigned long si;
	unsigned long di;
	unsigned long orig_ax;
} CORE;

/* Map types, flags and helpers (include/uapi/linux/bpf.h). */
enum {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
};
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};
#define BPF_F_NO_PREALLOC (1U << 0)
#define BPF_F_MMAPABLE (1U << 10)
#define BPF_LOCAL_STORAGE_GET_F_CREATE (1ULL << 0)

static __u32 (*bpf_get_smp_processor_id)(void) = (void *)8;
static __u64 (*bpf_get_current_task)(void) = (void *)35;
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static long (*bpf_probe_read_user)(void *dst, __u32 size, const void *src) = (void *)112;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
static long (*bpf_probe_read_user_str)(void *dst, __u32 size, const void *src) = (void *)114;
static long (*bpf_probe_read_kernel_str)(void *dst, __u32 size, const void *src) = (void *)115;
static __u64 (*bpf_get_current_ancestor_cgroup_id)(int level) = (void *)123;
static void *(*bpf_task_storage_get)(void *map, struct task_struct *task, void *value, __u64 flags) = (void *)156;
static struct task_struct *(*bpf_get_current_task_btf)(void) = (void *)158;
static long (*bpf_task_pt_regs)(struct task_struct *task) = (void *)175;
static long (*bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)181;

/* Reads field of the kernel object at address base (a scalar), with its
 * offset relocated for the running kernel. */
#define KREAD(dst, base, type, field)                                                  \
	bpf_probe_read_kernel(&(dst), sizeof(dst),                                      \
			      (const void *)((__u64)(base) +                            \
					     __builtin_preserve_field_info(((type *)0)->field, 0)))
#define KOFFSET(type, field) __builtin_preserve_field_info(((type *)0)->field, 0)

#endif
