/* uprobe_multi BPF links through bpf(2): one link, one detach, for many uprobes (kernel 6.6+). */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "uprobe_multi.h"

/*
 * Why not perf-event uprobes (libbpf's bpf_program__attach_uprobe_opts)? Each
 * one is detached on its own and every detach waits for an RCU grace period:
 * about 100 ms each here, so 50 functions took 10 s to detach. A uprobe_multi
 * link detaches all of its uprobes after a single wait.
 */

#define SNAG_BPF_F_UPROBE_MULTI_RETURN 1u

/* The BPF_LINK_CREATE part of union bpf_attr for uprobe_multi (UAPI layout since 6.6). */
struct link_create_uprobe_multi {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t multi_flags;
	uint32_t pid;
	uint32_t pad;
};

static int link_create(int prog_fd, uint32_t attach_type, const char *path, int pid,
		       const uint64_t *offsets, const uint64_t *cookies, size_t cnt, uint32_t flags)
{
	/* The kernel reads a bpf_attr of the size given; zero the rest of a full-size union. */
	union {
		struct link_create_uprobe_multi lc;
		union bpf_attr attr;
		char bytes[256];
	} u;
	int fd;

	memset(&u, 0, sizeof(u));
	u.lc.prog_fd = (uint32_t)prog_fd;
	u.lc.attach_type = attach_type;
	u.lc.path = (uint64_t)(uintptr_t)path;
	u.lc.offsets = (uint64_t)(uintptr_t)offsets;
	u.lc.cookies = (uint64_t)(uintptr_t)cookies;
	u.lc.cnt = (uint32_t)cnt;
	u.lc.multi_flags = flags;
	u.lc.pid = pid > 0 ? (uint32_t)pid : 0;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &u, sizeof(u.lc));
	return fd < 0 ? -errno : fd;
}

int uprobe_multi__attach(int prog_fd, const char *path, int pid, const uint64_t *offsets,
			 const uint64_t *cookies, size_t cnt, bool ret)
{
	return link_create(prog_fd, SNAG_BPF_TRACE_UPROBE_MULTI, path, pid, offsets, cookies, cnt,
			   ret ? SNAG_BPF_F_UPROBE_MULTI_RETURN : 0);
}

int uprobe_multi__attach_session(int prog_fd, const char *path, int pid, const uint64_t *offsets,
				 const uint64_t *cookies, size_t cnt)
{
	return link_create(prog_fd, SNAG_BPF_TRACE_UPROBE_SESSION, path, pid, offsets, cookies, cnt,
			   0);
}

/* Can a program of attach_type be loaded and linked? "/" is a directory, not a file to probe: a
 * kernel that knows the link type says EBADF. */
static bool probe_link_type(uint32_t attach_type)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	uint64_t offset = 0, cookie = 0;
	int prog_fd, link_fd;

	opts.expected_attach_type = (enum bpf_attach_type)attach_type;
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "snag_probe", "GPL", insns, 2, &opts);
	if (prog_fd < 0)
		return false;
	link_fd = link_create(prog_fd, attach_type, "/", -1, &offset, &cookie, 1, 0);
	if (link_fd >= 0)
		close(link_fd);
	close(prog_fd);
	return link_fd == -EBADF;
}

bool uprobe_multi__supported(void)
{
	static int supported = -1;

	if (supported < 0)
		supported = probe_link_type(SNAG_BPF_TRACE_UPROBE_MULTI);
	return supported;
}

bool uprobe_multi__session_supported(void)
{
	static int supported = -1;

	if (supported < 0)
		supported = probe_link_type(SNAG_BPF_TRACE_UPROBE_SESSION);
	return supported;
}
