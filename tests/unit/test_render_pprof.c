/* Unit tests: the pprof renderer, read back through gunzip and protobuf-c's generated decoder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>
#include "model_fixture.h"
#include "profile.pb-c.h"
#include "report.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__Sample pb_sample;

/* The value columns, in the order docs/exports.md promises. */
enum {
	OFFCPU_NS,
	BLOCKS,
	FUNCTION_NS,
	CALLS,
	CPU_NS,
	SAMPLES,
	N_VALUES
};

/* Render r as pprof, gunzip it and decode it; the caller frees with ..._free_unpacked(). */
static pb_profile *render_pprof(const struct report *r)
{
	unsigned char out[1 << 16];
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	z_stream zs = {0};
	pb_profile *p;

	assert_non_null(m);
	assert_int_equal(report__render(r, FORMAT_PPROF, NULL, m), 0);
	assert_int_equal(fclose(m), 0);
	/* A gzip member (magic 1f 8b), as pprof readers expect on disk. */
	assert_true(len > 2);
	assert_int_equal((unsigned char)buf[0], 0x1f);
	assert_int_equal((unsigned char)buf[1], 0x8b);
	assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
	zs.next_in = (unsigned char *)buf;
	zs.avail_in = len;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);
	p = perftools__profiles__profile__unpack(NULL, sizeof(out) - zs.avail_out, out);
	inflateEnd(&zs);
	free(buf);
	assert_non_null(p);
	return p;
}

static const char *str(const pb_profile *p, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < p->n_string_table);
	return p->string_table[i];
}

/* The name of the frame at location id. */
static const char *frame_name(const pb_profile *p, uint64_t id)
{
	size_t i, j;

	for (i = 0; i < p->n_location; i++) {
		if (p->location[i]->id != id)
			continue;
		assert_int_equal(p->location[i]->n_line, 1);
		for (j = 0; j < p->n_function; j++)
			if (p->function[j]->id == p->location[i]->line[0]->function_id)
				return str(p, p->function[j]->name);
		fail_msg("location %llu names no function", (unsigned long long)id);
	}
	fail_msg("no location %llu", (unsigned long long)id);
	return NULL;
}

/* The mapping's file name of the location id ("" for user space). */
static const char *frame_mapping(const pb_profile *p, uint64_t id)
{
	size_t i, j;

	for (i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			for (j = 0; j < p->n_mapping; j++)
				if (p->mapping[j]->id == p->location[i]->mapping_id)
					return str(p, p->mapping[j]->filename);
	fail_msg("location %llu has no mapping", (unsigned long long)id);
	return NULL;
}

/* Label key of a sample: its string value, or NULL when absent. */
static const char *label_str(const pb_profile *p, const pb_sample *s, const char *key)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (!strcmp(str(p, s->label[i]->key), key))
			return str(p, s->label[i]->str);
	return NULL;
}

/* Label key of a sample: its number, or -1 when absent. */
static int64_t label_num(const pb_profile *p, const pb_sample *s, const char *key)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (!strcmp(str(p, s->label[i]->key), key)) {
			assert_int_equal(s->label[i]->str, 0);
			return s->label[i]->num;
		}
	return -1;
}

/* The sample with label tid == tid. */
static const pb_sample *sample_of_tid(const pb_profile *p, int64_t tid)
{
	for (size_t i = 0; i < p->n_sample; i++)
		if (label_num(p, p->sample[i], "tid") == tid)
			return p->sample[i];
	fail_msg("no sample of tid %lld", (long long)tid);
	return NULL;
}

/* The sample whose only frame is name. */
static const pb_sample *sample_of_frame(const pb_profile *p, const char *name)
{
	for (size_t i = 0; i < p->n_sample; i++)
		if (p->sample[i]->n_location_id == 1 &&
		    !strcmp(frame_name(p, p->sample[i]->location_id[0]), name))
			return p->sample[i];
	fail_msg("no single-frame sample %s", name);
	return NULL;
}

/* The sample's frames are kernel (each with "[k] ") then user, innermost first. */
static void assert_frames(const pb_profile *p, const pb_sample *s, const char *const *kernel,
			  const char *const *user)
{
	size_t nk = fixture_n_frames(kernel), nu = fixture_n_frames(user), i;
	char want[256];

	assert_int_equal(s->n_location_id, nk + nu);
	for (i = 0; i < nk; i++) {
		snprintf(want, sizeof(want), "[k] %s", kernel[i]);
		assert_string_equal(frame_name(p, s->location_id[i]), want);
		assert_string_equal(frame_mapping(p, s->location_id[i]), "[kernel.kallsyms]");
	}
	for (i = 0; i < nu; i++) {
		assert_string_equal(frame_name(p, s->location_id[nk + i]), user[i]);
		assert_string_equal(frame_mapping(p, s->location_id[nk + i]), "");
	}
}

/* What every profile must hold: "" first, no string twice, ids unique, the value columns. */
static void assert_well_formed(const pb_profile *p)
{
	static const char *const types[N_VALUES][2] = {
	    {"offcpu", "nanoseconds"}, {"blocks", "count"},    {"function_time", "nanoseconds"},
	    {"calls", "count"},	       {"cpu", "nanoseconds"}, {"samples", "count"}};
	size_t i, j;

	assert_true(p->n_string_table >= 1);
	assert_string_equal(p->string_table[0], "");
	for (i = 0; i < p->n_string_table; i++)
		for (j = i + 1; j < p->n_string_table; j++)
			if (!strcmp(p->string_table[i], p->string_table[j]))
				fail_msg("string '%s' is in the table twice", p->string_table[i]);
	/* Functions and locations are deduplicated by name. */
	assert_int_equal(p->n_function, p->n_location);
	for (i = 0; i < p->n_function; i++) {
		assert_int_not_equal(p->function[i]->id, 0);
		for (j = i + 1; j < p->n_function; j++) {
			assert_int_not_equal(p->function[i]->id, p->function[j]->id);
			assert_int_not_equal(p->location[i]->id, p->location[j]->id);
			assert_int_not_equal(p->function[i]->name, p->function[j]->name);
		}
	}
	assert_int_equal(p->n_sample_type, N_VALUES);
	for (i = 0; i < N_VALUES; i++) {
		assert_string_equal(str(p, p->sample_type[i]->type), types[i][0]);
		assert_string_equal(str(p, p->sample_type[i]->unit), types[i][1]);
	}
	for (i = 0; i < p->n_sample; i++) {
		assert_int_equal(p->sample[i]->n_value, N_VALUES);
		assert_true(p->sample[i]->n_location_id >= 1);
	}
	/* Sampled on-CPU time is the period's type, in every profile (so any two merge). */
	assert_non_null(p->period_type);
	assert_string_equal(str(p, p->period_type->type), "cpu");
	assert_string_equal(str(p, p->period_type->unit), "nanoseconds");
	/* Both mappings say their frames are named, so pprof does not symbolize. */
	assert_int_equal(p->n_mapping, 2);
	for (i = 0; i < p->n_mapping; i++)
		assert_true(p->mapping[i]->has_functions);
}

static void test_offcpu_samples(void **state)
{
	struct report *r = fixture_sched_model();
	const pb_sample *s;
	pb_profile *p;
	size_t i;

	(void)state;
	assert_non_null(r);
	report__finish(r);
	p = render_pprof(r);
	assert_well_formed(p);
	assert_int_equal(p->time_nanos, FIXTURE_START_NS);
	assert_int_equal(p->duration_nanos, 1000 * FIXTURE_MS);
	assert_string_equal(str(p, p->default_sample_type), "offcpu");
	assert_int_equal(p->n_sample, 4);

	/* worker on a futex: 640 ms in 1,000 blocks, woken by writer (1240). */
	s = sample_of_tid(p, 1235);
	assert_int_equal(s->value[OFFCPU_NS], 640 * FIXTURE_MS);
	assert_int_equal(s->value[BLOCKS], 1000);
	assert_int_equal(s->value[FUNCTION_NS], 0);
	assert_int_equal(s->value[CALLS], 0);
	assert_frames(p, s, fixture_futex_kernel, fixture_futex_user);
	assert_int_equal(label_num(p, s, "pid"), 1234);
	assert_string_equal(label_str(p, s, "comm"), "worker");
	assert_string_equal(label_str(p, s, "reason"), "blocked");
	assert_int_equal(label_num(p, s, "waker_pid"), 1234);
	assert_int_equal(label_num(p, s, "waker_tid"), 1240);
	assert_string_equal(label_str(p, s, "waker_comm"), "writer");
	/* The waker's own stacks are not frames of the sample. */
	for (i = 0; i < p->n_string_table; i++)
		assert_null(strstr(p->string_table[i], "futex_wake"));

	/* app sleeping: 600 ms in 60 blocks, no waker (a timer). */
	s = sample_of_tid(p, 1234);
	assert_int_equal(s->value[OFFCPU_NS], 600 * FIXTURE_MS);
	assert_int_equal(s->value[BLOCKS], 60);
	assert_frames(p, s, fixture_sleep_kernel, fixture_sleep_user);
	assert_null(label_str(p, s, "waker_comm"));
	assert_int_equal(label_num(p, s, "waker_tid"), -1);

	/* busy, preempted: 300 ms in 3,000. */
	s = sample_of_tid(p, 2000);
	assert_int_equal(s->value[OFFCPU_NS], 300 * FIXTURE_MS);
	assert_int_equal(s->value[BLOCKS], 3000);
	assert_string_equal(label_str(p, s, "reason"), "preempted");
	assert_string_equal(label_str(p, s, "comm"), "busy");
	assert_frames(p, s, fixture_preempt_kernel, fixture_preempt_user);

	s = sample_of_tid(p, 1240);
	assert_int_equal(s->value[OFFCPU_NS], 40 * FIXTURE_MS);
	assert_int_equal(s->value[BLOCKS], 8);
	assert_frames(p, s, fixture_io_kernel, fixture_io_user);

	/*
	 * Shared frames are one location: "[k] __schedule" starts all four
	 * stacks, "[k] schedule" three, "main" ends two. The four stacks have
	 * 28 distinct frame names.
	 */
	assert_int_equal(p->n_function, 28);
	perftools__profiles__profile__free_unpacked(p, NULL);
	report__free(r);
}

/* On-CPU samples (--cpu): their own two columns, kernel then user frames, a marker when cut. */
static void test_cpu_samples(void **state)
{
	static const char *const kernel[] = {"copy_user", "vfs_write"};
	static const char *const user[] = {"write_all", "main"};
	static const char *const spin[] = {"spin"};
	struct report *r = fixture_sched_model();
	struct report_cpu *c;
	const pb_sample *s;
	pb_profile *p;
	size_t i, n_cpu = 0;

	(void)state;
	assert_non_null(r);
	r->cpu_enabled = true;
	r->cpu_frequency_hz = 1000;
	r->cpu_period_ns = 1000000;
	c = report__add_cpu(r, 3000, 3001, "hot");
	c->samples = 25;
	assert_int_equal(report_stack__set(&c->kernel_stack, kernel, 2, false), 0);
	assert_int_equal(report_stack__set(&c->user_stack, user, 2, false), 0);
	c = report__add_cpu(r, 3000, 3002, "nofp");
	c->samples = 7;
	c->user_incomplete = true;
	assert_int_equal(report_stack__set(&c->user_stack, spin, 1, false), 0);
	report__finish(r);
	p = render_pprof(r);
	assert_well_formed(p);
	assert_string_equal(str(p, p->default_sample_type), "cpu");
	assert_int_equal(p->period, 1000000);
	for (i = 0; i < p->n_sample; i++)
		n_cpu += p->sample[i]->value[SAMPLES] != 0;
	assert_int_equal(n_cpu, 2);

	s = sample_of_tid(p, 3001);
	assert_int_equal(s->value[CPU_NS], 25 * 1000000);
	assert_int_equal(s->value[SAMPLES], 25);
	assert_int_equal(s->value[OFFCPU_NS], 0);
	assert_int_equal(s->value[FUNCTION_NS], 0);
	assert_frames(p, s, (const char *const[]){"copy_user", "vfs_write", NULL},
		      (const char *const[]){"write_all", "main", NULL});
	assert_int_equal(label_num(p, s, "pid"), 3000);
	assert_string_equal(label_str(p, s, "comm"), "hot");

	/* A stack cut short by a binary without frame pointers says so where its callers were. */
	s = sample_of_tid(p, 3002);
	assert_int_equal(s->value[SAMPLES], 7);
	assert_int_equal(s->n_location_id, 2);
	assert_string_equal(frame_name(p, s->location_id[0]), "spin");
	assert_string_equal(frame_name(p, s->location_id[1]),
			    "[callers unknown: no frame pointers]");
	/* The off-CPU samples fill none of the on-CPU columns. */
	s = sample_of_tid(p, 1235);
	assert_int_equal(s->value[CPU_NS], 0);
	assert_int_equal(s->value[SAMPLES], 0);
	perftools__profiles__profile__free_unpacked(p, NULL);
	report__free(r);
}

static void test_function_samples(void **state)
{
	struct report *r = fixture_model();
	const pb_sample *s;
	pb_profile *p;

	(void)state;
	assert_non_null(r);
	report__finish(r);
	p = render_pprof(r);
	assert_well_formed(p);
	/* No off-CPU samples: a viewer opens on function time. */
	assert_string_equal(str(p, p->default_sample_type), "function_time");
	/* never_called adds nothing to any total and is left out. */
	assert_int_equal(p->n_sample, 2);
	/* slow_io: 50 calls from 2.000 to 2.294 ms, 6 us apart. */
	s = sample_of_frame(p, "slow_io");
	assert_int_equal(s->value[OFFCPU_NS], 0);
	assert_int_equal(s->value[BLOCKS], 0);
	assert_int_equal(s->value[FUNCTION_NS], 50 * 2000000 + 6000 * (49 * 50 / 2));
	assert_int_equal(s->value[CALLS], 50);
	assert_string_equal(label_str(p, s, "binary"), "/usr/bin/app");
	/* fast_hash: 2,000 calls from 1,000 to 2,999 ns. */
	s = sample_of_frame(p, "fast_hash");
	assert_int_equal(s->value[FUNCTION_NS], 2000 * 1000 + 1999 * 2000 / 2);
	assert_int_equal(s->value[CALLS], 2000);
	perftools__profiles__profile__free_unpacked(p, NULL);
	report__free(r);
}

static void test_functions_share_frames(void **state)
{
	struct report *r = fixture_sched_model();
	struct report_function *f;
	pb_profile *p;
	size_t i, n = 0;

	(void)state;
	assert_non_null(r);
	/* A probed function that is also a frame of an off-CPU stack. */
	f = report__add_function(r, "/usr/bin/app", "poll_loop", 0x1400);
	assert_non_null(f);
	fixture_add_series(f, 10, 1000000, 0);
	report__finish(r);
	p = render_pprof(r);
	assert_well_formed(p);
	assert_string_equal(str(p, p->default_sample_type), "offcpu");
	assert_int_equal(p->n_sample, 5);
	assert_int_equal(sample_of_frame(p, "poll_loop")->value[FUNCTION_NS], 10 * FIXTURE_MS);
	assert_int_equal(sample_of_frame(p, "poll_loop")->value[OFFCPU_NS], 0);
	/* One function, one location named poll_loop, shared by both samples. */
	for (i = 0; i < p->n_function; i++)
		n += !strcmp(str(p, p->function[i]->name), "poll_loop");
	assert_int_equal(n, 1);
	assert_int_equal(p->n_function, 28);
	perftools__profiles__profile__free_unpacked(p, NULL);
	report__free(r);
}

static void test_odd_names_and_stacks(void **state)
{
	static const char *const kernel[] = {"k\nern", "", NULL};
	static const char *const user[] = {"caf\xc3\xa9", "bad\xff\xfe", "\xe0\x80\xaf", NULL};
	struct report *r = report__new();
	const pb_sample *s;
	pb_profile *p;

	(void)state;
	assert_non_null(r);
	assert_int_equal(
	    fixture_offcpu(r, 1, 1, "we\x01ird\xc3", OFFCPU_BLOCKED, 2, 5000, 3000, kernel, user),
	    0);
	r->offcpu[0].kernel_stack.truncated = true;
	r->offcpu[0].user_stack.truncated = true;
	/* No stacks at all, and no comm. */
	assert_int_equal(fixture_offcpu(r, 2, 2, NULL, OFFCPU_BLOCKED, 1, 700, 700, NULL, NULL), 1);
	/* Nothing at all: left out. */
	assert_int_equal(fixture_offcpu(r, 3, 3, "idle", OFFCPU_BLOCKED, 0, 0, 0, NULL, NULL), 2);
	p = render_pprof(r);
	assert_well_formed(p);
	assert_int_equal(p->n_sample, 2);
	s = sample_of_tid(p, 1);
	/*
	 * Valid UTF-8 stays; other bytes (a lone 0xc3, an overlong '/') and
	 * control characters become '?'; a nameless frame is "[unknown]"; a
	 * truncated stack ends in a "[truncated]" frame of its own kind.
	 */
	assert_int_equal(s->n_location_id, 7);
	assert_string_equal(frame_name(p, s->location_id[0]), "[k] k?ern");
	assert_string_equal(frame_name(p, s->location_id[1]), "[k] [unknown]");
	assert_string_equal(frame_name(p, s->location_id[2]), "[k] [truncated]");
	assert_string_equal(frame_name(p, s->location_id[3]), "caf\xc3\xa9");
	assert_string_equal(frame_name(p, s->location_id[4]), "bad??");
	assert_string_equal(frame_name(p, s->location_id[5]), "???");
	assert_string_equal(frame_name(p, s->location_id[6]), "[truncated]");
	assert_string_equal(label_str(p, s, "comm"), "we?ird?");
	/* An entry without stacks keeps its time under one "[unknown]" frame. */
	s = sample_of_tid(p, 2);
	assert_int_equal(s->n_location_id, 1);
	assert_string_equal(frame_name(p, s->location_id[0]), "[unknown]");
	assert_int_equal(s->value[OFFCPU_NS], 700);
	assert_null(label_str(p, s, "comm"));
	perftools__profiles__profile__free_unpacked(p, NULL);
	report__free(r);
}

static void test_empty_report(void **state)
{
	struct report *r = report__new();
	pb_profile *p;

	(void)state;
	assert_non_null(r);
	report__finish(r);
	/* Still a valid profile with its columns, for tools that merge profiles. */
	p = render_pprof(r);
	assert_well_formed(p);
	assert_int_equal(p->n_sample, 0);
	assert_int_equal(p->n_function, 0);
	assert_string_equal(str(p, p->default_sample_type), "offcpu");
	perftools__profiles__profile__free_unpacked(p, NULL);
	report__free(r);
}

static void test_parse_format(void **state)
{
	enum report_format f = FORMAT_TEXT;

	(void)state;
	assert_int_equal(report_format__parse("pprof", &f), 0);
	assert_int_equal(f, FORMAT_PPROF);
	assert_true(report_format__is_binary(FORMAT_PPROF));
	assert_false(report_format__is_binary(FORMAT_FOLDED));
	assert_false(report_format__is_binary(FORMAT_JSON));
	assert_int_equal(report_format__parse("proto", &f), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offcpu_samples),
	    cmocka_unit_test(test_cpu_samples),
	    cmocka_unit_test(test_function_samples),
	    cmocka_unit_test(test_functions_share_frames),
	    cmocka_unit_test(test_odd_names_and_stacks),
	    cmocka_unit_test(test_empty_report),
	    cmocka_unit_test(test_parse_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
