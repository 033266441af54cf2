/*
 * Which processes a collector traces: -p pids, the -c command, a --cgroup, or
 * everything but snag. Shared by the BPF collectors; each sets these rodata
 * values (and fills targets) before load.
 */
#ifndef SNAG_TARGET_FILTER_H
#define SNAG_TARGET_FILTER_H

const volatile __u32 filter_tgid = 0;	   /* one target process (-p PID, -c) */
const volatile bool filter_by_map = false; /* several targets, in the targets map */
/* snag itself: its own work (reading /proc, writing the report) is not what the user asked about.
 */
const volatile __u32 self_tgid = 0;
/* --cgroup: only tasks in this cgroup v2 (kernfs id) or below it, at this depth. */
const volatile __u64 cgroup_id = 0;
const volatile __u32 cgroup_level = 0;
/* -c: the target is snag's own fork until it execs the command; trace it from the exec on. */
const volatile bool wait_exec = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* Is t in the --cgroup cgroup or a descendant? Its ancestor at that depth must be it. */
static __always_inline bool in_cgroup(struct task_struct *t)
{
	struct cgroup *cgrp = BPF_CORE_READ(t, cgroups, dfl_cgrp), *anc = NULL;

	if (!cgrp || BPF_CORE_READ(cgrp, level) < (int)cgroup_level)
		return false;
	bpf_core_read(&anc, sizeof(anc), &cgrp->ancestors[cgroup_level]);
	return anc && BPF_CORE_READ(anc, kn, id) == cgroup_id;
}

enum target_match {
	TARGET_NO = 0,
	TARGET_YES = 1,
	TARGET_AFTER_EXEC = 2, /* the -c command: wanted once it has exec'd (the caller knows) */
	TARGET_ANY = 3,	       /* no pid filter: every process (the caller may exclude more) */
};

/* Whether task t of process tgid passes the user's filters. */
static __always_inline enum target_match target_match(struct task_struct *t, __u32 tgid)
{
	if (tgid == self_tgid)
		return TARGET_NO;
	if (cgroup_id && !in_cgroup(t))
		return TARGET_NO;
	if (filter_tgid) {
		if (tgid != filter_tgid)
			return TARGET_NO;
		return wait_exec ? TARGET_AFTER_EXEC : TARGET_YES;
	}
	if (filter_by_map)
		return bpf_map_lookup_elem(&targets, &tgid) ? TARGET_YES : TARGET_NO;
	return TARGET_ANY;
}

#endif /* SNAG_TARGET_FILTER_H */
