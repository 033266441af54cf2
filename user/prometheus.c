/* Prometheus text exposition (format 0.0.4) of a report's running totals, for --prometheus. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hist.h"
#include "prometheus.h"
#include "report.h"

/*
 * The latency histogram's `le` bounds: 1-2.5-5 steps from 1 us to 10 s, a
 * modest fixed set every function shares (so sum() by le works across them),
 * written as Go's client libraries write them, which is what PromQL users type.
 */
static const struct {
	uint64_t ns;
	const char *le;
} bounds[] = {
    {1000, "1e-06"},	 {2500, "2.5e-06"},   {5000, "5e-06"},	   {10000, "1e-05"},
    {25000, "2.5e-05"},	 {50000, "5e-05"},    {100000, "0.0001"},  {250000, "0.00025"},
    {500000, "0.0005"},	 {1000000, "0.001"},  {2500000, "0.0025"}, {5000000, "0.005"},
    {10000000, "0.01"},	 {25000000, "0.025"}, {50000000, "0.05"},  {100000000, "0.1"},
    {250000000, "0.25"}, {500000000, "0.5"},  {1000000000, "1"},   {2500000000, "2.5"},
    {5000000000, "5"},	 {10000000000, "10"},
};
#define N_BOUNDS (sizeof(bounds) / sizeof(bounds[0]))
/* A histogram series' values: calls <= each bound (cumulative), all calls (+Inf), summed ns. */
#define HIST_COUNT  N_BOUNDS
#define HIST_SUM    (N_BOUNDS + 1)
#define HIST_VALUES (N_BOUNDS + 2)

enum value_kind {
	KIND_COUNT, /* an integer counter */
	KIND_NS,    /* nanoseconds, written as seconds */
	KIND_HIST,  /* HIST_VALUES values */
};

enum family_id {
	FAM_FUNC_CALLS,
	FAM_FUNC_LATENCY,
	FAM_PROC_ONCPU,
	FAM_PROC_OFFCPU,
	FAM_PROC_RUNQ,
	FAM_SYS_CALLS,
	FAM_SYS_BYTES,
	FAM_BLK_REQUESTS,
	FAM_BLK_BYTES,
	FAM_NET_MESSAGES,
	FAM_NET_BYTES,
	FAM_PROG_TIME,
	FAM_PROG_RUNS,
	FAM_DROPS,
	FAM__COUNT,
};

static const struct {
	const char *name;
	const char *type;
	enum value_kind kind;
	const char *help;
} families[FAM__COUNT] = {
    [FAM_FUNC_CALLS] = {"snag_function_calls_total", "counter", KIND_COUNT,
			"Calls of a probed function that returned."},
    [FAM_FUNC_LATENCY] = {"snag_function_latency_seconds", "histogram", KIND_HIST,
			  "Latency of a probed function's calls, entry to return."},
    [FAM_PROC_ONCPU] = {"snag_process_oncpu_seconds_total", "counter", KIND_NS,
			"Time the process's threads ran on a CPU."},
    [FAM_PROC_OFFCPU] = {"snag_process_offcpu_seconds_total", "counter", KIND_NS,
			 "Time the process's threads were off the CPU: blocked or runnable."},
    [FAM_PROC_RUNQ] = {"snag_process_runqueue_wait_seconds_total", "counter", KIND_NS,
		       "Time the process's threads were runnable but waiting for a CPU."},
    [FAM_SYS_CALLS] = {"snag_syscall_io_calls_total", "counter", KIND_COUNT,
		       "read/write-family syscalls that succeeded."},
    [FAM_SYS_BYTES] = {"snag_syscall_io_bytes_total", "counter", KIND_COUNT,
		       "Bytes moved by read/write-family syscalls."},
    [FAM_BLK_REQUESTS] = {"snag_block_io_requests_total", "counter", KIND_COUNT,
			  "Completed block I/O requests."},
    [FAM_BLK_BYTES] = {"snag_block_io_bytes_total", "counter", KIND_COUNT,
		       "Bytes of completed block I/O requests."},
    [FAM_NET_MESSAGES] = {"snag_net_io_messages_total", "counter", KIND_COUNT,
			  "Socket sends and receives that succeeded."},
    [FAM_NET_BYTES] = {"snag_net_io_bytes_total", "counter", KIND_COUNT,
		       "Bytes sent or received on sockets."},
    [FAM_PROG_TIME] = {"snag_bpf_program_run_seconds_total", "counter", KIND_NS,
		       "Time the kernel spent running one of snag's BPF programs."},
    [FAM_PROG_RUNS] = {"snag_bpf_program_runs_total", "counter", KIND_COUNT,
		       "Runs of one of snag's BPF programs."},
    [FAM_DROPS] = {"snag_dropped_events_total", "counter", KIND_COUNT,
		   "Events snag could not account for, by cause (tables full, stacks lost, ...)."},
};

/* One labelled series: labels as written between the braces, then its values. */
struct series {
	char *labels;
	uint64_t v[];
};

struct family {
	struct series **s;
	size_t n, cap;
};

struct prom_writer {
	/* Every series written so far with its last values, sorted by labels: the counter floor. */
	struct family seen[FAM__COUNT];
};

static size_t n_values(enum family_id f)
{
	return families[f].kind == KIND_HIST ? HIST_VALUES : 1;
}

/* Appends the escaped, UTF-8-valid form of a label value to out (NULL: only count). */
static size_t escape_value(const char *s, char *out)
{
	static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

#define PUT(str, len)                                                                              \
	do {                                                                                       \
		if (out)                                                                           \
			memcpy(out + n, (str), (len));                                             \
		n += (len);                                                                        \
	} while (0)
	while (*p) {
		size_t len = 1;
		unsigned char lo = 0x80, hi = 0xbf;

		if (*p == '\\' || *p == '"') {
			PUT("\\", 1);
			PUT(p, 1);
			p++;
			continue;
		}
		if (*p == '\n') {
			PUT("\\n", 2);
			p++;
			continue;
		}
		if (*p < 0x80) {
			PUT(p, 1);
			p++;
			continue;
		}
		/*
		 * Prometheus refuses a whole scrape over one label value that is not
		 * UTF-8, and binary paths and task names are bytes: each byte that does
		 * not start a well-formed sequence becomes U+FFFD.
		 */
		if (*p >= 0xc2 && *p <= 0xdf)
			len = 2;
		else if (*p >= 0xe0 && *p <= 0xef)
			len = 3;
		else if (*p >= 0xf0 && *p <= 0xf4)
			len = 4;
		if (*p == 0xe0)
			lo = 0xa0; /* overlong */
		else if (*p == 0xed)
			hi = 0x9f; /* surrogates */
		else if (*p == 0xf0)
			lo = 0x90; /* overlong */
		else if (*p == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
		for (size_t i = 1; i < len; i++) {
			unsigned char c = p[i];

			if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xbf)) {
				len = 1;
				break;
			}
		}
		if (len == 1 && *p >= 0x80)
			PUT(replacement, 3);
		else
			PUT(p, len);
		p += len;
	}
#undef PUT
	return n;
}

/* 'k1="v1",k2="v2"' of n name/value pairs (malloc'd), or NULL on ENOMEM. */
static char *make_labels(size_t n, const char *const kv[])
{
	size_t len = 1, off = 0;
	char *s;

	for (size_t i = 0; i < n; i++)
		len +=
		    strlen(kv[2 * i]) + escape_value(kv[2 * i + 1] ? kv[2 * i + 1] : "", NULL) + 4;
	s = malloc(len);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		off += sprintf(s + off, "%s%s=\"", i ? "," : "", kv[2 * i]);
		off += escape_value(kv[2 * i + 1] ? kv[2 * i + 1] : "", s + off);
		s[off++] = '"';
	}
	s[off] = '\0';
	return s;
}

/* Add a series to f; takes labels (freed on failure too). Returns its values, or NULL. */
static uint64_t *add_series(struct family *fam, enum family_id f, char *labels)
{
	size_t nv = n_values(f);
	struct series *s;

	if (!labels)
		return NULL;
	if (fam->n == fam->cap) {
		size_t ncap = fam->cap ? fam->cap * 2 : 16;
		struct series **ns = realloc(fam->s, ncap * sizeof(*ns));

		if (!ns) {
			free(labels);
			return NULL;
		}
		fam->s = ns;
		fam->cap = ncap;
	}
	s = calloc(1, sizeof(*s) + nv * sizeof(s->v[0]));
	if (!s) {
		free(labels);
		return NULL;
	}
	s->labels = labels;
	fam->s[fam->n++] = s;
	return s->v;
}

static void family_clear(struct family *fam)
{
	for (size_t i = 0; i < fam->n; i++) {
		free(fam->s[i]->labels);
		free(fam->s[i]);
	}
	free(fam->s);
	memset(fam, 0, sizeof(*fam));
}

/* One counter series with n label pairs. Returns 0 or -ENOMEM. */
static int add_counter(struct family *fams, enum family_id f, uint64_t value, size_t n,
		       const char *const kv[])
{
	uint64_t *v = add_series(&fams[f], f, make_labels(n, kv));

	if (!v)
		return -ENOMEM;
	v[0] = value;
	return 0;
}

/* Collapse a log-linear histogram into cumulative counts at the fixed bounds. */
static void collapse_hist(const uint64_t *hist, uint64_t total_ns, uint64_t *v)
{
	uint64_t below[N_BOUNDS] = {0}, all = 0;

	/*
	 * A call counts under the first bound at or above its bucket's upper edge:
	 * never under a bound it may exceed, at worst one bucket (1/16) late.
	 */
	for (uint32_t i = 0; i < SNAG_HIST_BUCKETS; i++) {
		uint64_t upper = snag_hist_upper(i);

		if (!hist[i])
			continue;
		all += hist[i];
		for (size_t b = 0; b < N_BOUNDS; b++) {
			if (upper <= bounds[b].ns) {
				below[b] += hist[i];
				break;
			}
		}
	}
	for (size_t b = 0; b < N_BOUNDS; b++)
		v[b] = below[b] + (b ? v[b - 1] : 0);
	v[HIST_COUNT] = all;
	v[HIST_SUM] = total_ns;
}

static int add_functions(struct family *fams, const struct report *r)
{
	for (size_t i = 0; i < r->n_functions; i++) {
		const struct report_function *fn = &r->functions[i];
		const char *kv[] = {"binary", fn->binary, "function", fn->name};
		uint64_t *v;
		int err = add_counter(fams, FAM_FUNC_CALLS, fn->count, 2, kv);

		if (err)
			return err;
		v = add_series(&fams[FAM_FUNC_LATENCY], FAM_FUNC_LATENCY, make_labels(2, kv));
		if (!v)
			return -ENOMEM;
		collapse_hist(fn->hist, fn->total_ns, v);
	}
	return 0;
}

static int by_pid_tid(const void *a, const void *b)
{
	const struct report_thread_sched *x = *(const struct report_thread_sched *const *)a;
	const struct report_thread_sched *y = *(const struct report_thread_sched *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* Scheduler rows are per thread: each process's series sums its threads. */
static int add_sched(struct family *fams, const struct report *r)
{
	const struct report_thread_sched **rows = malloc((r->n_sched + 1) * sizeof(*rows));
	int err = 0;

	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_sched; i++)
		rows[i] = &r->sched[i];
	qsort(rows, r->n_sched, sizeof(*rows), by_pid_tid);
	for (size_t i = 0, j; !err && i < r->n_sched; i = j) {
		uint64_t oncpu = 0, offcpu = 0, runq = 0;
		const char *comm = rows[i]->comm;
		char pid[16];

		for (j = i; j < r->n_sched && rows[j]->pid == rows[i]->pid; j++) {
			oncpu += rows[j]->oncpu_ns;
			offcpu += rows[j]->offcpu_ns;
			runq += rows[j]->runq_total_ns;
			/* The process is named after its main thread, as ps does. */
			if (rows[j]->tid == rows[j]->pid)
				comm = rows[j]->comm;
		}
		snprintf(pid, sizeof(pid), "%d", rows[i]->pid);
		const char *kv[] = {"pid", pid, "comm", comm};
		err = add_counter(fams, FAM_PROC_ONCPU, oncpu, 2, kv);
		err = err ?: add_counter(fams, FAM_PROC_OFFCPU, offcpu, 2, kv);
		err = err ?: add_counter(fams, FAM_PROC_RUNQ, runq, 2, kv);
	}
	free(rows);
	return err;
}

static int add_io(struct family *fams, const struct report *r)
{
	int err = 0;

	for (size_t i = 0; !err && i < r->n_syscall_io; i++) {
		const struct report_syscall_io *x = &r->syscall_io[i];
		char pid[16];

		snprintf(pid, sizeof(pid), "%d", x->pid);
		const char *kv[] = {"pid",     pid,	   "comm",    x->comm,
				    "syscall", x->syscall, "fd_type", x->fd_type};
		err = add_counter(fams, FAM_SYS_CALLS, x->count, 4, kv);
		err = err ?: add_counter(fams, FAM_SYS_BYTES, x->bytes, 4, kv);
	}
	for (size_t i = 0; !err && i < r->n_block_io; i++) {
		const struct report_block_io *x = &r->block_io[i];
		char pid[16];

		snprintf(pid, sizeof(pid), "%d", x->pid);
		const char *kv[] = {"pid", pid, "comm", x->comm, "device", x->device, "op", x->op};
		err = add_counter(fams, FAM_BLK_REQUESTS, x->count, 4, kv);
		err = err ?: add_counter(fams, FAM_BLK_BYTES, x->bytes, 4, kv);
	}
	for (size_t i = 0; !err && i < r->n_net_io; i++) {
		const struct report_net_io *x = &r->net_io[i];
		char pid[16];

		snprintf(pid, sizeof(pid), "%d", x->pid);
		const char *kv[] = {
		    "pid",	pid,	     "comm",	  x->comm,
		    "protocol", x->protocol, "direction", net_direction__name(x->direction)};
		err = add_counter(fams, FAM_NET_MESSAGES, x->count, 4, kv);
		err = err ?: add_counter(fams, FAM_NET_BYTES, x->bytes, 4, kv);
	}
	return err;
}

static int add_overhead(struct family *fams, const struct report *r)
{
	const struct report_overhead *o = &r->overhead;
	int err = 0;

	for (size_t i = 0; !err && i < o->n_programs; i++) {
		const char *kv[] = {"program", o->programs[i].name};

		err = add_counter(fams, FAM_PROG_TIME, o->programs[i].run_time_ns, 1, kv);
		err = err ?: add_counter(fams, FAM_PROG_RUNS, o->programs[i].runs, 1, kv);
	}
	for (size_t i = 0; !err && i < o->n_drops; i++) {
		const char *kv[] = {"cause", o->drops[i].cause};

		err = add_counter(fams, FAM_DROPS, o->drops[i].count, 1, kv);
	}
	return err;
}

static int by_labels(const void *a, const void *b)
{
	return strcmp((*(struct series *const *)a)->labels, (*(struct series *const *)b)->labels);
}

/*
 * Sort the family by labels and sum series whose labels coincide (two
 * functions of one name in one binary, I/O rows whose distinguishing key is
 * not a label): the exposition format allows each label set once.
 */
static void sort_and_merge(struct family *fam, enum family_id f)
{
	size_t nv = n_values(f), out = 0;

	if (fam->n > 1)
		qsort(fam->s, fam->n, sizeof(*fam->s), by_labels);
	for (size_t i = 0; i < fam->n; i++) {
		struct series *s = fam->s[i];

		if (out && !strcmp(fam->s[out - 1]->labels, s->labels)) {
			for (size_t k = 0; k < nv; k++)
				fam->s[out - 1]->v[k] += s->v[k];
			free(s->labels);
			free(s);
			continue;
		}
		fam->s[out++] = s;
	}
	fam->n = out;
}

/*
 * Raise each of cur's values to at least what seen holds for the same series.
 * Builds the next floor in *all: the union of both, sorted by labels, with
 * cur's series where both have one; the seen series that cur replaced go to
 * *replaced, to be freed once the floor is committed. Both inputs are sorted.
 * Returns 0 or -ENOMEM.
 */
static int apply_floor(struct family *cur, const struct family *seen, enum family_id f,
		       struct family *all, struct family *replaced)
{
	size_t nv = n_values(f), i = 0, j = 0;

	all->cap = cur->n + seen->n + 1;
	all->s = malloc(all->cap * sizeof(*all->s));
	replaced->s = malloc((seen->n + 1) * sizeof(*replaced->s));
	if (!all->s || !replaced->s)
		return -ENOMEM;
	while (i < cur->n || j < seen->n) {
		int c = i == cur->n    ? 1
			: j == seen->n ? -1
				       : strcmp(cur->s[i]->labels, seen->s[j]->labels);

		if (c > 0) {
			all->s[all->n++] = seen->s[j++];
			continue;
		}
		if (c == 0) {
			for (size_t k = 0; k < nv; k++)
				if (cur->s[i]->v[k] < seen->s[j]->v[k])
					cur->s[i]->v[k] = seen->s[j]->v[k];
			replaced->s[replaced->n++] = seen->s[j++];
		}
		all->s[all->n++] = cur->s[i++];
	}
	return 0;
}

static void write_value(FILE *f, enum value_kind kind, uint64_t v)
{
	/* Integer ns as exact decimal seconds: no float rounding between refreshes. */
	if (kind == KIND_NS)
		fprintf(f, "%" PRIu64 ".%09" PRIu64 "\n", v / 1000000000, v % 1000000000);
	else
		fprintf(f, "%" PRIu64 "\n", v);
}

static void write_family(FILE *f, enum family_id id, const struct family *fam)
{
	const char *name = families[id].name;

	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, families[id].help, name,
		families[id].type);
	for (size_t i = 0; i < fam->n; i++) {
		const struct series *s = fam->s[i];

		if (families[id].kind != KIND_HIST) {
			fprintf(f, "%s{%s} ", name, s->labels);
			write_value(f, families[id].kind, s->v[0]);
			continue;
		}
		for (size_t b = 0; b < N_BOUNDS; b++)
			fprintf(f, "%s_bucket{%s,le=\"%s\"} %" PRIu64 "\n", name, s->labels,
				bounds[b].le, s->v[b]);
		fprintf(f, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n", name, s->labels,
			s->v[HIST_COUNT]);
		fprintf(f, "%s_sum{%s} ", name, s->labels);
		write_value(f, KIND_NS, s->v[HIST_SUM]);
		fprintf(f, "%s_count{%s} %" PRIu64 "\n", name, s->labels, s->v[HIST_COUNT]);
	}
}

/* Whether a family belongs to a collector that ran. */
static bool family_on(enum family_id f, const struct report *r)
{
	switch (f) {
	case FAM_FUNC_CALLS:
	case FAM_FUNC_LATENCY:
		return r->n_functions > 0;
	case FAM_PROC_ONCPU:
	case FAM_PROC_OFFCPU:
	case FAM_PROC_RUNQ:
		return r->sched_enabled;
	case FAM_SYS_CALLS:
	case FAM_SYS_BYTES:
	case FAM_BLK_REQUESTS:
	case FAM_BLK_BYTES:
	case FAM_NET_MESSAGES:
	case FAM_NET_BYTES:
		return r->io_enabled;
	default:
		return true;
	}
}

struct prom_writer *prom_writer__new(void)
{
	return calloc(1, sizeof(struct prom_writer));
}

int prom_writer__format(struct prom_writer *w, const struct report *r, char **text, size_t *len)
{
	struct family cur[FAM__COUNT] = {0}, all[FAM__COUNT] = {0}, replaced[FAM__COUNT] = {0};
	FILE *f = NULL;
	int err;

	*text = NULL;
	*len = 0;
	err = add_functions(cur, r);
	err = err ?: add_sched(cur, r);
	err = err ?: add_io(cur, r);
	err = err ?: add_overhead(cur, r);
	for (int i = 0; !err && i < FAM__COUNT; i++) {
		sort_and_merge(&cur[i], i);
		err = apply_floor(&cur[i], &w->seen[i], i, &all[i], &replaced[i]);
	}
	if (!err) {
		f = open_memstream(text, len);
		if (!f)
			err = -ENOMEM;
	}
	for (int i = 0; !err && i < FAM__COUNT; i++)
		if (family_on(i, r))
			write_family(f, i, &cur[i]);
	if (f && fclose(f) && !err)
		err = -ENOMEM;
	for (int i = 0; i < FAM__COUNT; i++) {
		/* all[] and replaced[] only point at series that cur[] and seen[] own. */
		if (err) {
			family_clear(&cur[i]);
		} else {
			for (size_t k = 0; k < replaced[i].n; k++) {
				free(replaced[i].s[k]->labels);
				free(replaced[i].s[k]);
			}
			free(w->seen[i].s);
			w->seen[i] = all[i];
			all[i].s = NULL;
			free(cur[i].s);
		}
		free(all[i].s);
		free(replaced[i].s);
	}
	if (err) {
		free(*text);
		*text = NULL;
		*len = 0;
	}
	return err;
}

void prom_writer__free(struct prom_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < FAM__COUNT; i++)
		family_clear(&w->seen[i]);
	free(w);
}
