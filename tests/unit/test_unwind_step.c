/* Unit tests for bpf/unwind.h's step on the host: each row kind on a made-up stack, then a real
 * chain of calls without frame pointers walked frame by frame against glibc's backtrace(). */
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
#include "elfsym.h"
#include "fixtures/unwind/chain.h"
#include "procmaps.h"
#include "testutil.h"
#include "unwind_store.h"
#include "unwind_table.h"

/* Made-up memory: a stack of words starting at base. */
struct fake_mem {
	uint64_t base;
	uint64_t words[64];
};

static int fake_read(void *ctx, __u64 addr, __u64 *out)
{
	struct fake_mem *m = ctx;

	if (addr < m->base || addr + 8 > m->base + sizeof(m->words) || (addr - m->base) % 8)
		return -1;
	*out = m->words[(addr - m->base) / 8];
	return 0;
}

#define KINDS(cfa, rbp) ((__u8)((cfa) | (rbp) << SNAG_UNWIND_RBP_SHIFT))
#define BIAS		0x555500000000ULL
#define STACK		0x7ffd0000ULL

/* One row of each kind, at link-time addresses 0x1000 on. */
static const struct snag_unwind_row rows[] = {
    {0x1000, 8, KINDS(SNAG_UNWIND_CFA_RSP, SNAG_UNWIND_RBP_SAME), 0},
    {0x1010, 24, KINDS(SNAG_UNWIND_CFA_RSP, SNAG_UNWIND_RBP_OFFSET), -3},
    {0x1020, 16, KINDS(SNAG_UNWIND_CFA_RBP, SNAG_UNWIND_RBP_OFFSET), -2},
    {0x1030, 8, KINDS(SNAG_UNWIND_CFA_PLT, SNAG_UNWIND_RBP_SAME), 11},
    {0x1040, 0, KINDS(SNAG_UNWIND_CFA_SIGNAL, SNAG_UNWIND_RBP_SAME), 0},
    {0x1050, 0, KINDS(SNAG_UNWIND_CFA_END, SNAG_UNWIND_RBP_SAME), 0},
    {0x1060, 0, KINDS(SNAG_UNWIND_CFA_UNSUPPORTED, SNAG_UNWIND_RBP_SAME), 0},
    {0x1070, 8, KINDS(SNAG_UNWIND_CFA_RSP, SNAG_UNWIND_RBP_UNDEFINED), 0},
    {0x1080, 0, KINDS(SNAG_UNWIND_CFA_NONE, SNAG_UNWIND_RBP_SAME), 0},
};
static const struct snag_unwind_tab tab = {0, sizeof(rows) / sizeof(rows[0])};

static struct fake_mem mem_words;
static const struct snag_unwind_mem mem = {fake_read, &mem_words};

static int step(struct snag_unwind_regs *r)
{
	return snag_unwind_step(rows, &tab, BIAS, r, &mem);
}

static struct snag_unwind_regs exact(uint64_t vaddr, uint64_t rsp, uint64_t rbp)
{
	return (struct snag_unwind_regs){BIAS + vaddr, rsp, rbp, SNAG_UNWIND_F_PC_EXACT, 0};
}

static void set_word(uint64_t addr, uint64_t v)
{
	mem_words.words[(addr - mem_words.base) / 8] = v;
}

static int setup(void **state)
{
	(void)state;
	memset(&mem_words, 0, sizeof(mem_words));
	mem_words.base = STACK;
	return 0;
}

/* The binary search agrees with a linear scan, on every table size up to 300. */
static void test_find(void **state)
{
	struct snag_unwind_row t[300];
	unsigned seed = 14;

	(void)state;
	for (__u32 n = 0; n <= 300; n++) {
		struct snag_unwind_tab tb = {0, n};
		__u32 pc = 100;

		for (__u32 i = 0; i < n; i++) {
			pc += 1 + rand_r(&seed) % 7;
			t[i] = (struct snag_unwind_row){.pc = pc};
		}
		for (__u32 q = 0; q < pc + 10; q += 1 + rand_r(&seed) % 3) {
			const struct snag_unwind_row *want = NULL;

			for (__u32 i = 0; i < n && t[i].pc <= q; i++)
				want = &t[i];
			assert_ptr_equal(snag_unwind_find(t, &tb, q), want);
		}
	}
	/* A slice of a shared array: rows before first are not this file's. */
	{
		struct snag_unwind_tab tb = {2, 3};

		for (__u32 i = 0; i < 6; i++)
			t[i].pc = 10 * (i + 1);
		assert_null(snag_unwind_find(t, &tb, 25));
		assert_ptr_equal(snag_unwind_find(t, &tb, 30), &t[2]);
		assert_ptr_equal(snag_unwind_find(t, &tb, 59), &t[4]);
		assert_ptr_equal(snag_unwind_find(t, &tb, 99), &t[4]);
	}
}

/* CFA = rsp + 8: a leaf, or a function before its prologue. rbp is the frame's own. */
static void test_step_rsp(void **state)
{
	struct snag_unwind_regs r = exact(0x1005, STACK, 0x1234);

	(void)state;
	set_word(STACK, BIAS + 0x2222);
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_int_equal(r.pc, BIAS + 0x2222);
	assert_int_equal(r.rsp, STACK + 8);
	assert_int_equal(r.rbp, 0x1234);
	assert_int_equal(r.flags, 0); /* a return address now */
}

/* After push rbx; push rbp: CFA = rsp + 24, rbp saved at CFA - 24. */
static void test_step_pushes(void **state)
{
	struct snag_unwind_regs r = exact(0x1010, STACK, 0x1234);

	(void)state;
	set_word(STACK, 0xabcd);	     /* saved rbp */
	set_word(STACK + 16, BIAS + 0x3333); /* return address */
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_int_equal(r.pc, BIAS + 0x3333);
	assert_int_equal(r.rsp, STACK + 24);
	assert_int_equal(r.rbp, 0xabcd);
}

/* An rbp frame: CFA = rbp + 16, the saved rbp at rbp. */
static void test_step_rbp_frame(void **state)
{
	struct snag_unwind_regs r = exact(0x1024, STACK, STACK + 32);

	(void)state;
	set_word(STACK + 32, 0xfeed);
	set_word(STACK + 40, BIAS + 0x4444);
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_int_equal(r.pc, BIAS + 0x4444);
	assert_int_equal(r.rsp, STACK + 48);
	assert_int_equal(r.rbp, 0xfeed);

	/* An rbp the CFI said was clobbered cannot find the CFA. */
	r = exact(0x1024, STACK, STACK + 32);
	r.flags |= SNAG_UNWIND_F_RBP_UNKNOWN;
	assert_int_equal(step(&r), SNAG_UNWIND_STOP_NO_RBP);
	/* Nor can an rbp below the stack pointer: the caller would be below its callee. */
	r = exact(0x1024, STACK + 64, STACK);
	assert_int_equal(step(&r), SNAG_UNWIND_STOP_BAD_RA);
	assert_int_equal(r.pc, BIAS + 0x1024); /* unchanged */
}

/* A PLT entry: rsp + 8 before its push of the relocation index (offset 11 in the entry), rsp + 16
 * after. */
static void test_step_plt(void **state)
{
	struct snag_unwind_regs r = exact(0x1030, STACK, 0);

	(void)state;
	set_word(STACK, BIAS + 0x5555);
	set_word(STACK + 8, BIAS + 0x6666);
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_int_equal(r.pc, BIAS + 0x5555);
	assert_int_equal(r.rsp, STACK + 8);
	r = exact(0x1030 + 10, STACK, 0);
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_int_equal(r.rsp, STACK + 8);
	r = exact(0x1030 + 11, STACK, 0);
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_int_equal(r.pc, BIAS + 0x6666);
	assert_int_equal(r.rsp, STACK + 16);
}

/* The signal trampoline: the interrupted registers come from the ucontext at rsp, and the
 * interrupted pc is exact (it made no call). */
static void test_step_signal(void **state)
{
	struct snag_unwind_regs r = {BIAS + 0x1041, STACK, 0, SNAG_UNWIND_F_RBP_UNKNOWN, 0};

	(void)state;
	set_word(STACK + SNAG_UNWIND_SIGFRAME_RBP, 0x7777);
	set_word(STACK + SNAG_UNWIND_SIGFRAME_RSP, STACK + 0x1000);
	set_word(STACK + SNAG_UNWIND_SIGFRAME_RIP, BIAS + 0x8888);
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_int_equal(r.pc, BIAS + 0x8888);
	assert_int_equal(r.rsp, STACK + 0x1000);
	assert_int_equal(r.rbp, 0x7777);
	assert_int_equal(r.flags, SNAG_UNWIND_F_PC_EXACT);
}

/* The stops, each leaving the registers as they were. */
static void test_stops(void **state)
{
	struct snag_unwind_regs r, before;

	(void)state;
	set_word(STACK, BIAS + 0x2222);
#define STOPS(vaddr, fl, want)                                                                     \
	do {                                                                                       \
		r = exact(vaddr, STACK, 0x99);                                                     \
		r.flags = (fl);                                                                    \
		before = r;                                                                        \
		assert_int_equal(step(&r), want);                                                  \
		assert_memory_equal(&r, &before, sizeof(r));                                       \
	} while (0)
	STOPS(0x1050, SNAG_UNWIND_F_PC_EXACT, SNAG_UNWIND_STOP_END);
	STOPS(0x1065, SNAG_UNWIND_F_PC_EXACT, SNAG_UNWIND_STOP_UNSUPPORTED);
	STOPS(0x1080, SNAG_UNWIND_F_PC_EXACT, SNAG_UNWIND_STOP_NO_CFI); /* after the end */
	STOPS(0x0fff, SNAG_UNWIND_F_PC_EXACT, SNAG_UNWIND_STOP_NO_CFI); /* before the first */
	STOPS(0x200000000ULL, SNAG_UNWIND_F_PC_EXACT, SNAG_UNWIND_STOP_NO_CFI); /* above 4 GiB */
	STOPS(-BIAS, SNAG_UNWIND_F_PC_EXACT, SNAG_UNWIND_STOP_NO_CFI);		/* pc 0 */
	/* A return address at a row's first byte belongs to the row before (the call's). */
	STOPS(0x1051, 0, SNAG_UNWIND_STOP_END);
	STOPS(0x1050, SNAG_UNWIND_F_PC_EXACT, SNAG_UNWIND_STOP_END);
	r = exact(0x1050, STACK, 0);
	r.flags = 0; /* looked up at 0x104f: the signal row */
	set_word(STACK + SNAG_UNWIND_SIGFRAME_RIP, BIAS + 0x8888);
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_int_equal(r.pc, BIAS + 0x8888);

	/* Memory that cannot be read, and a return address of 0. */
	r = exact(0x1005, STACK - 0x1000, 0);
	assert_int_equal(step(&r), SNAG_UNWIND_STOP_READ);
	r = exact(0x1005, STACK + 8, 0);
	assert_int_equal(step(&r), SNAG_UNWIND_STOP_BAD_RA);
	r = exact(0x1041, STACK + 8 * 60, 0);
	assert_int_equal(step(&r), SNAG_UNWIND_STOP_READ);
}

/* rbp the CFI calls undefined stays unknown until a frame that saved it restores it. */
static void test_rbp_unknown(void **state)
{
	struct snag_unwind_regs r = exact(0x1070, STACK, 0x1234);

	(void)state;
	set_word(STACK, BIAS + 0x1024 + 1); /* returns into the rbp frame */
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_true(r.flags & SNAG_UNWIND_F_RBP_UNKNOWN);
	assert_int_equal(step(&r), SNAG_UNWIND_STOP_NO_RBP);

	r = exact(0x1070, STACK, 0x1234);
	set_word(STACK, BIAS + 0x1010 + 1); /* returns into a frame that saved rbp */
	set_word(STACK + 8, 0x5678);	    /* its saved rbp, at its CFA - 24 */
	set_word(STACK + 24, BIAS + 0x1005);
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_int_equal(step(&r), SNAG_UNWIND_STEPPED);
	assert_false(r.flags & SNAG_UNWIND_F_RBP_UNKNOWN);
	assert_int_equal(r.rbp, 0x5678);
}

/* The frame-pointer step, for code without CFI. */
static void test_step_fp(void **state)
{
	struct snag_unwind_regs r = exact(0x9000, STACK, STACK + 16);

	(void)state;
	set_word(STACK + 16, STACK + 48);
	set_word(STACK + 24, BIAS + 0x1234);
	assert_int_equal(snag_unwind_step_fp(&r, &mem), SNAG_UNWIND_STEPPED);
	assert_int_equal(r.pc, BIAS + 0x1234);
	assert_int_equal(r.rsp, STACK + 32);
	assert_int_equal(r.rbp, STACK + 48);
	assert_int_equal(r.flags, 0);
	r = exact(0x9000, STACK + 16, STACK); /* rbp below rsp */
	assert_int_equal(snag_unwind_step_fp(&r, &mem), SNAG_UNWIND_STOP_BAD_RA);
	r = exact(0x9000, STACK, STACK + 8 * 70);
	assert_int_equal(snag_unwind_step_fp(&r, &mem), SNAG_UNWIND_STOP_READ);
	r.flags |= SNAG_UNWIND_F_RBP_UNKNOWN;
	assert_int_equal(snag_unwind_step_fp(&r, &mem), SNAG_UNWIND_STOP_NO_RBP);
}

/* End to end ------------------------------------------------------------------ */

#define BT_MAX 64

/* What the hook saw at the bottom of the chain. */
struct capture {
	uint64_t pc, rsp, rbp;
	uint64_t stack_end; /* top of the main thread's stack */
	uint8_t *stack;	    /* a copy of [rsp, stack_end) */
	size_t len;
	void *bt[BT_MAX]; /* glibc's backtrace() from the hook */
	int n_bt;
};

static void capture_hook(void *arg, uint64_t pc, uint64_t rsp, uint64_t rbp)
{
	struct capture *c = arg;

	c->n_bt = backtrace(c->bt, BT_MAX);
	c->pc = pc;
	c->rsp = rsp;
	c->rbp = rbp;
	c->len = (c->stack_end - rsp) & ~(uint64_t)7;
	c->stack = malloc(c->len);
	if (c->stack)
		chain_copy_stack(c->stack, rsp, c->len);
}

static int copy_read(void *ctx, __u64 addr, __u64 *out)
{
	const struct capture *c = ctx;

	if (addr < c->rsp || addr + 8 > c->rsp + c->len)
		return -1;
	memcpy(out, c->stack + (addr - c->rsp), 8);
	return 0;
}

static uint64_t main_stack_end(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long start, end = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &start, &end) == 2)
			break;
	fclose(f);
	assert_true(end != 0);
	return end;
}

/* Function names in this process's files, for the checks and the printout. */
struct namer {
	struct procmaps maps;
	const char *paths[32];
	struct elfsym_tab *syms[32];
	size_t n;
};

/* The function holding pc (pc - 1 unless exact: a return address), or "?". */
static const char *namer__name(struct namer *nm, uint64_t pc, bool is_exact)
{
	uint64_t at = pc - (is_exact ? 0 : 1), addr;

	for (size_t i = 0; i < nm->maps.n; i++) {
		const struct procmap *m = &nm->maps.maps[i];
		const struct elfsym *sym;
		size_t k;

		if (at < m->start || at >= m->end)
			continue;
		for (k = 0; k < nm->n && strcmp(nm->paths[k], m->path); k++)
			;
		if (k == nm->n) {
			if (k == 32)
				return "?";
			nm->paths[k] = m->path;
			nm->syms[k] = elfsym__load(m->path, NULL);
			nm->n++;
		}
		if (!nm->syms[k] ||
		    elfsym__offset_to_addr(nm->syms[k], at - m->start + m->offset, &addr))
			return "?";
		sym = elfsym__lookup(nm->syms[k], addr);
		return sym ? sym->name : "?";
	}
	return "?";
}

static void namer__free(struct namer *nm)
{
	for (size_t i = 0; i < nm->n; i++)
		elfsym__free(nm->syms[i]);
	procmaps__free(&nm->maps);
}

/* Walk c's copy of the stack with the shared walker and the tables of this process's mappings,
 * put in one row array as the BPF maps hold them (user/unwind_store.c). */
static void walk(const struct capture *c, struct snag_unwind_walk *w, struct unwind_store *s)
{
	struct snag_unwind_proc *proc = calloc(1, sizeof(*proc));
	struct snag_unwind_mem m = {copy_read, (void *)c};

	assert_non_null(proc);
	unwind_store__init(s, SNAG_UNWIND_MAX_TAB_ROWS);
	assert_int_equal(unwind_store__process(s, getpid(), proc), 0);
	assert_true(proc->n > 3);
	for (__u32 i = 1; i < proc->n; i++)
		assert_true(proc->maps[i - 1].end <= proc->maps[i].start);
	snag_unwind_walk_init(w, c->pc, c->rsp, c->rbp, 0);
	for (int i = 0; i < SNAG_UNWIND_MAX_FRAMES; i++)
		if (snag_unwind_walk_frame(w, s->rows, proc, &m))
			break;
	free(proc);
}

#define EXACT(w, i) (((w)->exact >> (i)) & 1)

/*
 * Run the chain (in a signal handler with in_signal), walk the stack it saw,
 * and hold every frame against glibc's backtrace() taken at the same place
 * (libgcc's CFI unwinder): the same return addresses, frame by frame, to the
 * end of the stack. noipa: the frame above chain_a is this function's, by name.
 */
__attribute__((noipa)) static void check_chain(int in_signal)
{
	struct capture c = {.stack_end = main_stack_end()};
	struct namer nm = {0};
	struct unwind_store s;
	struct snag_unwind_walk w;
	int n, off, first_chain = -1, main_at = -1;

	assert_int_equal(procmaps__load_pid(getpid(), &nm.maps), 0);
	assert_int_equal(chain_a(capture_hook, &c, 1, in_signal), 38);
	assert_non_null(c.stack);
	walk(&c, &w, &s);
	n = (int)w.n;

	for (int i = 0; i < n; i++)
		print_message("  #%-2d %#14lx %s\n", i, (unsigned long)w.pcs[i],
			      namer__name(&nm, w.pcs[i], EXACT(&w, i)));
	print_message("  stop: %s; backtrace(): %d frames; tables: %zu files, %zu rows\n",
		      unwind_table__stop_name(w.stop), c.n_bt, s.n_files, s.n_rows);

	/* backtrace()'s first frames are the hook's (and under ASan its interceptor's): it meets
	 * the walk at the return address into frame 0's function. */
	for (off = 1; off < c.n_bt; off++)
		if (!strcmp(namer__name(&nm, (uint64_t)(uintptr_t)c.bt[off], false),
			    namer__name(&nm, w.pcs[0], true)))
			break;
	assert_true(off < c.n_bt);
	assert_string_equal(namer__name(&nm, w.pcs[0], true),
			    in_signal ? "chain_signal_handler" : "chain_c");
	/* The walk ends where the stack does, with the frames backtrace() found, to the last. */
	assert_int_equal(w.stop, SNAG_UNWIND_STOP_END);
	assert_int_equal(n, c.n_bt - off);
	for (int i = 1; i < n; i++)
		if (w.pcs[i] != (uint64_t)(uintptr_t)c.bt[i + off])
			fail_msg("frame %d: %#lx, backtrace() says %p", i, (unsigned long)w.pcs[i],
				 c.bt[i + off]);

	/* The chain, in order, then this function, ..., main and libc's start. */
	for (int i = 0; i < n && first_chain < 0; i++)
		if (!strcmp(namer__name(&nm, w.pcs[i], EXACT(&w, i)), "chain_c"))
			first_chain = i;
	assert_true(first_chain >= 0);
	assert_true(first_chain + 3 < n);
	assert_string_equal(namer__name(&nm, w.pcs[first_chain + 1], false), "chain_b");
	assert_string_equal(namer__name(&nm, w.pcs[first_chain + 2], false), "chain_a");
	assert_string_equal(namer__name(&nm, w.pcs[first_chain + 3], false), "check_chain");
	for (int i = 0; i < n; i++)
		if (!strcmp(namer__name(&nm, w.pcs[i], EXACT(&w, i)), "main"))
			main_at = i;
	assert_true(main_at > first_chain);
	assert_true(main_at + 1 < n);
	/* libc's local symbols come from its debug file (libc6-dbg), when installed. */
	if (strcmp(namer__name(&nm, w.pcs[main_at + 1], false), "?"))
		assert_string_equal(namer__name(&nm, w.pcs[main_at + 1], false),
				    "__libc_start_call_main");
	/* Frame 0 is exact; so is, after a signal, the interrupted frame below __restore_rt. */
	assert_int_equal(w.exact, in_signal ? 0x5 : 0x1);
	free(c.stack);
	unwind_store__free(&s);
	namer__free(&nm);
}

static void test_chain(void **state)
{
	(void)state;
	check_chain(0);
}

static void test_chain_signal(void **state)
{
	(void)state;
	assert_int_equal(chain_install_handler(), 0);
	check_chain(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_find, setup),
	    cmocka_unit_test_setup(test_step_rsp, setup),
	    cmocka_unit_test_setup(test_step_pushes, setup),
	    cmocka_unit_test_setup(test_step_rbp_frame, setup),
	    cmocka_unit_test_setup(test_step_plt, setup),
	    cmocka_unit_test_setup(test_step_signal, setup),
	    cmocka_unit_test_setup(test_stops, setup),
	    cmocka_unit_test_setup(test_rbp_unknown, setup),
	    cmocka_unit_test_setup(test_step_fp, setup),
	    cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_chain_signal),
	};
	void *warm[4];

	/* backtrace() loads libgcc_s on its first call: before the tests, not inside one. */
	backtrace(warm, 4);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
