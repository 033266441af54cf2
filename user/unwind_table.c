/* Compact unwind tables from an ELF file's CFI (.eh_frame, .debug_frame), read with libdw. */
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <elfutils/libdw.h>
#include "procmaps.h"
#include "unwind_table.h"

/*
 * libdw answers "what are the rules at address A, and from where to where do
 * they hold" (dwarf_cfi_addrframe, dwarf_frame_info), but not "where does
 * each FDE start". dwarf_next_cfi() walks the CIEs and FDEs; the FDE's first
 * bytes, its address range, are pointers in the encoding its CIE's 'R'
 * augmentation names (DW_EH_PE_*, LSB "Exception Frames"). Decoding those two
 * pointers is the only CFI this file reads itself: every rule comes from libdw.
 */
#define EH_PE_ABSPTR  0x00
#define EH_PE_ULEB128 0x01
#define EH_PE_UDATA2  0x02
#define EH_PE_UDATA4  0x03
#define EH_PE_UDATA8  0x04
#define EH_PE_SLEB128 0x09
#define EH_PE_SDATA2  0x0a
#define EH_PE_SDATA4  0x0b
#define EH_PE_SDATA8  0x0c
#define EH_PE_PCREL   0x10
#define EH_PE_OMIT    0xff
#define EH_PE_UNKNOWN 0xfe /* snag's mark: a CIE whose augmentation it cannot read */

/* DWARF register numbers of x86-64 (System V psABI, figure 3.36). */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RIP 16

/* The rules of one address range, as libdw reported them. */
struct interval {
	uint64_t start;
	uint64_t end;
	struct snag_unwind_row rule; /* pc unused */
};

struct intervals {
	struct interval *v;
	size_t n;
	size_t cap;
};

/* A CIE's offset in its section and the encoding of its FDEs' address fields. */
struct cie_enc {
	Dwarf_Off off;
	uint8_t enc;
};

/* One CFI section: where it is and what libdw made of it. */
struct cfi_source {
	Dwarf_CFI *cfi;
	Elf_Data *data;
	uint64_t vaddr; /* sh_addr, the base of pc-relative pointers */
	bool eh;	/* .eh_frame (else .debug_frame) */
};

struct builder {
	const unsigned char *ident;
	struct unwind_load *exec; /* executable PT_LOAD segments: FDEs outside them are skipped */
	size_t n_exec;
	struct unwind_stats *stats;
};

static int intervals__push(struct intervals *iv, uint64_t start, uint64_t end,
			   const struct snag_unwind_row *rule)
{
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? 2 * iv->cap : 1024;
		struct interval *v = realloc(iv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n++] = (struct interval){start, end, *rule};
	return 0;
}

static int cmp_interval(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Pointer decoding ------------------------------------------------------------ */

static int read_leb(const uint8_t **p, const uint8_t *end, bool sign, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t byte;

	do {
		if (*p >= end || shift >= 64)
			return -EINVAL;
		byte = *(*p)++;
		v |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while (byte & 0x80);
	if (sign && shift < 64 && (byte & 0x40))
		v |= ~(uint64_t)0 << shift;
	*out = v;
	return 0;
}

/* Read one pointer of encoding enc at *p (whose address is vaddr), advancing *p. Only absolute
 * and pc-relative pointers: x86-64 toolchains write no others in CFI. */
static int read_encoded(const uint8_t **p, const uint8_t *end, uint8_t enc, uint64_t vaddr,
			uint64_t *out)
{
	const uint8_t *q = *p;
	uint64_t v;
	size_t len;

	switch (enc & 0x0f) {
	case EH_PE_ABSPTR:
	case EH_PE_UDATA8:
	case EH_PE_SDATA8:
		len = 8;
		break;
	case EH_PE_UDATA4:
	case EH_PE_SDATA4:
		len = 4;
		break;
	case EH_PE_UDATA2:
	case EH_PE_SDATA2:
		len = 2;
		break;
	case EH_PE_ULEB128:
	case EH_PE_SLEB128:
		if (read_leb(&q, end, (enc & 0x0f) == EH_PE_SLEB128, &v))
			return -EINVAL;
		len = 0;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (len) {
		uint64_t u = 0;

		if ((size_t)(end - q) < len)
			return -EINVAL;
		for (size_t i = 0; i < len; i++) /* ELF64 little-endian (x86-64 only) */
			u |= (uint64_t)q[i] << (8 * i);
		if ((enc & 0x0f) == EH_PE_SDATA4)
			u = (uint64_t)(int64_t)(int32_t)u;
		else if ((enc & 0x0f) == EH_PE_SDATA2)
			u = (uint64_t)(int64_t)(int16_t)u;
		v = u;
		q += len;
	}
	switch (enc & 0x70) {
	case 0:
		break;
	case EH_PE_PCREL:
		v += vaddr;
		break;
	default:
		return -EOPNOTSUPP;
	}
	*p = q;
	*out = v;
	return 0;
}

/* The encoding of the address fields of a CIE's FDEs: its 'R' augmentation, else absolute. */
static uint8_t cie_fde_encoding(const Dwarf_CIE *cie)
{
	const uint8_t *d = cie->augmentation_data;
	const uint8_t *end = d ? d + cie->augmentation_data_size : NULL;
	const char *aug = cie->augmentation;
	uint64_t skip;

	if (!aug || !aug[0])
		return EH_PE_ABSPTR;
	if (aug[0] != 'z' || !d)
		return EH_PE_UNKNOWN;
	for (const char *c = aug + 1; *c; c++) {
		switch (*c) {
		case 'R':
			return d < end ? *d : EH_PE_UNKNOWN;
		case 'L':
			d++;
			break;
		case 'P':
			/* The personality routine: an encoding byte, then a pointer in it. */
			if (d >= end)
				return EH_PE_UNKNOWN;
			{
				uint8_t penc = *d++;

				if (read_encoded(&d, end, penc & 0x7f, 0, &skip))
					return EH_PE_UNKNOWN;
			}
			break;
		case 'S': /* signal frame: no data */
		case 'B': /* AArch64 pointer authentication key B: no data */
			break;
		default:
			return EH_PE_UNKNOWN;
		}
	}
	return EH_PE_ABSPTR;
}

/* Rules ---------------------------------------------------------------------- */

/* Is op DW_OP_bregN/DW_OP_bregx? Fills the register and the signed offset. */
static bool op_breg(const Dwarf_Op *op, unsigned *reg, int64_t *off)
{
	if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		*reg = op->atom - DW_OP_breg0;
		*off = (int64_t)op->number;
		return true;
	}
	if (op->atom == DW_OP_bregx) {
		*reg = (unsigned)op->number;
		*off = (int64_t)op->number2;
		return true;
	}
	return false;
}

/* A register saved at CFA + off (libdw: DW_OP_call_frame_cfa [DW_OP_plus_uconst off]). */
static bool ops_cfa_offset(const Dwarf_Op *ops, size_t n, int64_t *off)
{
	if (n < 1 || n > 2 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (n == 1) {
		*off = 0;
		return true;
	}
	if (ops[1].atom != DW_OP_plus_uconst)
		return false;
	*off = (int64_t)ops[1].number; /* libdw stores a negative DW_CFA_offset wrapped */
	return true;
}

/* A register whose location is the expression "DW_OP_breg7 off" (rsp + off), as in signal
 * frames; libdw puts the CFA below the expression, as DWARF evaluates it. */
static bool ops_rsp_location(const Dwarf_Op *ops, size_t n, int64_t want)
{
	unsigned reg;
	int64_t off;

	if (n == 2 && ops[0].atom == DW_OP_call_frame_cfa) {
		ops++;
		n--;
	}
	return n == 1 && op_breg(&ops[0], &reg, &off) && reg == REG_RSP && off == want;
}

/*
 * The lazy-binding PLT's CFA, which binutils writes for .plt:
 * DW_OP_breg7 base; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_litT;
 * DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus = rsp + base + ((rip & 15) >= T) * 8.
 */
static bool ops_plt(const Dwarf_Op *ops, size_t n, int64_t *base, unsigned *threshold)
{
	unsigned reg;
	int64_t off;

	if (n != 9 || !op_breg(&ops[0], &reg, base) || reg != REG_RSP ||
	    !op_breg(&ops[1], &reg, &off) || reg != REG_RIP || off != 0)
		return false;
	if (ops[2].atom != DW_OP_lit15 || ops[3].atom != DW_OP_and || ops[4].atom < DW_OP_lit0 ||
	    ops[4].atom > DW_OP_lit15 || ops[5].atom != DW_OP_ge || ops[6].atom != DW_OP_lit3 ||
	    ops[7].atom != DW_OP_shl || ops[8].atom != DW_OP_plus)
		return false;
	*threshold = ops[4].atom - DW_OP_lit0;
	return true;
}

static struct snag_unwind_row rule_of(unsigned cfa, unsigned rbp, unsigned cfa_off, int rbp_off)
{
	return (struct snag_unwind_row){
	    .cfa_off = (__u16)cfa_off,
	    .kinds = (__u8)(cfa | rbp << SNAG_UNWIND_RBP_SHIFT),
	    .rbp_off = (__s8)rbp_off,
	};
}

/* A signal frame: every register the step reads must be where the kernel puts it. */
static int classify_signal(Dwarf_Frame *fr, struct snag_unwind_row *rule)
{
	static const struct {
		int reg;
		int64_t off;
	} want[] = {
	    {REG_RIP, SNAG_UNWIND_SIGFRAME_RIP},
	    {REG_RSP, SNAG_UNWIND_SIGFRAME_RSP},
	    {REG_RBP, SNAG_UNWIND_SIGFRAME_RBP},
	};
	Dwarf_Op mem[3], *ops;
	size_t n;
	unsigned reg;
	int64_t off;

	if (dwarf_frame_cfa(fr, &ops, &n))
		return UNWIND_UNSUP_LIBDW;
	if (n != 2 || !op_breg(&ops[0], &reg, &off) || reg != REG_RSP ||
	    off != SNAG_UNWIND_SIGFRAME_RSP || ops[1].atom != DW_OP_deref)
		return UNWIND_UNSUP_SIGNAL;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (dwarf_frame_register(fr, want[i].reg, mem, &ops, &n))
			return UNWIND_UNSUP_LIBDW;
		if (!ops || !ops_rsp_location(ops, n, want[i].off))
			return UNWIND_UNSUP_SIGNAL;
	}
	*rule = rule_of(SNAG_UNWIND_CFA_SIGNAL, SNAG_UNWIND_RBP_SAME, 0, 0);
	return UNWIND_UNSUP__COUNT;
}

/*
 * Turn libdw's rules for one row into a compact rule. Returns
 * UNWIND_UNSUP__COUNT when they have one, else why not (rule is then left for
 * the caller to mark unsupported).
 */
static int classify(Dwarf_Frame *fr, bool signal, struct snag_unwind_row *rule)
{
	Dwarf_Op mem[3], *ops;
	size_t n;
	unsigned reg, cfa_kind, rbp_kind, threshold = 0;
	int64_t off, cfa_off;
	int rbp_off = 0;

	if (signal)
		return classify_signal(fr, rule);

	/* The return address: undefined in the outermost frame, else at CFA - 8. */
	if (dwarf_frame_register(fr, REG_RIP, mem, &ops, &n))
		return UNWIND_UNSUP_LIBDW;
	if (n == 0 && ops) {
		*rule = rule_of(SNAG_UNWIND_CFA_END, SNAG_UNWIND_RBP_SAME, 0, 0);
		return UNWIND_UNSUP__COUNT;
	}
	if (!ops || !ops_cfa_offset(ops, n, &off) || off != -8)
		return UNWIND_UNSUP_RA;

	/* The caller's rsp is the CFA (libdw's x86-64 default: val_offset(0)). */
	if (dwarf_frame_register(fr, REG_RSP, mem, &ops, &n))
		return UNWIND_UNSUP_LIBDW;
	if (!ops || n != 2 || ops[0].atom != DW_OP_call_frame_cfa ||
	    ops[1].atom != DW_OP_stack_value)
		return UNWIND_UNSUP_RSP;

	if (dwarf_frame_cfa(fr, &ops, &n))
		return UNWIND_UNSUP_LIBDW;
	if (n == 1 && op_breg(&ops[0], &reg, &cfa_off)) {
		if (reg == REG_RSP)
			cfa_kind = SNAG_UNWIND_CFA_RSP;
		else if (reg == REG_RBP)
			cfa_kind = SNAG_UNWIND_CFA_RBP;
		else
			return UNWIND_UNSUP_CFA_REG;
	} else if (ops_plt(ops, n, &cfa_off, &threshold)) {
		cfa_kind = SNAG_UNWIND_CFA_PLT;
		rbp_off = (int)threshold;
	} else {
		return n ? UNWIND_UNSUP_CFA_EXPR : UNWIND_UNSUP_LIBDW;
	}
	if (cfa_off < 0 || cfa_off > 0xffff)
		return UNWIND_UNSUP_CFA_RANGE;

	if (dwarf_frame_register(fr, REG_RBP, mem, &ops, &n))
		return UNWIND_UNSUP_LIBDW;
	if (n == 0) {
		rbp_kind = ops ? SNAG_UNWIND_RBP_UNDEFINED : SNAG_UNWIND_RBP_SAME;
	} else if (ops_cfa_offset(ops, n, &off) && off % 8 == 0 && off / 8 >= -128 &&
		   off / 8 <= 127) {
		rbp_kind = SNAG_UNWIND_RBP_OFFSET;
		rbp_off = (int)(off / 8);
	} else {
		return UNWIND_UNSUP_RBP;
	}
	/* The PLT rule keeps its threshold where rbp's offset would be. */
	if (cfa_kind == SNAG_UNWIND_CFA_PLT && rbp_kind != SNAG_UNWIND_RBP_SAME)
		return UNWIND_UNSUP_RBP;
	*rule = rule_of(cfa_kind, rbp_kind, (unsigned)cfa_off, rbp_off);
	return UNWIND_UNSUP__COUNT;
}

/* Building -------------------------------------------------------------------- */

static bool in_exec(const struct builder *b, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < b->n_exec; i++)
		if (start >= b->exec[i].vaddr && end <= b->exec[i].vaddr + b->exec[i].filesz)
			return true;
	return false;
}

/*
 * Append to out the rows libdw reports for [start, end), one interval per
 * row, minus the parts that cover (sorted, non-overlapping) already holds.
 */
static int add_rows(struct builder *b, Dwarf_CFI *cfi, uint64_t start, uint64_t end,
		    const struct intervals *cover, bool debug, struct intervals *out)
{
	uint64_t a = start;
	size_t ci = 0, pushed;
	int err = 0;

	while (a < end) {
		struct snag_unwind_row rule;
		Dwarf_Frame *fr;
		Dwarf_Addr s, e;
		bool signal;
		int why;

		if (dwarf_cfi_addrframe(cfi, a, &fr))
			break; /* the FDE has no row here (libdw's view): leave it uncovered */
		/* Only e is used: after DW_CFA_restore_state libdw's s is the remembered row's. */
		if (dwarf_frame_info(fr, &s, &e, &signal) < 0 || e <= a) {
			free(fr);
			break;
		}
		why = classify(fr, signal, &rule);
		free(fr);
		if (e > end)
			e = end;
		if (why != UNWIND_UNSUP__COUNT)
			rule = rule_of(SNAG_UNWIND_CFA_UNSUPPORTED, SNAG_UNWIND_RBP_SAME, 0, 0);
		/* Only the parts of [a, e) that cover leaves free. */
		pushed = out->n;
		while (cover && ci < cover->n && cover->v[ci].end <= a)
			ci++;
		for (uint64_t p = a; p < e;) {
			if (!cover || ci == cover->n || cover->v[ci].start >= e) {
				err = intervals__push(out, p, e, &rule);
				break;
			}
			if (cover->v[ci].start > p) {
				err = intervals__push(out, p, cover->v[ci].start, &rule);
				if (err)
					break;
			}
			p = cover->v[ci].end > p ? cover->v[ci].end : p;
			if (cover->v[ci].end <= e)
				ci++;
			else
				break;
		}
		if (err)
			return err;
		/* A row counts where it is used. */
		if (out->n > pushed) {
			b->stats->cfi_rows++;
			b->stats->debug_frame_rows += debug;
			if (why != UNWIND_UNSUP__COUNT) {
				b->stats->unsupported_cfi_rows++;
				b->stats->unsupported_by[why]++;
			}
		}
		a = e;
	}
	return 0;
}

static struct cie_enc *find_cie(struct cie_enc *cies, size_t n, Dwarf_Off off)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cies[mid].off == off)
			return &cies[mid];
		if (cies[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Every FDE of src: its range decoded, its rows from libdw appended to out (see add_rows()). */
static int add_source(struct builder *b, const struct cfi_source *src,
		      const struct intervals *cover, struct intervals *out)
{
	const uint8_t *base = src->data->d_buf;
	struct cie_enc *cies = NULL;
	size_t n_cies = 0, cap = 0;
	Dwarf_CFI_Entry entry;
	Dwarf_Off off, next;
	int err = 0, r;

	/* First the CIEs (they may follow the FDEs that use them), in offset order. */
	for (off = 0; (r = dwarf_next_cfi(b->ident, src->data, src->eh, off, &next, &entry)) == 0;
	     off = next) {
		if (!dwarf_cfi_cie_p(&entry))
			continue;
		if (n_cies == cap) {
			struct cie_enc *v;

			cap = cap ? 2 * cap : 16;
			v = realloc(cies, cap * sizeof(*v));
			if (!v) {
				err = -ENOMEM;
				goto cleanup;
			}
			cies = v;
		}
		cies[n_cies++] = (struct cie_enc){off, cie_fde_encoding(&entry.cie)};
	}
	for (off = 0; (r = dwarf_next_cfi(b->ident, src->data, src->eh, off, &next, &entry)) == 0;
	     off = next) {
		const uint8_t *p = entry.fde.start, *end = entry.fde.end;
		const struct cie_enc *cie;
		uint64_t start, len;

		if (dwarf_cfi_cie_p(&entry))
			continue;
		cie = find_cie(cies, n_cies, entry.fde.CIE_pointer);
		if (!cie || cie->enc == EH_PE_UNKNOWN || cie->enc == EH_PE_OMIT ||
		    read_encoded(&p, end, cie->enc, src->vaddr + (uint64_t)(p - base), &start) ||
		    read_encoded(&p, end, cie->enc & 0x0f, 0, &len)) {
			b->stats->fdes_skipped++;
			continue;
		}
		/* Zero-length FDEs, and FDEs of code the linker dropped (start 0), cover nothing.
		 */
		if (!len || !in_exec(b, start, start + len))
			continue;
		if (start + len > 0x100000000ULL) {
			b->stats->fdes_skipped++;
			continue;
		}
		b->stats->fdes++;
		err = add_rows(b, src->cfi, start, start + len, cover, !src->eh, out);
		if (err)
			goto cleanup;
	}
cleanup:
	free(cies);
	return err;
}

/* Sort iv and clip overlaps: an earlier-starting interval keeps what it covers. */
static void intervals__normalize(struct intervals *iv)
{
	size_t w = 0;
	uint64_t covered = 0;

	qsort(iv->v, iv->n, sizeof(*iv->v), cmp_interval);
	for (size_t i = 0; i < iv->n; i++) {
		struct interval x = iv->v[i];

		if (w && x.start < covered)
			x.start = covered;
		if (x.start >= x.end)
			continue;
		iv->v[w++] = x;
		covered = x.end;
	}
	iv->n = w;
}

static bool same_rule(const struct snag_unwind_row *a, const struct snag_unwind_row *b)
{
	return a->kinds == b->kinds && a->cfa_off == b->cfa_off && a->rbp_off == b->rbp_off;
}

static int table__emit(struct unwind_table *t, size_t *cap, uint64_t pc,
		       const struct snag_unwind_row *rule)
{
	if (t->n && same_rule(&t->rows[t->n - 1], rule))
		return 0;
	if (t->n && t->rows[t->n - 1].pc == pc) { /* an empty row: replace it */
		t->n--;
		if (t->n && same_rule(&t->rows[t->n - 1], rule))
			return 0;
	}
	if (t->n == *cap) {
		size_t c = *cap ? 2 * *cap : 1024;
		struct snag_unwind_row *v = realloc(t->rows, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->rows = v;
		*cap = c;
	}
	t->rows[t->n] = *rule;
	t->rows[t->n].pc = (__u32)pc;
	t->n++;
	return 0;
}

/* The table of iv (sorted, non-overlapping): a NONE row for each gap and after the end. */
static int table__fill(struct unwind_table *t, const struct intervals *iv)
{
	struct snag_unwind_row none = rule_of(SNAG_UNWIND_CFA_NONE, SNAG_UNWIND_RBP_SAME, 0, 0);
	uint64_t prev_end = 0;
	size_t cap = 0;
	int err;

	for (size_t i = 0; i < iv->n; i++) {
		if (i && iv->v[i].start > prev_end && (err = table__emit(t, &cap, prev_end, &none)))
			return err;
		if ((err = table__emit(t, &cap, iv->v[i].start, &iv->v[i].rule)))
			return err;
		prev_end = iv->v[i].end;
	}
	if (iv->n && (err = table__emit(t, &cap, prev_end, &none)))
		return err;
	if (t->n > SNAG_UNWIND_MAX_TAB_ROWS)
		return -E2BIG;
	for (size_t i = 0; i < t->n; i++)
		t->stats.rows_by_kind[snag_unwind_row_cfa(&t->rows[i])]++;
	return 0;
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *shdr)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr) || shdr->sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(elf, shstrndx, shdr->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

static int read_loads(Elf *elf, struct unwind_table *t, struct builder *b)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	t->loads = calloc(n ? n : 1, sizeof(*t->loads));
	b->exec = calloc(n ? n : 1, sizeof(*b->exec));
	if (!t->loads || !b->exec)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		t->loads[t->n_loads++] = (struct unwind_load){ph.p_offset, ph.p_vaddr, ph.p_filesz};
		if (ph.p_flags & PF_X)
			b->exec[b->n_exec++] =
			    (struct unwind_load){ph.p_offset, ph.p_vaddr, ph.p_memsz};
	}
	return 0;
}

static int build_elf(Elf *elf, struct unwind_table *out)
{
	struct intervals eh = {0}, dbg = {0};
	struct cfi_source src = {0};
	struct builder b = {0};
	Dwarf *dw = NULL;
	Dwarf_CFI *eh_cfi = NULL;
	GElf_Ehdr ehdr;
	GElf_Shdr shdr;
	Elf_Scn *scn;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	if (gelf_getclass(elf) != ELFCLASS64 || ehdr.e_machine != EM_X86_64) {
		err = -EOPNOTSUPP;
		goto cleanup;
	}
	b.ident = (const unsigned char *)elf_getident(elf, NULL);
	b.stats = &out->stats;
	err = read_loads(elf, out, &b);
	if (err)
		goto cleanup;

	/* .eh_frame first: it is what the program's own unwinder (C++, backtrace()) trusts. */
	scn = find_section(elf, ".eh_frame", &shdr);
	eh_cfi = scn ? dwarf_getcfi_elf(elf) : NULL;
	if (eh_cfi && (src.data = elf_getdata(scn, NULL))) {
		src.cfi = eh_cfi;
		src.vaddr = shdr.sh_addr;
		src.eh = true;
		err = add_source(&b, &src, NULL, &eh);
		if (err)
			goto cleanup;
		intervals__normalize(&eh);
	}
	/* Then .debug_frame where .eh_frame says nothing. libdw decompresses the section when it
	 * opens the DWARF, so read its data after dwarf_begin_elf(). */
	dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (dw && (src.cfi = dwarf_getcfi(dw)) &&
	    (scn = find_section(elf, ".debug_frame", &shdr)) &&
	    (src.data = elf_getdata(scn, NULL))) {
		src.vaddr = 0;
		src.eh = false;
		err = add_source(&b, &src, &eh, &dbg);
		if (err)
			goto cleanup;
	}
	if (!eh.n && !dbg.n) {
		err = -ENODATA;
		goto cleanup;
	}
	/* Both sets are disjoint: one sorted list. */
	if (dbg.n) {
		struct interval *v = realloc(eh.v, (eh.n + dbg.n) * sizeof(*v));

		if (!v) {
			err = -ENOMEM;
			goto cleanup;
		}
		memcpy(v + eh.n, dbg.v, dbg.n * sizeof(*v));
		eh.v = v;
		eh.n += dbg.n;
		eh.cap = eh.n;
		intervals__normalize(&eh);
	}
	err = table__fill(out, &eh);
cleanup:
	if (eh_cfi)
		dwarf_cfi_end(eh_cfi);
	if (dw)
		dwarf_end(dw);
	free(eh.v);
	free(dbg.v);
	free(b.exec);
	if (err)
		unwind_table__free(out);
	return err;
}

int unwind_table__build(const char *path, struct unwind_table *out)
{
	Elf *elf = NULL;
	int fd, err;

	memset(out, 0, sizeof(*out));
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = build_elf(elf, out);
cleanup:
	elf_end(elf);
	close(fd);
	return err;
}

int unwind_table__build_image(const void *image, size_t len, struct unwind_table *out)
{
	char *copy = malloc(len ? len : 1);
	Elf *elf = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, image, len);
	elf_version(EV_CURRENT);
	elf = elf_memory(copy, len);
	if (!elf) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = build_elf(elf, out);
cleanup:
	elf_end(elf);
	free(copy);
	return err;
}

int unwind_table__build_vdso(struct unwind_table *out)
{
	uintptr_t image = getauxval(AT_SYSINFO_EHDR);
	struct procmaps self = {0};
	int err;

	memset(out, 0, sizeof(*out));
	if (!image)
		return -ENOENT;
	err = procmaps__load_pid(getpid(), &self);
	if (err)
		return err;
	if (self.vdso_start != image || self.vdso_end <= self.vdso_start)
		err = -ENOENT;
	else
		err = unwind_table__build_image((const void *)image,
						self.vdso_end - self.vdso_start, out);
	procmaps__free(&self);
	return err;
}

void unwind_table__free(struct unwind_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->loads);
	memset(t, 0, sizeof(*t));
}

const struct snag_unwind_row *unwind_table__find(const struct unwind_table *t, uint64_t vaddr)
{
	struct snag_unwind_tab tab = {0, (__u32)t->n};

	if (vaddr > 0xffffffffULL || t->n > SNAG_UNWIND_MAX_TAB_ROWS)
		return NULL;
	return snag_unwind_find(t->rows, &tab, (__u32)vaddr);
}

int unwind_table__bias(const struct unwind_table *t, uint64_t start, uint64_t offset,
		       uint64_t *bias)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t mask = page > 0 ? ~((uint64_t)page - 1) : ~(uint64_t)0xfff;

	/* A mapping starts at its segment's offset rounded down to a page. */
	for (size_t i = 0; i < t->n_loads; i++) {
		const struct unwind_load *l = &t->loads[i];

		if (offset >= (l->offset & mask) && offset < l->offset + l->filesz) {
			*bias = start - offset + l->offset - l->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

size_t unwind_table__bytes(const struct unwind_table *t)
{
	return t->n * sizeof(*t->rows);
}

const char *unwind_table__cfa_name(unsigned kind)
{
	static const char *const names[] = {
	    [SNAG_UNWIND_CFA_NONE] = "none",
	    [SNAG_UNWIND_CFA_RSP] = "rsp",
	    [SNAG_UNWIND_CFA_RBP] = "rbp",
	    [SNAG_UNWIND_CFA_PLT] = "plt",
	    [SNAG_UNWIND_CFA_SIGNAL] = "signal",
	    [SNAG_UNWIND_CFA_END] = "end",
	    [SNAG_UNWIND_CFA_UNSUPPORTED] = "unsupported",
	};

	return kind < SNAG_UNWIND_CFA__COUNT ? names[kind] : "?";
}

const char *unwind_table__unsup_name(enum unwind_unsup why)
{
	static const char *const names[] = {
	    [UNWIND_UNSUP_CFA_REG] = "cfa-register",
	    [UNWIND_UNSUP_CFA_EXPR] = "cfa-expression",
	    [UNWIND_UNSUP_CFA_RANGE] = "cfa-offset-range",
	    [UNWIND_UNSUP_RA] = "return-address",
	    [UNWIND_UNSUP_RBP] = "rbp-rule",
	    [UNWIND_UNSUP_RSP] = "rsp-rule",
	    [UNWIND_UNSUP_SIGNAL] = "signal-frame-layout",
	    [UNWIND_UNSUP_LIBDW] = "libdw-error",
	};

	return (unsigned)why < UNWIND_UNSUP__COUNT ? names[why] : "?";
}

const char *unwind_table__stop_name(unsigned stop)
{
	static const char *const names[] = {
	    [SNAG_UNWIND_STEPPED] = "stepped",
	    [SNAG_UNWIND_STOP_END] = "end",
	    [SNAG_UNWIND_STOP_NO_CFI] = "no-cfi",
	    [SNAG_UNWIND_STOP_UNSUPPORTED] = "unsupported",
	    [SNAG_UNWIND_STOP_NO_RBP] = "no-rbp",
	    [SNAG_UNWIND_STOP_READ] = "read-failed",
	    [SNAG_UNWIND_STOP_BAD_RA] = "bad-return-address",
	    [SNAG_UNWIND_STOP_NO_MAPPING] = "no-mapping",
	    [SNAG_UNWIND_STOP_DEPTH] = "depth",
	};

	return stop < SNAG_UNWIND_STOP__COUNT ? names[stop] : "?";
}
