/* Compact x86-64 unwind tables (rows derived from CFI) and the one-frame step that walks them,
 * shared by the BPF programs and userspace (unit-tested on the host). See docs/unwinding.md. */
#ifndef SNAG_UNWIND_H
#define SNAG_UNWIND_H

#ifndef __bpf__
#include <linux/types.h>
#define SNAG_UNWIND_INLINE static inline
#else
#define SNAG_UNWIND_INLINE static __always_inline
#endif

/*
 * How a row finds the CFA (the canonical frame address: the caller's rsp, just
 * above the return address). Stored in the low 4 bits of snag_unwind_row.kinds.
 */
enum snag_unwind_cfa {
	SNAG_UNWIND_CFA_NONE = 0, /* no CFI covers these addresses (gap between functions) */
	SNAG_UNWIND_CFA_RSP = 1,  /* CFA = rsp + cfa_off */
	SNAG_UNWIND_CFA_RBP = 2,  /* CFA = rbp + cfa_off */
	/* A lazy-binding PLT stub (.plt): CFA = rsp + cfa_off + ((pc & 15) >= rbp_off ? 8 : 0);
	 * from offset rbp_off of its 16-byte entry on, the entry has pushed its relocation index.
	 */
	SNAG_UNWIND_CFA_PLT = 3,
	/* The signal trampoline (glibc's __restore_rt): rsp points at the ucontext, whose
	 * mcontext holds the interrupted rsp, rip and rbp (SNAG_UNWIND_SIGFRAME_*). */
	SNAG_UNWIND_CFA_SIGNAL = 4,
	SNAG_UNWIND_CFA_END = 5,	 /* the return address is undefined: outermost frame */
	SNAG_UNWIND_CFA_UNSUPPORTED = 6, /* CFI exists but has no compact form here */
	SNAG_UNWIND_CFA__COUNT,
};

/* Where the caller's rbp is. Stored in bits 4-5 of snag_unwind_row.kinds. */
enum snag_unwind_rbp {
	SNAG_UNWIND_RBP_SAME = 0,      /* unchanged by this frame */
	SNAG_UNWIND_RBP_OFFSET = 1,    /* saved at CFA + 8 * rbp_off */
	SNAG_UNWIND_RBP_UNDEFINED = 2, /* not recoverable (clobbered) */
	SNAG_UNWIND_RBP__COUNT,
};

#define SNAG_UNWIND_CFA_MASK  0x0f
#define SNAG_UNWIND_RBP_SHIFT 4
#define SNAG_UNWIND_RBP_MASK  0x03

/*
 * One row: the rules for every address from pc up to the next row's pc. A
 * table is sorted by pc, holds no two adjacent rows with the same rules, and
 * ends with a SNAG_UNWIND_CFA_NONE row at the end of the last covered range.
 * pc is the file's link-time virtual address (ELF p_vaddr space); a mapping's
 * bias (load address minus link address) turns a runtime address into it.
 * 8 bytes: a BPF array map rounds its values up to 8 bytes, so nothing is
 * wasted with one row per element.
 */
struct snag_unwind_row {
	__u32 pc;
	__u16 cfa_off; /* RSP, RBP, PLT: the CFA's offset from its register, in bytes */
	__u8 kinds;    /* enum snag_unwind_cfa | enum snag_unwind_rbp << SNAG_UNWIND_RBP_SHIFT */
	__s8 rbp_off;  /* RBP_OFFSET: the saved rbp is at CFA + 8 * rbp_off; PLT: the threshold */
};

/* One file's rows inside a shared array of rows (in BPF, the rows map). */
struct snag_unwind_tab {
	__u32 first; /* index of the file's first row */
	__u32 count; /* its number of rows, at most SNAG_UNWIND_MAX_TAB_ROWS */
};

/* A binary search halves at most this many times: a file has at most 2^24 rows. */
#define SNAG_UNWIND_SEARCH_STEPS 24
#define SNAG_UNWIND_MAX_TAB_ROWS (1u << SNAG_UNWIND_SEARCH_STEPS)

/* Executable mappings kept per process (a power of two: the search masks its index). */
#define SNAG_UNWIND_MAP_BITS 8
#define SNAG_UNWIND_MAX_MAPS (1u << SNAG_UNWIND_MAP_BITS)
/* Frames a walk records at most. */
#define SNAG_UNWIND_MAX_FRAMES 32

/* One executable mapping of a process and the table of its file. */
struct snag_unwind_mapping {
	__u64 start;		    /* first address */
	__u64 end;		    /* one past the last */
	__u64 bias;		    /* runtime address minus the file's link-time address */
	struct snag_unwind_tab tab; /* count 0: the file has no table (no CFI, over the cap) */
};

/* A process's executable mappings, sorted by start (the value of the per-process map). */
struct snag_unwind_proc {
	__u32 n;
	__u32 pad;
	struct snag_unwind_mapping maps[SNAG_UNWIND_MAX_MAPS];
};

/*
 * The signal frame the kernel builds (arch/x86/kernel/signal_64.c): when the
 * handler returns into the trampoline, rsp points at the ucontext_t, whose
 * uc_mcontext (at 40) holds the interrupted registers in the order of
 * struct sigcontext. glibc's __restore_rt CFI says the same.
 */
#define SNAG_UNWIND_SIGFRAME_RBP 120
#define SNAG_UNWIND_SIGFRAME_RSP 160
#define SNAG_UNWIND_SIGFRAME_RIP 168

/* The registers of one frame. */
struct snag_unwind_regs {
	__u64 pc;
	__u64 rsp;
	__u64 rbp;
	__u32 flags; /* SNAG_UNWIND_F_* */
	__u32 pad;
};

/* pc is where the frame stopped (the first frame, or one a signal interrupted), not a return
 * address: look it up as is, not at pc - 1. */
#define SNAG_UNWIND_F_PC_EXACT 0x1
/* rbp holds no value the frame had (CFI said undefined); a rule that needs it stops the walk. */
#define SNAG_UNWIND_F_RBP_UNKNOWN 0x2

/* The result of one step, and why a walk ended. */
enum snag_unwind_stop {
	SNAG_UNWIND_STEPPED = 0,	  /* the registers now hold the caller's frame */
	SNAG_UNWIND_STOP_END = 1,	  /* the outermost frame (_start, thread start): complete */
	SNAG_UNWIND_STOP_NO_CFI = 2,	  /* no row covers pc (a gap, or before the first row) */
	SNAG_UNWIND_STOP_UNSUPPORTED = 3, /* the row's CFI has no compact form */
	SNAG_UNWIND_STOP_NO_RBP = 4,	  /* the CFA is rbp-based but rbp was not recovered */
	SNAG_UNWIND_STOP_READ = 5,	  /* reading the stack failed */
	SNAG_UNWIND_STOP_BAD_RA = 6,	  /* return address 0, or a caller's rsp not above ours */
	/* Stops the step itself never returns, for walkers to count in the same enum: */
	SNAG_UNWIND_STOP_NO_MAPPING = 7, /* pc in no executable mapping with a table */
	SNAG_UNWIND_STOP_DEPTH = 8,	 /* the walker's frame limit */
	SNAG_UNWIND_STOP__COUNT,
};

/*
 * How the step reads rows and stack memory. BPF: rows are an array map of one
 * row per element (the verifier inlines its lookups), memory is the current
 * task's, through bpf_probe_read_user() (include <bpf/bpf_helpers.h> first).
 * Host: rows are a plain array, memory is read through a callback. An includer
 * may define SNAG_UNWIND_ROW and SNAG_UNWIND_READ itself, with the types.
 */
#ifndef SNAG_UNWIND_ROW
#ifdef __bpf__
typedef void *snag_unwind_rows_t;
typedef void *snag_unwind_mem_t;

SNAG_UNWIND_INLINE const struct snag_unwind_row *snag_unwind_row_at(void *rows, __u32 i)
{
	return bpf_map_lookup_elem(rows, &i);
}
#define SNAG_UNWIND_ROW(rows, i) snag_unwind_row_at((rows), (i))
#define SNAG_UNWIND_READ(mem, addr, dst)                                                           \
	bpf_probe_read_user((dst), sizeof(__u64), (const void *)(unsigned long)(addr))
#else
typedef const struct snag_unwind_row *snag_unwind_rows_t;

/* Reads the 8 bytes at addr into *out; returns 0, or non-zero when addr cannot be read. */
typedef int (*snag_unwind_read_fn)(void *ctx, __u64 addr, __u64 *out);

struct snag_unwind_mem {
	snag_unwind_read_fn read;
	void *ctx;
};
typedef const struct snag_unwind_mem *snag_unwind_mem_t;

#define SNAG_UNWIND_ROW(rows, i)	 (&(rows)[(i)])
#define SNAG_UNWIND_READ(mem, addr, dst) ((mem)->read((mem)->ctx, (addr), (dst)))
#endif
#endif

SNAG_UNWIND_INLINE __u32 snag_unwind_row_cfa(const struct snag_unwind_row *row)
{
	return row->kinds & SNAG_UNWIND_CFA_MASK;
}

SNAG_UNWIND_INLINE __u32 snag_unwind_row_rbp(const struct snag_unwind_row *row)
{
	return (row->kinds >> SNAG_UNWIND_RBP_SHIFT) & SNAG_UNWIND_RBP_MASK;
}

/*
 * Hide x from the optimizer: arithmetic on it stays arithmetic. Were it known
 * to be 0 or 1, the compiler would turn "base += half & -x" back into a
 * branch, and the verifier does not prune the paths of a branch per probe: on
 * 6.18 either search alone then exceeded its 1,000,000 instructions.
 */
#define SNAG_UNWIND_OPAQUE(x) __asm__ volatile("" : "+r"(x))

/*
 * The row of tab covering vaddr: the last one whose pc <= vaddr, found by a
 * branch-free binary search of at most SNAG_UNWIND_SEARCH_STEPS halvings.
 * NULL when vaddr is below the first row, the table is empty or larger than
 * SNAG_UNWIND_MAX_TAB_ROWS, or a row cannot be read.
 */
SNAG_UNWIND_INLINE const struct snag_unwind_row *
snag_unwind_find(snag_unwind_rows_t rows, const struct snag_unwind_tab *tab, __u32 vaddr)
{
	const struct snag_unwind_row *row;
	__u32 first = tab->first, base = 0, n = tab->count, half;
	__u64 take;
	int i;

	if (n == 0 || n > SNAG_UNWIND_MAX_TAB_ROWS)
		return (const struct snag_unwind_row *)0;
	/* Invariant: the row sought, if any, is in [base, base + n). */
	for (i = 0; i < SNAG_UNWIND_SEARCH_STEPS && n > 1; i++) {
		half = n / 2;
		row = SNAG_UNWIND_ROW(rows, first + base + half);
		if (!row)
			return (const struct snag_unwind_row *)0;
		/* 1 when row->pc <= vaddr: both are below 2^32, the difference's sign says it. */
		take = ((__u64)row->pc - (__u64)vaddr - 1) >> 63;
		SNAG_UNWIND_OPAQUE(take);
		base += half & (__u32)-take;
		n -= half;
	}
	row = SNAG_UNWIND_ROW(rows, first + base);
	if (!row || row->pc > vaddr)
		return (const struct snag_unwind_row *)0;
	return row;
}

/*
 * Apply row, the row covering r->pc, to r: on SNAG_UNWIND_STEPPED r holds the
 * caller's pc, rsp and rbp (flags updated), else r is unchanged and the result
 * says why the walk stops there.
 */
SNAG_UNWIND_INLINE int snag_unwind_apply(const struct snag_unwind_row *row,
					 struct snag_unwind_regs *r, snag_unwind_mem_t mem)
{
	__u32 cfa_kind = snag_unwind_row_cfa(row), rbp_kind = snag_unwind_row_rbp(row);
	__u64 cfa, ra, rbp = r->rbp, sp;
	__u32 flags = r->flags & ~SNAG_UNWIND_F_PC_EXACT;

	switch (cfa_kind) {
	case SNAG_UNWIND_CFA_RSP:
		cfa = r->rsp + row->cfa_off;
		break;
	case SNAG_UNWIND_CFA_RBP:
		if (r->flags & SNAG_UNWIND_F_RBP_UNKNOWN)
			return SNAG_UNWIND_STOP_NO_RBP;
		cfa = r->rbp + row->cfa_off;
		break;
	case SNAG_UNWIND_CFA_PLT:
		cfa = r->rsp + row->cfa_off + ((r->pc & 15) >= (__u64)row->rbp_off ? 8 : 0);
		break;
	case SNAG_UNWIND_CFA_SIGNAL:
		/* The interrupted frame: exact registers, its pc was not a call. */
		if (SNAG_UNWIND_READ(mem, r->rsp + SNAG_UNWIND_SIGFRAME_RSP, &sp) ||
		    SNAG_UNWIND_READ(mem, r->rsp + SNAG_UNWIND_SIGFRAME_RIP, &ra) ||
		    SNAG_UNWIND_READ(mem, r->rsp + SNAG_UNWIND_SIGFRAME_RBP, &rbp))
			return SNAG_UNWIND_STOP_READ;
		if (!ra)
			return SNAG_UNWIND_STOP_BAD_RA;
		r->pc = ra;
		r->rsp = sp;
		r->rbp = rbp;
		r->flags = (flags & ~SNAG_UNWIND_F_RBP_UNKNOWN) | SNAG_UNWIND_F_PC_EXACT;
		return SNAG_UNWIND_STEPPED;
	case SNAG_UNWIND_CFA_END:
		return SNAG_UNWIND_STOP_END;
	case SNAG_UNWIND_CFA_UNSUPPORTED:
		return SNAG_UNWIND_STOP_UNSUPPORTED;
	default:
		return SNAG_UNWIND_STOP_NO_CFI;
	}
	if (cfa <= r->rsp)
		return SNAG_UNWIND_STOP_BAD_RA;
	if (SNAG_UNWIND_READ(mem, cfa - 8, &ra))
		return SNAG_UNWIND_STOP_READ;
	if (rbp_kind == SNAG_UNWIND_RBP_OFFSET) {
		if (SNAG_UNWIND_READ(mem, cfa + (__s64)row->rbp_off * 8, &rbp))
			return SNAG_UNWIND_STOP_READ;
		flags &= ~SNAG_UNWIND_F_RBP_UNKNOWN;
	} else if (rbp_kind == SNAG_UNWIND_RBP_UNDEFINED) {
		flags |= SNAG_UNWIND_F_RBP_UNKNOWN;
	}
	if (!ra)
		return SNAG_UNWIND_STOP_BAD_RA;
	r->pc = ra;
	r->rsp = cfa;
	r->rbp = rbp;
	r->flags = flags;
	return SNAG_UNWIND_STEPPED;
}

/*
 * One frame up: find the row of tab covering r->pc in a mapping whose bias is
 * bias (runtime address minus link-time address) and apply it. A return
 * address is looked up at pc - 1, inside the call: a call can be a function's
 * last instruction. Returns enum snag_unwind_stop; r changes only on
 * SNAG_UNWIND_STEPPED.
 */
SNAG_UNWIND_INLINE int snag_unwind_step(snag_unwind_rows_t rows, const struct snag_unwind_tab *tab,
					__u64 bias, struct snag_unwind_regs *r,
					snag_unwind_mem_t mem)
{
	__u64 back = (r->flags & SNAG_UNWIND_F_PC_EXACT) ? 0 : 1;
	const struct snag_unwind_row *row;
	__u64 vaddr;

	/* Below the mapping's link address it wraps around, far above 4 GiB. */
	vaddr = r->pc - bias - back;
	if (vaddr > 0xffffffffULL)
		return SNAG_UNWIND_STOP_NO_CFI;
	row = snag_unwind_find(rows, tab, (__u32)vaddr);
	if (!row)
		return SNAG_UNWIND_STOP_NO_CFI;
	return snag_unwind_apply(row, r, mem);
}

/*
 * One frame up by frame pointer, for code without CFI (JIT code, assembly):
 * the caller's rbp is at rbp, the return address above it. Returns
 * SNAG_UNWIND_STEPPED, SNAG_UNWIND_STOP_NO_RBP, _READ or _BAD_RA (rbp below
 * rsp, or a return address of 0).
 */
SNAG_UNWIND_INLINE int snag_unwind_step_fp(struct snag_unwind_regs *r, snag_unwind_mem_t mem)
{
	__u64 rbp, ra;

	if (r->flags & SNAG_UNWIND_F_RBP_UNKNOWN)
		return SNAG_UNWIND_STOP_NO_RBP;
	if (r->rbp < r->rsp)
		return SNAG_UNWIND_STOP_BAD_RA;
	if (SNAG_UNWIND_READ(mem, r->rbp, &rbp) || SNAG_UNWIND_READ(mem, r->rbp + 8, &ra))
		return SNAG_UNWIND_STOP_READ;
	if (!ra)
		return SNAG_UNWIND_STOP_BAD_RA;
	r->pc = ra;
	r->rsp = r->rbp + 16;
	r->rbp = rbp;
	r->flags &= ~SNAG_UNWIND_F_PC_EXACT;
	return SNAG_UNWIND_STEPPED;
}

/*
 * The mapping of p holding pc, by a branch-free binary search of at most
 * SNAG_UNWIND_MAP_BITS halvings, or NULL. Addresses are user addresses, below
 * 2^63.
 */
SNAG_UNWIND_INLINE const struct snag_unwind_mapping *
snag_unwind_find_mapping(const struct snag_unwind_proc *p, __u64 pc)
{
	const struct snag_unwind_mapping *m;
	__u32 base = 0, n = p->n, half;
	__u64 take;
	int i;

	if (n > SNAG_UNWIND_MAX_MAPS)
		n = SNAG_UNWIND_MAX_MAPS;
	if (n == 0)
		return (const struct snag_unwind_mapping *)0;
	for (i = 0; i < SNAG_UNWIND_MAP_BITS && n > 1; i++) {
		half = n / 2;
		/* 1 when start <= pc. The mask lets the verifier see the index in bounds. */
		take = (p->maps[(base + half) & (SNAG_UNWIND_MAX_MAPS - 1)].start - pc - 1) >> 63;
		SNAG_UNWIND_OPAQUE(take);
		base += half & (__u32)-take;
		n -= half;
	}
	m = &p->maps[base & (SNAG_UNWIND_MAX_MAPS - 1)];
	return m->start <= pc && pc < m->end ? m : (const struct snag_unwind_mapping *)0;
}

/* Walk flags. */
#define SNAG_UNWIND_WALK_FP 0x1 /* where no table covers pc, step by frame pointer */

/* One walk: the current frame's registers, the frames so far and why it ended. */
struct snag_unwind_walk {
	struct snag_unwind_regs regs;
	__u64 pcs[SNAG_UNWIND_MAX_FRAMES]; /* innermost first */
	__u32 n;			   /* frames in pcs */
	__u32 stop; /* enum snag_unwind_stop; SNAG_UNWIND_STOP_DEPTH until it ends */
	/* Bit i set: pcs[i] is exact, not a return address (frame 0, and a frame a signal
	 * interrupted): name it as is, not at pc - 1. */
	__u32 exact;
	__u32 fp_steps; /* frames stepped by frame pointer */
	__u32 flags;	/* SNAG_UNWIND_WALK_* */
	__u32 pad;
};

/* Start a walk from a frame's registers (its pc exact). */
SNAG_UNWIND_INLINE void snag_unwind_walk_init(struct snag_unwind_walk *w, __u64 pc, __u64 rsp,
					      __u64 rbp, __u32 flags)
{
	w->regs.pc = pc;
	w->regs.rsp = rsp;
	w->regs.rbp = rbp;
	w->regs.flags = SNAG_UNWIND_F_PC_EXACT;
	w->regs.pad = 0;
	w->n = 0;
	w->stop = SNAG_UNWIND_STOP_DEPTH;
	w->exact = 0;
	w->fp_steps = 0;
	w->flags = flags;
	w->pad = 0;
}

/*
 * One frame of a walk of process p: record the current pc, then step to the
 * caller. A pc in no mapping of p is not recorded (it is no frame: a bad
 * return address, or code snag has no mapping of). Returns 0 to go on, 1 when
 * the walk is over with w->stop set: the callback convention of bpf_loop(),
 * which runs it at most SNAG_UNWIND_MAX_FRAMES times.
 */
SNAG_UNWIND_INLINE int snag_unwind_walk_frame(struct snag_unwind_walk *w, snag_unwind_rows_t rows,
					      const struct snag_unwind_proc *p,
					      snag_unwind_mem_t mem)
{
	const struct snag_unwind_mapping *m;
	struct snag_unwind_tab tab;
	__u32 n = w->n;
	int stop;

	if (n >= SNAG_UNWIND_MAX_FRAMES) {
		w->stop = SNAG_UNWIND_STOP_DEPTH;
		return 1;
	}
	m = snag_unwind_find_mapping(p, w->regs.pc);
	if (!m) {
		w->stop = SNAG_UNWIND_STOP_NO_MAPPING;
		return 1;
	}
	w->pcs[n] = w->regs.pc;
	if (w->regs.flags & SNAG_UNWIND_F_PC_EXACT)
		w->exact |= 1u << n;
	w->n = n + 1;
	tab = m->tab;
	stop = tab.count ? snag_unwind_step(rows, &tab, m->bias, &w->regs, mem)
			 : SNAG_UNWIND_STOP_NO_CFI;
	if (stop == SNAG_UNWIND_STOP_NO_CFI && (w->flags & SNAG_UNWIND_WALK_FP)) {
		stop = snag_unwind_step_fp(&w->regs, mem);
		if (stop == SNAG_UNWIND_STEPPED)
			w->fp_steps++;
	}
	if (stop != SNAG_UNWIND_STEPPED) {
		w->stop = stop;
		return 1;
	}
	return 0;
}

#endif /* SNAG_UNWIND_H */
