/* Checks before loading BPF: privileges, kernel BTF, file-descriptor limit. */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/btf.h>
#include "errors.h"
#include "preflight.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

int preflight__privileges(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == 0) {
		if (has_cap(data, CAP_SYS_ADMIN) ||
		    (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON)))
			return 0;
	} else if (geteuid() == 0) {
		return 0;
	}
	snag_set_error("snag needs root, or the CAP_BPF and CAP_PERFMON capabilities, to load BPF "
		       "programs and attach probes: run it with sudo");
	return -EPERM;
}

int preflight__btf(const char *btf_path)
{
	const char *path = btf_path ? btf_path : "/sys/kernel/btf/vmlinux";
	struct btf *btf;
	int err;

	if (access(path, R_OK)) {
		err = -errno;
		if (btf_path)
			snag_set_error("cannot read BTF file '%s': %s (give a readable vmlinux BTF "
				       "file to --btf)",
				       path, strerror(-err));
		else
			snag_set_error("this kernel has no BTF (%s: %s): use a kernel built with "
				       "CONFIG_DEBUG_INFO_BTF=y, or pass --btf FILE",
				       path, strerror(-err));
		return -ENOENT;
	}
	if (btf_path) {
		btf = btf__parse(path, NULL);
		if (!btf) {
			snag_set_error("'%s' is not a BTF file: give a vmlinux BTF file (e.g. from "
				       "/sys/kernel/btf/vmlinux of a matching kernel) to --btf",
				       path);
			return -ENOENT;
		}
		btf__free(btf);
	}
	return 0;
}

void preflight__raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}
