/* The report model: allocation, filling, severity/format helpers and histogram percentiles. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "analysis.h"
#include "report.h"

#ifndef SNAG_VERSION
#define SNAG_VERSION "unknown"
#endif

/* strdup() that maps NULL to NULL; returns -ENOMEM through *err on failure. */
static char *dup_or_null(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

size_t report__array_capacity(size_t n)
{
	size_t cap = 1;

	if (!n)
		return 0;
	while (cap < n && cap <= SIZE_MAX / 2)
		cap *= 2;
	return cap < n ? n : cap;
}

/*
 * Grow *arr (of *n elements of size elem) by one zeroed element. Returns a
 * pointer to the new element (and bumps *n), or NULL with errno = ENOMEM.
 * Every array of the model holds report__array_capacity(*n) elements (the
 * reader allocates them so too): it is reallocated only when that doubles, so
 * collecting a report of many rows stays linear.
 */
static void *append_elem(void **arr, size_t *n, size_t elem)
{
	size_t cap = report__array_capacity(*n + 1);
	void *na = *arr;

	if (*n >= SIZE_MAX / elem - 1 || cap > SIZE_MAX / elem) {
		errno = ENOMEM;
		return NULL;
	}
	if (cap != report__array_capacity(*n)) {
		na = realloc(*arr, cap * elem);
		if (!na) {
			errno = ENOMEM;
			return NULL;
		}
		*arr = na;
	}
	memset((char *)na + *n * elem, 0, elem);
	return (char *)na + (*n)++ * elem;
}

struct report *report__new(void)
{
	struct report *r = calloc(1, sizeof(*r));
	char host[256] = "";
	struct utsname uts;
	int err = 0;

	if (!r)
		return NULL;
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	if (uname(&uts) < 0)
		uts.release[0] = '\0';
	r->snag_version = dup_or_null(SNAG_VERSION, &err);
	r->hostname = dup_or_null(host, &err);
	r->kernel = dup_or_null(uts.release, &err);
	if (err) {
		report__free(r);
		errno = -err;
		return NULL;
	}
	return r;
}

/* Free the frames a stack owns and leave it empty. */
static void stack_clear(struct report_stack *st)
{
	size_t i;

	for (i = 0; st->frames && i < st->n_frames; i++)
		free(st->frames[i]);
	free(st->frames);
	st->frames = NULL;
	st->n_frames = 0;
	st->truncated = false;
}

static void offcpu_free(struct report_offcpu *o)
{
	free(o->comm);
	free(o->waker_comm);
	stack_clear(&o->kernel_stack);
	stack_clear(&o->user_stack);
	stack_clear(&o->waker_kernel_stack);
	stack_clear(&o->waker_user_stack);
}

/* FNV-1a over a stack's frame names. */
static uint64_t stack_hash(uint64_t h, const struct report_stack *st)
{
	for (size_t i = 0; st->frames && i < st->n_frames; i++) {
		for (const char *c = st->frames[i] ? st->frames[i] : ""; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;
	}
	return (h ^ 0xfe) * 1099511628211ull;
}

static uint64_t offcpu_hash(const struct report_offcpu *o)
{
	uint64_t h = 14695981039346656037ull;

	h = (h ^ (uint64_t)(uint32_t)o->pid) * 1099511628211ull;
	h = (h ^ (uint64_t)(uint32_t)o->tid) * 1099511628211ull;
	h = (h ^ (uint64_t)o->reason) * 1099511628211ull;
	h = (h ^ (uint64_t)(uint32_t)o->waker_tid) * 1099511628211ull;
	h = stack_hash(h, &o->kernel_stack);
	return stack_hash(h, &o->user_stack);
}

static bool stack_equal(const struct report_stack *a, const struct report_stack *b)
{
	if (a->n_frames != b->n_frames || a->truncated != b->truncated)
		return false;
	for (size_t i = 0; i < a->n_frames; i++)
		if (strcmp(a->frames[i] ? a->frames[i] : "", b->frames[i] ? b->frames[i] : ""))
			return false;
	return true;
}

struct hashed {
	uint64_t h;
	size_t i;
};

static int cmp_hashed(const void *a, const void *b)
{
	const struct hashed *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

int report__merge_offcpu(struct report *r)
{
	struct hashed *hs;
	bool *gone;
	size_t n = r ? r->n_offcpu : 0, out = 0;

	if (n < 2)
		return 0;
	hs = calloc(n, sizeof(*hs));
	gone = calloc(n, sizeof(*gone));
	if (!hs || !gone) {
		free(hs);
		free(gone);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		hs[i] = (struct hashed){offcpu_hash(&r->offcpu[i]), i};
	qsort(hs, n, sizeof(*hs), cmp_hashed);
	for (size_t a = 0; a < n; a++) {
		struct report_offcpu *keep = &r->offcpu[hs[a].i];

		if (gone[hs[a].i])
			continue;
		for (size_t b = a + 1; b < n && hs[b].h == hs[a].h; b++) {
			struct report_offcpu *o = &r->offcpu[hs[b].i];

			if (gone[hs[b].i] || o->pid != keep->pid || o->tid != keep->tid ||
			    o->reason != keep->reason || o->waker_tid != keep->waker_tid ||
			    !stack_equal(&o->kernel_stack, &keep->kernel_stack) ||
			    !stack_equal(&o->user_stack, &keep->user_stack))
				continue;
			keep->count += o->count;
			keep->total_ns += o->total_ns;
			if (o->max_ns > keep->max_ns)
				keep->max_ns = o->max_ns;
			gone[hs[b].i] = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (gone[i]) {
			offcpu_free(&r->offcpu[i]);
			continue;
		}
		r->offcpu[out++] = r->offcpu[i];
	}
	r->n_offcpu = out;
	free(hs);
	free(gone);
	return 0;
}

static void report__free_cpu(struct report *r);

/* The memory collector's sections. */
static void report__free_mem(struct report *r)
{
	for (size_t i = 0; i < r->n_allocations; i++) {
		free(r->allocations[i].comm);
		free(r->allocations[i].source);
		stack_clear(&r->allocations[i].stack);
		free(r->allocations[i].series);
	}
	free(r->allocations);
	for (size_t i = 0; i < r->n_memory; i++) {
		free(r->memory[i].comm);
		free(r->memory[i].rss_bytes);
		free(r->memory[i].minor_faults);
		free(r->memory[i].major_faults);
	}
	free(r->memory);
}

void report__free(struct report *r)
{
	size_t i;

	if (!r)
		return;
	free(r->snag_version);
	free(r->hostname);
	free(r->kernel);
	free(r->target.pids);
	free(r->target.command);
	free(r->target.cgroup);
	for (i = 0; i < r->target.n_specs; i++)
		free(r->target.specs[i]);
	free(r->target.specs);
	for (i = 0; i < r->n_functions; i++) {
		free(r->functions[i].binary);
		free(r->functions[i].name);
	}
	free(r->functions);
	for (i = 0; i < r->n_intervals; i++) {
		free(r->intervals[i].funcs);
		free(r->intervals[i].procs);
	}
	free(r->intervals);
	analysis__clear_bottlenecks(r);
	for (i = 0; i < r->overhead.n_programs; i++)
		free(r->overhead.programs[i].name);
	free(r->overhead.programs);
	for (i = 0; i < r->overhead.n_drops; i++)
		free(r->overhead.drops[i].cause);
	free(r->overhead.drops);
	for (i = 0; i < r->overhead.n_recovered; i++)
		free(r->overhead.recovered[i].cause);
	free(r->overhead.recovered);
	free(r->overhead.offcpu_user_stacks);
	for (i = 0; i < r->n_sched; i++)
		free(r->sched[i].comm);
	free(r->sched);
	for (i = 0; i < r->n_offcpu; i++)
		offcpu_free(&r->offcpu[i]);
	free(r->offcpu);
	for (i = 0; i < r->n_block_io; i++) {
		free(r->block_io[i].comm);
		free(r->block_io[i].device);
		free(r->block_io[i].op);
	}
	free(r->block_io);
	for (i = 0; i < r->n_net_io; i++) {
		free(r->net_io[i].comm);
		free(r->net_io[i].protocol);
		free(r->net_io[i].family);
		free(r->net_io[i].type);
	}
	free(r->net_io);
	for (i = 0; i < r->n_net_conns; i++) {
		free(r->net_conns[i].comm);
		free(r->net_conns[i].family);
		free(r->net_conns[i].local);
		free(r->net_conns[i].remote);
	}
	free(r->net_conns);
	for (i = 0; i < r->n_syscall_io; i++) {
		free(r->syscall_io[i].comm);
		free(r->syscall_io[i].syscall);
		free(r->syscall_io[i].fd_type);
	}
	free(r->syscall_io);
	report__free_mem(r);
	report__free_cpu(r);
	free(r);
}

struct report_function *report__add_function(struct report *r, const char *binary, const char *name,
					     uint64_t address)
{
	struct report_function *f;
	char *b, *n;
	int err = 0;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	b = dup_or_null(binary, &err);
	n = dup_or_null(name, &err);
	f = err ? NULL : append_elem((void **)&r->functions, &r->n_functions, sizeof(*f));
	if (!f) {
		free(b);
		free(n);
		errno = ENOMEM;
		return NULL;
	}
	f->binary = b;
	f->name = n;
	f->address = address;
	return f;
}

int report__add_interval(struct report *r, uint64_t offset_ns, uint64_t duration_ns,
			 const struct report_interval_func *funcs, size_t n_funcs)
{
	struct report_interval_func *copy = NULL;
	struct report_interval *iv;

	if (!r || (n_funcs && !funcs))
		return -EINVAL;
	if (n_funcs) {
		copy = calloc(n_funcs, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, funcs, n_funcs * sizeof(*copy));
	}
	iv = append_elem((void **)&r->intervals, &r->n_intervals, sizeof(*iv));
	if (!iv) {
		free(copy);
		return -ENOMEM;
	}
	iv->offset_ns = offset_ns;
	iv->duration_ns = duration_ns;
	iv->funcs = copy;
	iv->n_funcs = n_funcs;
	return 0;
}

int report__set_interval_procs(struct report *r, const struct report_interval_proc *procs, size_t n)
{
	struct report_interval *iv;
	struct report_interval_proc *copy = NULL;

	if (!r || !r->n_intervals || (n && !procs))
		return -EINVAL;
	if (n) {
		copy = calloc(n, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, procs, n * sizeof(*copy));
	}
	iv = &r->intervals[r->n_intervals - 1];
	free(iv->procs);
	iv->procs = copy;
	iv->n_procs = n;
	return 0;
}

int report__add_program(struct report *r, const char *name, uint64_t runs, uint64_t run_time_ns)
{
	struct report_program *p;
	char *n;
	int err = 0;

	if (!r)
		return -EINVAL;
	n = dup_or_null(name, &err);
	if (err)
		return err;
	p = append_elem((void **)&r->overhead.programs, &r->overhead.n_programs, sizeof(*p));
	if (!p) {
		free(n);
		return -ENOMEM;
	}
	p->name = n;
	p->runs = runs;
	p->run_time_ns = run_time_ns;
	return 0;
}

static int add_count(struct report_drop **list, size_t *n, const char *cause, uint64_t count)
{
	struct report_drop *d;
	char *c;
	int err = 0;

	c = dup_or_null(cause, &err);
	if (err)
		return err;
	d = append_elem((void **)list, n, sizeof(*d));
	if (!d) {
		free(c);
		return -ENOMEM;
	}
	d->cause = c;
	d->count = count;
	return 0;
}

int report__add_drop(struct report *r, const char *cause, uint64_t count)
{
	if (!r)
		return -EINVAL;
	return add_count(&r->overhead.drops, &r->overhead.n_drops, cause, count);
}

int report__add_recovered(struct report *r, const char *cause, uint64_t count)
{
	if (!r)
		return -EINVAL;
	return add_count(&r->overhead.recovered, &r->overhead.n_recovered, cause, count);
}

/* Append a zeroed element of elem bytes with a copy of comm (*comm_copy); NULL with errno set. */
static void *append_with_comm(void **arr, size_t *n, size_t elem, const char *comm,
			      char **comm_copy)
{
	int err = 0;
	char *c = dup_or_null(comm, &err);
	void *e = err ? NULL : append_elem(arr, n, elem);

	if (!e) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	*comm_copy = c;
	return e;
}

struct report_thread_sched *report__add_sched(struct report *r, int pid, int tid, const char *comm)
{
	struct report_thread_sched *t;
	char *c;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	t = append_with_comm((void **)&r->sched, &r->n_sched, sizeof(*t), comm, &c);
	if (!t)
		return NULL;
	t->pid = pid;
	t->tid = tid;
	t->comm = c;
	return t;
}

struct report_offcpu *report__add_offcpu(struct report *r, int pid, int tid, const char *comm,
					 enum offcpu_reason reason)
{
	struct report_offcpu *o;
	char *c;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	o = append_with_comm((void **)&r->offcpu, &r->n_offcpu, sizeof(*o), comm, &c);
	if (!o)
		return NULL;
	o->pid = pid;
	o->tid = tid;
	o->comm = c;
	o->reason = reason;
	return o;
}

/* Copy each of n strings (NULL stays NULL) into out[]. Returns 0, or -ENOMEM with none kept. */
static int dup_strings(const char *const *in, char **out, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n; i++)
		out[i] = dup_or_null(in[i], &err);
	if (err)
		for (size_t i = 0; i < n; i++) {
			free(out[i]);
			out[i] = NULL;
		}
	return err;
}

/*
 * Append a zeroed element of elem bytes to *arr and copy n strings into it,
 * each at the offset given; NULL with errno set (nothing appended).
 */
static void *append_with_strings(void **arr, size_t *n, size_t elem, const char *const *strs,
				 const size_t *offsets, size_t n_strs)
{
	char *copies[8] = {0};
	char *e;

	if (n_strs > 8 || dup_strings(strs, copies, n_strs)) {
		errno = ENOMEM;
		return NULL;
	}
	e = append_elem(arr, n, elem);
	if (!e) {
		for (size_t i = 0; i < n_strs; i++)
			free(copies[i]);
		return NULL;
	}
	for (size_t i = 0; i < n_strs; i++)
		memcpy(e + offsets[i], &copies[i], sizeof(char *));
	return e;
}

struct report_block_io *report__add_block_io(struct report *r, int pid, const char *comm,
					     const char *device, const char *op)
{
	const char *strs[] = {comm, device, op};
	const size_t offs[] = {offsetof(struct report_block_io, comm),
			       offsetof(struct report_block_io, device),
			       offsetof(struct report_block_io, op)};
	struct report_block_io *b;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	b = append_with_strings((void **)&r->block_io, &r->n_block_io, sizeof(*b), strs, offs, 3);
	if (b)
		b->pid = pid;
	return b;
}

struct report_net_io *report__add_net_io(struct report *r, int pid, const char *comm,
					 const char *protocol, const char *family, const char *type,
					 enum net_direction dir)
{
	const char *strs[] = {comm, protocol, family, type};
	const size_t offs[] = {
	    offsetof(struct report_net_io, comm), offsetof(struct report_net_io, protocol),
	    offsetof(struct report_net_io, family), offsetof(struct report_net_io, type)};
	struct report_net_io *n;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	n = append_with_strings((void **)&r->net_io, &r->n_net_io, sizeof(*n), strs, offs, 4);
	if (n) {
		n->pid = pid;
		n->direction = dir;
	}
	return n;
}

struct report_net_conn *report__add_net_conn(struct report *r, int pid, const char *comm,
					     const char *family, const char *local,
					     const char *remote)
{
	const char *strs[] = {comm, family, local, remote};
	const size_t offs[] = {
	    offsetof(struct report_net_conn, comm), offsetof(struct report_net_conn, family),
	    offsetof(struct report_net_conn, local), offsetof(struct report_net_conn, remote)};
	struct report_net_conn *c;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	c = append_with_strings((void **)&r->net_conns, &r->n_net_conns, sizeof(*c), strs, offs, 4);
	if (c)
		c->pid = pid;
	return c;
}

struct report_syscall_io *report__add_syscall_io(struct report *r, int pid, const char *comm,
						 const char *syscall, const char *fd_type)
{
	const char *strs[] = {comm, syscall, fd_type};
	const size_t offs[] = {offsetof(struct report_syscall_io, comm),
			       offsetof(struct report_syscall_io, syscall),
			       offsetof(struct report_syscall_io, fd_type)};
	struct report_syscall_io *sio;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	sio = append_with_strings((void **)&r->syscall_io, &r->n_syscall_io, sizeof(*sio), strs,
				  offs, 3);
	if (sio)
		sio->pid = pid;
	return sio;
}

/* ---- On-CPU sampling ---- */

static void cpu_free(struct report_cpu *c)
{
	free(c->comm);
	stack_clear(&c->kernel_stack);
	stack_clear(&c->user_stack);
}

/* Free everything the on-CPU sections own and leave them empty. */
static void report__free_cpu(struct report *r)
{
	size_t i;

	for (i = 0; i < r->n_cpu; i++)
		cpu_free(&r->cpu[i]);
	free(r->cpu);
	for (i = 0; i < r->n_cpu_lines; i++) {
		free(r->cpu_lines[i].function);
		free(r->cpu_lines[i].binary);
		free(r->cpu_lines[i].file);
	}
	free(r->cpu_lines);
	for (i = 0; i < r->n_cpu_warnings; i++)
		free(r->cpu_warnings[i].binary);
	free(r->cpu_warnings);
	for (i = 0; i < r->n_cpu_functions; i++) {
		free(r->cpu_functions[i].name);
		free(r->cpu_functions[i].binary);
	}
	free(r->cpu_functions);
	r->cpu = NULL;
	r->cpu_lines = NULL;
	r->cpu_warnings = NULL;
	r->cpu_functions = NULL;
	r->n_cpu = r->n_cpu_lines = r->n_cpu_warnings = r->n_cpu_functions = 0;
}

struct report_cpu *report__add_cpu(struct report *r, int pid, int tid, const char *comm)
{
	struct report_cpu *c;
	char *copy;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	c = append_with_comm((void **)&r->cpu, &r->n_cpu, sizeof(*c), comm, &copy);
	if (!c)
		return NULL;
	c->pid = pid;
	c->tid = tid;
	c->comm = copy;
	return c;
}

int report__add_cpu_line(struct report *r, const char *function, const char *binary,
			 const char *file, uint32_t line, uint64_t samples)
{
	const char *strs[] = {function, binary, file};
	const size_t offs[] = {offsetof(struct report_cpu_line, function),
			       offsetof(struct report_cpu_line, binary),
			       offsetof(struct report_cpu_line, file)};
	struct report_cpu_line *l;

	if (!r)
		return -EINVAL;
	l = append_with_strings((void **)&r->cpu_lines, &r->n_cpu_lines, sizeof(*l), strs, offs, 3);
	if (!l)
		return -ENOMEM;
	l->line = line;
	l->samples = samples;
	return 0;
}

struct report_cpu_warning *report__add_cpu_warning(struct report *r, const char *binary)
{
	const char *strs[] = {binary};
	const size_t offs[] = {offsetof(struct report_cpu_warning, binary)};

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	return append_with_strings((void **)&r->cpu_warnings, &r->n_cpu_warnings,
				   sizeof(struct report_cpu_warning), strs, offs, 1);
}

static uint64_t cpu_hash(const struct report_cpu *c)
{
	uint64_t h = 14695981039346656037ull;

	h = (h ^ (uint64_t)(uint32_t)c->pid) * 1099511628211ull;
	h = (h ^ (uint64_t)(uint32_t)c->tid) * 1099511628211ull;
	h = stack_hash(h, &c->kernel_stack);
	return stack_hash(h, &c->user_stack);
}

int report__merge_cpu(struct report *r)
{
	struct hashed *hs;
	bool *gone;
	size_t n = r ? r->n_cpu : 0, out = 0;

	if (n < 2)
		return 0;
	hs = calloc(n, sizeof(*hs));
	gone = calloc(n, sizeof(*gone));
	if (!hs || !gone) {
		free(hs);
		free(gone);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		hs[i] = (struct hashed){cpu_hash(&r->cpu[i]), i};
	qsort(hs, n, sizeof(*hs), cmp_hashed);
	for (size_t a = 0; a < n; a++) {
		struct report_cpu *keep = &r->cpu[hs[a].i];

		if (gone[hs[a].i])
			continue;
		for (size_t b = a + 1; b < n && hs[b].h == hs[a].h; b++) {
			struct report_cpu *c = &r->cpu[hs[b].i];

			if (gone[hs[b].i] || c->pid != keep->pid || c->tid != keep->tid ||
			    c->user_incomplete != keep->user_incomplete ||
			    !stack_equal(&c->kernel_stack, &keep->kernel_stack) ||
			    !stack_equal(&c->user_stack, &keep->user_stack))
				continue;
			keep->samples += c->samples;
			gone[hs[b].i] = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (gone[i]) {
			cpu_free(&r->cpu[i]);
			continue;
		}
		r->cpu[out++] = r->cpu[i];
	}
	r->n_cpu = out;
	free(hs);
	free(gone);
	return 0;
}

/* ---- Memory collector ---- */

struct report_allocation *report__add_allocation(struct report *r, int pid, const char *comm,
						 const char *source)
{
	const char *strs[] = {comm, source};
	const size_t offs[] = {offsetof(struct report_allocation, comm),
			       offsetof(struct report_allocation, source)};
	struct report_allocation *a;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	a = append_with_strings((void **)&r->allocations, &r->n_allocations, sizeof(*a), strs, offs,
				2);
	if (a)
		a->pid = pid;
	return a;
}

struct report_memory *report__add_memory(struct report *r, int pid, const char *comm, size_t n)
{
	int64_t *series[3];
	struct report_memory *m;
	char *c;

	if (!r) {
		errno = EINVAL;
		return NULL;
	}
	for (int k = 0; k < 3; k++) {
		series[k] = malloc((n ? n : 1) * sizeof(int64_t));
		for (size_t i = 0; series[k] && i < n; i++)
			series[k][i] = REPORT_SERIES_NONE;
	}
	m = series[0] && series[1] && series[2]
		? append_with_comm((void **)&r->memory, &r->n_memory, sizeof(*m), comm, &c)
		: NULL;
	if (!m) {
		for (int k = 0; k < 3; k++)
			free(series[k]);
		errno = ENOMEM;
		return NULL;
	}
	m->pid = pid;
	m->comm = c;
	m->rss_bytes = series[0];
	m->minor_faults = series[1];
	m->major_faults = series[2];
	m->n = n;
	return m;
}

const char *report_mem_func__name(size_t i)
{
	static const char *const names[REPORT_MEM_FUNCS] = {
	    "malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "free",
	};

	return i < REPORT_MEM_FUNCS ? names[i] : "other";
}

const char *wait_kind__name(enum wait_kind w)
{
	static const char *const names[WAIT__COUNT] = {
	    [WAIT_OTHER] = "other", [WAIT_BLOCK_IO] = "block_io", [WAIT_NET] = "network",
	    [WAIT_LOCK] = "lock",   [WAIT_SLEEP] = "sleep",	  [WAIT_EVENTS] = "events",
	};

	return (unsigned)w < WAIT__COUNT ? names[w] : "other";
}

const char *net_direction__name(enum net_direction d)
{
	return d == NET_RECV ? "recv" : "send";
}

/* As documented in report.h. */
const char *report__frame_function(const char *frame, char *buf, size_t len)
{
	const char *plus = frame ? strrchr(frame, '+') : NULL, *p;
	size_t mod;

	if (!plus || plus == frame || plus[1] != '0' || plus[2] != 'x' || !plus[3])
		return frame;
	for (p = plus + 3; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return frame;
	mod = (size_t)(plus - frame);
	if (frame[0] == '[' && frame[mod - 1] == ']')
		snprintf(buf, len, "%.*s", (int)mod, frame); /* [vdso], [unknown], [heap] ... */
	else
		snprintf(buf, len, "[unknown] in %.*s", (int)mod, frame);
	return buf;
}

/* As documented in report.h; a NULL name is stored as "[unknown]". On failure st is unchanged. */
int report_stack__set(struct report_stack *st, const char *const *frames, size_t n, bool truncated)
{
	char **copy = NULL;
	size_t i;

	if (!st || (n && !frames))
		return -EINVAL;
	if (n) {
		copy = calloc(n, sizeof(*copy));
		if (!copy)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		copy[i] = strdup(frames[i] ? frames[i] : "[unknown]");
		if (!copy[i]) {
			while (i--)
				free(copy[i]);
			free(copy);
			return -ENOMEM;
		}
	}
	stack_clear(st);
	st->frames = copy;
	st->n_frames = n;
	st->truncated = truncated;
	return 0;
}

const char *offcpu_reason__name(enum offcpu_reason r)
{
	switch (r) {
	case OFFCPU_BLOCKED:
		return "blocked";
	case OFFCPU_PREEMPTED:
		return "preempted";
	}
	return "unknown";
}

void report__finish(struct report *r)
{
	size_t i;

	if (!r)
		return;
	/* Entries whose raw stacks differed but name the same frames are one wait. */
	report__merge_offcpu(r);
	/* Scheduler first: it settles sched_thread_ns, the impact denominator when present. */
	analysis__derive_sched(r);
	for (i = 0; i < r->n_functions; i++)
		analysis__derive_function(&r->functions[i], analysis__thread_time(r));
	analysis__derive_io(r);
	analysis__derive_cpu(r);
	analysis__derive_mem(r);
	/* These steps degrade gracefully on ENOMEM: unsorted rows, fewer bottlenecks. */
	analysis__sort_functions(r);
	analysis__sort_sched(r);
	analysis__sort_io(r);
	analysis__sort_mem(r);
	analysis__build_bottlenecks(r);
}

const char *severity__name(enum severity s)
{
	switch (s) {
	case SEVERITY_LOW:
		return "low";
	case SEVERITY_MEDIUM:
		return "medium";
	case SEVERITY_HIGH:
		return "high";
	case SEVERITY_CRITICAL:
		return "critical";
	}
	return "unknown";
}

/* The impact boundaries (exclusive) of critical, high and medium: DESIGN.md's, or --severity. */
static struct severity_thresholds thresholds = {0.5, 0.2, 0.1};

int severity__set_thresholds(const struct severity_thresholds *t)
{
	if (!t ||
	    !(t->medium > 0 && t->medium < t->high && t->high < t->critical && t->critical <= 1))
		return -EINVAL;
	thresholds = *t;
	return 0;
}

struct severity_thresholds severity__thresholds(void)
{
	return thresholds;
}

enum severity severity__from_impact(double impact)
{
	if (impact > thresholds.critical)
		return SEVERITY_CRITICAL;
	if (impact > thresholds.high)
		return SEVERITY_HIGH;
	if (impact > thresholds.medium)
		return SEVERITY_MEDIUM;
	return SEVERITY_LOW; /* also NaN */
}

int report_format__parse(const char *s, enum report_format *out)
{
	if (!s || !out)
		return -EINVAL;
	if (!strcmp(s, "text"))
		*out = FORMAT_TEXT;
	else if (!strcmp(s, "json"))
		*out = FORMAT_JSON;
	else if (!strcmp(s, "folded"))
		*out = FORMAT_FOLDED;
	else if (!strcmp(s, "html"))
		*out = FORMAT_HTML;
	else if (!strcmp(s, "pprof"))
		*out = FORMAT_PPROF;
	else
		return -EINVAL;
	return 0;
}

bool report_format__is_binary(enum report_format f)
{
	return f == FORMAT_PPROF;
}

/* A bucket layout of bpf/hist.h: its bucket count and sub-bucket bits. */
struct hist_layout {
	size_t n_buckets;
	__u32 sub_bits;
};

static const struct hist_layout func_layout = {SNAG_HIST_BUCKETS, SNAG_HIST_SUB_BITS};
static const struct hist_layout sched_layout = {SNAG_SCHED_HIST_BUCKETS, SNAG_SCHED_HIST_SUB_BITS};

/*
 * hist__percentile() for any layout: n_buckets is capped at the layout's
 * count. min > max means "unknown": no clamping, no exact top rank.
 */
static uint64_t percentile_l(const struct hist_layout *l, const uint64_t *buckets, size_t n_buckets,
			     double p, uint64_t min, uint64_t max)
{
	uint64_t total = 0, rank, cum = 0, lower, width, v = 0;
	double pos;
	size_t i;

	if (!buckets || !(p > 0))
		return 0;
	if (p > 1)
		p = 1;
	if (n_buckets > l->n_buckets)
		n_buckets = l->n_buckets;
	for (i = 0; i < n_buckets; i++)
		total += buckets[i];
	if (!total)
		return 0;
	rank = (uint64_t)(p * (double)total); /* ceil() without libm */
	if ((double)rank < p * (double)total)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > total)
		rank = total;
	/* The top rank is the largest value, which min/max know exactly. */
	if (rank == total && min <= max)
		return max;
	for (i = 0; i < n_buckets; i++) {
		if (!buckets[i] || cum + buckets[i] < rank) {
			cum += buckets[i];
			continue;
		}
		/*
		 * Spread the bucket's values evenly over [lower, lower + width) and
		 * take the middle of the rank's slot, so width-1 buckets stay exact.
		 */
		lower = snag_hist_lower_l((__u32)i, l->sub_bits);
		width = snag_hist_width_l((__u32)i, l->sub_bits);
		/* The last bucket is open-ended: it reaches up to the max seen. */
		if (i == l->n_buckets - 1 && min <= max && max >= lower + width)
			width = max - lower + 1;
		pos = ((double)(rank - cum) - 0.5) / (double)buckets[i];
		v = lower + (uint64_t)(pos * (double)width);
		if (v - lower >= width)
			v = lower + width - 1;
		break;
	}
	if (min <= max) {
		if (v < min)
			v = min;
		if (v > max)
			v = max;
	}
	return v;
}

/* As documented in report.h; min > max means "unknown": no clamping, no exact top rank. */
uint64_t hist__percentile(const uint64_t *buckets, size_t n_buckets, double p, uint64_t min,
			  uint64_t max)
{
	return percentile_l(&func_layout, buckets, n_buckets, p, min, max);
}

uint64_t hist__percentile_sched(const uint64_t *buckets, double p, uint64_t min, uint64_t max)
{
	return percentile_l(&sched_layout, buckets, SNAG_SCHED_HIST_BUCKETS, p, min, max);
}

uint64_t hist__size_quantile(const uint64_t *buckets, double p)
{
	uint64_t total = 0, rank, seen = 0;

	for (__u32 i = 0; i < SNAG_SIZE_HIST_BUCKETS; i++)
		total += buckets[i];
	if (!total)
		return 0;
	rank = (uint64_t)(p * (double)total + 0.999999);
	if (rank < 1)
		rank = 1;
	for (__u32 i = 0; i < SNAG_SIZE_HIST_BUCKETS; i++) {
		seen += buckets[i];
		if (seen >= rank)
			return snag_size_hist_upper(i);
	}
	return snag_size_hist_upper(SNAG_SIZE_HIST_BUCKETS - 1);
}
