/* Integration tests: the prototype in-kernel stack walk (bpf/unwind.bpf.c), under the real
 * verifier, walking this process's own live stack against glibc's backtrace(). */
#include <errno.h>
#include <execinfo.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fixtures/unwind/chain.h"
#include "itest.h"
#include "unwind.h"
#include "unwind.skel.h"
#include "unwind_store.h"

#define BT_MAX 64
#define RUNS   201 /* walks timed per test: the median is reported */

/* What the hook saw and what the BPF walk found, at the bottom of the chain. */
struct capture {
	struct unwind_bpf *skel;
	void *bt[BT_MAX];
	int n_bt;
	int run_err;
	struct snag_unwind_walk walk;
	uint64_t ns[RUNS];
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Run the walk in the kernel from chain_c's (or the handler's) registers, while its frames are
 * still live below this hook. */
static void bpf_walk_hook(void *arg, uint64_t pc, uint64_t rsp, uint64_t rbp)
{
	struct capture *c = arg;
	__u64 args[3] = {pc, rsp, rbp};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));
	int fd = bpf_program__fd(c->skel->progs.unwind_test_walk);

	c->n_bt = backtrace(c->bt, BT_MAX);
	for (int i = 0; i < RUNS && !c->run_err; i++) {
		c->run_err = bpf_prog_test_run_opts(fd, &opts);
		c->ns[i] = c->skel->bss->walk_ns;
		if (i == 0)
			c->walk = c->skel->bss->walk_result;
	}
}

/* Load the walker with the tables of this process, as a loader would for a traced process. */
static struct unwind_bpf *load(struct unwind_store *s)
{
	struct snag_unwind_proc *proc = calloc(1, sizeof(*proc));
	struct unwind_bpf *skel;
	__u32 *keys, tgid = getpid(), count;
	LIBBPF_OPTS(bpf_map_batch_opts, batch);
	int err;

	assert_non_null(proc);
	unwind_store__init(s, SNAG_UNWIND_MAX_TAB_ROWS);
	assert_int_equal(unwind_store__process(s, getpid(), proc), 0);
	skel = unwind_bpf__open();
	assert_non_null(skel);
	assert_int_equal(bpf_map__set_max_entries(skel->maps.unwind_rows, s->n_rows), 0);
	err = unwind_bpf__load(skel);
	if (err)
		fail_msg("cannot load bpf/unwind.bpf.c: %s (SNAG_DEBUG=1 shows the verifier log)",
			 strerror(-err));
	keys = malloc(s->n_rows * sizeof(*keys));
	assert_non_null(keys);
	for (size_t i = 0; i < s->n_rows; i++)
		keys[i] = (__u32)i;
	count = (__u32)s->n_rows;
	assert_int_equal(bpf_map_update_batch(bpf_map__fd(skel->maps.unwind_rows), keys, s->rows,
					      &count, &batch),
			 0);
	assert_int_equal(count, s->n_rows);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.unwind_procs), &tgid, proc, 0),
			 0);
	free(keys);
	free(proc);
	return skel;
}

/* The kernel's walk of the chain gives the frames backtrace() gives, to the end of the stack. */
static void check_bpf_walk(int in_signal)
{
	struct capture c = {0};
	struct unwind_store s;
	const struct snag_unwind_walk *w = &c.walk;
	int off;

	require_bpf();
	c.skel = load(&s);
	assert_int_equal(chain_a(bpf_walk_hook, &c, 1, in_signal), 38);
	assert_int_equal(c.run_err, 0);
	qsort(c.ns, RUNS, sizeof(c.ns[0]), cmp_u64);
	print_message("  BPF walk: %u frames, stop %s, median %lu ns (min %lu) over %d runs; "
		      "tables: %zu files, %zu rows\n",
		      w->n, unwind_table__stop_name(w->stop), (unsigned long)c.ns[RUNS / 2],
		      (unsigned long)c.ns[0], RUNS, s.n_files, s.n_rows);

	/* backtrace()'s first frames are the hook's: find chain_c's (or the handler's) caller's
	 * return address, frame 1 of the walk. */
	assert_true(w->n > 4);
	for (off = 1; off < c.n_bt && (uint64_t)(uintptr_t)c.bt[off] != w->pcs[1]; off++)
		;
	if (off == c.n_bt)
		fail_msg("the walk's frame 1 (%#lx) is not in backtrace()'s",
			 (unsigned long)w->pcs[1]);
	off--;
	assert_int_equal(w->stop, SNAG_UNWIND_STOP_END);
	assert_int_equal(w->n, c.n_bt - off);
	for (__u32 i = 1; i < w->n; i++)
		if (w->pcs[i] != (uint64_t)(uintptr_t)c.bt[i + off])
			fail_msg("frame %u: %#lx, backtrace() says %p", i, (unsigned long)w->pcs[i],
				 c.bt[i + off]);
	assert_int_equal(w->exact, in_signal ? 0x5 : 0x1);
	unwind_bpf__destroy(c.skel);
	unwind_store__free(&s);
}

static void test_bpf_walk(void **state)
{
	(void)state;
	check_bpf_walk(0);
}

/* Through glibc's signal trampoline and the interrupted frame. */
static void test_bpf_walk_signal(void **state)
{
	(void)state;
	assert_int_equal(chain_install_handler(), 0);
	check_bpf_walk(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bpf_walk),
	    cmocka_unit_test(test_bpf_walk_signal),
	};
	void *warm[4];

	/* backtrace() loads libgcc_s on its first call: before the tests, not inside one. */
	backtrace(warm, 4);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
