/* Analysis of a filled report: derived statistics, impact ranking, bottleneck rules, unit
 * formatting. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "analysis_internal.h"

void analysis__derive_function(struct report_function *f, uint64_t traced_thread_ns)
{
	f->avg_ns = f->count ? f->total_ns / f->count : 0;
	f->p50_ns = hist__percentile(f->hist, SNAG_HIST_BUCKETS, 0.50, f->min_ns, f->max_ns);
	f->p90_ns = hist__percentile(f->hist, SNAG_HIST_BUCKETS, 0.90, f->min_ns, f->max_ns);
	f->p99_ns = hist__percentile(f->hist, SNAG_HIST_BUCKETS, 0.99, f->min_ns, f->max_ns);
	f->impact = analysis__share(f->inside_ns, traced_thread_ns);
	f->severity = severity__from_impact(f->impact);
}

struct sort_ctx {
	const char *base;
	size_t size;
	analysis_cmp_fn cmp;
};

/* qsort_r order on indices into an array: the element order, then the index. */
static int cmp_index(const void *a, const void *b, void *ctx)
{
	const struct sort_ctx *c = ctx;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int d = c->cmp(c->base + ia * c->size, c->base + ib * c->size);

	if (d)
		return d;
	return ia < ib ? -1 : ia > ib;
}

size_t *analysis__order(const void *base, size_t n, size_t size, analysis_cmp_fn cmp)
{
	struct sort_ctx ctx = {base, size, cmp};
	size_t *order = calloc(n ? n : 1, sizeof(*order));
	size_t i;

	if (!order) {
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_index, &ctx);
	return order;
}

/*
 * Sorted in place, moving the elements along the cycles of the order with one
 * spare element: a sorted copy of sched[] doubled snag's memory while it
 * finished the report of 10,000 threads (49 MiB more).
 */
int analysis__stable_sort(void **base, size_t n, size_t size, analysis_cmp_fn cmp, size_t *new_pos)
{
	char *a = *base, *spare;
	size_t *order, i;

	if (n < 2) {
		for (i = 0; new_pos && i < n; i++)
			new_pos[i] = i;
		return 0;
	}
	order = analysis__order(a, n, size, cmp);
	spare = malloc(size);
	if (!order || !spare) {
		free(order);
		free(spare);
		return -ENOMEM;
	}
	for (i = 0; new_pos && i < n; i++)
		new_pos[order[i]] = i;
	/* Position j takes the element at order[j]; a position done is marked order[j] == j. */
	for (i = 0; i < n; i++) {
		size_t j = i;

		if (order[i] == i)
			continue;
		memcpy(spare, a + i * size, size);
		while (order[j] != i) {
			size_t k = order[j];

			memcpy(a + j * size, a + k * size, size);
			order[j] = j;
			j = k;
		}
		memcpy(a + j * size, spare, size);
		order[j] = j;
	}
	free(spare);
	free(order);
	return 0;
}

/* Functions: impact, then inside_ns, both descending. */
static int cmp_function(const void *a, const void *b)
{
	const struct report_function *fa = a, *fb = b;

	if (fa->impact != fb->impact)
		return fa->impact > fb->impact ? -1 : 1;
	if (fa->inside_ns != fb->inside_ns)
		return fa->inside_ns > fb->inside_ns ? -1 : 1;
	return 0;
}

int analysis__sort_functions(struct report *r)
{
	size_t *new_pos = NULL;
	size_t i, j, n = r->n_functions;
	int err;

	if (n < 2)
		return 0;
	new_pos = calloc(n, sizeof(*new_pos));
	if (!new_pos)
		return -ENOMEM;
	err = analysis__stable_sort((void **)&r->functions, n, sizeof(*r->functions), cmp_function,
				    new_pos);
	for (i = 0; !err && i < r->n_intervals; i++) {
		struct report_interval *iv = &r->intervals[i];

		for (j = 0; j < iv->n_funcs; j++)
			if (iv->funcs[j].func < n)
				iv->funcs[j].func = new_pos[iv->funcs[j].func];
	}
	free(new_pos);
	return err;
}

void analysis__derive_sched(struct report *r)
{
	uint64_t wall = 0;
	size_t i;

	for (i = 0; r->sched && i < r->n_sched; i++) {
		struct report_thread_sched *t = &r->sched[i];

		/* No exact min/max run-queue wait is kept: min > max leaves the estimate as is. */
		t->runq_p50_ns = hist__percentile_sched(t->runq_hist, 0.50, 1, 0);
		t->runq_p99_ns = hist__percentile_sched(t->runq_hist, 0.99, 1, 0);
		wall += t->wall_ns;
	}
	if (!r->sched_thread_ns)
		r->sched_thread_ns = wall;
	for (i = 0; r->offcpu && i < r->n_offcpu; i++) {
		struct report_offcpu *o = &r->offcpu[i];

		o->impact = analysis__share(o->total_ns, analysis__thread_time(r));
		o->severity = severity__from_impact(o->impact);
		o->category = analysis__offcpu_category(o);
	}
}

uint64_t analysis__thread_time(const struct report *r)
{
	if (r->sched_thread_ns)
		return r->sched_thread_ns;
	if (r->traced_thread_ns)
		return r->traced_thread_ns;
	return r->duration_ns;
}

/* Off-CPU entries: impact, then total_ns, both descending. */
static int cmp_offcpu(const void *a, const void *b)
{
	const struct report_offcpu *oa = a, *ob = b;

	if (oa->impact != ob->impact)
		return oa->impact > ob->impact ? -1 : 1;
	if (oa->total_ns != ob->total_ns)
		return oa->total_ns > ob->total_ns ? -1 : 1;
	return 0;
}

/* Scheduler rows: pid, then tid, ascending. */
static int cmp_sched(const void *a, const void *b)
{
	const struct report_thread_sched *ta = a, *tb = b;

	if (ta->pid != tb->pid)
		return ta->pid < tb->pid ? -1 : 1;
	if (ta->tid != tb->tid)
		return ta->tid < tb->tid ? -1 : 1;
	return 0;
}

int analysis__sort_sched(struct report *r)
{
	int err;

	err = analysis__stable_sort((void **)&r->offcpu, r->n_offcpu, sizeof(*r->offcpu),
				    cmp_offcpu, NULL);
	return err
		   ?: analysis__stable_sort((void **)&r->sched, r->n_sched, sizeof(*r->sched),
					    cmp_sched, NULL);
}

static int cmp_process_pid(const void *key, const void *elem)
{
	int pid = *(const int *)key, other = ((const struct analysis_process *)elem)->pid;

	return (pid > other) - (pid < other);
}

/* On-CPU sampling: each process's samples next to its scheduler time (procs by ascending pid). */
static void add_cpu_samples(const struct report *r, struct analysis_process *procs, size_t n)
{
	for (size_t i = 0; r->cpu && i < r->n_cpu; i++) {
		struct analysis_process *p =
		    bsearch(&r->cpu[i].pid, procs, n, sizeof(*procs), cmp_process_pid);

		if (!p)
			continue;
		p->cpu_samples += r->cpu[i].samples;
		p->oncpu_sampled_ns += r->cpu[i].samples * r->cpu_period_ns;
	}
}

int analysis__processes(const struct report *r, struct analysis_process **out, size_t *n)
{
	struct analysis_process *procs = NULL, *p = NULL;
	size_t *order, i, np = 0;

	*out = NULL;
	*n = 0;
	if (!r->sched || !r->n_sched)
		return 0;
	order = analysis__order(r->sched, r->n_sched, sizeof(*r->sched), cmp_sched);
	procs = calloc(r->n_sched, sizeof(*procs)); /* at most one per row */
	if (!order || !procs) {
		free(order);
		free(procs);
		return -ENOMEM;
	}
	for (i = 0; i < r->n_sched; i++) {
		const struct report_thread_sched *t = &r->sched[order[i]];

		if (!p || p->pid != t->pid) {
			p = &procs[np++];
			p->pid = t->pid;
			p->comm = t->comm;
		}
		if (t->tid == t->pid && t->comm)
			p->comm = t->comm;
		p->threads++;
		p->wall_ns += t->wall_ns;
		p->oncpu_ns += t->oncpu_ns;
		p->offcpu_ns += t->offcpu_ns;
		p->blocked_ns += t->blocked_ns;
		p->preempted_ns += t->preempted_ns;
		p->runq_total_ns += t->runq_total_ns;
		p->voluntary_switches += t->voluntary_switches;
		p->involuntary_switches += t->involuntary_switches;
		for (int w = 0; w < WAIT__COUNT; w++) {
			p->blocked_by[w] += t->blocked_by[w];
			p->blocks_by[w] += t->blocks_by[w];
		}
	}
	free(order);
	add_cpu_samples(r, procs, np);
	*out = procs;
	*n = np;
	return 0;
}

int64_t analysis__unaccounted_ns(const struct analysis_process *p)
{
	return (int64_t)p->wall_ns - (int64_t)(p->oncpu_ns + p->runq_total_ns + p->blocked_ns);
}

/* Free what one bottleneck owns (not the struct itself). */
static void bottleneck_free(struct report_bottleneck *b)
{
	size_t i;

	free(b->kind);
	free(b->target);
	free(b->description);
	for (i = 0; i < b->n_evidence; i++)
		free(b->evidence[i].key);
	free(b->evidence);
	for (i = 0; i < b->n_recommendations; i++)
		free(b->recommendations[i]);
	free(b->recommendations);
}

void analysis__clear_bottlenecks(struct report *r)
{
	size_t i;

	for (i = 0; i < r->n_bottlenecks; i++)
		bottleneck_free(&r->bottlenecks[i]);
	free(r->bottlenecks);
	r->bottlenecks = NULL;
	r->n_bottlenecks = 0;
}

char *analysis__format_duration(uint64_t ns, char *buf, size_t size)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = {{"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	size_t i;

	if (ns < 1000) {
		snprintf(buf, size, "%uns", (unsigned)ns);
		return buf;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		double v = (double)ns / units[i].scale;
		int decimals = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
		int last = i + 1 == sizeof(units) / sizeof(units[0]);

		/* 999.6us rounds to "1000us": show it as "1.00ms" instead. */
		if (!last && v >= 999.5)
			continue;
		snprintf(buf, size, "%.*f%s", decimals, v, units[i].unit);
		return buf;
	}
	return buf; /* not reached: the last unit always prints */
}

char *analysis__format_count(uint64_t n, char *buf, size_t size)
{
	char digits[ANALYSIS_COUNT_LEN], out[ANALYSIS_COUNT_LEN];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
	int i, o = 0;

	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	snprintf(buf, size, "%s", out);
	return buf;
}

bool analysis__functions_wanted(const struct report *r)
{
	return r->n_functions ||
	       (!r->sched_enabled && !r->io_enabled && !r->cpu_enabled && !r->mem_enabled);
}

char *analysis__describe_target(const struct report *r)
{
	const struct report_target *t = &r->target;
	char *s = NULL;
	size_t len = 0, i, shown;
	FILE *m = open_memstream(&s, &len);

	if (!m)
		return NULL;
	shown = t->pids ? t->n_pids : 0;
	if (shown > ANALYSIS_MAX_LISTED_PIDS)
		shown = ANALYSIS_MAX_LISTED_PIDS;
	switch (t->mode) {
	case TARGET_COMMAND:
		fprintf(m, "command '%s'", t->command && *t->command ? t->command : "-");
		if (shown)
			fprintf(m, " (pid %d)", t->pids[0]);
		break;
	case TARGET_PIDS:
		fprintf(m, "pid%s ", shown > 1 ? "s" : "");
		for (i = 0; i < shown; i++)
			fprintf(m, "%s%d", i ? ", " : "", t->pids[i]);
		if (t->n_pids > shown)
			fprintf(m, ", ... (%zu in all)", t->n_pids);
		if (!shown)
			fputs("-", m);
		break;
	case TARGET_SYSTEM:
	default:
		fputs(analysis__functions_wanted(r) ? "all processes running the probed binaries"
						    : "all processes",
		      m);
		break;
	}
	if (t->cgroup)
		fprintf(m, " in cgroup %s", t->cgroup);
	if (fclose(m)) {
		free(s);
		return NULL;
	}
	return s;
}

void analysis__format_evidence(const struct report_evidence *e, char *label, size_t label_size,
			       char *value, size_t value_size)
{
	const char *key = e->key && *e->key ? e->key : "-";
	size_t len = strlen(key);
	int integral = e->value >= 0 && e->value < 1.8e19 && (double)(uint64_t)e->value == e->value;

	if (len > 3 && !strcmp(key + len - 3, "_ns") && integral) {
		snprintf(label, label_size, "%.*s", (int)(len - 3), key);
		analysis__format_duration((uint64_t)e->value, value, value_size);
		return;
	}
	snprintf(label, label_size, "%s", key);
	if (!strcmp(key, "impact"))
		snprintf(value, value_size, "%.1f%%", e->value * 100.0);
	else if (integral)
		analysis__format_count((uint64_t)e->value, value, value_size);
	else
		snprintf(value, value_size, "%.3g", e->value);
}

char *analysis__format_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	size_t i;

	if (bytes < 1024) {
		snprintf(buf, size, "%uB", (unsigned)bytes);
		return buf;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		int last = i + 1 == sizeof(units) / sizeof(units[0]);

		v /= 1024;
		/* 1023.7KiB rounds to "1024KiB": show it as "1.0MiB" instead. */
		if (!last && v >= 1023.5)
			continue;
		snprintf(buf, size, "%.*f%s", v < 99.95 ? 1 : 0, v, units[i]);
		return buf;
	}
	return buf; /* not reached: the last unit always prints */
}

#define MAX_EVIDENCE	    8
#define MAX_RECOMMENDATIONS 4

char *finding__printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

int finding__evidence(struct report_bottleneck *b, const char *key, double value)
{
	struct report_evidence *e;

	if (b->n_evidence >= MAX_EVIDENCE)
		return 0;
	e = &b->evidence[b->n_evidence];
	e->key = strdup(key);
	if (!e->key)
		return -ENOMEM;
	e->value = value;
	b->n_evidence++;
	return 0;
}

/* Beyond MAX_RECOMMENDATIONS the least specific are dropped. */
int finding__recommend(struct report_bottleneck *b, char *s)
{
	if (!s)
		return -ENOMEM;
	if (b->n_recommendations >= MAX_RECOMMENDATIONS) {
		free(s);
		return 0;
	}
	b->recommendations[b->n_recommendations++] = s;
	return 0;
}

/* A list of findings is short (one per rule hit): growing it one entry at a time is cheap. */
struct report_bottleneck *finding__add(struct report *r, const char *kind, char *target, int pid,
				       double impact)
{
	struct report_bottleneck *list, *b;

	list = target ? realloc(r->bottlenecks, (r->n_bottlenecks + 1) * sizeof(*list)) : NULL;
	if (!list) {
		free(target);
		errno = ENOMEM;
		return NULL;
	}
	r->bottlenecks = list;
	b = &list[r->n_bottlenecks++];
	memset(b, 0, sizeof(*b));
	b->kind = strdup(kind);
	b->target = target;
	b->pid = pid;
	b->impact = impact;
	b->severity = severity__from_impact(impact);
	b->evidence = calloc(MAX_EVIDENCE, sizeof(*b->evidence));
	b->recommendations = calloc(MAX_RECOMMENDATIONS, sizeof(*b->recommendations));
	if (!b->kind || !b->evidence || !b->recommendations) {
		errno = ENOMEM;
		return NULL;
	}
	return b;
}

/* Apply the rules to one function; fills recommendations. Returns 0 or -ENOMEM. */
static int recommend(struct report_bottleneck *b, const struct report_function *f,
		     uint64_t duration_ns)
{
	char avg[ANALYSIS_DURATION_LEN], rate_s[ANALYSIS_COUNT_LEN];
	double rate = duration_ns ? (double)f->count * 1e9 / (double)duration_ns : 0;
	int fired = 0, err;

	if (f->count >= ANALYSIS_TAIL_MIN_CALLS &&
	    (double)f->p99_ns > ANALYSIS_TAIL_RATIO * (double)f->p50_ns) {
		err = finding__recommend(
		    b, finding__printf("p99 is %.1fx p50: look for lock waits, I/O or GC pauses on "
				       "the slow path; trace its callees with -u to find which",
				       f->p50_ns ? (double)f->p99_ns / (double)f->p50_ns : 0.0));
		if (err)
			return err;
		fired++;
	}
	if (f->count >= ANALYSIS_HOT_MIN_CALLS && rate >= ANALYSIS_HOT_MIN_CALLS_PER_SEC &&
	    f->avg_ns <= ANALYSIS_HOT_MAX_AVG_NS) {
		analysis__format_count((uint64_t)(rate + 0.5), rate_s, sizeof(rate_s));
		analysis__format_duration(f->avg_ns, avg, sizeof(avg));
		err = finding__recommend(b,
					 finding__printf("called %s times/s at avg %s: batch calls "
							 "or cache results",
							 rate_s, avg));
		if (err)
			return err;
		fired++;
	}
	if (!fired)
		return finding__recommend(b, strdup("largest share of time: trace its callees "
						    "(-u 'callee_*') to split it"));
	return 0;
}

/* Add the finding for function f to r. Returns 0 or -ENOMEM. */
static int function_bottleneck(struct report *r, const struct report_function *f)
{
	char p50[ANALYSIS_DURATION_LEN], p99[ANALYSIS_DURATION_LEN], calls[ANALYSIS_COUNT_LEN];
	const char *name = str_or(f->name, "?"), *binary = str_or(f->binary, "?");
	struct report_bottleneck *b;
	int pid = 0, err = 0;

	/* Functions are aggregated over all traced processes: name one only if there is one. */
	if (r->target.mode != TARGET_SYSTEM && r->target.n_pids == 1 && r->target.pids)
		pid = r->target.pids[0];
	b = finding__add(r, "function", finding__printf("%s (%s)", name, binary), pid, f->impact);
	if (!b)
		return -ENOMEM;
	analysis__format_count(f->count, calls, sizeof(calls));
	b->description = finding__printf(
	    "%s in %s takes %.1f%% of traced thread time (%s call%s, p50 %s, p99 %s)", name, binary,
	    f->impact * PERCENT, calls, f->count == 1 ? "" : "s",
	    analysis__format_duration(f->p50_ns, p50, sizeof(p50)),
	    analysis__format_duration(f->p99_ns, p99, sizeof(p99)));
	if (!b->description)
		return -ENOMEM;
	err = err ?: finding__evidence(b, "count", (double)f->count);
	err = err ?: finding__evidence(b, "total_ns", (double)f->total_ns);
	err = err ?: finding__evidence(b, "p50_ns", (double)f->p50_ns);
	err = err ?: finding__evidence(b, "p99_ns", (double)f->p99_ns);
	err = err ?: finding__evidence(b, "avg_ns", (double)f->avg_ns);
	err = err ?: finding__evidence(b, "impact", f->impact);
	return err ?: recommend(b, f, r->duration_ns);
}

static int is_bottleneck(const struct report_function *f)
{
	return f->count > 0 && f->impact > ANALYSIS_BOTTLENECK_MIN_IMPACT;
}

/*
 * Frame patterns, as space-separated lists: a name matches a pattern when it
 * equals it, or starts with it when the pattern ends in '*'. Only the
 * symbol's base name counts: a compiler suffix (".isra.0", ".constprop.0")
 * or offset ("+0x1a") is ignored, so "libc.so.6+0x1234" is "libc".
 */

/* Scheduler and interrupt plumbing at the top of off-CPU kernel stacks: it never says why. */
static const char sched_frames[] =
    "__schedule schedule schedule_idle preempt_schedule* __cond_resched "
    "_cond_resched finish_task_switch* schedule_preempt_disabled "
    "irqentry_exit* raw_irqentry_* asm_sysvec_* sysvec_* "
    "asm_common_interrupt common_interrupt ret_from_intr el1_interrupt "
    "el0_interrupt __traceiter_*";

/* Library wrappers a user stack enters the kernel through (libc, pthread, C++ runtime). */
static const char library_frames[] =
    "__lll_* lll_* pthread_* __pthread_* ___pthread_* __GI_* __futex* "
    "futex_* do_futex_wait* __new_sem_* sem_* __sem_* __libc_* syscall "
    "__syscall* __internal_syscall* clock_nanosleep* __clock_nanosleep* "
    "nanosleep __nanosleep* usleep sleep __sleep read __read* pread64 "
    "__pread* readv write __write* pwrite64 __pwrite* writev recv recvfrom "
    "recvmsg __recv* send sendto sendmsg __send* poll __poll* ppoll "
    "__ppoll* epoll_wait* epoll_pwait* __epoll* select __select* pselect* "
    "accept accept4 __accept* connect __connect* fsync fdatasync __fsync* "
    "std::__* std::mutex* std::condition_variable* std::this_thread* libc "
    "libpthread ld-linux*";

/* Rule "lock": futexes and kernel sleeping locks. */
static const char lock_frames[] =
    "futex_* __futex* do_futex __x64_sys_futex* __arm64_sys_futex* "
    "__mutex_lock* mutex_lock* rwsem_down_* down_read* down_write* __down* "
    "rt_mutex_* percpu_rwsem_*";

/* Within "lock": the user side is a condition variable wait, not a lock. */
/*
 * Within "lock": the user side waits for an event, not a lock: a condition
 * variable, or glibc's __futex_abstimed_wait_common, which condition
 * variables, joins and semaphores wait in (a plain mutex waits in
 * __lll_lock_wait instead). The latter matters because glibc has no frame
 * pointers: a frame-pointer unwind often shows it and loses its caller.
 */
static const char condvar_frames[] = "pthread_cond_* __pthread_cond_* ___pthread_cond_* "
				     "std::condition_variable* __futex_abstimed_wait* "
				     "sem_wait* sem_timedwait* __new_sem_wait*";

static const char sleep_frames[] =
    "hrtimer_nanosleep do_nanosleep clock_nanosleep common_nsleep* "
    "__x64_sys_nanosleep __x64_sys_clock_nanosleep __arm64_sys_nanosleep "
    "__arm64_sys_clock_nanosleep";

static const char io_frames[] =
    "io_schedule* blk_* __blk_* folio_wait* __folio_lock* wait_on_page* submit_bio_wait* "
    "wait_for_completion_io* "
    "__wait_on_buffer bit_wait_io jbd2_log_wait_commit";

static const char net_frames[] =
    "sk_wait_data tcp_recvmsg* sk_stream_wait_memory inet_csk_accept "
    "ep_poll do_epoll_wait do_select core_sys_select do_sys_poll "
    "unix_stream_read* unix_stream_data_wait __skb_wait_for_more_packets "
    "__skb_recv_* udp_recvmsg";

static const char pipe_frames[] = "pipe_read pipe_write pipe_wait*";

/* Does the base name of name match one of the patterns? */
static bool frame_in(const char *name, const char *patterns)
{
	size_t len, plen;
	const char *p;

	if (!name)
		return false;
	len = strcspn(name, ".+");
	for (p = patterns; *p; p += plen) {
		p += strspn(p, " ");
		plen = strcspn(p, " ");
		if (!plen)
			break;
		if (p[plen - 1] == '*' ? len >= plen - 1 && !strncmp(name, p, plen - 1)
				       : len == plen && !strncmp(name, p, plen))
			return true;
	}
	return false;
}

static bool stack_has(const struct report_stack *st, const char *patterns)
{
	size_t i;

	for (i = 0; st->frames && i < st->n_frames; i++)
		if (frame_in(st->frames[i], patterns))
			return true;
	return false;
}

/* The innermost kernel frame that is not scheduler plumbing, or NULL. */
static const char *telling_kernel_frame(const struct report_stack *k)
{
	size_t i;

	for (i = 0; k->frames && i < k->n_frames; i++)
		if (k->frames[i] && !frame_in(k->frames[i], sched_frames))
			return k->frames[i];
	return NULL;
}

/*
 * Index of the first user frame worth naming: past the innermost run of
 * library wrappers, keeping the outermost of them (the call the program made,
 * e.g. pthread_mutex_lock). n_frames when the stack is empty.
 */
static size_t telling_user_start(const struct report_stack *u)
{
	size_t i = 0;

	while (u->frames && i < u->n_frames && frame_in(u->frames[i], library_frames))
		i++;
	if (u->frames && i == u->n_frames)
		return 0; /* all library frames: show them from the innermost */
	return i ? i - 1 : 0;
}

/* The innermost program (non-library) user frame, else the innermost user frame, else NULL. */
static const char *user_caller(const struct report_stack *u)
{
	size_t i;

	for (i = 0; u->frames && i < u->n_frames; i++)
		if (!frame_in(u->frames[i], library_frames))
			return u->frames[i];
	return u->frames && u->n_frames ? u->frames[0] : NULL;
}

/* As documented in analysis.h: the frames after telling_user_start(). */
char *analysis__offcpu_frames(const struct report_offcpu *o)
{
	const struct report_stack *k = &o->kernel_stack, *u = &o->user_stack;
	size_t i, shown = 0, kernel_max = 1, len = 0;
	char *s = NULL;
	FILE *m = open_memstream(&s, &len);

	if (!m)
		return NULL;
	if (!u->frames || !u->n_frames)
		kernel_max += ANALYSIS_OFFCPU_USER_FRAMES;
	for (i = 0; k->frames && i < k->n_frames && shown < kernel_max; i++)
		if (k->frames[i] && !frame_in(k->frames[i], sched_frames))
			fprintf(m, "%s%s", shown++ ? " <- " : "", k->frames[i]);
	shown = 0;
	for (i = telling_user_start(u); u->frames && i < u->n_frames; i++) {
		if (shown++ >= ANALYSIS_OFFCPU_USER_FRAMES)
			break;
		fprintf(m, "%s%s", ftell(m) ? " <- " : "", str_or(u->frames[i], "?"));
	}
	if (fclose(m)) {
		free(s);
		return NULL;
	}
	return s;
}

/* The waker as "1240 (writer)" (its tid, else its pid) into buf, or "" when unknown. */
static const char *waker_name(const struct report_offcpu *o, char *buf, size_t size)
{
	int id = o->waker_tid ? o->waker_tid : o->waker_pid;

	if (!id)
		snprintf(buf, size, "%s", "");
	else if (o->waker_comm)
		snprintf(buf, size, "%d (%s)", id, o->waker_comm);
	else
		snprintf(buf, size, "%d", id);
	return buf;
}

#define WAKER_LEN 48

/* Apply the off-CPU rules to one entry; fills recommendations. Returns 0 or -ENOMEM. */
/* Joining a thread waits for it to finish, not for a lock. */
static const char join_frames[] = "pthread_join* __pthread_join* __pthread_clockjoin* "
				  "pthread_timedjoin* std::thread::join*";

static const char events_frames[] = "ep_poll do_epoll_wait do_select core_sys_select do_sys_poll";

const char *analysis__offcpu_where(const struct report_offcpu *o)
{
	const char *caller = user_caller(&o->user_stack);

	return caller ? caller : telling_kernel_frame(&o->kernel_stack);
}

enum wait_kind analysis__offcpu_category(const struct report_offcpu *o)
{
	const struct report_stack *k = &o->kernel_stack, *u = &o->user_stack;

	if (o->reason == OFFCPU_PREEMPTED)
		return WAIT_OTHER;
	if (stack_has(k, lock_frames) && !stack_has(u, condvar_frames) &&
	    !stack_has(u, join_frames))
		return WAIT_LOCK;
	if (stack_has(k, sleep_frames))
		return WAIT_SLEEP;
	if (stack_has(k, io_frames))
		return WAIT_BLOCK_IO;
	if (stack_has(k, events_frames))
		return WAIT_EVENTS;
	if (stack_has(k, net_frames))
		return WAIT_NET;
	return WAIT_OTHER;
}

static int recommend_offcpu(struct report_bottleneck *b, const struct report_offcpu *o)
{
	const struct report_stack *k = &o->kernel_stack;
	const char *caller = user_caller(&o->user_stack);
	const char *kframe = telling_kernel_frame(k);
	const char *where = caller ? caller : kframe ? kframe : "this thread";
	char waker[WAKER_LEN], by[WAKER_LEN + 16] = "";
	int fired = 0, err = 0;

	if (*waker_name(o, waker, sizeof(waker)))
		snprintf(by, sizeof(by), " (here %s)", waker);
	if (o->reason == OFFCPU_PREEMPTED)
		return finding__recommend(
		    b, finding__printf(
			   "CPU saturation: %s was runnable but waited for a CPU: add CPUs, "
			   "run fewer busy threads, lower competing work's priority (nice) "
			   "or raise this one's, and check run-queue latency (RUNQ P99)",
			   where));
	if (stack_has(k, lock_frames)) {
		if (stack_has(&o->user_stack, condvar_frames))
			err = finding__recommend(
			    b, finding__printf(
				   "waiting on a condition variable in %s: if it waits for "
				   "work this is idle time; otherwise look at the thread "
				   "that signals it%s",
				   where, by));
		else
			err = finding__recommend(
			    b,
			    finding__printf("lock contention in %s: it waits for a lock another "
					    "thread holds%s; hold the lock for less time, split it "
					    "(per-key or sharded locks) or use a reader-writer or "
					    "lock-free structure",
					    where, by));
		fired++;
	}
	if (!err && stack_has(k, sleep_frames)) {
		err = finding__recommend(
		    b, finding__printf("sleeping in %s: if this is a polling loop, "
				       "wait on an event instead (condition "
				       "variable, eventfd, epoll)",
				       where));
		fired++;
	}
	if (!err && stack_has(k, io_frames)) {
		err = finding__recommend(
		    b, finding__printf(
			   "disk-bound: %s waits for block I/O; check the device's latency "
			   "and queue depth (iostat -x), cache or prefetch hot data, or move "
			   "the I/O off this thread",
			   where));
		fired++;
	}
	if (!err && stack_has(k, net_frames)) {
		err = finding__recommend(
		    b, finding__printf(
			   "waiting for the network or a peer in %s: check the peer's "
			   "latency, batch or pipeline requests, or use non-blocking I/O to "
			   "do other work meanwhile (an event loop idling here just has "
			   "nothing to do)",
			   where));
		fired++;
	}
	if (!err && stack_has(k, pipe_frames)) {
		err =
		    finding__recommend(b, finding__printf("waiting on a pipe in %s: the process at "
							  "the other end is the one to look at%s",
							  where, by));
		fired++;
	}
	if (!err && !fired)
		err = finding__recommend(
		    b, finding__printf(
			   "blocked in %s: read its kernel and user stacks (--format folded "
			   "for a flame graph) to see what it waits for",
			   kframe ? kframe : where));
	return err;
}

/* Add the finding for off-CPU entry o to r. Returns 0 or -ENOMEM. */
static int offcpu_bottleneck(struct report *r, const struct report_offcpu *o)
{
	char waker[WAKER_LEN], *frames = analysis__offcpu_frames(o), comm[64] = "";
	const char *reason = offcpu_reason__name(o->reason);
	struct report_bottleneck *b;
	int err = 0;

	if (!frames)
		return -ENOMEM;
	if (o->comm)
		snprintf(comm, sizeof(comm), " (%s)", o->comm);
	b = finding__add(r, "offcpu",
			 finding__printf("%s (tid %d%s%s)", *frames ? frames : reason, o->tid,
					 o->comm ? " " : "", str_or(o->comm, "")),
			 o->pid, o->impact);
	if (!b)
		err = -ENOMEM;
	if (!err) {
		waker_name(o, waker, sizeof(waker));
		b->description = finding__printf(
		    "thread %d%s spent %.1f%% of traced thread time %s%s%s%s%s", o->tid, comm,
		    o->impact * PERCENT, reason, *frames ? " in " : "", frames,
		    *waker ? ", woken by " : "", waker);
		if (!b->description)
			err = -ENOMEM;
	}
	free(frames);
	err = err ?: finding__evidence(b, "count", (double)o->count);
	err = err ?: finding__evidence(b, "total_ns", (double)o->total_ns);
	err = err ?: finding__evidence(b, "max_ns", (double)o->max_ns);
	err =
	    err ?: finding__evidence(b, "avg_ns", (double)(o->count ? o->total_ns / o->count : 0));
	err = err ?: finding__evidence(b, "impact", o->impact);
	return err ?: recommend_offcpu(b, o);
}

/* Waits that mean "nothing to do": accepting connections, waiting for work, joining. */
static const char idle_kernel_frames[] = "inet_csk_accept unix_accept* do_sigtimedwait* "
					 "sigsuspend* __x64_sys_pause";

/*
 * Is this off-CPU time a thread with nothing to do? Waiting for events
 * (epoll/poll/select), for work (a condition variable), for another thread
 * (join), for a connection (accept), or sleeping long (>= 100 ms a time: a
 * daemon's timer, not a polling loop). Idle time is not a bottleneck: no rule
 * fires on an idle system.
 */
bool analysis__offcpu_is_idle(const struct report_offcpu *o)
{
	if (o->reason == OFFCPU_PREEMPTED || !o->count)
		return false;
	if (o->category == WAIT_EVENTS || stack_has(&o->kernel_stack, idle_kernel_frames))
		return true;
	if (stack_has(&o->kernel_stack, lock_frames) &&
	    (stack_has(&o->user_stack, condvar_frames) || stack_has(&o->user_stack, join_frames)))
		return true;
	return o->category == WAIT_SLEEP && o->total_ns / o->count >= ANALYSIS_IDLE_SLEEP_NS;
}

static int is_offcpu_bottleneck(const struct report_offcpu *o)
{
	return o->count > 0 && o->impact > ANALYSIS_BOTTLENECK_MIN_IMPACT &&
	       !analysis__offcpu_is_idle(o);
}

static double runq_share(const struct analysis_process *p)
{
	return analysis__share(p->runq_total_ns, p->wall_ns);
}

static int is_runq_bottleneck(const struct analysis_process *p)
{
	return p->threads > 0 && runq_share(p) > ANALYSIS_RUNQ_MIN_SHARE;
}

/* Add the finding for process p to r. Returns 0 or -ENOMEM. */
static int runqueue_bottleneck(struct report *r, const struct analysis_process *p)
{
	char runq[ANALYSIS_DURATION_LEN], invol[ANALYSIS_COUNT_LEN], comm[64] = "";
	double impact = analysis__share(p->runq_total_ns, analysis__thread_time(r));
	struct report_bottleneck *b;
	int err = 0;

	if (p->comm)
		snprintf(comm, sizeof(comm), " (%s)", p->comm);
	b = finding__add(r, "runqueue",
			 finding__printf("%s (pid %d)", str_or(p->comm, "?"), p->pid), p->pid,
			 impact);
	if (!b)
		return -ENOMEM;
	analysis__format_count(p->involuntary_switches, invol, sizeof(invol));
	b->description = finding__printf(
	    "process %d%s waited for a CPU %.1f%% of its threads' time (%s in the run queue over "
	    "%zu thread%s, %s involuntary switches)",
	    p->pid, comm, runq_share(p) * PERCENT,
	    analysis__format_duration(p->runq_total_ns, runq, sizeof(runq)), p->threads,
	    p->threads == 1 ? "" : "s", invol);
	if (!b->description)
		return -ENOMEM;
	err = err ?: finding__evidence(b, "threads", (double)p->threads);
	err = err ?: finding__evidence(b, "wall_ns", (double)p->wall_ns);
	err = err ?: finding__evidence(b, "runq_total_ns", (double)p->runq_total_ns);
	err = err ?: finding__evidence(b, "involuntary_switches", (double)p->involuntary_switches);
	err = err ?: finding__evidence(b, "process_share", runq_share(p));
	err = err ?: finding__evidence(b, "impact", impact);
	return err
		   ?: finding__recommend(
			  b,
			  finding__printf("CPU saturation: runnable threads waited for a CPU; add "
					  "CPUs, run fewer busy threads (smaller pools), lower "
					  "competing work's priority (nice) or raise this one's, "
					  "and see RUNQ P99 per thread"));
}

int analysis__build_bottlenecks(struct report *r)
{
	struct analysis_process *procs = NULL;
	size_t i, j, n_procs = 0;
	int err;

	analysis__clear_bottlenecks(r);
	err = analysis__processes(r, &procs, &n_procs);
	for (i = 0; !err && r->functions && i < r->n_functions; i++)
		if (is_bottleneck(&r->functions[i]))
			err = function_bottleneck(r, &r->functions[i]);
	/* Process-level waits first: they fold the off-CPU stacks they explain. */
	err = err ?: analysis__wait_bottlenecks(r, procs, n_procs);
	for (i = 0; !err && r->offcpu && i < r->n_offcpu; i++)
		if (is_offcpu_bottleneck(&r->offcpu[i]) &&
		    !analysis__wait_covered(r, r->offcpu[i].pid, r->offcpu[i].category))
			err = offcpu_bottleneck(r, &r->offcpu[i]);
	for (i = 0; !err && i < n_procs; i++)
		if (is_runq_bottleneck(&procs[i]))
			err = runqueue_bottleneck(r, &procs[i]);
	err = err ?: analysis__io_bottlenecks(r, procs, n_procs);
	err = err ?: analysis__trend_bottlenecks(r, procs, n_procs);
	err = err ?: analysis__cpu_bottlenecks(r);
	err = err ?: analysis__mem_bottlenecks(r, procs, n_procs);
	free(procs);
	if (err) {
		analysis__clear_bottlenecks(r);
		return err;
	}
	/* Stable insertion sort by impact, descending (the list is short and usually sorted). */
	for (i = 1; i < r->n_bottlenecks; i++) {
		struct report_bottleneck tmp = r->bottlenecks[i];

		for (j = i; j > 0 && r->bottlenecks[j - 1].impact < tmp.impact; j--)
			r->bottlenecks[j] = r->bottlenecks[j - 1];
		r->bottlenecks[j] = tmp;
	}
	return 0;
}
