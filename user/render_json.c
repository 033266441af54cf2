/* JSON renderer: the public "snag-report/1" document described in docs/report-json.md. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "analysis.h"
#include "render.h"

/*
 * Builders below return a new reference or NULL. json_pack()'s "o" steals
 * the reference even when packing fails, so a NULL argument (a failed
 * builder) makes the whole pack fail without leaking: errors propagate up.
 */

/*
 * An unsigned count/time, exactly. Integers above 2^63-1 do not survive
 * jansson (nor other readers of signed 64-bit integers), so those few are
 * written as a string of decimal digits ("18446744073709551615"), which
 * report_read.c reads back; every smaller value is a plain integer, as before
 * (docs/report-json.md, "Integers").
 */
static json_t *json_u64(uint64_t v)
{
	char digits[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(digits, sizeof(digits), "%" PRIu64, v);
	return json_string(digits);
}

/*
 * A string from the outside world (symbol names, paths, commands): NULL
 * becomes null, and bytes that are not valid UTF-8 are replaced by '?'
 * rather than failing the whole report.
 */
static json_t *json_str(const char *s)
{
	json_t *v;
	char *copy, *c;

	if (!s)
		return json_null();
	v = json_string(s);
	if (v)
		return v;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (c = copy; *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

/* A real number; NaN and infinities (not valid JSON) become null. */
static json_t *json_num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* A number that is written as an integer when it is integral ("count": 50, not 50.0). */
static json_t *json_number(double v)
{
	if (isfinite(v) && v >= -9.2e18 && v <= 9.2e18 && (double)(json_int_t)v == v)
		return json_integer((json_int_t)v);
	return json_num(v);
}

/*
 * Append v (stolen) to *arr. If v is NULL or appending fails, release *arr,
 * set it to NULL (so the caller's loop stops and its pack fails) (and v).
 */
static void append(json_t **arr, json_t *v)
{
	if (v && !json_array_append_new(*arr, v))
		return;
	json_decref(*arr);
	*arr = NULL;
}

/* Set key to v (stolen) in *obj, with append()'s failure handling. */
static void set(json_t **obj, const char *key, json_t *v)
{
	if (v && !json_object_set_new(*obj, key, v))
		return;
	json_decref(*obj);
	*obj = NULL;
}

/* "2026-11-21T23:41:07.123456789Z" */
static json_t *json_rfc3339(int64_t ns)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	char date[32], buf[64];
	time_t t;
	struct tm tm;

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm))
		return json_null();
	snprintf(buf, sizeof(buf), "%s.%09" PRId64 "Z", date, frac);
	return json_string(buf);
}

static const char *target_mode_name(enum target_mode m)
{
	switch (m) {
	case TARGET_PIDS:
		return "pids";
	case TARGET_COMMAND:
		return "command";
	case TARGET_SYSTEM:
		return "system";
	}
	return "unknown";
}

static json_t *target_json(const struct report_target *t)
{
	json_t *pids = json_array(), *specs = json_array();
	size_t i;

	for (i = 0; pids && t->pids && i < t->n_pids; i++)
		append(&pids, json_integer(t->pids[i]));
	for (i = 0; specs && t->specs && i < t->n_specs; i++)
		append(&specs, json_str(t->specs[i]));
	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "mode", target_mode_name(t->mode), "pids",
			 pids, "command", json_str(t->command), "specs", specs, "cgroup",
			 json_str(t->cgroup));
}

static json_t *interval_json(const struct report *r, const struct report_interval *iv)
{
	json_t *funcs = json_array(), *procs;
	size_t i;

	for (i = 0; funcs && iv->funcs && i < iv->n_funcs; i++) {
		const struct report_interval_func *f = &iv->funcs[i];
		const struct report_function *fn;

		if (f->func >= r->n_functions)
			continue; /* a collector bug; do not invent a name for it */
		fn = &r->functions[f->func];
		append(&funcs, json_pack("{s:o, s:o, s:o, s:o}", "binary", json_str(fn->binary),
					 "name", json_str(fn->name), "count", json_u64(f->count),
					 "total_ns", json_u64(f->total_ns)));
	}
	procs = json_array();
	for (i = 0; procs && iv->procs && i < iv->n_procs; i++) {
		const struct report_interval_proc *p = &iv->procs[i];

		append(&procs,
		       json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "pid",
				 p->pid, "oncpu_ns", json_u64(p->oncpu_ns), "runq_ns",
				 json_u64(p->runq_ns), "blocked_ns", json_u64(p->blocked_ns),
				 "syscall_calls", json_u64(p->syscall_calls), "syscall_bytes",
				 json_u64(p->syscall_bytes), "block_requests",
				 json_u64(p->block_requests), "block_bytes",
				 json_u64(p->block_bytes), "net_messages",
				 json_u64(p->net_messages), "net_bytes", json_u64(p->net_bytes)));
	}
	return json_pack("{s:o, s:o, s:o, s:o}", "offset_ns", json_u64(iv->offset_ns),
			 "duration_ns", json_u64(iv->duration_ns), "functions", funcs, "processes",
			 procs);
}

/*
 * Non-empty buckets only, each as its inclusive upper bound (under le_key) and
 * count, for a histogram of n buckets whose bounds upper() gives (a bpf/hist.h
 * layout).
 */
static json_t *buckets_json(const uint64_t *hist, __u32 n, __u64 (*upper)(__u32),
			    const char *le_key)
{
	json_t *arr = json_array();
	__u32 i;

	for (i = 0; arr && i < n; i++) {
		if (hist[i])
			append(&arr, json_pack("{s:o, s:o}", le_key, json_u64(upper(i)), "count",
					       json_u64(hist[i])));
	}
	return arr;
}

/* A latency histogram: [{"le_ns", "count"}]. */
static json_t *histogram_json(const uint64_t *hist, __u32 n, __u64 (*upper)(__u32))
{
	return buckets_json(hist, n, upper, "le_ns");
}

/* An I/O size histogram (snag_size_hist_* layout): [{"le_bytes", "count"}]. */
static json_t *size_histogram_json(const uint64_t *hist)
{
	return buckets_json(hist, SNAG_SIZE_HIST_BUCKETS, snag_size_hist_upper, "le_bytes");
}

static json_t *function_json(const struct report_function *f)
{
	char addr[24];

	snprintf(addr, sizeof(addr), "0x%" PRIx64, f->address);
	/* binary name address | count total inside min max avg p50 p90 p99 | histogram impact
	 * severity */
	return json_pack(
	    "{s:o, s:o, s:s,  s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,  s:o, s:o, s:s}",
	    "binary", json_str(f->binary), "name", json_str(f->name), "address", addr, "count",
	    json_u64(f->count), "total_ns", json_u64(f->total_ns), "inside_ns",
	    json_u64(f->inside_ns), "min_ns", json_u64(f->min_ns), "max_ns", json_u64(f->max_ns),
	    "avg_ns", json_u64(f->avg_ns), "p50_ns", json_u64(f->p50_ns), "p90_ns",
	    json_u64(f->p90_ns), "p99_ns", json_u64(f->p99_ns), "histogram",
	    histogram_json(f->hist, SNAG_HIST_BUCKETS, snag_hist_upper), "impact",
	    json_num(f->impact), "severity", severity__name(f->severity));
}

/* A stack as an array of frame names, innermost first. */
static json_t *stack_json(const struct report_stack *st)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && st->frames && i < st->n_frames; i++)
		append(&arr, json_str(st->frames[i]));
	return arr;
}

static json_t *sched_core_json(const struct report_thread_sched *t);

/* {"block_io": v[WAIT_BLOCK_IO], "network": ..., "other": ...}, in enum order after "other". */
static json_t *by_wait_json(const uint64_t *v)
{
	static const enum wait_kind order[] = {WAIT_BLOCK_IO, WAIT_NET,	   WAIT_LOCK,
					       WAIT_SLEEP,    WAIT_EVENTS, WAIT_OTHER};
	json_t *o = json_object();

	for (size_t i = 0; o && i < sizeof(order) / sizeof(order[0]); i++)
		set(&o, wait_kind__name(order[i]), json_u64(v[order[i]]));
	return o;
}

static json_t *sched_json(const struct report_thread_sched *t)
{
	json_t *o = sched_core_json(t);

	set(&o, "blocked_by", by_wait_json(t->blocked_by));
	set(&o, "blocks_by", by_wait_json(t->blocks_by));
	set(&o, "runq_histogram",
	    histogram_json(t->runq_hist, SNAG_SCHED_HIST_BUCKETS, snag_sched_hist_upper));
	set(&o, "offcpu_histogram",
	    histogram_json(t->offcpu_hist, SNAG_SCHED_HIST_BUCKETS, snag_sched_hist_upper));
	return o;
}

/* One process's time breakdown (analysis__processes()), with its traced functions' share. */
static json_t *breakdown_json(const struct report *r, const struct analysis_process *p,
			      bool one_process)
{
	json_t *o = json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "pid", p->pid,
			      "comm", json_str(p->comm), "threads", json_u64(p->threads), "wall_ns",
			      json_u64(p->wall_ns), "oncpu_ns", json_u64(p->oncpu_ns), "runq_ns",
			      json_u64(p->runq_total_ns), "blocked_ns", json_u64(p->blocked_ns),
			      "blocked_by", by_wait_json(p->blocked_by), "unaccounted_ns",
			      (json_int_t)analysis__unaccounted_ns(p));
	json_t *funcs = json_array();

	/* Function time is kept per function, not per process: only one process can own it. */
	for (size_t i = 0; one_process && funcs && r->functions && i < r->n_functions; i++) {
		const struct report_function *f = &r->functions[i];

		if (f->count)
			append(&funcs,
			       json_pack(
				   "{s:o, s:o, s:o, s:o}", "binary", json_str(f->binary), "name",
				   json_str(f->name), "inside_ns", json_u64(f->inside_ns), "share",
				   json_num(p->wall_ns ? (double)f->inside_ns / (double)p->wall_ns
						       : 0.0)));
	}
	set(&o, "functions", funcs);
	/* On-CPU sampling (--cpu): the same on-CPU time measured a second way (0 when off). */
	set(&o, "cpu_samples", json_u64(p->cpu_samples));
	set(&o, "oncpu_sampled_ns", json_u64(p->oncpu_sampled_ns));
	return o;
}

static json_t *breakdown_array(const struct report *r)
{
	struct analysis_process *procs = NULL;
	json_t *a = json_array();
	size_t n = 0;

	if (!a || analysis__processes(r, &procs, &n)) {
		json_decref(a);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		append(&a, breakdown_json(r, &procs[i], n == 1));
	free(procs);
	return a;
}

static json_t *sched_core_json(const struct report_thread_sched *t)
{
	/* pid tid comm | switches | wall on off blocked preempted runq p50 p99 */
	return json_pack("{s:i, s:i, s:o,  s:o, s:o,  s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "pid", t->pid, "tid", t->tid, "comm", json_str(t->comm),
			 "voluntary_switches", json_u64(t->voluntary_switches),
			 "involuntary_switches", json_u64(t->involuntary_switches), "wall_ns",
			 json_u64(t->wall_ns), "oncpu_ns", json_u64(t->oncpu_ns), "offcpu_ns",
			 json_u64(t->offcpu_ns), "blocked_ns", json_u64(t->blocked_ns),
			 "preempted_ns", json_u64(t->preempted_ns), "runq_total_ns",
			 json_u64(t->runq_total_ns), "runq_p50_ns", json_u64(t->runq_p50_ns),
			 "runq_p99_ns", json_u64(t->runq_p99_ns));
}

/* The thread that woke o, or null when unknown. */
static json_t *waker_json(const struct report_offcpu *o)
{
	if (!o->waker_pid && !o->waker_tid)
		return json_null();
	return json_pack("{s:i, s:i, s:o, s:o, s:o}", "pid", o->waker_pid, "tid", o->waker_tid,
			 "comm", json_str(o->waker_comm), "kernel_stack",
			 stack_json(&o->waker_kernel_stack), "user_stack",
			 stack_json(&o->waker_user_stack));
}

static json_t *offcpu_json(const struct report_offcpu *o)
{
	return json_pack(
	    "{s:i, s:i, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:s}", "pid", o->pid,
	    "tid", o->tid, "comm", json_str(o->comm), "reason", offcpu_reason__name(o->reason),
	    "category", o->reason == OFFCPU_PREEMPTED ? "runqueue" : wait_kind__name(o->category),
	    "count", json_u64(o->count), "total_ns", json_u64(o->total_ns), "max_ns",
	    json_u64(o->max_ns), "kernel_stack", stack_json(&o->kernel_stack), "user_stack",
	    stack_json(&o->user_stack), "stack_truncated",
	    o->kernel_stack.truncated || o->user_stack.truncated, "waker", waker_json(o), "impact",
	    json_num(o->impact), "severity", severity__name(o->severity));
}

static json_t *block_io_json(const struct report_block_io *b)
{
	/* pid comm device major minor op | count bytes | total avg p50 p99 max | histograms */
	return json_pack(
	    "{s:i, s:o, s:o, s:o, s:o, s:o,  s:o, s:o,  s:o, s:o, s:o, s:o, s:o,  s:o, s:o}", "pid",
	    b->pid, "comm", json_str(b->comm), "device", json_str(b->device), "major",
	    json_u64(b->major), "minor", json_u64(b->minor), "op", json_str(b->op), "count",
	    json_u64(b->count), "bytes", json_u64(b->bytes), "total_ns", json_u64(b->total_ns),
	    "avg_ns", json_u64(b->avg_ns), "p50_ns", json_u64(b->p50_ns), "p99_ns",
	    json_u64(b->p99_ns), "max_ns", json_u64(b->max_ns), "size_histogram",
	    size_histogram_json(b->size_hist), "latency_histogram",
	    histogram_json(b->lat_hist, SNAG_SCHED_HIST_BUCKETS, snag_sched_hist_upper));
}

static json_t *net_io_json(const struct report_net_io *n)
{
	/* pid comm protocol family type direction | count bytes small errors retransmits | hist */
	return json_pack("{s:i, s:o, s:o, s:o, s:o, s:s,  s:o, s:o, s:o, s:o, s:o,  s:o}", "pid",
			 n->pid, "comm", json_str(n->comm), "protocol", json_str(n->protocol),
			 "family", json_str(n->family), "type", json_str(n->type), "direction",
			 net_direction__name(n->direction), "count", json_u64(n->count), "bytes",
			 json_u64(n->bytes), "small_count", json_u64(n->small_count), "errors",
			 json_u64(n->errors), "retransmits", json_u64(n->retransmits),
			 "size_histogram", size_histogram_json(n->size_hist));
}

/* Only TCP connections are tracked: "protocol" is there for when others are. */
static json_t *net_conn_json(const struct report_net_conn *c)
{
	/* pid comm protocol family local remote | sends send_bytes recvs recv_bytes retransmits */
	return json_pack("{s:i, s:o, s:s, s:o, s:o, s:o,  s:o, s:o, s:o, s:o, s:o}", "pid", c->pid,
			 "comm", json_str(c->comm), "protocol", "tcp", "family",
			 json_str(c->family), "local", json_str(c->local), "remote",
			 json_str(c->remote), "sends", json_u64(c->sends), "send_bytes",
			 json_u64(c->send_bytes), "recvs", json_u64(c->recvs), "recv_bytes",
			 json_u64(c->recv_bytes), "retransmits", json_u64(c->retransmits));
}

static json_t *syscall_io_json(const struct report_syscall_io *s)
{
	/* pid comm syscall fd_type | count bytes small errors | total avg p50 p99 max | histograms
	 */
	return json_pack(
	    "{s:i, s:o, s:o, s:o,  s:o, s:o, s:o, s:o,  s:o, s:o, s:o, s:o, s:o,  s:o, s:o}", "pid",
	    s->pid, "comm", json_str(s->comm), "syscall", json_str(s->syscall), "fd_type",
	    json_str(s->fd_type), "count", json_u64(s->count), "bytes", json_u64(s->bytes),
	    "small_count", json_u64(s->small_count), "errors", json_u64(s->errors), "total_ns",
	    json_u64(s->total_ns), "avg_ns", json_u64(s->avg_ns), "p50_ns", json_u64(s->p50_ns),
	    "p99_ns", json_u64(s->p99_ns), "max_ns", json_u64(s->max_ns), "size_histogram",
	    size_histogram_json(s->size_hist), "latency_histogram",
	    histogram_json(s->lat_hist, SNAG_SCHED_HIST_BUCKETS, snag_sched_hist_upper));
}

static json_t *bottleneck_json(const struct report_bottleneck *b)
{
	json_t *evidence = json_object(), *recs = json_array();
	size_t i;

	for (i = 0; evidence && b->evidence && i < b->n_evidence; i++)
		if (b->evidence[i].key)
			set(&evidence, b->evidence[i].key, json_number(b->evidence[i].value));
	for (i = 0; recs && b->recommendations && i < b->n_recommendations; i++)
		if (b->recommendations[i])
			append(&recs, json_str(b->recommendations[i]));
	return json_pack("{s:o, s:o, s:i, s:o, s:s, s:o, s:o, s:o}", "kind", json_str(b->kind),
			 "target", json_str(b->target), "pid", b->pid, "impact",
			 json_num(b->impact), "severity", severity__name(b->severity),
			 "description", json_str(b->description), "evidence", evidence,
			 "recommendations", recs);
}

/* ---- Memory collector (--mem) ---- */

/* A per-interval series: integers, null where not measured. */
static json_t *series_json(const int64_t *v, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && v && i < n; i++)
		append(&arr, v[i] == REPORT_SERIES_NONE ? json_null() : json_integer(v[i]));
	return arr;
}

/* A fitted growth rate, or null when there was no fit. */
static json_t *fit_json(bool fitted, double v)
{
	return fitted ? json_num(v) : json_null();
}

static json_t *allocation_json(const struct report_allocation *a)
{
	/* pid comm source stack truncated | outstanding | totals | lifetime untracked | growth */
	json_t *o = json_pack(
	    "{s:i, s:o, s:o, s:o, s:b,  s:I, s:I,  s:o, s:o, s:o, s:o,  s:o, s:o}", "pid", a->pid,
	    "comm", json_str(a->comm), "source", json_str(a->source), "stack",
	    stack_json(&a->stack), "stack_truncated", a->stack.truncated, "outstanding_bytes",
	    (json_int_t)a->outstanding_bytes, "outstanding_count", (json_int_t)a->outstanding_count,
	    "total_allocs", json_u64(a->total_allocs), "total_bytes", json_u64(a->total_bytes),
	    "freed_allocs", json_u64(a->freed_allocs), "freed_bytes", json_u64(a->freed_bytes),
	    "avg_lifetime_ns", json_u64(a->freed_allocs ? a->lifetime_ns / a->freed_allocs : 0),
	    "untracked_allocs", json_u64(a->untracked_allocs));

	set(&o, "growth_bytes_per_s", fit_json(a->growth_fitted, a->growth_bytes_per_s));
	set(&o, "growth_r2", fit_json(a->growth_fitted, a->growth_r2));
	set(&o, "outstanding_series", series_json(a->series, a->n_series));
	return o;
}

static json_t *memory_json(const struct report_memory *m)
{
	json_t *o = json_pack(
	    "{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "pid", m->pid, "comm",
	    json_str(m->comm), "rss_bytes", series_json(m->rss_bytes, m->n), "minor_faults",
	    series_json(m->minor_faults, m->n), "major_faults", series_json(m->major_faults, m->n),
	    "peak_rss_bytes", json_u64(m->peak_rss_bytes), "rss_hwm_bytes",
	    json_u64(m->hwm_rss_bytes), "minor_faults_total", json_u64(m->minor_faults_total),
	    "major_faults_total", json_u64(m->major_faults_total));

	set(&o, "rss_growth_bytes_per_s", fit_json(m->growth_fitted, m->rss_growth_bytes_per_s));
	set(&o, "rss_growth_r2", fit_json(m->growth_fitted, m->rss_growth_r2));
	return o;
}

/* The memory collector's overhead fields: its sample rate, untracked frees, probed calls. */
static void overhead_mem_json(json_t **o, const struct report *r)
{
	json_t *calls = json_object();

	for (size_t i = 0; calls && i < REPORT_MEM_FUNCS; i++)
		set(&calls, report_mem_func__name(i), json_u64(r->mem_calls[i]));
	set(o, "mem_sample", json_u64(r->mem_enabled ? r->mem_sample : 0));
	set(o, "mem_untracked_frees", json_u64(r->mem_untracked_frees));
	set(o, "mem_calls", calls);
}

/* ---- end of the memory collector's part ---- */

/* {cause: count}; a cause listed twice is summed rather than silently overwritten. */
static json_t *counts_json(const struct report_drop *list, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; o && list && i < n; i++) {
		const char *cause = list[i].cause ? list[i].cause : "unknown";
		json_t *prev = json_object_get(o, cause);
		uint64_t count = list[i].count;

		if (prev)
			count += (uint64_t)json_integer_value(prev);
		set(&o, cause, json_u64(count));
	}
	return o;
}

static json_t *overhead_json(const struct report_overhead *oh)
{
	json_t *programs = json_array(), *o;
	size_t i;

	for (i = 0; programs && oh->programs && i < oh->n_programs; i++) {
		const struct report_program *p = &oh->programs[i];

		append(&programs,
		       json_pack("{s:o, s:o, s:o}", "name", json_str(p->name), "runs",
				 json_u64(p->runs), "run_time_ns", json_u64(p->run_time_ns)));
	}
	o = json_pack("{s:o, s:o}", "programs", programs, "dropped",
		      counts_json(oh->drops, oh->n_drops));
	/* Only when something was rebuilt: reports without it keep their bytes. */
	if (oh->n_recovered)
		set(&o, "recovered", counts_json(oh->recovered, oh->n_recovered));
	if (oh->offcpu_user_stacks)
		set(&o, "offcpu_user_stacks", json_str(oh->offcpu_user_stacks));
	return o;
}

/* The impact boundaries the severities were given with. */
static json_t *severity_json(void)
{
	struct severity_thresholds t = severity__thresholds();

	return json_pack("{s:o, s:o, s:o}", "critical", json_num(t.critical), "high",
			 json_num(t.high), "medium", json_num(t.medium));
}

/* ---- On-CPU sampling: cpu_frequency_hz .. cpu_warnings (docs/report-json.md) ---- */

static json_t *cpu_json(const struct report_cpu *c)
{
	return json_pack("{s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:o, s:s}", "pid",
			 c->pid, "tid", c->tid, "comm", json_str(c->comm), "samples",
			 json_u64(c->samples), "oncpu_ns", json_u64(c->oncpu_ns), "kernel_stack",
			 stack_json(&c->kernel_stack), "user_stack", stack_json(&c->user_stack),
			 "kernel_stack_truncated", c->kernel_stack.truncated,
			 "user_stack_truncated", c->user_stack.truncated, "user_stack_incomplete",
			 c->user_incomplete, "impact", json_num(c->impact), "severity",
			 severity__name(c->severity));
}

/* The hot lines of function f: [{"file", "line", "samples"}], most samples first. */
static json_t *cpu_lines_json(const struct report *r, const struct report_cpu_function *f)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && !f->kernel && r->cpu_lines && i < r->n_cpu_lines; i++) {
		const struct report_cpu_line *l = &r->cpu_lines[i];

		if (l->function && !strcmp(l->function, f->name))
			append(&arr, json_pack("{s:o, s:i, s:o}", "file", json_str(l->file), "line",
					       (int)l->line, "samples", json_u64(l->samples)));
	}
	return arr;
}

static json_t *cpu_function_json(const struct report *r, const struct report_cpu_function *f)
{
	/* name kind binary | self total | self_ns total_ns | impacts severity | lines */
	return json_pack("{s:o, s:s, s:o,  s:o, s:o,  s:o, s:o,  s:o, s:o, s:s,  s:o}", "name",
			 json_str(f->name), "kind", f->kernel ? "kernel" : "user", "binary",
			 json_str(f->binary), "self_samples", json_u64(f->self_samples),
			 "total_samples", json_u64(f->total_samples), "self_ns",
			 json_u64(f->self_ns), "total_ns", json_u64(f->total_ns), "impact",
			 json_num(f->self_impact), "total_impact", json_num(f->total_impact),
			 "severity", severity__name(f->severity), "lines", cpu_lines_json(r, f));
}

static json_t *cpu_warning_json(const struct report_cpu_warning *w)
{
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "kind", "no_frame_pointers", "binary",
			 json_str(w->binary), "samples", json_u64(w->samples), "incomplete_samples",
			 json_u64(w->incomplete_samples), "functions_checked",
			 json_u64(w->functions_checked), "frame_pointer_functions",
			 json_u64(w->fp_functions));
}

/*
 * The report is written as it is built, one top-level member, and one element
 * of each big array, at a time: a tree of the whole report took jansson about
 * 9 KB per thread of sched[] and offcpu[], most of the 206 MiB snag peaked at
 * while writing the report of 10,000 threads. The text is the same as
 * json_dumpf(root, JSON_INDENT(2) | ...) of that tree would be.
 */
#define JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))

struct json_writer {
	FILE *out;
	int err;	   /* the first failure: -ENOMEM, or the stream's */
	bool first_member; /* of the root object */
	bool first_elem;   /* of the array being written */
};

static void jw_fail(struct json_writer *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* v (stolen) as text, each line after the first indented by depth levels. */
static void jw_dump(struct json_writer *w, json_t *v, int depth)
{
	char *s, *p;

	if (!v) {
		jw_fail(w, -ENOMEM);
		return;
	}
	s = w->err ? NULL : json_dumps(v, JSON_FLAGS | JSON_ENCODE_ANY);
	json_decref(v);
	if (!s) {
		jw_fail(w, -ENOMEM);
		return;
	}
	for (p = s; *p; p++) {
		/* JSON strings escape their newlines: every raw one ends a line of the layout. */
		if (fputc(*p, w->out) == EOF)
			break;
		if (*p == '\n')
			fprintf(w->out, "%*s", depth * 2, "");
	}
	free(s);
}

static void jw_key(struct json_writer *w, const char *key)
{
	fprintf(w->out, "%s\n  \"%s\": ", w->first_member ? "{" : ",", key);
	w->first_member = false;
}

/* A member of the root object whose value is v (stolen). */
static void jw_member(struct json_writer *w, const char *key, json_t *v)
{
	jw_key(w, key);
	jw_dump(w, v, 1);
}

static void jw_array_begin(struct json_writer *w, const char *key)
{
	jw_key(w, key);
	fputc('[', w->out);
	w->first_elem = true;
}

static void jw_elem(struct json_writer *w, json_t *v)
{
	fputs(w->first_elem ? "\n    " : ",\n    ", w->out);
	w->first_elem = false;
	jw_dump(w, v, 2);
}

static void jw_array_end(struct json_writer *w)
{
	if (!w->first_elem)
		fputs("\n  ", w->out);
	fputc(']', w->out);
}

/* Member key: the array of build evaluated for _i in [0, n) over the C array arr. */
#define JW_ARRAY(w, key, arr, n, build)                                                            \
	do {                                                                                       \
		jw_array_begin(w, key);                                                            \
		for (size_t _i = 0; !(w)->err && (arr) && _i < (n); _i++)                          \
			jw_elem(w, build);                                                         \
		jw_array_end(w);                                                                   \
	} while (0)

int render__json(const struct report *r, FILE *out)
{
	struct json_writer w = {.out = out, .first_member = true};
	json_t *oh;

	jw_member(&w, "schema", json_string(REPORT_SCHEMA));
	jw_member(&w, "snag_version", json_str(r->snag_version));
	jw_member(&w, "hostname", json_str(r->hostname));
	jw_member(&w, "kernel", json_str(r->kernel));
	jw_member(&w, "start_time", json_rfc3339(r->start_time_ns));
	jw_member(&w, "duration_ns", json_u64(r->duration_ns));
	jw_member(&w, "target", target_json(&r->target));
	jw_member(&w, "traced_threads", json_u64(r->traced_threads));
	jw_member(&w, "traced_thread_ns", json_u64(r->traced_thread_ns));
	jw_member(&w, "sched_thread_ns", json_u64(r->sched_thread_ns));
	jw_member(&w, "min_block_ns", json_u64(r->min_block_ns));
	/* The --small-io default may be set whether or not the collector ran. */
	jw_member(&w, "small_io_bytes", json_u64(r->io_enabled ? r->small_io_bytes : 0));
	jw_member(&w, "severity_thresholds", severity_json());
	JW_ARRAY(&w, "intervals", r->intervals, r->n_intervals,
		 interval_json(r, &r->intervals[_i]));
	JW_ARRAY(&w, "functions", r->functions, r->n_functions, function_json(&r->functions[_i]));
	JW_ARRAY(&w, "offcpu", r->offcpu, r->n_offcpu, offcpu_json(&r->offcpu[_i]));
	JW_ARRAY(&w, "sched", r->sched, r->n_sched, sched_json(&r->sched[_i]));
	jw_member(&w, "breakdown", breakdown_array(r));
	JW_ARRAY(&w, "block_io", r->block_io, r->n_block_io, block_io_json(&r->block_io[_i]));
	JW_ARRAY(&w, "net_io", r->net_io, r->n_net_io, net_io_json(&r->net_io[_i]));
	JW_ARRAY(&w, "net_connections", r->net_conns, r->n_net_conns,
		 net_conn_json(&r->net_conns[_i]));
	JW_ARRAY(&w, "syscall_io", r->syscall_io, r->n_syscall_io,
		 syscall_io_json(&r->syscall_io[_i]));
	JW_ARRAY(&w, "allocations", r->allocations, r->n_allocations,
		 allocation_json(&r->allocations[_i]));
	JW_ARRAY(&w, "memory", r->memory, r->n_memory, memory_json(&r->memory[_i]));
	JW_ARRAY(&w, "bottlenecks", r->bottlenecks, r->n_bottlenecks,
		 bottleneck_json(&r->bottlenecks[_i]));
	oh = overhead_json(&r->overhead);
	if (oh)
		overhead_mem_json(&oh, r);
	jw_member(&w, "overhead", oh);
	jw_member(&w, "cpu_frequency_hz", json_u64(r->cpu_enabled ? r->cpu_frequency_hz : 0));
	jw_member(&w, "cpu_period_ns", json_u64(r->cpu_enabled ? r->cpu_period_ns : 0));
	JW_ARRAY(&w, "cpu", r->cpu, r->n_cpu, cpu_json(&r->cpu[_i]));
	JW_ARRAY(&w, "cpu_functions", r->cpu_functions, r->n_cpu_functions,
		 cpu_function_json(r, &r->cpu_functions[_i]));
	JW_ARRAY(&w, "cpu_warnings", r->cpu_warnings, r->n_cpu_warnings,
		 cpu_warning_json(&r->cpu_warnings[_i]));
	fputs("\n}\n", out);
	if (!w.err && ferror(out))
		w.err = errno ? -errno : -EIO;
	return w.err;
}
