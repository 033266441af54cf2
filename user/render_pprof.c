/* pprof renderer: off-CPU stacks, function times and on-CPU samples as a gzip-compressed
 * profile.proto. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST /* next_in is const: the packed profile is only read */
#include <zlib.h>
#include "profile.pb-c.h"
#include "render.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__Mapping pb_mapping;

/*
 * The value columns of every sample, in this order (docs/exports.md). A
 * profile has one list of sample types, so each kind of sample fills its own
 * columns and leaves the others 0: every column then sums one measure, and
 * `-sample_index=NAME` shows one kind alone. On-CPU samples fill the last
 * two, appended so that the older indices stay valid.
 */
enum value_column {
	VALUE_OFFCPU_NS,   /* offcpu[].total_ns */
	VALUE_BLOCKS,	   /* offcpu[].count */
	VALUE_FUNCTION_NS, /* functions[].inside_ns: recursion counted once */
	VALUE_CALLS,	   /* functions[].count */
	VALUE_CPU_NS,	   /* cpu[]: samples x cpu_period_ns */
	VALUE_SAMPLES,	   /* cpu[].samples */
	N_VALUES,
};

static const struct {
	const char *type, *unit;
} value_types[N_VALUES] = {
    [VALUE_OFFCPU_NS] = {"offcpu", "nanoseconds"},
    [VALUE_BLOCKS] = {"blocks", "count"},
    [VALUE_FUNCTION_NS] = {"function_time", "nanoseconds"},
    [VALUE_CALLS] = {"calls", "count"},
    [VALUE_CPU_NS] = {"cpu", "nanoseconds"},
    [VALUE_SAMPLES] = {"samples", "count"},
};

#define KERNEL_PREFIX	"[k] "	      /* as the text report marks kernel frames */
#define UNKNOWN_FRAME	"[unknown]"   /* a nameless frame, or an entry with no stack at all */
#define TRUNCATED_FRAME "[truncated]" /* where a too-deep stack's outermost frames are missing */
/* Where an incomplete on-CPU user stack's callers would be: the frame-pointer walk lost them. */
#define CALLERS_UNKNOWN_FRAME "[callers unknown: no frame pointers]"
#define MAX_LABELS	      7 /* pid, tid, comm, reason, waker_pid, waker_tid, waker_comm */

/*
 * Every location is in one of two mappings, user space or the kernel, by
 * their address ranges on 64-bit machines. Frames come named: both mappings
 * say so (has_functions), which keeps pprof from looking for binaries to
 * symbolize, and their ranges keep pprof from merging them as adjacent.
 */
enum mapping_id {
	MAPPING_USER = 1,
	MAPPING_KERNEL = 2,
	N_MAPPINGS = 2,
};
#define USER_LIMIT	    0x0000800000000000ull
#define KERNEL_START	    0xffff800000000000ull
#define KERNEL_LIMIT	    0xffffffffffffffffull
#define KERNEL_MAPPING_FILE "[kernel.kallsyms]" /* perf's name; pprof skips "[...]" files */

/* One sample with its labels and values; allocated whole, so the pointers into it stay valid. */
struct sample_rec {
	pb_sample pb;
	pb_label labels[MAX_LABELS];
	pb_label *label_ptrs[MAX_LABELS];
	int64_t values[N_VALUES];
};

/* A frame is one function and one location of the same id, the location naming the function. */
struct frame_rec {
	pb_function fn;
	pb_location loc;
	pb_line line;
};

struct builder {
	/* The string table. strings[i] is owned; slots hashes them (index + 1, 0 = free). */
	char **strings;
	size_t n_strings, cap_strings;
	uint64_t *frame_ids; /* per string: the frame of that name, 0 when none */
	size_t cap_frame_ids;
	size_t *slots;
	size_t n_slots; /* a power of two, more than twice n_strings */
	char *scratch;	/* the string being interned, after its prefix and clean-up */
	size_t cap_scratch;
	/* Frames, deduplicated by name; frame id i + 1 is frames[i]. Moves as it grows. */
	struct frame_rec *frames;
	size_t n_frames, cap_frames;
	struct sample_rec **samples;
	size_t n_samples, cap_samples;
};

/*
 * Make room in arr (of *cap elements of size elem) for need elements, new
 * ones zeroed. Returns the array, moved or not, or NULL (arr still valid).
 */
static void *reserve(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *na;

	if (need <= *cap)
		return arr;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return NULL;
		ncap *= 2;
	}
	na = realloc(arr, ncap * elem);
	if (!na)
		return NULL;
	memset((char *)na + *cap * elem, 0, (ncap - *cap) * elem);
	*cap = ncap;
	return na;
}

/*
 * Length of the valid UTF-8 sequence at p, or 0 if it is not one (a stray
 * continuation byte, an overlong form, a surrogate or beyond U+10FFFF).
 * Protobuf strings must be UTF-8, and symbol names come from any ELF file.
 */
static size_t utf8_seq_len(const unsigned char *p)
{
	unsigned char c = p[0];
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++) /* stops at the terminating NUL too */
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* The slot of s in the hash: where it is, or the free slot where it belongs. */
static size_t *find_slot(struct builder *b, const char *s)
{
	size_t i = hash_str(s) & (b->n_slots - 1);

	while (b->slots[i] && strcmp(b->strings[b->slots[i] - 1], s))
		i = (i + 1) & (b->n_slots - 1);
	return &b->slots[i];
}

/* Double the hash (or create it) and re-insert every string. */
static int rehash(struct builder *b)
{
	size_t n = b->n_slots ? b->n_slots * 2 : 64, i;
	size_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	free(b->slots);
	b->slots = slots;
	b->n_slots = n;
	for (i = 0; i < b->n_strings; i++)
		*find_slot(b, b->strings[i]) = i + 1;
	return 0;
}

/*
 * The string-table index of prefix + s, adding it when new. Bytes that are
 * not UTF-8, and control characters (a newline would split pprof's lines),
 * become '?'. Returns the index, or -ENOMEM.
 */
static int64_t intern(struct builder *b, const char *prefix, const char *s)
{
	size_t plen = strlen(prefix), len = strlen(s), i = 0, n;
	const unsigned char *p = (const unsigned char *)s;
	size_t *slot;
	char *dst;
	void *na;

	if (!(na = reserve(b->scratch, &b->cap_scratch, plen + len + 1, 1)))
		return -ENOMEM;
	b->scratch = na;
	memcpy(b->scratch, prefix, plen);
	dst = b->scratch + plen;
	while (*p) {
		n = utf8_seq_len(p);
		if (!n || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
			dst[i++] = '?';
			p++;
			continue;
		}
		memcpy(dst + i, p, n);
		i += n;
		p += n;
	}
	dst[i] = '\0';
	if (2 * (b->n_strings + 1) >= b->n_slots && rehash(b))
		return -ENOMEM;
	slot = find_slot(b, b->scratch);
	if (*slot)
		return (int64_t)(*slot - 1);
	if (!(na = reserve(b->strings, &b->cap_strings, b->n_strings + 1, sizeof(*b->strings))))
		return -ENOMEM;
	b->strings = na;
	if (!(na = reserve(b->frame_ids, &b->cap_frame_ids, b->n_strings + 1,
			   sizeof(*b->frame_ids))))
		return -ENOMEM;
	b->frame_ids = na;
	b->strings[b->n_strings] = strdup(b->scratch);
	if (!b->strings[b->n_strings])
		return -ENOMEM;
	*slot = ++b->n_strings;
	return (int64_t)(b->n_strings - 1);
}

/*
 * The id of the frame named name (UNKNOWN_FRAME when NULL or empty), with
 * KERNEL_PREFIX for a kernel frame, adding its function and location when
 * new: frames are deduplicated by name, and unnamed ones by module. Returns the id (> 0), or 0 when
 * out of memory.
 */
static uint64_t frame(struct builder *b, const char *name, bool kernel)
{
	char buf[REPORT_FRAME_FUNCTION_MAX];
	int64_t idx =
	    intern(b, kernel ? KERNEL_PREFIX : "",
		   name && *name ? report__frame_function(name, buf, sizeof(buf)) : UNKNOWN_FRAME);
	struct frame_rec *f;

	if (idx < 0)
		return 0;
	if (b->frame_ids[idx])
		return b->frame_ids[idx];
	f = reserve(b->frames, &b->cap_frames, b->n_frames + 1, sizeof(*b->frames));
	if (!f)
		return 0;
	b->frames = f;
	f = &b->frames[b->n_frames++];
	*f = (struct frame_rec){
	    .fn = PERFTOOLS__PROFILES__FUNCTION__INIT,
	    .loc = PERFTOOLS__PROFILES__LOCATION__INIT,
	    .line = PERFTOOLS__PROFILES__LINE__INIT,
	};
	f->fn.id = f->loc.id = f->line.function_id = b->n_frames;
	f->fn.name = idx;
	f->loc.mapping_id = kernel ? MAPPING_KERNEL : MAPPING_USER;
	b->frame_ids[idx] = b->n_frames;
	return b->n_frames;
}

/* A count or time as a sample value; beyond int64 it saturates. */
static int64_t value_of(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Append an empty sample with room for n_locations frames. Returns it, or NULL (no memory). */
static struct sample_rec *add_sample(struct builder *b, size_t n_locations)
{
	struct sample_rec *s, **na;
	size_t i;

	na = reserve(b->samples, &b->cap_samples, b->n_samples + 1, sizeof(*b->samples));
	if (!na)
		return NULL;
	b->samples = na;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	b->samples[b->n_samples++] = s;
	s->pb = (pb_sample)PERFTOOLS__PROFILES__SAMPLE__INIT;
	for (i = 0; i < MAX_LABELS; i++) {
		s->labels[i] = (pb_label)PERFTOOLS__PROFILES__LABEL__INIT;
		s->label_ptrs[i] = &s->labels[i];
	}
	s->pb.label = s->label_ptrs;
	s->pb.value = s->values;
	s->pb.n_value = N_VALUES;
	s->pb.location_id = calloc(n_locations ? n_locations : 1, sizeof(*s->pb.location_id));
	return s->pb.location_id ? s : NULL;
}

/* Add a string label (nothing when value is NULL). Returns 0 or -ENOMEM. */
static int label_str(struct builder *b, struct sample_rec *s, const char *key, const char *value)
{
	pb_label *l = &s->labels[s->pb.n_label];

	if (!value)
		return 0;
	l->key = intern(b, "", key);
	l->str = intern(b, "", value);
	if (l->key < 0 || l->str < 0)
		return -ENOMEM;
	s->pb.n_label++;
	return 0;
}

/* Add a numeric label. Returns 0 or -ENOMEM. */
static int label_num(struct builder *b, struct sample_rec *s, const char *key, int64_t value)
{
	pb_label *l = &s->labels[s->pb.n_label];

	l->key = intern(b, "", key);
	if (l->key < 0)
		return -ENOMEM;
	l->num = value;
	s->pb.n_label++;
	return 0;
}

/* Append st's frames (innermost first) to s; a truncated stack ends in TRUNCATED_FRAME. */
static int add_stack(struct builder *b, struct sample_rec *s, const struct report_stack *st,
		     bool kernel)
{
	size_t i, n = st->frames ? st->n_frames : 0;
	uint64_t id;

	for (i = 0; i <= n; i++) {
		if (i == n && !st->truncated)
			break;
		id = frame(b, i < n ? st->frames[i] : TRUNCATED_FRAME, kernel);
		if (!id)
			return -ENOMEM;
		s->pb.location_id[s->pb.n_location_id++] = id;
	}
	return 0;
}

/*
 * One sample per off-CPU entry: the kernel frames then the user frames,
 * innermost first, as the thread was stopped in the kernel; labelled with
 * the thread, the reason and the waker. Entries of no time and no block
 * would add nothing to any total and are left out.
 */
static int add_offcpu(struct builder *b, const struct report_offcpu *o)
{
	size_t n = (o->kernel_stack.frames ? o->kernel_stack.n_frames : 0) +
		   (o->user_stack.frames ? o->user_stack.n_frames : 0) + 2;
	struct sample_rec *s;
	int err;

	if (!o->total_ns && !o->count)
		return 0;
	s = add_sample(b, n);
	if (!s)
		return -ENOMEM;
	s->values[VALUE_OFFCPU_NS] = value_of(o->total_ns);
	s->values[VALUE_BLOCKS] = value_of(o->count);
	err = add_stack(b, s, &o->kernel_stack, true);
	err = err ?: add_stack(b, s, &o->user_stack, false);
	if (!err && !s->pb.n_location_id) {
		/* No stack at all: one placeholder frame keeps the time in the graph's total. */
		s->pb.location_id[s->pb.n_location_id++] = frame(b, UNKNOWN_FRAME, false);
		err = s->pb.location_id[0] ? 0 : -ENOMEM;
	}
	err = err ?: label_num(b, s, "pid", o->pid);
	err = err ?: label_num(b, s, "tid", o->tid);
	err = err ?: label_str(b, s, "comm", o->comm);
	err = err ?: label_str(b, s, "reason", offcpu_reason__name(o->reason));
	if (o->waker_pid || o->waker_tid) {
		err = err ?: label_num(b, s, "waker_pid", o->waker_pid);
		err = err ?: label_num(b, s, "waker_tid", o->waker_tid);
		err = err ?: label_str(b, s, "waker_comm", o->waker_comm);
	}
	return err;
}

/*
 * One sample per probed function that was called: a single frame, the
 * function's name, with its time inside and its calls, labelled with its
 * binary. Nested probed functions overlap, as in the text report.
 */
static int add_function(struct builder *b, const struct report_function *f)
{
	struct sample_rec *s;

	if (!f->inside_ns && !f->count)
		return 0;
	s = add_sample(b, 1);
	if (!s)
		return -ENOMEM;
	s->values[VALUE_FUNCTION_NS] = value_of(f->inside_ns);
	s->values[VALUE_CALLS] = value_of(f->count);
	s->pb.location_id[0] = frame(b, f->name, false);
	s->pb.n_location_id = 1;
	if (!s->pb.location_id[0])
		return -ENOMEM;
	return label_str(b, s, "binary", f->binary);
}

/*
 * One sample per on-CPU entry (--cpu): the kernel frames then the user frames,
 * innermost first, and where an incomplete user stack lost its callers a
 * marker frame; valued in CPU time (samples x period) and samples, labelled
 * with the thread.
 */
static int add_cpu(struct builder *b, const struct report *r, const struct report_cpu *c)
{
	size_t n = (c->kernel_stack.frames ? c->kernel_stack.n_frames : 0) +
		   (c->user_stack.frames ? c->user_stack.n_frames : 0) + 3;
	struct sample_rec *s;
	int err;

	if (!c->samples)
		return 0;
	s = add_sample(b, n);
	if (!s)
		return -ENOMEM;
	s->values[VALUE_CPU_NS] = value_of(c->samples * r->cpu_period_ns);
	s->values[VALUE_SAMPLES] = value_of(c->samples);
	err = add_stack(b, s, &c->kernel_stack, true);
	err = err ?: add_stack(b, s, &c->user_stack, false);
	if (!err && (c->user_incomplete || !s->pb.n_location_id)) {
		uint64_t id =
		    frame(b, c->user_incomplete ? CALLERS_UNKNOWN_FRAME : UNKNOWN_FRAME, false);

		s->pb.location_id[s->pb.n_location_id++] = id;
		err = id ? 0 : -ENOMEM;
	}
	err = err ?: label_num(b, s, "pid", c->pid);
	err = err ?: label_num(b, s, "tid", c->tid);
	return err ?: label_str(b, s, "comm", c->comm);
}

static void builder_free(struct builder *b)
{
	size_t i;

	for (i = 0; i < b->n_strings; i++)
		free(b->strings[i]);
	free(b->strings);
	free(b->frame_ids);
	free(b->slots);
	free(b->scratch);
	free(b->frames);
	for (i = 0; i < b->n_samples; i++) {
		free(b->samples[i]->pb.location_id);
		free(b->samples[i]);
	}
	free(b->samples);
}

/*
 * Compress data as one gzip member (the on-disk form pprof readers expect)
 * onto out. Returns 0, -ENOMEM or -EIO; stream errors are left to the caller.
 */
static int write_gzip(const uint8_t *data, size_t len, FILE *out)
{
	unsigned char chunk[16384];
	z_stream zs = {0};
	size_t left = len, have;
	int flush, err = 0;

	/* 16 + MAX_WBITS: a gzip header and trailer instead of zlib's. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	zs.next_in = data;
	do {
		/* avail_in is an unsigned int: feed a larger buffer in pieces. */
		zs.avail_in = left > UINT_MAX ? UINT_MAX : (unsigned int)left;
		left -= zs.avail_in;
		flush = left ? Z_NO_FLUSH : Z_FINISH;
		do {
			zs.next_out = chunk;
			zs.avail_out = sizeof(chunk);
			if (deflate(&zs, flush) == Z_STREAM_ERROR) {
				err = -EIO;
				goto cleanup;
			}
			have = sizeof(chunk) - zs.avail_out;
			if (fwrite(chunk, 1, have, out) != have) {
				err = -EIO;
				goto cleanup;
			}
		} while (zs.avail_out == 0);
	} while (left);
cleanup:
	deflateEnd(&zs);
	return err;
}

/* Free-form notes pprof shows with -comments: who wrote the profile, and what the stacks cover. */
static int add_comments(struct builder *b, const struct report *r, int64_t *comments, size_t *n)
{
	char buf[512];
	int64_t idx;

	snprintf(buf, sizeof(buf), "snag %s on %s, kernel %s", r->snag_version ?: "?",
		 r->hostname ?: "?", r->kernel ?: "?");
	idx = intern(b, "", buf);
	if (idx < 0)
		return -ENOMEM;
	comments[(*n)++] = idx;
	if (r->target.command) {
		idx = intern(b, "traced command: ", r->target.command);
		if (idx < 0)
			return -ENOMEM;
		comments[(*n)++] = idx;
	}
	if (r->sched_enabled) {
		snprintf(buf, sizeof(buf),
			 "offcpu samples: off-CPU periods of at least %llu ns, with their stacks",
			 (unsigned long long)r->min_block_ns);
		idx = intern(b, "", buf);
		if (idx < 0)
			return -ENOMEM;
		comments[(*n)++] = idx;
	}
	if (r->cpu_enabled) {
		snprintf(buf, sizeof(buf),
			 "cpu samples: on-CPU stacks sampled %llu times a second on every CPU "
			 "(one sample stands for %llu ns)",
			 (unsigned long long)r->cpu_frequency_hz,
			 (unsigned long long)r->cpu_period_ns);
		idx = intern(b, "", buf);
		if (idx < 0)
			return -ENOMEM;
		comments[(*n)++] = idx;
	}
	return 0;
}

int render__pprof(const struct report *r, FILE *out)
{
	pb_profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	pb_value_type types[N_VALUES], *type_ptrs[N_VALUES];
	pb_mapping mappings[N_MAPPINGS], *mapping_ptrs[N_MAPPINGS];
	pb_sample **samples = NULL;
	pb_location **locations = NULL;
	pb_function **functions = NULL;
	pb_line **lines = NULL;
	struct builder b = {0};
	int64_t comments[4];
	size_t i, n_comments = 0;
	bool has_offcpu = false, has_cpu = false;
	pb_value_type period_type;
	size_t n_before_cpu = 0;
	uint8_t *packed = NULL;
	size_t len;
	int err;

	/* string_table[0] must be "". */
	err = intern(&b, "", "") < 0 ? -ENOMEM : 0;
	for (i = 0; !err && i < N_VALUES; i++) {
		types[i] = (pb_value_type)PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
		types[i].type = intern(&b, "", value_types[i].type);
		types[i].unit = intern(&b, "", value_types[i].unit);
		type_ptrs[i] = &types[i];
		if (types[i].type < 0 || types[i].unit < 0)
			err = -ENOMEM;
	}
	for (i = 0; i < N_MAPPINGS; i++) {
		mappings[i] = (pb_mapping)PERFTOOLS__PROFILES__MAPPING__INIT;
		mappings[i].id = i + 1;
		mappings[i].has_functions = true;
		mapping_ptrs[i] = &mappings[i];
	}
	mappings[MAPPING_USER - 1].memory_limit = USER_LIMIT;
	mappings[MAPPING_KERNEL - 1].memory_start = KERNEL_START;
	mappings[MAPPING_KERNEL - 1].memory_limit = KERNEL_LIMIT;
	mappings[MAPPING_KERNEL - 1].filename = intern(&b, "", KERNEL_MAPPING_FILE);
	if (mappings[MAPPING_KERNEL - 1].filename < 0)
		err = -ENOMEM;
	for (i = 0; !err && r->offcpu && i < r->n_offcpu; i++)
		err = add_offcpu(&b, &r->offcpu[i]);
	has_offcpu = b.n_samples > 0;
	for (i = 0; !err && r->functions && i < r->n_functions; i++)
		err = add_function(&b, &r->functions[i]);
	n_before_cpu = b.n_samples;
	for (i = 0; !err && r->cpu && i < r->n_cpu; i++)
		err = add_cpu(&b, r, &r->cpu[i]);
	has_cpu = b.n_samples > n_before_cpu;
	/* Sampled, so pprof scales and compares it; written in every profile so any two merge. */
	period_type = (pb_value_type)PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	period_type.type = intern(&b, "", value_types[VALUE_CPU_NS].type);
	period_type.unit = intern(&b, "", value_types[VALUE_CPU_NS].unit);
	if (period_type.type < 0 || period_type.unit < 0)
		err = err ?: -ENOMEM;
	err = err ?: add_comments(&b, r, comments, &n_comments);
	if (err)
		goto cleanup;

	/* Pointer arrays into the final (no longer moving) arrays. */
	samples = calloc(b.n_samples + 1, sizeof(*samples));
	locations = calloc(b.n_frames + 1, sizeof(*locations));
	functions = calloc(b.n_frames + 1, sizeof(*functions));
	lines = calloc(b.n_frames + 1, sizeof(*lines));
	if (!samples || !locations || !functions || !lines) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < b.n_samples; i++)
		samples[i] = &b.samples[i]->pb;
	for (i = 0; i < b.n_frames; i++) {
		lines[i] = &b.frames[i].line;
		b.frames[i].loc.line = &lines[i];
		b.frames[i].loc.n_line = 1;
		locations[i] = &b.frames[i].loc;
		functions[i] = &b.frames[i].fn;
	}
	p.sample_type = type_ptrs;
	p.n_sample_type = N_VALUES;
	p.sample = samples;
	p.n_sample = b.n_samples;
	p.mapping = mapping_ptrs;
	p.n_mapping = N_MAPPINGS;
	p.location = locations;
	p.n_location = b.n_frames;
	p.function = functions;
	p.n_function = b.n_frames;
	p.string_table = b.strings;
	p.n_string_table = b.n_strings;
	p.time_nanos = r->start_time_ns;
	p.duration_nanos = value_of(r->duration_ns);
	p.comment = comments;
	p.n_comment = n_comments;
	p.period_type = &period_type;
	p.period = value_of(r->cpu_enabled ? r->cpu_period_ns : 0);
	/* Open on on-CPU time when sampled (--cpu asked for it), else off-CPU, else functions. */
	p.default_sample_type = types[has_cpu			       ? VALUE_CPU_NS
				      : has_offcpu || b.n_samples == 0 ? VALUE_OFFCPU_NS
								       : VALUE_FUNCTION_NS]
				    .type;

	len = perftools__profiles__profile__get_packed_size(&p);
	packed = malloc(len ? len : 1);
	if (!packed) {
		err = -ENOMEM;
		goto cleanup;
	}
	perftools__profiles__profile__pack(&p, packed);
	err = write_gzip(packed, len, out);
cleanup:
	free(packed);
	free(samples);
	free(locations);
	free(functions);
	free(lines);
	builder_free(&b);
	return err;
}
