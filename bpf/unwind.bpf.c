/* Prototype of the in-kernel stack walk from unwind tables (docs/unwinding.md): the maps the
 * tables are loaded into, and a program run by BPF_PROG_TEST_RUN that walks the caller's stack. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "unwind.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Every loaded file's rows, one row per element, file after file; the loader
 * sets max_entries (the table cap) before load. An array, so that the
 * verifier inlines the lookups of the binary search.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct snag_unwind_row);
} unwind_rows SEC(".maps");

/* Each process's executable mappings and their files' slices of unwind_rows, by tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct snag_unwind_proc);
} unwind_procs SEC(".maps");

/* Set by the loader: SNAG_UNWIND_WALK_* flags. */
const volatile __u32 walk_flags = 0;

/* The last walk, read by the test through the skeleton. */
struct snag_unwind_walk walk_result;
__u64 walk_ns; /* its time in the program */

struct walk_ctx {
	struct snag_unwind_walk *w;
	const struct snag_unwind_proc *proc;
};

static long walk_one_frame(__u64 i, void *data)
{
	struct walk_ctx *c = data;

	return snag_unwind_walk_frame(c->w, &unwind_rows, c->proc, NULL);
}

/*
 * Walk the calling thread's user stack from the registers in the test run's
 * context (args: pc, rsp, rbp) into walk_result. One frame per bpf_loop()
 * iteration: the verifier checks the frame's code once, not once per frame.
 */
SEC("raw_tp")
int unwind_test_walk(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct walk_ctx c = {.w = &walk_result};
	__u64 t0 = bpf_ktime_get_ns();

	snag_unwind_walk_init(&walk_result, ctx->args[0], ctx->args[1], ctx->args[2], walk_flags);
	c.proc = bpf_map_lookup_elem(&unwind_procs, &tgid);
	if (!c.proc) {
		walk_result.stop = SNAG_UNWIND_STOP_NO_MAPPING;
		return 0;
	}
	bpf_loop(SNAG_UNWIND_MAX_FRAMES, walk_one_frame, &c, 0);
	walk_ns = bpf_ktime_get_ns() - t0;
	return 0;
}
