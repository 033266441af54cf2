/* Checks before loading BPF: privileges, kernel BTF, file-descriptor limit. */
#ifndef SNAG_PREFLIGHT_H
#define SNAG_PREFLIGHT_H

/*
 * Check for root or CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN) in the effective
 * set. Returns 0, or -EPERM with snag_set_error() naming the fix.
 */
int preflight__privileges(void);

/*
 * Check that kernel BTF is readable: btf_path if given (--btf), else
 * /sys/kernel/btf/vmlinux. Returns 0, or -ENOENT with snag_set_error().
 */
int preflight__btf(const char *btf_path);

/* Raise the soft RLIMIT_NOFILE to the hard limit: each probe holds a perf event fd. */
void preflight__raise_nofile(void);

#endif
