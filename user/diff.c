/* Regression detection between two reports: what got worse, what got better, what changed. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "diff.h"
#include "errors.h"

#define NS_PER_S 1e9

/*
 * Rows of a report are grouped by a key that survives a new run (no pids,
 * which change), summed into one accumulator per key, and the accumulators
 * of the two reports with the same key are compared metric by metric. Each
 * kind of row (functions, off-CPU stacks, ...) is one entry of kinds[]
 * below: how to key a row, how to add it, and which metrics to compare.
 */

/* One report, as the comparison sees it. */
struct side {
	const struct report *r;
	double secs;			/* duration: rates are per second of it */
	struct analysis_process *procs; /* sched: per-process sums, ascending pid */
	size_t n_procs;
};

/* Rows of one kind with one key, summed. */
struct acc {
	char *key, *label;
	uint64_t samples; /* what --min-count counts: calls, blocks, switches, requests */
	uint64_t count, bytes, total_ns, inside_ns, min_ns, max_ns;
	uint64_t wall_ns, blocked_ns, runq_ns;
	uint64_t blocked_by[WAIT__COUNT]; /* the time breakdown's blocked kinds */
	uint64_t *hist; /* merged latency histogram (kind->hist_buckets), or NULL */
	bool has_min;
};

struct metric {
	const char *name;  /* JSON */
	const char *label; /* text */
	enum diff_unit unit;
	bool neutral;	      /* more of it is more work, not worse: a DIFF_CHANGE */
	uint64_t min_samples; /* at least this many on each side (and --min-count) */
	double (*value)(const struct acc *a, double secs);
};

struct kind {
	const char *name;
	size_t (*n_rows)(const struct report *r);
	/* The key and label of row i, as new strings (NULL on ENOMEM). */
	void (*describe)(const struct side *s, size_t i, char **key, char **label);
	void (*add)(struct acc *a, const struct side *s, size_t i);
	size_t hist_buckets;
	const struct metric *metrics;
	size_t n_metrics;
};

/* ---- helpers ---- */

static const char *str_or(const char *s, const char *fallback)
{
	return s ? s : fallback;
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : str_or(path, "?");
}

/* printf into a new string, or NULL. */
static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static double ratio(uint64_t num, uint64_t den)
{
	return den ? (double)num / (double)den : 0;
}

static void add_hist(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

static void add_min_max(struct acc *a, uint64_t min, uint64_t max)
{
	if (!a->has_min || min < a->min_ns)
		a->min_ns = min;
	a->has_min = true;
	if (max > a->max_ns)
		a->max_ns = max;
}

/* Metrics shared by several kinds. */
static double count_per_s(const struct acc *a, double secs)
{
	return (double)a->count / secs;
}

static double bytes_per_s(const struct acc *a, double secs)
{
	return (double)a->bytes / secs;
}

static double avg_ns(const struct acc *a, double secs)
{
	(void)secs;
	return a->samples ? (double)(a->total_ns / a->samples) : 0;
}

/* I/O latency percentiles as analysis__derive_io() derives them: clamped to max when known. */
static double io_p50(const struct acc *a, double secs)
{
	(void)secs;
	return (double)hist__percentile_sched(a->hist, 0.50, a->max_ns ? 0 : 1, a->max_ns);
}

static double io_p99(const struct acc *a, double secs)
{
	(void)secs;
	return (double)hist__percentile_sched(a->hist, 0.99, a->max_ns ? 0 : 1, a->max_ns);
}

/* ---- functions: by binary (file name) and function name ---- */

static size_t function_rows(const struct report *r)
{
	return r->functions ? r->n_functions : 0;
}

static void function_describe(const struct side *s, size_t i, char **key, char **label)
{
	const struct report_function *f = &s->r->functions[i];

	/* The file name, not its directory: builds in two checkouts still compare. */
	*key = str_printf("%s:%s", base_name(f->binary), str_or(f->name, "?"));
	*label = str_printf("function %s (%s)", str_or(f->name, "?"), base_name(f->binary));
}

static void function_add(struct acc *a, const struct side *s, size_t i)
{
	const struct report_function *f = &s->r->functions[i];

	a->samples += f->count;
	a->count += f->count;
	a->total_ns += f->total_ns;
	a->inside_ns += f->inside_ns;
	if (f->count)
		add_min_max(a, f->min_ns, f->max_ns);
	add_hist(a->hist, f->hist, SNAG_HIST_BUCKETS);
}

static double function_p50(const struct acc *a, double secs)
{
	(void)secs;
	return (double)hist__percentile(a->hist, SNAG_HIST_BUCKETS, 0.50, a->min_ns, a->max_ns);
}

static double function_p99(const struct acc *a, double secs)
{
	(void)secs;
	return (double)hist__percentile(a->hist, SNAG_HIST_BUCKETS, 0.99, a->min_ns, a->max_ns);
}

static double inside_per_s(const struct acc *a, double secs)
{
	return (double)a->inside_ns / secs;
}

static const struct metric function_metrics[] = {
    {"count_per_s", "calls/s", DIFF_UNIT_PER_S, true, 0, count_per_s},
    {"avg_ns", "avg", DIFF_UNIT_NS, false, 0, avg_ns},
    {"p50_ns", "p50", DIFF_UNIT_NS, false, 0, function_p50},
    {"p99_ns", "p99", DIFF_UNIT_NS, false, DIFF_P99_MIN_SAMPLES, function_p99},
    {"inside_ns_per_s", "time inside/s", DIFF_UNIT_NS_PER_S, false, 0, inside_per_s},
};

/* ---- off-CPU stacks: by thread name, reason and both stacks ---- */

static size_t offcpu_rows(const struct report *r)
{
	return r->offcpu ? r->n_offcpu : 0;
}

/* Append the frames of st, outermost first, each after a ';' (suffix after each name). */
static void put_frames(FILE *m, const struct report_stack *st, const char *suffix)
{
	for (size_t i = st->frames ? st->n_frames : 0; i > 0; i--)
		fprintf(m, ";%s%s", str_or(st->frames[i - 1], "[unknown]"), suffix);
}

/* The key is the entry's folded line (render_folded.c) without its value. */
static void offcpu_describe(const struct side *s, size_t i, char **key, char **label)
{
	const struct report_offcpu *o = &s->r->offcpu[i];
	char *frames = analysis__offcpu_frames(o);
	size_t len = 0;
	FILE *m = open_memstream(key, &len);

	if (m) {
		fprintf(m, "offcpu-%s;%s", offcpu_reason__name(o->reason), str_or(o->comm, "?"));
		put_frames(m, &o->user_stack, "");
		put_frames(m, &o->kernel_stack, "_[k]");
		if (fclose(m)) {
			free(*key);
			*key = NULL;
		}
	} else {
		*key = NULL;
	}
	*label = frames ? str_printf("%s %s in %s", str_or(o->comm, "?"),
				     offcpu_reason__name(o->reason), *frames ? frames : "?")
			: NULL;
	free(frames);
}

static void offcpu_add(struct acc *a, const struct side *s, size_t i)
{
	const struct report_offcpu *o = &s->r->offcpu[i];

	a->samples += o->count;
	a->count += o->count;
	a->total_ns += o->total_ns;
}

static double offcpu_per_s(const struct acc *a, double secs)
{
	return (double)a->total_ns / secs;
}

static const struct metric offcpu_metrics[] = {
    {"total_ns_per_s", "off-CPU/s", DIFF_UNIT_NS_PER_S, false, 0, offcpu_per_s},
    {"count_per_s", "blocks/s", DIFF_UNIT_PER_S, true, 0, count_per_s},
};

/* ---- scheduler: by process name, summed over its threads ---- */

static size_t sched_rows(const struct report *r)
{
	return r->sched ? r->n_sched : 0;
}

/* The process of a sched row (procs are in ascending pid order). */
static const struct analysis_process *process_of(const struct side *s, int pid)
{
	size_t lo = 0, hi = s->n_procs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->procs[mid].pid == pid)
			return &s->procs[mid];
		if (s->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void sched_describe(const struct side *s, size_t i, char **key, char **label)
{
	const struct analysis_process *p = process_of(s, s->r->sched[i].pid);
	const char *comm = str_or(p ? p->comm : s->r->sched[i].comm, "?");

	*key = strdup(comm);
	*label = str_printf("process %s", comm);
}

static void sched_add(struct acc *a, const struct side *s, size_t i)
{
	const struct report_thread_sched *t = &s->r->sched[i];

	a->samples += t->voluntary_switches + t->involuntary_switches;
	a->wall_ns += t->wall_ns;
	a->blocked_ns += t->blocked_ns;
	a->runq_ns += t->runq_total_ns;
	for (int w = 0; w < WAIT__COUNT; w++)
		a->blocked_by[w] += t->blocked_by[w];
	add_hist(a->hist, t->runq_hist, SNAG_SCHED_HIST_BUCKETS);
}

/* The breakdown's parts: share of the process's thread time blocked on each kind. */
#define WAIT_SHARE(fn, kind)                                                                       \
	static double fn(const struct acc *a, double secs)                                         \
	{                                                                                          \
		(void)secs;                                                                        \
		return ratio(a->blocked_by[kind], a->wall_ns);                                     \
	}
WAIT_SHARE(disk_share, WAIT_BLOCK_IO)
WAIT_SHARE(net_share, WAIT_NET)
WAIT_SHARE(lock_share, WAIT_LOCK)
WAIT_SHARE(sleep_share, WAIT_SLEEP)
#undef WAIT_SHARE

static double runq_share(const struct acc *a, double secs)
{
	(void)secs;
	return ratio(a->runq_ns, a->wall_ns);
}

static double blocked_share(const struct acc *a, double secs)
{
	(void)secs;
	return ratio(a->blocked_ns, a->wall_ns);
}

/* As analysis__derive_sched(): no exact min/max of run-queue waits is kept. */
static double runq_p99(const struct acc *a, double secs)
{
	(void)secs;
	return (double)hist__percentile_sched(a->hist, 0.99, 1, 0);
}

static const struct metric sched_metrics[] = {
    {"runq_share", "run-queue share", DIFF_UNIT_SHARE, false, 0, runq_share},
    {"blocked_share", "blocked share", DIFF_UNIT_SHARE, false, 0, blocked_share},
    {"disk_share", "share blocked on disk I/O", DIFF_UNIT_SHARE, false, 0, disk_share},
    {"network_share", "share blocked on the network", DIFF_UNIT_SHARE, false, 0, net_share},
    {"lock_share", "share blocked on locks", DIFF_UNIT_SHARE, false, 0, lock_share},
    {"sleep_share", "share sleeping", DIFF_UNIT_SHARE, false, 0, sleep_share},
    {"runq_p99_ns", "run-queue p99", DIFF_UNIT_NS, false, DIFF_P99_MIN_SAMPLES, runq_p99},
};

/* ---- I/O rows: by process name and what the row is about ---- */

static size_t syscall_rows(const struct report *r)
{
	return r->syscall_io ? r->n_syscall_io : 0;
}

static void syscall_describe(const struct side *s, size_t i, char **key, char **label)
{
	const struct report_syscall_io *x = &s->r->syscall_io[i];
	const char *comm = str_or(x->comm, "?"), *sc = str_or(x->syscall, "?"),
		   *fd = str_or(x->fd_type, "?");

	*key = str_printf("%s;%s;%s", comm, sc, fd);
	*label = str_printf("%s: %s() on %s", comm, sc, fd);
}

static void syscall_add(struct acc *a, const struct side *s, size_t i)
{
	const struct report_syscall_io *x = &s->r->syscall_io[i];

	/* Latencies cover failed calls too (avg_ns divides by both). */
	a->samples += x->count + x->errors;
	a->count += x->count;
	a->bytes += x->bytes;
	a->total_ns += x->total_ns;
	if (x->max_ns > a->max_ns)
		a->max_ns = x->max_ns;
	add_hist(a->hist, x->lat_hist, SNAG_SCHED_HIST_BUCKETS);
}

static const struct metric syscall_metrics[] = {
    {"count_per_s", "calls/s", DIFF_UNIT_PER_S, true, 0, count_per_s},
    {"bytes_per_s", "bytes/s", DIFF_UNIT_BYTES_PER_S, true, 0, bytes_per_s},
    {"p50_ns", "p50", DIFF_UNIT_NS, false, 0, io_p50},
    {"p99_ns", "p99", DIFF_UNIT_NS, false, DIFF_P99_MIN_SAMPLES, io_p99},
};

static size_t block_rows(const struct report *r)
{
	return r->block_io ? r->n_block_io : 0;
}

static void block_describe(const struct side *s, size_t i, char **key, char **label)
{
	const struct report_block_io *b = &s->r->block_io[i];
	const char *comm = str_or(b->comm, "?"), *dev = str_or(b->device, "?"),
		   *op = str_or(b->op, "?");

	*key = str_printf("%s;%s;%s", comm, dev, op);
	*label = str_printf("%s: block %s on %s", comm, op, dev);
}

static void block_add(struct acc *a, const struct side *s, size_t i)
{
	const struct report_block_io *b = &s->r->block_io[i];

	a->samples += b->count;
	a->count += b->count;
	a->bytes += b->bytes;
	a->total_ns += b->total_ns;
	if (b->max_ns > a->max_ns)
		a->max_ns = b->max_ns;
	add_hist(a->hist, b->lat_hist, SNAG_SCHED_HIST_BUCKETS);
}

static const struct metric block_metrics[] = {
    {"count_per_s", "requests/s", DIFF_UNIT_PER_S, true, 0, count_per_s},
    {"bytes_per_s", "bytes/s", DIFF_UNIT_BYTES_PER_S, true, 0, bytes_per_s},
    {"p50_ns", "p50", DIFF_UNIT_NS, false, 0, io_p50},
    {"p99_ns", "p99", DIFF_UNIT_NS, false, DIFF_P99_MIN_SAMPLES, io_p99},
};

static size_t net_rows(const struct report *r)
{
	return r->net_io ? r->n_net_io : 0;
}

static void net_describe(const struct side *s, size_t i, char **key, char **label)
{
	const struct report_net_io *n = &s->r->net_io[i];
	const char *comm = str_or(n->comm, "?"), *proto = str_or(n->protocol, "?"),
		   *dir = net_direction__name(n->direction);

	*key = str_printf("%s;%s;%s", comm, proto, dir);
	*label = str_printf("%s: %s %s", comm, proto, dir);
}

static void net_add(struct acc *a, const struct side *s, size_t i)
{
	const struct report_net_io *n = &s->r->net_io[i];

	a->samples += n->count;
	a->count += n->count;
	a->bytes += n->bytes;
}

static const struct metric net_metrics[] = {
    {"count_per_s", "messages/s", DIFF_UNIT_PER_S, true, 0, count_per_s},
    {"bytes_per_s", "bytes/s", DIFF_UNIT_BYTES_PER_S, true, 0, bytes_per_s},
};

#define METRICS(m) m, sizeof(m) / sizeof((m)[0])

static const struct kind kinds[DIFF_N_KINDS] = {
    {"function", function_rows, function_describe, function_add, SNAG_HIST_BUCKETS,
     METRICS(function_metrics)},
    {"offcpu", offcpu_rows, offcpu_describe, offcpu_add, 0, METRICS(offcpu_metrics)},
    {"sched", sched_rows, sched_describe, sched_add, SNAG_SCHED_HIST_BUCKETS,
     METRICS(sched_metrics)},
    {"syscall_io", syscall_rows, syscall_describe, syscall_add, SNAG_SCHED_HIST_BUCKETS,
     METRICS(syscall_metrics)},
    {"block_io", block_rows, block_describe, block_add, SNAG_SCHED_HIST_BUCKETS,
     METRICS(block_metrics)},
    {"net_io", net_rows, net_describe, net_add, 0, METRICS(net_metrics)},
};

/* ---- grouping rows by key ---- */

struct keyed_row {
	char *key, *label;
	size_t row;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed_row *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	/* Equal keys keep row order, so the first row's label names the group. */
	return c ? c : (x->row > y->row) - (x->row < y->row);
}

static void accs_free(struct acc *accs, size_t n)
{
	for (size_t i = 0; accs && i < n; i++) {
		free(accs[i].key);
		free(accs[i].label);
		free(accs[i].hist);
	}
	free(accs);
}

/*
 * The rows of kind k in s, summed by key, in key order: a new array in *out
 * (*n of them). Returns 0 or -ENOMEM.
 */
static int group_rows(const struct kind *k, const struct side *s, struct acc **out, size_t *n)
{
	size_t rows = k->n_rows(s->r), i, n_acc = 0;
	struct keyed_row *kr = rows ? calloc(rows, sizeof(*kr)) : NULL;
	struct acc *accs = rows ? calloc(rows, sizeof(*accs)) : NULL;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (rows && (!kr || !accs)) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < rows; i++) {
		kr[i].row = i;
		k->describe(s, i, &kr[i].key, &kr[i].label);
		if (!kr[i].key || !kr[i].label) {
			rows = i + 1; /* free what was made */
			err = -ENOMEM;
			goto out;
		}
	}
	if (rows)
		qsort(kr, rows, sizeof(*kr), cmp_keyed);
	for (i = 0; i < rows; i++) {
		struct acc *a;

		if (!n_acc || strcmp(accs[n_acc - 1].key, kr[i].key)) {
			a = &accs[n_acc++];
			a->key = kr[i].key;
			a->label = kr[i].label;
			kr[i].key = kr[i].label = NULL;
			if (k->hist_buckets) {
				a->hist = calloc(k->hist_buckets, sizeof(*a->hist));
				if (!a->hist) {
					err = -ENOMEM;
					goto out;
				}
			}
		}
		k->add(&accs[n_acc - 1], s, kr[i].row);
	}
out:
	for (i = 0; kr && i < rows; i++) {
		free(kr[i].key);
		free(kr[i].label);
	}
	free(kr);
	if (err) {
		accs_free(accs, n_acc);
		return err;
	}
	*out = accs;
	*n = n_acc;
	return 0;
}

/* ---- the noise guard ---- */

static double min_abs_change(enum diff_unit u)
{
	switch (u) {
	case DIFF_UNIT_NS:
		return DIFF_MIN_NS;
	case DIFF_UNIT_NS_PER_S:
		return DIFF_MIN_NS_PER_S;
	case DIFF_UNIT_SHARE:
		return DIFF_MIN_SHARE;
	case DIFF_UNIT_PER_S:
		return DIFF_MIN_PER_S;
	case DIFF_UNIT_BYTES_PER_S:
		return DIFF_MIN_BYTES_PER_S;
	}
	return 0;
}

/*
 * Whether a change from base to new is flagged (docs/diff.md): enough
 * samples on both sides, a relative change above the threshold, and an
 * absolute change of at least the unit's floor.
 */
static bool flagged(const struct metric *m, const struct diff_opts *o, uint64_t base_samples,
		    uint64_t new_samples, double base, double new)
{
	uint64_t need = o->min_count > m->min_samples ? o->min_count : m->min_samples;
	double delta = new > base ? new - base : base - new;

	if (base_samples < need || new_samples < need || new == base)
		return false;
	if (!(delta >= min_abs_change(m->unit)))
		return false;
	return base == 0 || delta / base > o->threshold; /* base >= 0: every metric is */
}

/* Append a copy of e to d's list for verdict v. Returns 0 or -ENOMEM (e's strings then freed). */
static int add_entry(struct diff *d, enum diff_verdict v, struct diff_entry *e)
{
	struct diff_entry *n = realloc(d->entries[v], (d->n_entries[v] + 1) * sizeof(*n));

	if (!n) {
		free(e->key);
		free(e->label);
		return -ENOMEM;
	}
	d->entries[v] = n;
	n[d->n_entries[v]++] = *e;
	return 0;
}

/* Compare the metrics of one key that both reports have. */
static int compare_acc(struct diff *d, const struct kind *k, const struct acc *b, double b_secs,
		       const struct acc *n, double n_secs)
{
	for (size_t i = 0; i < k->n_metrics; i++) {
		const struct metric *m = &k->metrics[i];
		double bv = m->value(b, b_secs), nv = m->value(n, n_secs);
		struct diff_entry e;
		enum diff_verdict v;
		int err;

		if (!flagged(m, &d->opts, b->samples, n->samples, bv, nv))
			continue;
		v = m->neutral ? DIFF_CHANGE : nv > bv ? DIFF_REGRESSION : DIFF_IMPROVEMENT;
		e = (struct diff_entry){
		    .kind = k->name,
		    .key = strdup(b->key),
		    .label = strdup(b->label),
		    .metric = m->name,
		    .metric_label = m->label,
		    .unit = m->unit,
		    .base = bv,
		    .new = nv,
		    .change = bv ? (nv - bv) / bv : INFINITY,
		    .base_samples = b->samples,
		    .new_samples = n->samples,
		};
		if (!e.key || !e.label) {
			free(e.key);
			free(e.label);
			return -ENOMEM;
		}
		err = add_entry(d, v, &e);
		if (err)
			return err;
	}
	return 0;
}

/* Compare one kind: walk both key-sorted lists side by side. */
static int compare_kind(struct diff *d, const struct kind *k, struct diff_kind_count *count,
			const struct side *base, const struct side *new)
{
	struct acc *b = NULL, *n = NULL;
	size_t nb = 0, nn = 0, i = 0, j = 0;
	int err;

	count->kind = k->name;
	err = group_rows(k, base, &b, &nb);
	if (!err)
		err = group_rows(k, new, &n, &nn);
	while (!err && (i < nb || j < nn)) {
		int c = i == nb ? 1 : j == nn ? -1 : strcmp(b[i].key, n[j].key);

		if (c < 0) {
			count->only_base++;
			i++;
		} else if (c > 0) {
			count->only_new++;
			j++;
		} else {
			count->both++;
			err = compare_acc(d, k, &b[i++], base->secs, &n[j++], new->secs);
		}
	}
	accs_free(b, nb);
	accs_free(n, nn);
	return err;
}

static int side_init(struct side *s, const struct report *r, const char *which)
{
	int err;

	*s = (struct side){.r = r, .secs = (double)r->duration_ns / NS_PER_S};
	if (!r->duration_ns) {
		snag_set_error(
		    "cannot compare: the %s report has no duration (duration_ns is 0), so "
		    "its counts cannot be made rates",
		    which);
		return -EINVAL;
	}
	err = analysis__processes(r, &s->procs, &s->n_procs);
	if (err)
		snag_set_error("out of memory comparing the reports");
	return err;
}

int diff__compare(const struct report *base, const struct report *new, const struct diff_opts *o,
		  struct diff **out)
{
	static const struct diff_opts defaults = {DIFF_DEFAULT_THRESHOLD, DIFF_DEFAULT_MIN_COUNT};
	struct side sb = {0}, sn = {0};
	struct diff *d;
	int err;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d) {
		snag_set_error("out of memory comparing the reports");
		return -ENOMEM;
	}
	d->opts = o ? *o : defaults;
	d->base_duration_ns = base->duration_ns;
	d->new_duration_ns = new->duration_ns;
	err = side_init(&sb, base, "base");
	if (!err)
		err = side_init(&sn, new, "new");
	for (size_t i = 0; !err && i < DIFF_N_KINDS; i++)
		err = compare_kind(d, &kinds[i], &d->kinds[i], &sb, &sn);
	if (err == -ENOMEM)
		snag_set_error("out of memory comparing the reports");
	free(sb.procs);
	free(sn.procs);
	if (err) {
		diff__free(d);
		return err;
	}
	*out = d;
	return 0;
}

void diff__free(struct diff *d)
{
	if (!d)
		return;
	for (int v = 0; v < DIFF_N_VERDICTS; v++) {
		for (size_t i = 0; i < d->n_entries[v]; i++) {
			free(d->entries[v][i].key);
			free(d->entries[v][i].label);
		}
		free(d->entries[v]);
	}
	free(d);
}

const char *diff_verdict__name(enum diff_verdict v)
{
	switch (v) {
	case DIFF_REGRESSION:
		return "regression";
	case DIFF_IMPROVEMENT:
		return "improvement";
	case DIFF_CHANGE:
	case DIFF_N_VERDICTS:
		break;
	}
	return "change";
}
