/* Reading a saved "snag-report/1" JSON document back into the report model, validating it. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <jansson.h>
#include "errors.h"
#include "report_read.h"

/*
 * The reader is driven by field tables: one per JSON object, each entry
 * naming a key, how to read it and where in the model row it goes. The
 * tables mirror render_json.c; the round-trip unit tests (strict mode) fail
 * when the two disagree.
 */

enum field_type {
	FT_U64,	   /* non-negative integer -> uint64_t */
	FT_U32,	   /* non-negative integer up to 2^32-1 -> uint32_t */
	FT_INT,	   /* integer in int's range -> int */
	FT_REAL,   /* number, or null (a NaN when written) -> double */
	FT_STR,	   /* string or null -> char * (NULL) */
	FT_ENUM,   /* one of a set of names -> int-sized enum */
	FT_ADDR,   /* "0x1139" -> uint64_t */
	FT_TIME,   /* RFC 3339 string (or null) -> int64_t ns since the epoch */
	FT_HIST,   /* [{le_*, count}] -> uint64_t[n] */
	FT_STACK,  /* array of frame names -> struct report_stack */
	FT_STRS,   /* array of strings -> char ** at off, size_t count at aux */
	FT_INTS,   /* array of integers -> int * at off, size_t count at aux */
	FT_OBJECT, /* nested object whose fields are in the same row (offsets from the row) */
	FT_ROWS,   /* array of objects -> array of rows at off, size_t count at aux */
	FT_CUSTOM, /* read by a function */
};

#define F_NULLABLE 0x1u /* FT_OBJECT: null is allowed and leaves the fields zero */
#define F_OPTIONAL                                                                                 \
	0x2u /* may be missing (fields added to snag-report/1 after its first release)             \
	      */

struct reader;
struct field;

typedef int (*custom_read_fn)(struct reader *rd, json_t *v, char *row);

/* An enum's JSON names: name(i) for i in [0, n). */
struct enum_spec {
	const char *(*name)(int v);
	int n;
};

/* The fields of one kind of JSON object; elem is the model row size for FT_ROWS. */
struct table {
	const struct field *fields;
	size_t n;
	size_t elem;
};

/* A histogram layout of bpf/hist.h and how its buckets are keyed in JSON. */
struct hist_spec {
	__u32 n_buckets;
	__u32 (*bucket)(__u64 v);
	__u64 (*upper)(__u32 i);
	const struct table *bucket_fields; /* {le_ns|le_bytes, count} */
	const char *layout;		   /* for messages */
};

struct field {
	const char *key;
	enum field_type type;
	size_t off; /* where the value goes in the row */
	size_t aux; /* FT_STRS, FT_INTS, FT_ROWS: where the element count goes */
	unsigned flags;
	const struct enum_spec *enums; /* FT_ENUM */
	const struct hist_spec *hist;  /* FT_HIST */
	const struct table *sub;       /* FT_OBJECT, FT_ROWS */
	custom_read_fn custom;	       /* FT_CUSTOM */
	const char *custom_expected;   /* FT_CUSTOM: what a valid value is, for messages */
};

struct reader {
	const char *source;
	unsigned flags;
	struct report *r;
	char path[512]; /* JSON path of the value being read, e.g. "functions[3].count" */
	size_t len;
};

/* ---- messages ---- */

static int fail(struct reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "cannot read report 'FILE': PATH: MESSAGE"; returns -EINVAL. */
static int fail(struct reader *rd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snag_set_error("cannot read report '%s': %s%s%s", rd->source, rd->path, rd->len ? ": " : "",
		       msg);
	return -EINVAL;
}

static int no_memory(struct reader *rd)
{
	snag_set_error("out of memory reading report '%s'", rd->source);
	return -ENOMEM;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

/* What a valid value of f looks like, for messages. */
static const char *expected(const struct field *f, char *buf, size_t size)
{
	size_t len = 0;
	int i;

	switch (f->type) {
	case FT_U64:
	case FT_U32:
		return "a non-negative integer";
	case FT_INT:
		return "an integer";
	case FT_REAL:
		return "a number or null";
	case FT_STR:
		return "a string or null";
	case FT_ENUM:
		len = (size_t)snprintf(buf, size, "one of");
		for (i = 0; i < f->enums->n && len < size; i++)
			len += (size_t)snprintf(buf + len, size - len, "%s \"%s\"", i ? "," : "",
						f->enums->name(i));
		return buf;
	case FT_ADDR:
		return "a hex address string such as \"0x1139\"";
	case FT_TIME:
		return "an RFC 3339 time string such as \"2026-11-21T23:41:07.123456789Z\"";
	case FT_HIST:
		return "a histogram: an array of {bound, count} objects";
	case FT_STACK:
		return "an array of frame names";
	case FT_STRS:
		return "an array of strings";
	case FT_INTS:
		return "an array of integers";
	case FT_OBJECT:
		return f->flags & F_NULLABLE ? "an object or null" : "an object";
	case FT_ROWS:
		return "an array of objects";
	case FT_CUSTOM:
		return f->custom_expected;
	}
	return "?";
}

static int wrong_type(struct reader *rd, const struct field *f, const json_t *v)
{
	char buf[160];

	return fail(rd, "expected %s, found %s", expected(f, buf, sizeof(buf)), type_name(v));
}

/* ---- the JSON path of the value being read ---- */

/* Append ".key" (or "key" at the top); returns the length to restore with pop(). */
static size_t push_key(struct reader *rd, const char *key)
{
	size_t old = rd->len;
	int n =
	    snprintf(rd->path + rd->len, sizeof(rd->path) - rd->len, "%s%s", old ? "." : "", key);

	if (n > 0)
		rd->len += (size_t)n;
	if (rd->len >= sizeof(rd->path))
		rd->len = sizeof(rd->path) - 1;
	return old;
}

static size_t push_index(struct reader *rd, size_t i)
{
	size_t old = rd->len;
	int n = snprintf(rd->path + rd->len, sizeof(rd->path) - rd->len, "[%zu]", i);

	if (n > 0)
		rd->len += (size_t)n;
	if (rd->len >= sizeof(rd->path))
		rd->len = sizeof(rd->path) - 1;
	return old;
}

static void pop(struct reader *rd, size_t old)
{
	rd->len = old;
	rd->path[old] = '\0';
}

/* ---- scalar values ---- */

/*
 * An unsigned 64-bit value: a JSON integer, or the string of decimal digits
 * render_json.c writes for one above 2^63-1 (JSON integers that large fail
 * in jansson). Returns 0 with *out set, -EINVAL for anything else (a
 * negative integer, a string that is not such a value), -ERANGE for an
 * integer string above 2^64-1.
 */
static int json_u64_value(json_t *v, uint64_t *out)
{
	const char *s;
	uint64_t x = 0;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -EINVAL;
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	if (!*s || strlen(s) != json_string_length(v))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*out = x;
	return 0;
}

static int read_u64(struct reader *rd, const struct field *f, json_t *v, uint64_t max,
		    uint64_t *out)
{
	uint64_t u;
	int err = json_u64_value(v, &u);

	if (err == -ERANGE)
		return fail(rd, "%s is out of range (at most %" PRIu64 ")", json_string_value(v),
			    max);
	if (err && json_is_integer(v))
		return fail(rd, "expected a non-negative integer, found %" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
	if (err)
		return wrong_type(rd, f, v);
	if (u > max)
		return fail(rd, "%" PRIu64 " is out of range (at most %" PRIu64 ")", u, max);
	*out = u;
	return 0;
}

static int read_int(struct reader *rd, const struct field *f, json_t *v, int *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return wrong_type(rd, f, v);
	i = json_integer_value(v);
	if (i < INT_MIN || i > INT_MAX)
		return fail(rd, "%" JSON_INTEGER_FORMAT " is out of range for an integer", i);
	*out = (int)i;
	return 0;
}

/* A string or null, copied into *out (NULL for null). */
static int read_str(struct reader *rd, const struct field *f, json_t *v, char **out)
{
	if (json_is_null(v)) {
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return wrong_type(rd, f, v);
	*out = strdup(json_string_value(v));
	return *out ? 0 : no_memory(rd);
}

static int read_enum(struct reader *rd, const struct field *f, json_t *v, int *out)
{
	char buf[160];
	int i;

	if (!json_is_string(v))
		return wrong_type(rd, f, v);
	for (i = 0; i < f->enums->n; i++) {
		if (!strcmp(json_string_value(v), f->enums->name(i))) {
			*out = i;
			return 0;
		}
	}
	return fail(rd, "expected %s, found \"%s\"", expected(f, buf, sizeof(buf)),
		    json_string_value(v));
}

static int read_addr(struct reader *rd, const struct field *f, json_t *v, uint64_t *out)
{
	const char *s;
	size_t digits;

	if (!json_is_string(v))
		return wrong_type(rd, f, v);
	s = json_string_value(v);
	digits = strncmp(s, "0x", 2) ? 0 : strspn(s + 2, "0123456789abcdefABCDEF");
	if (!digits || s[2 + digits] || digits > 16)
		return fail(rd, "expected %s, found \"%s\"", expected(f, NULL, 0), s);
	*out = strtoull(s + 2, NULL, 16);
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" into ns since the epoch; -EINVAL if not. */
static int parse_rfc3339(const char *s, int64_t *ns)
{
	int year, mon, day, hour, min, sec, n = 0, digits = 0, oh, om;
	int64_t frac = 0, offset = 0;
	struct tm tm = {0};
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &year, &mon, &day, &hour, &min, &sec,
		   &n) != 6 ||
	    n != 19)
		return -EINVAL;
	s += n;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (digits < 9)
				frac = frac * 10 + (*s - '0');
		if (!digits)
			return -EINVAL;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if ((*s == 'Z' || *s == 'z') && !s[1]) {
		offset = 0;
	} else if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) == 2 &&
		   n == 5 && !s[6] && oh < 24 && om < 60) {
		offset = (*s == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	*ns = ((int64_t)t - offset) * 1000000000LL + frac;
	return 0;
}

static int read_time(struct reader *rd, const struct field *f, json_t *v, int64_t *out)
{
	/* The renderer writes null only for a time gmtime() cannot express. */
	if (json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (!json_is_string(v))
		return wrong_type(rd, f, v);
	if (parse_rfc3339(json_string_value(v), out))
		return fail(rd, "expected %s, found \"%s\"", expected(f, NULL, 0),
			    json_string_value(v));
	return 0;
}

/* ---- arrays ---- */

static int read_object(struct reader *rd, json_t *obj, const struct table *t, char *row);

/*
 * Allocate an array of n elements of size elem for an array value; the
 * caller stores it in the model at once, so report__free() releases it
 * whatever happens next.
 */
static int alloc_array(struct reader *rd, size_t n, size_t elem, void **out)
{
	*out = n ? calloc(report__array_capacity(n), elem) : NULL;
	return n && !*out ? no_memory(rd) : 0;
}

static int read_hist(struct reader *rd, const struct field *f, json_t *v, uint64_t *hist)
{
	const struct hist_spec *h = f->hist;
	const char *le_key = h->bucket_fields->fields[0].key;
	struct {
		uint64_t le, count;
	} b;
	__u32 i, prev = 0;
	size_t k, old;
	json_t *e;
	int err;

	if (!json_is_array(v))
		return wrong_type(rd, f, v);
	json_array_foreach(v, k, e)
	{
		old = push_index(rd, k);
		memset(&b, 0, sizeof(b));
		err = read_object(rd, e, h->bucket_fields, (char *)&b);
		if (err)
			return err;
		i = h->bucket(b.le);
		push_key(rd, le_key);
		if (h->upper(i) != b.le)
			return fail(rd,
				    "%" PRIu64
				    " is not a bucket bound of the %s layout (bpf/hist.h; "
				    "the bucket holding it ends at %" PRIu64 ")",
				    b.le, h->layout, (uint64_t)h->upper(i));
		if (k && i <= prev)
			return fail(rd, "bounds must ascend: %" PRIu64 " comes after %" PRIu64,
				    b.le, (uint64_t)h->upper(prev));
		hist[i] = b.count;
		prev = i;
		pop(rd, old);
	}
	return 0;
}

/* An array of strings (or nulls), into *strs and *n. */
static int read_strings(struct reader *rd, const struct field *f, json_t *v, char ***strs,
			size_t *n)
{
	size_t k, old;
	json_t *e;
	int err;

	if (!json_is_array(v))
		return wrong_type(rd, f, v);
	err = alloc_array(rd, json_array_size(v), sizeof(**strs), (void **)strs);
	if (err)
		return err;
	*n = json_array_size(v);
	json_array_foreach(v, k, e)
	{
		static const struct field str = {.type = FT_STR};

		old = push_index(rd, k);
		err = read_str(rd, &str, e, &(*strs)[k]);
		if (err)
			return err;
		pop(rd, old);
	}
	return 0;
}

static int read_ints(struct reader *rd, const struct field *f, json_t *v, int **ints, size_t *n)
{
	static const struct field integer = {.type = FT_INT};
	size_t k, old;
	json_t *e;
	int err;

	if (!json_is_array(v))
		return wrong_type(rd, f, v);
	err = alloc_array(rd, json_array_size(v), sizeof(**ints), (void **)ints);
	if (err)
		return err;
	*n = json_array_size(v);
	json_array_foreach(v, k, e)
	{
		old = push_index(rd, k);
		err = read_int(rd, &integer, e, &(*ints)[k]);
		if (err)
			return err;
		pop(rd, old);
	}
	return 0;
}

static int read_rows(struct reader *rd, const struct field *f, json_t *v, void **rows, size_t *n)
{
	size_t k, old;
	json_t *e;
	int err;

	if (!json_is_array(v))
		return wrong_type(rd, f, v);
	err = alloc_array(rd, json_array_size(v), f->sub->elem, rows);
	if (err)
		return err;
	*n = json_array_size(v);
	json_array_foreach(v, k, e)
	{
		old = push_index(rd, k);
		err = read_object(rd, e, f->sub, (char *)*rows + k * f->sub->elem);
		if (err)
			return err;
		pop(rd, old);
	}
	return 0;
}

/* ---- objects ---- */

static int read_value(struct reader *rd, const struct field *f, json_t *v, char *row)
{
	void *p = row + f->off;
	uint64_t u;
	int err;

	switch (f->type) {
	case FT_U64:
		return read_u64(rd, f, v, UINT64_MAX, p);
	case FT_U32:
		err = read_u64(rd, f, v, UINT32_MAX, &u);
		if (!err)
			*(uint32_t *)p = (uint32_t)u;
		return err;
	case FT_INT:
		return read_int(rd, f, v, p);
	case FT_REAL:
		if (json_is_null(v))
			*(double *)p = NAN;
		else if (json_is_number(v))
			*(double *)p = json_number_value(v);
		else
			return wrong_type(rd, f, v);
		return 0;
	case FT_STR:
		return read_str(rd, f, v, p);
	case FT_ENUM:
		return read_enum(rd, f, v, p);
	case FT_ADDR:
		return read_addr(rd, f, v, p);
	case FT_TIME:
		return read_time(rd, f, v, p);
	case FT_HIST:
		return read_hist(rd, f, v, p);
	case FT_STACK: {
		struct report_stack *st = p;

		return read_strings(rd, f, v, &st->frames, &st->n_frames);
	}
	case FT_STRS:
		return read_strings(rd, f, v, p, (size_t *)(row + f->aux));
	case FT_INTS:
		return read_ints(rd, f, v, p, (size_t *)(row + f->aux));
	case FT_OBJECT:
		if (json_is_null(v) && (f->flags & F_NULLABLE))
			return 0;
		if (!json_is_object(v))
			return wrong_type(rd, f, v);
		return read_object(rd, v, f->sub, row);
	case FT_ROWS:
		return read_rows(rd, f, v, p, (size_t *)(row + f->aux));
	case FT_CUSTOM:
		return f->custom(rd, v, row);
	}
	return -EINVAL;
}

static bool known_key(const struct table *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->fields[i].key, key))
			return true;
	return false;
}

/* Read the fields of t from obj into row (fields of nested objects too). */
static int read_object(struct reader *rd, json_t *obj, const struct table *t, char *row)
{
	const char *key;
	size_t i, old;
	json_t *v;
	char buf[160];
	int err;

	if (!json_is_object(obj))
		return fail(rd, "expected an object, found %s", type_name(obj));
	for (i = 0; i < t->n; i++) {
		const struct field *f = &t->fields[i];

		v = json_object_get(obj, f->key);
		if (!v && (f->flags & F_OPTIONAL))
			continue;
		old = push_key(rd, f->key);
		if (!v)
			return fail(rd, "missing (expected %s)", expected(f, buf, sizeof(buf)));
		err = read_value(rd, f, v, row);
		if (err)
			return err;
		pop(rd, old);
	}
	if (!(rd->flags & REPORT_READ_STRICT))
		return 0;
	json_object_foreach(obj, key, v)
	{
		/* "schema" is checked before the top level is read. */
		if (known_key(t, key) || (!rd->len && !strcmp(key, "schema")))
			continue;
		push_key(rd, key);
		return fail(rd, "unknown key (this reader does not know it)");
	}
	return 0;
}

/* ---- enum names ---- */

static const char *severity_name(int v)
{
	return severity__name((enum severity)v);
}

static const char *reason_name(int v)
{
	return offcpu_reason__name((enum offcpu_reason)v);
}

static const char *direction_name(int v)
{
	return net_direction__name((enum net_direction)v);
}

/* The names render_json.c writes for target.mode. */
static const char *mode_name(int v)
{
	static const char *const names[] = {
	    [TARGET_PIDS] = "pids", [TARGET_COMMAND] = "command", [TARGET_SYSTEM] = "system"};

	return names[v];
}

/* The model stores enums as ints: FT_ENUM writes one. */
_Static_assert(sizeof(enum severity) == sizeof(int) && sizeof(enum offcpu_reason) == sizeof(int) &&
		   sizeof(enum net_direction) == sizeof(int) &&
		   sizeof(enum target_mode) == sizeof(int),
	       "enums are int-sized");
_Static_assert(sizeof(enum wait_kind) == sizeof(int), "enums are int-sized");

/* offcpu[].category: the wait kinds, and "runqueue" for preempted entries (stored as other). */
static const char *category_name(int v)
{
	return v == WAIT__COUNT ? "runqueue" : wait_kind__name((enum wait_kind)v);
}

static const struct enum_spec severities = {severity_name, SEVERITY_CRITICAL + 1};
static const struct enum_spec reasons = {reason_name, OFFCPU_PREEMPTED + 1};
static const struct enum_spec directions = {direction_name, NET_RECV + 1};
static const struct enum_spec modes = {mode_name, TARGET_SYSTEM + 1};

/* ---- field tables ---- */

#define N(arr) (sizeof(arr) / sizeof((arr)[0]))
#define TABLE(fields, row_type)                                                                    \
	{                                                                                          \
		fields, N(fields), sizeof(row_type)                                                \
	}

/* Field key of type ty, stored at member of row type T. */
#define FLD(T, k, ty, member)                                                                      \
	{                                                                                          \
		.key = k, .type = ty, .off = offsetof(T, member)                                   \
	}
#define ENUM(T, k, member, spec)                                                                   \
	{                                                                                          \
		.key = k, .type = FT_ENUM, .off = offsetof(T, member), .enums = &spec              \
	}
#define HIST(T, k, member, spec)                                                                   \
	{                                                                                          \
		.key = k, .type = FT_HIST, .off = offsetof(T, member), .hist = &spec               \
	}
#define ROWS(T, k, member, count, table)                                                           \
	{                                                                                          \
		.key = k, .type = FT_ROWS, .off = offsetof(T, member), .aux = offsetof(T, count),  \
		.sub = &table                                                                      \
	}
#define CUSTOM(k, fn, what)                                                                        \
	{                                                                                          \
		.key = k, .type = FT_CUSTOM, .custom = fn, .custom_expected = what                 \
	}

/* Histogram buckets: {"le_ns"|"le_bytes", "count"} (le is read first: read_hist names it). */
struct bucket_row {
	uint64_t le, count;
};
static const struct field le_ns_fields[] = {
    FLD(struct bucket_row, "le_ns", FT_U64, le),
    FLD(struct bucket_row, "count", FT_U64, count),
};
static const struct field le_bytes_fields[] = {
    FLD(struct bucket_row, "le_bytes", FT_U64, le),
    FLD(struct bucket_row, "count", FT_U64, count),
};
static const struct table le_ns_table = TABLE(le_ns_fields, struct bucket_row);
static const struct table le_bytes_table = TABLE(le_bytes_fields, struct bucket_row);

static const struct hist_spec func_hist = {SNAG_HIST_BUCKETS, snag_hist_bucket, snag_hist_upper,
					   &le_ns_table, "function latency"};
static const struct hist_spec sched_hist = {SNAG_SCHED_HIST_BUCKETS, snag_sched_hist_bucket,
					    snag_sched_hist_upper, &le_ns_table,
					    "scheduler and I/O latency"};
static const struct hist_spec size_hist = {SNAG_SIZE_HIST_BUCKETS, snag_size_hist_bucket,
					   snag_size_hist_upper, &le_bytes_table, "I/O size"};

#define R struct report_function
static const struct field function_fields[] = {
    FLD(R, "binary", FT_STR, binary),	       FLD(R, "name", FT_STR, name),
    FLD(R, "address", FT_ADDR, address),       FLD(R, "count", FT_U64, count),
    FLD(R, "total_ns", FT_U64, total_ns),      FLD(R, "inside_ns", FT_U64, inside_ns),
    FLD(R, "min_ns", FT_U64, min_ns),	       FLD(R, "max_ns", FT_U64, max_ns),
    FLD(R, "avg_ns", FT_U64, avg_ns),	       FLD(R, "p50_ns", FT_U64, p50_ns),
    FLD(R, "p90_ns", FT_U64, p90_ns),	       FLD(R, "p99_ns", FT_U64, p99_ns),
    HIST(R, "histogram", hist, func_hist),     FLD(R, "impact", FT_REAL, impact),
    ENUM(R, "severity", severity, severities),
};
#undef R

/* Who an off-CPU entry's thread was woken by: nested in JSON, flat in the model. */
#define R struct report_offcpu
static const struct field waker_fields[] = {
    FLD(R, "pid", FT_INT, waker_pid),
    FLD(R, "tid", FT_INT, waker_tid),
    FLD(R, "comm", FT_STR, waker_comm),
    FLD(R, "kernel_stack", FT_STACK, waker_kernel_stack),
    FLD(R, "user_stack", FT_STACK, waker_user_stack),
};
static const struct table waker_table = TABLE(waker_fields, R);

/*
 * JSON has one flag for both stacks; the model has one per stack. It goes on
 * the user stack (the kernel one when there is no user stack): the text
 * renderer then prints its note after the frames, where the missing
 * outermost frames would be.
 */
static int read_stack_truncated(struct reader *rd, json_t *v, char *row)
{
	R *o = (R *)row;

	if (!json_is_boolean(v))
		return fail(rd, "expected true or false, found %s", type_name(v));
	if (json_is_true(v)) {
		if (o->user_stack.n_frames)
			o->user_stack.truncated = true;
		else
			o->kernel_stack.truncated = true;
	}
	return 0;
}

/* "runqueue" is how a preempted entry's category is written; the model keeps WAIT_OTHER. */
static int read_category(struct reader *rd, json_t *v, char *row)
{
	R *o = (R *)row;

	for (int i = 0; i <= WAIT__COUNT; i++)
		if (json_is_string(v) && !strcmp(json_string_value(v), category_name(i))) {
			o->category = i == WAIT__COUNT ? WAIT_OTHER : (enum wait_kind)i;
			return 0;
		}
	return fail(rd, "expected one of block_io, network, lock, sleep, events, other, "
			"runqueue");
}

static const struct field offcpu_fields[] = {
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "tid", FT_INT, tid),
    FLD(R, "comm", FT_STR, comm),
    ENUM(R, "reason", reason, reasons),
    {.key = "category",
     .type = FT_CUSTOM,
     .flags = F_OPTIONAL,
     .custom = read_category,
     .custom_expected = "a wait kind"},
    FLD(R, "count", FT_U64, count),
    FLD(R, "total_ns", FT_U64, total_ns),
    FLD(R, "max_ns", FT_U64, max_ns),
    FLD(R, "kernel_stack", FT_STACK, kernel_stack),
    FLD(R, "user_stack", FT_STACK, user_stack),
    CUSTOM("stack_truncated", read_stack_truncated, "true or false"),
    {.key = "waker", .type = FT_OBJECT, .flags = F_NULLABLE, .sub = &waker_table},
    FLD(R, "impact", FT_REAL, impact),
    ENUM(R, "severity", severity, severities),
};
#undef R

#define R struct report_thread_sched
/* blocked_by / blocks_by: {kind: value}, the kinds of enum wait_kind. */
#define BY_WAIT(member)                                                                            \
	FLD(R, "block_io", FT_U64, member[WAIT_BLOCK_IO]),                                         \
	    FLD(R, "network", FT_U64, member[WAIT_NET]),                                           \
	    FLD(R, "lock", FT_U64, member[WAIT_LOCK]),                                             \
	    FLD(R, "sleep", FT_U64, member[WAIT_SLEEP]),                                           \
	    FLD(R, "events", FT_U64, member[WAIT_EVENTS]),                                         \
	    FLD(R, "other", FT_U64, member[WAIT_OTHER])
static const struct field blocked_by_fields[] = {BY_WAIT(blocked_by)};
static const struct field blocks_by_fields[] = {BY_WAIT(blocks_by)};
#undef BY_WAIT
static const struct table blocked_by_table = {blocked_by_fields, N(blocked_by_fields), 0};
static const struct table blocks_by_table = {blocks_by_fields, N(blocks_by_fields), 0};

static const struct field sched_fields[] = {
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "tid", FT_INT, tid),
    FLD(R, "comm", FT_STR, comm),
    FLD(R, "voluntary_switches", FT_U64, voluntary_switches),
    FLD(R, "involuntary_switches", FT_U64, involuntary_switches),
    FLD(R, "wall_ns", FT_U64, wall_ns),
    FLD(R, "oncpu_ns", FT_U64, oncpu_ns),
    FLD(R, "offcpu_ns", FT_U64, offcpu_ns),
    FLD(R, "blocked_ns", FT_U64, blocked_ns),
    FLD(R, "preempted_ns", FT_U64, preempted_ns),
    FLD(R, "runq_total_ns", FT_U64, runq_total_ns),
    FLD(R, "runq_p50_ns", FT_U64, runq_p50_ns),
    FLD(R, "runq_p99_ns", FT_U64, runq_p99_ns),
    {.key = "blocked_by", .type = FT_OBJECT, .flags = F_OPTIONAL, .sub = &blocked_by_table},
    {.key = "blocks_by", .type = FT_OBJECT, .flags = F_OPTIONAL, .sub = &blocks_by_table},
    HIST(R, "runq_histogram", runq_hist, sched_hist),
    HIST(R, "offcpu_histogram", offcpu_hist, sched_hist),
};
#undef R

#define R struct report_block_io
static const struct field block_io_fields[] = {
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "comm", FT_STR, comm),
    FLD(R, "device", FT_STR, device),
    FLD(R, "major", FT_U32, major),
    FLD(R, "minor", FT_U32, minor),
    FLD(R, "op", FT_STR, op),
    FLD(R, "count", FT_U64, count),
    FLD(R, "bytes", FT_U64, bytes),
    FLD(R, "total_ns", FT_U64, total_ns),
    FLD(R, "avg_ns", FT_U64, avg_ns),
    FLD(R, "p50_ns", FT_U64, p50_ns),
    FLD(R, "p99_ns", FT_U64, p99_ns),
    FLD(R, "max_ns", FT_U64, max_ns),
    HIST(R, "size_histogram", size_hist, size_hist),
    HIST(R, "latency_histogram", lat_hist, sched_hist),
};
#undef R

#define R struct report_net_io
static const struct field net_io_fields[] = {
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "comm", FT_STR, comm),
    FLD(R, "protocol", FT_STR, protocol),
    FLD(R, "family", FT_STR, family),
    FLD(R, "type", FT_STR, type),
    ENUM(R, "direction", direction, directions),
    FLD(R, "count", FT_U64, count),
    FLD(R, "bytes", FT_U64, bytes),
    FLD(R, "small_count", FT_U64, small_count),
    FLD(R, "errors", FT_U64, errors),
    FLD(R, "retransmits", FT_U64, retransmits),
    HIST(R, "size_histogram", size_hist, size_hist),
};
#undef R

/* Only TCP connections are tracked: "protocol" is always "tcp" and has no place in the model. */
static int read_conn_protocol(struct reader *rd, json_t *v, char *row)
{
	(void)row;
	if (!json_is_string(v))
		return fail(rd, "expected a string, found %s", type_name(v));
	return 0;
}

#define R struct report_net_conn
static const struct field net_conn_fields[] = {
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "comm", FT_STR, comm),
    CUSTOM("protocol", read_conn_protocol, "a string"),
    FLD(R, "family", FT_STR, family),
    FLD(R, "local", FT_STR, local),
    FLD(R, "remote", FT_STR, remote),
    FLD(R, "sends", FT_U64, sends),
    FLD(R, "send_bytes", FT_U64, send_bytes),
    FLD(R, "recvs", FT_U64, recvs),
    FLD(R, "recv_bytes", FT_U64, recv_bytes),
    FLD(R, "retransmits", FT_U64, retransmits),
};
#undef R

#define R struct report_syscall_io
static const struct field syscall_io_fields[] = {
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "comm", FT_STR, comm),
    FLD(R, "syscall", FT_STR, syscall),
    FLD(R, "fd_type", FT_STR, fd_type),
    FLD(R, "count", FT_U64, count),
    FLD(R, "bytes", FT_U64, bytes),
    FLD(R, "small_count", FT_U64, small_count),
    FLD(R, "errors", FT_U64, errors),
    FLD(R, "total_ns", FT_U64, total_ns),
    FLD(R, "avg_ns", FT_U64, avg_ns),
    FLD(R, "p50_ns", FT_U64, p50_ns),
    FLD(R, "p99_ns", FT_U64, p99_ns),
    FLD(R, "max_ns", FT_U64, max_ns),
    HIST(R, "size_histogram", size_hist, size_hist),
    HIST(R, "latency_histogram", lat_hist, sched_hist),
};
#undef R

/* evidence: {key: number or null}, in the order written. */
static int read_evidence(struct reader *rd, json_t *v, char *row)
{
	struct report_bottleneck *b = (struct report_bottleneck *)row;
	const char *key;
	json_t *e;
	size_t old;
	int err;

	if (!json_is_object(v))
		return fail(rd, "expected an object of numbers, found %s", type_name(v));
	err = alloc_array(rd, json_object_size(v), sizeof(*b->evidence), (void **)&b->evidence);
	if (err)
		return err;
	json_object_foreach(v, key, e)
	{
		struct report_evidence *ev = &b->evidence[b->n_evidence];

		old = push_key(rd, key);
		if (!json_is_number(e) && !json_is_null(e))
			return fail(rd, "expected a number, found %s", type_name(e));
		ev->key = strdup(key);
		if (!ev->key)
			return no_memory(rd);
		ev->value = json_is_null(e) ? NAN : json_number_value(e);
		b->n_evidence++;
		pop(rd, old);
	}
	return 0;
}

#define R struct report_bottleneck
static const struct field bottleneck_fields[] = {
    FLD(R, "kind", FT_STR, kind),
    FLD(R, "target", FT_STR, target),
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "impact", FT_REAL, impact),
    ENUM(R, "severity", severity, severities),
    FLD(R, "description", FT_STR, description),
    CUSTOM("evidence", read_evidence, "an object of numbers"),
    {.key = "recommendations",
     .type = FT_STRS,
     .off = offsetof(R, recommendations),
     .aux = offsetof(R, n_recommendations)},
};
#undef R

/* One function of an interval, as written: the function by name, not by index. */
struct interval_func_row {
	char *binary, *name;
	uint64_t count, total_ns;
};

static const struct field interval_func_fields[] = {
    FLD(struct interval_func_row, "binary", FT_STR, binary),
    FLD(struct interval_func_row, "name", FT_STR, name),
    FLD(struct interval_func_row, "count", FT_U64, count),
    FLD(struct interval_func_row, "total_ns", FT_U64, total_ns),
};
static const struct table interval_func_table =
    TABLE(interval_func_fields, struct interval_func_row);

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The index in functions[] of the first function with this binary and name, or -1. */
static ssize_t find_function(const struct report *r, const char *binary, const char *name)
{
	for (size_t i = 0; i < r->n_functions; i++)
		if (same_str(r->functions[i].binary, binary) &&
		    same_str(r->functions[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* intervals[].functions: each names a function of functions[] (which is read first). */
static int read_interval_funcs(struct reader *rd, json_t *v, char *row)
{
	struct report_interval *iv = (struct report_interval *)row;
	struct interval_func_row f;
	ssize_t idx;
	size_t k, old;
	json_t *e;
	int err;

	if (!json_is_array(v))
		return fail(rd, "expected an array of objects, found %s", type_name(v));
	err = alloc_array(rd, json_array_size(v), sizeof(*iv->funcs), (void **)&iv->funcs);
	if (err)
		return err;
	json_array_foreach(v, k, e)
	{
		old = push_index(rd, k);
		memset(&f, 0, sizeof(f));
		err = read_object(rd, e, &interval_func_table, (char *)&f);
		idx = err ? -1 : find_function(rd->r, f.binary, f.name);
		if (!err && idx < 0)
			err = fail(rd, "names a function that is not in functions[]: %s in %s",
				   f.name ? f.name : "null", f.binary ? f.binary : "null");
		free(f.binary);
		free(f.name);
		if (err)
			return err;
		iv->funcs[k] = (struct report_interval_func){(size_t)idx, f.count, f.total_ns};
		iv->n_funcs++;
		pop(rd, old);
	}
	return 0;
}

#define R struct report_interval_proc
static const struct field interval_proc_fields[] = {
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "oncpu_ns", FT_U64, oncpu_ns),
    FLD(R, "runq_ns", FT_U64, runq_ns),
    FLD(R, "blocked_ns", FT_U64, blocked_ns),
    FLD(R, "syscall_calls", FT_U64, syscall_calls),
    FLD(R, "syscall_bytes", FT_U64, syscall_bytes),
    FLD(R, "block_requests", FT_U64, block_requests),
    FLD(R, "block_bytes", FT_U64, block_bytes),
    FLD(R, "net_messages", FT_U64, net_messages),
    FLD(R, "net_bytes", FT_U64, net_bytes),
};
#undef R
static const struct table interval_proc_table =
    TABLE(interval_proc_fields, struct report_interval_proc);

#define R struct report_interval
static const struct field interval_fields[] = {
    FLD(R, "offset_ns", FT_U64, offset_ns),
    FLD(R, "duration_ns", FT_U64, duration_ns),
    CUSTOM("functions", read_interval_funcs, "an array of objects"),
    {.key = "processes",
     .type = FT_ROWS,
     .flags = F_OPTIONAL,
     .off = offsetof(R, procs),
     .aux = offsetof(R, n_procs),
     .sub = &interval_proc_table},
};
#undef R

#define R struct report_program
static const struct field program_fields[] = {
    FLD(R, "name", FT_STR, name),
    FLD(R, "runs", FT_U64, runs),
    FLD(R, "run_time_ns", FT_U64, run_time_ns),
};
#undef R

/* overhead.dropped and overhead.recovered: {cause: count}, in the order written. */
static int read_counts(struct reader *rd, json_t *v,
		       int (*add)(struct report *r, const char *cause, uint64_t count))
{
	static const struct field count = {.type = FT_U64};
	const char *cause;
	uint64_t n;
	json_t *e;
	size_t old;
	int err;

	if (!json_is_object(v))
		return fail(rd, "expected an object of counts, found %s", type_name(v));
	json_object_foreach(v, cause, e)
	{
		old = push_key(rd, cause);
		err = read_u64(rd, &count, e, UINT64_MAX, &n);
		if (err)
			return err;
		if (add(rd->r, cause, n))
			return no_memory(rd);
		pop(rd, old);
	}
	return 0;
}

static int read_dropped(struct reader *rd, json_t *v, char *row)
{
	(void)row;
	return read_counts(rd, v, report__add_drop);
}

static int read_recovered(struct reader *rd, json_t *v, char *row)
{
	(void)row;
	return read_counts(rd, v, report__add_recovered);
}

static const struct table function_table = TABLE(function_fields, struct report_function);
static const struct table interval_table = TABLE(interval_fields, struct report_interval);
static const struct table offcpu_table = TABLE(offcpu_fields, struct report_offcpu);
static const struct table sched_table = TABLE(sched_fields, struct report_thread_sched);
static const struct table block_io_table = TABLE(block_io_fields, struct report_block_io);
static const struct table net_io_table = TABLE(net_io_fields, struct report_net_io);
static const struct table net_conn_table = TABLE(net_conn_fields, struct report_net_conn);
static const struct table syscall_io_table = TABLE(syscall_io_fields, struct report_syscall_io);
static const struct table bottleneck_table = TABLE(bottleneck_fields, struct report_bottleneck);
static const struct table program_table = TABLE(program_fields, struct report_program);

/* ---- on-CPU sampling (cpu_frequency_hz .. cpu_warnings) ---- */

static int read_bool(struct reader *rd, json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return fail(rd, "expected true or false, found %s", type_name(v));
	*out = json_is_true(v);
	return 0;
}

#define R struct report_cpu
static int read_kernel_truncated(struct reader *rd, json_t *v, char *row)
{
	return read_bool(rd, v, &((R *)row)->kernel_stack.truncated);
}

static int read_user_truncated(struct reader *rd, json_t *v, char *row)
{
	return read_bool(rd, v, &((R *)row)->user_stack.truncated);
}

static int read_user_incomplete(struct reader *rd, json_t *v, char *row)
{
	return read_bool(rd, v, &((R *)row)->user_incomplete);
}

static const struct field cpu_fields[] = {
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "tid", FT_INT, tid),
    FLD(R, "comm", FT_STR, comm),
    FLD(R, "samples", FT_U64, samples),
    FLD(R, "oncpu_ns", FT_U64, oncpu_ns),
    FLD(R, "kernel_stack", FT_STACK, kernel_stack),
    FLD(R, "user_stack", FT_STACK, user_stack),
    CUSTOM("kernel_stack_truncated", read_kernel_truncated, "true or false"),
    CUSTOM("user_stack_truncated", read_user_truncated, "true or false"),
    CUSTOM("user_stack_incomplete", read_user_incomplete, "true or false"),
    FLD(R, "impact", FT_REAL, impact),
    ENUM(R, "severity", severity, severities),
};
#undef R
static const struct table cpu_table = TABLE(cpu_fields, struct report_cpu);

#define R struct report_cpu_function
static int read_cpu_kind(struct reader *rd, json_t *v, char *row)
{
	const char *k = json_string_value(v);

	if (!k || (strcmp(k, "user") && strcmp(k, "kernel")))
		return fail(rd, "expected \"user\" or \"kernel\"");
	((R *)row)->kernel = !strcmp(k, "kernel");
	return 0;
}

/* lines: the function's hot source lines, kept in report.cpu_lines under its name and binary. */
static int read_cpu_lines(struct reader *rd, json_t *v, char *row)
{
	R *f = (R *)row;
	json_t *l;
	size_t i;

	if (!json_is_array(v))
		return fail(rd, "expected an array, found %s", type_name(v));
	json_array_foreach(v, i, l)
	{
		json_t *file = json_object_get(l, "file"), *line = json_object_get(l, "line"),
		       *n = json_object_get(l, "samples");
		uint64_t samples;

		if (!json_is_object(l) || !(json_is_string(file) || json_is_null(file)) ||
		    !json_is_integer(line) || json_integer_value(line) < 0 ||
		    json_integer_value(line) > UINT32_MAX || json_u64_value(n, &samples) ||
		    json_object_size(l) != 3)
			return fail(rd, "lines[%zu]: expected {\"file\", \"line\", \"samples\"}",
				    i);
		if (report__add_cpu_line(rd->r, f->name, f->binary, json_string_value(file),
					 (uint32_t)json_integer_value(line), samples))
			return no_memory(rd);
	}
	return 0;
}

static const struct field cpu_function_fields[] = {
    FLD(R, "name", FT_STR, name),
    CUSTOM("kind", read_cpu_kind, "\"user\" or \"kernel\""),
    FLD(R, "binary", FT_STR, binary),
    FLD(R, "self_samples", FT_U64, self_samples),
    FLD(R, "total_samples", FT_U64, total_samples),
    FLD(R, "self_ns", FT_U64, self_ns),
    FLD(R, "total_ns", FT_U64, total_ns),
    FLD(R, "impact", FT_REAL, self_impact),
    FLD(R, "total_impact", FT_REAL, total_impact),
    ENUM(R, "severity", severity, severities),
    CUSTOM("lines", read_cpu_lines, "an array of lines"),
};
#undef R
static const struct table cpu_function_table =
    TABLE(cpu_function_fields, struct report_cpu_function);

#define R struct report_cpu_warning
static int read_warning_kind(struct reader *rd, json_t *v, char *row)
{
	(void)row;
	if (!json_is_string(v) || strcmp(json_string_value(v), "no_frame_pointers"))
		return fail(rd, "expected \"no_frame_pointers\"");
	return 0;
}

static const struct field cpu_warning_fields[] = {
    CUSTOM("kind", read_warning_kind, "\"no_frame_pointers\""),
    FLD(R, "binary", FT_STR, binary),
    FLD(R, "samples", FT_U64, samples),
    FLD(R, "incomplete_samples", FT_U64, incomplete_samples),
    FLD(R, "functions_checked", FT_U64, functions_checked),
    FLD(R, "frame_pointer_functions", FT_U64, fp_functions),
};
#undef R
static const struct table cpu_warning_table = TABLE(cpu_warning_fields, struct report_cpu_warning);

/* cpu_frequency_hz: 0 when on-CPU sampling was off (that is how the collector's state is kept). */
static int read_cpu_frequency(struct reader *rd, json_t *v, char *row)
{
	struct report *r = (struct report *)row;

	if (json_u64_value(v, &r->cpu_frequency_hz))
		return fail(rd, "expected a non-negative integer, found %s", type_name(v));
	r->cpu_enabled = r->cpu_frequency_hz > 0;
	return 0;
}

/* ---- memory (--mem): allocations[], memory[], overhead.mem_* ---- */

/* A signed 64-bit integer. */
static int read_s64(struct reader *rd, json_t *v, int64_t *out)
{
	if (!json_is_integer(v))
		return fail(rd, "expected an integer, found %s", type_name(v));
	*out = json_integer_value(v);
	return 0;
}

/* A per-interval series: integers, null where not measured. */
static int read_series(struct reader *rd, json_t *v, int64_t **out, size_t *n)
{
	json_t *e;
	size_t i;

	if (!json_is_array(v))
		return fail(rd, "expected an array of integers or null, found %s", type_name(v));
	*n = json_array_size(v);
	*out = *n ? calloc(*n, sizeof(**out)) : NULL;
	if (*n && !*out)
		return no_memory(rd);
	json_array_foreach(v, i, e)
	{
		if (json_is_null(e))
			(*out)[i] = REPORT_SERIES_NONE;
		else if (json_is_integer(e))
			(*out)[i] = json_integer_value(e);
		else
			return fail(rd, "[%zu]: expected an integer or null, found %s", i,
				    type_name(e));
	}
	return 0;
}

/* A fitted figure, or null when there was no fit. */
static int read_fit(struct reader *rd, json_t *v, bool *fitted, double *out)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return fail(rd, "expected a number or null, found %s", type_name(v));
	*fitted = true;
	*out = json_number_value(v);
	return 0;
}

#define R struct report_allocation
static int read_alloc_truncated(struct reader *rd, json_t *v, char *row)
{
	return read_bool(rd, v, &((R *)row)->stack.truncated);
}

static int read_alloc_outstanding_bytes(struct reader *rd, json_t *v, char *row)
{
	return read_s64(rd, v, &((R *)row)->outstanding_bytes);
}

static int read_alloc_outstanding_count(struct reader *rd, json_t *v, char *row)
{
	return read_s64(rd, v, &((R *)row)->outstanding_count);
}

/* avg_lifetime_ns: the model keeps the sum (freed_allocs is read before it). */
static int read_alloc_lifetime(struct reader *rd, json_t *v, char *row)
{
	R *a = (R *)row;
	uint64_t avg;

	if (json_u64_value(v, &avg))
		return fail(rd, "expected a non-negative integer, found %s", type_name(v));
	a->lifetime_ns = avg * a->freed_allocs;
	return 0;
}

static int read_alloc_growth(struct reader *rd, json_t *v, char *row)
{
	return read_fit(rd, v, &((R *)row)->growth_fitted, &((R *)row)->growth_bytes_per_s);
}

static int read_alloc_r2(struct reader *rd, json_t *v, char *row)
{
	return read_fit(rd, v, &((R *)row)->growth_fitted, &((R *)row)->growth_r2);
}

static int read_alloc_series(struct reader *rd, json_t *v, char *row)
{
	return read_series(rd, v, &((R *)row)->series, &((R *)row)->n_series);
}

static const struct field allocation_fields[] = {
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "comm", FT_STR, comm),
    FLD(R, "source", FT_STR, source),
    FLD(R, "stack", FT_STACK, stack),
    CUSTOM("stack_truncated", read_alloc_truncated, "true or false"),
    CUSTOM("outstanding_bytes", read_alloc_outstanding_bytes, "an integer"),
    CUSTOM("outstanding_count", read_alloc_outstanding_count, "an integer"),
    FLD(R, "total_allocs", FT_U64, total_allocs),
    FLD(R, "total_bytes", FT_U64, total_bytes),
    FLD(R, "freed_allocs", FT_U64, freed_allocs),
    FLD(R, "freed_bytes", FT_U64, freed_bytes),
    CUSTOM("avg_lifetime_ns", read_alloc_lifetime, "an integer"),
    FLD(R, "untracked_allocs", FT_U64, untracked_allocs),
    CUSTOM("growth_bytes_per_s", read_alloc_growth, "a number or null"),
    CUSTOM("growth_r2", read_alloc_r2, "a number or null"),
    CUSTOM("outstanding_series", read_alloc_series, "an array"),
};
#undef R
static const struct table allocation_table = TABLE(allocation_fields, struct report_allocation);

#define R struct report_memory
/* The three series have one value per interval each: n is the rss series' length. */
static int read_mem_series(struct reader *rd, json_t *v, R *m, int64_t **out)
{
	size_t n = 0;
	int err = read_series(rd, v, out, &n);

	if (err)
		return err;
	if (out == &m->rss_bytes)
		m->n = n;
	else if (n != m->n)
		return fail(rd, "expected %zu values, like rss_bytes", m->n);
	return 0;
}

static int read_mem_rss(struct reader *rd, json_t *v, char *row)
{
	return read_mem_series(rd, v, (R *)row, &((R *)row)->rss_bytes);
}

static int read_mem_minor(struct reader *rd, json_t *v, char *row)
{
	return read_mem_series(rd, v, (R *)row, &((R *)row)->minor_faults);
}

static int read_mem_major(struct reader *rd, json_t *v, char *row)
{
	return read_mem_series(rd, v, (R *)row, &((R *)row)->major_faults);
}

static int read_mem_growth(struct reader *rd, json_t *v, char *row)
{
	return read_fit(rd, v, &((R *)row)->growth_fitted, &((R *)row)->rss_growth_bytes_per_s);
}

static int read_mem_r2(struct reader *rd, json_t *v, char *row)
{
	return read_fit(rd, v, &((R *)row)->growth_fitted, &((R *)row)->rss_growth_r2);
}

static const struct field memory_fields[] = {
    FLD(R, "pid", FT_INT, pid),
    FLD(R, "comm", FT_STR, comm),
    CUSTOM("rss_bytes", read_mem_rss, "an array"),
    CUSTOM("minor_faults", read_mem_minor, "an array"),
    CUSTOM("major_faults", read_mem_major, "an array"),
    FLD(R, "peak_rss_bytes", FT_U64, peak_rss_bytes),
    FLD(R, "rss_hwm_bytes", FT_U64, hwm_rss_bytes),
    FLD(R, "minor_faults_total", FT_U64, minor_faults_total),
    FLD(R, "major_faults_total", FT_U64, major_faults_total),
    CUSTOM("rss_growth_bytes_per_s", read_mem_growth, "a number or null"),
    CUSTOM("rss_growth_r2", read_mem_r2, "a number or null"),
};
#undef R
static const struct table memory_table = TABLE(memory_fields, struct report_memory);

/* overhead.mem_sample: 0 when the memory collector was off. */
static int read_mem_sample(struct reader *rd, json_t *v, char *row)
{
	struct report *r = (struct report *)row;

	if (json_u64_value(v, &r->mem_sample))
		return fail(rd, "expected a non-negative integer, found %s", type_name(v));
	r->mem_enabled = r->mem_sample > 0;
	return 0;
}

/* overhead.mem_calls: {"malloc": N, ...}, the probed entry points. */
static int read_mem_calls(struct reader *rd, json_t *v, char *row)
{
	struct report *r = (struct report *)row;
	const char *k;
	json_t *e;

	if (!json_is_object(v))
		return fail(rd, "expected an object of counts, found %s", type_name(v));
	json_object_foreach(v, k, e)
	{
		size_t i = 0;

		while (i < REPORT_MEM_FUNCS && strcmp(k, report_mem_func__name(i)))
			i++;
		if (i == REPORT_MEM_FUNCS || json_u64_value(e, &r->mem_calls[i]))
			return fail(rd, "%s: expected an allocator function with a count", k);
	}
	return 0;
}

#define R struct report
/*
 * severity_thresholds: the report's severities were given with these; a
 * re-rendered report uses them too (they are per process).
 */
static int read_severity_thresholds(struct reader *rd, json_t *v, char *row)
{
	struct severity_thresholds t;
	json_t *c = json_object_get(v, "critical"), *h = json_object_get(v, "high"),
	       *m = json_object_get(v, "medium");

	(void)row;
	if (!json_is_object(v) || !json_is_number(c) || !json_is_number(h) || !json_is_number(m) ||
	    json_object_size(v) != 3)
		return fail(rd, "expected {\"critical\", \"high\", \"medium\"} numbers");
	t.critical = json_number_value(c);
	t.high = json_number_value(h);
	t.medium = json_number_value(m);
	if (severity__set_thresholds(&t))
		return fail(rd, "thresholds must satisfy 0 < medium < high < critical <= 1");
	return 0;
}

/* breakdown[] is derived from sched[] when rendering: read nothing, check it is an array. */
static int read_breakdown(struct reader *rd, json_t *v, char *row)
{
	(void)row;
	return json_is_array(v) ? 0 : fail(rd, "expected an array, found %s", type_name(v));
}

static const struct field target_fields[] = {
    ENUM(R, "mode", target.mode, modes),
    {.key = "pids",
     .type = FT_INTS,
     .off = offsetof(R, target.pids),
     .aux = offsetof(R, target.n_pids)},
    FLD(R, "command", FT_STR, target.command),
    {.key = "specs",
     .type = FT_STRS,
     .off = offsetof(R, target.specs),
     .aux = offsetof(R, target.n_specs)},
    FLD(R, "cgroup", FT_STR, target.cgroup),
};
static const struct table target_table = {target_fields, N(target_fields), 0};

static const struct field overhead_fields[] = {
    ROWS(R, "programs", overhead.programs, overhead.n_programs, program_table),
    CUSTOM("dropped", read_dropped, "an object of counts"),
    {.key = "recovered",
     .type = FT_CUSTOM,
     .flags = F_OPTIONAL,
     .custom = read_recovered,
     .custom_expected = "an object of counts"},
    {.key = "offcpu_user_stacks",
     .type = FT_STR,
     .off = offsetof(R, overhead.offcpu_user_stacks),
     .flags = F_OPTIONAL},
    {.key = "mem_sample",
     .type = FT_CUSTOM,
     .flags = F_OPTIONAL,
     .custom = read_mem_sample,
     .custom_expected = "an integer"},
    {.key = "mem_untracked_frees",
     .type = FT_U64,
     .off = offsetof(R, mem_untracked_frees),
     .flags = F_OPTIONAL},
    {.key = "mem_calls",
     .type = FT_CUSTOM,
     .flags = F_OPTIONAL,
     .custom = read_mem_calls,
     .custom_expected = "an object of counts"},
};
static const struct table overhead_table = {overhead_fields, N(overhead_fields), 0};

/* The top level, "schema" aside. functions[] comes before intervals[], which name them. */
static const struct field report_fields[] = {
    FLD(R, "snag_version", FT_STR, snag_version),
    FLD(R, "hostname", FT_STR, hostname),
    FLD(R, "kernel", FT_STR, kernel),
    FLD(R, "start_time", FT_TIME, start_time_ns),
    FLD(R, "duration_ns", FT_U64, duration_ns),
    {.key = "target", .type = FT_OBJECT, .sub = &target_table},
    FLD(R, "traced_threads", FT_U64, traced_threads),
    FLD(R, "traced_thread_ns", FT_U64, traced_thread_ns),
    FLD(R, "sched_thread_ns", FT_U64, sched_thread_ns),
    FLD(R, "min_block_ns", FT_U64, min_block_ns),
    FLD(R, "small_io_bytes", FT_U64, small_io_bytes),
    {.key = "severity_thresholds",
     .type = FT_CUSTOM,
     .flags = F_OPTIONAL,
     .custom = read_severity_thresholds,
     .custom_expected = "an object"},
    ROWS(R, "functions", functions, n_functions, function_table),
    ROWS(R, "intervals", intervals, n_intervals, interval_table),
    ROWS(R, "offcpu", offcpu, n_offcpu, offcpu_table),
    ROWS(R, "sched", sched, n_sched, sched_table),
    {.key = "breakdown",
     .type = FT_CUSTOM,
     .flags = F_OPTIONAL,
     .custom = read_breakdown,
     .custom_expected = "an array"},
    ROWS(R, "block_io", block_io, n_block_io, block_io_table),
    ROWS(R, "net_io", net_io, n_net_io, net_io_table),
    ROWS(R, "net_connections", net_conns, n_net_conns, net_conn_table),
    ROWS(R, "syscall_io", syscall_io, n_syscall_io, syscall_io_table),
    {.key = "allocations",
     .type = FT_ROWS,
     .flags = F_OPTIONAL,
     .off = offsetof(R, allocations),
     .aux = offsetof(R, n_allocations),
     .sub = &allocation_table},
    {.key = "memory",
     .type = FT_ROWS,
     .flags = F_OPTIONAL,
     .off = offsetof(R, memory),
     .aux = offsetof(R, n_memory),
     .sub = &memory_table},
    ROWS(R, "bottlenecks", bottlenecks, n_bottlenecks, bottleneck_table),
    {.key = "overhead", .type = FT_OBJECT, .sub = &overhead_table},
    {.key = "cpu_frequency_hz",
     .type = FT_CUSTOM,
     .flags = F_OPTIONAL,
     .custom = read_cpu_frequency,
     .custom_expected = "an integer"},
    {.key = "cpu_period_ns",
     .type = FT_U64,
     .off = offsetof(R, cpu_period_ns),
     .flags = F_OPTIONAL},
    {.key = "cpu",
     .type = FT_ROWS,
     .flags = F_OPTIONAL,
     .off = offsetof(R, cpu),
     .aux = offsetof(R, n_cpu),
     .sub = &cpu_table},
    {.key = "cpu_functions",
     .type = FT_ROWS,
     .flags = F_OPTIONAL,
     .off = offsetof(R, cpu_functions),
     .aux = offsetof(R, n_cpu_functions),
     .sub = &cpu_function_table},
    {.key = "cpu_warnings",
     .type = FT_ROWS,
     .flags = F_OPTIONAL,
     .off = offsetof(R, cpu_warnings),
     .aux = offsetof(R, n_cpu_warnings),
     .sub = &cpu_warning_table},
};
static const struct table report_table = {report_fields, N(report_fields), 0};
#undef R

/* ---- the document ---- */

/* "schema" must be REPORT_SCHEMA; a later snag-report/N is refused by name. */
static int check_schema(struct reader *rd, json_t *root)
{
	static const char prefix[] = "snag-report/";
	json_t *v = json_object_get(root, "schema");
	const char *s, *num;
	char *end;
	long n;

	if (!json_is_string(v))
		return fail(rd,
			    "not a snag report: no \"schema\" string (expected \"%s\"; write "
			    "reports with snag --format json)",
			    REPORT_SCHEMA);
	s = json_string_value(v);
	if (!strcmp(s, REPORT_SCHEMA))
		return 0;
	if (strncmp(s, prefix, sizeof(prefix) - 1))
		return fail(rd, "not a snag report: schema \"%s\", expected \"%s\"", s,
			    REPORT_SCHEMA);
	num = s + sizeof(prefix) - 1;
	errno = 0;
	n = strtol(num, &end, 10);
	if (*num >= '1' && *num <= '9' && !*end && !errno && n > 1)
		return fail(rd,
			    "written by a newer snag: schema %s, this snag reads %s (read it "
			    "with the snag that wrote it)",
			    s, REPORT_SCHEMA);
	return fail(rd, "unsupported schema %s: this snag reads %s", s, REPORT_SCHEMA);
}

int report__read_json(json_t *root, const char *source, unsigned flags, struct report **out)
{
	struct reader rd = {.source = source ? source : "(unnamed)", .flags = flags};
	struct report *r;
	int err;

	*out = NULL;
	if (!json_is_object(root))
		return fail(&rd, "not a snag report: the document is %s, not an object",
			    root ? type_name(root) : "missing");
	err = check_schema(&rd, root);
	if (err)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return no_memory(&rd);
	rd.r = r;
	err = read_object(&rd, root, &report_table, (char *)r);
	if (err) {
		report__free(r);
		return err;
	}
	/*
	 * Whether a collector ran is not a field of its own: the renderer writes
	 * min_block_ns (>= 1 ns when on) and small_io_bytes (>= 1 byte when on)
	 * as 0 when its collector was off.
	 */
	r->sched_enabled = r->min_block_ns || r->sched_thread_ns || r->n_sched || r->n_offcpu;
	r->io_enabled =
	    r->small_io_bytes || r->n_block_io || r->n_net_io || r->n_net_conns || r->n_syscall_io;
	*out = r;
	return 0;
}

/* Open path for reading (stdin for "-"); -errno with the message set. */
static int open_report(const char *path, const char *name, FILE **f)
{
	struct stat st;
	int err;

	if (!strcmp(path, "-")) {
		*f = stdin;
		return 0;
	}
	*f = fopen(path, "r");
	if (!*f) {
		err = -errno;
		snag_set_error(
		    "cannot read report '%s': %s%s", name, strerror(-err),
		    err == -ENOENT ? " (give a file written by snag --format json -o FILE)" : "");
		return err;
	}
	if (!fstat(fileno(*f), &st) && S_ISDIR(st.st_mode)) {
		fclose(*f);
		*f = NULL;
		snag_set_error("cannot read report '%s': it is a directory (give a file written by "
			       "snag --format json -o FILE)",
			       name);
		return -EISDIR;
	}
	return 0;
}

int report__read_file(const char *path, struct report **out)
{
	const char *name = strcmp(path, "-") ? path : "(standard input)";
	json_error_t jerr;
	json_t *root = NULL;
	FILE *f;
	int c, err;

	*out = NULL;
	err = open_report(path, name, &f);
	if (err)
		return err;
	errno = 0;
	c = getc(f);
	if (c == EOF) {
		err = ferror(f) ? (errno ? -errno : -EIO) : -EINVAL;
		if (err == -EINVAL)
			snag_set_error("cannot read report '%s': the file is empty (give a file "
				       "written by snag --format json -o FILE)",
				       name);
		else
			snag_set_error("cannot read report '%s': %s", name, strerror(-err));
		goto out;
	}
	ungetc(c, f);
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (ferror(f)) {
			err = errno ? -errno : -EIO;
			snag_set_error("cannot read report '%s': %s", name, strerror(-err));
		} else {
			err = -EINVAL;
			snag_set_error("cannot read report '%s': not valid JSON at line %d, column "
				       "%d: %s (is the file cut short, or not a snag --format json "
				       "report?)",
				       name, jerr.line, jerr.column, jerr.text);
		}
		goto out;
	}
	err = report__read_json(root, name, 0, out);
out:
	json_decref(root);
	if (f != stdin)
		fclose(f);
	return err;
}
