/* uprobe_multi BPF links through bpf(2): one link, one detach, for many uprobes (kernel 6.6+). */
#ifndef SNAG_UPROBE_MULTI_H
#define SNAG_UPROBE_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* enum bpf_attach_type values; Debian's libbpf 1.1 headers predate them. */
#define SNAG_BPF_TRACE_UPROBE_MULTI   48
#define SNAG_BPF_TRACE_UPROBE_SESSION 57 /* kernel 6.13+ */

/*
 * Whether the kernel can create uprobe_multi links (probed once, by loading a
 * trivial program and creating a link that must fail with EBADF).
 */
bool uprobe_multi__supported(void);

/*
 * Attach prog_fd (loaded with expected_attach_type SNAG_BPF_TRACE_UPROBE_MULTI)
 * at cnt file offsets of path, with one BPF cookie each, as return probes if
 * ret. pid > 0 limits the probes to that process, -1 probes every process.
 * Returns the link fd (close it to detach) or -errno.
 */
int uprobe_multi__attach(int prog_fd, const char *path, int pid, const uint64_t *offsets,
			 const uint64_t *cookies, size_t cnt, bool ret);

/*
 * Whether the kernel has session uprobes (6.13+): one program for a call's
 * entry and return, the return running only when the entry returned 0.
 */
bool uprobe_multi__session_supported(void);

/*
 * Attach prog_fd (loaded with expected_attach_type SNAG_BPF_TRACE_UPROBE_SESSION)
 * as a session uprobe at cnt file offsets of path, with one BPF cookie each;
 * pid as for uprobe_multi__attach(). Returns the link fd or -errno.
 */
int uprobe_multi__attach_session(int prog_fd, const char *path, int pid, const uint64_t *offsets,
				 const uint64_t *cookies, size_t cnt);

#endif
