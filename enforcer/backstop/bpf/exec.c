// SPDX-License-Identifier: GPL-2.0
//
// The exec backstop: runs at sched_process_exec, when an exec has
// succeeded and before the new program runs its first instruction, and
// reports (and in deny mode kills) every exec of a file on a filesystem
// that no exec-permission fanotify mark holds. Those are the execs
// gatehoused never decided: a filesystem mounted where the daemon cannot
// see it (a user's tmpfs inside unshare -Urm, a FUSE mount root may not
// enter), one mounted within the last rescan, and anonymous files
// (memfd_create + fexecve).
//
// "Held by a mark" is read from the kernel, not from a list the daemon
// keeps: a filesystem mark for FAN_OPEN_EXEC_PERM sets that bit in the
// superblock's s_fsnotify_mask, and only root (CAP_SYS_ADMIN in the initial
// user namespace) can set a filesystem mark. A device number would not do:
// the number of an unmounted filesystem is given to the next one.
//
// Regenerate with `go generate ./enforcer/backstop/` after any change here
// (Debian: apt-get install clang llvm libbpf-dev). The compiled object and
// its Go loader are committed, so building and CI need no clang.

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

// Only the fields read, relocated against the running kernel's BTF (CO-RE).
struct super_block {
	__u32 s_dev;
	__u32 s_fsnotify_mask;
	unsigned long s_magic;
} __attribute__((preserve_access_index));
struct inode {
	struct super_block *i_sb;
	unsigned long i_ino;
} __attribute__((preserve_access_index));
struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));
struct linux_binprm {
	struct file *file;
	const char *filename;
} __attribute__((preserve_access_index));

#define FS_OPEN_EXEC_PERM 0x00040000
#define SIGKILL 9
#define WAKE_AT 64 // reports waiting before the reader is woken

enum mode { MODE_OFF = 0, MODE_AUDIT = 1, MODE_DENY = 2 };
enum count { COUNT_SEEN, COUNT_UNDECIDED, COUNT_KILLED, COUNT_LOST, COUNT_MAX };

// What the daemon sets; one entry.
struct config {
	__u32 mode;
	__u32 self;         // the daemon's tgid: never killed
	__u64 scope_cgroup; // 0, or a cgroup v2 id: only tasks in it or below
	__u32 scope_level;  // the depth of scope_cgroup
	__u32 pad;
};

struct report {
	__u32 pid;
	__u32 tgid;
	__u32 uid;
	__u32 dev; // the kernel's dev_t: major << 20 | minor
	__u64 ino;
	__u64 magic; // the filesystem's type (statfs f_type)
	__u32 killed;
	__u32 pad;
	char comm[16];
	char filename[256]; // as passed to execve: may be relative, or /dev/fd/N
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} reports SEC(".maps");

// Keeps struct report in the BTF, so bpf2go generates its Go twin.
const struct report *unused_report __attribute__((unused));

static __always_inline void count(__u32 k)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &k);
	if (v)
		(*v)++;
}

SEC("raw_tp/sched_process_exec")
int on_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	struct config *c = bpf_map_lookup_elem(&config, &zero);
	if (!c || c->mode == MODE_OFF)
		return 0;
	if (c->scope_cgroup && bpf_get_current_ancestor_cgroup_id(c->scope_level) != c->scope_cgroup)
		return 0;
	count(COUNT_SEEN);

	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct super_block *sb = BPF_CORE_READ(bprm, file, f_inode, i_sb);
	if (BPF_CORE_READ(sb, s_fsnotify_mask) & FS_OPEN_EXEC_PERM)
		return 0; // held by a mark: decided
	count(COUNT_UNDECIDED);

	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 killed = 0;
	// Never init, never the daemon: a kill there would take the machine
	// or the enforcer down. Both run from marked filesystems anyway.
	if (c->mode == MODE_DENY && tgid != 1 && tgid != c->self) {
		if (bpf_send_signal(SIGKILL) == 0) {
			killed = 1;
			count(COUNT_KILLED);
		}
	}

	struct report *r = bpf_ringbuf_reserve(&reports, sizeof(*r), 0);
	if (!r) {
		count(COUNT_LOST);
		return 0;
	}
	r->pid = (__u32)bpf_get_current_pid_tgid();
	r->tgid = tgid;
	r->uid = (__u32)bpf_get_current_uid_gid();
	r->dev = BPF_CORE_READ(sb, s_dev);
	r->ino = BPF_CORE_READ(bprm, file, f_inode, i_ino);
	r->magic = BPF_CORE_READ(sb, s_magic);
	r->killed = killed;
	r->pad = 0;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	bpf_probe_read_kernel_str(r->filename, sizeof(r->filename), BPF_CORE_READ(bprm, filename));
	// Waking the reader costs about 15 us of this exec's time; so the
	// reader polls every 100 ms, and is woken only when reports pile up.
	__u64 flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&reports, BPF_RB_AVAIL_DATA) >= WAKE_AT * sizeof(*r))
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(r, flags);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
